/**
 * CONNECT tunnels through corproxy, direct and through a fake upstream.
 *
 *   client --CONNECT--> corproxy --(direct)--------------------> echo origin
 *   client --CONNECT--> corproxy --CONNECT--> fake upstream ---> echo origin
 */
import t from 'tap';
import net from 'node:net';
import { startCorproxy } from '../support/corproxy.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { headComplete, listen, parseHead, rawExchange, readUntil } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';

t.test('direct tunnel relays both ways and logs one record', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t, { hosts: [`echo.example.test=127.0.0.1`] });
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT echo.example.test:${origin.port} HTTP/1.1\r\nHost: x\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200);
  socket.write('ping');
  t.equal(await readUntil(socket, (s) => s.includes('ping')), 'ping');
  socket.end();
  const [rec] = await proxy.waitForRecords(1);
  t.match(rec, {
    method: 'CONNECT',
    target: `echo.example.test:${origin.port}`,
    route: 'direct',
    status: 200,
    outcome: 'ok',
    bytesUp: 4,
    bytesDown: 4,
  });
  t.equal(rec!.rule, 'default: no upstream configured');
});

t.test('bytes sent with the CONNECT head reach the origin', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\nearly-bytes`,
    (s) => s.includes('early-bytes'),
  );
  t.match(text, /^HTTP\/1\.1 200 /);
  t.match(text, /early-bytes$/);
  socket.destroy();
});

t.test('half-close: client FIN ends only the upstream direction', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const { socket } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  socket.end('last words');
  // The origin echoes after our FIN and then ends: we must still read the echo.
  const rest = await readUntil(socket, () => false, 3000);
  t.equal(rest, 'last words');
  t.equal(origin.received[0]?.toString(), 'last words');
});

/**
 * An origin that answers only after the client's FIN: `size` bytes of a pattern, then
 * its own FIN. The tunnel then closes its client side while bytes may still be queued in
 * the daemon or in the kernel; all of them must arrive, followed by a FIN, not a reset.
 */
for (const { size, readAfterMs } of [
  { size: 64 * 1024, readAfterMs: 0 },
  { size: 64 * 1024, readAfterMs: 300 },
  { size: 8 * 1024 * 1024, readAfterMs: 0 },
  { size: 8 * 1024 * 1024, readAfterMs: 300 },
]) {
  t.test(
    `half-close: ${size} bytes sent after the client's FIN arrive whole (read after ${readAfterMs} ms)`,
    async (t) => {
      const body = Buffer.alloc(size);
      for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >> 10)) & 0xff;
      const server = net.createServer({ allowHalfOpen: true }, (s) => {
        s.on('error', () => undefined);
        s.resume();
        s.on('end', () => s.end(body));
      });
      const port = await listen(t, server);
      const proxy = await startCorproxy(t);
      const { socket } = await rawExchange(
        proxy.port,
        `CONNECT 127.0.0.1:${port} HTTP/1.1\r\n\r\n`,
      );
      socket.pause();
      socket.end();
      await new Promise((resolve) => setTimeout(resolve, readAfterMs));
      const chunks: Buffer[] = [];
      let error: Error | undefined;
      socket.on('error', (err) => (error = err));
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.resume();
      await new Promise((resolve) => socket.once('close', resolve));
      t.equal(error, undefined, 'no reset');
      const got = Buffer.concat(chunks);
      t.equal(got.length, size);
      t.ok(got.equals(body), 'the same bytes in order');
      const [rec] = await proxy.waitForRecords(1);
      t.match(rec, { outcome: 'ok', bytesUp: 0, bytesDown: size });
    },
  );
}

