/**
 * Reading an upstream's replies during an authentication exchange on one connection. A 407
 * reply's body must be read to its end before the next request can be sent on the same
 * connection (NTLM's challenge is bound to it), so bodies are drained by Content-Length or
 * chunked framing (RFC 9112 §6.3, §7.1). Bytes after a 2xx head belong to the tunnel and
 * are handed back.
 */
import type net from 'node:net';
import { promised, type Callback } from '../callback.js';
import { CorproxyError } from '../errors.js';
import { dialError } from '../proxy/dial.js';
import { ResponseHeadReader, type ResponseHead } from '../proxy/http1.js';

/** A 407 body larger than this is not worth reading: the connection is dropped instead. */
export const MAX_DRAIN_BYTES = 1024 * 1024;

export interface ReaderOptions {
  readonly who: string;
  readonly timeoutMs: number;
  readonly maxHeaderSize: number;
}

/**
 * Pulls chunks from a socket with a deadline per call; detach() hands the rest back. It
 * reads with 'readable' and read(), never 'data': once detached the socket is neither
 * flowing nor explicitly paused, so whoever attaches a 'data' listener next gets every
 * byte that follows, as from a fresh socket.
 */
export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onReadable = (): void => this.wake?.();
  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };
  private readonly onError = (err: Error): void => {
    this.failure = err;
    this.wake?.();
  };

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: ReaderOptions,
  ) {
    socket.on('readable', this.onReadable);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Puts bytes back in front. */
  unread(bytes: Buffer): void {
    if (bytes.length > 0) this.chunks.unshift(bytes);
  }

  /** The next bytes, or undefined at end of stream. */
  read(what: string): Promise<Buffer | undefined> {
    return promised((done) => this.readThen(what, done));
  }

  /**
   * read() with a callback, called once. The first CONNECT round reads its reply this way
   * (handshake.ts: connectWithAuthThen), so that an upstream that answers at once costs
   * no promise jobs.
   */
  readThen(what: string, done: Callback<Buffer | undefined>): void {
    const chunk = this.chunks.shift() ?? (this.socket.read() as Buffer | null);
    if (chunk !== null) done(undefined, chunk);
    else if (this.failure !== undefined) done(dialError(this.failure, 'upstream', this.opts.who));
    else if (this.ended || this.socket.readableEnded) done(undefined, undefined);
    else this.waitThen(what, (err) => (err === undefined ? this.readThen(what, done) : done(err)));
  }

  private waitThen(what: string, done: (err?: CorproxyError) => void): void {
    const timer = setTimeout(() => {
      this.wake = undefined;
      done(
        new CorproxyError(
          'CPX_ERR_UPSTREAM_TIMEOUT',
          `upstream ${this.opts.who} did not answer ${what} within ${this.opts.timeoutMs} ms`,
        ),
      );
    }, this.opts.timeoutMs);
    this.wake = () => {
      clearTimeout(timer);
      this.wake = undefined;
      done();
    };
  }

  /** Stops reading; returns bytes read but not consumed (they belong to the tunnel). */
  detach(): Buffer {
    this.socket.off('readable', this.onReadable);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = Buffer.concat(this.chunks);
    this.chunks.length = 0;
    return rest;
  }

  get atEnd(): boolean {
    return (this.ended || this.socket.readableEnded) && this.chunks.length === 0;
  }

  /** One reply head; the bytes after it stay in the reader. */
  head(what: string): Promise<ResponseHead> {
    return promised((done) => this.headThen(what, done));
  }

  /** head() with a callback, called once. */
  headThen(what: string, done: Callback<ResponseHead>): void {
    const parser = new ResponseHeadReader(this.opts.maxHeaderSize, this.opts.who);
    const step: Callback<Buffer | undefined> = (err, chunk) => {
      if (err !== undefined) {
        done(err);
        return;
      }
      if (chunk === undefined) {
        done(
          new CorproxyError(
            'CPX_ERR_UPSTREAM_PROTOCOL',
            `upstream ${this.opts.who} closed the connection before answering ${what}`,
          ),
        );
        return;
      }
      let head: ResponseHead | undefined;
      try {
        head = parser.feed(chunk);
      } catch (parseErr) {
        done(parseErr);
        return;
      }
      if (head === undefined) {
        this.readThen(what, step);
        return;
      }
      this.unread(head.rest);
      done(undefined, head);
    };
    this.readThen(what, step);
  }
}

