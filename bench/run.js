/**
 * `npm run bench`: corproxy against a direct connection made in the same run, on loopback,
 * in two topologies, with its connection log on. See bench/README.md for what each
 * workload does, how the load client was checked, and the figures.
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAllNow, startChild, stopAll } from './lib/children.js';
import { MAIN_JS, ORIGIN_NAME, startCorproxy } from './lib/corproxy.js';
import { idleTunnels, idleTunnelsMedian, slowReader } from './lib/memory.js';
import { parseOptions, USAGE } from './lib/plan.js';
import { profileWorkloads } from './lib/profile-run.js';
import { backgroundLoad, describeMachine, printTable, verdicts } from './lib/report.js';
import { findSquid, startSquid } from './lib/squid.js';
import { runTopology, sidesFor } from './lib/topology.js';
import { calibrate, WRK } from './lib/workloads.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const log = (s) => process.stderr.write(`[bench] ${s}\n`);
/** The run's temp dir, removed on every exit path. */
let tempDir;

/** Records in the connection log files of a daemon's state dir (the log was on). */
async function logRecords(stateDir) {
  const files = (await readdir(stateDir).catch(() => [])).filter((f) =>
    f.startsWith('connections'),
  );
  let n = 0;
  for (const f of files) {
    const text = await readFile(join(stateDir, f), 'utf8').catch(() => '');
    n += text.split('\n').filter((l) => l.includes('"method"')).length;
  }
  return n;
}

/** Picks client processes and the W5 client from the calibration (or defaults). */
function chooseClients(calib) {
  // Without a calibration (--quick): what it chose in full runs here. One Node HTTP
  // client process could not saturate the direct side of W5; one W3 client could.
  if (calib === undefined) {
    return { rateProcs: 1, http: { kind: WRK ? 'wrk' : 'node', procs: 2 } };
  }
  const rateProcs = (calib.rate[2] ?? 0) > (calib.rate[1] ?? 0) * 1.1 ? 2 : 1;
  const candidates = Object.entries(calib.http).sort((a, b) => b[1] - a[1]);
  const [best] = candidates[0];
  return {
    rateProcs,
    http: { kind: best.startsWith('wrk') ? 'wrk' : 'node', procs: Number(best.slice(-1)) },
  };
}

async function main() {
  const { opts, plan } = parseOptions(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!existsSync(MAIN_JS)) throw new Error('dist/main.js is missing: run `npm run build`');
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-bench-'));
  tempDir = dir;
  // squid drops to the `proxy` user and must reach its directory inside this one.
  await chmod(dir, 0o755);
  const results = { single: {}, chained: {} };
  const json = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    mode: opts.quick ? 'quick' : 'full',
    plan,
    notes: [],
  };
  try {
    json.backgroundLoadBefore = await backgroundLoad();
    if (json.backgroundLoadBefore > 0.1) {
      log(
        `warning: ${Math.round(json.backgroundLoadBefore * 100)}% of the CPUs are busy with other work`,
      );
    }
    const origin = startChild(process.execPath, [join(HERE, 'origin.js')]);
    const ports = await origin.json(() => true, 10_000);
    const squidBin = findSquid();
    const wantTraffic = ['W1', 'W2', 'W3', 'W5'].some((w) => opts.only.includes(w));
    const wantChained = opts.chained && wantTraffic;
    if (wantChained && squidBin === undefined) {
      json.notes.push(
        'chained topology skipped: squid is not installed (apt-get install squid-openssl)',
      );
      log(json.notes.at(-1));
    }
    const squid =
      (wantChained || opts.peers) && squidBin
        ? await startSquid(squidBin, dir, ORIGIN_NAME)
        : undefined;
    const single = await startCorproxy({ dir, name: 'single' });
    const chained =
      squid && wantChained
        ? await startCorproxy({ dir, name: 'chained', upstream: squid.url })
        : undefined;
    const singleSides = sidesFor(ports, single.port, undefined);

    if (plan.calibrate && ['W3', 'W5'].some((w) => opts.only.includes(w))) {
      log('calibrating the load client (direct side, 1 vs 2 processes)');
      json.calibration = await calibrate(singleSides.echo, singleSides.http, plan, dir);
    }
    const clients = chooseClients(json.calibration);
    json.clients = clients;

    if (wantTraffic) log('topology single: client -> corproxy -> origin');
    results.single = await runTopology({
      sides: singleSides,
      plan,
      only: opts.only,
      pid: single.pid,
      clients,
      dir,
      log,
    });
    if (chained) {
      log('topology chained: client -> corproxy -> squid -> origin');
      results.chained = await runTopology({
        sides: sidesFor(ports, chained.port, squid.port),
        plan,
        only: opts.only,
        pid: chained.pid,
        clients,
        dir,
        log,
      });
    }
    if (opts.peers && squid) {
      log('peer: squid as the proxy under test (single topology)');
      json.peers = {
        squid: await runTopology({
          sides: sidesFor(ports, squid.port, undefined),
          plan,
          only: opts.only,
          pid: squid.pid,
          clients,
          dir,
          log,
        }),
      };
    }
    await single.stop();
    await chained?.stop();
    // Proof the log was on: records written (rotation keeps the newest files only).
    json.connectionLogRecords = {
      single: await logRecords(join(dir, 'single')),
      chained: chained ? await logRecords(join(dir, 'chained')) : 0,
    };

    if (opts.only.includes('W4')) {
      log(`W4 RSS per idle tunnel (${plan.idleCount} tunnels, ${plan.trials} fresh daemon(s))`);
      results.single.W4 = await idleTunnelsMedian(
        { dir, name: 'w4', idlePort: ports.idle, count: plan.idleCount },
        plan.trials,
      );
    }
    if (opts.only.includes('idle10k') && plan.bigIdleCount > 0) {
      log(`${plan.bigIdleCount} idle tunnels (limits.maxConnections: 20000)`);
      json.idle10k = await idleTunnels({
        dir,
        name: 'idle10k',
        idlePort: ports.idle,
        count: plan.bigIdleCount,
        maxConnections: 20_000,
      });
    }
    if (opts.only.includes('slow')) {
      log(
        `slow reader: ${plan.slowBytes} bytes offered, read at ${plan.slowRate} B/s for up to ${plan.slowSeconds} s`,
      );
      json.slowReader = await slowReader({
        dir,
        name: 'slow',
        bulkPort: ports.bulk,
        bytes: plan.slowBytes,
        rate: plan.slowRate,
        seconds: plan.slowSeconds,
      });
    }
    if (opts.profile) {
      log('profiling the daemon under W1, W3 and W5 (node --cpu-prof)');
      json.profiles = await profileWorkloads({ dir, ports, plan, clients });
    }
    json.backgroundLoadAfter = await backgroundLoad();
  } finally {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
  json.results = results;
  json.verdicts = verdicts(results);
  json.seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write('\n');
  printTable(json.verdicts);
  printExtras(json);
  const out = opts.out ?? join(HERE, 'results', 'latest.json');
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, await formatJson(json, out));
  process.stdout.write(`\nresults: ${out} (${json.seconds} s)\n`);
}

