/**
 * Splices a client socket and a remote socket: bytes both ways with backpressure (a
 * direction whose receiver is behind stops reading until it drains), half-close passed
 * on (a FIN one way ends only that direction), an idle timeout, and byte counts read
 * from the sockets at the end so the data path does no per-chunk bookkeeping.
 *
 * Memory per idle tunnel is what limits how many a daemon holds (bench/README.md, W4),
 * so the relay is shaped for it: a 'data' listener per direction (and a 'drain' listener
 * once the direction fills its receiver) instead of Readable.pipe() (which adds nine
 * closures per side and runs more code per chunk), and the listeners are shared module
 * functions that find their tunnel through one property on the socket, instead of a
 * dozen closures per tunnel. Together with the connect handler's changes this took the
 * daemon from 20.9 to about 11 KiB per tunnel.
 */
import type net from 'node:net';
import { forgetKeepAlive } from './keepalive.js';
import { relayTo, releaseReads } from './relay-reads.js';

export interface SpliceOptions {
  /** Bytes the client sent after its CONNECT head: they go to the remote first. */
  readonly clientHead: Buffer;
  /** Bytes the remote sent after the upstream's reply head: they go to the client first. */
  readonly remoteHead: Buffer;
  readonly idleTimeoutMs: number;
  /** Sees the client's first bytes (TLS ClientHello detection); never delays them. */
  readonly onClientBytes?: (chunk: Buffer) => void;
}

export type ClosedBy = 'client' | 'remote' | 'idle-timeout' | 'client-error' | 'remote-error';

export interface SpliceResult {
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly closedBy: ClosedBy;
  readonly error?: Error;
}

/** The state both ends of one tunnel share. */
class Tunnel {
  closedBy: ClosedBy | undefined;
  error: Error | undefined;
  /** The idle timer; see `attach`. */
  idle: NodeJS.Timeout | undefined;
  private open = 2;

  constructor(
    readonly client: net.Socket,
    readonly remote: net.Socket,
    private readonly upBase: number,
    private readonly downBase: number,
    private readonly done: (result: SpliceResult) => void,
  ) {}

  fail(who: ClosedBy, err?: Error): void {
    if (this.closedBy === undefined) this.closedBy = who;
    if (err && this.error === undefined) this.error = err;
    this.client.destroy();
    this.remote.destroy();
  }

  settle(): void {
    this.open -= 1;
    if (this.open > 0) return;
    clearTimeout(this.idle);
    // Both sockets are closed: no write can still refer to the remote's read buffer.
    releaseReads(this.remote);
    forgetKeepAlive(this.remote);
    // A closed socket outlives its tunnel: Node keeps it through young-generation GCs
    // until a full one, and it would keep the tunnel, its callback and the record's
    // start with it. Let go, so that only the socket itself is promoted (bench/README.md,
    // eighth round: 3.7 → 2.3 KiB promoted to the old generation per tunnel).
    (this.client as TunnelSocket)[END] = undefined;
    (this.remote as TunnelSocket)[END] = undefined;
    this.done({
      bytesUp: this.remote.bytesWritten - this.upBase,
      bytesDown: this.client.bytesWritten - this.downBase,
      closedBy: this.closedBy ?? 'client',
      ...(this.error ? { error: this.error } : {}),
    });
  }
}

/** One socket's end of a tunnel: who it is and where its bytes go. */
class End {
  constructor(
    readonly tunnel: Tunnel,
    readonly who: 'client' | 'remote',
    readonly peer: net.Socket,
    public firstChunk: ((chunk: Buffer) => void) | undefined,
  ) {}

  /** Whether this socket has its 'drain' listener, added at its first full write. */
  drainWatched = false;
}

const END = Symbol('corproxy.tunnelEnd');
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Set while the tunnel lives; no event of its sockets comes after both have closed. */
type TunnelSocket = net.Socket & { [END]: End | undefined };

export function splice(
  client: net.Socket,
  remote: net.Socket,
  opts: SpliceOptions,
): Promise<SpliceResult> {
  return new Promise((resolve) => spliceThen(client, remote, opts, resolve));
}

/**
 * splice() with a callback instead of a promise: the connect handler uses it so an idle
 * tunnel holds one callback rather than a chain of three promises.
 */
