import t from 'tap';
import {
  MONITOR_DEFAULTS,
  NetworkMonitor,
  type NetworkChange,
  type ProbeResult,
  type ProbeTarget,
} from '../../../src/pac/network.js';

const proxy = (name: string): ProbeTarget => ({
  id: `${name}:8080`,
  protocol: 'http:',
  host: name,
  port: 8080,
});
const A = proxy('a.example');
const B = proxy('b.example');

interface World {
  time: number;
  fingerprint: string;
  probeResult: ProbeResult;
  probes: ProbeTarget[][];
  changes: NetworkChange[];
  release?: () => void;
  slowProbe: boolean;
}

function setup(): { world: World; monitor: NetworkMonitor } {
  const world: World = {
    time: 1_000_000,
    fingerprint: 'eth0=10.0.0.2/24',
    probeResult: { proxies: false, pac: undefined },
    probes: [],
    changes: [],
    slowProbe: false,
  };
  const monitor = new NetworkMonitor({
    now: () => world.time,
    interfaces: () => world.fingerprint,
    probe: async (targets) => {
      world.probes.push([...targets]);
      if (world.slowProbe) await new Promise<void>((resolve) => (world.release = resolve));
      return world.probeResult;
    },
    onChange: (c) => world.changes.push(c),
  });
  return { world, monitor };
}

t.test('one failing proxy among several is not off-network', async (t) => {
  const { world, monitor } = setup();
  monitor.proxyFailed(0, A, 'refused');
  monitor.proxyReachable(B);
  monitor.attemptFailed(0);
  t.equal(monitor.isOff(), false);
  t.same(world.changes, []);
});

t.test(
  'every proxy failing goes off; successes and probes bring it back with a new epoch',
  async (t) => {
    const { world, monitor } = setup();
    monitor.proxyFailed(0, A, 'timed out');
    monitor.proxyFailed(0, B, 'refused');
    monitor.attemptFailed(0);
    t.equal(monitor.isOff(), true);
    t.match(
      monitor.status().reason,
      /every upstream failed: .*a.example:8080 \(timed out\).*b.example:8080 \(refused\)/,
    );
    t.same(
      world.changes.map((c) => [c.state, c.epoch]),
      [['off', 0]],
    );
    monitor.proxyFailed(0, A, 'again');
    monitor.attemptFailed(0);
    t.equal(world.changes.length, 1, 'off is reported once');
    await monitor.tick();
    t.same(world.probes, [[A, B]], 'the probe tries the remembered proxies, most recent first');
    t.equal(monitor.isOff(), true, 'a failed probe keeps it off');
    world.probeResult = { proxies: true, pac: undefined };
    world.time += 5000;
    await monitor.tick();
    t.equal(monitor.isOff(), false);
    t.same(world.changes.at(-1), {
      state: 'on',
      epoch: 1,
      reason: 'background probe reached the corporate network',
    });
    t.equal(monitor.status().lastProbeAt, world.time);
    t.equal(monitor.epoch, 1);
  },
);

t.test('failures reported under an older epoch are ignored (no race after a change)', async (t) => {
  const { monitor } = setup();
  monitor.proxyFailed(0, A, 'x');
  monitor.attemptFailed(0);
  monitor.proxyReachable(A);
  t.equal(monitor.epoch, 1);
  monitor.proxyFailed(0, A, 'late failure from before the change');
  monitor.attemptFailed(0);
  monitor.pacResult(0, false, 'late PAC failure');
  t.equal(monitor.isOff(), false);
  monitor.proxyFailed(1, A, 'current');
  monitor.attemptFailed(1);
  t.equal(monitor.isOff(), true);
});

t.test('old results leave the window; an old success does not vouch for the network', async (t) => {
  const { world, monitor } = setup();
  monitor.proxyReachable(A);
  world.time += MONITOR_DEFAULTS.windowMs + 1;
  monitor.proxyFailed(0, B, 'refused');
  monitor.attemptFailed(0);
  t.equal(monitor.isOff(), true);
});

t.test(
  'an unreachable PAC server means off; its answer brings it back unless proxies are down',
  async (t) => {
    const { world, monitor } = setup();
    monitor.pacResult(0, false, 'ENOTFOUND wpad.example');
    t.equal(monitor.isOff(), true);
    t.match(monitor.status().reason, /PAC server unreachable: ENOTFOUND/);
    monitor.pacResult(0, true, 'answered');
    t.equal(monitor.isOff(), false);
    t.equal(world.changes.at(-1)?.reason, 'PAC server answered');
    monitor.proxyFailed(1, A, 'refused');
    monitor.attemptFailed(1);
    t.equal(monitor.isOff(), true);
    monitor.pacResult(1, true, 'answered');
    t.equal(monitor.isOff(), true, 'the PAC server alone does not prove the proxies are back');
  },
);

