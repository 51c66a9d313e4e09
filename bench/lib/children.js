/**
 * Every process the harnesses start goes through here: it keeps their handles, reads their
 * JSON lines, and stops them by their own handle (never by name), only while they have not
 * exited, with SIGKILL after a bound. `stopAll` runs on every exit path of run.js and
 * mirror.js.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const started = new Set();

/**
 * Environment for children: no proxy variables, corproxy settings or Go settings (the
 * mirror benchmark runs `go`) from the caller.
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(https?_proxy|no_proxy|all_proxy|corproxy_.*|go.*)$/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/**
 * Starts a process. `child.json(pred, ms)` resolves the next stdout JSON line matching
 * `pred`; `child.output()` is the tail of stdout+stderr for error messages; `child.exited`
 * resolves with the exit code or signal (null when it could not be started).
 */
export function startChild(command, args, opts = {}) {
  const proc = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? cleanEnv(),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  started.add(proc);
  proc.once('exit', () => started.delete(proc));
  let tail = '';
  let partial = '';
  const lines = [];
  const waiters = [];
  const keep = (s) => {
    tail = (tail + s).slice(-8000);
  };
  const offer = () => {
    for (let w = 0; w < waiters.length; w++) {
      const i = lines.findIndex(waiters[w].pred);
      if (i >= 0) {
        const [line] = lines.splice(i, 1);
        const [waiter] = waiters.splice(w, 1);
        w -= 1;
        waiter.resolve(line);
      }
    }
  };
  proc.stdout.setEncoding('utf8').on('data', (s) => {
    keep(s);
    partial += s;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        lines.push(JSON.parse(text));
      } catch {
        // Not a result line; kept in the tail for messages.
      }
    }
    offer();
  });
  proc.stderr.setEncoding('utf8').on('data', (s) => {
    keep(s);
    opts.onStderr?.(s);
  });
  proc.stdin.on('error', () => undefined);
  // 'close' comes after 'exit' once stdout and stderr are read, so output() is whole when
  // `exited` resolves. A command that cannot be started emits 'error' and maybe no more.
  const exited = new Promise((resolve) => {
    proc.once('error', (err) => {
      keep(`\n${err.message}\n`);
      resolve(null);
    });
    proc.once('close', (code, sig) => resolve(code ?? sig));
  });
  return {
    proc,
    pid: proc.pid,
    exited,
    output: () => tail,
    json(pred = () => true, ms = 60_000) {
      return new Promise((resolve, reject) => {
        const waiter = { pred, resolve: undefined };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`${command}: no result within ${ms} ms\n${tail.slice(-2000)}`));
        }, ms);
        const onExit = (code) => {
          // Lines printed just before exit are parsed before 'exit' fires; look once more.
          setImmediate(() => {
            if (waiters.includes(waiter)) {
              clearTimeout(timer);
              waiters.splice(waiters.indexOf(waiter), 1);
              reject(
                new Error(`${command} exited (${code}) without a result\n${tail.slice(-2000)}`),
              );
            }
          });
        };
        waiter.resolve = (line) => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push(waiter);
        offer();
        exited.then(onExit);
      });
    },
    send(text) {
      if (proc.stdin.writable) proc.stdin.write(text);
    },
    stop: (ms = 5000) => stopChild(proc, ms),
  };
}

function alive(proc) {
  return proc.exitCode === null && proc.signalCode === null;
}

function waitExit(proc, ms) {
  if (!alive(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM, then SIGKILL after `ms`; only this handle's process, only while it runs. */
export async function stopChild(proc, ms = 5000) {
  if (!alive(proc)) return;
  proc.kill('SIGTERM');
  if (await waitExit(proc, ms)) return;
  if (alive(proc)) proc.kill('SIGKILL');
  await waitExit(proc, 5000);
}

export async function stopAll() {
  await Promise.all([...started].map((p) => stopChild(p, 3000)));
}

/** Synchronous last resort for process 'exit': SIGKILL whatever is still ours. */
export function killAllNow() {
  for (const p of started) if (alive(p)) p.kill('SIGKILL');
}

const CLIENT_JS = fileURLToPath(new URL('../client.js', import.meta.url));

/** Runs one load-client job to completion; rejects with its error or on timeout. */
export async function runClient(job, timeoutMs) {
  const child = startChild(process.execPath, [CLIENT_JS, JSON.stringify(job)]);
  const result = await child.json((l) => l.done === true, timeoutMs).finally(() => child.stop());
  if (result.error) throw new Error(`client ${job.mode}: ${result.error}`);
  return result;
}

/** Starts a load client that reports as it goes (idle, slow); the caller reads and stops it. */
export function startClient(job) {
  return startChild(process.execPath, [CLIENT_JS, JSON.stringify(job)]);
}
