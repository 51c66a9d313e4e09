/**
 * End to end: a real squid in ssl-bump mode re-signs every origin with a test corporate
 * CA; the real `go` command downloads a module through the built corproxy daemon.
 *
 *   go mod download --HTTPS_PROXY--> corproxy serve --CONNECT + Basic--> squid (ssl-bump,
 *   (SSL_CERT_FILE: public CA only,      |                                 corp CA signs)
 *    then corproxy's ca-bundle.pem)      |                                      |
 *                                        +-- probe: same upstream, same SNI     v
 *                                                              goproxy.example.test (public CA)
 *
 * Before `corproxy trust`, go fails with x509; after it, go succeeds with the SSL_CERT_FILE
 * that `corproxy env` prints, and the bundle holds the corporate root and no leaf. Then
 * the same detection against a differently shaped interceptor (intermediate only, one key
 * for every leaf, mitmproxy-like), whose intermediate go also accepts as an anchor.
 */
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { ConnectionRecord } from '../../src/events.js';
import { parsePem } from '../../src/tls/chain.js';
import { daemonEnv, MAIN_JS, startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import {
  makeInterceptorPki,
  startFakeInterceptor,
  type FakeInterceptor,
} from '../support/fake-interceptor.js';
import { removeTree, runGo, type GoResult } from '../support/go.js';
import { helloModule, startModuleServer } from '../support/go-module-server.js';
import { makeCa } from '../support/pki.js';
import { startSquid } from '../support/squid.js';
import { findTool, requireTool, waitExit, waitFor, type TeardownTest } from '../support/tools.js';

const HOST = 'goproxy.example.test';
const HELLO = { 'example.test/hello': 'v1.0.0' };
const USER = 'dev';
const PASSWORD = 'bump-e2e-pw';

interface CliResult {
  readonly code: number | string | null | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node dist/main.js ARGS` without the runner's proxy variables; killed after a bound. */
async function cli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [MAIN_JS, ...args], {
    env: daemonEnv(process.env, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let code = await waitExit(child, 30_000);
  if (code === undefined) {
    child.kill('SIGKILL');
    code = await waitExit(child, 5_000);
  }
  return { code, stdout, stderr };
}

async function records(file: string): Promise<ConnectionRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as ConnectionRecord];
    } catch {
      return [];
    }
  });
}

/** The value of `export NAME='value'` in `corproxy env --shell sh` output. */
function exported(text: string, name: string): string | undefined {
  return new RegExp(`^export ${name}='([^']*)'$`, 'm').exec(text)?.[1];
}

