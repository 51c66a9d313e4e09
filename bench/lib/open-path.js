/**
 * How a load client reaches an origin: a path is `{ host, port }` for a direct TCP
 * connection, or `{ host, port, connect: 'name:port' }` for a tunnel through the proxy at
 * host:port (HTTP CONNECT, RFC 9110 §9.3.6). The caller gets the socket once bytes can flow
 * to the origin, plus any bytes that arrived after the proxy's reply head.
 */
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** The CONNECT request for a path, built once per run. */
export function connectRequest(path) {
  return Buffer.from(`CONNECT ${path.connect} HTTP/1.1\r\nHost: ${path.connect}\r\n\r\n`);
}

/**
 * Reads a proxy's reply head out of `acc` (all bytes so far). Returns undefined while it is
 * incomplete, else `{ ok, rest }` where ok means a 2xx status.
 */
export function parseReplyHead(acc) {
  const end = acc.indexOf(HEAD_END);
  if (end < 0) {
    if (acc.length > 16384) return { ok: false, rest: EMPTY, status: 'head too large' };
    return undefined;
  }
  const status = acc.toString('latin1', 9, 12);
  return { ok: status[0] === '2', rest: acc.subarray(end + 4), status };
}

/** Opens a path; calls back exactly once with (err) or (null, socket, rest). */
export function openPath(path, request, callback) {
  const socket = net.connect({ host: path.host, port: path.port, noDelay: true });
  let done = false;
  const finish = (err, rest) => {
    if (done) return;
    done = true;
    socket.off('data', onData);
    if (err) {
      socket.destroy();
      callback(err);
    } else {
      callback(null, socket, rest);
    }
  };
  let acc = EMPTY;
  const onData = (chunk) => {
    acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
    const head = parseReplyHead(acc);
    if (head === undefined) return;
    if (head.ok) finish(null, head.rest);
    else finish(new Error(`proxy answered ${head.status}`));
  };
  socket.on('error', (err) => finish(err));
  socket.once('close', () => finish(new Error('closed before the tunnel was open')));
  socket.once('connect', () => {
    if (path.connect === undefined) {
      finish(null, EMPTY);
      return;
    }
    socket.on('data', onData);
    socket.write(request);
  });
}
