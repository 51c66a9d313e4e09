/**
 * `node bench/mirror.js` (after `npm run build`): the Go module mirror, cold against warm.
 *
 *   go ──/mod/──► corproxy ──CONNECT──► squid (or a Node CONNECT proxy) ──► module proxy
 *   (fresh caches)  (mirror)              the corporate proxy              HTTPS, .test name,
 *                                                                          +latency per response
 *
 * `go mod download` of a generated module set: cold (empty mirror cache, everything fetched
 * through the corporate proxy), then warm (a fresh go module cache, the mirror's full),
 * in each trial; then warm again with the module proxy stopped. The same pair is measured
 * for the mirror alone (every artifact fetched by a Node client, go's own work left out).
 * All on 127.0.0.1; every child is stopped by its handle and the temp dir removed on
 * every exit path. See bench/README.md.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAIN_JS, startCorproxy } from './mirror/corproxy.js';
import { fetchAll } from './mirror/fetch-all.js';
import { goModDownload, removeTree } from './mirror/go.js';
import { startModuleProxy } from './mirror/module-proxy.js';
import { artifactPaths, moduleSet, proxyFiles } from './mirror/modules.js';
import { makeCa, makeLeaf } from './mirror/pki.js';
import { killAllNow, startChild, stopAll } from './lib/children.js';
import { describeMachine, printTable, summarize, writeJson } from './mirror/report.js';
import { startUpstream } from './mirror/upstream.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const HOST = 'goproxy.bench.test';
const USAGE = `usage: node bench/mirror.js [options]
  --runs=N         cold/warm trials (1-10, default 3)
  --modules=N      small modules in the set (1-99, default 20)
  --large-mib=N    size of the large module's data (0-64 MiB, default 8)
  --latency=MS     delay of every module proxy response (0-1000, default 50)
  --upstream=KIND  the corporate proxy: squid or node (default: squid when installed)
  --ca-only        the approved CA bundle holds the benchmark CA only (default: Node's
                   roots plus that CA, as \`corproxy trust\` writes it)
  --timeout=S      give up after S seconds (default 900)
  --out=FILE       JSON results (default bench/results/mirror-latest.json)`;
const log = (s) => process.stderr.write(`[bench:mirror] ${s}\n`);
let tempDir;

function intOption(values, name, min, max, fallback) {
  const raw = values[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer from ${min} to ${max}\n${USAGE}`);
  }
  return n;
}

function upstreamOption(raw) {
  if (raw === undefined || raw === 'squid' || raw === 'node') return raw;
  throw new Error(`--upstream must be squid or node\n${USAGE}`);
}

function options(argv) {
  const names = ['runs', 'modules', 'large-mib', 'latency', 'timeout', 'upstream', 'out'];
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(names.map((n) => [n, { type: 'string' }])),
      help: { type: 'boolean' },
      'ca-only': { type: 'boolean' },
    },
  });
  return {
    help: values.help === true,
    caOnly: values['ca-only'] === true,
    runs: intOption(values, 'runs', 1, 10, 3),
    modules: intOption(values, 'modules', 1, 99, 20),
    largeMiB: intOption(values, 'large-mib', 0, 64, 8),
    latencyMs: intOption(values, 'latency', 0, 1000, 50),
    timeoutS: intOption(values, 'timeout', 30, 3600, 900),
    upstream: upstreamOption(values.upstream),
    out: values.out ?? join(HERE, 'results', 'mirror-latest.json'),
  };
}

function findGo() {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/go/bin', '/usr/bin'];
  const dir = dirs.find((d) => d && existsSync(join(d, 'go')));
  return dir && join(dir, 'go');
}

async function goVersion(goBin) {
  const child = startChild(goBin, ['version'], { env: { PATH: process.env.PATH ?? '' } });
  await child.exited;
  return child.output().trim();
}

/** Throws with go's or the mirror's own words when a run did not deliver the whole set. */
function check(what, r) {
  if (r.ok) return;
  const why = r.failures?.slice(0, 5).join('\n') ?? `exit ${r.code}, missing ${r.missing}`;
  throw new Error(`${what} failed: ${why}\n${r.stderr ?? ''}`);
}

/** Cold then warm against one fresh daemon per trial; `run(daemon, label)` measures one. */
async function trials({ runs, label, daemon, run, proxy, keepLast }) {
  const out = [];
  let kept;
  for (let i = 1; i <= runs; i += 1) {
    const d = await daemon(`${label}-${i}`);
    const before = proxy.served().ok;
    const cold = await run(d, `${label}-cold-${i}`);
    check(`${label} cold ${i}`, cold);
    const mid = proxy.served().ok;
    const warm = await run(d, `${label}-warm-${i}`);
    check(`${label} warm ${i}`, warm);
    const trial = {
      cold: { ms: Math.round(cold.ms), upstreamResponses: mid - before },
      warm: { ms: Math.round(warm.ms), upstreamResponses: proxy.served().ok - mid },
    };
    log(`${label} ${i}/${runs}: cold ${trial.cold.ms} ms, warm ${trial.warm.ms} ms`);
    out.push(trial);
    if (keepLast && i === runs) kept = d;
    else await d.stop();
  }
  return { trials: out, kept };
}

/**
 * go's own share of a warm run (checking, extracting and hashing the zips; writing go.sum):
 * the same download from GOPROXY=file://, with no network and no mirror at all.
 */
