/**
 * CONNECT through an upstream that wants NTLM (a fake that checks the NTLMv2 proof
 * against a known password), through the real corproxy server.
 *
 *   client --CONNECT--> corproxy --CONNECT (bare) ----------> fake NTLM proxy: 407 NTLM
 *                                --CONNECT + NTLM Type1 --->                407 Type2
 *                                --CONNECT + NTLM Type3 --->  (same conn)   200 → echo origin
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { lastScheme } from '../../src/auth/scheme-cache.js';
import { ntHash } from '../../src/auth/ntlm-v2.js';
import { startCorproxy } from '../support/corproxy.js';
import { startFakeNtlmUpstream, type FakeNtlmUpstream } from '../support/fake-ntlm-upstream.js';
import { parseHead, rawExchange, readUntil } from '../support/net.js';
import { startEchoOrigin, startHttpOrigin } from '../support/origins.js';

const ALICE = { user: 'alice', domain: 'CORP', password: 'Winter2024!' };
const HOST = 'echo.example.test';

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function setup(t: Teardown): Promise<{ up: FakeNtlmUpstream; originPort: number }> {
  const origin = await startEchoOrigin(t);
  const up = await startFakeNtlmUpstream(t, ALICE);
  up.resolve.set(HOST, origin.port);
  return { up, originPort: origin.port };
}

/** A CONNECT through corproxy; resolves the reply head and, on 200, checks the echo. */
async function tunnelThrough(
  port: number,
): Promise<{ status: number; reason: string; echo: string; code?: string }> {
  const { socket, text } = await rawExchange(
    port,
    `CONNECT ${HOST}:443 HTTP/1.1\r\nHost: x\r\n\r\n`,
  );
  const head = parseHead(text);
  let echo = '';
  if (head.status === 200) {
    socket.write('ping');
    echo = await readUntil(socket, (s) => s.includes('ping'));
  }
  socket.destroy();
  return { status: head.status, reason: head.reason, echo, code: head.headers['x-corproxy-error'] };
}

const urlOf = (up: FakeNtlmUpstream, user = 'CORP%5Calice', password = ALICE.password): string =>
  `http://${user}:${encodeURIComponent(password)}@127.0.0.1:${up.port}`;

t.test('NTLMv2 handshake on one kept-alive connection, then the tunnel', async (t) => {
  const { up } = await setup(t);
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  const first = await tunnelThrough(proxy.port);
  t.equal(first.status, 200, first.reason);
  t.equal(first.echo, 'ping', 'the tunnel carries data');
  t.same(
    up.seen.map((s) => [s.conn, s.scheme]),
    [
      [1, ''],
      [2, 'NTLM'],
      [2, 'NTLM'],
    ],
    'a bare probe, then Type1 and Type3 on one new connection',
  );
  t.same(up.verdicts, ['ok'], 'the NTLMv2 proof matched the password');
  t.equal(lastScheme(`127.0.0.1:${up.port}`), 'ntlm', 'the negotiated scheme is remembered');

  const second = await tunnelThrough(proxy.port);
  t.equal(second.status, 200);
  t.same(
    up.seen.slice(3).map((s) => [s.conn, s.scheme]),
    [
      [3, 'NTLM'],
      [3, 'NTLM'],
    ],
    'the next CONNECT starts with Type1 at once',
  );
  const [rec] = await proxy.waitForRecords(1);
  t.notMatch(JSON.stringify(rec), ALICE.password, 'no password in the record');
});

t.test('wrong password: 502 naming NTLM and the user, never the password', async (t) => {
  const { up } = await setup(t);
  const proxy = await startCorproxy(t, { upstream: [urlOf(up, 'CORP%5Calice', 'Summer2024?')] });
  const r = await tunnelThrough(proxy.port);
  t.equal(r.status, 502);
  t.equal(r.code, 'CPX_ERR_UPSTREAM_AUTH');
  t.match(
    r.reason,
    /rejected the credentials of user "CORP\\alice" \(407; offers NTLM\): NTLM authentication failed/,
  );
  t.notMatch(r.reason, /Summer2024/);
  t.same(up.verdicts, ['NTLMv2 proof']);
  const [rec] = await proxy.waitForRecords(1);
  t.match(rec, { outcome: 'error', error: { code: 'CPX_ERR_UPSTREAM_AUTH' } });
  t.notMatch(JSON.stringify(rec), /Summer2024/);
});

t.test('the domain comes from DOMAIN\\user, auth.domain or CORPROXY_UPSTREAM_DOMAIN', async (t) => {
  const { up } = await setup(t);
  const viaKey = await startCorproxy(
    t,
    {},
    {
      file: { upstream: [{ url: urlOf(up, 'alice'), auth: { domain: 'CORP' } }] },
    },
  );
  t.equal((await tunnelThrough(viaKey.port)).status, 200, 'auth.domain');
  const viaEnv = await startCorproxy(
    t,
    { upstream: [urlOf(up, 'alice')] },
    {
      env: { CORPROXY_UPSTREAM_DOMAIN: 'CORP' },
    },
  );
  t.equal((await tunnelThrough(viaEnv.port)).status, 200, 'CORPROXY_UPSTREAM_DOMAIN');
  const none = await startCorproxy(t, { upstream: [urlOf(up, 'alice')] });
  t.equal((await tunnelThrough(none.port)).status, 502, 'without the domain the proof differs');
  t.same(up.verdicts, ['ok', 'ok', 'domain']);
});

