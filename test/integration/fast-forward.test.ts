/**
 * The plain-HTTP fast path (src/proxy/fast-forward.ts) on real sockets: what it carries,
 * what it leaves to the slow path (forward.ts), and every way an exchange can fail.
 *
 *   raw client --GET http://origin/--> corproxy (front → fast path) --GET /--> scripted origin
 *
 * Which path carried a request shows in what it sent on: the slow path's http.Agent adds
 * `Connection: keep-alive` to each request and Node's server `Keep-Alive: timeout=5` to
 * each kept-alive response; the fast path adds neither.
 */
import net from 'node:net';
import t from 'tap';
import { sharedSchemes } from '../../src/auth/scheme-cache.js';
import { startCorproxy } from '../support/corproxy.js';
import { ResponseReader } from '../support/http-reader.js';
import { closedPort, connect, listen } from '../support/net.js';
import { startHttpOrigin } from '../support/origins.js';
import {
  reply407,
  startScriptedProxy,
  type ScriptedAnswer,
  type ScriptedRequest,
} from '../support/scripted-proxy.js';

function ok(body: string, extra = ''): ScriptedAnswer {
  return { reply: `HTTP/1.1 200 OK\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}` };
}

async function client(port: number): Promise<{ socket: net.Socket; reader: ResponseReader }> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  return { socket, reader: new ResponseReader(socket) };
}

function get(url: string, extra = '', method = 'GET'): string {
  return `${method} ${url} HTTP/1.1\r\nHost: ignored.test\r\n${extra}\r\n`;
}

t.test('50 keep-alive GETs on one client connection use one origin connection', async (t) => {
  const origin = await startScriptedProxy(t, (req) =>
    ok(req.target, 'X-Mixed-Case: yes\r\nConnection: keep-alive, X-Drop\r\nX-Drop: 1\r\n'),
  );
  const proxy = await startCorproxy(t, { hosts: ['web.example.test=127.0.0.1'] });
  const { socket, reader } = await client(proxy.port);
  const base = `http://web.example.test:${origin.port}`;
  for (let i = 0; i < 50; i++) {
    socket.write(
      get(`${base}/n/${i}?q=1`, 'Connection: keep-alive, X-Hop\r\nX-Hop: a\r\nVia: 1.0 other\r\n'),
    );
    const res = await reader.next();
    t.equal(res.body.toString(), `/n/${i}?q=1`, `response ${i}`);
    if (i > 0) continue;
    t.equal(res.status, 200);
    t.ok(
      res.headers.some(([n]) => n === 'X-Mixed-Case'),
      'header names keep their spelling',
    );
    t.equal(res.get('x-drop'), undefined, 'field named in Connection removed');
    t.equal(res.get('connection'), undefined);
    t.equal(res.get('keep-alive'), undefined, 'no Keep-Alive: not the slow path');
    t.match(res.get('via'), /^1\.1 corproxy-[0-9a-f]{8}$/);
  }
  t.equal(origin.connections(), 1, 'one origin connection for all 50');
  const seen = origin.requests[0]!;
  t.equal(seen.target, '/n/0?q=1', 'origin-form path');
  t.equal(seen.headers.get('host'), `web.example.test:${origin.port}`);
  t.equal(seen.headers.get('x-hop'), undefined, 'client hop-by-hop field removed');
  t.equal(seen.headers.get('connection'), undefined, 'no Connection: not the slow path');
  t.match(seen.headers.get('via'), /^1\.0 other, 1\.1 corproxy-/);
  const records = await proxy.waitForRecords(50);
  t.equal(records.length, 50);
  t.match(records[0], {
    method: 'GET',
    target: `${base}/n/0?q=1`,
    route: 'direct',
    rule: 'default: no upstream configured',
    status: 200,
    outcome: 'ok',
    bytesUp: 0,
    bytesDown: '/n/0?q=1'.length,
  });
  t.match(records[0]!.client, /^127\.0\.0\.1:\d+$/);
  t.notOk('upstream' in records[0]!);
  socket.destroy();
});

