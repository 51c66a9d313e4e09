/**
 * Reading the connection log back: parsing JSON lines into records (pure) and finding the
 * rotated files in age order (thin I/O). `corproxy log` and the tests use it.
 *
 * Rotated files follow the "tailable" scheme: the live file keeps its name and older
 * content moves to `<stem>1<ext>`, `<stem>2<ext>`, …, the largest number being the oldest
 * (`connections.log`, `connections1.log`, `connections2.log`).
 */

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CorproxyError } from '../errors.js';
import type { ConnectionRecord, Outcome, RouteKind } from '../events.js';

/** A non-record line of the log, e.g. a warning that the intercepting CA changed. */
export interface LogEvent {
  readonly time: string;
  readonly level: string;
  readonly event: string;
  readonly message: string;
  readonly [field: string]: unknown;
}

export interface MalformedLine {
  /** 1-based line number within its file. */
  readonly line: number;
  readonly text: string;
}

export interface ParsedLog {
  readonly records: ConnectionRecord[];
  readonly events: LogEvent[];
  readonly malformed: MalformedLine[];
}

export interface ReadLog {
  readonly records: ConnectionRecord[];
  readonly events: LogEvent[];
  readonly malformed: (MalformedLine & { readonly file: string })[];
  /** The files read, oldest first. */
  readonly files: string[];
}

export interface ReadLogDeps {
  readonly readFile?: (file: string) => Promise<string>;
  readonly readdir?: (dir: string) => Promise<string[]>;
}

const ROUTES: ReadonlySet<string> = new Set<RouteKind>(['direct', 'upstream', 'local']);
const OUTCOMES: ReadonlySet<string> = new Set<Outcome>(['ok', 'error', 'client-closed', 'timeout']);

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optional(v: unknown, type: 'string' | 'number'): boolean {
  return v === undefined || typeof v === type;
}

function isError(v: unknown): boolean {
  return (
    v === undefined || (isObject(v) && typeof v.code === 'string' && typeof v.message === 'string')
  );
}

function isTls(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObject(v) || typeof v.verdict !== 'string') return false;
  return (
    optional(v.vendor, 'string') &&
    optional(v.caSubject, 'string') &&
    optional(v.caSha256, 'string')
  );
}

function isRecord(o: Json): boolean {
  const strings = [o.time, o.client, o.method, o.target, o.rule].every(
    (v) => typeof v === 'string',
  );
  const numbers = [o.id, o.status, o.bytesUp, o.bytesDown, o.durationMs].every(
    (v) => typeof v === 'number',
  );
  return (
    strings &&
    numbers &&
    ROUTES.has(o.route as string) &&
    OUTCOMES.has(o.outcome as string) &&
    optional(o.upstream, 'string') &&
    optional(o.connectMs, 'number') &&
    isError(o.error) &&
    isTls(o.tls)
  );
}

function isEvent(o: Json): boolean {
  return [o.time, o.level, o.event, o.message].every((v) => typeof v === 'string');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Sorts each line into a record (its `level` dropped), an event, or a malformed line. */
export function parseLogLines(text: string): ParsedLog {
  const out: ParsedLog = { records: [], events: [], malformed: [] };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const value = parseJson(line);
    if (!isObject(value)) out.malformed.push({ line: i + 1, text: line });
    else if (typeof value.event === 'string' && isEvent(value)) out.events.push(value as LogEvent);
    else if (isRecord(value)) out.records.push(withoutLevel(value));
    else out.malformed.push({ line: i + 1, text: line });
  }
  return out;
}

function withoutLevel(o: Json): ConnectionRecord {
  const { level: _level, ...rest } = o;
  return rest as unknown as ConnectionRecord;
}

/** The name of the n-th rotated file of `file` (n ≥ 1): `a/conn.log` → `a/conn3.log`. */
export function rotatedName(file: string, n: number): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}${n}${ext}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The rotated siblings present in `names`, oldest (largest number) first. */
export function rotatedFiles(file: string, names: readonly string[]): string[] {
  const base = path.basename(file);
  const ext = path.extname(base);
  const stem = base.slice(0, base.length - ext.length);
  const pattern = new RegExp(`^${escapeRegExp(stem)}([1-9][0-9]*)${escapeRegExp(ext)}$`);
  const numbered: [number, string][] = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m?.[1] !== undefined) numbered.push([Number(m[1]), name]);
  }
  numbered.sort((a, b) => b[0] - a[0]);
  return numbered.map(([, name]) => path.join(path.dirname(file), name));
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

function readError(file: string, err: unknown): CorproxyError {
  const reason = (err as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  return new CorproxyError('CPX_ERR_LOG_IO', `log.file: cannot read ${file}: ${reason}`, {
    cause: err,
  });
}

/** Appends without spreading: a rotated file can hold more lines than call arguments allow. */
function append<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}

const defaultDeps: Required<ReadLogDeps> = {
  readFile: (file) => readFile(file, 'utf8'),
  readdir: (dir) => readdir(dir),
};

/**
 * Reads the log and its rotated files, oldest first. A missing log is an empty log; a
 * file that vanishes mid-read (rotated away) is skipped; other I/O errors throw.
 */
export async function readLogFiles(file: string, deps: ReadLogDeps = {}): Promise<ReadLog> {
  const io = { ...defaultDeps, ...deps };
  const names = await io.readdir(path.dirname(file)).catch((err: unknown) => {
    if (isMissing(err)) return [];
    throw readError(path.dirname(file), err);
  });
  const out: ReadLog = { records: [], events: [], malformed: [], files: [] };
  for (const f of [...rotatedFiles(file, names), file]) {
    const text = await io.readFile(f).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw readError(f, err);
    });
    if (text === undefined) continue;
    const parsed = parseLogLines(text);
    out.files.push(f);
    append(out.records, parsed.records);
    append(out.events, parsed.events);
    append(
      out.malformed,
      parsed.malformed.map((m) => ({ ...m, file: f })),
    );
  }
  return out;
}
