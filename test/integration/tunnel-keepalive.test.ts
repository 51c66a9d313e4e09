/**
 * A tunnel's remote socket gets TCP keepalive a second after the dial, not at connect
 * (src/proxy/keepalive.ts). What the kernel holds is read from /proc/net/tcp: its "tr"
 * column is 2 while a keepalive timer is pending on the socket, 0 on an idle socket
 * without one.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { KEEPALIVE_ARM_DELAY_MS, keepAliveWaiting } from '../../src/proxy/keepalive.js';
import { startCorproxy } from '../support/corproxy.js';
import { listen, parseHead, rawExchange, readUntil } from '../support/net.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** An echo origin that remembers the source port of each connection it accepted. */
async function startPortOrigin(t: Teardown): Promise<{ port: number; peers: number[] }> {
  const peers: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    peers.push(socket.remotePort ?? 0);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => socket.write(chunk));
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  return { port: await listen(t, server), peers };
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

interface Timer {
  /** 0: none, 2: keepalive (for an established socket). */
  readonly kind: number;
  /** Seconds until it fires (the kernel reports clock ticks of 1/100 s). */
  readonly seconds: number;
}

/** The "tr:tm->when" column of the IPv4 socket local:port → remote:port, if listed. */
function timerOf(localPort: number, remotePort: number): Timer | undefined {
  const wanted = `:${hexPort(localPort)} 0100007F:${hexPort(remotePort)}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (`${fields[1]?.slice(8)} ${fields[2]}` !== wanted) continue;
    const [kind, when] = fields[5]!.split(':');
    return { kind: Number.parseInt(kind!, 16), seconds: Number.parseInt(when!, 16) / 100 };
  }
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function openTunnel(proxyPort: number, originPort: number): Promise<net.Socket> {
  const { socket, text } = await rawExchange(
    proxyPort,
    `CONNECT ka.example.test:${originPort} HTTP/1.1\r\nHost: x\r\n\r\n`,
  );
  if (parseHead(text).status !== 200) throw new Error(`CONNECT answered ${text}`);
  socket.write('ping');
  await readUntil(socket, (s) => s.includes('ping'));
  return socket;
}

t.test(
  'keepalive is off at connect and on a second later',
  { skip: process.platform !== 'linux' },
  async (t) => {
    const origin = await startPortOrigin(t);
    const proxy = await startCorproxy(
      t,
      { hosts: ['ka.example.test=127.0.0.1'] },
      { file: { limits: { keepAlive: '45s' } } },
    );
    const socket = await openTunnel(proxy.port, origin.port);
    t.teardown(() => socket.destroy());
    const outbound = origin.peers[0]!;
    t.ok(outbound > 0, 'the origin saw corproxy connect');
    t.equal(timerOf(outbound, origin.port)?.kind, 0, 'no timer right after the tunnel opened');
    t.ok(keepAliveWaiting() >= 1, 'the remote socket waits to be armed');
    await sleep(KEEPALIVE_ARM_DELAY_MS + 400);
    const armed = timerOf(outbound, origin.port);
    t.equal(armed?.kind, 2, 'the kernel holds a keepalive timer');
    t.ok(
      armed !== undefined && armed.seconds > 40 && armed.seconds <= 45,
      `it fires after limits.keepAlive (45 s; reported ${armed?.seconds} s)`,
    );
    socket.write('pong');
    t.match(await readUntil(socket, (s) => s.includes('pong')), /pong/, 'the tunnel still relays');
  },
);

t.test('a tunnel that ends first leaves nothing waiting', async (t) => {
  const origin = await startPortOrigin(t);
  const proxy = await startCorproxy(t, { hosts: ['ka.example.test=127.0.0.1'] });
  const before = keepAliveWaiting();
  const socket = await openTunnel(proxy.port, origin.port);
  t.equal(keepAliveWaiting(), before + 1);
  socket.end();
  await proxy.waitForRecords(1);
  t.equal(keepAliveWaiting(), before, 'the closed tunnel took its socket out');
});