t.test('chunked bodies with extensions and trailers are relayed verbatim', async (t) => {
  const chunked = '5;name="v"\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\nX-More: y\r\n\r\n';
  const origin = await startScriptedProxy(t, () => ({
    reply: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n${chunked}`,
  }));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  for (let i = 0; i < 2; i++) {
    socket.write(get(`http://127.0.0.1:${origin.port}/c`));
    const res = await reader.next();
    t.equal(res.get('transfer-encoding'), 'chunked');
    t.equal(res.get('trailer'), 'X-Sum');
    t.equal(res.body.toString('latin1'), chunked, 'framing, extensions and trailers as sent');
  }
  t.equal(origin.connections(), 1, 'the end of the chunked body was found: reused');
  const records = await proxy.waitForRecords(2);
  t.equal(records[0]!.bytesDown, chunked.length);
  socket.destroy();
});

t.test('a close-delimited body ends with the origin and closes the client', async (t) => {
  const origin = await startScriptedProxy(t, () => ({
    reply: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end',
    close: true,
  }));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/`));
  const res = await reader.next();
  t.equal(res.body.toString(), 'until the end');
  t.equal(res.get('connection'), 'close');
  t.ok(await reader.waitClosed(), 'client connection closed after the body');
  const [record] = await proxy.waitForRecords(1);
  t.match(record, { status: 200, outcome: 'ok', bytesDown: 13 });
});

t.test('HEAD, 204 and 304 have no body; the connections stay usable', async (t) => {
  const origin = await startScriptedProxy(t, (req) => {
    if (req.method === 'HEAD') return { reply: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' };
    if (req.target === '/204') return { reply: 'HTTP/1.1 204 No Content\r\n\r\n' };
    return { reply: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\nETag: "x"\r\n\r\n' };
  });
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  const base = `http://127.0.0.1:${origin.port}`;
  socket.write(get(`${base}/h`, '', 'HEAD'));
  const head = await reader.next('HEAD');
  t.equal(head.get('content-length'), '100');
  t.equal(head.body.length, 0);
  socket.write(get(`${base}/204`));
  t.equal((await reader.next()).status, 204);
  socket.write(get(`${base}/304`));
  const notModified = await reader.next();
  t.equal(notModified.status, 304);
  t.equal(notModified.get('etag'), '"x"');
  socket.write(get(`${base}/204`));
  t.equal((await reader.next()).status, 204, 'nothing stray was left on the connection');
  t.equal(origin.connections(), 1);
  t.notOk(
    origin.requests.some((r) => r.headers.has('connection')),
    'all four on the fast path',
  );
  socket.destroy();
});

t.test('interim 100 and 103 replies are relayed before the final one', async (t) => {
  const origin = await startScriptedProxy(t, () => ({
    reply:
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody',
  }));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/`));
  t.equal((await reader.next()).status, 100);
  const hints = await reader.next();
  t.equal(hints.status, 103);
  t.equal(hints.get('link'), '</a.css>; rel=preload');
  const final = await reader.next();
  t.equal(final.status, 200);
  t.equal(final.body.toString(), 'body');
  const [record] = await proxy.waitForRecords(1);
  t.equal(record!.status, 200);
  socket.destroy();
});

t.test('pipelined requests are answered in order', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  const base = `http://127.0.0.1:${origin.port}`;
  // Three in one write, then one more while the first ones are under way.
  socket.write(get(`${base}/1`) + get(`${base}/2`) + get(`${base}/3`));
  socket.write(get(`${base}/4`));
  for (const n of [1, 2, 3, 4]) t.equal((await reader.next()).body.toString(), `/${n}`);
  t.equal(origin.connections(), 1);
  socket.destroy();
});

t.test('Connection: close from the client closes after the response', async (t) => {
  const origin = await startScriptedProxy(t, () => ok('bye'));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/`, 'Connection: close\r\n'));
  const res = await reader.next();
  t.equal(res.body.toString(), 'bye');
  t.equal(res.get('connection'), 'close');
  t.ok(await reader.waitClosed(), 'closed by corproxy');
  t.equal(origin.requests[0]!.headers.get('connection'), undefined, 'fast path');
});

t.test('a large body is relayed intact with backpressure', async (t) => {
  const size = 8 * 1024 * 1024;
  const body = Buffer.alloc(size, 'x');
  body.write('start', 0);
  body.write('end', size - 3);
  const origin = await startScriptedProxy(t, () => ({
    reply: `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n${body.toString('latin1')}`,
  }));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.pause();
  socket.write(get(`http://127.0.0.1:${origin.port}/big`));
  // Let corproxy fill the socket buffers, then read.
  await new Promise((resolve) => setTimeout(resolve, 200));
  socket.resume();
  const res = await reader.next('GET', 10000);
  t.ok(res.body.equals(body), 'every byte in order');
  t.equal(origin.requests[0]!.headers.get('connection'), undefined, 'fast path');
  const [record] = await proxy.waitForRecords(1);
  t.equal(record!.bytesDown, size);
  socket.destroy();
});

t.test('requests with a body and HTTP/1.0 requests take the slow path', async (t) => {
  const origin = await startHttpOrigin(t);
  const proxy = await startCorproxy(t);
  const url = `http://127.0.0.1:${origin.port}/slow`;
  const { socket, reader } = await client(proxy.port);
  socket.write(`POST ${url} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody`);
  const post = await reader.next();
  t.equal(JSON.parse(post.body.toString()).body, 'body');
  t.equal(post.get('keep-alive'), 'timeout=5', 'answered by the slow path');
  socket.destroy();
  const old = await client(proxy.port);
  old.socket.write(`GET ${url} HTTP/1.0\r\nHost: x\r\n\r\n`);
  const res = await old.reader.next();
  t.equal(res.status, 200);
  t.equal(JSON.parse(res.body.toString()).headers.connection, 'keep-alive', 'slow path');
  const records = await proxy.waitForRecords(2);
  t.equal(records[0]!.bytesUp, 4);
  old.socket.destroy();
});

t.test('through one plain upstream: absolute URI, pooled connection, record', async (t) => {
  const up = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t, { upstream: [`http://127.0.0.1:${up.port}`] });
  const { socket, reader } = await client(proxy.port);
  for (const path of ['/a', '/b']) {
    socket.write(get(`http://web.example.test${path}`, 'Proxy-Authorization: Basic eA==\r\n'));
    const res = await reader.next();
    t.equal(res.body.toString(), `http://web.example.test:80${path}`);
    t.equal(res.get('keep-alive'), undefined, 'fast path');
  }
  t.equal(up.connections(), 1, 'the upstream connection was reused');
  const seen = up.requests[0]!;
  t.equal(seen.headers.get('host'), 'web.example.test');
  t.equal(seen.headers.get('proxy-authorization'), undefined, 'client credentials dropped');
  t.equal(seen.headers.get('connection'), undefined);
  const records = await proxy.waitForRecords(2);
  t.match(records[0], {
    route: 'upstream',
    rule: 'default: upstream list',
    upstream: `http://127.0.0.1:${up.port}`,
    status: 200,
    outcome: 'ok',
  });
  t.equal(sharedSchemes.get(`127.0.0.1:${up.port}`), 'none', 'remembered as the slow path does');
  socket.destroy();
});

t.test('an upstream 407 hands the request and what was pipelined to the slow path', async (t) => {
  // The first answer is for the fast path's bare request; the slow path then repeats it.
  const up = await startScriptedProxy(t, (req: ScriptedRequest) =>
    req.index === 1 && req.conn === 1
      ? { reply: reply407(['Basic realm="corp"']) }
      : ok(`through ${req.target}`),
  );
  const proxy = await startCorproxy(t, { upstream: [`http://127.0.0.1:${up.port}`] });
  const { socket, reader } = await client(proxy.port);
  // Pipelined: the second request must survive the hand-off too.
  socket.write(get('http://web.example.test/one') + get('http://web.example.test/two'));
  const one = await reader.next();
  t.equal(one.status, 200);
  t.equal(one.body.toString(), 'through http://web.example.test:80/one');
  t.equal(one.get('keep-alive'), 'timeout=5', 'answered by the slow path');
  t.equal((await reader.next()).body.toString(), 'through http://web.example.test:80/two');
  t.same(
    up.requests.slice(0, 2).map((r) => r.target),
    ['http://web.example.test:80/one', 'http://web.example.test:80/one'],
    'sent again by the slow path',
  );
  const records = await proxy.waitForRecords(1);
  t.match(records[0], { status: 200, outcome: 'ok', route: 'upstream' });
  socket.destroy();
});

t.test('an upstream 407 without credentials gets the slow path 502', async (t) => {
  const up = await startScriptedProxy(t, () => ({ reply: reply407(['NTLM', 'Basic realm="x"']) }));
  const proxy = await startCorproxy(t, { upstream: [`http://127.0.0.1:${up.port}`] });
  const { socket, reader } = await client(proxy.port);
  socket.write(get('http://web.example.test/'));
  const res = await reader.next();
  t.equal(res.status, 502);
  t.equal(res.get('x-corproxy-error'), 'CPX_ERR_UPSTREAM_AUTH');
  t.match(res.reason, /requires authentication \(407; offers NTLM, Basic\)/);
  t.equal(up.requests.length, 2, 'one bare request from each path');
  socket.destroy();
});

t.test('an upstream with credentials is left to the slow path', async (t) => {
  const auth = `Basic ${Buffer.from('bob:pw').toString('base64')}`;
  const up = await startScriptedProxy(t, (req) =>
    req.headers.get('proxy-authorization') === auth ? ok('in') : { reply: reply407(['Basic']) },
  );
  const proxy = await startCorproxy(t, { upstream: [`http://bob:pw@127.0.0.1:${up.port}`] });
  const { socket, reader } = await client(proxy.port);
  socket.write(get('http://web.example.test/'));
  t.equal((await reader.next()).body.toString(), 'in');
  t.same(
    up.requests.map((r) => r.headers.get('proxy-authorization')),
    [undefined, auth],
    'no extra bare request from the fast path',
  );
  socket.destroy();
});

t.test('upstream failures: unreachable, garbage; the bad-proxy list hears of both', async (t) => {
  const port = await closedPort();
  const proxy = await startCorproxy(t, { upstream: [`http://127.0.0.1:${port}`] });
  const { socket, reader } = await client(proxy.port);
  socket.write(get('http://web.example.test/'));
  const res = await reader.next();
  t.equal(res.status, 502);
  t.equal(res.get('x-corproxy-error'), 'CPX_ERR_UPSTREAM_UNREACHABLE');
  t.equal(res.get('connection'), 'close');
  t.ok(await reader.waitClosed());
  t.ok(proxy.server.state.badProxies.isBad(`127.0.0.1:${port}`), 'marked bad');
  const [record] = await proxy.waitForRecords(1);
  t.match(record, { outcome: 'error', status: 502, route: 'upstream' });
  t.equal(record!.error?.code, 'CPX_ERR_UPSTREAM_UNREACHABLE');

  const up = await startScriptedProxy(t, () => ({ reply: 'SSH-2.0-OpenSSH\r\n\r\n' }));
  const p2 = await startCorproxy(t, { upstream: [`http://127.0.0.1:${up.port}`] });
  const c2 = await client(p2.port);
  c2.socket.write(get('http://web.example.test/'));
  const garbage = await c2.reader.next();
  t.equal(garbage.get('x-corproxy-error'), 'CPX_ERR_UPSTREAM_PROTOCOL');
  t.ok(p2.server.state.badProxies.isBad(`127.0.0.1:${up.port}`), 'marked bad');
});

t.test('origin refused: the slow path status and code', async (t) => {
  const port = await closedPort();
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${port}/`));
  const res = await reader.next();
  t.equal(res.status, 502);
  t.equal(res.get('x-corproxy-error'), 'CPX_ERR_TARGET_REFUSED');
  t.equal(res.reason, `corproxy: 127.0.0.1:${port}: connection refused`);
  t.equal(res.get('date'), undefined, 'not written by Node: the fast path');
  t.ok(await reader.waitClosed());
  const [record] = await proxy.waitForRecords(1);
  t.match(record, { route: 'direct', status: 502, outcome: 'error' });
  t.equal(record!.error?.code, 'CPX_ERR_TARGET_REFUSED');
});

t.test('a silent origin gets the idle-timeout reply', async (t) => {
  const origin = await startScriptedProxy(t, () => ({ reply: '' }));
  const proxy = await startCorproxy(t, {}, { file: { limits: { idleTimeout: '300ms' } } });
  const { socket, reader } = await client(proxy.port);
  const started = Date.now();
  socket.write(get(`http://127.0.0.1:${origin.port}/`));
  const res = await reader.next();
  t.equal(res.status, 504);
  t.equal(res.get('x-corproxy-error'), 'CPX_ERR_TARGET_TIMEOUT');
  t.match(res.reason, /no response within 300 ms/);
  t.equal(res.get('date'), undefined, 'not written by Node: the fast path');
  t.ok(Date.now() - started >= 250, 'not before the timeout');
});

t.test('an origin that stalls mid-body is cut off after the idle timeout', async (t) => {
  const origin = await startScriptedProxy(t, () => ({
    reply: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf',
  }));
  const proxy = await startCorproxy(t, {}, { file: { limits: { idleTimeout: '300ms' } } });
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/`));
  t.ok(await reader.waitClosed(), 'client connection destroyed');
  const [record] = await proxy.waitForRecords(1);
  t.match(record, { status: 200, outcome: 'error', bytesDown: 4 });
  t.equal(record!.error?.code, 'CPX_ERR_TARGET_TIMEOUT');
});

t.test('a pooled connection the origin closed under a request: GET retried once', async (t) => {
  // Each connection's second request is met with a close, as a server whose keep-alive
  // timer fired just as the request arrived.
  const origin = await startScriptedProxy(t, (req) =>
    req.index === 2 ? { reply: '', close: true } : ok(`${req.method} on ${req.conn}`),
  );
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  const url = `http://127.0.0.1:${origin.port}/`;
  socket.write(get(url));
  t.equal((await reader.next()).body.toString(), 'GET on 1');
  socket.write(get(url));
  t.equal((await reader.next()).body.toString(), 'GET on 2', 'retried on a new connection');
  // DELETE is not retried: the slow path's reply for a connection reset.
  socket.write(get(url, '', 'DELETE'));
  const res = await reader.next();
  t.equal(res.status, 502);
  t.equal(res.get('x-corproxy-error'), 'CPX_ERR_TARGET_REFUSED');
  t.match(res.reason, /connection reset \(ECONNRESET\)/);
  t.equal(origin.connections(), 2);
});

t.test('malformed origin replies get 502 CPX_ERR_TARGET_PROTOCOL', async (t) => {
  const replies: Record<string, string> = {
    '/garbage': 'garbage\r\n\r\n',
    '/status': 'HTTP/1.1 2000 OK\r\n\r\n',
    '/length': 'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx',
    '/101': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
  };
  const origin = await startScriptedProxy(t, (req) => ({ reply: replies[req.target] ?? '' }));
  const proxy = await startCorproxy(t);
  for (const path of Object.keys(replies)) {
    const { socket, reader } = await client(proxy.port);
    socket.write(get(`http://127.0.0.1:${origin.port}${path}`));
    const res = await reader.next();
    t.equal(res.status, 502, path);
    t.equal(res.get('x-corproxy-error'), 'CPX_ERR_TARGET_PROTOCOL', path);
    t.match(res.reason, new RegExp(`^corproxy: 127\\.0\\.0\\.1:${origin.port} `), path);
    socket.destroy();
  }
});

t.test('a body broken after the head: the client connection is destroyed', async (t) => {
  const replies: Record<string, ScriptedAnswer> = {
    '/short': { reply: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', close: true },
    '/chunks': { reply: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' },
  };
  const origin = await startScriptedProxy(t, (req) => replies[req.target] ?? { reply: '' });
  const proxy = await startCorproxy(t);
  for (const [i, path] of ['/short', '/chunks'].entries()) {
    const { socket, reader } = await client(proxy.port);
    socket.write(get(`http://127.0.0.1:${origin.port}${path}`));
    t.ok(await reader.waitClosed(), `${path}: closed`);
    const records = await proxy.waitForRecords(i + 1);
    t.match(records[i], { status: 200, outcome: 'error' }, path);
    t.equal(records[i]!.error?.code, 'CPX_ERR_TARGET_PROTOCOL', path);
  }
});

t.test('a client closing mid-body: origin connection dropped, record client-closed', async (t) => {
  const origin = await startScriptedProxy(t, (req) =>
    req.target === '/slow'
      ? { reply: 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npart' }
      : ok('fine'),
  );
  const proxy = await startCorproxy(t);
  const first = await client(proxy.port);
  first.socket.write(get(`http://127.0.0.1:${origin.port}/slow`));
  const head = await new Promise<string>((resolve) => {
    first.socket.once('data', (d: Buffer) => resolve(d.toString('latin1')));
  });
  t.match(head, /^HTTP\/1\.1 200 OK/);
  first.socket.destroy();
  const [record] = await proxy.waitForRecords(1);
  t.match(record, { status: 200, outcome: 'client-closed' });
  const second = await client(proxy.port);
  second.socket.write(get(`http://127.0.0.1:${origin.port}/next`));
  t.equal((await second.reader.next()).body.toString(), 'fine');
  t.equal(origin.connections(), 2, 'the abandoned connection was not reused');
  t.equal(origin.requests[0]!.headers.get('connection'), undefined, 'fast path');
  second.socket.destroy();
});

t.test('a loop through corproxy itself is still answered 508', async (t) => {
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${proxy.port}/status`));
  const res = await reader.next();
  t.equal(res.status, 508);
  const other = await client(proxy.port);
  const via = `Via: 1.1 ${proxy.server.state.instanceToken}\r\n`;
  other.socket.write(get(`http://127.0.0.1:${await closedPort()}/`, via));
  t.equal((await other.reader.next()).get('x-corproxy-error'), 'CPX_ERR_LOOP');
  socket.destroy();
  other.socket.destroy();
});

t.test('closing corproxy closes idle pooled connections', async (t) => {
  let closed = 0;
  let seen = '';
  const server = net.createServer((s) => {
    s.on('error', () => undefined);
    s.on('close', () => (closed += 1));
    s.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
  });
  const port = await listen(t, server);
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${port}/`));
  t.equal((await reader.next()).status, 200);
  t.notMatch(seen, /connection:/i, 'fast path');
  socket.destroy();
  await proxy.server.close(100);
  const deadline = Date.now() + 2000;
  while (closed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(closed, 1, 'the pooled origin connection was closed');
});
