/**
 * The first reader of every client connection. A CONNECT head is parsed here and the
 * connection goes straight to the tunnel; a plain-HTTP request the fast path can carry
 * goes to fast-forward.ts; anything else (local endpoints, the mirror, request bodies,
 * malformed or oversized heads) is handed to Node's http.Server with the bytes read so
 * far put back, so it meets exactly the parser, limits and replies it always did.
 *
 * Why not let http.Server take every connection: for a tunnel it allocates an HTTP
 * parser, an IncomingMessage and its header objects only to be told "CONNECT" and let
 * go of them. Measured with the bench (bench/README.md, W2/W3), that was about 15 % of
 * the tunnels per second a relay of this shape reaches.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { Config } from '../config/types.js';
import { CorproxyError, formatHttpReply, toHttpReply, type ErrorCode } from '../errors.js';
import { handleConnect } from './connect-handler.js';
import { scanRequestHead, type RequestHead } from './request-head.js';
import type { ServerState } from './state.js';

/** Where the front sends what it does not carry itself. */
export interface FrontContext {
  readonly state: ServerState;
  /** Takes over the connection; never listens itself. */
  readonly http: http.Server;
  /**
   * Offered every complete non-CONNECT head; returns false to leave the connection to
   * the http.Server (with the head still unread).
   */
  readonly fastForward?: (socket: net.Socket, head: RequestHead, buffered: Buffer) => boolean;
}

const CONNECT = Buffer.from('CONNECT ');
/** What a CONNECT head that came alone leaves for the tunnel. */
const NO_BYTES = Buffer.alloc(0);
/** `GET http://`: the shape of a request the fast path may carry. */
const ABSOLUTE_HTTP = / http:\/\//;

/** One connection's head being read; dropped as soon as the connection has a handler. */
class HeadRead {
  buffered: Buffer | undefined;
  timer: NodeJS.Timeout | undefined;
  /** Between requests with nothing read yet: a timeout closes without a reply. */
  idle = false;

  constructor(
    readonly socket: net.Socket,
    readonly ctx: FrontContext,
  ) {}
}

const HEAD_READ = Symbol('corproxy.headRead');
type ReadingSocket = net.Socket & { [HEAD_READ]?: HeadRead | undefined };

/** Replies `code` on a socket that has no handler yet and closes it. */
export function rejectSocket(socket: net.Socket, code: ErrorCode, message: string): void {
  socket.on('error', () => undefined);
  socket.end(formatHttpReply(toHttpReply(new CorproxyError(code, message))));
  socket.setTimeout(2000, () => socket.destroy());
}

/** The errors a client's request head can earn before anything handles it. */
export type HeadErrorCode =
  'CPX_ERR_HEADER_TOO_LARGE' | 'CPX_ERR_HEADER_TIMEOUT' | 'CPX_ERR_BAD_REQUEST';

function headErrorMessage(code: HeadErrorCode, limits: Config['limits']): string {
  if (code === 'CPX_ERR_HEADER_TOO_LARGE')
    return `request head exceeds ${limits.maxHeaderSize} bytes`;
  if (code === 'CPX_ERR_HEADER_TIMEOUT')
    return `request head not complete within ${limits.headerTimeoutMs} ms`;
  return 'malformed HTTP request';
}

/**
 * Counts a bad request head in the metrics and answers it when the socket can still take
 * a reply; the front and the http.Server's clientError both end here.
 */
export function rejectHead(
  state: ServerState,
  socket: net.Socket,
  code: HeadErrorCode,
  canReply: boolean,
): void {
  if (canReply) rejectSocket(socket, code, headErrorMessage(code, state.config.limits));
  else socket.destroy();
  state.metrics.errors.set(code, (state.metrics.errors.get(code) ?? 0) + 1);
}

/** Starts reading the first request head of an admitted client connection. */
export function readFirstHead(ctx: FrontContext, socket: net.Socket): void {
  startHeadRead(ctx, socket, ctx.state.config.limits.headerTimeoutMs);
}

/** How long a kept-alive client connection may wait for its next request (as Node's). */
export const KEEP_ALIVE_TIMEOUT_MS = 5000;

/**
 * Reads the next request head on a connection the fast path has finished a response on:
 * a connection that sends nothing for KEEP_ALIVE_TIMEOUT_MS is closed without a reply.
 */
export function readNextHead(ctx: FrontContext, socket: net.Socket, buffered: Buffer): void {
  const read = startHeadRead(ctx, socket, KEEP_ALIVE_TIMEOUT_MS);
  read.idle = buffered.length === 0;
  if (buffered.length > 0) examine(read, buffered);
}

