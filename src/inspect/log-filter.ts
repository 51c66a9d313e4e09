/**
 * Selecting connection records for `corproxy log`: `--since`, `--host`, `--errors`. Pure;
 * the clock is a parameter. Bad option values are CPX_ERR_USAGE (exit 2).
 */
import { CorproxyError } from '../errors.js';
import type { ConnectionRecord } from '../events.js';

/** What the log command keeps; every field is optional. */
export interface LogFilter {
  /** Epoch milliseconds; records before it are dropped. */
  readonly since?: number;
  /** A compiled `--host` pattern. */
  readonly host?: (host: string, port: number | undefined) => boolean;
  /** Only failed connections. */
  readonly errorsOnly?: boolean;
}

const UNIT_MS: Readonly<Record<string, number>> = Object.freeze({
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
});

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
/** An ISO 8601 date, optionally with a time; Date.parse alone would take "1" or "May 5". */
const ISO = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

function usage(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_USAGE', message);
}

/**
 * `--since`: a duration back from now (`90s`, `10m`, `2h`, `1d`, `1h30m`) or an ISO 8601
 * time (`2026-11-21`, `2026-11-21T07:30:00Z`). Returns epoch milliseconds.
 */
export function parseSince(text: string, now: number): number {
  const value = text.trim();
  if (DURATION.test(value)) {
    let ms = 0;
    for (const m of value.matchAll(DURATION_PART)) {
      ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    }
    return now - ms;
  }
  if (ISO.test(value)) {
    const t = Date.parse(value.replace(' ', 'T'));
    if (!Number.isNaN(t)) return t;
  }
  throw usage(
    `--since ${JSON.stringify(text)}: expected a duration such as 10m, 2h, 1d or an ISO time such as 2026-11-21T07:30:00Z`,
  );
}

export interface TargetParts {
  /** Lower-case host without IPv6 brackets; the raw target when it has no host. */
  readonly host: string;
  readonly port: number | undefined;
}

/** Host and port of a logged target: `host:port`, `[v6]:port` or an absolute `http://` URI. */
export function targetParts(target: string): TargetParts {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    try {
      const url = new URL(target);
      const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      return { host, port };
    } catch {
      return { host: target.toLowerCase(), port: undefined };
    }
  }
  const v6 = /^\[([^\]]*)\]:(\d+)$/.exec(target);
  if (v6) return { host: (v6[1] as string).toLowerCase(), port: Number(v6[2]) };
  const m = /^([^:]*):(\d+)$/.exec(target);
  if (m) return { host: (m[1] as string).toLowerCase(), port: Number(m[2]) };
  return { host: target.toLowerCase(), port: undefined };
}

function globToRegExp(glob: string): RegExp {
  const body = Array.from(glob)
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'i');
}

/**
 * `--host`: a glob over the target host (`*` any run of characters, `?` one), matched
 * case-insensitively; with a `:port` suffix (`*.corp.example:8443`) the port must match too.
 * `github.com` matches github.com only; `*github.com` also its subdomains.
 */
export function compileHostPattern(pattern: string): (host: string, port?: number) => boolean {
  const p = pattern.trim();
  if (p === '' || /[\s,]/.test(p)) {
    throw usage(`--host ${JSON.stringify(pattern)}: give one host glob such as *.corp.example`);
  }
  // `[v6]:port`, or `host:port` with one colon; a bare IPv6 address has no port part.
  const m = /^\[(.*)\]:(\d+|\*)$/.exec(p) ?? /^([^:]*):(\d+|\*)$/.exec(p);
  const hostGlob = globToRegExp(m ? (m[1] as string) : p.replace(/^\[(.*)\]$/, '$1'));
  const portText = m?.[2];
  return (host, port) =>
    hostGlob.test(host) &&
    (portText === undefined || portText === '*' || String(port ?? '') === portText);
}

/** A failed connection: outcome error or timeout, or any record that carries an error. */
export function isFailure(r: ConnectionRecord): boolean {
  return r.outcome === 'error' || r.outcome === 'timeout' || r.error !== undefined;
}

/** True when the record passes every part of the filter. */
export function matchesFilter(r: ConnectionRecord, filter: LogFilter): boolean {
  if (filter.since !== undefined) {
    const t = Date.parse(r.time);
    if (Number.isNaN(t) || t < filter.since) return false;
  }
  if (filter.errorsOnly === true && !isFailure(r)) return false;
  if (filter.host !== undefined) {
    const { host, port } = targetParts(r.target);
    if (!filter.host(host, port)) return false;
  }
  return true;
}
