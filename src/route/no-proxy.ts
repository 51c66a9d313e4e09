/**
 * Go's NO_PROXY semantics (golang.org/x/net/http/httpproxy, the code behind net/http's
 * ProxyFromEnvironment), compiled once into matchers. `direct` config entries use this
 * syntax, so a pattern means for corproxy exactly what it means for `go` itself.
 *
 * Where Go silently ignores an entry it cannot use (`:80`, `[::1]` without a port, a bad
 * CIDR, which Go turns into a domain that never matches), corproxy rejects it with
 * CPX_ERR_CONFIG_INVALID instead: a dead routing rule is a bug the user wants to hear about.
 */
import { domainToASCII } from 'node:url';
import { CorproxyError } from '../errors.js';

/** One compiled routing rule: does a connection to host:port go direct? */
export interface DirectRule {
  /** The pattern as written in the configuration. */
  readonly pattern: string;
  /** How a route decision names this rule, e.g. `direct "*.corp.example"`. */
  readonly rule: string;
  matches(host: string, port: number): boolean;
}

/** A target host as the matchers see it. */
export interface HostView {
  /** Lower-case; names in punycode without one trailing dot; IP literals as written. */
  readonly name: string;
  /** IP bytes in Go's comparison form (IPv4 and IPv4-mapped IPv6: 4 bytes), else null. */
  readonly ip: Uint8Array | null;
}

const LABEL = /^[a-z0-9_-]+$/;
const DIGITS = /^[0-9]+$/;
const PORT = /^[1-9][0-9]{0,4}$/;
const V4_PART = /^(?:0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-f]{1,4}$/i;

function invalid(pattern: string, why: string): CorproxyError {
  return new CorproxyError('CPX_ERR_CONFIG_INVALID', `direct pattern "${pattern}": ${why}`, {
    details: { pattern },
  });
}

/** Strict dotted decimal, as Go's netip.ParseAddr (no leading zeros, no short forms). */
function parseIPv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] as string;
    if (!V4_PART.test(part) || Number(part) > 255) return null;
    out[i] = Number(part);
  }
  return out;
}

/** Hex groups of one side of `::`; an IPv4 tail counts as two groups. */
function parseGroups(s: string, allowV4Tail: boolean): number[] | null {
  if (s === '') return [];
  const groups: number[] = [];
  const parts = s.split(':');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (allowV4Tail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === null) return null;
      groups.push(((v4[0] as number) << 8) | (v4[1] as number));
      groups.push(((v4[2] as number) << 8) | (v4[3] as number));
    } else if (V6_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return groups;
}

