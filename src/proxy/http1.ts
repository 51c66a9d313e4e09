/**
 * Pure HTTP/1.1 pieces corproxy needs beyond Node's own parser: request-target parsing
 * (RFC 9112 §3.2), the CONNECT request it sends upstream, an incremental reader for the
 * upstream's reply head, and hop-by-hop header handling (RFC 9110 §7.6.1).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { CorproxyError } from '../errors.js';
import { splitPlainAuthority, splitPlainTarget } from './plain-target.js';

export interface Target {
  /** Lower-case host name or IP literal, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
}

export interface AbsoluteTarget extends Target {
  /** origin-form path + query to send to the origin. */
  readonly path: string;
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function badTarget(raw: string, why: string): CorproxyError {
  const shown = raw.length > 100 ? `${raw.slice(0, 100)}...` : raw;
  return new CorproxyError('CPX_ERR_BAD_TARGET', `bad request target "${shown}": ${why}`);
}

function parsePort(raw: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) throw badTarget(raw, 'port is not a number');
  const port = Number(text);
  if (port < 1 || port > 65535) throw badTarget(raw, `port ${port} is outside 1-65535`);
  return port;
}

/** Validates and normalises a host: IP literal, or DNS name (IDNA to punycode). */
export function normalizeHost(raw: string, host: string): string {
  if (host === '') throw badTarget(raw, 'host is empty');
  if (isIP(host) !== 0) return host.toLowerCase();
  // Only non-ASCII names need IDNA: domainToASCII would also rewrite numeric-looking
  // names such as "1.2.3" into IPv4 form.
  const lower = host.toLowerCase();
  // domainToASCII parses like a URL host: '/', '?', '#', '%' and friends would cut or
  // decode the name instead of failing, so refuse them first.
  if (/[\s/?#%@\\:[\]]/.test(lower)) throw badTarget(raw, 'host is not a valid name');
  const ascii = /[^\x20-\x7e]/.test(lower) ? domainToASCII(lower) : lower;
  const name = ascii.endsWith('.') ? ascii.slice(0, -1) : ascii;
  if (name === '' || name.length > 253) throw badTarget(raw, 'host is not a valid name');
  for (const label of name.split('.')) {
    if (!HOST_LABEL.test(label)) throw badTarget(raw, 'host is not a valid name');
  }
  return name;
}

/** Splits `host:port` / `[v6]:port` / `host` (with defaultPort). */
export function splitHostPort(raw: string, defaultPort?: number): Target {
  let host: string;
  let portText: string | undefined;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close < 0) throw badTarget(raw, 'unclosed "[" in IPv6 address');
    host = raw.slice(1, close);
    const after = raw.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) throw badTarget(raw, 'junk after IPv6 address');
    portText = after === '' ? undefined : after.slice(1);
    if (isIP(host) !== 6) throw badTarget(raw, 'bracketed host is not an IPv6 address');
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon >= 0 && raw.indexOf(':') !== colon) {
      throw badTarget(raw, 'IPv6 addresses must be in brackets, e.g. [::1]:443');
    }
    host = colon < 0 ? raw : raw.slice(0, colon);
    portText = colon < 0 ? undefined : raw.slice(colon + 1);
  }
  if (portText === undefined) {
    if (defaultPort === undefined) throw badTarget(raw, 'port is missing (expected host:port)');
    return { host: normalizeHost(raw, host), port: defaultPort };
  }
  return { host: normalizeHost(raw, host), port: parsePort(raw, portText) };
}

/**
 * CONNECT's request-target is authority-form: host:port, port required (RFC 9112 §3.2.3).
 * The common plain shape is split in one pass (plain-target.ts); tests hold it to
 * splitHostPort's answers.
 */
export function parseConnectTarget(raw: string | undefined): Target {
  if (raw === undefined || raw === '') throw badTarget('', 'CONNECT needs host:port');
  return splitPlainAuthority(raw) ?? splitHostPort(raw);
}

/**
 * Absolute-form request-target for plain-HTTP forwarding (RFC 9112 §3.2.2). The common
 * plain shape is split in one pass (plain-target.ts); anything else goes to the parser.
 */
export function parseAbsoluteTarget(raw: string): AbsoluteTarget {
  return splitPlainTarget(raw) ?? parseAbsoluteTargetByUrl(raw);
}

/** The same answer from the WHATWG URL parser alone; tests hold the plain split to it. */
export function parseAbsoluteTargetByUrl(raw: string): AbsoluteTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badTarget(raw, 'not an absolute URI');
  }
  if (url.protocol === 'https:') {
    throw badTarget(raw, 'https:// URIs must be requested with CONNECT');
  }
  if (url.protocol !== 'http:') throw badTarget(raw, `scheme ${url.protocol} is not supported`);
  if (url.username !== '' || url.password !== '') {
    throw badTarget(raw, 'credentials in the request URI are not forwarded');
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  if (port === 0) throw badTarget(raw, 'port 0 is outside 1-65535');
  return { host: normalizeHost(raw, host), port, path: `${url.pathname}${url.search}` };
}

