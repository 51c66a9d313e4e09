/**
 * Load-client modes made of short connections: each one opens a path (a tunnel through the
 * proxy, or direct), sends a 64-byte message to the echo origin, waits for all of it to
 * come back, and closes. `latency` (W2) runs them one after another and times each;
 * `rate` (W3) keeps `concurrency` of them in flight and counts completions per second.
 */
import { connectRequest, openPath } from './open-path.js';

const MESSAGE = Buffer.alloc(64, 0x6d);
const nowNs = () => process.hrtime.bigint();

/** One connection: open, round trip, close. Calls back (err) or (null). */
function roundTrip(path, request, callback) {
  openPath(path, request, (err, socket, rest) => {
    if (err) {
      callback(err);
      return;
    }
    let got = rest.length;
    let finished = false;
    const end = (failure) => {
      if (finished) return;
      finished = true;
      socket.destroy();
      callback(failure);
    };
    socket.on('data', (chunk) => {
      got += chunk.length;
      if (got >= MESSAGE.length) end(null);
    });
    socket.once('close', () => end(new Error('closed before the echo came back')));
    socket.write(MESSAGE);
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** W2: `count` sequential round trips after `warmup` untimed ones; microseconds. */
export function runLatency({ path, count, warmup }) {
  const request = path.connect === undefined ? undefined : connectRequest(path);
  const samples = [];
  let errors = 0;
  return new Promise((resolve) => {
    let i = 0;
    const next = () => {
      if (i >= warmup + count) {
        samples.sort((a, b) => a - b);
        resolve({
          count: samples.length,
          errors,
          p50: percentile(samples, 50),
          p90: percentile(samples, 90),
          p99: percentile(samples, 99),
          min: samples[0],
          max: samples[samples.length - 1],
        });
        return;
      }
      const timed = i >= warmup;
      i += 1;
      const t0 = nowNs();
      roundTrip(path, request, (err) => {
        if (err) errors += 1;
        else if (timed) samples.push(Number(nowNs() - t0) / 1000);
        // A new tick keeps the stack flat and lets the previous close be processed.
        setImmediate(next);
      });
    };
    next();
  });
}

/** W3: completions per second with `concurrency` loops, counted after `warm` seconds. */
export function runRate({ path, concurrency, warm, seconds }) {
  const request = path.connect === undefined ? undefined : connectRequest(path);
  return new Promise((resolve) => {
    let done = 0;
    let errors = 0;
    let lastError;
    let measuring = false;
    let stopping = false;
    let active = 0;
    let t0;
    let t1;
    const loop = () => {
      if (stopping) {
        active -= 1;
        if (active === 0) finish();
        return;
      }
      roundTrip(path, request, (err) => {
        if (err) {
          errors += 1;
          lastError = err.message;
        } else if (measuring) {
          done += 1;
        }
        loop();
      });
    };
    const finish = () =>
      resolve({ count: done, errors, lastError, seconds: t1 - t0, rate: done / (t1 - t0) });
    for (let c = 0; c < concurrency; c++) {
      active += 1;
      loop();
    }
    setTimeout(() => {
      measuring = true;
      t0 = Number(nowNs()) / 1e9;
    }, warm * 1000);
    setTimeout(
      () => {
        measuring = false;
        stopping = true;
        t1 = Number(nowNs()) / 1e9;
      },
      (warm + seconds) * 1000,
    );
    // In-flight connections get a bounded time to finish; a stuck one must not hang the run.
    setTimeout(finish, (warm + seconds + 10) * 1000).unref();
  });
}
