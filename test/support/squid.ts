/**
 * A real squid as the corporate upstream proxy: one private instance per call (its own
 * service name, pid file, logs and directories), listening on 127.0.0.1, resolving only
 * the given `.test` names (hosts_file; DNS is pointed at 127.0.0.1 so nothing leaves the
 * machine), optionally with Basic auth, a deny list and ssl-bump.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canConnect,
  findTool,
  freePortInRange,
  waitExit,
  waitFor,
  type TeardownTest,
} from './tools.js';

export interface SquidOptions {
  /** The squid binary; found on PATH or in sbin when absent. */
  readonly bin?: string;
  readonly basicAuth?: { readonly user: string; readonly password: string };
  /** NTLM through squid's ntlm_fake_auth helper: a real handshake, but any password passes. */
  readonly ntlmFakeAuth?: boolean;
  /** Name → IPv4 address, written to squid's hosts_file. */
  readonly hosts: Readonly<Record<string, string>>;
  /** Ports squid allows CONNECT to (besides 443). */
  readonly allowConnectPorts: readonly number[];
  /** dstdomain values squid refuses with 403 (`.corp.test` covers subdomains). */
  readonly deny?: readonly string[];
  /** Intercept TLS: peek, stare, bump, minting leaves from this CA. */
  readonly sslBump?: {
    /** Signing certificate; with an intermediate, the whole chain squid should send. */
    readonly caCertPem: string;
    readonly caKeyPem: string;
    /** Roots squid trusts when it connects to origins (else the system store). */
    readonly originCaFile?: string;
  };
  /** Bound on start-up; default 15 s. */
  readonly readyTimeoutMs?: number;
}

export interface Squid {
  readonly port: number;
  /** The instance's directory (conf, logs, pid file). */
  readonly dir: string;
  /** `http://127.0.0.1:PORT` (no credentials). */
  readonly url: string;
  stop(): Promise<void>;
  /** Starts again on the same port after `stop`. */
  start(): Promise<void>;
  accessLog(): Promise<string>;
  cacheLog(): Promise<string>;
  /** Polls access.log (bounded): squid writes a CONNECT line only when the tunnel closes. */
  waitForAccessLog(pattern: RegExp, timeoutMs?: number): Promise<boolean>;
}

/** Where distributions install squid's helper programs. */
const HELPER_DIRS = ['/usr/lib/squid', '/usr/lib64/squid', '/usr/libexec/squid'];

let instances = 0;

/** The directory holding squid helper `name`. */
export function squidHelperDir(name: string, dirs: readonly string[] = HELPER_DIRS): string {
  const dir = dirs.find((d) => existsSync(join(d, name)));
  if (dir === undefined) throw new Error(`squid helper ${name} not found in ${dirs.join(', ')}`);
  return dir;
}

export interface SquidConfInput {
  readonly dir: string;
  readonly port: number;
  readonly helperDir: string;
  readonly basicAuth: boolean;
  readonly ntlm?: boolean;
  readonly allowConnectPorts: readonly number[];
  readonly deny: readonly string[];
  readonly sslBump: { readonly originCaFile: string | undefined } | undefined;
  readonly runAsProxy: boolean;
}

function bumpLines(c: SquidConfInput, originCaFile: string | undefined): string[] {
  const certs = `tls-cert=${c.dir}/bump-ca.pem tls-key=${c.dir}/bump-ca.key`;
  return [
    `http_port 127.0.0.1:${c.port} ssl-bump ${certs} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB`,
    `sslcrtd_program ${c.helperDir}/security_file_certgen -s ${c.dir}/ssl_db -M 4MB`,
    'sslcrtd_children 3 startup=1 idle=1',
    'acl step1 at_step SslBump1',
    'acl step2 at_step SslBump2',
    'acl step3 at_step SslBump3',
    // server-first is deprecated in squid 5: peek at the SNI, stare at the origin, bump.
    'ssl_bump peek step1',
    'ssl_bump stare step2',
    'ssl_bump bump step3',
    ...(originCaFile ? [`tls_outgoing_options cafile=${originCaFile}`] : []),
  ];
}

