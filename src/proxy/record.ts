/**
 * Builds the one ConnectionRecord per connection and hands it to the log and metrics.
 */
import type { ConnectionRecord, Outcome, RouteKind, TlsSummary } from '../events.js';
import { asCorproxyError, statusOf } from '../errors.js';
import { isoTime } from '../log/record-line.js';
import type { ServerState } from './state.js';

type Writable<T> = { -readonly [K in keyof T]: T[K] };

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
  // Fields assigned in ConnectionRecord's order (record-line.ts writes them so), without
  // spreading a temporary object per optional field.
  const record: Writable<ConnectionRecord> = {
    time: isoTime(start.startedAt),
    id: start.id,
    client: start.client,
    method: start.method,
    target: start.target,
    route: end.route,
    rule: end.rule,
  } as Writable<ConnectionRecord>;
  if (end.upstream !== undefined) record.upstream = end.upstream;
  record.status = err !== undefined && end.status === 0 ? statusOf(err.code) : end.status;
  record.outcome = end.outcome;
  if (err !== undefined) record.error = { code: err.code, message: err.message };
  record.bytesUp = end.bytesUp ?? 0;
  record.bytesDown = end.bytesDown ?? 0;
  if (end.connectMs !== undefined) record.connectMs = end.connectMs;
  record.durationMs = state.clock() - start.startedAt;
  if (end.tls !== undefined) record.tls = end.tls;
  state.metrics.record(record);
  state.sink.write(record);
  return record;
}
