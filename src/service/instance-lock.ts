/**
 * One daemon per state directory: an exclusive pid file (created with O_EXCL, `wx`) that a
 * second `serve` finds, and a status file (JSON) that `corproxy service status` reads.
 * Synchronous on purpose: the lock is taken once at start-up and released from an 'exit'
 * handler, where asynchronous work never runs.
 */

import * as fs from 'node:fs';
import { join } from 'node:path';

import { CorproxyError } from '../errors.js';

export const LOCK_FILE = 'corproxy.pid';
export const STATUS_FILE = 'status.json';

/** The file operations the lock needs (synchronous; injectable for tests). */
export interface LockFs {
  mkdirp(path: string): void;
  /** Creates `path` with `data`; throws an error with code EEXIST when it exists. */
  createExclusive(path: string, data: string): void;
  /** undefined when the file does not exist. */
  readText(path: string): string | undefined;
  /** No error when the file is already gone. */
  remove(path: string): void;
  /** Write to a temporary file, then rename over `path`, so readers never see half a file. */
  writeAtomic(path: string, data: string): void;
}

export interface LockDeps {
  readonly pid: number;
  readonly fs: LockFs;
  readonly isAlive: (pid: number) => boolean;
  /** The process's argv from /proc/PID/cmdline; undefined where that cannot be read. */
  readonly readCmdline: (pid: number) => readonly string[] | undefined;
  /** This process's main script (process.argv[1]), to recognise another copy of it. */
  readonly selfScript: string;
}

export interface InstanceLock {
  readonly path: string;
  /** Removes the pid and status files if they are still this process's; idempotent. */
  release(): void;
}

