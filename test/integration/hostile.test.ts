/**
 * Hostile and malformed input: every case gets a clear reply (or a clean close) and the
 * daemon keeps serving other clients.
 */
import t, { type Test } from 'tap';
import { startCorproxy, type TestProxy } from '../support/corproxy.js';
import { connect, parseHead, rawExchange, readUntil } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';

async function stillServes(t: Test, proxy: TestProxy, originPort: number): Promise<void> {
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${originPort} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200, 'a well-behaved client is still served');
  socket.destroy();
}

const cases: Array<[string, string, number, string]> = [
  [
    'garbage bytes',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n',
    400,
    'CPX_ERR_BAD_REQUEST',
  ],
  ['CONNECT without host', 'CONNECT :443 HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  ['CONNECT without port', 'CONNECT example.test HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  ['CONNECT port 0', 'CONNECT example.test:0 HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  ['CONNECT port 99999', 'CONNECT example.test:99999 HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  ['CONNECT bad host', 'CONNECT exa_mple..test:443 HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  ['unbracketed IPv6', 'CONNECT ::1:443 HTTP/1.1\r\n\r\n', 400, 'CPX_ERR_BAD_TARGET'],
  [
    'absolute URI with credentials',
    'GET http://u:p@example.test/ HTTP/1.1\r\nHost: example.test\r\n\r\n',
    400,
    'CPX_ERR_BAD_TARGET',
  ],
  [
    'bad header line',
    'GET http://example.test/ HTTP/1.1\r\nno colon here\r\n\r\n',
    400,
    'CPX_ERR_BAD_REQUEST',
  ],
];

t.test('malformed requests get a 4xx naming the problem', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  for (const [name, request, status, code] of cases) {
    const { socket, text } = await rawExchange(proxy.port, request);
    const head = parseHead(text);
    t.equal(head.status, status, `${name}: status`);
    t.equal(head.headers['x-corproxy-error'], code, `${name}: code`);
    t.match(head.reason, /^corproxy: /, `${name}: reason`);
    socket.destroy();
  }
  await stillServes(t, proxy, origin.port);
});

t.test('a 1 MiB header is refused with 431', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t);
  const socket = await connect(proxy.port);
  socket.on('error', () => undefined);
  socket.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nX-Big: `);
  const chunk = 'a'.repeat(64 * 1024);
  for (let i = 0; i < 16 && !socket.destroyed; i++) socket.write(chunk);
  const text = await readUntil(socket, (s) => s.includes('\r\n\r\n'));
  t.equal(parseHead(text).status, 431);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_HEADER_TOO_LARGE');
  socket.destroy();
  await stillServes(t, proxy, origin.port);
});

t.test('slowloris: an incomplete head times out while others are served', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t, {}, { file: { limits: { headerTimeout: '400ms' } } });
  const slow = await connect(proxy.port);
  slow.on('error', () => undefined);
  slow.write('CONNECT 127.0.0.1:');
  const tick = setInterval(() => slow.writable && slow.write('1'), 100);
  t.teardown(() => clearInterval(tick));
  await stillServes(t, proxy, origin.port);
  const text = await readUntil(slow, () => false, 4000);
  clearInterval(tick);
  t.equal(parseHead(text).status, 408);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_HEADER_TIMEOUT');
  t.ok(slow.readableEnded || slow.destroyed, 'the slow client was disconnected');
});

t.test('connections beyond limits.maxConnections get 503', async (t) => {
  const origin = await startEchoOrigin(t);
  const proxy = await startCorproxy(t, {}, { file: { limits: { maxConnections: 2 } } });
  const held = [await connect(proxy.port), await connect(proxy.port)];
  await new Promise((r) => setTimeout(r, 50));
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 503);
  t.equal(parseHead(text).headers['x-corproxy-error'], 'CPX_ERR_OVERLOADED');
  socket.destroy();
  for (const s of held) s.destroy();
  await new Promise((r) => setTimeout(r, 50));
  await stillServes(t, proxy, origin.port);
});

t.test('a client that leaves during the dial does not leak either leg', async (t) => {
  const proxy = await startCorproxy(t, {}, { file: { limits: { connectTimeout: '300ms' } } });
  const socket = await connect(proxy.port);
  socket.end('CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n');
  const [rec] = await proxy.waitForRecords(1);
  t.ok(rec, 'the connection was recorded');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(proxy.server.state.metrics.openConnections, 0);
});
