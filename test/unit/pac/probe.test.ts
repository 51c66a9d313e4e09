import net from 'node:net';
import t from 'tap';
import { MAX_PROBED, probeNetwork } from '../../../src/pac/probe.js';
import { closedPort, listen } from '../../support/net.js';

const target = (port: number, host = 'corp-proxy.test') => ({
  id: `${host}:${port}`,
  protocol: 'http:' as const,
  host,
  port,
});

t.test('a TCP connect to any remembered proxy counts; nothing is sent', async (t) => {
  const received: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (d: Buffer) => received.push(d));
  });
  const up = await listen(t, server);
  const down = await closedPort();
  const deps = { dialDeps: {}, hosts: { 'corp-proxy.test': '127.0.0.1' }, timeoutMs: 1000 };
  t.same(await probeNetwork([target(down), target(up)], deps), { proxies: true, pac: undefined });
  t.same(await probeNetwork([target(down)], deps), { proxies: false, pac: undefined });
  t.same(await probeNetwork([], { ...deps, refreshPac: async () => true }), {
    proxies: undefined,
    pac: true,
  });
  await new Promise((r) => setTimeout(r, 20));
  t.same(received, []);
});

t.test('only the first few proxies are probed, with the connect timeout', async (t) => {
  const dialled: number[] = [];
  const deps = {
    // A connect that never completes: the SYN went nowhere (off the corporate network).
    dialDeps: {
      connect: (o: net.NetConnectOpts) => {
        dialled.push((o as net.TcpNetConnectOpts).port);
        return new net.Socket();
      },
    },
    hosts: {},
    timeoutMs: 100,
    refreshPac: async () => false,
  };
  const started = Date.now();
  const targets = [1, 2, 3, 4, 5, 6].map((p) => target(p));
  t.same(await probeNetwork(targets, deps), { proxies: false, pac: false });
  t.same(dialled, [1, 2, 3, 4].slice(0, MAX_PROBED));
  t.ok(Date.now() - started < 2000, 'bounded by the probe timeout');
});
