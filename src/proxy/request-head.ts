/**
 * Strict reader for a client's HTTP/1.x request head (RFC 9112 §2-§5) and the two facts the
 * plain-HTTP fast path needs from it: how the body is framed (RFC 9112 §6.3) and whether the
 * connection persists (RFC 9112 §9.3). Anything outside the strict grammar is 'invalid', so the
 * caller hands the connection to Node's HTTP server instead of guessing: a lenient parser in
 * front of a strict one (or the other way round) is how request smuggling happens.
 */

export interface RequestHead {
  /** Method token as sent (methods are case-sensitive, RFC 9110 §9.1). */
  readonly method: string;
  /** request-target as sent. */
  readonly target: string;
  readonly version: '1.0' | '1.1';
  /** Flat [name, value, name, value, ...] like Node's IncomingMessage.rawHeaders; names as sent, values with leading/trailing OWS removed. */
  readonly rawHeaders: readonly string[];
  /** Bytes of the head including the final CRLF CRLF. */
  readonly headBytes: number;
}

/** Outcome of scanning the bytes a client has sent so far. */
export type HeadScan =
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'too-large' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | { readonly kind: 'complete'; readonly head: RequestHead };

/** How a request body is delimited (RFC 9112 §6.3). */
export type RequestFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'invalid'; readonly reason: string };

const CRLF = Buffer.from('\r\n');
const CRLFCRLF = Buffer.from('\r\n\r\n');
// RFC 9110 §5.6.2 tchar.
const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";
const TOKEN = new RegExp(`^${TCHAR}+$`);
// RFC 9112 §3: method SP request-target SP HTTP-version; the target is checked only for
// being visible ASCII here, its form (absolute, authority, asterisk, origin) is the caller's.
const REQUEST_LINE_SOURCE = `^(${TCHAR}+) ([\\x21-\\x7e]+) HTTP/1\\.([01])`;
const REQUEST_LINE = new RegExp(`${REQUEST_LINE_SOURCE}$`);
// What a request line can look like before its CRLF has arrived; group 1 is the version part.
const PARTIAL_LINE = new RegExp(
  `^(?:${TCHAR}*|${TCHAR}+ [\\x21-\\x7e]*|${TCHAR}+ [\\x21-\\x7e]+ ([^]*))$`,
);
// RFC 9110 §5.5 field-value octets: VCHAR, SP, HTAB and obs-text.
const FIELD_OCTET = '[\\t\\x20-\\x7e\\x80-\\xff]';
const FIELD_VALUE = new RegExp(`^${FIELD_OCTET}*$`);
const DIGITS = /^\d+$/;
// The request line with its CRLF, at the start of the head.
const REQUEST_LINE_AT = new RegExp(`${REQUEST_LINE_SOURCE}\\r\\n`);
// A field line fieldLineProblem finds nothing wrong with, with its CRLF, where the last
// one ended: token, colon, field-value octets.
const FIELD_LINE_AT = new RegExp(`(${TCHAR}+):(${FIELD_OCTET}*)\\r\\n`, 'y');

function invalid(reason: string): { readonly kind: 'invalid'; readonly reason: string } {
  return { kind: 'invalid', reason };
}

/** Removes leading and trailing OWS (SP / HTAB only: String#trim would also eat 0xA0). */
export function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === ' ' || text[start] === '\t')) start += 1;
  while (end > start && (text[end - 1] === ' ' || text[end - 1] === '\t')) end -= 1;
  return text.slice(start, end);
}

/** Names the control character a line must not hold, or undefined. */
function controlProblem(line: string, where: string): string | undefined {
  if (line.includes('\n')) return `bare LF in ${where}`;
  if (line.includes('\r')) return `bare CR in ${where}`;
  if (line.includes('\0')) return `NUL in ${where}`;
  return undefined;
}

