/**
 * The built daemon (`dist/main.js serve`) as a child process, the way users run it. The
 * port comes from its `corproxy listening on http://127.0.0.1:PORT` line on stderr, so the
 * daemon can listen on port 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitExit, type TeardownTest } from './tools.js';

/** dist/main.js of this repository, built by `npm run build` (npm test's pretest). */
export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const LISTENING = /corproxy listening on http:\/\/127\.0\.0\.1:(\d+)/;

/** Proxy variables of the test runner must not reach the daemon (nor any test client). */
const PROXY_VARS = /^(https?_proxy|no_proxy|all_proxy)$/i;

export interface DaemonProcess {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  readonly proc: ChildProcess;
  /** Everything the daemon wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a bound; resolves the exit code (null when killed). */
  stop(): Promise<number | null>;
}

export interface DaemonOptions {
  /** Bound on start-up; default 15 s. */
  readonly readyTimeoutMs?: number;
  /** Bound on a graceful stop before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  /** Script to run instead of dist/main.js (tests of this helper). */
  readonly mainJs?: string;
}

/** The runner's environment without proxy variables, plus `extra`. */
export function daemonEnv(
  base: NodeJS.ProcessEnv,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (v !== undefined && !PROXY_VARS.test(k)) env[k] = v;
  }
  // Probing the default watch list at start would resolve public names through the
  // machine's resolver: tests that want probes set CORPROXY_PROBE=true themselves.
  return { ...env, CORPROXY_PROBE: 'false', ...extra };
}

function waitListening(proc: ChildProcess, output: () => string, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      proc.stderr?.off('data', onData);
      reject(new Error(`corproxy ${why}\nstderr:\n${output().slice(-4000)}`));
    };
    const onData = (): void => {
      const m = LISTENING.exec(output());
      if (!m) return;
      clearTimeout(timer);
      proc.stderr?.off('data', onData);
      proc.off('exit', onExit);
      resolve(Number(m[1]));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`exited (${String(code ?? signal)}) before listening`);
    const timer = setTimeout(() => fail(`did not report listening within ${ms} ms`), ms);
    proc.stderr?.on('data', onData);
    proc.once('exit', onExit);
  });
}

/**
 * Starts `node dist/main.js serve ARGS` and waits for its listening line. Stopped at
 * teardown; a daemon that fails to start is killed before the error is thrown.
 */
export async function startDaemon(
  t: TeardownTest,
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
  opts: DaemonOptions = {},
): Promise<DaemonProcess> {
  const mainJs = opts.mainJs ?? MAIN_JS;
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build`);
  const proc = spawn(process.execPath, [mainJs, 'serve', ...args], {
    env: daemonEnv(process.env, env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  // Drained so a chatty daemon never blocks on a full pipe.
  proc.stdout.resume();

  // Signals only this child, and only while it has not exited (PIDs are reused quickly).
  const stop = async (): Promise<number | null> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      if ((await waitExit(proc, opts.stopTimeoutMs ?? 5_000)) === undefined) {
        proc.kill('SIGKILL');
        await waitExit(proc, 5_000);
      }
    }
    return proc.exitCode;
  };
  t.teardown(stop);

  const port = await waitListening(proc, () => stderr, opts.readyTimeoutMs ?? 15_000).catch(
    async (err: unknown) => {
      await stop();
      throw err;
    },
  );
  return { port, url: `http://127.0.0.1:${port}`, proc, stderr: () => stderr, stop };
}
