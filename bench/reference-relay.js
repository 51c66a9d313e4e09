/**
 * The smallest relay this harness can measure, for comparison only (never shipped):
 * CONNECT tunnels and absolute-URI forwarding on raw sockets with no routing, limits,
 * log, errors or response framing. It pairs each client connection with one origin
 * connection and assumes one request at a time, which the bench's clients honour.
 *
 *   BENCH_MAIN_JS=bench/reference-relay.js npm run bench -- --quick
 *
 * Started like the daemon (`serve --config FILE`); reads only `upstream:` and the port
 * of each target, and sends everything to 127.0.0.1.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';

const config = readFileSync(process.argv[process.argv.indexOf('--config') + 1], 'utf8');
const upstream = /upstream: \['http:\/\/([^:]+):(\d+)'\]/.exec(config);
const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

function dial(port) {
  return upstream
    ? net.connect({ host: upstream[1], port: Number(upstream[2]), noDelay: true })
    : net.connect({ host: '127.0.0.1', port, noDelay: true });
}

function join(a, b) {
  a.on('data', (d) => {
    if (!b.write(d)) a.pause();
  });
  b.on('drain', () => a.resume());
  a.on('end', () => b.end());
  a.on('close', () => b.destroy());
  a.on('error', () => b.destroy());
}

function tunnel(client, target, rest) {
  const remote = dial(Number(target.split(':').at(-1)));
  remote.once('connect', () => {
    if (!upstream) return open();
    remote.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    remote.once('data', open);
  });
  remote.on('error', () => client.destroy());
  function open() {
    client.write(ESTABLISHED);
    join(client, remote);
    join(remote, client);
    if (rest.length > 0) remote.write(rest);
  }
}

function forward(client, first) {
  let remote;
  const send = (chunk) => {
    const text = chunk.toString('latin1');
    const url = text.slice(text.indexOf(' ') + 1, text.indexOf(' ', text.indexOf(' ') + 1));
    const m = /^http:\/\/[^/]+:(\d+)(\/.*)$/.exec(url);
    if (!remote) {
      remote = dial(Number(m?.[1] ?? 80));
      remote.on('data', (d) => client.write(d));
      remote.on('error', () => client.destroy());
      remote.on('close', () => client.destroy());
    }
    remote.write(upstream || !m ? text : text.replace(url, m[2]), 'latin1');
  };
  client.on('data', send);
  client.on('close', () => remote?.destroy());
  send(first);
}

const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
  client.on('error', () => client.destroy());
  client.once('data', (chunk) => {
    if (!chunk.subarray(0, 8).equals(Buffer.from('CONNECT '))) return forward(client, chunk);
    const end = chunk.indexOf('\r\n\r\n');
    const target = chunk.toString('latin1', 8, chunk.indexOf(' ', 8));
    tunnel(client, target, chunk.subarray(end + 4));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stderr.write(`corproxy listening on http://127.0.0.1:${server.address().port}\n`);
});
