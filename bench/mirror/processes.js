/**
 * How the mirror benchmark starts its processes (squid, corproxy, go): with the output
 * kept for messages and seen chunk by chunk. They are kept, stopped and killed by
 * lib/children.js like every other child of the harnesses: by their handles only (never
 * by name), only while they run, SIGTERM first and SIGKILL after a bound.
 */
import { spawn } from 'node:child_process';
import { cleanEnv, stopChild, track } from '../lib/children.js';

export { cleanEnv, killAllNow as killNow, stopAll } from '../lib/children.js';

/**
 * Starts `command`; `output()` is the tail of its stdout and stderr (for error messages),
 * `onOutput` sees each chunk.
 */
export function start(command, args, { env = cleanEnv(), cwd, onOutput } = {}) {
  const proc = track(spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] }));
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
  return { proc, exited, output: () => tail, stop: (ms) => stopChild(proc, ms) };
}
