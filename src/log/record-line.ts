/**
 * The JSON text of a connection record's log line, written field by field. It equals
 * `JSON.stringify({ time, level: 'info', ...record })` for a record whose fields come in
 * ConnectionRecord's order (finishRecord builds them so), at about a third of its cost:
 * V8's generic serializer walked the record's shape and the copy made to put `level`
 * second, 1 µs per line, a few per cent of the daemon's CPU per plain-HTTP request
 * (bench/README.md, sixth round). Also the ISO time of a record, cached per second.
 * Pure but for the one-entry cache.
 */
import type { ConnectionRecord, TlsSummary } from '../events.js';

/** Characters JSON.stringify writes as they are: printable ASCII but `"` and `\`. */
export const JSON_SAFE = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quoted(text: string): string {
  return JSON_SAFE.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** As JSON.stringify writes a number: finite ones as JavaScript prints them, others as null. */
function numeric(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

function tlsText(tls: TlsSummary): string {
  let text = `{"verdict":${quoted(tls.verdict)}`;
  if (tls.vendor !== undefined) text += `,"vendor":${quoted(tls.vendor)}`;
  if (tls.caSubject !== undefined) text += `,"caSubject":${quoted(tls.caSubject)}`;
  if (tls.caSha256 !== undefined) text += `,"caSha256":${quoted(tls.caSha256)}`;
  return `${text}}`;
}

/** The line's JSON text, `level` "info" second (read-log.ts reads it back). */
export function recordLine(r: ConnectionRecord): string {
  let text = `{"time":${quoted(r.time)},"level":"info","id":${numeric(r.id)}`;
  text += `,"client":${quoted(r.client)},"method":${quoted(r.method)}`;
  text += `,"target":${quoted(r.target)},"route":${quoted(r.route)},"rule":${quoted(r.rule)}`;
  if (r.upstream !== undefined) text += `,"upstream":${quoted(r.upstream)}`;
  text += `,"status":${numeric(r.status)},"outcome":${quoted(r.outcome)}`;
  if (r.error !== undefined) {
    text += `,"error":{"code":${quoted(r.error.code)},"message":${quoted(r.error.message)}}`;
  }
  text += `,"bytesUp":${numeric(r.bytesUp)},"bytesDown":${numeric(r.bytesDown)}`;
  if (r.connectMs !== undefined) text += `,"connectMs":${numeric(r.connectMs)}`;
  text += `,"durationMs":${numeric(r.durationMs)}`;
  if (r.tls !== undefined) text += `,"tls":${tlsText(r.tls)}`;
  return `${text}}`;
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()`, which formats through a C printf, about 0.5 µs a call:
 * the text up to the seconds is kept for the last second seen, and only the
 * milliseconds are written per record.
 */
export function isoTime(ms: number): string {
  // As Date does (TimeClip): fractions cut toward zero.
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== cachedSecond || !Number.isFinite(second)) {
    const full = new Date(whole).toISOString();
    // Years beyond 9999 or before 0 have a longer, signed form: not cached.
    if (full.length !== 24) return full;
    cachedSecond = second;
    cachedPrefix = full.slice(0, 20);
  }
  const milli = whole - second * 1000;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
