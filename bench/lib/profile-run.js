/**
 * `--profile`: for W1, W3 and W5, a fresh daemon under `node --cpu-prof` carries the
 * proxy side of the workload once; its profile is summarized by self time.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runClient } from './children.js';
import { startCorproxy } from './corproxy.js';
import { newestProfile, summarizeProfile } from './profile.js';
import { sidesFor, cpuSeconds } from './topology.js';
import { forwardRate } from './workloads.js';

const JOBS = {
  W1: (sides, plan) => ({
    mode: 'bulk',
    path: sides.bulk.proxy,
    warm: plan.warm,
    seconds: plan.seconds,
  }),
  W3: (sides, plan) => ({
    mode: 'rate',
    path: sides.echo.proxy,
    concurrency: plan.concurrency,
    warm: plan.warm,
    seconds: plan.seconds,
  }),
};

export async function profileWorkloads({ dir, ports, plan, clients }) {
  const out = {};
  for (const w of ['W1', 'W3', 'W5']) {
    // BENCH_PROF_DIR keeps the .cpuprofile files (the run's temp dir is removed).
    const keep = process.env.BENCH_PROF_DIR;
    const profDir = keep ? join(keep, w) : join(dir, `prof-${w}`);
    await mkdir(profDir, { recursive: true });
    const spawned = Date.now();
    const cp = await startCorproxy({
      dir,
      name: `prof-${w}`,
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
    });
    const sides = sidesFor(ports, cp.port, undefined);
    const c0 = cpuSeconds(cp.pid);
    // Start-up and the warm-up second are left out of the summary.
    const skipMs = Date.now() - spawned + plan.warm * 1000;
    let result;
    if (w === 'W5') {
      // Only the proxy side matters here: run the comparison with one trial.
      const r = await forwardRate(sides.http, { ...plan, trials: 1 }, clients.http, dir);
      result = { rate: r.proxy };
    } else {
      result = await runClient(JOBS[w](sides, plan), (plan.warm + plan.seconds + 30) * 1000);
    }
    const cpu = cpuSeconds(cp.pid) - c0;
    await cp.stop();
    const file = newestProfile(profDir);
    out[w] = {
      result: result.bps ? { MBps: result.bps / 1e6 } : { rate: result.rate },
      daemonCpuSeconds: cpu,
      ...(file ? summarizeProfile(file, 20, skipMs) : { error: 'no profile written' }),
    };
  }
  return out;
}
