/**
 * The benchmark origins, run as their own process so they never share an event loop with
 * the proxy or the load client. Four listeners on 127.0.0.1, port 0:
 *   bulk  reads one line `G<bytes>\n` (0 = endless), then sends that many bytes as fast as
 *         the peer takes them (backpressure through write()/'drain');
 *   echo  sends back whatever it receives;
 *   idle  accepts and holds the connection, sending nothing;
 *   http  a minimal HTTP/1.1 keep-alive origin: every request head (no bodies) gets one
 *         fixed 200 response.
 * They are deliberately cheap (raw sockets, no HTTP library) so that a direct connection is
 * as fast as this machine allows and the ratios measure the proxy, not the origin.
 * Prints one JSON line with the ports, then runs until stdin closes or SIGTERM.
 */
import net from 'node:net';

const CHUNK = Buffer.alloc(1 << 20, 0x61);
const BODY = Buffer.alloc(128, 0x62);
const RESPONSE = Buffer.concat([
  Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${BODY.length}\r\n\r\n`,
  ),
  BODY,
]);
const HEAD_END = Buffer.from('\r\n\r\n');

function quiet(socket) {
  socket.on('error', () => socket.destroy());
  socket.setNoDelay(true);
}

/** Sends `total` bytes (Infinity when 0) respecting the socket's backpressure. */
function pump(socket, total) {
  let left = total === 0 ? Infinity : total;
  const more = () => {
    while (left > 0 && !socket.destroyed) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      const ok = socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (left === 0) socket.end();
      if (!ok) return;
    }
  };
  socket.on('drain', more);
  more();
}

function onBulk(socket) {
  quiet(socket);
  let line = '';
  const onData = (chunk) => {
    line += chunk.toString('latin1');
    const nl = line.indexOf('\n');
    if (nl < 0) {
      if (line.length > 64) socket.destroy();
      return;
    }
    socket.off('data', onData);
    // Whatever the reader sends later is discarded; reading it keeps FIN visible.
    socket.on('data', () => undefined);
    socket.on('end', () => socket.destroy());
    pump(socket, Number(line.slice(1, nl)) || 0);
  };
  socket.on('data', onData);
}

function onEcho(socket) {
  quiet(socket);
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('end', () => socket.end());
}

function onIdle(socket) {
  quiet(socket);
  socket.on('data', () => undefined);
  socket.on('end', () => socket.end());
}

/** Counts request heads (requests carry no body) and answers each one. */
function onHttp(socket) {
  quiet(socket);
  let tail = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    const buf = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let from = 0;
    let n = 0;
    for (let at = buf.indexOf(HEAD_END, from); at >= 0; at = buf.indexOf(HEAD_END, from)) {
      n += 1;
      from = at + HEAD_END.length;
    }
    tail = from < buf.length ? Buffer.from(buf.subarray(from)) : Buffer.alloc(0);
    if (tail.length > 65536) socket.destroy();
    if (n === 1) socket.write(RESPONSE);
    else if (n > 1) socket.write(Buffer.concat(new Array(n).fill(RESPONSE)));
  });
  socket.on('end', () => socket.end());
}

function listen(handler) {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ noDelay: true }, handler);
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () =>
      resolve({ server, port: server.address().port }),
    );
  });
}

const servers = await Promise.all([onBulk, onEcho, onIdle, onHttp].map(listen));
const [bulk, echo, idle, http] = servers.map((s) => s.port);
process.stdout.write(`${JSON.stringify({ bulk, echo, idle, http })}\n`);
const stop = () => process.exit(0);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.once('SIGTERM', stop);
