/**
 * W1, W2, W3 and W5: each runs the same load against the direct side and the proxy side of
 * a topology, alternating which goes first from trial to trial so drift on the machine
 * hits both alike, and reports the medians and proxy/direct ratio.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { runClient, startChild } from './children.js';
import { median, sum } from './stats.js';

function orderFor(trial) {
  return trial % 2 === 0 ? ['direct', 'proxy'] : ['proxy', 'direct'];
}

async function trials(plan, measure) {
  const out = { direct: [], proxy: [] };
  for (let t = 0; t < plan.trials; t++) {
    for (const side of orderFor(t)) out[side].push(await measure(side));
  }
  return out;
}

function summary(values, unit, better) {
  const direct = median(values.direct);
  const proxy = median(values.proxy);
  return { unit, better, direct, proxy, ratio: proxy / direct, trials: values };
}

/** Runs `jobs` load-client processes at once and returns their results. */
function clients(jobs, seconds) {
  return Promise.all(jobs.map((job) => runClient(job, (seconds + 40) * 1000)));
}

/** W1: bulk download through one tunnel, MB/s (10^6 bytes). */
export async function bulkThroughput(paths, plan) {
  const values = await trials(plan, async (side) => {
    const r = await runClient(
      { mode: 'bulk', path: paths[side], warm: plan.warm, seconds: plan.seconds },
      (plan.warm + plan.seconds + 30) * 1000,
    );
    return r.bps / 1e6;
  });
  return summary(values, 'MB/s', 'higher');
}

/** W2: sequential CONNECT + 64-byte round trips; p50 and p99 in microseconds. */
export async function connectLatency(paths, plan) {
  const p50 = { direct: [], proxy: [] };
  const p99 = { direct: [], proxy: [] };
  let errors = 0;
  for (let t = 0; t < plan.trials; t++) {
    for (const side of orderFor(t)) {
      const r = await runClient(
        { mode: 'latency', path: paths[side], count: plan.latencyCount, warmup: 200 },
        120_000,
      );
      p50[side].push(r.p50);
      p99[side].push(r.p99);
      errors += r.errors;
    }
  }
  return { ...summary(p50, 'µs p50', 'lower'), p99: summary(p99, 'µs p99', 'lower'), errors };
}

/** One W3 measurement: `concurrency` loops spread over `procs` client processes. */
async function rateOnce(path, plan, procs) {
  const per = Math.ceil(plan.concurrency / procs);
  const jobs = Array.from({ length: procs }, () => ({
    mode: 'rate',
    path,
    concurrency: per,
    warm: plan.warm,
    seconds: plan.seconds,
  }));
  const rs = await clients(jobs, plan.warm + plan.seconds);
  return { rate: sum(rs.map((r) => r.rate)), errors: sum(rs.map((r) => r.errors)) };
}

/** W3: tunnels per second with `concurrency` clients spread over `procs` processes. */
export async function tunnelRate(paths, plan, procs) {
  let errors = 0;
  const values = await trials(plan, async (side) => {
    const r = await rateOnce(paths[side], plan, procs);
    errors += r.errors;
    return r.rate;
  });
  return { ...summary(values, 'tunnels/s', 'higher'), errors, clientProcesses: procs };
}

/** W5 with the Node client: keep-alive requests per second over `procs` processes. */
async function nodeHttp(target, plan, procs) {
  const per = Math.ceil(plan.httpConnections / procs);
  const jobs = Array.from({ length: procs }, () => ({
    mode: 'http',
    target,
    connections: per,
    warm: plan.warm,
    seconds: plan.seconds,
  }));
  const rs = await clients(jobs, plan.warm + plan.seconds);
  return { rate: sum(rs.map((r) => r.rate)), errors: sum(rs.map((r) => r.errors)) };
}

/** wrk on PATH (or where Debian puts it); undefined when missing: the Node client is used. */
export const WRK = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']
  .filter(Boolean)
  .map((d) => join(d, 'wrk'))
  .find((p) => existsSync(p));

async function wrkOnce(target, connections, threads, seconds, script) {
  const child = startChild(WRK, [
    `-t${threads}`,
    `-c${connections}`,
    `-d${Math.max(1, Math.round(seconds))}s`,
    '--timeout',
    '5s',
    '-s',
    script,
    `http://${target.host}:${target.port}/`,
  ]);
  const code = await Promise.race([
    child.exited,
    new Promise((r) => setTimeout(() => r('timeout'), (seconds + 30) * 1000)),
  ]);
  await child.stop();
  const out = child.output();
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (code !== 0 || !rps) throw new Error(`wrk failed (${code}):\n${out.slice(-2000)}`);
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = Number(bad?.[1] ?? 0) + (sock ? sum(sock.slice(1).map(Number)) : 0);
  return { rate: Number(rps[1]), errors };
}

/** W5 with wrk (C, one thread per process slot): a short warm run, then the measured run. */
async function wrkHttp(target, plan, threads, dir) {
  const script = join(dir, `wrk-${target.port}.lua`);
  const lines = [
    `wrk.headers["Host"] = "${target.authority}"`,
    `wrk.headers["User-Agent"] = "corproxy-bench"`,
    target.proxy ? `wrk.path = "http://${target.authority}/bench"` : 'wrk.path = "/bench"',
  ];
  await writeFile(script, `${lines.join('\n')}\n`);
  await wrkOnce(target, plan.httpConnections, threads, plan.warm, script);
  return wrkOnce(target, plan.httpConnections, threads, plan.seconds, script);
}

/** W5: plain-HTTP forward requests per second, keep-alive clients. */
export async function forwardRate(targets, plan, client, dir) {
  let errors = 0;
  const values = await trials(plan, async (side) => {
    const r =
      client.kind === 'wrk'
        ? await wrkHttp(targets[side], plan, client.procs, dir)
        : await nodeHttp(targets[side], plan, client.procs);
    errors += r.errors;
    return r.rate;
  });
  return {
    ...summary(values, 'req/s', 'higher'),
    errors,
    client: client.kind,
    clientProcesses: client.procs,
  };
}

/**
 * Is one client process enough? Direct-side W3 and W5 rates with 1 and 2 client
 * processes (and wrk with 1 and 2 threads when installed): if a second process raises the
 * direct rate, one process was the bottleneck and the run uses two.
 */
export async function calibrate(paths, targets, plan, dir) {
  const once = { ...plan, trials: 1 };
  const rate = {};
  const http = {};
  for (const procs of [1, 2]) {
    rate[procs] = (await rateOnce(paths.direct, once, procs)).rate;
    http[`node${procs}`] = (await nodeHttp(targets.direct, once, procs)).rate;
    if (WRK) http[`wrk${procs}`] = (await wrkHttp(targets.direct, once, procs, dir)).rate;
  }
  return { rate, http };
}
