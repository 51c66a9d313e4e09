/**
 * End to end: the real `go` command downloads modules through the built corproxy daemon,
 * whose upstream is a real squid with Basic auth.
 *
 *                      HTTPS_PROXY=http://127.0.0.1:D   (no credentials in go's env)
 *   go mod download ─────────────────────────────────► corproxy  node dist/main.js serve
 *   (fresh GOPATH, caches, HOME;                         │  --upstream http://alice:***@127.0.0.1:S
 *    only the test CA trusted)                           │  --direct corp.test
 *                                                        │  --fallback none
 *                      CONNECT + Proxy-Authorization     │          direct (corproxy's hosts map)
 *                    ┌───────────────────────────────────┘─────────────────────────────┐
 *                    ▼                                                                 │
 *            squid 127.0.0.1:S  (hosts_file; denies .corp.test)                        │
 *                    │                                                                 ▼
 *                    ▼                                                  goproxy.corp.test:P2  (TLS)
 *   goproxy.example.test:P1  (TLS, leaf from the test CA)                git.corp.test/private/lib
 *   example.test/hello v1.0.0                                            (the private GOPROXY)
 *
 * Go never proxies loopback addresses, so origins are reached by `.test` names that only
 * squid (hosts_file) and corproxy (--hosts) resolve.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from '../support/daemon-process.js';
import { removeTree, runGo, type GoResult } from '../support/go.js';
import {
  helloModule,
  privateModule,
  startModuleServer,
  type ModuleServer,
} from '../support/go-module-server.js';
import { makeCa } from '../support/pki.js';
import { startSquid } from '../support/squid.js';
import { findTool, requireTool, waitFor, type TeardownTest } from '../support/tools.js';
import type { ConnectionRecord } from '../../src/events.js';

const USER = 'alice';
const PASSWORD = 's3cret-e2e';
const WRONG_PASSWORD = 'not-the-e2e-password';
const PUBLIC_HOST = 'goproxy.example.test';
const PRIVATE_HOST = 'goproxy.corp.test';
const HELLO = { 'example.test/hello': 'v1.0.0' };
const PRIVATE = { 'git.corp.test/private/lib': 'v0.1.0' };

/** Whether `origin` served the zip of `module@version` with 200. */
function servedZip(origin: ModuleServer, module: string, version: string): boolean {
  const path = `/${module}/@v/${version}.zip`;
  return origin.requests().some((r) => r.path === path && r.status === 200);
}

/** The downloaded, extracted file of a module in go's module cache. */
function extracted(r: GoResult, module: string, version: string, file: string): string {
  return join(r.dirs.modcache, `${module}@${version}`, file);
}

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** squid's access.log line for a CONNECT: `… CODE/STATUS BYTES CONNECT host:port USER …`. */
function squidLine(code: string, hostPort: string, user: string): RegExp {
  return new RegExp(`${escapeRe(code)} \\d+ CONNECT ${escapeRe(hostPort)} ${escapeRe(user)} `);
}

/** The daemon's connection log, one JSON record per line (unparsable lines are skipped). */
async function readRecords(file: string): Promise<ConnectionRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as ConnectionRecord];
    } catch {
      return [];
    }
  });
}

/** Waits (bounded) for a record matching `want`: records are written at connection close. */
async function waitForRecord(
  file: string,
  want: (r: ConnectionRecord) => boolean,
): Promise<ConnectionRecord | undefined> {
  let found: ConnectionRecord | undefined;
  await waitFor(async () => (found = (await readRecords(file)).find(want)) !== undefined, 5_000);
  return found;
}

