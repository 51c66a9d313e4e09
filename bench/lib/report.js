/** The result table on stdout and the machine description for the JSON file. */
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { passes, TARGETS } from './targets.js';
import { round } from './stats.js';

const NAMES = {
  W1: 'W1 bulk throughput, one tunnel',
  W2: 'W2 CONNECT + round trip p50',
  W3: 'W3 tunnels/s, 64 clients',
  W4: 'W4 RSS per idle tunnel',
  W5: 'W5 plain-HTTP forward req/s',
};

function fmt(x, unit) {
  if (!Number.isFinite(x)) return '-';
  if (unit === 'MB/s' || unit === 'tunnels/s' || unit === 'req/s') return `${Math.round(x)}`;
  return `${round(x, 1)}`;
}

/** Rows for the table and the JSON `verdicts`, one per workload and topology. */
export function verdicts(results) {
  const rows = [];
  for (const topology of ['single', 'chained']) {
    for (const [w, spec] of Object.entries(TARGETS[topology])) {
      const r = results[topology]?.[w];
      if (r === undefined) continue;
      const value = w === 'W4' ? r.perTunnelKiB : r.ratio;
      const ok = passes(value, spec) && (w !== 'W4' || r.opened === r.requested);
      rows.push({
        topology,
        workload: w,
        name: NAMES[w],
        unit: w === 'W4' ? 'KiB' : r.unit,
        direct: w === 'W4' ? undefined : r.direct,
        proxy: w === 'W4' ? r.perTunnelKiB : r.proxy,
        value,
        target: spec.target,
        better: spec.better,
        peer: spec.peer,
        peerName: spec.peerName,
        pass: ok,
        ...(w === 'W4' ? { opened: r.opened, requested: r.requested } : {}),
      });
    }
  }
  return rows;
}

function pad(s, n, right = false) {
  const t = String(s);
  return right ? t.padStart(n) : t.padEnd(n);
}

export function printTable(rows, write = (s) => process.stdout.write(s)) {
  const head = [
    pad('topology', 9),
    pad('workload', 32),
    pad('unit', 10),
    pad('direct', 9, true),
    pad('corproxy', 10, true),
    pad('ratio', 8, true),
    pad('target', 9, true),
    pad('best peer', 10, true),
    '  result',
  ].join(' ');
  write(`${head}\n${'-'.repeat(head.length)}\n`);
  for (const r of rows) {
    const cmp = r.better === 'higher' ? '>=' : '<=';
    const isW4 = r.workload === 'W4';
    const value = isW4 ? `${round(r.value, 1)}` : `${round(r.value, 2)}x`;
    const target = isW4 ? `${cmp}${r.target}` : `${cmp}${r.target}x`;
    const peer = isW4 ? `${r.peer}` : `${r.peer}x`;
    const extra = isW4 ? ` (${r.opened}/${r.requested} open)` : '';
    write(
      `${[
        pad(r.topology, 9),
        pad(r.name, 32),
        pad(r.unit, 10),
        pad(isW4 ? '-' : fmt(r.direct, r.unit), 9, true),
        pad(fmt(r.proxy, r.unit), 10, true),
        pad(isW4 ? '' : value, 8, true),
        pad(target, 9, true),
        pad(peer, 10, true),
        `  ${r.pass ? 'PASS' : 'FAIL'}${extra}`,
      ].join(' ')}\n`,
    );
  }
}

/** CPU model, cores, memory, kernel, Node: what a reader needs to compare runs. */
export function describeMachine() {
  const cpus = os.cpus();
  let fdHard;
  try {
    fdHard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  } catch {
    fdHard = undefined;
  }
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    fdHardLimit: fdHard,
  };
}

/** Share of all CPUs busy over `ms` (other people's work when the harness is idle). */
export async function backgroundLoad(ms = 1000) {
  const read = () => {
    const f = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    const idle = f[3] + (f[4] ?? 0);
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await new Promise((r) => setTimeout(r, ms));
  const b = read();
  return round(1 - (b.idle - a.idle) / Math.max(1, b.total - a.total), 2);
}