function requestLineProblem(line: string): string | undefined {
  // RFC 9112 §2.2 lets servers skip leading empty lines; corproxy hands them off instead.
  if (line === '') return 'empty line before the request line';
  const control = controlProblem(line, 'request line');
  if (control !== undefined) return control;
  return REQUEST_LINE.test(line) ? undefined : 'malformed request line';
}

/** Rejects a first line that is already not HTTP/1.x, so TLS or junk is handed off early. */
function firstLineProblem(window: Buffer): string | undefined {
  const lineEnd = window.indexOf(CRLF);
  if (lineEnd >= 0) return requestLineProblem(window.toString('latin1', 0, lineEnd));
  const match = PARTIAL_LINE.exec(window.toString('latin1'));
  const version = match?.[1];
  if (match !== null && (version === undefined || isVersionPrefix(version))) return undefined;
  return 'not an HTTP/1.x request line';
}

function isVersionPrefix(text: string): boolean {
  return 'HTTP/1.0\r'.startsWith(text) || 'HTTP/1.1\r'.startsWith(text);
}

/**
 * What is wrong with a field line (RFC 9112 §5), or undefined when nothing is: then
 * FIELD_LINE_AT matches it too (tests hold the two together).
 */
export function fieldLineProblem(line: string): string | undefined {
  // RFC 9112 §5.2: obs-fold is deprecated; hand it off rather than unfold it.
  if (line.startsWith(' ') || line.startsWith('\t')) return 'obsolete line folding';
  const control = controlProblem(line, 'header section');
  if (control !== undefined) return control;
  const colon = line.indexOf(':');
  if (colon < 0) return 'header line without a colon';
  const name = line.slice(0, colon);
  if (name === '') return 'empty header name';
  // RFC 9112 §5.1: no whitespace is allowed between the field name and the colon.
  if (name.endsWith(' ') || name.endsWith('\t')) return 'whitespace before the colon';
  if (!TOKEN.test(name)) return 'header name is not a token';
  const value = line.slice(colon + 1);
  if (!FIELD_VALUE.test(value)) return 'control character in a header value';
  return undefined;
}

/**
 * Heads are parsed with one expression per line (the request line, then FIELD_LINE_AT
 * where the last one stopped), and only a line that fails it goes through the checks
 * that name its problem: those cost a dozen string scans per line, a few per cent of the
 * fast path's CPU per request (bench/README.md, sixth round). `text` is the head up to
 * and including the CRLF of its last line.
 */
function parseHead(text: string, headBytes: number): HeadScan {
  const match = REQUEST_LINE_AT.exec(text);
  if (match === null) {
    const line = lineAt(text, 0);
    return invalid(requestLineProblem(line) ?? 'malformed request line');
  }
  const rawHeaders: string[] = [];
  let at = match[0].length;
  while (at < text.length) {
    FIELD_LINE_AT.lastIndex = at;
    const field = FIELD_LINE_AT.exec(text);
    if (field === null)
      return invalid(fieldLineProblem(lineAt(text, at)) ?? 'malformed header line');
    rawHeaders.push(field[1]!, trimOws(field[2]!));
    at = FIELD_LINE_AT.lastIndex;
  }
  const version = match[3] === '0' ? '1.0' : '1.1';
  const head = { method: match[1]!, target: match[2]!, version, rawHeaders, headBytes } as const;
  return { kind: 'complete', head };
}

/** The line of `text` that starts at `start`, without its CRLF. */
function lineAt(text: string, start: number): string {
  const end = text.indexOf('\r\n', start);
  return text.slice(start, end < 0 ? text.length : end);
}

/**
 * Looks for a complete request head at the start of `buf`. Only the first maxHeaderSize
 * bytes are inspected; call again with more bytes while the answer is 'incomplete'.
 */
export function scanRequestHead(buf: Buffer, maxHeaderSize: number): HeadScan {
  const window = buf.length > maxHeaderSize ? buf.subarray(0, maxHeaderSize) : buf;
  const end = window.indexOf(CRLFCRLF);
  if (end >= 0) return parseHead(window.toString('latin1', 0, end + 2), end + 4);
  const problem = firstLineProblem(window);
  if (problem !== undefined) return invalid(problem);
  return buf.length > maxHeaderSize ? { kind: 'too-large' } : { kind: 'incomplete' };
}