function accessLines(c: SquidConfInput): string[] {
  const ports = ['443', ...c.allowConnectPorts.map(String)].join(' ');
  return [
    'acl CONNECT method CONNECT',
    `acl connect_ports port ${ports}`,
    ...(c.deny.length > 0 ? [`acl denied dstdomain ${c.deny.join(' ')}`] : []),
    ...(c.basicAuth
      ? [
          `auth_param basic program ${c.helperDir}/basic_ncsa_auth ${c.dir}/passwd`,
          'auth_param basic children 2 startup=1 idle=1',
          'auth_param basic realm corproxy-test',
        ]
      : []),
    ...(c.ntlm
      ? [
          `auth_param ntlm program ${c.helperDir}/ntlm_fake_auth`,
          'auth_param ntlm children 2 startup=1 idle=1',
        ]
      : []),
    ...(c.basicAuth || c.ntlm ? ['acl authed proxy_auth REQUIRED'] : []),
    // Refusals first, so a denied host is refused even without credentials.
    ...(c.deny.length > 0 ? ['http_access deny denied'] : []),
    'http_access deny CONNECT !connect_ports',
    c.basicAuth || c.ntlm ? 'http_access allow authed' : 'http_access allow localhost',
    'http_access deny all',
  ];
}

/** squid.conf for one private instance (pure). */
export function renderSquidConf(c: SquidConfInput): string {
  const lines = [
    ...(c.sslBump ? bumpLines(c, c.sslBump.originCaFile) : [`http_port 127.0.0.1:${c.port}`]),
    ...(c.runAsProxy ? ['cache_effective_user proxy'] : []),
    `pid_filename ${c.dir}/squid.pid`,
    `cache_log ${c.dir}/cache.log`,
    `access_log stdio:${c.dir}/access.log squid`,
    'cache_store_log none',
    'logfile_rotate 0',
    `coredump_dir ${c.dir}/cache`,
    'netdb_filename none',
    'cache deny all',
    'cache_mem 8 MB',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'visible_hostname corproxy-squid.test',
    // Never query the machine's resolver: only the hosts_file names resolve.
    'dns_nameservers 127.0.0.1',
    `hosts_file ${c.dir}/hosts`,
    ...accessLines(c),
  ];
  return `${lines.join('\n')}\n`;
}

