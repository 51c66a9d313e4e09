/**
 * TCP keepalive for the sockets that carry tunnels, switched on about a second after the
 * dial instead of at connect.
 *
 * Why: keepalive only acts after `limits.keepAlive` (30 s by default) of silence, so a
 * tunnel that ends within a second never needs it. Node sets it with four setsockopt
 * calls between the connect and the 200 reply, on the path every tunnel waits for
 * (bench/README.md, fifth round). Armed a second late, the first probe of a silent
 * tunnel goes out at most a second later than it would have: the kernel counts the idle
 * time from the last segment received, not from when keepalive was switched on.
 *
 * One timer serves every socket dialled within the same second, and runs only while
 * sockets wait. A tunnel that closes first takes its socket out (`forgetKeepAlive`); a
 * socket closed otherwise (a failed upstream handshake, the TCP socket under an https://
 * upstream's TLS) stays until the sweep, which skips it.
 */
import type net from 'node:net';

/** How long a tunnel socket runs without keepalive. */
export const KEEPALIVE_ARM_DELAY_MS = 1000;

/** Socket → keepalive initial delay (ms), for the sockets not armed yet. */
const waiting = new Map<net.Socket, number>();
let timer: NodeJS.Timeout | undefined;

/** Switches keepalive on for `socket` (initial delay `delayMs`) at the next sweep. */
export function keepAliveSoon(socket: net.Socket, delayMs: number): void {
  waiting.set(socket, delayMs);
  timer ??= setTimeout(armWaiting, KEEPALIVE_ARM_DELAY_MS).unref();
}

/** The socket's tunnel has ended: it needs no keepalive any more. */
export function forgetKeepAlive(socket: net.Socket): void {
  waiting.delete(socket);
}

/** Arms every waiting socket that is still open; exported for tests. */
export function armWaiting(): void {
  clearTimeout(timer);
  timer = undefined;
  for (const [socket, delayMs] of waiting) {
    if (!socket.destroyed) socket.setKeepAlive(true, delayMs);
  }
  waiting.clear();
}

/** How many sockets wait for keepalive (for tests). */
export function keepAliveWaiting(): number {
  return waiting.size;
}
