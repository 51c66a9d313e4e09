/**
 * Where a response body the fast path relays byte for byte ends (RFC 9112 §6.3): after
 * Content-Length bytes, after the last chunk and trailer section of a chunked body
 * (ChunkedScanner, RFC 9112 §7.1), when the server closes, or at once for a reply without
 * a body. Pure; results live in fields so that nothing is allocated per chunk.
 */
import { ChunkedScanner, type ResponseFraming } from './body-framing.js';

export type BodyKind = 'none' | 'length' | 'chunked' | 'close';

export class BodyEnd {
  readonly kind: BodyKind;
  /** True once the last byte of the body was pushed (never for 'close'). */
  done: boolean;
  private remaining: number;
  private readonly scanner: ChunkedScanner | undefined;

  constructor(framing: Exclude<ResponseFraming, { kind: 'invalid' }>, maxLineBytes: number) {
    this.kind = framing.kind;
    this.remaining = framing.kind === 'length' ? framing.length : 0;
    this.done = framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0);
    this.scanner =
      framing.kind === 'chunked'
        ? new ChunkedScanner({ maxLineBytes, maxTrailerBytes: maxLineBytes })
        : undefined;
  }

  /**
   * How many bytes at the start of `chunk` belong to the body; the rest came after its end
   * (when `done`). Throws ChunkedError for a broken chunked body.
   */
  push(chunk: Buffer): number {
    if (this.done) return 0;
    switch (this.kind) {
      case 'length': {
        const n = Math.min(this.remaining, chunk.length);
        this.remaining -= n;
        this.done = this.remaining === 0;
        return n;
      }
      case 'chunked': {
        const { used, done } = this.scanner!.push(chunk);
        this.done = done;
        return used;
      }
      default:
        return chunk.length;
    }
  }
}
