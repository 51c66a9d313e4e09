/**
 * Opening outbound TCP (and TLS to https:// upstreams) with the `hosts` map, an
 * injectable resolver and connect function, a connect timeout, TCP keepalive and
 * TCP_NODELAY. Errors come back as CorproxyErrors naming the side that failed.
 */
import net from 'node:net';
import tls from 'node:tls';
import dns from 'node:dns';
import { promised } from '../callback.js';
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
  return promised((done) => dialThen(opts, deps, done));
}

/** Called once: with the error, or with the connected socket. */
export type DialCallback = (err: CorproxyError | undefined, socket?: net.Socket) => void;

/**
 * dial() with a callback: a CONNECT tunnel's direct dial uses it, so that opening the
 * remote costs no promise jobs on the tunnel's path (bench/README.md, seventh round).
 */
export function dialThen(opts: DialOptions, deps: DialDeps, done: DialCallback): void {
  const connect = deps.connect ?? net.connect;
  const reads = opts.tunnel === true && !opts.tls ? relayReadOptions() : undefined;
  const options: net.TcpNetConnectOpts = {
    host: opts.hosts[opts.host] ?? opts.host,
    port: opts.port,
    allowHalfOpen: true,
    noDelay: true,
  };
  // A tunnel's keepalive is switched on a second after connect (keepalive.ts).
  if (opts.tunnel !== true) {
    options.keepAlive = true;
    options.keepAliveInitialDelay = opts.keepAliveMs;
  }
  if (deps.lookup) options.lookup = deps.lookup;
  if (reads) (options as net.TcpNetConnectOpts & net.OnReadOpts).onread = reads.onread;
  let raw: net.Socket;
  try {
    raw = connect(options);
    reads?.bind(raw);
  } catch (err) {
    done(dialError(err, opts.side, `${opts.host}:${opts.port}`));
    return;
  }
  new Dialing(opts, raw, done).start();
}

/** One dial in progress: its timer and its listeners, removed when it settles. */
class Dialing {
  readonly socket: net.Socket;
  timer: NodeJS.Timeout | undefined;
  readonly onError = (err: Error): void => this.fail(dialError(err, this.opts.side, this.who));
  readonly onReady = (): void => this.ready();

  constructor(
    readonly opts: DialOptions,
    readonly raw: net.Socket,
    readonly done: DialCallback,
  ) {
    this.socket = opts.tls
      ? tls.connect({
          socket: raw,
          servername: net.isIP(opts.tls.servername) ? undefined : opts.tls.servername,
          ...(opts.tls.ca ? { ca: [...opts.tls.ca] } : {}),
        })
      : raw;
  }

  get who(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  start(): void {
    this.timer = setTimeout(onDialTimeout, this.opts.timeoutMs, this);
    this.socket.on('error', this.onError);
    if (this.socket !== this.raw) this.raw.on('error', this.onError);
    this.socket.on(this.opts.tls ? 'secureConnect' : 'connect', this.onReady);
  }

  ready(): void {
    this.cleanup();
    const { socket, raw } = this;
    // Errors of the TCP socket under TLS must reach whoever owns the TLS socket.
    if (socket !== raw) raw.on('error', (err) => socket.destroy(err));
    if (this.opts.tunnel === true) keepAliveSoon(raw, this.opts.keepAliveMs);
    this.done(undefined, socket);
  }

  fail(err: CorproxyError): void {
    this.cleanup();
    this.socket.destroy();
    this.raw.destroy();
    this.done(err);
  }

  cleanup(): void {
    clearTimeout(this.timer);
    this.socket.off('error', this.onError);
    this.raw.off('error', this.onError);
    this.socket.off(this.opts.tls ? 'secureConnect' : 'connect', this.onReady);
  }
}

function onDialTimeout(dialing: Dialing): void {
  const { opts } = dialing;
  dialing.fail(timeoutError(opts.side, dialing.who, opts.timeoutMs));
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
  return dial(proxyDialOptions(proxy, settings), deps);
}

/** dialProxy() with a callback. */
export function dialProxyThen(
  proxy: UpstreamProxy,
  settings: ProxyDialSettings,
  deps: DialDeps,
  done: DialCallback,
): void {
  dialThen(proxyDialOptions(proxy, settings), deps, done);
}

function proxyDialOptions(proxy: UpstreamProxy, settings: ProxyDialSettings): DialOptions {
  return {
    host: proxy.host,
    port: proxy.port,
    timeoutMs: settings.connectTimeoutMs,
    keepAliveMs: settings.keepAliveMs,
    hosts: settings.hosts,
    side: 'upstream',
    ...(settings.tunnel === true ? { tunnel: true } : {}),
    ...(proxy.protocol === 'https:' ? { tls: { servername: proxy.host } } : {}),
  };
}
