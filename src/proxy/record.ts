/**
 * Builds the one ConnectionRecord per connection and hands it to the log and metrics.
 */
import type { ConnectionRecord, Outcome, RouteKind, TlsSummary } from '../events.js';
import { asCorproxyError, statusOf } from '../errors.js';
import type { ServerState } from './state.js';

export interface RecordStart {
  readonly id: number;
  readonly startedAt: number;
  readonly client: string;
  readonly method: string;
  readonly target: string;
}

export interface RecordEnd {
  readonly route: RouteKind;
  readonly rule: string;
  readonly upstream?: string;
  readonly status: number;
  readonly outcome: Outcome;
  readonly error?: unknown;
  readonly bytesUp?: number;
  readonly bytesDown?: number;
  readonly connectMs?: number;
  readonly tls?: TlsSummary;
}

export function clientLabel(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return '-';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

export function finishRecord(
  state: ServerState,
  start: RecordStart,
  end: RecordEnd,
): ConnectionRecord {
  const err = end.error === undefined ? undefined : asCorproxyError(end.error);
  const record: ConnectionRecord = {
    time: new Date(start.startedAt).toISOString(),
    id: start.id,
    client: start.client,
    method: start.method,
    target: start.target,
    route: end.route,
    rule: end.rule,
    ...(end.upstream !== undefined ? { upstream: end.upstream } : {}),
    status: err !== undefined && end.status === 0 ? statusOf(err.code) : end.status,
    outcome: end.outcome,
    ...(err !== undefined ? { error: { code: err.code, message: err.message } } : {}),
    bytesUp: end.bytesUp ?? 0,
    bytesDown: end.bytesDown ?? 0,
    ...(end.connectMs !== undefined ? { connectMs: end.connectMs } : {}),
    durationMs: state.clock() - start.startedAt,
    ...(end.tls !== undefined ? { tls: end.tls } : {}),
  };
  state.metrics.record(record);
  state.sink.write(record);
  return record;
}