t.test('through an upstream with Basic credentials sent only there', async (t) => {
  const origin = await startEchoOrigin(t);
  const up = await startFakeUpstream(t);
  up.credentials = { user: 'alice', password: 'p@ss:w&rd%' };
  up.resolve.set('echo.example.test', origin.port);
  const url = `http://alice:${encodeURIComponent('p@ss:w&rd%')}@127.0.0.1:${up.port}`;
  const proxy = await startCorproxy(t, { upstream: [url] });
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT echo.example.test:443 HTTP/1.1\r\nProxy-Authorization: Basic Y2xpZW50OnNlY3JldA==\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200);
  socket.write('hello');
  t.equal(await readUntil(socket, (s) => s.length >= 5), 'hello');
  socket.end();
  t.equal(up.seen[0]?.proxyAuthorization, undefined, 'the first CONNECT asks without credentials');
  t.equal(
    up.seen.at(-1)?.proxyAuthorization,
    `Basic ${Buffer.from('alice:p@ss:w&rd%').toString('base64')}`,
    'after the challenge corproxy sends its own credentials, not the client header',
  );
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec!.route, 'upstream');
  t.equal(rec!.upstream, `http://alice:***@127.0.0.1:${up.port}`);
  t.notMatch(JSON.stringify(rec), /p@ss|w&rd/);
});

t.test('origin bytes that arrive with the upstream reply head are not lost', async (t) => {
  const origin = await startEchoOrigin(t, 'SSH-2.0-greeting\r\n');
  const up = await startFakeUpstream(t, 'early');
  const proxy = await startCorproxy(t, { upstream: [up.url] });
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
    (s) => s.includes('greeting'),
  );
  t.match(text, /\r\n\r\nSSH-2\.0-greeting\r\n$/);
  socket.destroy();
});

const failures: Array<
  [string, 'ok' | '407' | 'refuse' | 'garbage' | 'close', number, string, RegExp]
> = [
  [
    '407 lists the offered schemes',
    '407',
    502,
    'CPX_ERR_UPSTREAM_AUTH',
    /requires authentication \(407; offers Negotiate, NTLM, Basic\)/,
  ],
  [
    'refusal carries the upstream status',
    'refuse',
    502,
    'CPX_ERR_UPSTREAM_REFUSED',
    /refused CONNECT 127\.0\.0\.1:9 \(403 Forbidden by policy\)/,
  ],
  ['garbage reply', 'garbage', 502, 'CPX_ERR_UPSTREAM_PROTOCOL', /not HTTP/],
  [
    'closed without reply',
    'close',
    502,
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /closed the connection before answering CONNECT/,
  ],
];
for (const [name, mode, status, code, reason] of failures) {
  t.test(`upstream failure: ${name}`, async (t) => {
    const up = await startFakeUpstream(t, mode);
    up.schemes = ['Negotiate', 'NTLM', 'Basic realm="corp"'];
    const proxy = await startCorproxy(t, { upstream: [up.url], fallback: 'none' });
    const { socket, text } = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n');
    const head = parseHead(text);
    t.equal(head.status, status);
    t.match(head.reason, /^corproxy: upstream 127\.0\.0\.1:\d+ /);
    t.match(head.reason, reason);
    t.equal(head.headers['x-corproxy-error'], code);
    socket.destroy();
    const [rec] = await proxy.waitForRecords(1);
    t.equal(rec!.error?.code, code);
    t.equal(rec!.outcome, 'error');
    t.match(rec!.upstream, /^http:\/\/127\.0\.0\.1:\d+$/, 'the failed upstream is named');
  });
}

t.test('wrong credentials are named without the password', async (t) => {
  const up = await startFakeUpstream(t);
  up.credentials = { user: 'alice', password: 'right' };
  const proxy = await startCorproxy(t, {
    upstream: [`http://alice:wrong-secret@127.0.0.1:${up.port}`],
  });
  const { socket, text } = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n');
  const head = parseHead(text);
  t.match(head.reason, /rejected the credentials of user "alice" \(407; offers Basic\)/);
  t.notMatch(text, /wrong-secret/);
  socket.destroy();
});

t.test('a hanging upstream times out with 504', async (t) => {
  const up = await startFakeUpstream(t, 'hang');
  const proxy = await startCorproxy(
    t,
    { upstream: [up.url], fallback: 'none' },
    { file: { limits: { connectTimeout: '300ms' } } },
  );
  const started = Date.now();
  const { socket, text } = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n');
  const head = parseHead(text);
  t.equal(head.status, 504, `reply after ${Date.now() - started} ms`);
  t.equal(head.headers['x-corproxy-error'], 'CPX_ERR_UPSTREAM_TIMEOUT');
  socket.destroy();
});