function startHeadRead(ctx: FrontContext, socket: net.Socket, timeoutMs: number): HeadRead {
  const read = new HeadRead(socket, ctx);
  (socket as ReadingSocket)[HEAD_READ] = read;
  read.timer = setTimeout(onHeadTimeout, timeoutMs, read);
  socket.on('data', onHeadData);
  socket.on('error', onHeadError);
  socket.on('end', onHeadError);
  socket.on('close', onHeadClose);
  return read;
}

function onHeadData(this: net.Socket, chunk: Buffer): void {
  const read = (this as ReadingSocket)[HEAD_READ];
  if (read === undefined) return;
  examine(read, read.buffered === undefined ? chunk : Buffer.concat([read.buffered, chunk]));
}

function examine(read: HeadRead, buf: Buffer): void {
  read.buffered = buf;
  if (!startsLikeConnect(buf) && !(read.ctx.fastForward && mayBeAbsoluteHttp(buf))) {
    handOff(read);
    return;
  }
  if (buf.length < CONNECT.length) return;
  const scan = scanRequestHead(buf, read.ctx.state.config.limits.maxHeaderSize);
  if (scan.kind === 'incomplete') return;
  if (scan.kind !== 'complete') {
    handOff(read);
    return;
  }
  const { head } = scan;
  if (head.method === 'CONNECT') {
    release(read);
    const rest = head.headBytes === buf.length ? NO_BYTES : buf.subarray(head.headBytes);
    handleConnect(read.ctx.state, head.target, read.socket, rest);
    return;
  }
  release(read);
  const taken = read.ctx.fastForward?.(read.socket, head, buf) ?? false;
  if (!taken) giveToHttpServer(read.ctx, read.socket, buf);
}

/** Whether `buf` starts with `CONNECT ` or with the part of it that has arrived. */
function startsLikeConnect(buf: Buffer): boolean {
  const n = Math.min(buf.length, CONNECT.length);
  for (let i = 0; i < n; i++) if (buf[i] !== CONNECT[i]) return false;
  return true;
}

/**
 * Until the request line is complete: could this be `METHOD http://...`? Anything else
 * (origin-form paths for the local endpoints and the mirror) goes to the http.Server
 * without waiting for the whole head.
 */
function mayBeAbsoluteHttp(buf: Buffer): boolean {
  const lineEnd = buf.indexOf('\r\n');
  const line = buf.toString('latin1', 0, lineEnd < 0 ? Math.min(buf.length, 64) : lineEnd);
  const space = line.indexOf(' ');
  if (space < 0) return lineEnd < 0 && line.length < 32;
  const after = line.slice(space, space + 8);
  return ABSOLUTE_HTTP.test(after) || (lineEnd < 0 && ' http://'.startsWith(after));
}

function onHeadTimeout(read: HeadRead): void {
  const { socket, ctx } = read;
  release(read);
  if (read.idle && read.buffered === undefined) {
    socket.destroy();
    return;
  }
  rejectHead(ctx.state, socket, 'CPX_ERR_HEADER_TIMEOUT', true);
}

/**
 * An error, or the client's FIN before a whole head (the socket is half-open, so
 * nothing else would close it): there is no request to answer.
 */
function onHeadError(this: net.Socket): void {
  const read = (this as ReadingSocket)[HEAD_READ];
  if (read !== undefined) release(read);
  this.destroy();
}

function onHeadClose(this: net.Socket): void {
  const read = (this as ReadingSocket)[HEAD_READ];
  if (read !== undefined) release(read);
}

/** The connection has a handler now: the front lets go of it. */
function release(read: HeadRead): void {
  clearTimeout(read.timer);
  const socket = read.socket as ReadingSocket;
  socket.off('data', onHeadData);
  socket.off('error', onHeadError);
  socket.off('end', onHeadError);
  socket.off('close', onHeadClose);
  // Cleared, not deleted: see fast-sockets.ts on socket shapes.
  socket[HEAD_READ] = undefined;
}

function handOff(read: HeadRead): void {
  release(read);
  giveToHttpServer(read.ctx, read.socket, read.buffered ?? Buffer.alloc(0));
}

/**
 * Puts `buffered` back and lets the http.Server take the connection as if it had
 * accepted it. The socket is paused first: a flowing socket with no 'data' listener
 * would drop what arrives before the server attaches its own.
 */
export function giveToHttpServer(ctx: FrontContext, socket: net.Socket, buffered: Buffer): void {
  socket.pause();
  if (buffered.length > 0) socket.unshift(buffered);
  ctx.http.emit('connection', socket);
  socket.resume();
}
