/**
 * The processes the mirror benchmark starts (squid, corproxy, go): their handles are kept
 * here, and they are stopped by those handles only (never by name), only while they run,
 * SIGTERM first and SIGKILL after a bound. `killNow` is the synchronous last resort for
 * the process 'exit' event.
 */
import { spawn } from 'node:child_process';

const running = new Set();

/** The caller's environment without proxy variables or corproxy settings. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(https?_proxy|no_proxy|all_proxy|corproxy_.*|go.*)$/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

function alive(proc) {
  return proc.exitCode === null && proc.signalCode === null;
}

/** Resolves true once `proc` has exited, false after `ms`. */
export function waitExit(proc, ms) {
  if (!alive(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts `command`; `output()` is the tail of its stdout and stderr (for error messages),
 * `onOutput` sees each chunk.
 */
export function start(command, args, { env = cleanEnv(), cwd, onOutput } = {}) {
  const proc = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let tail = '';
  const keep = (s) => {
    tail = (tail + s).slice(-8000);
    onOutput?.(s);
  };
  proc.stdout.setEncoding('utf8').on('data', keep);
  proc.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) => {
    proc.once('error', (err) => {
      keep(`\n${err.message}\n`);
      resolve(null);
    });
    proc.once('close', (code, signal) => resolve(code ?? signal));
  });
  return { proc, exited, output: () => tail, stop: (ms) => stop(proc, ms) };
}

/** SIGTERM, then SIGKILL after `ms`: only this handle's process, only while it runs. */
export async function stop(proc, ms = 5000) {
  if (!alive(proc)) return;
  proc.kill('SIGTERM');
  if (await waitExit(proc, ms)) return;
  if (alive(proc)) proc.kill('SIGKILL');
  await waitExit(proc, 5000);
}

export async function stopAll() {
  await Promise.all([...running].map((p) => stop(p, 3000)));
}

export function killNow() {
  for (const p of running) if (alive(p)) p.kill('SIGKILL');
}
