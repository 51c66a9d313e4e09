/**
 * Where a response body from an origin or upstream ends (RFC 9112 §6.3), whether the server
 * keeps the connection afterwards (RFC 9112 §9.3), and a scanner that finds the end of a
 * chunked body (RFC 9112 §7.1) without decoding it, so the fast path can relay it verbatim.
 */
import { agreedContentLength, hasConnectionToken, listElements } from './request-head.js';

/** How a response body is delimited. */
export type ResponseFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' }
  | { readonly kind: 'invalid'; readonly reason: string };

type Headers = ReadonlyArray<readonly [string, string]>;

/** Values of the fields called `name` (lower-case); names compared case-insensitively. */
function valuesOf(headers: Headers, name: string): string[] {
  const values: string[] = [];
  for (const [n, value] of headers) {
    if (n.length === name.length && n.toLowerCase() === name) values.push(value);
  }
  return values;
}

function hasNoBody(method: string, status: number): boolean {
  return method === 'HEAD' || (status >= 100 && status < 200) || status === 204 || status === 304;
}

/** RFC 9112 §6.3 for responses; header names as ResponseHeadReader gives them. */
export function responseFraming(method: string, status: number, headers: Headers): ResponseFraming {
  if (hasNoBody(method, status)) return { kind: 'none' };
  // RFC 9112 §6.3 rule 2: the connection becomes a tunnel, which this framing cannot describe.
  if (method === 'CONNECT' && status >= 200 && status < 300) {
    return { kind: 'invalid', reason: 'a 2xx reply to CONNECT starts a tunnel' };
  }
  const te = valuesOf(headers, 'transfer-encoding');
  if (te.length > 0) {
    // Rules 3-4: Transfer-Encoding overrides Content-Length; a final coding other than chunked
    // means the body runs until the server closes.
    const codings = listElements(te).filter((coding) => coding !== '');
    return codings.at(-1)?.toLowerCase() === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = valuesOf(headers, 'content-length');
  if (cl.length === 0) return { kind: 'close' };
  const length = agreedContentLength(cl);
  // Rule 5: an invalid Content-Length in a response is an unrecoverable error.
  if (length === undefined) return { kind: 'invalid', reason: 'invalid Content-Length' };
  return { kind: 'length', length };
}

/** Whether the server keeps the connection open after this response (RFC 9112 §9.3). */
export function serverKeepsAlive(
  version: '1.0' | '1.1',
  headers: Headers,
  framing: ResponseFraming,
): boolean {
  if (framing.kind === 'close' || framing.kind === 'invalid') return false;
  const values = valuesOf(headers, 'connection');
  if (values.length === 0) return version === '1.1';
  if (hasConnectionToken(values, 'close')) return false;
  return version === '1.1' || hasConnectionToken(values, 'keep-alive');
}

/** A chunked body that breaks RFC 9112 §7.1; `reason` says how. */
export class ChunkedError extends Error {
  constructor(readonly reason: string) {
    super(`malformed chunked body: ${reason}`);
    this.name = 'ChunkedError';
  }
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const SEMICOLON = 0x3b;
const COLON = 0x3a;
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TCHAR[c.charCodeAt(0)] = 1;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  return -1;
}

/** CTLs other than HTAB, which no chunk-size, extension or field line may hold. */
function isBadControl(b: number): boolean {
  return (b < SP && b !== HTAB) || b === 0x7f;
}

type State =
  | 'size'
  | 'size-ws'
  | 'ext'
  | 'size-lf'
  | 'data'
  | 'data-cr'
  | 'data-lf'
  | 'trailer-start'
  | 'trailer-name'
  | 'trailer-value'
  | 'trailer-lf'
  | 'final-lf'
  | 'done';

/** Limits that bound what a hostile peer can make the scanner hold or walk. */
export interface ChunkedLimits {
  /** Longest chunk-size line, extensions included, CRLF excluded. */
  readonly maxLineBytes: number;
  /** Largest trailer section, field lines with their CRLFs, final empty line excluded. */
  readonly maxTrailerBytes: number;
}

/**
 * Finds where a chunked body ends, one byte of framing at a time, so any split of the input
 * gives the same answer; chunk data is skipped in one step per push.
 */
export class ChunkedScanner {
  private state: State = 'size';
  private size = 0;
  private sizeDigits = 0;
  private lineBytes = 0;
  private remaining = 0;
  private trailerBytes = 0;
  private failure: ChunkedError | undefined;

  constructor(private readonly limits: ChunkedLimits) {}

  /** True once the last chunk and the trailer section have been seen. */
  get done(): boolean {
    return this.state === 'done';
  }

  /** Scans `chunk`; `used` is how many of its bytes belong to the body. Throws ChunkedError. */
  push(chunk: Buffer): { readonly used: number; readonly done: boolean } {
    if (this.failure !== undefined) throw this.failure;
    let i = 0;
    while (i < chunk.length && this.state !== 'done') {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - i);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = 'data-cr';
      } else {
        this.step(chunk[i]!);
        i += 1;
      }
    }
    return { used: i, done: this.state === 'done' };
  }

  private fail(reason: string): never {
    this.failure = new ChunkedError(reason);
    throw this.failure;
  }

  private step(b: number): void {
    if (this.state === 'size' || this.state === 'size-ws' || this.state === 'ext') {
      this.sizeLineByte(b);
    } else if (this.state.startsWith('trailer-') && this.state !== 'trailer-lf') {
      this.trailerByte(b);
    } else {
      this.lineEndByte(b);
    }
  }

  /** chunk-size [ chunk-ext ] up to its CR (RFC 9112 §7.1, §7.1.1). */
  private sizeLineByte(b: number): void {
    if (b === CR) {
      if (this.sizeDigits === 0) this.fail('missing chunk size');
      if (this.state === 'size-ws') this.fail('whitespace after chunk size');
      this.state = 'size-lf';
      return;
    }
    if (b === LF) this.fail('bare LF in chunk-size line');
    if (isBadControl(b)) this.fail('control character in chunk-size line');
    this.lineBytes += 1;
    if (this.lineBytes > this.limits.maxLineBytes) {
      this.fail(`chunk-size line longer than ${this.limits.maxLineBytes} bytes`);
    }
    if (this.state === 'size') this.sizeByte(b);
    else if (this.state === 'size-ws') this.sizeWhitespaceByte(b);
    // In 'ext' every other byte is skipped: a quoted-string cannot hold CR or LF.
  }

  private sizeByte(b: number): void {
    const digit = hexValue(b);
    if (digit >= 0) {
      if (this.size > (Number.MAX_SAFE_INTEGER - digit) / 16) this.fail('chunk size over 2**53-1');
      this.size = this.size * 16 + digit;
      this.sizeDigits += 1;
      return;
    }
    if (b !== SEMICOLON && b !== SP && b !== HTAB) this.fail('chunk size is not hexadecimal');
    if (this.sizeDigits === 0) this.fail('missing chunk size');
    this.state = b === SEMICOLON ? 'ext' : 'size-ws';
  }

  /** BWS is allowed between the size and ";" (RFC 9112 §7.1.1), not before CRLF. */
  private sizeWhitespaceByte(b: number): void {
    if (b === SEMICOLON) this.state = 'ext';
    else if (b !== SP && b !== HTAB) this.fail('whitespace after chunk size');
  }

  /** trailer-section field lines up to their CR (RFC 9112 §7.1.2). */
  private trailerByte(b: number): void {
    if (this.state === 'trailer-start' && b === CR) {
      this.state = 'final-lf';
      return;
    }
    this.countTrailerByte();
    if (b === LF) this.fail('bare LF in trailer section');
    if (this.state === 'trailer-start') {
      if (b === SP || b === HTAB) this.fail('obsolete line folding in trailer section');
      if (TCHAR[b] !== 1) this.fail('malformed trailer field name');
      this.state = 'trailer-name';
    } else if (this.state === 'trailer-name') {
      if (b === COLON) this.state = 'trailer-value';
      else if (TCHAR[b] !== 1) this.fail('malformed trailer field name');
    } else if (b === CR) {
      this.state = 'trailer-lf';
    } else if (isBadControl(b)) {
      this.fail('control character in trailer section');
    }
  }

  private countTrailerByte(): void {
    this.trailerBytes += 1;
    if (this.trailerBytes > this.limits.maxTrailerBytes) {
      this.fail(`trailer section larger than ${this.limits.maxTrailerBytes} bytes`);
    }
  }

  /** The fixed CR or LF that ends a size line, chunk data, a trailer line or the body. */
  private lineEndByte(b: number): void {
    switch (this.state) {
      case 'size-lf':
        if (b !== LF) this.fail('bare CR in chunk-size line');
        this.state = this.size === 0 ? 'trailer-start' : 'data';
        this.remaining = this.size;
        return;
      case 'data-cr':
        if (b !== CR) this.fail('chunk data not followed by CRLF');
        this.state = 'data-lf';
        return;
      case 'data-lf':
        if (b !== LF) this.fail('chunk data not followed by CRLF');
        this.startSizeLine();
        return;
      case 'trailer-lf':
        if (b !== LF) this.fail('bare CR in trailer section');
        this.countTrailerByte();
        this.state = 'trailer-start';
        return;
      default:
        if (b !== LF) this.fail('bare CR after trailer section');
        this.state = 'done';
    }
  }

  private startSizeLine(): void {
    this.state = 'size';
    this.size = 0;
    this.sizeDigits = 0;
    this.lineBytes = 0;
  }
}
