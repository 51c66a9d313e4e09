/**
 * Splices a client socket and a remote socket: bytes both ways through pipe() (which
 * respects backpressure), half-close passed on (a FIN one way ends only that
 * direction), an idle timeout, and byte counts read from the sockets at the end so
 * the data path does no per-chunk bookkeeping.
 */
import type net from 'node:net';

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

export function splice(
  client: net.Socket,
  remote: net.Socket,
  opts: SpliceOptions,
): Promise<SpliceResult> {
  const upBase = remote.bytesWritten;
  const downBase = client.bytesWritten;
  return new Promise((resolve) => {
    let closedBy: ClosedBy | undefined;
    let error: Error | undefined;
    let open = 2;
    const settle = (): void => {
      open -= 1;
      if (open > 0) return;
      resolve({
        bytesUp: remote.bytesWritten - upBase,
        bytesDown: client.bytesWritten - downBase,
        closedBy: closedBy ?? 'client',
        ...(error ? { error } : {}),
      });
    };
    const fail = (who: ClosedBy, err?: Error): void => {
      if (closedBy === undefined) closedBy = who;
      if (err && error === undefined) error = err;
      client.destroy();
      remote.destroy();
    };
    client.on('error', (err) => fail('client-error', err));
    remote.on('error', (err) => fail('remote-error', err));
    client.once('end', () => closedBy ?? (closedBy = 'client'));
    remote.once('end', () => closedBy ?? (closedBy = 'remote'));
    // A side that is fully closed can neither send nor receive: flush what is queued
    // for the other side, then close it too (a half-closed side never gets here).
    client.once('close', () => {
      closeAfterFlush(remote);
      settle();
    });
    remote.once('close', () => {
      closeAfterFlush(client);
      settle();
    });
    client.setTimeout(opts.idleTimeoutMs, () => fail('idle-timeout'));
    remote.setTimeout(opts.idleTimeoutMs, () => fail('idle-timeout'));
    client.setNoDelay(true);
    remote.setNoDelay(true);
    if (opts.onClientBytes) {
      if (opts.clientHead.length > 0) opts.onClientBytes(opts.clientHead);
      else client.once('data', opts.onClientBytes);
    }
    if (opts.remoteHead.length > 0) client.write(opts.remoteHead);
    if (opts.clientHead.length > 0) remote.write(opts.clientHead);
    client.pipe(remote);
    remote.pipe(client);
  });
}

function closeAfterFlush(socket: net.Socket): void {
  if (!socket.destroyed) socket.end(() => socket.destroy());
}