/** A SHA-512 crypt hash (`$6$…`) as basic_ncsa_auth reads it; squid ships no htpasswd. */
export async function hashPassword(password: string): Promise<string> {
  const child = spawn(findTool('openssl') ?? 'openssl', ['passwd', '-6', '-stdin'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stdin?.end(`${password}\n`);
  const code = await waitExit(child, 10_000);
  if (code !== 0 || !out.startsWith('$6$')) throw new Error(`openssl passwd failed: ${out}`);
  return out.trim();
}

/** uid/gid of the `proxy` user squid switches to, from /etc/passwd. */
export async function proxyIds(): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readOr('/etc/passwd');
  const fields = passwd
    .split('\n')
    .find((l) => l.startsWith('proxy:'))
    ?.split(':');
  if (!fields || fields.length < 4) return undefined;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

async function readOr(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

/** Gives the tree to the `proxy` user squid drops to when started as root. */
async function handOver(dir: string): Promise<void> {
  const ids = process.getuid?.() === 0 ? await proxyIds() : undefined;
  if (!ids) return;
  const walk = async (p: string): Promise<void> => {
    await chown(p, ids.uid, ids.gid);
    const entries = await readdir(p, { withFileTypes: true }).catch(() => []);
    for (const e of entries) await walk(join(p, e.name));
  };
  await chmod(dir, 0o755);
  await walk(dir);
}

/** Writes everything the configuration refers to; returns the configuration input. */
async function prepare(dir: string, port: number, opts: SquidOptions): Promise<SquidConfInput> {
  const hosts = Object.entries(opts.hosts).map(([name, ip]) => `${ip} ${name}\n`);
  await writeFile(join(dir, 'hosts'), hosts.join(''));
  await mkdir(join(dir, 'cache'));
  if (opts.basicAuth) {
    const hash = await hashPassword(opts.basicAuth.password);
    await writeFile(join(dir, 'passwd'), `${opts.basicAuth.user}:${hash}\n`);
  }
  if (opts.sslBump) {
    await writeFile(join(dir, 'bump-ca.pem'), opts.sslBump.caCertPem);
    await writeFile(join(dir, 'bump-ca.key'), opts.sslBump.caKeyPem, { mode: 0o600 });
    await initCertDb(join(dir, 'ssl_db'));
    // A copy inside the instance directory, which the `proxy` user can read.
    if (opts.sslBump.originCaFile !== undefined) {
      await copyFile(opts.sslBump.originCaFile, join(dir, 'origin-ca.pem'));
    }
  }
  return {
    dir,
    port,
    helperDir: squidHelperDir(
      opts.sslBump
        ? 'security_file_certgen'
        : opts.ntlmFakeAuth
          ? 'ntlm_fake_auth'
          : 'basic_ncsa_auth',
    ),
    basicAuth: opts.basicAuth !== undefined,
    ntlm: opts.ntlmFakeAuth === true,
    allowConnectPorts: opts.allowConnectPorts,
    deny: opts.deny ?? [],
    sslBump: opts.sslBump
      ? {
          originCaFile:
            opts.sslBump.originCaFile === undefined ? undefined : join(dir, 'origin-ca.pem'),
        }
      : undefined,
    runAsProxy: process.getuid?.() === 0,
  };
}

/** ssl-bump needs its certificate database before squid starts. */
async function initCertDb(dbDir: string): Promise<void> {
  const certgen = join(squidHelperDir('security_file_certgen'), 'security_file_certgen');
  const child = spawn(certgen, ['-c', '-s', dbDir, '-M', '4MB'], { stdio: 'pipe' });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const code = await waitExit(child, 10_000);
  if (code !== 0) throw new Error(`security_file_certgen -c failed (${String(code)}): ${err}`);
}

/** Starts a private squid; it is stopped and its directory removed at teardown. */
export async function startSquid(t: TeardownTest, opts: SquidOptions): Promise<Squid> {
  const bin = opts.bin ?? findTool('squid') ?? 'squid';
  instances += 1;
  const name = `corproxytest${process.pid}x${instances}`;
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-squid-'));
  let child: ChildProcess | undefined;
  // Teardowns run last-registered first: this one, registered first, runs after `stop`.
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const port = await freePortInRange(20_000, 32_000);
  const conf = join(dir, 'squid.conf');
  await writeFile(conf, renderSquidConf(await prepare(dir, port, opts)));
  await handOver(dir);
  const readyMs = opts.readyTimeoutMs ?? 15_000;

  const start = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(bin, ['-N', '-f', conf, '-n', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    const collect = (s: string): void => void (output = (output + s).slice(-4000));
    proc.stdout?.setEncoding('utf8').on('data', collect);
    proc.stderr?.setEncoding('utf8').on('data', collect);
    const exited = (): boolean => proc.exitCode !== null || proc.signalCode !== null;
    const ready = await waitFor(async () => exited() || (await canConnect(port)), readyMs);
    if (!ready || exited()) {
      await stop();
      const log = (await readOr(join(dir, 'cache.log'))).slice(-4000);
      throw new Error(
        `squid did not start on 127.0.0.1:${port} within ${readyMs} ms` +
          ` (exit ${String(proc.exitCode ?? proc.signalCode)})\n${output}\ncache.log:\n${log}`,
      );
    }
  };

  // Signals only the child this helper started, and only while it has not exited (PIDs
  // are reused quickly here).
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    if ((await waitExit(proc, 10_000)) === undefined) {
      proc.kill('SIGKILL');
      await waitExit(proc, 5_000);
    }
  };

  t.teardown(stop);
  await start();
  const accessLog = (): Promise<string> => readOr(join(dir, 'access.log'));
  return {
    port,
    dir,
    url: `http://127.0.0.1:${port}`,
    stop,
    start,
    accessLog,
    cacheLog: () => readOr(join(dir, 'cache.log')),
    waitForAccessLog: (pattern, timeoutMs = 5_000) =>
      waitFor(async () => pattern.test(await accessLog()), timeoutMs),
  };
}
