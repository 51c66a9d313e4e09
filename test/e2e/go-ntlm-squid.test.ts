/**
 * End to end: the real `go` command downloads a module through the built corproxy daemon,
 * whose upstream is a real squid that wants NTLM (`auth_param ntlm` with squid's
 * ntlm_fake_auth helper: a real NEGOTIATE → CHALLENGE → AUTHENTICATE exchange on one
 * connection; it accepts any password, so wrong passwords are tested against the fake
 * upstream in test/integration/upstream-ntlm.test.ts instead).
 *
 *   go mod download ──HTTPS_PROXY──► corproxy ──CONNECT (bare) ─────────► squid: 407 NTLM
 *   (no credentials,                          ──CONNECT + NTLM Type1 ──►       407 Type2
 *    only the test CA)                        ──CONNECT + NTLM Type3 ──►       200
 *                                                                               │
 *                                                 goproxy.example.test:P (TLS) ◄┘
 *
 * Plain http:// requests take the NTLM path for absolute-URI forwarding: a HEAD carrying
 * the NEGOTIATE_MESSAGE, then the request itself with the AUTHENTICATE_MESSAGE, on one
 * connection.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { startDaemon } from '../support/daemon-process.js';
import { removeTree, runGo } from '../support/go.js';
import { helloModule, startModuleServer } from '../support/go-module-server.js';
import { makeCa } from '../support/pki.js';
import { startSquid } from '../support/squid.js';
import { startHttpOrigin } from '../support/origins.js';
import { findTool, requireTool, waitFor } from '../support/tools.js';

const PASSWORD = 'ntlm-e2e-Secret';
const HOST = 'goproxy.example.test';
const HELLO = { 'example.test/hello': 'v1.0.0' };
const WEB = 'web.example.test';

/** GET of an absolute http:// URL through the proxy at `port`. */
function get(port: number, url: string): Promise<{ status: number; reason: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, agent: false });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('go mod download through corproxy with an NTLM squid upstream', async (t) => {
  const goBin = findTool('go');
  const squidBin = findTool('squid');
  if (!requireTool(t, 'go', goBin) || !requireTool(t, 'squid', squidBin)) return;

  const ca = makeCa({ cn: 'corproxy ntlm e2e root', org: 'corproxy tests' });
  const origin = await startModuleServer(t, { ca, names: [HOST], modules: [helloModule()] });
  const web = await startHttpOrigin(t);
  const squid = await startSquid(t, {
    bin: squidBin,
    ntlmFakeAuth: true,
    hosts: { [HOST]: '127.0.0.1', [WEB]: '127.0.0.1' },
    allowConnectPorts: [origin.port],
  });
  const target = `${HOST}:${origin.port}`;
  const stateDir = await mkdtemp(join(tmpdir(), 'corproxy-e2e-ntlm-'));
  t.teardown(() => removeTree(stateDir));
  const log = join(stateDir, 'connections.log');
  const daemon = await startDaemon(t, [
    '--listen',
    '127.0.0.1:0',
    '--upstream',
    `http://CORP%5Calice:${PASSWORD}@127.0.0.1:${squid.port}`,
    '--hosts',
    `${HOST}=127.0.0.1`,
    '--fallback',
    'none',
    '--log',
    log,
    '--state-dir',
    join(stateDir, 'state'),
  ]);
  const download = (tt: Parameters<typeof runGo>[0], via: string) =>
    runGo(tt, ['mod', 'download', ...Object.keys(HELLO)], {
      goBin,
      caCertPem: ca.certPem,
      requires: HELLO,
      env: { GOPROXY: origin.url(), HTTPS_PROXY: via, NO_PROXY: '' },
      timeoutMs: 45_000,
    });

  await t.test('control: go alone cannot get through the NTLM squid', async (t) => {
    const r = await download(t, `http://CORP%5Calice:${PASSWORD}@127.0.0.1:${squid.port}`);
    t.not(r.code, 0, 'go fails');
    t.match(r.stderr, /Proxy Authentication Required/, 'squid wants authentication');
  });

  await t.test('corproxy answers squid’s NTLM challenge for go', async (t) => {
    const r = await download(t, daemon.url);
    t.equal(r.code, 0, 'go mod download succeeds', { stderr: r.stderr });
    const source = await readFile(
      join(r.dirs.modcache, 'example.test/hello@v1.0.0', 'hello.go'),
      'utf8',
    );
    t.match(source, /func Hello\(\) string/, 'the module is in the module cache');
    // squid logs a tunnel when it closes, with the NTLM user (its backslash escaped).
    const tunnelLine = new RegExp(
      `TCP_TUNNEL/200 \\d+ CONNECT ${target.replace(/\./g, '\\.')} CORP\\\\{1,2}alice `,
    );
    t.ok(
      await squid.waitForAccessLog(tunnelLine, 10_000),
      'squid logged an NTLM-authenticated tunnel',
      {
        accessLog: await squid.accessLog(),
      },
    );
    t.match(await squid.accessLog(), /TCP_DENIED\/407 \d+ CONNECT/, 'after 407 challenges');
    const records = async (): Promise<string> => readFile(log, 'utf8').catch(() => '');
    t.ok(await waitFor(async () => (await records()).includes(target), 5_000), 'logged');
    t.match(await records(), /"route":"upstream"/);
    t.notMatch(await records(), PASSWORD, 'no password in the connection log');
    t.notMatch(daemon.stderr(), PASSWORD, 'no password in the daemon output');
  });

  await t.test('plain HTTP through the NTLM squid: HEAD with Type1, GET with Type3', async (t) => {
    const r = await get(daemon.port, `http://${WEB}:${web.port}/plain?q=1`);
    t.equal(r.status, 200, r.reason);
    t.match(JSON.parse(r.body), { method: 'GET', url: '/plain?q=1' });
    t.same(
      web.requests.map((x) => `${x.method} ${x.url}`),
      ['GET /plain?q=1'],
      'the origin saw only the real request',
    );
    // squid strips query strings from its log (strip_query_terms).
    const getLine = new RegExp(
      `TCP_MISS/200 \\d+ GET http://${WEB.replace(/\./g, '\\.')}:${web.port}/plain\\?\\S* CORP\\\\{1,2}alice `,
    );
    t.ok(await squid.waitForAccessLog(getLine, 10_000), 'squid logged the authenticated GET', {
      accessLog: await squid.accessLog(),
    });
    const headLine = new RegExp(`TCP_DENIED/407 \\d+ HEAD http://${WEB.replace(/\./g, '\\.')}:`);
    t.match(await squid.accessLog(), headLine, 'the HEAD carried the NTLM NEGOTIATE_MESSAGE');
  });
});
