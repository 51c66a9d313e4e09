/**
 * Opening outbound TCP (and TLS to https:// upstreams) with the `hosts` map, an
 * injectable resolver and connect function, a connect timeout, TCP keepalive and
 * TCP_NODELAY. Errors come back as CorproxyErrors naming the side that failed.
 */
import net from 'node:net';
import tls from 'node:tls';
import dns from 'node:dns';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError, type ErrorCode } from '../errors.js';
import { keepAliveSoon } from './keepalive.js';
import { relayReadOptions } from './relay-reads.js';

export type LookupFn = (
  hostname: string,
  options: dns.LookupOptions,
  callback: (
    err: NodeJS.ErrnoException | null,
    address: string | dns.LookupAddress[],
    family?: number,
  ) => void,
) => void;

export interface DialDeps {
  /** Replaces net.connect (tests inject failures). */
  readonly connect?: (options: net.NetConnectOpts) => net.Socket;
  readonly lookup?: LookupFn;
}

export interface DialOptions {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly keepAliveMs: number;
  /** name → address overrides (curl --resolve style). */
  readonly hosts: Readonly<Record<string, string>>;
  /** What failed, for messages: 'target' or 'upstream'. */
  readonly side: 'target' | 'upstream';
  /** TLS to the peer itself (https:// upstream proxies). */
  readonly tls?: { readonly servername: string; readonly ca?: readonly string[] };
  /**
   * The socket will carry a CONNECT tunnel: its reads go through relay-reads.ts (plain
   * TCP only) and its keepalive is switched on a second after connect (keepalive.ts).
   */
  readonly tunnel?: boolean;
}

const CODES: Record<'target' | 'upstream', Record<string, ErrorCode>> = {
  target: {
    dns: 'CPX_ERR_TARGET_DNS',
    refused: 'CPX_ERR_TARGET_REFUSED',
    unreachable: 'CPX_ERR_TARGET_UNREACHABLE',
    timeout: 'CPX_ERR_TARGET_TIMEOUT',
    tls: 'CPX_ERR_TARGET_PROTOCOL',
  },
  upstream: {
    dns: 'CPX_ERR_UPSTREAM_DNS',
    refused: 'CPX_ERR_UPSTREAM_UNREACHABLE',
    unreachable: 'CPX_ERR_UPSTREAM_UNREACHABLE',
    timeout: 'CPX_ERR_UPSTREAM_TIMEOUT',
    tls: 'CPX_ERR_UPSTREAM_TLS',
  },
};

function classify(err: NodeJS.ErrnoException): { kind: string; text: string } {
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NODATA':
      return { kind: 'dns', text: `name does not resolve (${err.code})` };
    case 'ECONNREFUSED':
      return { kind: 'refused', text: 'connection refused' };
    case 'ECONNRESET':
    case 'EPIPE':
      return { kind: 'refused', text: `connection reset (${err.code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return { kind: 'unreachable', text: `no route (${err.code})` };
    case 'ETIMEDOUT':
      return { kind: 'timeout', text: 'connect timed out' };
    default:
      if (
        err.code?.startsWith('ERR_SSL') ||
        err.code?.startsWith('ERR_TLS') ||
        /certificate|self.signed/i.test(err.message)
      ) {
        return { kind: 'tls', text: `TLS failed: ${err.message}` };
      }
      return { kind: 'refused', text: err.code ?? err.message };
  }
}

/** Maps a socket-level error to the CorproxyError for the given side. */
export function dialError(err: unknown, side: 'target' | 'upstream', who: string): CorproxyError {
  if (err instanceof CorproxyError) return err;
  const e = err as NodeJS.ErrnoException;
  const { kind, text } = classify(e);
  const label = side === 'target' ? who : `upstream ${who}`;
  return new CorproxyError(CODES[side][kind] ?? CODES[side].refused!, `${label}: ${text}`, {
    cause: err,
  });
}

export function timeoutError(side: 'target' | 'upstream', who: string, ms: number): CorproxyError {
  const label = side === 'target' ? who : `upstream ${who}`;
  return new CorproxyError(CODES[side].timeout!, `${label}: connect timed out after ${ms} ms`);
}

/** Resolves with a connected socket (TLS-established for opts.tls) or rejects. */
export function dial(opts: DialOptions, deps: DialDeps = {}): Promise<net.Socket> {
  const who = `${opts.host}:${opts.port}`;
  const address = opts.hosts[opts.host] ?? opts.host;
  const connect = deps.connect ?? net.connect;
  return new Promise((resolve, reject) => {
    let raw: net.Socket;
    const reads = opts.tunnel === true && !opts.tls ? relayReadOptions() : undefined;
    try {
      raw = connect({
        host: address,
        port: opts.port,
        allowHalfOpen: true,
        noDelay: true,
        ...(opts.tunnel === true
          ? {}
          : { keepAlive: true, keepAliveInitialDelay: opts.keepAliveMs }),
        ...(deps.lookup ? { lookup: deps.lookup } : {}),
        ...(reads ? { onread: reads.onread } : {}),
      });
      reads?.bind(raw);
    } catch (err) {
      reject(dialError(err, opts.side, who));
      return;
    }
    const socket: net.Socket = opts.tls
      ? tls.connect({
          socket: raw,
          servername: net.isIP(opts.tls.servername) ? undefined : opts.tls.servername,
          ...(opts.tls.ca ? { ca: [...opts.tls.ca] } : {}),
        })
      : raw;
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      raw.destroy();
      reject(timeoutError(opts.side, who, opts.timeoutMs));
    }, opts.timeoutMs);
    const onError = (err: Error): void => {
      cleanup();
      socket.destroy();
      raw.destroy();
      reject(dialError(err, opts.side, who));
    };
    const onReady = (): void => {
      cleanup();
      // Errors of the TCP socket under TLS must reach whoever owns the TLS socket.
      if (socket !== raw) raw.on('error', (err) => socket.destroy(err));
      if (opts.tunnel === true) keepAliveSoon(raw, opts.keepAliveMs);
      resolve(socket);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('error', onError);
      raw.off('error', onError);
      socket.off(opts.tls ? 'secureConnect' : 'connect', onReady);
    };
    socket.on('error', onError);
    if (socket !== raw) raw.on('error', onError);
    socket.once(opts.tls ? 'secureConnect' : 'connect', onReady);
  });
}

export interface ProxyDialSettings {
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly hosts: Readonly<Record<string, string>>;
  /** See DialOptions.tunnel. */
  readonly tunnel?: boolean;
}

/** Dials an upstream proxy itself: TCP, plus TLS to it for https:// proxies. */
export function dialProxy(
  proxy: UpstreamProxy,
  settings: ProxyDialSettings,
  deps: DialDeps = {},
): Promise<net.Socket> {
  return dial(
    {
      host: proxy.host,
      port: proxy.port,
      timeoutMs: settings.connectTimeoutMs,
      keepAliveMs: settings.keepAliveMs,
      hosts: settings.hosts,
      side: 'upstream',
      ...(settings.tunnel === true ? { tunnel: true } : {}),
      ...(proxy.protocol === 'https:' ? { tls: { servername: proxy.host } } : {}),
    },
    deps,
  );
}