t.test('go mod download through corproxy with squid upstream', async (t) => {
  const goBin = findTool('go');
  const squidBin = findTool('squid');
  if (!requireTool(t, 'go', goBin) || !requireTool(t, 'squid', squidBin)) return;
  if (!requireTool(t, 'openssl', findTool('openssl'))) return;

  const ca = makeCa({ cn: 'corproxy e2e test root', org: 'corproxy tests' });
  const pub = await startModuleServer(t, { ca, names: [PUBLIC_HOST], modules: [helloModule()] });
  const priv = await startModuleServer(t, {
    ca,
    names: [PRIVATE_HOST],
    modules: [privateModule()],
  });
  const squid = await startSquid(t, {
    bin: squidBin,
    basicAuth: { user: USER, password: PASSWORD },
    // squid could reach the private origin: only its deny rule keeps it out.
    hosts: { [PUBLIC_HOST]: '127.0.0.1', [PRIVATE_HOST]: '127.0.0.1' },
    allowConnectPorts: [pub.port, priv.port],
    deny: ['.corp.test'],
  });
  const publicTarget = `${PUBLIC_HOST}:${pub.port}`;
  const privateTarget = `${PRIVATE_HOST}:${priv.port}`;

  const stateDir = await mkdtemp(join(tmpdir(), 'corproxy-e2e-state-'));
  t.teardown(() => removeTree(stateDir));
  const logOf = (name: string): string => join(stateDir, `${name}.log`);
  const daemonArgs = (password: string, name: string): string[] => [
    '--listen',
    '127.0.0.1:0',
    '--upstream',
    `http://${USER}:${password}@127.0.0.1:${squid.port}`,
    '--hosts',
    `${PUBLIC_HOST}=127.0.0.1`,
    '--hosts',
    `${PRIVATE_HOST}=127.0.0.1`,
    '--direct',
    'corp.test',
    // As on a corporate network: when squid is unreachable, nothing else reaches out.
    '--fallback',
    'none',
    '--log',
    logOf(name),
    '--state-dir',
    join(stateDir, name),
  ];
  const daemon = await startDaemon(t, daemonArgs(PASSWORD, 'good'));

  // go's environment never holds a credential: HTTPS_PROXY is corproxy's bare URL. Each
  // run's directories are removed when the subtest `tt` ends.
  const download = (
    tt: TeardownTest,
    via: string,
    goproxy: string,
    requires: Record<string, string>,
  ): Promise<GoResult> =>
    runGo(tt, ['mod', 'download', ...Object.keys(requires)], {
      goBin,
      caCertPem: ca.certPem,
      requires,
      env: { GOPROXY: goproxy, HTTPS_PROXY: via, NO_PROXY: '' },
      timeoutMs: 45_000,
    });

  await t.test('public module: corproxy adds the credentials squid wants', async (t) => {
    const r = await download(t, daemon.url, pub.url(), HELLO);
    t.equal(r.code, 0, 'go mod download succeeds', { stderr: r.stderr });
    const source = await readFile(extracted(r, 'example.test/hello', 'v1.0.0', 'hello.go'), 'utf8');
    t.match(source, /func Hello\(\) string/, 'the module is in the module cache');
    t.ok(servedZip(pub, 'example.test/hello', 'v1.0.0'), 'the public origin served the zip');
    t.ok(
      await squid.waitForAccessLog(squidLine('TCP_TUNNEL/200', publicTarget, USER)),
      'squid logged the CONNECT authenticated as the user',
      { accessLog: await squid.accessLog() },
    );
    const rec = await waitForRecord(logOf('good'), (x) => x.target === publicTarget);
    t.match(rec, { method: 'CONNECT', route: 'upstream', status: 200, outcome: 'ok' });
    t.notMatch(await readFile(logOf('good'), 'utf8'), PASSWORD, 'no password in the log');
    t.notMatch(daemon.stderr(), PASSWORD, 'no password in the daemon output');
  });

  await t.test('private module: routed direct, never through squid', async (t) => {
    const r = await download(t, daemon.url, priv.url(), PRIVATE);
    t.equal(r.code, 0, 'go mod download succeeds', { stderr: r.stderr });
    t.ok(existsSync(extracted(r, 'git.corp.test/private/lib', 'v0.1.0', 'lib.go')), 'cached');
    t.ok(servedZip(priv, 'git.corp.test/private/lib', 'v0.1.0'), 'the private origin served it');
    const rec = await waitForRecord(logOf('good'), (x) => x.target === privateTarget);
    t.match(rec, { route: 'direct', rule: /corp\.test/, status: 200, outcome: 'ok' });
    // squid writes a CONNECT line when the tunnel closes: give a stray one time to appear.
    t.notOk(await squid.waitForAccessLog(/corp\.test/, 1_500), 'squid never saw corp.test', {
      accessLog: await squid.accessLog(),
    });
  });

  await t.test('control: squid itself refuses the private host', async (t) => {
    const direct = `http://${USER}:${PASSWORD}@127.0.0.1:${squid.port}`;
    const r = await download(t, direct, priv.url(), PRIVATE);
    t.not(r.code, 0, 'go through squid alone fails');
    t.match(r.stderr, /Forbidden/, 'squid answers 403');
    t.ok(await squid.waitForAccessLog(squidLine('TCP_DENIED/403', privateTarget, '-')), 'logged');
  });

  await t.test('wrong upstream password: go shows corproxy’s reason', async (t) => {
    const bad = await startDaemon(t, daemonArgs(WRONG_PASSWORD, 'bad'));
    const served = pub.requests().length;
    const r = await download(t, bad.url, pub.url(), HELLO);
    t.not(r.code, 0, 'go mod download fails');
    t.match(r.stderr, /corproxy: [^\n]*407/, 'the reason phrase names corproxy and the 407');
    t.notMatch(r.stderr, WRONG_PASSWORD, 'the reason phrase does not leak the password');
    t.equal(pub.requests().length, served, 'the origin was never reached');
    t.ok(await squid.waitForAccessLog(squidLine('TCP_DENIED/407', publicTarget, USER)), 'squid');
    const rec = await waitForRecord(logOf('bad'), (x) => x.target === publicTarget);
    t.match(rec, { status: 502, outcome: 'error', error: { code: 'CPX_ERR_UPSTREAM_AUTH' } });
    t.notMatch(await readFile(logOf('bad'), 'utf8'), WRONG_PASSWORD, 'no password in the log');
    t.notMatch(bad.stderr(), WRONG_PASSWORD, 'no password in the daemon output');
    t.equal(await bad.stop(), 0, 'SIGTERM stops the daemon cleanly');
  });

  await t.test('squid down, then back: corproxy fails fast and recovers', async (t) => {
    await squid.stop();
    const down = await download(t, daemon.url, pub.url(), HELLO);
    t.not(down.code, 0, 'go mod download fails while squid is down');
    t.ok(down.durationMs < 20_000, `fails fast (${down.durationMs} ms)`);
    t.match(down.stderr, /corproxy: /, 'the error comes from corproxy');
    t.match(down.stderr, `127.0.0.1:${squid.port}`, 'and names the upstream');
    const failed = await waitForRecord(logOf('good'), (x) => x.status === 502);
    t.match(failed, { target: publicTarget, error: { code: 'CPX_ERR_UPSTREAM_UNREACHABLE' } });

    await squid.start();
    const up = await download(t, daemon.url, pub.url(), HELLO);
    t.equal(up.code, 0, 'the next download succeeds once squid is back', {
      stderr: up.stderr,
    });
    t.ok(up.durationMs < 20_000, `without waiting out the bad-proxy list (${up.durationMs} ms)`);
  });
});
