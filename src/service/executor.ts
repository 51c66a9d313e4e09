/**
 * The one door to platform commands (systemctl, journalctl, systemd-sysusers, schtasks,
 * PowerShell). Everything in src/service/ receives an Executor, so tests assert the exact
 * commands without the platform, and `--dry-run` prints them instead of running them.
 */

import { execFile, spawn } from 'node:child_process';

import { CorproxyError } from '../errors.js';

export interface RunOptions {
  /** Attach the terminal (a command that prompts, e.g. for a password); output is not captured. */
  readonly interactive?: boolean;
}

export interface RunResult {
  /** Exit code; a command that ran and failed resolves, it does not reject. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Executor {
  /** Runs `file` with `args` (no shell); rejects only when the command could not run at all. */
  run(file: string, args: readonly string[], opts?: RunOptions): Promise<RunResult>;
}

/** What the real executor needs from node:child_process (injectable for tests). */
export interface ProcessDeps {
  readonly execFile: typeof execFile;
  readonly spawn: typeof spawn;
  /** Bound on a captured command's run time. */
  readonly timeoutMs: number;
}

const DEFAULT_PROCESS_DEPS: ProcessDeps = { execFile, spawn, timeoutMs: 60_000 };

/** Quotes for display in a POSIX shell, so a printed dry-run line can be pasted. */
export function formatCommand(file: string, args: readonly string[]): string {
  return [file, ...args]
    .map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

function cannotRun(
  file: string,
  args: readonly string[],
  err: NodeJS.ErrnoException,
): CorproxyError {
  const why =
    err.code === 'ENOENT'
      ? `${file} was not found on PATH`
      : `${formatCommand(file, args)} could not run: ${err.message}`;
  return new CorproxyError('CPX_ERR_SERVICE', why, { cause: err });
}

function runCaptured(deps: ProcessDeps, file: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    deps.execFile(
      file,
      [...args],
      { encoding: 'utf8', timeout: deps.timeoutMs, maxBuffer: 4 * 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (err === null) return resolve({ code: 0, stdout, stderr });
        if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
        if (err.killed === true) {
          return reject(
            new CorproxyError(
              'CPX_ERR_SERVICE',
              `${formatCommand(file, args)} did not finish within ${deps.timeoutMs} ms`,
              { cause: err },
            ),
          );
        }
        reject(cannotRun(file, args, err as NodeJS.ErrnoException));
      },
    );
  });
}

function runInteractive(
  deps: ProcessDeps,
  file: string,
  args: readonly string[],
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = deps.spawn(file, [...args], { stdio: 'inherit', windowsHide: false });
    child.once('error', (err) => reject(cannotRun(file, args, err)));
    child.once('exit', (code, signal) => {
      resolve({
        code: code ?? 128,
        stdout: '',
        stderr: signal === null ? '' : `killed by ${signal}`,
      });
    });
  });
}

/** The real executor over child_process.execFile (captured) or spawn (interactive). */
export function createExecutor(deps: ProcessDeps = DEFAULT_PROCESS_DEPS): Executor {
  return {
    run: (file, args, opts = {}) =>
      opts.interactive === true ? runInteractive(deps, file, args) : runCaptured(deps, file, args),
  };
}

/** First non-empty line of a command's stderr (or stdout), for one-line error messages. */
export function firstLine(result: RunResult): string {
  const text = `${result.stderr}\n${result.stdout}`;
  return (
    text
      .split(/\r?\n/)
      .find((line) => line.trim() !== '')
      ?.trim() ?? 'no output'
  );
}

/** Runs a command that must succeed; a non-zero exit throws CPX_ERR_SERVICE naming it. */
export async function runChecked(
  executor: Executor,
  file: string,
  args: readonly string[],
  opts?: RunOptions,
): Promise<RunResult> {
  const result = await executor.run(file, args, opts);
  if (result.code !== 0) {
    throw new CorproxyError(
      'CPX_ERR_SERVICE',
      `${formatCommand(file, args)} failed (exit ${result.code}): ${firstLine(result)}`,
      { details: { command: file, args: [...args], exitCode: result.code } },
    );
  }
  return result;
}