function header(head: ResponseHead, name: string): string | undefined {
  const values = head.headers.filter(([n]) => n === name).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(', ');
}

/** RFC 9112 §9.3: HTTP/1.1 persists unless `close`; a proxy may say so in Proxy-Connection. */
export function keepsAlive(head: ResponseHead): boolean {
  const tokens = [header(head, 'connection'), header(head, 'proxy-connection')]
    .join(',')
    .toLowerCase()
    .split(',')
    .map((t) => t.trim());
  return !tokens.includes('close');
}

/** How the body of a non-2xx reply to CONNECT is framed. */
export type Framing =
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

export function framing(head: ResponseHead): Framing {
  const te = header(head, 'transfer-encoding');
  if (te !== undefined) {
    return te.toLowerCase().trim().endsWith('chunked') ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = header(head, 'content-length');
  if (cl === undefined) return { kind: 'close' };
  const values = new Set(cl.split(',').map((v) => v.trim()));
  const only = [...values][0] ?? '';
  if (values.size !== 1 || !/^\d{1,15}$/.test(only)) return { kind: 'close' };
  return { kind: 'length', length: Number(only) };
}

/** Skips `n` bytes. */
async function skip(reader: SocketReader, n: number, what: string): Promise<boolean> {
  let left = n;
  while (left > 0) {
    const chunk = await reader.read(what);
    if (chunk === undefined) return false;
    if (chunk.length > left) reader.unread(chunk.subarray(left));
    left -= Math.min(left, chunk.length);
  }
  return true;
}

/** One CRLF-terminated line (chunk sizes, trailers); undefined at end of stream. */
async function line(reader: SocketReader, what: string): Promise<string | undefined> {
  let text = Buffer.alloc(0);
  for (;;) {
    const chunk = await reader.read(what);
    if (chunk === undefined) return undefined;
    text = Buffer.concat([text, chunk]);
    const end = text.indexOf('\r\n');
    if (end >= 0) {
      reader.unread(text.subarray(end + 2));
      return text.subarray(0, end).toString('latin1');
    }
    if (text.length > 4096) return undefined;
  }
}

async function skipChunked(reader: SocketReader, what: string): Promise<boolean> {
  let total = 0;
  for (;;) {
    const size = await line(reader, what);
    const m = size === undefined ? null : /^([0-9a-fA-F]{1,8})(?:\s*;.*)?$/.exec(size.trim());
    if (m === null) return false;
    const n = parseInt(m[1]!, 16);
    total += n;
    if (total > MAX_DRAIN_BYTES) return false;
    if (n === 0) break;
    if (!(await skip(reader, n + 2, what))) return false;
  }
  // Trailer section up to the empty line.
  for (let i = 0; i < 100; i += 1) {
    const trailer = await line(reader, what);
    if (trailer === undefined) return false;
    if (trailer === '') return true;
  }
  return false;
}

/**
 * Reads and discards the body of a non-2xx reply. True when the connection can carry the
 * next request; false when the upstream closes it or the body has no usable framing.
 */
export async function drainBody(
  reader: SocketReader,
  head: ResponseHead,
  what: string,
): Promise<boolean> {
  const f = framing(head);
  if (f.kind === 'close' || !keepsAlive(head)) return false;
  if (f.kind === 'length') {
    return f.length <= MAX_DRAIN_BYTES && (await skip(reader, f.length, what));
  }
  return skipChunked(reader, what);
}
