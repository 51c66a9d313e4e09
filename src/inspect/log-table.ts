/**
 * The text tables of `corproxy log`: one row per connection (with the error on a second
 * line) and one row per host for `--summary`. Rows fit `width` columns (at least 80);
 * the target or host column takes what the fixed columns leave and is cut with an
 * ellipsis at its start, keeping domain and port visible. Pure.
 */
import type { ConnectionRecord } from '../events.js';
import {
  calendarDay,
  clockTime,
  formatBytes,
  formatDuration,
  formatRow,
  printable,
  truncateEnd,
  type Column,
  type TimeOptions,
} from './format.js';
import type { HostSummary } from './log-summary.js';

export interface TableOptions extends TimeOptions {
  /** Terminal width; narrower than 80 is treated as 80. */
  readonly width: number;
}

/** Never narrower than this, so the fixed columns keep a usable target column. */
export const MIN_WIDTH = 80;
const ERROR_INDENT = ' '.repeat(9);

function flexWidth(opts: TableOptions, fixed: readonly number[]): number {
  const used = fixed.reduce((a, b) => a + b, 0) + fixed.length;
  return Math.max(MIN_WIDTH, Math.floor(opts.width) || MIN_WIDTH) - used;
}

function recordColumns(opts: TableOptions): Column[] {
  const fixed = [8, 8, 4, 6, 6, 12];
  return [
    { width: 8, align: 'left' },
    { width: flexWidth(opts, fixed), align: 'left', cut: 'start' },
    { width: 8, align: 'left' },
    { width: 4, align: 'right' },
    { width: 6, align: 'right' },
    { width: 6, align: 'right' },
    { width: 12, align: 'left' },
  ];
}

/** The header line of the connection table. */
export function recordHeader(opts: TableOptions): string {
  return formatRow(['TIME', 'TARGET', 'ROUTE', 'HTTP', 'BYTES', 'DUR', 'TLS'], recordColumns(opts));
}

/**
 * An absolute URI (plain-HTTP forwarding) keeps its start, scheme and host; the column
 * cuts everything else at its start, where an authority-form target has the least to say.
 */
function targetCell(target: string, width: number): string {
  const text = printable(target);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? truncateEnd(text, width) : text;
}

/** The row of one record, plus an indented line with the error code and message. */
export function recordLines(r: ConnectionRecord, opts: TableOptions): string[] {
  const columns = recordColumns(opts);
  const row = formatRow(
    [
      clockTime(r.time, opts),
      targetCell(r.target, columns[1]?.width ?? 0),
      r.route,
      r.status > 0 ? String(r.status) : '-',
      formatBytes(r.bytesUp + r.bytesDown),
      formatDuration(r.durationMs),
      printable(r.tls?.verdict ?? '-'),
    ],
    columns,
  );
  const lines = [row];
  const problem = r.error
    ? `${r.error.code} ${r.error.message}`
    : r.outcome === 'timeout'
      ? 'timed out'
      : undefined;
  if (problem !== undefined) {
    const width = Math.max(MIN_WIDTH, opts.width) - ERROR_INDENT.length;
    lines.push(`${ERROR_INDENT}${truncateEnd(printable(problem), width)}`);
  }
  return lines;
}

/**
 * A row printer that inserts a `-- YYYY-MM-DD` line whenever the day changes, so the
 * HH:MM:SS column stays short; `--follow` keeps one across batches.
 */
export function createRecordPrinter(opts: TableOptions): (r: ConnectionRecord) => string[] {
  let day: string | undefined;
  return (r) => {
    const today = calendarDay(r.time, opts);
    const lines = today !== day && today !== '' ? [`-- ${today}`] : [];
    if (today !== '') day = today;
    return [...lines, ...recordLines(r, opts)];
  };
}

/** Header plus rows for a batch of records. */
export function recordTable(records: readonly ConnectionRecord[], opts: TableOptions): string[] {
  const print = createRecordPrinter(opts);
  return [recordHeader(opts), ...records.flatMap(print)];
}

function summaryColumns(opts: TableOptions): Column[] {
  const fixed = [6, 5, 6, 6, 6, 14];
  return [
    { width: flexWidth(opts, fixed), align: 'left', cut: 'start' },
    { width: 6, align: 'right' },
    { width: 5, align: 'right' },
    { width: 6, align: 'right' },
    { width: 6, align: 'right' },
    { width: 6, align: 'right' },
    { width: 14, align: 'left' },
  ];
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : formatDuration(value);
}

/** The `--summary` table: one row per host. */
export function summaryTable(rows: readonly HostSummary[], opts: TableOptions): string[] {
  const columns = summaryColumns(opts);
  const header = formatRow(['HOST', 'CONNS', 'ERRS', 'BYTES', 'P50', 'P95', 'TLS'], columns);
  const body = rows.map((s) =>
    formatRow(
      [
        printable(s.host),
        String(s.connections),
        String(s.errors),
        formatBytes(s.bytesUp + s.bytesDown),
        ms(s.connectMsP50),
        ms(s.connectMsP95),
        printable(s.verdict ?? '-'),
      ],
      columns,
    ),
  );
  return [header, ...body];
}
