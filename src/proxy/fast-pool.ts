/**
 * Idle raw connections of the plain-HTTP fast path (fast-forward.ts), per next hop: an
 * origin's address and port, or an upstream proxy. LIFO, so that the most recently used
 * connection (the one least likely to have been closed by its server) goes first and the
 * others age out; a bounded number per hop, each closed after a short idle time.
 */
import type net from 'node:net';

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

const IDLE = Symbol('corproxy.fastIdle');

interface IdleEntry {
  readonly pool: FastPool;
  readonly key: string;
}

/** Cleared, never deleted (fast-sockets.ts explains why). */
type IdleSocket = net.Socket & { [IDLE]?: IdleEntry | undefined };

export class FastPool {
  private readonly idle = new Map<string, net.Socket[]>();
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
    const list = this.idle.get(key);
    if (list === undefined) return undefined;
    for (let socket = list.pop(); socket !== undefined; socket = list.pop()) {
      release(socket as IdleSocket);
      if (!socket.destroyed && socket.readyState === 'open') return socket;
      socket.destroy();
    }
    return undefined;
  }

  /** Keeps `socket` (a finished exchange left it clean) for the next request to `key`. */
  put(key: string, socket: net.Socket, epoch: number): void {
    let list = this.idle.get(key);
    if (epoch !== this.epoch || socket.destroyed || (list?.length ?? 0) >= MAX_IDLE_PER_HOP) {
      socket.destroy();
      return;
    }
    if (list === undefined) {
      list = [];
      this.idle.set(key, list);
    }
    const idle = socket as IdleSocket;
    idle[IDLE] = { pool: this, key };
    // Anything from an idle server (bytes, FIN, error, silence) ends the connection.
    socket.on('data', onIdleEvent);
    socket.on('end', onIdleEvent);
    socket.on('error', onIdleEvent);
    socket.on('timeout', onIdleEvent);
    socket.on('close', onIdleEvent);
    socket.setTimeout(IDLE_MS);
    // A connection paused for backpressure would not notice its server's FIN.
    socket.resume();
    list.push(socket);
  }

  /** Closes every idle connection (daemon shutdown, network change). */
  destroy(): void {
    const lists = [...this.idle.values()];
    this.idle.clear();
    for (const list of lists) for (const socket of list) socket.destroy();
  }

  /** Idle connections to `key` (for tests and status). */
  idleCount(key: string): number {
    return this.idle.get(key)?.length ?? 0;
  }

  /** Forgets an idle `socket` that its server closed, answered or let time out. */
  forget(key: string, socket: net.Socket): void {
    const list = this.idle.get(key);
    const i = list?.indexOf(socket) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    if (list!.length === 0) this.idle.delete(key);
  }
}

/** One listener for every idle event: nothing an idle server does is good news. */
function onIdleEvent(this: IdleSocket): void {
  const entry = this[IDLE];
  if (entry === undefined) return;
  release(this);
  entry.pool.forget(entry.key, this);
  this.destroy();
}

function release(socket: IdleSocket): void {
  socket[IDLE] = undefined;
  socket.setTimeout(0);
  socket.off('data', onIdleEvent);
  socket.off('end', onIdleEvent);
  socket.off('error', onIdleEvent);
  socket.off('timeout', onIdleEvent);
  socket.off('close', onIdleEvent);
}