/** RFC 4291 §2.2 text forms, with Go's rule that `::` stands for at least one group. */
function parseIPv6(s: string): Uint8Array | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0] as string, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string, true) : [];
  if (head === null || tail === null) return null;
  const used = head.length + tail.length;
  if (halves.length === 1 ? used !== 8 : used > 7) return null;
  const groups = [...head, ...new Array<number>(8 - used).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(ip: Uint8Array): boolean {
  return (
    ip.length === 16 &&
    ip.subarray(0, 10).every((b) => b === 0) &&
    ip[10] === 0xff &&
    ip[11] === 0xff
  );
}

/** Go compares IPv4-mapped IPv6 addresses as IPv4 (net.IP.To4), so corproxy does too. */
function canonical(ip: Uint8Array): Uint8Array {
  return isV4Mapped(ip) ? ip.slice(12) : ip;
}

/** An IP literal without zone (Go's net.ParseIP), in canonical form. */
function parseIp(s: string): Uint8Array | null {
  const ip = s.includes(':') ? parseIPv6(s) : parseIPv4(s);
  return ip === null ? null : canonical(ip);
}

/** A target host IP literal; IPv6 may carry a zone (`fe80::1%eth0`), ignored as Go does. */
function parseTargetIp(host: string): Uint8Array | null {
  const zone = host.indexOf('%');
  if (zone < 0) return parseIp(host);
  if (zone === host.length - 1 || !host.slice(0, zone).includes(':')) return null;
  return parseIp(host.slice(0, zone));
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function normalizeName(host: string): string {
  const lower = host.toLowerCase();
  const ascii = isAscii(host) ? lower : domainToASCII(host) || lower;
  return ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
}

let lastHost: string | undefined;
let lastView: HostView = Object.freeze({ name: '', ip: null });

/**
 * Normalises a target host once for all rules. A one-entry memo: decideRoute asks every
 * rule about the same host in a row, so each connection parses its host once.
 */
export function viewHost(host: string): HostView {
  if (host === lastHost) return lastView;
  const ip = parseTargetIp(host);
  lastView = Object.freeze({ name: ip === null ? normalizeName(host) : host.toLowerCase(), ip });
  lastHost = host;
  return lastView;
}

/** Go's `http.ProxyFromEnvironment` never proxies these, whatever NO_PROXY says. */
export function goNeverProxies(host: string): boolean {
  // Go compares before lower-casing: `LOCALHOST` and `localhost.` are proxied.
  if (host === 'localhost') return true;
  const ip = parseTargetIp(host);
  if (ip === null) return false;
  return ip.length === 4 ? ip[0] === 127 : ip.every((b, i) => b === (i === 15 ? 1 : 0));
}

/** Splits a NO_PROXY value like Go: on commas, trimmed, lower-cased, empties dropped. */
export function parseNoProxyList(value: string): string[] {
  return value
    .split(',')
    .map((p) => p.trim().toLowerCase())
    .filter((p) => p !== '');
}

function makeRule(pattern: string, test: (view: HostView, port: number) => boolean): DirectRule {
  return Object.freeze({
    pattern,
    rule: `direct "${pattern}"`,
    matches: (host: string, port: number) => test(viewHost(host), port),
  });
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((a[whole] as number) & mask) === ((b[whole] as number) & mask);
}

/** Zeroes every bit after the first `bits` (net.IP.Mask). */
function maskTo(ip: Uint8Array, bits: number): Uint8Array {
  return ip.map((b, i) => {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** Go's net.ParseCIDR + IPNet.Contains, including its IPv4-mapped special case. */
function compileCidr(pattern: string, p: string): DirectRule {
  const [addr = '', bitsText = '', extra] = p.split('/');
  if (extra !== undefined) throw invalid(pattern, 'more than one "/"');
  if (addr.includes('%')) throw invalid(pattern, 'a CIDR cannot carry an IPv6 zone');
  const raw = addr.includes(':') ? parseIPv6(addr) : parseIPv4(addr);
  if (raw === null) {
    throw invalid(pattern, `"${addr}" is not an IP address (CIDR is address/prefix-length)`);
  }
  if (!DIGITS.test(bitsText) || Number(bitsText) > raw.length * 8) {
    throw invalid(pattern, `prefix length must be 0-${raw.length * 8}; a CIDR cannot take a port`);
  }
  let bits = Number(bitsText);
  let net = maskTo(raw, bits);
  // A v6 network that is still IPv4-mapped after masking acts as an IPv4 one in Go.
  if (isV4Mapped(net)) {
    net = net.slice(12);
    bits -= 96;
  }
  const network = net;
  return makeRule(
    pattern,
    (v) => v.ip !== null && v.ip.length === network.length && prefixEqual(v.ip, network, bits),
  );
}

/** Port text after `host:`: Go compares it as a string, so only canonical numbers can match. */
function parsePort(pattern: string, text: string): number {
  if (!PORT.test(text) || Number(text) > 65535) {
    throw invalid(pattern, `port "${text}" is not a number 1-65535 (no leading zeros)`);
  }
  return Number(text);
}

/** Go's net.SplitHostPort as used by httpproxy: null port when there is no port part. */
function splitHostPort(pattern: string, p: string): { host: string; port: number | null } {
  if (p.startsWith('[')) {
    const end = p.indexOf(']');
    if (end < 0) throw invalid(pattern, 'missing "]"');
    if (end === p.length - 1) {
      throw invalid(
        pattern,
        'brackets need a port ("[::1]:80"); write a bare IPv6 address without them',
      );
    }
    if (p[end + 1] !== ':') throw invalid(pattern, 'expected ":port" after "]"');
    const host = p.slice(1, end);
    if (/[[\]]/.test(host)) throw invalid(pattern, 'stray "[" or "]"');
    return { host, port: parsePort(pattern, p.slice(end + 2)) };
  }
  const colon = p.lastIndexOf(':');
  // No colon, or more than one (a bare IPv6 address): the whole entry is the host.
  if (colon < 0 || p.slice(0, colon).includes(':')) return { host: p, port: null };
  return { host: p.slice(0, colon), port: parsePort(pattern, p.slice(colon + 1)) };
}

function portOk(want: number | null, port: number): boolean {
  return want === null || want === port;
}

function compileIp(pattern: string, ip: Uint8Array, want: number | null): DirectRule {
  return makeRule(
    pattern,
    (v, port) =>
      v.ip !== null &&
      v.ip.length === ip.length &&
      v.ip.every((b, i) => b === ip[i]) &&
      portOk(want, port),
  );
}

/** The punycode form of a pattern's domain, or an error saying what is wrong with it. */
function patternDomain(pattern: string, name: string): string {
  if (name === '') throw invalid(pattern, 'no domain name');
  if (name === '*')
    throw invalid(pattern, '"*" matches everything only on its own, without a port');
  const ascii = isAscii(name) ? name : domainToASCII(name);
  if (ascii === '')
    throw invalid(pattern, `"${name}" is not a valid internationalised domain name`);
  const labels = ascii.split('.');
  if (!labels.every((l) => LABEL.test(l))) {
    const allowed = 'letters, digits, "-", "_"; "*" only as a leading "*."';
    throw invalid(pattern, `"${name}" is not a domain name (${allowed})`);
  }
  if (labels.every((l) => DIGITS.test(l))) {
    throw invalid(pattern, 'looks like part of an IP address; use a CIDR such as 10.0.0.0/8');
  }
  return ascii;
}

/** `foo.com` = foo.com and subdomains; `.foo.com` / `*.foo.com` = subdomains only. */
function compileDomain(pattern: string, host: string, want: number | null): DirectRule {
  const subdomainsOnly = host.startsWith('*.') || host.startsWith('.');
  let name = subdomainsOnly ? host.slice(host.indexOf('.') + 1) : host;
  if (name.endsWith('.')) name = name.slice(0, -1);
  const ascii = patternDomain(pattern, name);
  const suffix = `.${ascii}`;
  return makeRule(
    pattern,
    (v, port) =>
      v.ip === null &&
      (v.name.endsWith(suffix) || (!subdomainsOnly && v.name === ascii)) &&
      portOk(want, port),
  );
}

/**
 * Compiles one NO_PROXY entry: `*`, a CIDR, an IP with optional port, or a domain with
 * optional port. IP and CIDR entries match only IP-literal targets (no DNS lookups);
 * domain entries match only names, never IP literals (Go since the fix for
 * CVE-2025-22870, where an IPv6 zone such as `[::1%25.corp.example]` matched a domain).
 */
export function compileNoProxyPattern(pattern: string): DirectRule {
  const p = pattern.trim().toLowerCase();
  if (p === '') throw invalid(pattern, 'empty pattern');
  if (p === '*') return makeRule(pattern, () => true);
  if (p.includes('/')) return compileCidr(pattern, p);
  const { host, port } = splitHostPort(pattern, p);
  if (host === '') throw invalid(pattern, 'no host before the port');
  if (host.includes('%')) throw invalid(pattern, 'IPv6 zones are not supported in patterns');
  const ip = parseIp(host);
  if (ip !== null) return compileIp(pattern, ip, port);
  if (host.includes(':')) throw invalid(pattern, `"${host}" is not a valid IPv6 address`);
  return compileDomain(pattern, host, port);
}