export function spliceThen(
  client: net.Socket,
  remote: net.Socket,
  opts: SpliceOptions,
  done: (result: SpliceResult) => void,
): void {
  const tunnel = new Tunnel(client, remote, remote.bytesWritten, client.bytesWritten, done);
  client.setNoDelay(true);
  remote.setNoDelay(true);
  let firstBytes = opts.onClientBytes;
  if (firstBytes && opts.clientHead.length > 0) {
    firstBytes(opts.clientHead);
    firstBytes = undefined;
  }
  if (opts.remoteHead.length > 0) client.write(opts.remoteHead);
  if (opts.clientHead.length > 0) remote.write(opts.clientHead);
  attach(client, new End(tunnel, 'client', remote, firstBytes));
  attach(remote, new End(tunnel, 'remote', client, undefined));
  // The download direction in large reads when the remote was dialled for it.
  relayTo(remote, client, relayRead);
  // One idle timer for the tunnel, refreshed by every chunk either way. Each socket's
  // own timeout (socket.setTimeout) would be refreshed by exactly the same events (a
  // chunk read on one side is written on the other), so one timer says the same thing
  // at half the memory, and spares Node four timer updates per relayed chunk.
  // As socket.setTimeout: 0 means none, longer than a timer can wait means the longest.
  if (opts.idleTimeoutMs > 0) {
    const ms = Math.min(opts.idleTimeoutMs, MAX_TIMER_MS);
    tunnel.idle = setTimeout(onIdle, ms, tunnel).unref();
  }
}

/** Relays `socket` → its peer and watches `socket`'s end of the tunnel. */
function attach(socket: net.Socket, end: End): void {
  (socket as TunnelSocket)[END] = end;
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  // on(), not once(): each once() keeps a bound wrapper and a state object alive with
  // the tunnel, and 'close' comes once anyway.
  socket.on('close', onClose);
}

function endOf(socket: net.Socket): End {
  return (socket as TunnelSocket)[END]!;
}

function onData(this: net.Socket, chunk: Buffer): void {
  if (!forward(endOf(this), chunk)) this.pause();
}

/** The remote's reads that relay-reads.ts hands over instead of 'data'. */
function relayRead(socket: net.Socket, chunk: Buffer): boolean {
  return forward(endOf(socket), chunk);
}

/** Passes `chunk` on; false when this direction must stop reading. */
function forward(end: End, chunk: Buffer): boolean {
  const first = end.firstChunk;
  if (first) {
    end.firstChunk = undefined;
    first(chunk);
  }
  end.tunnel.idle?.refresh();
  const { peer } = end;
  // A receiver that can take no more (closed) stops this direction, as unpipe would.
  if (!peer.writable) return false;
  if (peer.write(chunk)) return true;
  // Most tunnels never fill a socket's buffer: the 'drain' listener waits until one does.
  const receiver = endOf(peer);
  if (!receiver.drainWatched) {
    receiver.drainWatched = true;
    peer.on('drain', onDrain);
  }
  return false;
}

/** This socket took what was queued: its peer may read again. */
function onDrain(this: net.Socket): void {
  endOf(this).peer.resume();
}

function onEnd(this: net.Socket): void {
  const end = endOf(this);
  if (end.tunnel.closedBy === undefined) end.tunnel.closedBy = end.who;
  const { peer } = end;
  // The peer sent its FIN before and has nothing queued: closing it sends our FIN after
  // what the kernel still holds, as shutdown would, and spares the shutdown call and
  // its request (bench/README.md, seventh round). Nothing can be unread on a socket
  // that has reached end-of-stream, so close() cannot turn into a reset (RFC 1122 §4.2.2.13).
  if (peer.readableEnded && peer.writableLength === 0 && !peer.writableEnded) peer.destroy();
  else peer.end();
}

function onError(this: net.Socket, err: Error): void {
  const end = endOf(this);
  end.tunnel.fail(end.who === 'client' ? 'client-error' : 'remote-error', err);
}

/**
 * A side that is fully closed can neither send nor receive: flush what is queued for
 * the other side, then close it too (a half-closed side never gets here).
 */
function onClose(this: net.Socket): void {
  const end = endOf(this);
  closeAfterFlush(end.peer);
  end.tunnel.settle();
}

function onIdle(tunnel: Tunnel): void {
  tunnel.fail('idle-timeout');
}

function closeAfterFlush(socket: net.Socket): void {
  if (!socket.destroyed) socket.end(() => socket.destroy());
}
