/**
 * A kept-alive client between two fast-path requests (src/proxy/fast-forward.ts,
 * NextRequest): its listeners stay attached, a next request that arrives whole goes
 * straight to a new exchange, and everything else goes back to the front with the bytes
 * read so far. These cases check that nothing is lost on either branch and that a wait
 * ends: by the client closing, or by the keep-alive timeout.
 */
import type net from 'node:net';
import t from 'tap';
import { startCorproxy } from '../support/corproxy.js';
import { ResponseReader } from '../support/http-reader.js';
import { connect, readUntil } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';
import { startScriptedProxy, type ScriptedAnswer } from '../support/scripted-proxy.js';

function ok(body: string): ScriptedAnswer {
  return { reply: `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}` };
}

function get(url: string): string {
  return `GET ${url} HTTP/1.1\r\nHost: ignored.test\r\n\r\n`;
}

async function client(port: number): Promise<{ socket: net.Socket; reader: ResponseReader }> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  return { socket, reader: new ResponseReader(socket) };
}

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a next head split over three writes is still answered', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  const base = `http://127.0.0.1:${origin.port}`;
  socket.write(get(`${base}/first`));
  t.equal((await reader.next()).body.toString(), '/first');
  const next = get(`${base}/second`);
  for (const part of [next.slice(0, 5), next.slice(5, 30), next.slice(30)]) {
    socket.write(part);
    await tick(20);
  }
  const res = await reader.next();
  t.equal(res.body.toString(), '/second');
  t.equal(res.get('keep-alive'), undefined, 'still the fast path');
  t.equal(origin.connections(), 1, 'one origin connection for both');
  socket.destroy();
});

t.test('a CONNECT after a fast-path request opens a tunnel on the same connection', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const echo = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/before`));
  t.equal((await reader.next()).body.toString(), '/before');
  const target = `127.0.0.1:${echo.port}`;
  socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\nearly`);
  // No body follows a 2xx to CONNECT (RFC 9110 §9.3.6): read it as a HEAD reply.
  t.equal((await reader.next('HEAD')).status, 200);
  for (let i = 0; i < 100 && !echo.received[0]?.includes('early'); i++) await tick(10);
  t.equal(echo.received[0]?.toString(), 'early', 'bytes sent with the CONNECT head');
  const echoed = readUntil(socket, (text) => text.includes('later'));
  socket.write('later');
  t.equal(await echoed, 'later', 'the tunnel carries bytes both ways');
  socket.destroy();
});

t.test('a request for the slow path after a fast one is answered by the slow path', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  const base = `http://127.0.0.1:${origin.port}`;
  socket.write(get(`${base}/fast`));
  t.equal((await reader.next()).get('keep-alive'), undefined, 'fast path');
  // HTTP/1.0 is left to the slow path (fast-forward.ts fastRoute).
  socket.write(`GET ${base}/slow HTTP/1.0\r\nHost: ignored.test\r\nConnection: keep-alive\r\n\r\n`);
  const res = await reader.next();
  t.equal(res.body.toString(), '/slow');
  t.equal(origin.requests.at(-1)?.headers.get('connection'), 'keep-alive', 'slow path');
  socket.destroy();
});

t.test('a client closing between requests frees its connection slot', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/x`));
  await reader.next();
  t.equal(proxy.server.state.metrics.openConnections, 1);
  socket.end();
  t.ok(await reader.waitClosed(), 'corproxy closed its side');
  for (let i = 0; i < 100 && proxy.server.state.metrics.openConnections > 0; i++) await tick(10);
  t.equal(proxy.server.state.metrics.openConnections, 0);
});

t.test('a kept-alive client that sends nothing is closed without a reply', async (t) => {
  const origin = await startScriptedProxy(t, (req) => ok(req.target));
  const proxy = await startCorproxy(t);
  const { socket, reader } = await client(proxy.port);
  socket.write(get(`http://127.0.0.1:${origin.port}/x`));
  await reader.next();
  let after = 0;
  socket.on('data', (chunk: Buffer) => (after += chunk.length));
  t.ok(await reader.waitClosed(8000), 'closed after the keep-alive timeout');
  t.equal(after, 0, 'no bytes: nothing was asked');
});
