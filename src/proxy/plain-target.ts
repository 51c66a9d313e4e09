/**
 * The common shapes of request-targets, split by one pass over their characters:
 * `http://name[:port]/path[?query]` that the WHATWG URL parser would return unchanged,
 * and CONNECT's `name:port` that the authority parser would return unchanged. A URL object per request, or one regular expression and the host checks,
 * cost 1-2 µs of the plain-HTTP fast path's budget (bench/README.md, sixth round).
 * Anything else is undefined, and the caller parses it the long way (http1.ts); tests
 * hold the two to the same answers. Pure.
 */
import type { AbsoluteTarget, Target } from './http1.js';

const PREFIX = 'http://';
const DOT = 0x2e;
const HYPHEN = 0x2d;
const COLON = 0x3a;
const SLASH = 0x2f;
const QUESTION = 0x3f;
const PERCENT = 0x25;

/** Path bytes the URL parser neither percent-encodes nor reinterprets (1), plus `?` (2). */
const PATH_BYTE = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&()*+,;=:@/%') {
  PATH_BYTE[c.charCodeAt(0)] = 1;
}
PATH_BYTE[QUESTION] = 2;

function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * End of a lower-case DNS name starting at `start`: labels of 1-63 letters, digits and
 * inner hyphens, none starting `xn--` (punycode, which URL validates), the last starting
 * with a letter (so never an IPv4 form URL would rewrite), 253 characters at most; -1
 * when the name is not of that shape.
 */
function nameEnd(raw: string, start: number): number {
  let label = start;
  let i = start;
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === DOT) {
      if (!labelOk(raw, label, i)) return -1;
      label = i + 1;
    } else if (!isLower(c) && !isDigit(c) && c !== HYPHEN) break;
  }
  if (!labelOk(raw, label, i) || !isLower(raw.charCodeAt(label))) return -1;
  return i - start <= 253 ? i : -1;
}

function labelOk(raw: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > 63) return false;
  if (raw.charCodeAt(start) === HYPHEN || raw.charCodeAt(end - 1) === HYPHEN) return false;
  return !raw.startsWith('xn--', start);
}

/** The port after `:` at `start` (1-65535, no leading zero) and where it ends, or undefined. */
function portAt(raw: string, start: number): [number, number] | undefined {
  let port = 0;
  let i = start;
  for (; i < raw.length && i - start < 6; i++) {
    const c = raw.charCodeAt(i);
    if (!isDigit(c)) break;
    port = port * 10 + (c - 0x30);
  }
  if (i === start || raw.charCodeAt(start) === 0x30 || port > 65535) return undefined;
  return [port, i];
}

/**
 * Whether raw[start..] is a path and optional non-empty query of plain bytes with no dot
 * segment (`/.`) or encoded dot (`%2e`), which URL would resolve.
 */
function plainPath(raw: string, start: number): boolean {
  let query = -1;
  for (let i = start; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    const kind = c < 128 ? PATH_BYTE[c]! : 0;
    if (kind === 0) return false;
    if (kind === 2 && query < 0) query = i;
    if (c === DOT && raw.charCodeAt(i - 1) === SLASH) return false;
    if (
      c === PERCENT &&
      raw.charCodeAt(i + 1) === 0x32 &&
      (raw.charCodeAt(i + 2) | 0x20) === 0x65
    ) {
      return false;
    }
  }
  return query !== raw.length - 1;
}

export function splitPlainTarget(raw: string): AbsoluteTarget | undefined {
  if (!raw.startsWith(PREFIX)) return undefined;
  const hostEnd = nameEnd(raw, PREFIX.length);
  if (hostEnd < 0) return undefined;
  let port = 80;
  let pathStart = hostEnd;
  if (raw.charCodeAt(hostEnd) === COLON) {
    const parsed = portAt(raw, hostEnd + 1);
    if (parsed === undefined) return undefined;
    [port, pathStart] = parsed;
  }
  if (raw.charCodeAt(pathStart) !== SLASH || !plainPath(raw, pathStart)) return undefined;
  return { host: raw.slice(PREFIX.length, hostEnd), port, path: raw.slice(pathStart) };
}

/**
 * CONNECT's authority-form `name:port` (RFC 9112 §3.2.3) with a name of nameEnd's shape
 * and a port of portAt's; anything else is undefined.
 */
export function splitPlainAuthority(raw: string): Target | undefined {
  const hostEnd = nameEnd(raw, 0);
  if (hostEnd < 0 || raw.charCodeAt(hostEnd) !== COLON) return undefined;
  const parsed = portAt(raw, hostEnd + 1);
  if (parsed === undefined || parsed[1] !== raw.length) return undefined;
  return { host: raw.slice(0, hostEnd), port: parsed[0] };
}
