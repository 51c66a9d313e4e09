/**
 * `corproxy log --follow`: tails the connection log by polling (every 250 ms by default),
 * across rotation. The log rotates by renaming the live file away and creating a new one
 * (src/log/connection-log.ts), so an open handle keeps pointing at the old file: when the
 * path names another inode, the rest of the old file is read through the handle, then any
 * file that was live in between (a busy log can rotate more than once per poll), then the
 * new live file from its start. A file truncated in place (its size below our offset) is
 * read again from the start. Stops when the signal aborts. Lines are never reordered or
 * repeated; a rotated file the writer deleted before we got to it is lost to us too.
 */
import type { Stats } from 'node:fs';
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { ConnectionRecord } from '../events.js';
import { parseLogLines, readLogFiles, rotatedFiles, type MalformedLine } from '../log/read-log.js';

export interface FollowSink {
  record(r: ConnectionRecord): void;
  malformed(m: MalformedLine & { readonly file: string }): void;
}

export interface FollowOptions {
  readonly file: string;
  readonly signal: AbortSignal;
  /** Poll interval; bounded to 20 ms – 5 s. */
  readonly intervalMs?: number;
  /** Emit what the log (rotated files included) already holds before following. */
  readonly history?: boolean;
}

const CHUNK = 64 * 1024;

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Resolves after `ms` or as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The live file as one open handle, read from `offset`, split into lines. */
class LiveFile {
  offset: number;
  private decoder = new StringDecoder('utf8');
  private partial = '';
  /** Lines before `offset`, so malformed lines are reported by their real line number. */
  private lines: number;

  constructor(
    readonly handle: FileHandle,
    readonly ino: number,
    offset: number,
    linesBefore: number,
    readonly path: string,
    private readonly sink: FollowSink,
  ) {
    this.offset = offset;
    this.lines = linesBefore;
  }

  /** Reads to the end of the file and emits every complete line. */
  async drain(): Promise<void> {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await this.handle.read(buf, 0, CHUNK, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      this.emit(this.decoder.write(buf.subarray(0, bytesRead)));
    }
  }

  /** Starts over at byte 0 (the file was truncated in place). */
  restart(): void {
    this.offset = 0;
    this.partial = '';
    this.lines = 0;
    this.decoder = new StringDecoder('utf8');
  }

  /** Emits a last line that never got its newline (the file was rotated away). */
  flush(): void {
    this.emit(`${this.decoder.end()}\n`);
  }

  private emit(text: string): void {
    const all = this.partial + text;
    const end = all.lastIndexOf('\n');
    if (end < 0) {
      this.partial = all;
      return;
    }
    this.partial = all.slice(end + 1);
    const complete = all.slice(0, end + 1);
    const parsed = parseLogLines(complete);
    for (const r of parsed.records) this.sink.record(r);
    for (const m of parsed.malformed) {
      this.sink.malformed({ line: m.line + this.lines, text: m.text, file: this.path });
    }
    this.lines += complete.split('\n').length - 1;
  }
}

/** Newlines in the first `size` bytes (a 10 MiB log is read in a few milliseconds). */
async function countLines(handle: FileHandle, size: number): Promise<number> {
  const buf = Buffer.alloc(CHUNK);
  let lines = 0;
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(CHUNK, size - pos), pos);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i++) if (buf[i] === 0x0a) lines++;
    pos += bytesRead;
  }
  return lines;
}

async function openLive(
  file: string,
  atEnd: boolean,
  sink: FollowSink,
): Promise<LiveFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (missing(err)) return undefined;
    throw err;
  }
  const st = await handle.stat();
  const lines = atEnd ? await countLines(handle, st.size) : 0;
  return new LiveFile(handle, st.ino, atEnd ? st.size : 0, lines, file, sink);
}

async function emitRotated(file: string, sink: FollowSink): Promise<void> {
  // The live file is read through the follower's handle, so it is left out here.
  const old = await readLogFiles(file, {
    readFile: (f) => (f === file ? Promise.resolve('') : readFile(f, 'utf8')),
  });
  for (const r of old.records) sink.record(r);
  for (const m of old.malformed) sink.malformed(m);
}

function emitText(text: string, file: string, sink: FollowSink): void {
  const parsed = parseLogLines(text);
  for (const r of parsed.records) sink.record(r);
  for (const m of parsed.malformed) sink.malformed({ ...m, file });
}

interface Rotated {
  readonly name: string;
  readonly handle: FileHandle;
  readonly st: Stats;
}

