/**
 * The socket side of a fast-path exchange (fast-exchange.ts): opening a connection to the
 * next hop, and the listeners on both sockets. Listeners are module functions that find
 * their exchange through a symbol on the socket, so that an exchange costs no closures and
 * a chunk costs no allocation.
 */
import type net from 'node:net';
import { dialProxy } from './dial.js';
import type { Hop } from './forward-common.js';
import type { Target } from './http1.js';
import { dialDirect } from './open-remote.js';
import type { ServerState } from './state.js';

/** What hears an origin connection: the exchange using it, or the pool keeping it idle. */
export interface OriginEvents {
  fromOrigin(chunk: Buffer, socket: net.Socket): void;
  /** The server ended (`err` undefined), broke the connection, or let it idle out. */
  originLost(err: unknown, socket: net.Socket): void;
}

/** What hears a client connection on the fast path: its exchange, or the wait for the next. */
export interface ClientEvents {
  clientData(chunk: Buffer): void;
  clientGone(): void;
  clientDrained(): void;
}

/** What an exchange hears from its two sockets. */
export interface ExchangeEvents extends OriginEvents, ClientEvents {}

const EXCHANGE = Symbol('corproxy.fastExchange');
const ORIGIN = Symbol('corproxy.fastOrigin');
/**
 * The symbols are cleared, never deleted. Deleting a property that is not the object's
 * last-added one turns a V8 object into a dictionary, and Node adds properties to a
 * socket as it is used (timeouts, write state), so every `delete` here left the socket
 * slow in all of Node's stream code from then on: clearing instead raised W5 from 15,000
 * to 17,000 requests/s at 12 % less CPU per request (bench/README.md, third round).
 */
type Owned = net.Socket & {
  [EXCHANGE]?: ClientEvents | undefined;
  [ORIGIN]?: OriginEvents | undefined;
};

/** A new connection: to an origin as CONNECT dials it, or to an upstream by dialProxy(). */
export function openHop(state: ServerState, hop: Hop, target: Target): Promise<net.Socket> {
  const { limits, hosts } = state.config;
  if (hop.kind === 'upstream') return dialProxy(hop.proxy, { ...limits, hosts }, state.dialDeps);
  return dialDirect(target, state);
}

function onOriginData(this: Owned, chunk: Buffer): void {
  this[ORIGIN]?.fromOrigin(chunk, this);
}

function onOriginEnd(this: Owned): void {
  this[ORIGIN]?.originLost(undefined, this);
}

function onOriginError(this: Owned, err: Error): void {
  this[ORIGIN]?.originLost(err, this);
}

function onClientData(this: Owned, chunk: Buffer): void {
  this[EXCHANGE]?.clientData(chunk);
}

function onClientGone(this: Owned): void {
  this[EXCHANGE]?.clientGone();
}

function onClientDrain(this: Owned): void {
  this[EXCHANGE]?.clientDrained();
}

function noop(): void {}

/**
 * Makes `owner` hear `socket`. The listeners are added on the first call and stay for
 * the connection's life, however often it moves between exchanges and the pool: adding
 * and removing them per request was a measurable part of W5 (bench/README.md).
 */
export function attachOrigin(socket: net.Socket, owner: OriginEvents): void {
  const owned = socket as Owned;
  if (!(ORIGIN in owned)) {
    socket.on('data', onOriginData);
    socket.on('end', onOriginEnd);
    socket.on('error', onOriginError);
    socket.on('close', onOriginEnd);
    socket.on('timeout', onOriginEnd);
  }
  owned[ORIGIN] = owner;
}

/** Nobody hears `socket` until the next attachOrigin; its events are ignored. */
export function detachOrigin(socket: net.Socket): void {
  (socket as Owned)[ORIGIN] = undefined;
}

/**
 * While an exchange runs, the client's bytes are its next requests, and its FIN or reset
 * means nobody waits for the reply (Node's server aborts the request then too).
 */
export function attachClient(socket: net.Socket, owner: ClientEvents): void {
  const owned = socket as Owned;
  // Between two requests of a kept-alive client the listeners stay (fast-forward.ts):
  // only the owner changes.
  if (owned[EXCHANGE] === undefined) {
    socket.on('data', onClientData);
    socket.on('end', onClientGone);
    socket.on('error', onClientGone);
    socket.on('close', onClientGone);
    socket.on('drain', onClientDrain);
  }
  owned[EXCHANGE] = owner;
}

export function detachClient(socket: net.Socket): void {
  (socket as Owned)[EXCHANGE] = undefined;
  socket.off('data', onClientData);
  socket.off('end', onClientGone);
  socket.off('error', onClientGone);
  socket.off('close', onClientGone);
  socket.off('drain', onClientDrain);
}

/** Ends the client connection once what was written has gone out. */
export function closeClient(socket: net.Socket): void {
  socket.on('error', noop);
  socket.destroySoon();
}

/**
 * Bytes a client sent while an exchange ran: its next requests, kept in order for after
 * the reply. Past `limit` the client is paused, so a client cannot make corproxy hold more.
 */
export class Backlog {
  private chunks: Buffer[] | undefined;
  private bytes = 0;
  private paused = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly limit: number,
  ) {}

  push(chunk: Buffer): void {
    (this.chunks ??= []).push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > this.limit && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** `first` followed by what was kept, with the client reading again. */
  after(first: Buffer): Buffer {
    if (this.paused) this.socket.resume();
    return this.chunks === undefined ? first : Buffer.concat([first, ...this.chunks]);
  }
}
