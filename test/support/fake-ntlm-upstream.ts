/**
 * A corporate proxy that wants NTLM (and optionally Negotiate or Basic), on 127.0.0.1:0.
 * Unlike squid's ntlm_fake_auth it checks the NTLMv2 proof against a known password, so a
 * wrong password is a 407. It speaks HTTP/1.1 on raw sockets so that the NTLM state lives
 * with the connection, as on a real proxy: NEGOTIATE → 407 with a CHALLENGE (on the same
 * connection) → AUTHENTICATE → 200 and the tunnel, or the forwarded plain-HTTP response
 * (the connection stays authenticated for later requests).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { challengeMessage, parseAuthenticateMessage, verifyAuthenticate } from './ntlm-server.js';
import { listen } from './net.js';

export interface NtlmUser {
  readonly user: string;
  readonly domain: string;
  readonly password: string;
}

export interface Seen {
  readonly conn: number;
  readonly method: string;
  readonly target: string;
  /** The scheme word of Proxy-Authorization, or '' without one. */
  readonly scheme: string;
  readonly authorization: string | undefined;
}

export interface FakeNtlmUpstream {
  readonly port: number;
  readonly url: string;
  user: NtlmUser;
  /** Proxy-Authenticate challenges of a bare 407, in order. */
  offers: string[];
  /** Close the connection after every 407 (NTLM then cannot work). */
  closeAfter407: boolean;
  /** Send MsvAvTimestamp in challenges (the client must then send a MIC). */
  timestamp: boolean;
  /** 407 bodies chunked instead of Content-Length. */
  chunked: boolean;
  /** A Negotiate token that is accepted (a fake GSS client sends it). */
  negotiateToken: string | undefined;
  /** name → port on 127.0.0.1. */
  readonly resolve: Map<string, number>;
  readonly seen: Seen[];
  /** Why each AUTHENTICATE_MESSAGE was accepted or refused ('ok', 'NTLMv2 proof', ...). */
  readonly verdicts: string[];
  /** Connections accepted so far. */
  connections(): number;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Request {
  readonly method: string;
  readonly target: string;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

/** Parses one request head (+ Content-Length body) from `buf`; undefined if incomplete. */
function parseRequest(buf: Buffer): { req: Request; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const [method = '', target = ''] = (lines[0] ?? '').split(' ');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const length = Number(headers.get('content-length') ?? 0);
  if (buf.length < end + 4 + length) return undefined;
  const body = buf.subarray(end + 4, end + 4 + length);
  return { req: { method, target, headers, body }, used: end + 4 + length };
}

function reply407(up: FakeNtlmUpstream, socket: net.Socket, challenges: string[]): void {
  const body = 'proxy authentication required\n';
  const framing = up.chunked
    ? `Transfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
    : `Content-Length: ${body.length}\r\n\r\n${body}`;
  const head = challenges.map((c) => `Proxy-Authenticate: ${c}\r\n`).join('');
  const close = up.closeAfter407 ? 'Connection: close\r\n' : '';
  socket.write(`HTTP/1.1 407 Proxy Authentication Required\r\n${head}${close}${framing}`);
  if (up.closeAfter407) socket.end();
}

function targetPort(up: FakeNtlmUpstream, hostPort: string): number {
  const m = /^(.*):(\d+)$/.exec(hostPort);
  return up.resolve.get(m?.[1] ?? '') ?? Number(m?.[2] ?? 0);
}

function tunnel(up: FakeNtlmUpstream, socket: net.Socket, req: Request, rest: Buffer): void {
  // Hold the client's bytes until the origin is connected (no 'data' listener meanwhile).
  socket.pause();
  const remote = net.connect({ host: '127.0.0.1', port: targetPort(up, req.target) });
  remote.on('error', () => socket.destroy());
  socket.once('close', () => remote.destroy());
  remote.once('connect', () => {
    socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (rest.length > 0) remote.write(rest);
    socket.pipe(remote);
    remote.pipe(socket);
  });
}

/** Forwards an absolute-URI request to the origin; the connection stays open. */
function forward(up: FakeNtlmUpstream, socket: net.Socket, req: Request, done: () => void): void {
  const url = new URL(req.target);
  const out = http.request({
    host: '127.0.0.1',
    port: up.resolve.get(url.hostname) ?? Number(url.port || 80),
    method: req.method,
    path: url.pathname + url.search,
    headers: { host: url.host, 'content-length': String(req.body.length) },
  });
  out.on('response', (res) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      socket.write(
        `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\nContent-Length: ${body.length}\r\nX-Origin-Path: ${url.pathname}\r\n\r\n`,
      );
      socket.write(body);
      done();
    });
  });
  out.on('error', () => socket.destroy());
  out.end(req.body);
}

interface ConnState {
  readonly id: number;
  challenge?: { server: Buffer; negotiate: Buffer; bytes: Buffer };
  authenticated: boolean;
}

/** Decides whether `req` may pass on this connection; answers 407 itself when not. */
function authorize(up: FakeNtlmUpstream, s: ConnState, socket: net.Socket, req: Request): boolean {
  if (s.authenticated) return true;
  const auth = req.headers.get('proxy-authorization');
  const [scheme = '', token = ''] = (auth ?? '').split(' ');
  const blob = Buffer.from(token, 'base64');
  if (scheme === 'NTLM' && blob.length >= 12 && blob.readUInt32LE(8) === 1) {
    const server = randomBytes(8);
    const timestamp = up.timestamp ? Buffer.from('0080d3bd4c3ed901', 'hex') : undefined;
    const bytes = challengeMessage({ serverChallenge: server, ...(timestamp && { timestamp }) });
    s.challenge = { server, negotiate: blob, bytes };
    reply407(up, socket, [`NTLM ${bytes.toString('base64')}`]);
    return false;
  }
  if (scheme === 'NTLM' && blob.length >= 12 && blob.readUInt32LE(8) === 3 && s.challenge) {
    const a = parseAuthenticateMessage(blob);
    const transcript = {
      negotiate: s.challenge.negotiate,
      challenge: s.challenge.bytes,
      authenticate: blob,
    };
    const verdict = verifyAuthenticate(a, up.user, s.challenge.server, transcript);
    up.verdicts.push(verdict.why);
    s.challenge = undefined;
    s.authenticated = verdict.ok;
  } else if (scheme === 'Negotiate' && up.negotiateToken !== undefined) {
    s.authenticated = token === up.negotiateToken;
  } else if (scheme === 'Basic') {
    const [user, password] = Buffer.from(token, 'base64').toString('utf8').split(':');
    s.authenticated = user === up.user.user && password === up.user.password;
  }
  if (!s.authenticated) reply407(up, socket, up.offers);
  return s.authenticated;
}

function onConnection(up: FakeNtlmUpstream, socket: net.Socket, id: number): void {
  const state: ConnState = { id, authenticated: false };
  let buffered = Buffer.alloc(0);
  let busy = false;
  socket.on('error', () => undefined);
  const pump = (): void => {
    while (!busy && !socket.writableEnded) {
      const parsed = parseRequest(buffered);
      if (parsed === undefined) return;
      buffered = buffered.subarray(parsed.used);
      const { req } = parsed;
      const auth = req.headers.get('proxy-authorization');
      up.seen.push({
        conn: id,
        method: req.method,
        target: req.target,
        scheme: auth?.split(' ')[0] ?? '',
        authorization: auth,
      });
      if (!authorize(up, state, socket, req)) continue;
      if (req.method === 'CONNECT') {
        socket.off('data', onData);
        tunnel(up, socket, req, buffered);
        return;
      }
      busy = true;
      forward(up, socket, req, () => {
        busy = false;
        pump();
      });
    }
  };
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    pump();
  };
  socket.on('data', onData);
  socket.on('end', () => socket.end());
}

export async function startFakeNtlmUpstream(
  t: Teardown,
  user: NtlmUser,
): Promise<FakeNtlmUpstream> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true });
  const up: FakeNtlmUpstream = {
    port: 0,
    url: '',
    user,
    offers: ['NTLM'],
    closeAfter407: false,
    timestamp: false,
    chunked: false,
    negotiateToken: undefined,
    resolve: new Map(),
    seen: [],
    verdicts: [],
    connections: () => count,
  };
  server.on('connection', (socket: net.Socket) => {
    count += 1;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onConnection(up, socket, count);
  });
  const port = await listen(t, server);
  // Registered after listen() so it runs first: server.close() waits for these.
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  Object.assign(up, { port, url: `http://127.0.0.1:${port}` });
  return up;
}
