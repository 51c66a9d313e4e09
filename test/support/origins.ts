/**
 * Test origins on 127.0.0.1:0: a TCP echo server (echoes, and ends its side after the
 * client's FIN so half-close can be observed) and an HTTP server that describes each
 * request it received as JSON.
 */
import http from 'node:http';
import net from 'node:net';
import { listen } from './net.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface EchoOrigin {
  readonly port: number;
  connections: number;
  /** Bytes received per connection, in order. */
  readonly received: Buffer[];
}

export async function startEchoOrigin(t: Teardown, greeting?: string): Promise<EchoOrigin> {
  const origin: EchoOrigin = { port: 0, connections: 0, received: [] };
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    origin.connections += 1;
    const index = origin.received.push(Buffer.alloc(0)) - 1;
    socket.on('error', () => undefined);
    if (greeting !== undefined) socket.write(greeting);
    socket.on('data', (chunk: Buffer) => {
      origin.received[index] = Buffer.concat([origin.received[index]!, chunk]);
      socket.write(chunk);
    });
    socket.on('end', () => socket.end());
  });
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  Object.assign(origin, { port: await listen(t, server) });
  return origin;
}

export interface HttpOrigin {
  readonly port: number;
  readonly requests: Array<{
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    body: string;
  }>;
}

export async function startHttpOrigin(t: Teardown): Promise<HttpOrigin> {
  const origin: HttpOrigin = { port: 0, requests: [] };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      origin.requests.push(seen);
      const text = JSON.stringify(seen);
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
        'X-Origin': 'yes',
        Connection: 'keep-alive, X-Drop-Me',
        'X-Drop-Me': 'secret',
      });
      res.end(text);
    });
  });
  Object.assign(origin, { port: await listen(t, server) });
  return origin;
}
