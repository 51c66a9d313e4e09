/**
 * CONNECT through one upstream proxy: dial it, send CONNECT with that upstream's
 * credentials only, read the reply head. Bytes past the head belong to the tunnel and
 * are handed back, never dropped.
 */
import type net from 'node:net';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { dial, dialError, type DialDeps } from './dial.js';
import {
  basicAuthorization,
  formatAuthority,
  formatConnectRequest,
  offeredSchemes,
  ResponseHeadReader,
  type ResponseHead,
  type Target,
} from './http1.js';

export interface UpstreamOptions {
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly maxHeaderSize: number;
  readonly hosts: Readonly<Record<string, string>>;
}

export interface Established {
  readonly socket: net.Socket;
  /** Bytes the upstream sent after its reply head (the origin's first bytes). */
  readonly rest: Buffer;
}

export function proxyAuthorization(proxy: UpstreamProxy): string | undefined {
  return proxy.username === undefined
    ? undefined
    : basicAuthorization(proxy.username, proxy.password ?? '');
}

/** True for errors that say the upstream itself is unusable (try the next one). */
export function isFailoverError(err: unknown): boolean {
  if (!(err instanceof CorproxyError)) return false;
  return [
    'CPX_ERR_UPSTREAM_DNS',
    'CPX_ERR_UPSTREAM_UNREACHABLE',
    'CPX_ERR_UPSTREAM_TIMEOUT',
    'CPX_ERR_UPSTREAM_TLS',
    'CPX_ERR_UPSTREAM_PROTOCOL',
  ].includes(err.code);
}

/** Turns a non-2xx CONNECT reply into the error the client will read. */
export function replyError(
  proxy: UpstreamProxy,
  target: Target,
  head: ResponseHead,
): CorproxyError {
  const where = `upstream ${proxy.id}`;
  if (head.status === 407) {
    const schemes = offeredSchemes(head.headers);
    const offers = schemes.length > 0 ? `offers ${schemes.join(', ')}` : 'offers no scheme';
    const what =
      proxy.username === undefined
        ? 'requires authentication'
        : `rejected the credentials of user "${proxy.username}"`;
    return new CorproxyError('CPX_ERR_UPSTREAM_AUTH', `${where} ${what} (407; ${offers})`, {
      details: { status: 407, schemes },
    });
  }
  const reason = head.reason === '' ? '' : ` ${head.reason}`;
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_REFUSED',
    `${where} refused CONNECT ${formatAuthority(target)} (${head.status}${reason})`,
    { details: { status: head.status } },
  );
}

function readHead(
  socket: net.Socket,
  proxy: UpstreamProxy,
  opts: UpstreamOptions,
): Promise<ResponseHead> {
  const reader = new ResponseHeadReader(opts.maxHeaderSize, proxy.id);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      finish();
      reject(
        new CorproxyError(
          'CPX_ERR_UPSTREAM_TIMEOUT',
          `upstream ${proxy.id} did not answer CONNECT within ${opts.connectTimeoutMs} ms`,
        ),
      );
    }, opts.connectTimeoutMs);
    const onData = (chunk: Buffer): void => {
      let head: ResponseHead | undefined;
      try {
        head = reader.feed(chunk);
      } catch (err) {
        finish();
        reject(err);
        return;
      }
      if (head !== undefined) {
        finish();
        resolve(head);
      }
    };
    const onEnd = (): void => {
      finish();
      reject(
        new CorproxyError(
          'CPX_ERR_UPSTREAM_PROTOCOL',
          `upstream ${proxy.id} closed the connection before answering CONNECT`,
        ),
      );
    };
    const onError = (err: Error): void => {
      finish();
      reject(dialError(err, 'upstream', proxy.id));
    };
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
      socket.pause();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}

/** Opens a tunnel to `target` through `proxy`; rejects with a CorproxyError. */
export async function connectThrough(
  proxy: UpstreamProxy,
  target: Target,
  opts: UpstreamOptions,
  deps: DialDeps = {},
): Promise<Established> {
  const socket = await dial(
    {
      host: proxy.host,
      port: proxy.port,
      timeoutMs: opts.connectTimeoutMs,
      keepAliveMs: opts.keepAliveMs,
      hosts: opts.hosts,
      side: 'upstream',
      ...(proxy.protocol === 'https:' ? { tls: { servername: proxy.host } } : {}),
    },
    deps,
  );
  try {
    socket.write(formatConnectRequest(target, proxyAuthorization(proxy)));
    const head = await readHead(socket, proxy, opts);
    if (head.status < 200 || head.status > 299) throw replyError(proxy, target, head);
    return { socket, rest: head.rest };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
