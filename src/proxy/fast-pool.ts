/**
 * Idle raw connections of the plain-HTTP fast path (fast-forward.ts), per next hop: an
 * origin's address and port, or an upstream proxy. LIFO, so that the most recently used
 * connection (the one least likely to have been closed by its server) goes first and the
 * others age out; a bounded number per hop, each closed after a short idle time.
 */
import type net from 'node:net';
import { attachOrigin, detachOrigin, type OriginEvents } from './fast-sockets.js';

/**
 * Idle connections kept per next hop, as many as Node's http.Agent keeps (maxFreeSockets).
 * With 16, 64 clients behind one proxy closed and re-dialled a connection for most of
 * their requests (bench/README.md, W5).
 */
export const MAX_IDLE_PER_HOP = 256;
/**
 * How long an idle connection is kept: below the 5 s keep-alive timeout of Node's HTTP
 * server and most others, so corproxy closes first and rarely writes into a closing one.
 */
export const IDLE_MS = 4000;

/**
 * The idle connections to one hop. It is also what hears them while they are idle:
 * anything an idle server does (bytes, FIN, error, or the idle timeout running out)
 * ends the connection.
 */
class HopIdle implements OriginEvents {
  readonly sockets: net.Socket[] = [];

  constructor(
    private readonly pool: FastPool,
    readonly key: string,
  ) {}

  fromOrigin(_chunk: Buffer, socket: net.Socket): void {
    this.originLost(undefined, socket);
  }

  originLost(_err: unknown, socket: net.Socket): void {
    release(socket);
    this.pool.forget(this.key, socket);
    socket.destroy();
  }
}

export class FastPool {
  private readonly idle = new Map<string, HopIdle>();
  private epoch = 0;

  /**
   * A new network (epoch) makes every idle connection suspect (as ForwardAgents.forEpoch):
   * they are closed; exchanges in flight finish on theirs and do not return them.
   */
  forEpoch(epoch: number): this {
    if (epoch !== this.epoch) {
      this.epoch = epoch;
      this.destroy();
    }
    return this;
  }

  /** The most recently pooled live connection to `key`, no longer idle; or undefined. */
  take(key: string): net.Socket | undefined {
    const hop = this.idle.get(key);
    if (hop === undefined) return undefined;
    let found: net.Socket | undefined;
    for (let socket = hop.sockets.pop(); socket !== undefined; socket = hop.sockets.pop()) {
      release(socket);
      if (!socket.destroyed && socket.readyState === 'open') {
        found = socket;
        break;
      }
      socket.destroy();
    }
    if (hop.sockets.length === 0) this.idle.delete(key);
    return found;
  }

  /** Keeps `socket` (a finished exchange left it clean) for the next request to `key`. */
  put(key: string, socket: net.Socket, epoch: number): void {
    let hop = this.idle.get(key);
    if (
      epoch !== this.epoch ||
      socket.destroyed ||
      (hop?.sockets.length ?? 0) >= MAX_IDLE_PER_HOP
    ) {
      socket.destroy();
      return;
    }
    if (hop === undefined) {
      hop = new HopIdle(this, key);
      this.idle.set(key, hop);
    }
    attachOrigin(socket, hop);
    socket.setTimeout(IDLE_MS);
    // A connection paused for backpressure would not notice its server's FIN.
    socket.resume();
    hop.sockets.push(socket);
  }

  /** Closes every idle connection (daemon shutdown, network change). */
  destroy(): void {
    const hops = [...this.idle.values()];
    this.idle.clear();
    for (const hop of hops) for (const socket of hop.sockets) socket.destroy();
  }

  /** Idle connections to `key` (for tests and status). */
  idleCount(key: string): number {
    return this.idle.get(key)?.sockets.length ?? 0;
  }

  /** Forgets an idle `socket` that its server closed, answered or let time out. */
  forget(key: string, socket: net.Socket): void {
    const hop = this.idle.get(key);
    const i = hop?.sockets.indexOf(socket) ?? -1;
    if (i < 0) return;
    hop!.sockets.splice(i, 1);
    if (hop!.sockets.length === 0) this.idle.delete(key);
  }
}

function release(socket: net.Socket): void {
  detachOrigin(socket);
  socket.setTimeout(0);
}