async function goFloor({ dir, files, runs, goRun }) {
  const root = join(dir, 'file-proxy');
  for (const [path, f] of files) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), f.body);
  }
  const ms = [];
  for (let i = 1; i <= runs; i += 1) {
    const r = await goRun({ url: `file://${root}` }, `floor-${i}`, '/');
    check(`go from file:// ${i}`, r);
    ms.push(Math.round(r.ms));
  }
  return ms;
}

/** The trials, the offline runs and go's floor; fills in `json`. */
async function measure({ opts, dir, goBin, ca, mods, files, paths, proxy, upstream }, json) {
  const daemon = (name) =>
    startCorproxy({
      dir,
      name,
      upstream: upstream.url,
      host: HOST,
      moduleProxyUrl: `https://${HOST}:${proxy.port}`,
      caPem: ca.certPem,
      withRoots: !opts.caOnly,
    });
  const concurrency = os.cpus().length;
  const serve = (d) =>
    fetchAll({ base: `${d.url}/mod`, paths, files, concurrency, timeoutMs: 60_000 });
  const goRun = (d, name, suffix = '/mod/') =>
    goModDownload({
      goBin,
      base: join(dir, name),
      mods,
      goproxy: `${d.url}${suffix}`,
      timeoutMs: 180_000,
    });
  const served = await trials({ ...opts, label: 'serve', daemon, run: serve, proxy });
  const go = await trials({ ...opts, label: 'go', daemon, run: goRun, proxy, keepLast: true });
  await proxy.close();
  log('module proxy stopped: warm runs served from the mirror cache only');
  json.offline = [];
  for (let i = 1; i <= opts.runs; i += 1) {
    const r = await goRun(go.kept, `offline-${i}`);
    json.offline.push({ ok: r.ok, ms: Math.round(r.ms), ...(!r.ok && { stderr: r.stderr }) });
  }
  await go.kept.stop();
  json.goFloorMs = await goFloor({ dir, files, runs: opts.runs, goRun });
  json.loadAverageAfter = os.loadavg()[0];
  json.upstream = { kind: upstream.kind, tunnels: await upstream.tunnels() };
  json.summary = {
    'go mod download': summarize(go.trials),
    'mirror alone (Node client)': summarize(served.trials),
  };
  const all = [...go.trials, ...served.trials];
  json.upstreamRequests = {
    coldPerRun: go.trials[0].cold.upstreamResponses,
    warmTotal: all.reduce((n, t) => n + t.warm.upstreamResponses, 0),
  };
  json.trials = { go: go.trials, mirrorAlone: served.trials };
}

async function main(opts) {
  if (!existsSync(MAIN_JS)) throw new Error('dist/main.js is missing: run `npm run build`');
  const goBin = findGo();
  if (!goBin) throw new Error('go is not installed (apt-get install golang-go)');
  const started = Date.now();
  const dir = await mkdtemp(join(os.tmpdir(), 'corproxy-bench-mirror-'));
  tempDir = dir;
  // squid drops to the `proxy` user and must reach its directory inside this one.
  await chmod(dir, 0o755);
  const ca = makeCa('corproxy bench public root');
  const mods = moduleSet({ count: opts.modules, largeMiB: opts.largeMiB });
  const files = proxyFiles(mods);
  const paths = artifactPaths(mods);
  const zips = paths.filter((p) => p.endsWith('.zip')).map((p) => files.get(p).body.length);
  const json = {
    date: new Date().toISOString(),
    machine: { ...describeMachine(), go: await goVersion(goBin) },
    loadAverageBefore: os.loadavg()[0],
    options: { ...opts, out: undefined, help: undefined },
    moduleSet: {
      modules: mods.length,
      artifacts: paths.length,
      zipBytes: zips.reduce((a, b) => a + b, 0),
      largestZipBytes: Math.max(...zips),
    },
    notes: [],
  };
  let proxy;
  let upstream;
  try {
    const leaf = makeLeaf(ca, HOST);
    proxy = await startModuleProxy({ leaf, files, latencyMs: opts.latencyMs });
    upstream = await startUpstream(dir, HOST, opts.upstream);
    if (upstream.kind !== 'squid') json.notes.push(upstream.why);
    log(`corporate proxy: ${upstream.kind}; module proxy latency ${opts.latencyMs} ms/response`);
    const ctx = { opts, dir, goBin, ca, mods, files, paths, proxy, upstream };
    await measure(ctx, json);
  } finally {
    await proxy?.close();
    await upstream?.stop();
    await stopAll();
    removeTree(dir);
  }
  json.seconds = Math.round((Date.now() - started) / 1000);
  process.stdout.write('\n');
  printTable(json);
  await mkdir(dirname(opts.out), { recursive: true });
  await writeJson(opts.out, json);
  process.stdout.write(`\nresults: ${opts.out} (${json.seconds} s)\n`);
}

process.once('exit', () => {
  killAllNow();
  if (tempDir) removeTree(tempDir);
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`${sig}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}
try {
  const opts = options(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    const deadline = setTimeout(() => {
      log(`still running after ${opts.timeoutS} s: stopping`);
      void stopAll().finally(() => process.exit(1));
    }, opts.timeoutS * 1000);
    await main(opts).finally(() => clearTimeout(deadline));
  }
} catch (err) {
  process.stderr.write(`bench:mirror failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
}