/** JSON as the repository's prettier writes it (so `npm run format:check` stays clean). */
async function formatJson(json, file) {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...options, parser: 'json' });
  } catch {
    return text;
  }
}

function printExtras(json) {
  const say = (s) => process.stdout.write(`${s}\n`);
  const r = json.results;
  for (const t of ['single', 'chained']) {
    const w2 = r[t]?.W2;
    if (w2)
      say(
        `${t} W2 p99: direct ${Math.round(w2.p99.direct)} µs, corproxy ${Math.round(w2.p99.proxy)} µs (${w2.p99.ratio.toFixed(2)}x)`,
      );
  }
  const w4 = r.single?.W4;
  if (w4?.trialsKiB) {
    say(
      `W4 KiB per idle tunnel, each fresh daemon: ${w4.trialsKiB.map((v) => v.toFixed(1)).join(', ')}`,
    );
  }
  if (json.idle10k) {
    const k = json.idle10k;
    say(
      `idle tunnels: ${k.opened}/${k.requested} open, ${k.perTunnelKiB.toFixed(1)} KiB each, RSS ${k.rssBeforeKiB} -> ${k.rssAfterKiB} KiB` +
        (k.fdLimited
          ? ` (fd limit ${k.daemonFdLimit} allows ${k.attempted}: raise LimitNOFILE / ulimit -n)`
          : ''),
    );
  }
  if (json.slowReader) {
    const s = json.slowReader;
    say(
      `slow reader: read ${(s.readBytes / 1e6).toFixed(1)} MB in ${s.seconds.toFixed(0)} s; daemon RSS idle ${s.rssIdleKiB} KiB, steady ${s.rssSteadyMinKiB}-${s.rssSteadyMaxKiB} KiB, max ${s.rssMaxKiB} KiB`,
    );
  }
  if (json.calibration) {
    const c = json.calibration;
    const n = (x) => (x === undefined ? '-' : Math.round(x));
    say(
      `load client check (direct side): W3 1 process ${n(c.rate[1])}/s, 2 processes ${n(c.rate[2])}/s; ` +
        `W5 node x1 ${n(c.http.node1)}, node x2 ${n(c.http.node2)}, wrk -t1 ${n(c.http.wrk1)}, wrk -t2 ${n(c.http.wrk2)} req/s`,
    );
  }
  say(
    `clients used: W3 ${json.clients.rateProcs} process(es); W5 ${json.clients.http.kind} x${json.clients.http.procs}`,
  );
  for (const [w, p] of Object.entries(json.profiles ?? {})) {
    const top = (p.top ?? [])
      .slice(0, 6)
      .map((t) => `${t.name} ${t.pct}%`)
      .join('; ');
    const groups = Object.entries(p.groups ?? {})
      .map(([g, v]) => `${g} ${v}%`)
      .join(', ');
    say(`profile ${w}: ${groups}\n  top self time: ${top}`);
  }
  say(
    `background CPU load: before ${json.backgroundLoadBefore}, after ${json.backgroundLoadAfter}`,
  );
  for (const n of json.notes) say(`note: ${n}`);
}

process.once('exit', () => {
  killAllNow();
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
}
