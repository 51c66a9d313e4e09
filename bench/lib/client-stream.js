/**
 * Load-client modes that read one long download: `bulk` (W1, as fast as possible) and
 * `slow` (a reader throttled to a fixed rate, for the backpressure check). Reads go into
 * one reused buffer (net's `onread`), so the client allocates nothing per read and stays
 * cheaper than the proxy it measures.
 */
import net from 'node:net';
import { connectRequest, parseReplyHead } from './open-path.js';

const now = () => Number(process.hrtime.bigint()) / 1e9;

/**
 * Connects along `path` and asks the bulk origin for `bytes` (0 = endless). `onBytes(n)`
 * sees every payload byte count; its `false` pauses the socket (onread semantics).
 */
function download(path, bytes, bufferSize, onBytes, onEnd) {
  const buffer = Buffer.allocUnsafe(bufferSize);
  const ask = Buffer.from(`G${bytes}\n`);
  let tunnelled = path.connect === undefined;
  let head = Buffer.alloc(0);
  const socket = net.connect({
    host: path.host,
    port: path.port,
    noDelay: true,
    onread: {
      buffer,
      callback: (n, buf) => {
        if (tunnelled) return onBytes(n);
        head = Buffer.concat([head, buf.subarray(0, n)]);
        const reply = parseReplyHead(head);
        if (reply === undefined) return true;
        if (!reply.ok) {
          socket.destroy(new Error(`proxy answered ${reply.status}`));
          return false;
        }
        tunnelled = true;
        socket.write(ask);
        return reply.rest.length > 0 ? onBytes(reply.rest.length) : true;
      },
    },
  });
  socket.on('connect', () => socket.write(path.connect === undefined ? ask : connectRequest(path)));
  socket.on('error', (err) => onEnd(err));
  socket.on('end', () => onEnd());
  return socket;
}

/** W1: bytes per second over `seconds` after `warm` seconds of the same download. */
export function runBulk({ path, warm, seconds }) {
  return new Promise((resolve, reject) => {
    let total = 0;
    let mark;
    let settled = false;
    const socket = download(
      path,
      0,
      1 << 18,
      (n) => {
        total += n;
        return true;
      },
      (err) => {
        if (!settled) reject(err ?? new Error('download ended early'));
      },
    );
    setTimeout(() => {
      mark = { t: now(), bytes: total };
    }, warm * 1000);
    setTimeout(
      () => {
        settled = true;
        const t = now();
        socket.destroy();
        if (mark === undefined || total === mark.bytes) {
          reject(new Error('no bytes in the measured window'));
          return;
        }
        resolve({
          bytes: total - mark.bytes,
          seconds: t - mark.t,
          bps: (total - mark.bytes) / (t - mark.t),
        });
      },
      (warm + seconds) * 1000,
    );
  });
}

/**
 * Backpressure check: asks for `bytes` and reads them at `rate` bytes/s (reads of at most
 * 16 KiB, resumed every 20 ms within the budget), printing progress every second through
 * `report`, for at most `seconds`.
 */
export function runSlow({ path, bytes, rate, seconds }, report) {
  return new Promise((resolve) => {
    const started = now();
    let total = 0;
    let paused = false;
    let ended;
    const allowed = () => (now() - started) * rate;
    const socket = download(
      path,
      bytes,
      16384,
      (n) => {
        total += n;
        paused = total >= allowed();
        return !paused;
      },
      (err) => {
        ended = err ? `error: ${err.message}` : 'end';
      },
    );
    const tick = setInterval(() => {
      if (paused && total < allowed()) {
        paused = false;
        socket.resume();
      }
    }, 20);
    const progress = setInterval(() => report({ t: now() - started, bytes: total }), 1000);
    const finish = () => {
      clearInterval(tick);
      clearInterval(progress);
      clearInterval(check);
      socket.destroy();
      resolve({ bytes: total, seconds: now() - started, ended: ended ?? 'time limit' });
    };
    const check = setInterval(() => {
      if (ended !== undefined || total >= bytes || now() - started >= seconds) finish();
    }, 100);
  });
}