t.test('failover to the next upstream, bad one tried last afterwards', async (t) => {
  const origin = await startEchoOrigin(t);
  const dead = await startFakeUpstream(t, 'close');
  const good = await startFakeUpstream(t);
  const proxy = await startCorproxy(t, { upstream: [dead.url, good.url] });
  for (let i = 0; i < 2; i++) {
    const { socket, text } = await rawExchange(
      proxy.port,
      `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
    );
    t.equal(parseHead(text).status, 200, `attempt ${i + 1}`);
    socket.destroy();
  }
  t.equal(dead.seen.length, 1, 'the failed upstream is skipped while on the bad-proxy list');
  t.equal(good.seen.length, 2);
});

t.test('fallback direct when every upstream is down; none gives the cause', async (t) => {
  const origin = await startEchoOrigin(t);
  const down = await startFakeUpstream(t, 'close');
  const withFallback = await startCorproxy(t, { upstream: [down.url], fallback: 'direct' });
  const a = await rawExchange(
    withFallback.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(a.text).status, 200);
  a.socket.destroy();
  const [rec] = await withFallback.waitForRecords(1);
  t.equal(rec!.route, 'direct');
  t.match(rec!.rule, /fallback: direct/);

  const noFallback = await startCorproxy(t, {
    upstream: [down.url, down.url.replace('127.0.0.1', '127.0.0.3')],
    fallback: 'none',
  });
  const b = await rawExchange(noFallback.port, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`);
  t.equal(parseHead(b.text).headers['x-corproxy-error'], 'CPX_ERR_NO_ROUTE');
  b.socket.destroy();
});

t.test('direct patterns bypass the upstream', async (t) => {
  const origin = await startEchoOrigin(t);
  const up = await startFakeUpstream(t, 'refuse');
  const proxy = await startCorproxy(t, {
    upstream: [up.url],
    direct: ['corp.example.test'],
    hosts: ['git.corp.example.test=127.0.0.1'],
  });
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT git.corp.example.test:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200);
  socket.destroy();
  t.equal(up.seen.length, 0);
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec!.rule, 'direct "corp.example.test"');
});

t.test('upstream dying mid-tunnel closes the client and logs the tunnel', async (t) => {
  const origin = await startEchoOrigin(t);
  const up = await startFakeUpstream(t);
  const proxy = await startCorproxy(t, { upstream: [up.url] });
  const { socket } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  socket.write('x');
  await readUntil(socket, (s) => s === 'x');
  up.killTunnels();
  await readUntil(socket, () => false, 3000);
  t.ok(socket.readableEnded || socket.destroyed, 'the client reads EOF');
  socket.end();
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec!.status, 200);
  t.equal(rec!.bytesUp, 1);
});

t.test('target errors: refused and DNS', async (t) => {
  const proxy = await startCorproxy(
    t,
    {},
    {
      dialDeps: {
        lookup: (_h, _o, cb) => cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }), ''),
      },
    },
  );
  const refused = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n');
  t.equal(parseHead(refused.text).headers['x-corproxy-error'], 'CPX_ERR_TARGET_REFUSED');
  t.match(parseHead(refused.text).reason, /^corproxy: 127\.0\.0\.1:1: connection refused$/);
  const dns = await rawExchange(proxy.port, 'CONNECT nowhere.example.test:443 HTTP/1.1\r\n\r\n');
  t.equal(parseHead(dns.text).headers['x-corproxy-error'], 'CPX_ERR_TARGET_DNS');
  t.match(parseHead(dns.text).reason, /nowhere\.example\.test:443: name does not resolve/);
  refused.socket.destroy();
  dns.socket.destroy();
});

t.test('CONNECT to corproxy itself is a loop (508)', async (t) => {
  const proxy = await startCorproxy(t);
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${proxy.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 508);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_LOOP');
  socket.destroy();
  t.ok(headComplete(text));
});