t.test('go through squid ssl-bump: x509 before trust, success after', async (t) => {
  const goBin = findTool('go');
  const squidBin = findTool('squid');
  if (!requireTool(t, 'go', goBin) || !requireTool(t, 'squid', squidBin)) return;
  if (!requireTool(t, 'openssl', findTool('openssl'))) return;

  const publicCa = makeCa({ cn: 'corproxy e2e public root', org: 'corproxy tests' });
  const corp = makeCa({ cn: 'Corp Inspection Root CA', org: 'Example Corp' });
  const ROOT = new X509Certificate(corp.certPem).fingerprint256;
  const work = await mkdtemp(join(tmpdir(), 'corproxy-bump-e2e-'));
  t.teardown(() => removeTree(work));
  const publicFile = join(work, 'public-ca.pem');
  await writeFile(publicFile, publicCa.certPem);
  const config = join(work, 'config.yaml');
  // No watch list: nothing may be probed but the test's own names.
  await writeFile(config, `probe:\n  watch: []\n  timeout: 10s\n`);

  const origin = await startModuleServer(t, {
    ca: publicCa,
    names: [HOST],
    modules: [helloModule()],
  });
  const squid = await startSquid(t, {
    bin: squidBin,
    basicAuth: { user: USER, password: PASSWORD },
    hosts: { [HOST]: '127.0.0.1' },
    allowConnectPorts: [origin.port],
    sslBump: { caCertPem: corp.certPem, caKeyPem: corp.keyPem, originCaFile: publicFile },
  });
  const target = `${HOST}:${origin.port}`;
  const state = join(work, 'state');
  const log = join(work, 'connections.log');
  const route = [
    '--config',
    config,
    '--upstream',
    `http://${USER}:${PASSWORD}@127.0.0.1:${squid.port}`,
    '--hosts',
    `${HOST}=127.0.0.1`,
    '--state-dir',
    state,
  ];
  // Probing on whatever the test helpers default to: this test is about the probes.
  const probing = { CORPROXY_PROBE: 'true' };
  const daemon = await startDaemon(t, ['--listen', '127.0.0.1:0', '--log', log, ...route], probing);

  const download = (tt: TeardownTest, via: DaemonProcess, certFile?: string): Promise<GoResult> =>
    runGo(tt, ['mod', 'download', ...Object.keys(HELLO)], {
      goBin,
      caCertPem: publicCa.certPem,
      requires: HELLO,
      env: {
        GOPROXY: origin.url(),
        HTTPS_PROXY: via.url,
        NO_PROXY: '',
        ...(certFile ? { SSL_CERT_FILE: certFile } : {}),
      },
      timeoutMs: 45_000,
    });

  await t.test('before trust: go fails with x509', async (t) => {
    const r = await download(t, daemon);
    t.not(r.code, 0);
    t.match(r.stderr, /x509: certificate signed by unknown authority/, { stderr: r.stderr });
  });

  await t.test('detect sees the interception through squid with the credentials', async (t) => {
    const r = await cli(['detect', target, '--json', ...route]);
    t.equal(r.code, 0, 'exits 0', { stdout: r.stdout, stderr: r.stderr });
    const [doc] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    t.match(doc, {
      verdict: 'intercepted',
      sni: HOST,
      ca: { sha256: ROOT, selfSigned: true },
      route: { kind: 'upstream' },
      evidence: { sanMatch: true, publicRootVerify: /SELF_SIGNED|UNABLE/ },
    });
    t.notMatch(r.stdout, PASSWORD);
  });

  let bundle = '';
  await t.test('trust writes the bundle; env prints SSL_CERT_FILE; go succeeds', async (t) => {
    const refused = await cli(['trust', target, ...route]);
    t.not(refused.code, 0, 'not a terminal and no --yes: nothing approved');
    t.match(refused.stderr, /--yes --fingerprint/);
    const r = await cli(['trust', target, '--yes', '--fingerprint', ROOT, ...route], {
      SSL_CERT_FILE: publicFile,
    });
    t.equal(r.code, 0, 'trust --yes --fingerprint succeeds', {
      stdout: r.stdout,
      stderr: r.stderr,
    });
    const env = await cli([
      'env',
      '--shell',
      'sh',
      '--listen',
      `127.0.0.1:${daemon.port}`,
      '--state-dir',
      state,
    ]);
    t.equal(env.code, 0, env.stderr);
    t.equal(exported(env.stdout, 'HTTPS_PROXY'), daemon.url);
    bundle = exported(env.stdout, 'SSL_CERT_FILE') ?? '';
    t.equal(bundle, join(state, 'ca-bundle.pem'));
    t.equal(exported(env.stdout, 'NODE_EXTRA_CA_CERTS'), join(state, 'corp-ca.pem'));
    const certs = parsePem(await readFile(bundle, 'utf8')).certs;
    t.ok(
      certs.some((c) => c.fingerprint256 === ROOT),
      'the corporate root is in the bundle',
    );
    t.ok(
      certs.every((c) => c.ca),
      'no leaf in the bundle',
    );
    const ok = await download(t, daemon, bundle);
    t.equal(ok.code, 0, 'go mod download succeeds', { stderr: ok.stderr });
  });

  await t.test("the daemon probed go's tunnels over squid and logged the verdict", async (t) => {
    let rec: ConnectionRecord | undefined;
    await waitFor(async () => {
      rec = (await records(log)).find((r) => r.target === target && r.tls !== undefined);
      return rec !== undefined;
    }, 10_000);
    t.match(
      rec?.tls,
      { verdict: 'intercepted', caSha256: ROOT },
      { log: await readFile(log, 'utf8') },
    );
  });

  await t.test('a second interceptor shape: intermediate only, one key for all', async (t) => {
    const mitm = makeInterceptorPki('mitmproxy', 'mitmproxy');
    const gateway: FakeInterceptor = await startFakeInterceptor({
      resolve: { [HOST]: '127.0.0.1' },
      originCa: [publicCa.certPem],
      pki: mitm,
      chain: 'intermediate',
      reuseCaKey: true,
    });
    t.teardown(() => gateway.close());
    const state2 = join(work, 'state2');
    const route2 = [
      '--config',
      config,
      '--upstream',
      `http://127.0.0.1:${gateway.port}`,
      '--state-dir',
      state2,
    ];
    const INT = new X509Certificate(mitm.intermediate.certPem).fingerprint256;
    const d = await cli(['detect', target, '--json', ...route2]);
    t.equal(d.code, 0, d.stderr);
    const [doc] = JSON.parse(d.stdout) as Array<{
      verdict: string;
      vendor: string;
      ca: { sha256: string };
      chain: unknown[];
    }>;
    t.match(doc, { verdict: 'intercepted', vendor: 'mitmproxy', ca: { sha256: INT } });
    t.equal(doc?.chain.length, 2, 'leaf + intermediate');
    const r = await cli(['trust', target, '--yes', '--fingerprint', INT, ...route2], {
      SSL_CERT_FILE: publicFile,
    });
    t.equal(r.code, 0, 'exits 0', { stdout: r.stdout, stderr: r.stderr });
    t.match(r.stdout, /Go accepts an intermediate as a trust anchor/);
    const daemon2 = await startDaemon(
      t,
      ['--listen', '127.0.0.1:0', '--log', 'off', ...route2],
      probing,
    );
    const ok = await download(t, daemon2, join(state2, 'ca-bundle.pem'));
    t.equal(ok.code, 0, 'go accepts the intermediate as an anchor', { stderr: ok.stderr });
  });
});