t.test('an NT hash works instead of the password', async (t) => {
  const { up } = await setup(t);
  const hash = ntHash(ALICE.password).toString('hex');
  const proxy = await startCorproxy(
    t,
    {},
    {
      file: {
        upstream: [
          { url: `http://127.0.0.1:${up.port}`, username: 'CORP\\alice', auth: { ntHash: hash } },
        ],
      },
    },
  );
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  const viaEnv = await startCorproxy(
    t,
    { upstream: [`http://CORP%5Calice@127.0.0.1:${up.port}`] },
    {
      env: { CORPROXY_UPSTREAM_NTHASH: hash.toUpperCase() },
    },
  );
  t.equal((await tunnelThrough(viaEnv.port)).status, 200, 'from CORPROXY_UPSTREAM_NTHASH');
  t.same(up.verdicts, ['ok', 'ok']);
});

t.test('a server timestamp makes corproxy send a MIC the server verifies', async (t) => {
  const { up } = await setup(t);
  up.timestamp = true;
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  t.same(up.verdicts, ['ok']);
});

t.test('a chunked 407 body is drained before the next message', async (t) => {
  const { up } = await setup(t);
  up.chunked = true;
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  t.same(up.verdicts, ['ok']);
});

t.test('an upstream that closes after each 407 gets a clear error', async (t) => {
  const { up } = await setup(t);
  up.closeAfter407 = true;
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  const r = await tunnelThrough(proxy.port);
  t.equal(r.status, 502);
  t.match(
    r.reason,
    /closes the connection after each NTLM challenge; this scheme needs a kept-alive connection/,
  );
  t.ok(up.connections() <= 5, `bounded reconnects (${up.connections()})`);
});

t.test('Negotiate > NTLM > Basic: without kerberos, NTLM; Basic never sent', async (t) => {
  const { up } = await setup(t);
  up.offers = ['Negotiate', 'NTLM', 'Basic realm="corp"'];
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  t.notOk(
    up.seen.some((s) => s.scheme === 'Basic'),
    'the password never went out as Basic',
  );
  t.ok(up.seen.some((s) => s.scheme === 'NTLM'));
});

t.test('Basic only when offered, and then remembered', async (t) => {
  const { up } = await setup(t);
  up.offers = ['Basic realm="corp"'];
  const proxy = await startCorproxy(t, { upstream: [urlOf(up, 'alice')] });
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  t.equal((await tunnelThrough(proxy.port)).status, 200);
  t.same(
    up.seen.map((s) => s.scheme),
    ['', 'Basic', 'Basic'],
    'probe, Basic after the 407, then Basic at once',
  );
  t.equal(lastScheme(`127.0.0.1:${up.port}`), 'basic');
});

t.test('auth.schemes limits what corproxy answers with', async (t) => {
  const { up } = await setup(t);
  const proxy = await startCorproxy(
    t,
    {},
    {
      file: { upstream: [{ url: urlOf(up), auth: { schemes: ['basic'] } }] },
    },
  );
  const r = await tunnelThrough(proxy.port);
  t.equal(r.status, 502);
  t.match(
    r.reason,
    /requires authentication \(407; offers NTLM\); none of them is in auth\.schemes \(basic\)/,
  );
  t.same(
    up.seen.map((s) => s.scheme),
    ['Basic'],
    'basic-only config sends Basic at once',
  );
});

t.test('no credentials: the 407 error says what is missing', async (t) => {
  const { up } = await setup(t);
  up.offers = ['Negotiate', 'NTLM'];
  const proxy = await startCorproxy(t, { upstream: [up.url] });
  const r = await tunnelThrough(proxy.port);
  t.equal(r.status, 502);
  t.match(r.reason, /requires authentication \(407; offers Negotiate, NTLM\)/);
  t.match(r.reason, /npm install kerberos/);
  t.notMatch(r.reason, /NTLM needs|Basic needs/, 'no credential hint without credentials');
});

t.test('credentials go only to the upstream they are configured for', async (t) => {
  const { up: b } = await setup(t);
  // The first upstream (with alice's credentials) is down: corproxy fails over to b,
  // which has none configured and must not get alice's.
  const dead = `http://CORP%5Calice:${encodeURIComponent(ALICE.password)}@127.0.0.1:9`;
  const proxy = await startCorproxy(t, { upstream: [dead, b.url], fallback: 'none' });
  const r = await tunnelThrough(proxy.port);
  t.equal(r.status, 502);
  t.match(r.reason, new RegExp(`upstream 127\\.0\\.0\\.1:${b.port} requires authentication`));
  t.ok(b.seen.length > 0, 'b was tried');
  t.ok(
    b.seen.every((s) => s.authorization === undefined),
    'b never received a credential',
  );
});

