/** Summaries, the printed table and the JSON file of the mirror benchmark. */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';

export const TARGET_RATIO = 10;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median cold, median warm, their ratio and the spread of each, from `{ cold, warm }` trials. */
export function summarize(trials) {
  const cold = trials.map((t) => t.cold.ms);
  const warm = trials.map((t) => t.warm.ms);
  const round = (x) => Math.round(x);
  const coldMs = median(cold);
  const warmMs = median(warm);
  return {
    coldMs: round(coldMs),
    warmMs: round(warmMs),
    ratio: Number((coldMs / warmMs).toFixed(1)),
    coldRangeMs: [round(Math.min(...cold)), round(Math.max(...cold))],
    warmRangeMs: [round(Math.min(...warm)), round(Math.max(...warm))],
    pass: coldMs / warmMs >= TARGET_RATIO,
  };
}

export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? '',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.type()} ${os.release()}`,
    node: process.version,
  };
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The table on stdout. */
export function printTable(json) {
  const rows = [
    ['measure', 'cold ms', 'warm ms', 'ratio', 'target', 'result'],
    ...Object.entries(json.summary).map(([name, s]) => [
      name,
      `${fmt(s.coldMs)} (${fmt(s.coldRangeMs[0])}-${fmt(s.coldRangeMs[1])})`,
      `${fmt(s.warmMs)} (${fmt(s.warmRangeMs[0])}-${fmt(s.warmRangeMs[1])})`,
      `${s.ratio}x`,
      `>= ${TARGET_RATIO}x`,
      s.pass ? 'PASS' : 'FAIL',
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const say = (s) => process.stdout.write(`${s}\n`);
  for (const r of rows) say(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  const off = json.offline;
  say(
    `warm-offline (module proxy stopped): ${off.filter((o) => o.ok).length}/${off.length} ok, ` +
      `median ${fmt(median(off.map((o) => o.ms)))} ms`,
  );
  say(
    `go's own work (GOPROXY=file://, no network, no mirror): median ${fmt(median(json.goFloorMs))} ms`,
  );
  const u = json.upstreamRequests;
  say(
    `module proxy responses: ${u.coldPerRun} per cold run, ${u.warmTotal} during all warm runs; ` +
      `${json.upstream.tunnels} tunnels through ${json.upstream.kind}`,
  );
  say(
    `load average (1 min) before ${json.loadAverageBefore.toFixed(2)}, after ${json.loadAverageAfter.toFixed(2)} on ${json.machine.cpus} CPUs`,
  );
  for (const n of json.notes) say(`note: ${n}`);
}

/** JSON as the repository's prettier writes it. */
export async function writeJson(file, json) {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  let out = text;
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    out = await prettier.format(text, { ...options, parser: 'json' });
  } catch {
    // prettier is a dev dependency; plain JSON is fine without it.
  }
  await writeFile(file, out);
}