/** What the daemon publishes about itself in the state dir. */
export interface DaemonStatus {
  readonly pid: number;
  /** ISO 8601 start time. */
  readonly started: string;
  readonly version: string;
  /** host:port per listener ('[::1]:3129' for IPv6). */
  readonly listen: readonly string[];
  /** Redacted upstream URLs (UpstreamProxy.display); never credentials. */
  readonly upstreams?: readonly string[];
  readonly logFile?: string;
  /** True when the listeners came from systemd (LISTEN_FDS). */
  readonly socketActivated?: boolean;
}

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export const nodeLockFs: LockFs = {
  mkdirp: (path) => void fs.mkdirSync(path, { recursive: true }),
  createExclusive: (path, data) => fs.writeFileSync(path, data, { flag: 'wx', mode: 0o644 }),
  readText: (path) => {
    try {
      return fs.readFileSync(path, 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return undefined;
      throw err;
    }
  },
  remove: (path) => fs.rmSync(path, { force: true }),
  writeAtomic: (path, data) => {
    const tmp = `${path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o644 });
    fs.renameSync(tmp, path);
  },
};

/** Signal 0 checks existence; EPERM means it exists but belongs to another user. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/** Linux /proc/PID/cmdline: NUL-separated argv; undefined elsewhere or when hidden. */
export function readProcCmdline(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? [] : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

export function defaultLockDeps(): LockDeps {
  return {
    pid: process.pid,
    fs: nodeLockFs,
    isAlive: isProcessAlive,
    readCmdline: readProcCmdline,
    selfScript: process.argv[1] ?? '',
  };
}

/** The last two path segments ('dist/main.js'), which survive relative invocations. */
function scriptTail(script: string): string | undefined {
  const parts = script.split(/[\\/]+/).filter((p) => p !== '');
  return parts.length >= 2 ? parts.slice(-2).join('/') : undefined;
}

/**
 * Whether a command line is a corproxy: an argument naming corproxy (the installed bin or
 * package path) or ending in the same script as ours. A PID reused by any other program
 * fails both, so its stale lock is taken over.
 */
export function looksLikeCorproxy(argv: readonly string[], selfScript: string): boolean {
  if (argv.length === 0) return false;
  if (argv.some((arg) => /corproxy/i.test(arg))) return true;
  const tail = scriptTail(selfScript);
  return tail !== undefined && argv.some((arg) => arg.replace(/\\/g, '/').endsWith(tail));
}

function parsePid(text: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*$/.exec(text ?? '');
  const pid = m === null ? NaN : Number(m[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Alive and (where /proc can tell) a corproxy; unknown identity counts as corproxy. */
function ownerIsRunning(owner: number, deps: LockDeps): boolean {
  if (!deps.isAlive(owner)) return false;
  const argv = deps.readCmdline(owner);
  return argv === undefined || looksLikeCorproxy(argv, deps.selfScript);
}

/** The PID in the status file; a damaged file belongs to nobody (release runs at exit). */
function statusPid(stateDir: string, lockFs: LockFs): number | undefined {
  try {
    return readStatusFile(stateDir, lockFs)?.pid;
  } catch {
    return undefined;
  }
}

function lockFor(stateDir: string, deps: LockDeps): InstanceLock {
  const path = join(stateDir, LOCK_FILE);
  const statusPath = join(stateDir, STATUS_FILE);
  return {
    path,
    release: () => {
      if (parsePid(deps.fs.readText(path)) === deps.pid) deps.fs.remove(path);
      if (statusPid(stateDir, deps.fs) === deps.pid) deps.fs.remove(statusPath);
    },
  };
}

function stateDirError(stateDir: string, err: unknown): CorproxyError {
  return new CorproxyError(
    'CPX_ERR_STATE_DIR',
    `state dir ${stateDir} is not usable (${errnoOf(err) ?? String(err)}); fix its permissions or use --state-dir`,
    { cause: err },
  );
}

/**
 * Takes the single-instance lock of `stateDir` or throws CPX_ERR_ALREADY_RUNNING naming the
 * PID that holds it. A lock left by a dead process, or by a PID now reused by another
 * program, is removed and taken. Two daemons starting in the same instant may both see a
 * stale lock; the bounded retry makes one of them lose the O_EXCL race and report it.
 */
export function acquireInstanceLock(
  stateDir: string,
  deps: LockDeps = defaultLockDeps(),
): InstanceLock {
  const path = join(stateDir, LOCK_FILE);
  try {
    deps.fs.mkdirp(stateDir);
  } catch (err) {
    throw stateDirError(stateDir, err);
  }
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      deps.fs.createExclusive(path, `${deps.pid}\n`);
      return lockFor(stateDir, deps);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw stateDirError(stateDir, err);
    }
    const owner = parsePid(deps.fs.readText(path));
    if (owner === deps.pid) return lockFor(stateDir, deps);
    if (owner !== undefined && ownerIsRunning(owner, deps)) {
      throw new CorproxyError(
        'CPX_ERR_ALREADY_RUNNING',
        `corproxy already runs as PID ${owner} for state dir ${stateDir}; stop it or use --state-dir`,
        { details: { pid: owner, stateDir } },
      );
    }
    deps.fs.remove(path);
  }
  throw new CorproxyError(
    'CPX_ERR_ALREADY_RUNNING',
    `another corproxy is starting for state dir ${stateDir}; stop it or use --state-dir`,
    { details: { stateDir } },
  );
}

/** Publishes the daemon's status atomically (call again when listeners or upstreams change). */
export function writeStatusFile(
  stateDir: string,
  status: DaemonStatus,
  lockFs: LockFs = nodeLockFs,
): void {
  lockFs.writeAtomic(join(stateDir, STATUS_FILE), `${JSON.stringify(status, null, 2)}\n`);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function isDaemonStatus(v: unknown): v is DaemonStatus {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.pid === 'number' &&
    Number.isSafeInteger(s.pid) &&
    s.pid > 0 &&
    typeof s.started === 'string' &&
    typeof s.version === 'string' &&
    isStringArray(s.listen) &&
    (s.upstreams === undefined || isStringArray(s.upstreams)) &&
    (s.logFile === undefined || typeof s.logFile === 'string') &&
    (s.socketActivated === undefined || typeof s.socketActivated === 'boolean')
  );
}

/** Parses a status file's text; a damaged file throws CPX_ERR_SERVICE naming `path`. */
export function parseDaemonStatus(text: string, path: string): DaemonStatus {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CorproxyError('CPX_ERR_SERVICE', `${path} is not valid JSON; delete it`, { cause });
  }
  if (!isDaemonStatus(value)) {
    throw new CorproxyError('CPX_ERR_SERVICE', `${path} is not a corproxy status file; delete it`);
  }
  return value;
}

/** The status a daemon published, undefined when none; a damaged file throws CPX_ERR_SERVICE. */
export function readStatusFile(
  stateDir: string,
  lockFs: LockFs = nodeLockFs,
): DaemonStatus | undefined {
  const path = join(stateDir, STATUS_FILE);
  const text = lockFs.readText(path);
  return text === undefined ? undefined : parseDaemonStatus(text, path);
}
