/**
 * Small text formatters shared by `status`, `log` and `explain`: byte counts, durations,
 * clock times and fixed-width columns for an 80-column terminal. Pure.
 */

/** One character that says "there was more here". */
export const ELLIPSIS = '…';

const UNITS = ['K', 'M', 'G', 'T', 'P'] as const;

/** Binary-prefixed byte count in at most 6 characters: `512B`, `1.5K`, `14M`, `1023M`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  if (bytes < 1024) return `${Math.round(bytes)}B`;
  let value = bytes;
  let unit = 0;
  // Step up until the value fits in four digits; one decimal below ten.
  do {
    value /= 1024;
    unit++;
  } while (value >= 1023.5 && unit < UNITS.length);
  const text = value < 9.95 ? value.toFixed(1) : String(Math.round(value));
  return `${text}${UNITS[unit - 1] ?? 'P'}`;
}

/** A duration in at most 6 characters: `850ms`, `1.2s`, `42s`, `2m03s`, `1h05m`, `3d04h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 9.95) return `${s.toFixed(1)}s`;
  if (s < 59.5) return `${Math.round(s)}s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)}m${pad2(total % 60)}s`;
  if (total < 86400) return `${Math.floor(total / 3600)}h${pad2(Math.floor(total / 60) % 60)}m`;
  return `${Math.floor(total / 86400)}d${pad2(Math.floor(total / 3600) % 24)}h`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Which clock the table shows: the reader's local time or UTC (`--utc`, tests). */
export interface TimeOptions {
  readonly utc: boolean;
}

/** `HH:MM:SS` of an ISO time; `?` for text that is not a time. */
export function clockTime(iso: string, opts: TimeOptions): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '?'.padEnd(8);
  const [h, m, s] = opts.utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return `${pad2(h)}:${pad2(m)}:${pad2(s)}`;
}

/** `YYYY-MM-DD` of an ISO time in the chosen clock; '' for text that is not a time. */
export function calendarDay(iso: string, opts: TimeOptions): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const [y, mo, day] = opts.utc
    ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()]
    : [d.getFullYear(), d.getMonth() + 1, d.getDate()];
  return `${y}-${pad2(mo)}-${pad2(day)}`;
}

/** ISO 8601 without milliseconds (`2026-11-21T07:35:00Z`): for people, in 80 columns. */
export function shortIso(text: string): string {
  return text.replace(/\.\d{3}Z$/, 'Z');
}

/** Cuts `text` to `width` characters, the last one an ellipsis. */
export function truncateEnd(text: string, width: number): string {
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  if (width <= 0) return '';
  return `${chars.slice(0, width - 1).join('')}${ELLIPSIS}`;
}

/**
 * Cuts `text` to `width` characters keeping its end, the first one an ellipsis: the end
 * of `objects.githubusercontent.com:443` (domain and port) says more than its start.
 */
export function truncateStart(text: string, width: number): string {
  const chars = Array.from(text);
  if (chars.length <= width) return text;
  if (width <= 0) return '';
  return `${ELLIPSIS}${chars.slice(chars.length - width + 1).join('')}`;
}

/** A column: its width, which side it is aligned to and how an overlong cell is cut. */
export interface Column {
  readonly width: number;
  readonly align: 'left' | 'right';
  readonly cut?: 'end' | 'start';
}

function cell(text: string, col: Column): string {
  const cut = col.cut === 'start' ? truncateStart(text, col.width) : truncateEnd(text, col.width);
  const pad = col.width - Array.from(cut).length;
  return col.align === 'right' ? `${' '.repeat(pad)}${cut}` : `${cut}${' '.repeat(pad)}`;
}

/** One table row: cells cut and padded to their columns, one space apart, no trailing space. */
export function formatRow(cells: readonly string[], columns: readonly Column[]): string {
  return columns
    .map((col, i) => cell(cells[i] ?? '', col))
    .join(' ')
    .trimEnd();
}

/** Text without control characters, so a hostile log line cannot drive the terminal. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}
