/**
 * The two programs doctor asks: `go env -json` (Go's settings after its own env file,
 * GOENV, is applied) and `git config` (http.proxy, http.sslCAInfo). Each runs with the
 * environment doctor was given, bounded in time and output; a missing program is
 * `undefined`, not an error.
 */
import { spawn } from 'node:child_process';
import { GO_ENV_KEYS } from './go-settings.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ProgramResult {
  readonly code: number | null;
  readonly stdout: string;
}

/** Runs a program with an environment and a time limit. */
export type RunProgram = (
  file: string,
  args: readonly string[],
  env: Env,
  timeoutMs: number,
) => Promise<ProgramResult | undefined>;

const MAX_OUTPUT = 1 << 20;

/** Runs a program; undefined when it is not installed (ENOENT) or overruns its time. */
export const runProgram: RunProgram = (file, args, env, timeoutMs) =>
  new Promise((resolve) => {
    const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
    const child = spawn(file, [...args], { env: clean, stdio: ['ignore', 'pipe', 'ignore'] });
    let stdout = '';
    let settled = false;
    const done = (r: ProgramResult | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(undefined);
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (stdout.length > MAX_OUTPUT) child.kill('SIGKILL');
    });
    child.once('error', () => done(undefined));
    child.once('close', (code) => done({ code, stdout }));
  });

/** `go env -json KEYS`: the values, or undefined when go is missing or fails. */
export async function goEnvJson(
  env: Env,
  run: RunProgram = runProgram,
): Promise<Record<string, string> | undefined> {
  const r = await run('go', ['env', '-json', ...GO_ENV_KEYS], env, 10_000);
  if (r === undefined || r.code !== 0) return undefined;
  try {
    const doc = JSON.parse(r.stdout) as unknown;
    if (typeof doc !== 'object' || doc === null) return undefined;
    return Object.fromEntries(
      Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === 'string'),
    );
  } catch {
    return undefined;
  }
}

/** git's http.proxy and http.sslCAInfo (keys lower-cased as git prints them); undefined without git. */
export async function gitHttpConfig(
  env: Env,
  run: RunProgram = runProgram,
): Promise<Record<string, string> | undefined> {
  const r = await run('git', ['config', '--get-regexp', '^http\\.(proxy|sslcainfo)$'], env, 10_000);
  if (r === undefined) return undefined;
  // Exit 1 means "no such key": git is there, nothing is set.
  if (r.code !== 0 && r.code !== 1) return undefined;
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m) out[(m[1] as string).toLowerCase()] = m[2] as string;
  }
  return out;
}