/** Values of `name` (case-insensitive), in order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const field = rawHeaders[i]!;
    // Lengths first: lower-casing every name allocates (bench/README.md, W5).
    if (field.length === lower.length && field.toLowerCase() === lower) {
      values.push(rawHeaders[i + 1]!);
    }
  }
  return values;
}

/** Elements of a comma-separated list field (RFC 9110 §5.6.1), OWS trimmed, empty ones kept. */
export function listElements(values: readonly string[]): string[] {
  const elements: string[] = [];
  for (const value of values) {
    // Most fields hold one element; splitting them costs an array each (bench/README.md, W5).
    if (!value.includes(',')) elements.push(trimOws(value));
    else for (const part of value.split(',')) elements.push(trimOws(part));
  }
  return elements;
}

/** Whether a Connection-like field list names `token` (lower-case), without building a set. */
export function hasConnectionToken(values: readonly string[], token: string): boolean {
  for (const element of listElements(values)) if (element.toLowerCase() === token) return true;
  return false;
}

/**
 * The one length all Content-Length values (repeated fields and comma lists) agree on, or
 * undefined when they differ, one is not 1*DIGIT, or it exceeds 2**53-1 (RFC 9110 §8.6).
 */
export function agreedContentLength(values: readonly string[]): number | undefined {
  const elements = listElements(values);
  const first = elements[0];
  if (first === undefined || !DIGITS.test(first)) return undefined;
  for (let i = 1; i < elements.length; i++) if (elements[i] !== first) return undefined;
  const length = Number(first);
  return length <= Number.MAX_SAFE_INTEGER ? length : undefined;
}

function transferFraming(codings: readonly string[]): RequestFraming {
  const lower = codings.map((coding) => coding.toLowerCase());
  if (lower.some((coding) => !TOKEN.test(coding))) return invalid('malformed Transfer-Encoding');
  // RFC 9112 §6.3 rule 4: without a final chunked the request length cannot be known.
  if (lower.at(-1) !== 'chunked') return invalid('Transfer-Encoding does not end in chunked');
  // RFC 9112 §7: chunked is never applied twice.
  if (lower.indexOf('chunked') !== lower.length - 1) return invalid('chunked applied twice');
  return { kind: 'chunked' };
}

/**
 * RFC 9112 §6.3 for requests. `version` defaults to 1.1; an HTTP/1.0 request carrying
 * Transfer-Encoding has faulty framing (RFC 9112 §6.1).
 */
export function requestFraming(
  rawHeaders: readonly string[],
  version: '1.0' | '1.1' = '1.1',
): RequestFraming {
  const te = headerValues(rawHeaders, 'transfer-encoding');
  const cl = headerValues(rawHeaders, 'content-length');
  if (te.length > 0) {
    // RFC 9112 §6.3 rule 3: both at once is a smuggling attempt or a broken client.
    if (cl.length > 0) return invalid('both Transfer-Encoding and Content-Length');
    if (version === '1.0') return invalid('Transfer-Encoding in an HTTP/1.0 request');
    return transferFraming(listElements(te));
  }
  if (cl.length === 0) return { kind: 'none' };
  const length = agreedContentLength(cl);
  return length === undefined ? invalid('invalid Content-Length') : { kind: 'length', length };
}

/** Whether the client asked to keep the connection open after this exchange (RFC 9112 §9.3). */
export function clientKeepsAlive(head: RequestHead): boolean {
  const values = headerValues(head.rawHeaders, 'connection');
  if (values.length === 0) return head.version === '1.1';
  if (hasConnectionToken(values, 'close')) return false;
  return head.version === '1.1' || hasConnectionToken(values, 'keep-alive');
}
