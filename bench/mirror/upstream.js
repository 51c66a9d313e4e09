/**
 * The corporate proxy between corproxy and the module proxy: the chained topology's private
 * squid when it is installed (lib/squid.js: the `.test` name resolved from its hosts_file,
 * CONNECT allowed to that name only), else a small in-process Node CONNECT proxy with the
 * same rule. Both listen on 127.0.0.1 and dial 127.0.0.1 only.
 */
import { createServer } from 'node:http';
import net from 'node:net';
import { findSquid, startSquid } from '../lib/squid.js';

/** The fallback: CONNECT to `host` only, dialled at 127.0.0.1; anything else gets 403. */
function startNodeProxy(host) {
  const sockets = new Set();
  let count = 0;
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    const m = /^([^:]+):(\d+)$/.exec(req.url ?? '');
    if (!m || m[1].toLowerCase() !== host) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    count += 1;
    const remote = net.connect({ host: '127.0.0.1', port: Number(m[2]) });
    for (const s of [client, remote]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? remote : client).destroy());
    }
    remote.once('connect', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({ kind: 'node', url, tunnels: async () => count, stop });
    });
  });
}

/**
 * `want`: 'squid' (an error when it is not installed), 'node', or undefined for squid when
 * installed, else the Node proxy. `kind` says which runs; `why`, why it is not squid.
 */
export async function startUpstream(parent, host, want) {
  const bin = want === 'node' ? undefined : findSquid();
  if (bin) {
    const squid = await startSquid(bin, parent, host);
    return { kind: 'squid', url: squid.url, tunnels: squid.tunnels, stop: squid.stop };
  }
  if (want === 'squid') throw new Error('squid is not installed (apt-get install squid-openssl)');
  const node = await startNodeProxy(host);
  const why =
    want === 'node'
      ? 'the corporate proxy is the Node CONNECT proxy (--upstream=node)'
      : 'squid is not installed: the corporate proxy is the Node CONNECT proxy';
  return { ...node, why };
}
