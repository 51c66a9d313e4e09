/**
 * Reads HTTP/1.1 responses off a raw client socket one at a time, framing each body as
 * RFC 9112 §6.3 says (Content-Length, chunked with its trailers, or until close), so a
 * test sees exactly the bytes a proxy sent: interim replies, pipelined responses in
 * order, header names as spelled. Every wait is bounded.
 */
import type net from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** [name as sent, value] in order. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The body bytes as they came (chunk framing included). */
  readonly body: Buffer;
  /** Header value by case-insensitive name (the last one), or undefined. */
  get(name: string): string | undefined;
}

export class ResponseReader {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  /** True once the proxy ended or closed the connection. */
  get closed(): boolean {
    return this.ended;
  }

  /** Waits until `ready()` or the connection ends or `ms` pass; false when not ready. */
  private async waitFor(ready: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      if (this.ended || Date.now() >= deadline) return ready();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
      });
    }
    return true;
  }

  /** Waits for the end of the connection (true) or `ms` (false). */
  async waitClosed(ms = 5000): Promise<boolean> {
    return this.waitFor(() => this.ended, ms);
  }

  /** The next response; `method` HEAD means no body. Rejects when none arrives in time. */
  async next(method = 'GET', ms = 5000): Promise<RawResponse> {
    const gotHead = await this.waitFor(() => this.buffered.includes('\r\n\r\n'), ms);
    if (!gotHead) throw new Error(`no response head: ${this.buffered.toString('latin1')}`);
    const end = this.buffered.indexOf('\r\n\r\n');
    const [line = '', ...fields] = this.buffered.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(line);
    if (m === null) throw new Error(`bad status line: ${line}`);
    const headers = fields.map((f): [string, string] => {
      const colon = f.indexOf(':');
      return [f.slice(0, colon), f.slice(colon + 1).trim()];
    });
    const get = (name: string): string | undefined =>
      headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).at(-1)?.[1];
    const status = Number(m[1]);
    this.buffered = this.buffered.subarray(end + 4);
    const bodyEnd = await this.bodyEnd(method, status, get, ms);
    const body = this.buffered.subarray(0, bodyEnd);
    this.buffered = this.buffered.subarray(bodyEnd);
    return { status, reason: m[2] ?? '', headers, body, get };
  }

  private async bodyEnd(
    method: string,
    status: number,
    get: (name: string) => string | undefined,
    ms: number,
  ): Promise<number> {
    if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return 0;
    if (get('transfer-encoding')?.toLowerCase().endsWith('chunked')) {
      let at = -1;
      await this.waitFor(() => (at = chunkedEnd(this.buffered)) >= 0, ms);
      if (at < 0) throw new Error('chunked body did not end');
      return at;
    }
    const length = get('content-length');
    if (length !== undefined) {
      const n = Number(length);
      if (!(await this.waitFor(() => this.buffered.length >= n, ms))) {
        throw new Error(`body shorter than ${n}: ${this.buffered.length}`);
      }
      return n;
    }
    await this.waitFor(() => this.ended, ms);
    return this.buffered.length;
  }
}

/** Where a chunked body in `buf` ends (after its trailer section), or -1. */
export function chunkedEnd(buf: Buffer): number {
  let at = 0;
  for (let guard = 0; guard < 100000; guard++) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return -1;
    const size = parseInt(buf.toString('latin1', at, lineEnd).split(';')[0]!, 16);
    if (size === 0) {
      const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
      if (buf.subarray(lineEnd, lineEnd + 4).equals(Buffer.from('\r\n\r\n'))) return lineEnd + 4;
      return trailerEnd < 0 ? -1 : trailerEnd + 4;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buf.length) return -1;
  }
  return -1;
}