t.test('the probe needs every kind it checks to answer', async (t) => {
  const { world, monitor } = setup();
  monitor.pacResult(0, false, 'down');
  world.probeResult = { proxies: undefined, pac: false };
  await monitor.tick();
  t.equal(monitor.isOff(), true);
  world.probeResult = { proxies: true, pac: false };
  await monitor.tick();
  t.equal(monitor.isOff(), true);
  world.probeResult = { proxies: undefined, pac: undefined };
  await monitor.tick();
  t.equal(monitor.isOff(), true, 'nothing to probe proves nothing');
  world.probeResult = { proxies: undefined, pac: true };
  await monitor.tick();
  t.equal(monitor.isOff(), false);
});

t.test('one probe at a time; none while on', async (t) => {
  const { world, monitor } = setup();
  await monitor.tick();
  t.equal(world.probes.length, 0);
  monitor.pacResult(0, false, 'down');
  world.slowProbe = true;
  const first = monitor.tick();
  await monitor.tick();
  await monitor.tick();
  t.equal(world.probes.length, 1);
  t.equal(monitor.status().probing, true);
  world.release?.();
  await first;
  t.equal(monitor.status().probing, false);
});

t.test('a probe that succeeds after the network already changed does not flip again', async (t) => {
  const { world, monitor } = setup();
  monitor.pacResult(0, false, 'down');
  world.slowProbe = true;
  world.probeResult = { proxies: undefined, pac: true };
  const probing = monitor.tick();
  monitor.proxyReachable(A);
  t.equal(monitor.epoch, 1);
  world.release?.();
  await probing;
  t.equal(monitor.epoch, 1);
  t.equal(world.changes.filter((c) => c.state === 'on').length, 1);
});

t.test(
  'new network interfaces: a fresh start while on, an immediate probe while off',
  async (t) => {
    const { world, monitor } = setup();
    monitor.proxyFailed(0, A, 'x');
    world.fingerprint = 'wlan0=192.168.1.5/24';
    await monitor.tick();
    t.same(world.changes.at(-1), { state: 'on', epoch: 1, reason: 'network interfaces changed' });
    monitor.proxyFailed(1, A, 'x');
    monitor.attemptFailed(1);
    t.equal(monitor.isOff(), true);
    world.fingerprint = 'eth0=10.0.0.2/24';
    world.probeResult = { proxies: true, pac: undefined };
    await monitor.tick();
    t.equal(world.probes.length, 1);
    t.equal(monitor.isOff(), false);
  },
);

t.test('interfaces that cannot be read (EMFILE) skip a tick and start nothing', async (t) => {
  const { world, monitor } = setup();
  const readable = { now: false };
  const emfile = Object.assign(new Error('uv_interface_addresses returned EMFILE'), {
    code: 'ERR_SYSTEM_ERROR',
  });
  const failing = new NetworkMonitor({
    now: () => world.time,
    interfaces: () => {
      if (!readable.now) throw emfile;
      return world.fingerprint;
    },
    probe: async () => world.probeResult,
    onChange: (c) => world.changes.push(c),
  });
  await failing.tick();
  readable.now = true;
  await failing.tick();
  t.same(world.changes, [], 'the first fingerprint read is no new network');
  readable.now = false;
  world.fingerprint = 'wlan0=192.168.1.5/24';
  await failing.tick();
  t.same(world.changes, [], 'an unreadable tick changes nothing');
  readable.now = true;
  await failing.tick();
  t.same(world.changes.at(-1), { state: 'on', epoch: 1, reason: 'network interfaces changed' });
  t.equal(monitor.isOff(), false);
});

t.test('a background probe that throws costs one tick, not the process', async (t) => {
  const { world } = setup();
  let probes = 0;
  const monitor = new NetworkMonitor({
    now: () => world.time,
    probe: async () => {
      probes += 1;
      throw new Error('socket: EMFILE');
    },
    onChange: (c) => world.changes.push(c),
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.teardown(() => process.off('unhandledRejection', onUnhandled));
  monitor.proxyFailed(0, A, 'refused');
  monitor.attemptFailed(0);
  monitor.tune({ tickMs: 5 });
  monitor.start();
  await new Promise((r) => setTimeout(r, 60));
  monitor.stop();
  t.ok(probes >= 2, `the loop went on probing (${probes} probes)`);
  t.same(unhandled, []);
  t.equal(monitor.isOff(), true);
});

t.test('the remembered proxies are bounded', async (t) => {
  const { world, monitor } = setup();
  monitor.tune({ maxKnown: 2 });
  for (const name of ['p1', 'p2', 'p3']) monitor.proxyFailed(0, proxy(name), 'x');
  monitor.proxyFailed(0, proxy('p2'), 'x');
  monitor.attemptFailed(0);
  await monitor.tick();
  t.same(
    world.probes[0]?.map((p) => p.host),
    ['p2', 'p3'],
  );
});

t.test('start and stop run the loop on a timer', async (t) => {
  const { world, monitor } = setup();
  monitor.tune({ tickMs: 20 });
  monitor.start();
  monitor.start();
  monitor.tune({ tickMs: 10 });
  monitor.pacResult(0, false, 'down');
  const deadline = Date.now() + 2000;
  while (world.probes.length === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  monitor.stop();
  t.ok(world.probes.length > 0, 'the timer probed while off');
  const count = world.probes.length;
  await new Promise((r) => setTimeout(r, 50));
  t.equal(world.probes.length, count, 'stopped');
});
