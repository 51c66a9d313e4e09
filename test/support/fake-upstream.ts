/**
 * A real CONNECT + absolute-URI proxy on 127.0.0.1:0 standing in for the corporate
 * upstream. Modes switch its behaviour per test; it records every request it saw.
 *
 *   ok       Basic auth checked against `credentials` (if set), then tunnels
 *   407      always answers 407 with `schemes` as Proxy-Authenticate
 *   refuse   answers CONNECT with 403
 *   hang     accepts and never answers
 *   garbage  answers with bytes that are not HTTP
 *   close    closes right after reading the request
 *   early    200 plus the first origin bytes in the same write as the reply head
 */
import http from 'node:http';
import net from 'node:net';
import { listen } from './net.js';

export type UpstreamMode = 'ok' | '407' | 'refuse' | 'hang' | 'garbage' | 'close' | 'early';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly proxyAuthorization?: string;
  readonly headers: http.IncomingHttpHeaders;
}

export interface FakeUpstream {
  readonly port: number;
  readonly url: string;
  mode: UpstreamMode;
  credentials?: { user: string; password: string };
  schemes: string[];
  /** name → port on 127.0.0.1 (the upstream's own DNS). */
  readonly resolve: Map<string, number>;
  readonly seen: SeenRequest[];
  readonly tunnels: Set<net.Socket>;
  /** Destroys every open tunnel (an upstream dying mid-tunnel). */
  killTunnels(): void;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

function authorized(up: FakeUpstream, header: string | undefined): boolean {
  if (!up.credentials) return true;
  const expected = `Basic ${Buffer.from(`${up.credentials.user}:${up.credentials.password}`).toString('base64')}`;
  return header === expected;
}

function portFor(up: FakeUpstream, host: string, port: number): number {
  return up.resolve.get(host) ?? port;
}

function onConnect(
  up: FakeUpstream,
  req: http.IncomingMessage,
  socket: net.Socket,
  head: Buffer,
): void {
  socket.on('error', () => undefined);
  up.seen.push({
    method: 'CONNECT',
    url: req.url ?? '',
    proxyAuthorization: req.headers['proxy-authorization'],
    headers: req.headers,
  });
  // A paused socket never notices the peer's FIN: read (and drop) so closes are seen.
  if (up.mode === 'hang') return void socket.on('end', () => socket.destroy()).resume();
  if (up.mode === 'close') return void socket.destroy();
  if (up.mode === 'garbage') return void socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n');
  if (up.mode === 'refuse')
    return void socket.end('HTTP/1.1 403 Forbidden by policy\r\nContent-Length: 0\r\n\r\n');
  if (up.mode === '407' || !authorized(up, req.headers['proxy-authorization'])) {
    const challenges = up.schemes.map((s) => `Proxy-Authenticate: ${s}\r\n`).join('');
    return void socket.end(
      `HTTP/1.1 407 Proxy Authentication Required\r\n${challenges}Content-Length: 0\r\n\r\n`,
    );
  }
  const [host = '', portText = '0'] = (req.url ?? '')
    .replace(/^\[|\](?=:)/g, '')
    .split(/:(?=\d+$)/);
  const remote = net.connect({
    host: '127.0.0.1',
    port: portFor(up, host, Number(portText)),
    allowHalfOpen: true,
  });
  remote.on('error', () => socket.destroy());
  remote.once('connect', () => {
    up.tunnels.add(socket);
    socket.once('close', () => up.tunnels.delete(socket));
    if (up.mode === 'early') {
      // The reply head and the first origin bytes in one segment.
      remote.once('data', (first: Buffer) => {
        socket.write(
          Buffer.concat([Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n'), first]),
        );
        remote.pipe(socket);
      });
    } else {
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      remote.pipe(socket);
    }
    if (head.length > 0) remote.write(head);
    socket.pipe(remote);
  });
  socket.once('close', () => remote.destroy());
}

function onRequest(up: FakeUpstream, req: http.IncomingMessage, res: http.ServerResponse): void {
  up.seen.push({
    method: req.method ?? '',
    url: req.url ?? '',
    proxyAuthorization: req.headers['proxy-authorization'],
    headers: req.headers,
  });
  if (up.mode === '407' || !authorized(up, req.headers['proxy-authorization'])) {
    res.writeHead(407, { 'Proxy-Authenticate': up.schemes });
    return void res.end();
  }
  if (up.mode === 'refuse') return void res.writeHead(403).end();
  const url = new URL(req.url ?? '');
  const headers = { ...req.headers };
  delete headers['proxy-authorization'];
  const out = http.request({
    host: '127.0.0.1',
    port: portFor(up, url.hostname, Number(url.port || 80)),
    method: req.method,
    path: url.pathname + url.search,
    headers,
  });
  out.on('response', (r) => {
    res.writeHead(r.statusCode ?? 502, r.headers);
    r.pipe(res);
  });
  out.on('error', () => res.writeHead(502).end());
  req.pipe(out);
}

export async function startFakeUpstream(
  t: Teardown,
  mode: UpstreamMode = 'ok',
): Promise<FakeUpstream> {
  const server = http.createServer();
  const up: FakeUpstream = {
    port: 0,
    url: '',
    mode,
    schemes: ['Basic realm="corp"'],
    resolve: new Map(),
    seen: [],
    tunnels: new Set(),
    killTunnels: () => {
      for (const s of up.tunnels) s.destroy();
    },
  };
  server.on('connect', (req, socket: net.Socket, head) => onConnect(up, req, socket, head));
  server.on('request', (req, res) => onRequest(up, req, res));
  const all = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    all.add(s);
    s.once('close', () => all.delete(s));
  });
  // CONNECT sockets leave the http server's bookkeeping: destroy them all at teardown.
  t.teardown(() => {
    for (const s of all) s.destroy();
  });
  const port = await listen(t, server);
  Object.assign(up, { port, url: `http://127.0.0.1:${port}` });
  return up;
}