/** host:port as it appears in a request line or Host header. */
export function formatAuthority(t: Target): string {
  return isIP(t.host) === 6 ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** The CONNECT corproxy sends to an upstream; credentials only for that upstream. */
export function formatConnectRequest(target: Target, proxyAuthorization?: string): string {
  const authority = formatAuthority(target);
  let head = `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n`;
  if (proxyAuthorization !== undefined) head += `Proxy-Authorization: ${proxyAuthorization}\r\n`;
  return `${head}\r\n`;
}

export interface ResponseHead {
  /** From the status line; absent on heads not read by ResponseHeadReader. */
  readonly version?: '1.0' | '1.1';
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased (as sent with `keepCase`), in arrival order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** Bytes that arrived after the head: they belong to the tunnel. */
  readonly rest: Buffer;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;
/** Shared by every head with nothing after it; a zero-length buffer holds nothing to change. */
const EMPTY = Buffer.alloc(0);

/** `HTTP/` at the start, compared byte by byte: Buffer#compare is a call into C++. */
function startsWithHttpSlash(buf: Buffer): boolean {
  return (
    buf[0] === 0x48 && buf[1] === 0x54 && buf[2] === 0x54 && buf[3] === 0x50 && buf[4] === 0x2f
  );
}

export interface ResponseHeadOptions {
  /** Keep header names as sent (a reply relayed to a client keeps its spelling). */
  readonly keepCase?: boolean;
  /** Who sent the reply: an origin's faults are CPX_ERR_TARGET_PROTOCOL. */
  readonly side?: 'target' | 'upstream';
}

/**
 * Incremental reader for the reply head of an upstream proxy (or, with side 'target', an
 * origin). Feed chunks until it returns a head; throws CPX_ERR_UPSTREAM_PROTOCOL
 * (CPX_ERR_TARGET_PROTOCOL) for anything that is not HTTP/1.x.
 */
export class ResponseHeadReader {
  private buffered: Buffer = EMPTY;

  constructor(
    private readonly maxBytes: number,
    private readonly who: string,
    private readonly options: ResponseHeadOptions = {},
  ) {}

  feed(chunk: Buffer): ResponseHead | undefined {
    const buf = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.buffered = buf;
    if (buf.length >= 5 && !startsWithHttpSlash(buf)) {
      throw this.protocolError('sent a reply that is not HTTP');
    }
    const end = buf.indexOf(CRLFCRLF);
    if ((end < 0 ? buf.length : end + 4) > this.maxBytes) {
      throw this.protocolError('sent an oversized reply head');
    }
    if (end < 0) return undefined;
    const rest = end + 4 < buf.length ? buf.subarray(end + 4) : EMPTY;
    return this.parse(buf.toString('latin1', 0, end), rest);
  }

  private parse(text: string, rest: Buffer): ResponseHead {
    const lines = text.split('\r\n');
    const match = STATUS_LINE.exec(lines[0] ?? '');
    if (!match) throw this.protocolError('sent a malformed status line');
    const headers: Array<[string, string]> = [];
    const keepCase = this.options.keepCase === true;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) throw this.protocolError('sent a malformed header line');
      const name = line.slice(0, colon).trim();
      headers.push([keepCase ? name : name.toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const version = match[1] === '0' ? '1.0' : '1.1';
    return { version, status: Number(match[2]), reason: (match[3] ?? '').trim(), headers, rest };
  }

  private protocolError(what: string): CorproxyError {
    if (this.options.side === 'target') {
      return new CorproxyError('CPX_ERR_TARGET_PROTOCOL', `${this.who} ${what}`);
    }
    return new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', `upstream ${this.who} ${what}`);
  }
}

/** Splits a header value on commas that are not inside a quoted-string. */
function splitOutsideQuotes(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted && c === '\\') {
      current += c + (value[i + 1] ?? '');
      i += 1;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

const SCHEME_ITEM = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(\s*=)?/;

/** Auth schemes offered in Proxy-Authenticate headers, e.g. ['Negotiate', 'NTLM', 'Basic']. */
export function offeredSchemes(headers: ReadonlyArray<readonly [string, string]>): string[] {
  const schemes: string[] = [];
  for (const [name, value] of headers) {
    if (name !== 'proxy-authenticate') continue;
    // RFC 9110 §11.6.1: each challenge starts with a scheme token; a comma-separated item
    // whose first token is followed by '=' (BWS allowed) is an auth-param of the previous one.
    for (const part of splitOutsideQuotes(value)) {
      const m = SCHEME_ITEM.exec(part);
      if (m === null || m[2] !== undefined) continue;
      const rest = part.slice(m[0].length);
      if (rest !== '' && !/^\s/.test(rest)) continue;
      if (!schemes.includes(m[1]!)) schemes.push(m[1]!);
    }
  }
  return schemes;
}

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy-specific ones clients send. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Removes hop-by-hop fields and every field named in Connection, from a Node raw
 * header list ([name, value, name, value, ...]). Returns [name, value] pairs.
 */
export function stripHopByHop(rawHeaders: readonly string[]): Array<[string, string]> {
  // Each name is lower-cased once, and the set of named fields exists only when a
  // Connection field does: this runs twice per plain-HTTP request (bench/README.md, W5).
  const lower: string[] = [];
  let named: Set<string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    lower.push(name);
    if (name !== 'connection') continue;
    named ??= new Set<string>();
    for (const token of rawHeaders[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
  }
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = lower[i / 2]!;
    if (HOP_BY_HOP.has(name) || named?.has(name) === true) continue;
    out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  }
  return out;
}
