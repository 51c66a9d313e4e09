/**
 * CONNECT through one upstream proxy: dial it, authenticate with that upstream's
 * credentials only when it asks (src/auth/handshake.ts: Negotiate, NTLM or Basic on one
 * kept-alive connection), read the reply head. Bytes past the head belong to the tunnel
 * and are handed back, never dropped.
 */
import type net from 'node:net';
import { promised } from '../callback.js';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import {
  connectWithAuthThen,
  defaultAuthDeps,
  type AuthDeps,
  type EstablishedCallback,
  type OpenThen,
} from '../auth/handshake.js';
import type { AuthScheme } from '../auth/schemes.js';
import { dialProxyThen, type DialDeps } from './dial.js';
import { basicAuthorization, type Target } from './http1.js';

export interface UpstreamOptions {
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly maxHeaderSize: number;
  readonly hosts: Readonly<Record<string, string>>;
  /** The connection will carry a tunnel (DialOptions.tunnel). */
  readonly tunnel?: boolean;
}

export interface Established {
  readonly socket: net.Socket;
  /** Bytes the upstream sent after its reply head (the origin's first bytes). */
  readonly rest: Buffer;
  /** The scheme that got corproxy through ('none' when the upstream asked for nothing). */
  readonly scheme?: AuthScheme | 'none';
}

/** Basic credentials of `proxy`, for a request sent when Basic is known to be wanted. */
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

/** Opens a tunnel to `target` through `proxy`; rejects with a CorproxyError. */
export function connectThrough(
  proxy: UpstreamProxy,
  target: Target,
  opts: UpstreamOptions,
  deps: DialDeps = {},
  auth: AuthDeps = defaultAuthDeps,
): Promise<Established> {
  return promised((done) => connectThroughThen(proxy, target, opts, deps, auth, done));
}

/** connectThrough() with a callback: an upstream that answers 200 at once costs no promises. */
export function connectThroughThen(
  proxy: UpstreamProxy,
  target: Target,
  opts: UpstreamOptions,
  deps: DialDeps,
  auth: AuthDeps,
  done: EstablishedCallback,
): void {
  const open: OpenThen = (opened) => dialProxyThen(proxy, opts, deps, opened);
  const reading = { timeoutMs: opts.connectTimeoutMs, maxHeaderSize: opts.maxHeaderSize };
  connectWithAuthThen(proxy, target, open, reading, auth, done);
}
