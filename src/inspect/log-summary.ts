/**
 * `corproxy log --summary`: one line per target host with connection and error counts,
 * bytes, connect-time percentiles and the latest interception verdict. Pure.
 */
import type { ConnectionRecord } from '../events.js';
import { isFailure, targetParts } from './log-filter.js';

export interface HostSummary {
  readonly host: string;
  readonly connections: number;
  readonly errors: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** Nearest-rank percentiles of connectMs over the records that have it. */
  readonly connectMsP50?: number;
  readonly connectMsP95?: number;
  /** The verdict of the host's most recent record that carries one. */
  readonly verdict?: string;
  readonly vendor?: string;
  /** The error code seen most often for this host. */
  readonly topError?: string;
  readonly lastSeen: string;
}

/**
 * Nearest-rank percentile (the smallest value with at least p% of values at or below it),
 * so every reported value is one that was measured. `sorted` must be ascending.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)];
}

interface Acc {
  connections: number;
  errors: number;
  bytesUp: number;
  bytesDown: number;
  connectMs: number[];
  verdict?: string;
  vendor?: string;
  verdictTime: string;
  codes: Map<string, number>;
  lastSeen: string;
}

function fresh(): Acc {
  return {
    connections: 0,
    errors: 0,
    bytesUp: 0,
    bytesDown: 0,
    connectMs: [],
    verdictTime: '',
    codes: new Map(),
    lastSeen: '',
  };
}

function add(acc: Acc, r: ConnectionRecord): void {
  acc.connections++;
  if (isFailure(r)) acc.errors++;
  if (r.error) acc.codes.set(r.error.code, (acc.codes.get(r.error.code) ?? 0) + 1);
  acc.bytesUp += r.bytesUp;
  acc.bytesDown += r.bytesDown;
  if (typeof r.connectMs === 'number' && Number.isFinite(r.connectMs)) {
    acc.connectMs.push(r.connectMs);
  }
  // ISO times in UTC compare as strings; the latest verdict wins, ties go to the later line.
  if (r.tls && r.time >= acc.verdictTime) {
    acc.verdict = r.tls.verdict;
    acc.vendor = r.tls.vendor;
    acc.verdictTime = r.time;
  }
  if (r.time > acc.lastSeen) acc.lastSeen = r.time;
}

function topCode(codes: ReadonlyMap<string, number>): string | undefined {
  let best: [string, number] | undefined;
  for (const entry of codes) {
    if (best === undefined || entry[1] > best[1]) best = entry;
  }
  return best?.[0];
}

function finish(host: string, acc: Acc): HostSummary {
  const sorted = [...acc.connectMs].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const top = topCode(acc.codes);
  return {
    host,
    connections: acc.connections,
    errors: acc.errors,
    bytesUp: acc.bytesUp,
    bytesDown: acc.bytesDown,
    ...(p50 !== undefined && { connectMsP50: p50 }),
    ...(p95 !== undefined && { connectMsP95: p95 }),
    ...(acc.verdict !== undefined && { verdict: acc.verdict }),
    ...(acc.vendor !== undefined && { vendor: acc.vendor }),
    ...(top !== undefined && { topError: top }),
    lastSeen: acc.lastSeen,
  };
}

/** Per-host summaries, busiest host first (then by name, for a stable order). */
export function summarize(records: readonly ConnectionRecord[]): HostSummary[] {
  const byHost = new Map<string, Acc>();
  for (const r of records) {
    const host = targetParts(r.target).host;
    let acc = byHost.get(host);
    if (acc === undefined) {
      acc = fresh();
      byHost.set(host, acc);
    }
    add(acc, r);
  }
  return [...byHost]
    .map(([host, acc]) => finish(host, acc))
    .sort((a, b) => b.connections - a.connections || (a.host < b.host ? -1 : 1));
}