t.test('credentials file: used when private, refused when others can read it', async (t) => {
  const { up } = await setup(t);
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-creds-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'credentials.yaml');
  await writeFile(
    file,
    `"127.0.0.1:${up.port}":\n  user: CORP\\alice\n  password: "${ALICE.password}"\n`,
    { mode: 0o600 },
  );
  const proxy = await startCorproxy(
    t,
    {},
    {
      file: { upstream: [{ url: up.url, auth: { credentialsFile: file } }] },
    },
  );
  t.equal((await tunnelThrough(proxy.port)).status, 200, 'mode 0600');
  await chmod(file, 0o644);
  // The file changed mode: re-checked on the next use, no restart.
  const r = await tunnelThrough(proxy.port);
  t.equal(r.code, 'CPX_ERR_CONFIG_INVALID');
  t.match(r.reason, /is accessible to other users \(mode 0644\); run chmod 600/);
  t.notMatch(r.reason, ALICE.password);
});

/** A plain-HTTP request through corproxy; resolves status, reason and body. */
function request(
  port: number,
  url: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; reason: string; body: string; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: url, agent: false });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: res.statusMessage ?? '',
          body: text,
          code: res.headers['x-corproxy-error'] as string | undefined,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test('plain HTTP through the NTLM upstream: HEAD carries Type1, the request Type3', async (t) => {
  const origin = await startHttpOrigin(t);
  const up = await startFakeNtlmUpstream(t, ALICE);
  up.resolve.set('web.example.test', origin.port);
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  const first = await request(proxy.port, 'http://web.example.test/one');
  t.equal(first.status, 200, first.reason);
  t.match(JSON.parse(first.body), { method: 'GET', url: '/one' });
  t.same(
    up.seen.map((s) => [s.conn, s.method, s.scheme]),
    [
      [1, 'GET', ''],
      [2, 'HEAD', 'NTLM'],
      [2, 'GET', 'NTLM'],
    ],
    'bare GET (407), then Type1 on a HEAD and Type3 on the GET, on one connection',
  );
  t.same(up.verdicts, ['ok']);
  const second = await request(proxy.port, 'http://web.example.test/two', 'POST', 'payload');
  t.equal(second.status, 200, 'a request with a body goes through once NTLM is known');
  t.match(JSON.parse(second.body), { method: 'POST', url: '/two', body: 'payload' });
  t.same(
    origin.requests.map((r) => `${r.method} ${r.url}`),
    ['GET /one', 'POST /two'],
    'the HEAD probes never reached the origin',
  );
});

t.test('plain HTTP: a body cannot be replayed after a first 407', async (t) => {
  const origin = await startHttpOrigin(t);
  const up = await startFakeNtlmUpstream(t, ALICE);
  up.resolve.set('web.example.test', origin.port);
  const proxy = await startCorproxy(t, { upstream: [urlOf(up)] });
  const post = await request(proxy.port, 'http://web.example.test/p', 'POST', 'data');
  t.equal(post.status, 502);
  t.equal(post.code, 'CPX_ERR_UPSTREAM_AUTH');
  t.match(post.reason, /the request had a body, which cannot be sent twice; send it again/);
  const again = await request(proxy.port, 'http://web.example.test/p', 'POST', 'data');
  t.equal(again.status, 200, 'the retry authenticates at once');
  t.same(
    origin.requests.map((r) => r.body),
    ['data'],
  );
});

t.test('plain HTTP: wrong password and Basic upstreams', async (t) => {
  const origin = await startHttpOrigin(t);
  const up = await startFakeNtlmUpstream(t, ALICE);
  up.resolve.set('web.example.test', origin.port);
  const wrong = await startCorproxy(t, { upstream: [urlOf(up, 'CORP%5Calice', 'nope')] });
  const r = await request(wrong.port, 'http://web.example.test/');
  t.equal(r.status, 502);
  t.match(
    r.reason,
    /rejected the credentials of user "CORP\\alice" \(407; offers NTLM\): NTLM authentication failed/,
  );
  t.notMatch(r.reason, /nope/);

  const basic = await startFakeNtlmUpstream(t, { ...ALICE, domain: '' });
  basic.offers = ['Basic realm="corp"'];
  basic.resolve.set('web.example.test', origin.port);
  const viaBasic = await startCorproxy(t, { upstream: [urlOf(basic, 'alice')] });
  t.equal((await request(viaBasic.port, 'http://web.example.test/b')).status, 200);
  t.equal((await request(viaBasic.port, 'http://web.example.test/b')).status, 200);
  t.same(
    basic.seen.map((s) => s.scheme),
    ['', 'Basic', 'Basic'],
    'Basic after the 407, then at once',
  );
});
