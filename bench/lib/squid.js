/**
 * The local upstream proxy of the chained topology and of the mirror benchmark: a private
 * squid (its own config, pid file, logs and directories in the run's temp dir, `-N` in the
 * foreground, a distinct `-n` service name), listening on 127.0.0.1, resolving only the
 * origin's name from its hosts_file, caching nothing, allowing CONNECT to any port of that
 * name for loopback clients.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { startChild } from './children.js';

/** squid lives in sbin, often missing from PATH. */
export function findSquid() {
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  for (const d of dirs) {
    if (d && existsSync(join(d, 'squid'))) return join(d, 'squid');
  }
  return undefined;
}

/** A port that was free a moment ago (squid cannot listen on port 0 and report it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP on 127.0.0.1:port. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function proxyUser() {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const f = passwd
    .split('\n')
    .find((l) => l.startsWith('proxy:'))
    ?.split(':');
  return f && f.length > 3 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

/** Started as root, squid drops to `proxy`: its tree must be that user's. */
async function handOver(dir) {
  const ids = process.getuid?.() === 0 ? await proxyUser() : undefined;
  if (!ids) return false;
  const walk = async (p) => {
    await chown(p, ids.uid, ids.gid);
    for (const e of await readdir(p, { withFileTypes: true }).catch(() => [])) {
      await walk(join(p, e.name));
    }
  };
  await chmod(dir, 0o755);
  await walk(dir);
  return true;
}

function squidConf(dir, port, asProxy, hostName) {
  return [
    `http_port 127.0.0.1:${port}`,
    ...(asProxy ? ['cache_effective_user proxy'] : []),
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log squid`,
    'cache_store_log none',
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    'netdb_filename none',
    'cache deny all',
    'cache_mem 8 MB',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'visible_hostname bench-squid.test',
    'max_filedescriptors 16384',
    'dns_nameservers 127.0.0.1',
    `hosts_file ${dir}/hosts`,
    `acl origin dstdomain ${hostName}`,
    'http_access allow localhost origin',
    'http_access deny all',
    '',
  ].join('\n');
}

/**
 * Starts squid in `parent/squid` (the caller makes `parent` reachable for the `proxy`
 * user); resolves `{ port, pid, url, tunnels, stop }`, `tunnels()` counting the CONNECTs
 * in its access log.
 */
export async function startSquid(bin, parent, hostName) {
  const dir = join(parent, 'squid');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'hosts'), `127.0.0.1 ${hostName}\n`);
  const port = await freePort();
  const asProxy = process.getuid?.() === 0 && (await proxyUser()) !== undefined;
  await writeFile(join(dir, 'squid.conf'), squidConf(dir, port, asProxy, hostName));
  await handOver(dir);
  const name = `corproxybench${process.pid}`;
  const child = startChild(bin, ['-N', '-f', join(dir, 'squid.conf'), '-n', name]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) break;
    if (await canConnect(port)) {
      const tunnels = async () => {
        const log = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
        return log.split('\n').filter((l) => / CONNECT /.test(l)).length;
      };
      return {
        port,
        pid: child.pid,
        url: `http://127.0.0.1:${port}`,
        tunnels,
        stop: () => child.stop(10_000),
      };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await readFile(join(dir, 'cache.log'), 'utf8').catch(() => '');
  await child.stop();
  throw new Error(
    `squid did not start on 127.0.0.1:${port}\n${child.output()}\n${log.slice(-3000)}`,
  );
}
