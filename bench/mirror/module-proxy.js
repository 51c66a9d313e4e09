/**
 * The module proxy on the far side of the corporate network: HTTPS on 127.0.0.1:0 with a
 * leaf for a `.test` name, serving prebuilt files. `latencyMs` delays every response, to
 * model the round trip to a module proxy on the internet (one round trip per response;
 * a real fetch through a corporate proxy pays several: TCP, CONNECT, TLS, request).
 */
import { createServer } from 'node:https';

/** Starts the proxy; `served()` counts the responses sent so far, by status. */
export function startModuleProxy({ leaf, files, latencyMs }) {
  const sockets = new Set();
  const counts = { ok: 0, notFound: 0, bytes: 0 };
  const timers = new Set();
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const found = req.method === 'GET' ? files.get(path) : undefined;
    const respond = () => {
      timers.delete(timer);
      if (found) {
        counts.ok += 1;
        counts.bytes += found.body.length;
      } else counts.notFound += 1;
      res.writeHead(found ? 200 : 404, {
        'Content-Type': found?.type ?? 'text/plain',
        'Content-Length': Buffer.byteLength(found?.body ?? 'not found\n'),
      });
      res.end(found?.body ?? 'not found\n');
    };
    const timer = setTimeout(respond, latencyMs);
    timers.add(timer);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const close = () =>
    new Promise((resolve) => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({ port: server.address().port, served: () => ({ ...counts }), close });
    });
  });
}
