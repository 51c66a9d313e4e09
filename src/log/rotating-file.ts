/**
 * The connection log's file: a winston transport of corproxy's own that queues finished
 * lines, appends them in batches cut at the size limit, and rotates the file between
 * batches, keeping winston's tailable names (the live name stays; see read-log.ts).
 *
 * Why not winston's File transport: with `maxsize` + `tailable` it drops stretches of
 * lines written while it rotates and never finishes when a burst precedes the file's
 * opening (winston issue #908; with 3.19, 2000 records one per tick into 20 kB files lost
 * about 330).
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import winston from 'winston';
import { rotatedName } from './read-log.js';

/** triple-beam's MESSAGE: the finished line a winston transport writes. */
export const MESSAGE = Symbol.for('message');

/** Without a size limit, batches are still cut so one write never builds a huge string. */
const MAX_BATCH_BYTES = 1 << 20;

/**
 * Lines wait this long to be written with the ones that follow. One appendFile per line
 * cost the daemon 7 % of its CPU at 3,400 tunnels/s (bench/README.md, W3); batched, a
 * busy daemon writes about 50 times a second. close() writes what waits at once.
 */
const FLUSH_DELAY_MS = 20;

// The typings call the base class `transport`; at run time winston exports `Transport`.
const TransportBase = (winston as unknown as { Transport: new () => winston.transport }).Transport;

export interface FileOptions {
  readonly file: string;
  readonly maxSize: number;
  readonly maxFiles: number;
  readonly onError: (err: Error) => void;
}

/** Appends lines to one file and rotates it by size ("tailable": the live name stays). */
export class RotatingFile extends TransportBase {
  readonly #opts: FileOptions;
  #queue: string[] = [];
  #handle: FileHandle | undefined;
  #size = 0;
  /** Rotate once the file reaches this size; raised after a failed rotation. */
  #rotateAt: number;
  #running: Promise<void> | undefined;
  #flushTimer: NodeJS.Timeout | undefined;

  constructor(opts: FileOptions) {
    super();
    this.#opts = opts;
    this.#rotateAt = opts.maxSize;
  }

  override log(info: Record<symbol, unknown>, next: () => void): void {
    this.line(String(info[MESSAGE]));
    next();
  }

  /** Queues one finished line (without its newline). */
  line(text: string): void {
    this.#queue.push(text);
    this.#kick();
  }

  override _final(callback: (error?: Error | null) => void): void {
    void this.#settle().then(() => callback());
  }

  async #settle(): Promise<void> {
    for (;;) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
      if (!this.#running && this.#queue.length > 0) this.#start();
      if (!this.#running) break;
      await this.#running;
    }
    await this.#closeHandle().catch((err: unknown) => this.#opts.onError(toError(err)));
  }

  #kick(): void {
    if (this.#running || this.#flushTimer !== undefined) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      this.#start();
    }, FLUSH_DELAY_MS).unref();
  }

  #start(): void {
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      let taken = false;
      try {
        const handle = await this.#ready();
        const batch = this.#takeBatch();
        taken = true;
        await handle.appendFile(batch.text);
        this.#size += batch.bytes;
      } catch (err) {
        // Nowhere to write this batch: drop it rather than retry forever.
        if (!taken) this.#takeBatch();
        this.#opts.onError(toError(err));
        await this.#closeHandle().catch(() => undefined);
      }
    }
  }

  /** Lines up to the one that reaches the size limit, so files end close to maxSize. */
  #takeBatch(): { text: string; bytes: number } {
    const room = this.#opts.maxSize > 0 ? this.#rotateAt - this.#size : MAX_BATCH_BYTES;
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && (n === 0 || bytes < room)) {
      bytes += Buffer.byteLength(this.#queue[n] ?? '') + 1;
      n++;
    }
    return { text: `${this.#queue.splice(0, n).join('\n')}\n`, bytes };
  }

  #needsRotation(): boolean {
    return this.#opts.maxSize > 0 && this.#size >= this.#rotateAt;
  }

  /**
   * The open live file, rotated first when full. Rotating before a write rather than
   * after it keeps the live file in place between batches (for `tail -F` and readers);
   * a file left full by an earlier run is rotated the same way.
   */
  async #ready(): Promise<FileHandle> {
    if (!this.#handle) {
      this.#handle = await open(this.#opts.file, 'a', 0o600);
      this.#size = (await this.#handle.stat()).size;
    }
    if (!this.#needsRotation()) return this.#handle;
    await this.#rotate();
    // A new, empty file; or, after a failed rotation (#rotateAt raised), the same one.
    return this.#ready();
  }

  /** Closes the live file and shifts the names. */
  async #rotate(): Promise<void> {
    try {
      await this.#closeHandle();
      await shiftFiles(this.#opts.file, this.#opts.maxFiles);
      this.#rotateAt = this.#opts.maxSize;
    } catch (err) {
      // Keep appending to the live file and try again after another maxSize bytes,
      // instead of failing (and reporting) on every record.
      this.#rotateAt = this.#size + this.#opts.maxSize;
      this.#opts.onError(toError(err));
    }
  }

  async #closeHandle(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await handle?.close();
  }
}

/** `conn.log` → `conn1.log`, `conn1.log` → `conn2.log`, …, keeping `maxFiles` rotated files. */
async function shiftFiles(file: string, maxFiles: number): Promise<void> {
  if (maxFiles <= 0) return unlink(file).catch(ignoreMissing);
  for (let n = maxFiles; n >= 2; n--) {
    await rename(rotatedName(file, n - 1), rotatedName(file, n)).catch(ignoreMissing);
  }
  // The live file may have been deleted by hand; the next append creates it again.
  await rename(file, rotatedName(file, 1)).catch(ignoreMissing);
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
