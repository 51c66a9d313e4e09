/**
 * Memory checks, each on a fresh daemon so earlier workloads' heap growth cannot hide the
 * cost being measured: RSS per idle tunnel (W4, and the 10,000-tunnel check with
 * limits.maxConnections raised by configuration) and RSS during a download to a reader
 * throttled to 1 MB/s (backpressure).
 */
import { startClient } from './children.js';
import { startCorproxy } from './corproxy.js';
import { fdLimits, openFds, rssKiB, sampleRss } from './proc-stats.js';
import { sleep } from './stats.js';

/** Opens `count` idle tunnels through `cp`, returns the client and its summary. */
async function holdIdle(path, count, timeoutSeconds) {
  const client = startClient({
    mode: 'idle',
    path,
    count,
    concurrency: 100,
    timeoutSeconds,
    holdSeconds: timeoutSeconds + 120,
  });
  const summary = await client.json((l) => l.ready === true, (timeoutSeconds + 30) * 1000);
  return { client, summary };
}

async function release(client) {
  client.send('close\n');
  await client.json((l) => l.done === true, 60_000).catch(() => undefined);
  await client.stop();
}

/**
 * RSS per idle tunnel: baseline after a warm-up of 100 tunnels opened and closed, then
 * `count` tunnels to the idle origin held open; (after - before) / opened.
 */
export async function idleTunnels({ dir, name, idlePort, count, maxConnections }) {
  const cp = await startCorproxy({ dir, name, maxConnections });
  try {
    const path = { host: '127.0.0.1', port: cp.port, connect: `origin.bench.test:${idlePort}` };
    const fds = openFds(cp.pid);
    const limit = fdLimits(cp.pid).soft;
    // Each tunnel holds two descriptors in the daemon (client side and origin side).
    const fits = Math.floor((limit - fds - 16) / 2);
    const attempt = Math.min(count, fits);
    const warm = await holdIdle(path, 100, 30);
    await release(warm.client);
    await sleep(1500);
    const before = rssKiB(cp.pid);
    const t0 = Date.now();
    const { client, summary } = await holdIdle(path, attempt, Math.max(60, attempt / 50));
    const openSeconds = (Date.now() - t0) / 1000;
    await sleep(2000);
    const after = rssKiB(cp.pid);
    const daemonFds = openFds(cp.pid);
    await release(client);
    return {
      requested: count,
      attempted: attempt,
      opened: summary.opened,
      failed: summary.failed,
      lastError: summary.lastError,
      openSeconds,
      daemonFdLimit: limit,
      daemonFdsOpen: daemonFds,
      fdLimited: attempt < count,
      rssBeforeKiB: before,
      rssAfterKiB: after,
      perTunnelKiB: summary.opened > 0 ? (after - before) / summary.opened : NaN,
    };
  } finally {
    await cp.stop();
  }
}

/**
 * W4 over `trials` fresh daemons: the trial with the median RSS per tunnel, every trial's
 * figure, and the fewest tunnels any trial opened (all must open for a pass). One
 * daemon's figure moves by 2x between runs with when V8 collects and grows its young
 * generation (4.0 to 13.5 KiB per tunnel for one build), so one trial says little.
 */
export async function idleTunnelsMedian(args, trials) {
  const runs = [];
  for (let t = 0; t < trials; t++) runs.push(await idleTunnels(args));
  const sorted = [...runs].sort((a, b) => a.perTunnelKiB - b.perTunnelKiB);
  return {
    ...sorted[Math.floor((sorted.length - 1) / 2)],
    opened: Math.min(...runs.map((r) => r.opened)),
    trialsKiB: runs.map((r) => r.perTunnelKiB),
  };
}

/**
 * Backpressure: the origin offers `bytes`; the client reads `rate` bytes/s for at most
 * `seconds`. The daemon's RSS is sampled every second; flat RSS means the daemon stops
 * reading from the origin while the client is behind instead of buffering.
 */
export async function slowReader({ dir, name, bulkPort, bytes, rate, seconds }) {
  const cp = await startCorproxy({ dir, name });
  try {
    const path = { host: '127.0.0.1', port: cp.port, connect: `origin.bench.test:${bulkPort}` };
    await sleep(500);
    const rssIdle = rssKiB(cp.pid);
    const sampler = sampleRss(cp.pid, 1000);
    const client = startClient({ mode: 'slow', path, bytes, rate, seconds });
    const result = await client.json((l) => l.done === true, (seconds + 60) * 1000);
    const samples = sampler.stop();
    await client.stop();
    if (result.error) throw new Error(`slow reader: ${result.error}`);
    const kib = samples.map((s) => s.kib);
    // Skip the first seconds (connection set-up, JIT) when judging flatness.
    const steady = kib.slice(Math.min(5, Math.floor(kib.length / 4)));
    return {
      offeredBytes: bytes,
      readBytes: result.bytes,
      seconds: result.seconds,
      readRate: result.bytes / result.seconds,
      ended: result.ended,
      rssIdleKiB: rssIdle,
      rssMaxKiB: Math.max(...kib),
      rssSteadyMinKiB: Math.min(...steady),
      rssSteadyMaxKiB: Math.max(...steady),
      samples: samples.filter((_, i) => i % 5 === 0 || i === samples.length - 1),
    };
  } finally {
    await cp.stop();
  }
}