async function openIfPresent(file: string): Promise<FileHandle | undefined> {
  return open(file, 'r').catch((err: unknown) => {
    if (missing(err)) return undefined;
    throw err;
  });
}

async function inoOf(file: string): Promise<number | undefined> {
  return (await stat(file).catch(() => undefined))?.ino;
}

async function rotatedNames(file: string): Promise<string[]> {
  return rotatedFiles(file, await readdir(path.dirname(file)).catch(() => [] as string[]));
}

/** The rotated files, opened, oldest first; each handle keeps its content whatever is renamed. */
async function openRotated(file: string): Promise<Rotated[]> {
  const out: Rotated[] = [];
  for (const name of await rotatedNames(file)) {
    const handle = await openIfPresent(name);
    if (handle !== undefined) out.push({ name, handle, st: await handle.stat() });
  }
  return out;
}

/** True when no rename happened since `files` were opened: same names, same inodes. */
async function unchanged(
  file: string,
  live: number | undefined,
  files: Rotated[],
): Promise<boolean> {
  if ((await inoOf(file)) !== live) return false;
  const names = await rotatedNames(file);
  if (names.join('\n') !== files.map((r) => r.name).join('\n')) return false;
  const inos = await Promise.all(files.map((r) => inoOf(r.name)));
  return inos.every((ino, i) => ino === files[i]?.st.ino);
}

/**
 * A consistent view of the rotated files. The writer renames them one by one while it
 * rotates, so names read mid-rotation can point at other files than a moment before: the
 * view is taken again (a bounded number of times) until nothing moved while it was taken.
 */
async function stableRotated(file: string): Promise<Rotated[]> {
  for (let attempt = 1; ; attempt++) {
    const live = await inoOf(file);
    const files = await openRotated(file);
    if (attempt === 10 || (await unchanged(file, live, files))) return files;
    await Promise.all(files.map((r) => r.handle.close()));
  }
}

/**
 * Rotated files that were live after `old` and rotated away before the next poll (a busy
 * log can rotate more than once per interval): found by the inode of `old` among the
 * rotated files, or, when `old` is gone (aged out), by being written after it; up to
 * `next`, the file opened as the new live one, which is read through its own handle.
 */
async function emitBetween(
  file: string,
  old: LiveFile,
  next: LiveFile | undefined,
  sink: FollowSink,
): Promise<void> {
  const rotated = await stableRotated(file);
  try {
    const at = rotated.findIndex((r) => r.st.ino === old.ino);
    const oldMtime = (await old.handle.stat()).mtimeMs;
    const after = at >= 0 ? rotated.slice(at + 1) : rotated.filter((r) => r.st.mtimeMs >= oldMtime);
    // `next` may itself have been rotated meanwhile: what came after it waits for its turn.
    const stop = after.findIndex((r) => r.st.ino === next?.ino);
    for (const r of stop >= 0 ? after.slice(0, stop) : after) {
      emitText(await r.handle.readFile('utf8'), r.name, sink);
    }
  } finally {
    await Promise.all(rotated.map((r) => r.handle.close()));
  }
}

/** What became of the path since the handle was opened. */
async function pathState(live: LiveFile): Promise<'same' | 'replaced' | 'truncated' | 'gone'> {
  const st = await stat(live.path).catch((err: unknown) => {
    if (missing(err)) return undefined;
    throw err;
  });
  if (st === undefined) return 'gone';
  if (st.ino !== live.ino) return 'replaced';
  return st.size < live.offset ? 'truncated' : 'same';
}

/** Follows `opts.file` until `opts.signal` aborts; I/O errors other than ENOENT reject. */
export async function followLog(opts: FollowOptions, sink: FollowSink): Promise<void> {
  const interval = Math.min(5000, Math.max(20, opts.intervalMs ?? 250));
  let live = await openLive(opts.file, opts.history !== true, sink);
  if (opts.history === true) await emitRotated(opts.file, sink);
  try {
    while (!opts.signal.aborted) {
      live ??= await openLive(opts.file, false, sink);
      if (live !== undefined) {
        await live.drain();
        const state = await pathState(live);
        if (state === 'truncated') live.restart();
        if (state === 'replaced') {
          await live.drain();
          live.flush();
          const next = await openLive(opts.file, false, sink);
          await emitBetween(opts.file, live, next, sink);
          await live.handle.close();
          live = next;
          continue;
        }
      }
      await sleep(interval, opts.signal);
    }
  } finally {
    await live?.handle.close();
  }
}
