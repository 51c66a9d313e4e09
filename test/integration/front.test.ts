/**
 * The front (src/proxy/front.ts): heads that arrive in pieces, the hand-over to Node's
 * http.Server with the bytes read so far, and connections that move between the fast
 * path, the http.Server and a tunnel.
 */
import type net from 'node:net';
import t from 'tap';
import { startCorproxy } from '../support/corproxy.js';
import { ResponseReader } from '../support/http-reader.js';
import { connect, parseHead, readUntil } from '../support/net.js';
import { startEchoOrigin, startHttpOrigin } from '../support/origins.js';

/** Writes `text` one byte per write, yielding to the event loop between bytes. */
async function dribble(socket: net.Socket, text: string): Promise<void> {
  for (const ch of text) {
    socket.write(ch);
    await new Promise((r) => setTimeout(r, 1));
  }
}

t.test('a CONNECT head sent one byte at a time opens the tunnel', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  await dribble(socket, `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const head = await readUntil(socket, (s) => s.includes('\r\n\r\n'));
  t.equal(parseHead(head).status, 200);
  socket.write('ping');
  const echoed = await readUntil(socket, (s) => s.includes('ping'));
  t.match(echoed, /ping/, 'bytes flow through the tunnel');
});

t.test('bytes sent with the CONNECT head reach the origin first', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  socket.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\nearly-bytes`);
  const text = await readUntil(socket, (s) => s.includes('early-bytes'));
  t.equal(parseHead(text).status, 200);
  t.match(text, /early-bytes/);
});

t.test('a local request sent one byte at a time is answered by the http.Server', async (t) => {
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  const reader = new ResponseReader(socket);
  await dribble(socket, 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  const res = await reader.next();
  t.equal(res.status, 200);
});

t.test('an absolute-URI request split mid-line is still forwarded', async (t) => {
  const origin = await startHttpOrigin(t);
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  const reader = new ResponseReader(socket);
  await dribble(
    socket,
    `GET http://127.0.0.1:${origin.port}/split HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`,
  );
  const res = await reader.next();
  t.equal(res.status, 200);
  t.equal(origin.requests.at(-1)?.url, '/split');
});

t.test('one connection: forwarded request, local request, then CONNECT', async (t) => {
  const origin = await startHttpOrigin(t);
  const echo = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  const reader = new ResponseReader(socket);
  socket.write(
    `GET http://127.0.0.1:${origin.port}/a HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`,
  );
  t.equal((await reader.next()).status, 200, 'forwarded');
  socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  t.equal((await reader.next()).status, 200, 'local endpoint after a forwarded request');
  socket.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\n`);
  t.equal((await reader.next('CONNECT')).status, 200, 'CONNECT after both');
  t.equal(origin.requests.length, 1);
});

t.test('an oversized CONNECT head gets 431 from the same limits as before', async (t) => {
  const proxy = await startCorproxy(t, {}, { file: { limits: { maxHeaderSize: 1024 } } });
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  socket.write(`CONNECT example.test:443 HTTP/1.1\r\nX-Pad: ${'a'.repeat(2000)}\r\n\r\n`);
  const text = await readUntil(socket, (s) => s.includes('\r\n\r\n'));
  t.equal(parseHead(text).status, 431);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_HEADER_TOO_LARGE');
});

t.test('a connection that sends nothing gets the header timeout reply', async (t) => {
  const proxy = await startCorproxy(t, {}, { file: { limits: { headerTimeout: '300ms' } } });
  const socket = await connect(proxy.port);
  t.teardown(() => socket.destroy());
  socket.on('error', () => undefined);
  const started = Date.now();
  const text = await readUntil(socket, (s) => s.includes('\r\n\r\n'), 5000);
  t.equal(parseHead(text).status, 408);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_HEADER_TIMEOUT');
  t.ok(Date.now() - started < 4000, 'within the configured timeout, not a default');
});

t.test('a client that closes before a whole head frees its connection slot', async (t) => {
  const echo = await startEchoOrigin(t);
  const proxy = await startCorproxy(t, {}, { file: { limits: { maxConnections: 1 } } });
  const first = await connect(proxy.port);
  first.write('CONNECT 127.0.0');
  await new Promise((r) => setTimeout(r, 50));
  first.end();
  await new Promise((r) => setTimeout(r, 100));
  const second = await connect(proxy.port);
  t.teardown(() => second.destroy());
  second.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\n`);
  const text = await readUntil(second, (s) => s.includes('\r\n\r\n'));
  t.equal(parseHead(text).status, 200, 'the half-sent connection no longer counts');
});
