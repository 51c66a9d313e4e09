/**
 * splice() on real loopback socket pairs: how a tunnel passes half-closes on and closes,
 * including the shortcut that closes a side which already sent its FIN instead of
 * shutting it down first (tunnel.ts, onEnd).
 *
 *   user ⇄ client ══ splice ══ remote ⇄ origin
 */
import net from 'node:net';
import t from 'tap';
import { splice, type SpliceResult } from '../../../src/proxy/tunnel.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Two connected sockets on 127.0.0.1: [the connecting end, the accepted end]. */
async function socketPair(t: Teardown): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const near = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const far = await accepted;
  await new Promise((resolve) => near.once('connect', resolve));
  server.close();
  t.teardown(() => {
    near.destroy();
    far.destroy();
  });
  return [near, far];
}

/** Everything `socket` receives until its peer's FIN; rejects on a reset. */
function readAll(socket: net.Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

async function tunnel(t: Teardown): Promise<{
  user: net.Socket;
  origin: net.Socket;
  client: net.Socket;
  remote: net.Socket;
  result: Promise<SpliceResult>;
}> {
  const [user, client] = await socketPair(t);
  const [remote, origin] = await socketPair(t);
  const result = splice(client, remote, {
    clientHead: Buffer.alloc(0),
    remoteHead: Buffer.alloc(0),
    idleTimeoutMs: 10_000,
  });
  return { user, origin, client, remote, result };
}

/** The values `socket` holds under symbol keys that are objects (corproxy's and Node's). */
function symbolObjects(socket: net.Socket): unknown[] {
  const own = socket as unknown as Record<symbol, unknown>;
  return Object.getOwnPropertySymbols(socket)
    .map((k) => own[k])
    .filter((v) => typeof v === 'object' && v !== null);
}

t.test('a closed tunnel lets go of its state: its sockets no longer reach it', async (t) => {
  const { user, origin, client, remote, result } = await tunnel(t);
  const before = symbolObjects(client).filter((v) => v?.constructor.name === 'End');
  t.equal(before.length, 1, 'an open tunnel is reached through its sockets');
  user.end();
  origin.end();
  await result;
  for (const socket of [client, remote]) {
    const ends = symbolObjects(socket).filter((v) => v?.constructor.name === 'End');
    t.same(ends, [], 'no End left on a closed socket');
  }
});

t.test('bytes both ways, then FINs both ways: counted, closed by the client', async (t) => {
  const { user, origin, result } = await tunnel(t);
  const atOrigin = readAll(origin);
  user.end('up');
  t.equal((await atOrigin).toString(), 'up');
  const atUser = readAll(user);
  origin.end('down, after the FIN');
  t.equal((await atUser).toString(), 'down, after the FIN');
  t.match(await result, { bytesUp: 2, bytesDown: 19, closedBy: 'client' });
});

t.test('a reply queued in the daemon when the origin ends is flushed, not dropped', async (t) => {
  const { user, origin, client, result } = await tunnel(t);
  const atOrigin = readAll(origin);
  user.end();
  await atOrigin;
  // Corked, the relayed bytes stay in the client socket's own queue (writableLength > 0)
  // when the origin's FIN arrives right behind them: closing the socket at that point
  // would drop them.
  client.cork();
  const atUser = readAll(user);
  origin.end('queued when the FIN came');
  t.equal((await atUser).toString(), 'queued when the FIN came');
  t.match(await result, { bytesDown: 24, closedBy: 'client' });
});

t.test('the origin ending first leaves the upload direction open', async (t) => {
  const { user, origin, result } = await tunnel(t);
  const atUser = readAll(user);
  origin.end('bye');
  t.equal((await atUser).toString(), 'bye');
  const atOrigin = readAll(origin);
  user.end('still heard');
  t.equal((await atOrigin).toString(), 'still heard');
  t.match(await result, { bytesUp: 11, bytesDown: 3, closedBy: 'remote' });
});

t.test('a large reply after the client FIN arrives whole and ends with a FIN', async (t) => {
  const { user, origin, result } = await tunnel(t);
  const body = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 13 + (i >> 12)) & 0xff;
  const atOrigin = readAll(origin);
  user.end();
  await atOrigin;
  const atUser = readAll(user);
  origin.end(body);
  t.ok((await atUser).equals(body), 'same bytes, in order, then end (no reset)');
  t.match(await result, { bytesDown: body.length });
});
