/**
 * Load-client mode `idle` (W4 and the 10,000-tunnel check): opens `count` tunnels to the
 * idle origin, `concurrency` at a time, and holds them. Reports once all attempts are
 * settled, then waits for `close` on stdin (bounded by `holdSeconds`), closes them all and
 * reports again.
 */
import { connectRequest, openPath } from './open-path.js';

export function openIdle({ path, count, concurrency, timeoutSeconds }) {
  const request = path.connect === undefined ? undefined : connectRequest(path);
  const sockets = [];
  let failed = 0;
  let lostLater = 0;
  let lastError;
  let started = 0;
  let settled = 0;
  const t0 = Date.now();
  return new Promise((resolve) => {
    const done = () =>
      resolve({
        sockets,
        summary: {
          opened: sockets.length - lostLater,
          failed,
          lastError,
          seconds: (Date.now() - t0) / 1000,
        },
      });
    const timer = setTimeout(done, timeoutSeconds * 1000);
    const launch = () => {
      if (started >= count) return;
      started += 1;
      openPath(path, request, (err, socket) => {
        settled += 1;
        if (err) {
          failed += 1;
          lastError = err.message;
        } else {
          sockets.push(socket);
          socket.on('data', () => undefined);
          socket.once('close', () => {
            lostLater += 1;
          });
        }
        if (settled === count) {
          clearTimeout(timer);
          done();
        } else {
          launch();
        }
      });
    };
    for (let i = 0; i < Math.min(concurrency, count); i++) launch();
  });
}
