/**
 * Load-client mode `http` (W5): `connections` keep-alive HTTP/1.1 connections, each sending
 * one GET, reading the whole response (Content-Length framing), and sending the next.
 * Requests are prebuilt and responses parsed with indexOf on the raw bytes, so one client
 * process costs far less per request than any proxy in between. Through a proxy the
 * request carries the absolute URI (RFC 9112 §3.2.2).
 */
import net from 'node:net';

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

function requestFor(target) {
  const uri = target.proxy ? `http://${target.authority}/bench` : '/bench';
  return Buffer.from(
    `GET ${uri} HTTP/1.1\r\nHost: ${target.authority}\r\nUser-Agent: corproxy-bench\r\nAccept: */*\r\n\r\n`,
  );
}

/**
 * Bytes of the complete response at the start of `buf`, or 0 while it is incomplete;
 * throws on framing this client does not speak.
 */
function responseLength(buf) {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return 0;
  const head = buf.toString('latin1', 0, end + 2);
  const m = CONTENT_LENGTH.exec(head);
  if (!m) throw new Error(`response without Content-Length: ${head.split('\r\n')[0]}`);
  if (head.slice(9, 12) !== '200') throw new Error(`status ${head.split('\r\n')[0]}`);
  const total = end + 4 + Number(m[1]);
  return buf.length >= total ? total : 0;
}

export function runHttp({ target, connections, warm, seconds }) {
  const request = requestFor(target);
  let done = 0;
  let errors = 0;
  let lastError;
  let measuring = false;
  let stopping = false;
  let t0;
  let t1;
  const sockets = new Set();
  const open = () => {
    if (stopping) return;
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    sockets.add(socket);
    let acc = Buffer.alloc(0);
    const fail = (err) => {
      errors += 1;
      lastError = err.message;
      socket.destroy();
    };
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk) => {
      acc = acc.length === 0 ? chunk : Buffer.concat([acc, chunk]);
      let n;
      try {
        n = responseLength(acc);
      } catch (err) {
        fail(err);
        return;
      }
      if (n === 0) return;
      if (n !== acc.length) {
        fail(new Error('bytes past the response (this client never pipelines)'));
        return;
      }
      acc = Buffer.alloc(0);
      if (measuring) done += 1;
      if (!stopping) socket.write(request);
    });
    socket.on('error', (err) => fail(err));
    socket.once('close', () => {
      sockets.delete(socket);
      // A connection the server closed is replaced, as a keep-alive client pool would.
      if (!stopping) setTimeout(open, 10);
    });
  };
  for (let c = 0; c < connections; c++) open();
  return new Promise((resolve) => {
    setTimeout(() => {
      measuring = true;
      t0 = Number(process.hrtime.bigint()) / 1e9;
    }, warm * 1000);
    setTimeout(
      () => {
        measuring = false;
        stopping = true;
        t1 = Number(process.hrtime.bigint()) / 1e9;
        for (const s of sockets) s.destroy();
        resolve({ count: done, errors, lastError, seconds: t1 - t0, rate: done / (t1 - t0) });
      },
      (warm + seconds) * 1000,
    );
  });
}
