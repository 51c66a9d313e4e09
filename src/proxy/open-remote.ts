/**
 * Opens the remote end of a connection for a route decision: direct dial, or the
 * upstream list in order with the bad-proxy list and the configured fallback.
 */
import type net from 'node:net';
import type { Config, UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import type { RouteDecision } from '../events.js';
import type { BadProxyList } from './bad-proxies.js';
import { dial, type DialDeps } from './dial.js';
import { formatAuthority, type Target } from './http1.js';
import { connectThrough, isFailoverError } from './upstream.js';

export interface RemoteContext {
  readonly config: Config;
  readonly badProxies: BadProxyList;
  readonly dialDeps: DialDeps;
}

export interface Remote {
  readonly socket: net.Socket;
  readonly rest: Buffer;
  readonly route: 'direct' | 'upstream';
  readonly rule: string;
  readonly upstream?: UpstreamProxy;
}

export async function dialDirect(target: Target, ctx: RemoteContext): Promise<net.Socket> {
  const { limits, hosts } = ctx.config;
  return dial(
    {
      host: target.host,
      port: target.port,
      timeoutMs: limits.connectTimeoutMs,
      keepAliveMs: limits.keepAliveMs,
      hosts,
      side: 'target',
    },
    ctx.dialDeps,
  );
}

async function viaUpstreams(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
): Promise<Remote> {
  const { config, badProxies } = ctx;
  const failures: CorproxyError[] = [];
  for (const proxy of badProxies.order(config.upstreams)) {
    try {
      const opts = {
        connectTimeoutMs: config.limits.connectTimeoutMs,
        keepAliveMs: config.limits.keepAliveMs,
        maxHeaderSize: config.limits.maxHeaderSize,
        hosts: config.hosts,
      };
      const { socket, rest } = await connectThrough(proxy, target, opts, ctx.dialDeps);
      badProxies.markGood(proxy.id);
      return { socket, rest, route: 'upstream', rule: decision.rule, upstream: proxy };
    } catch (err) {
      if (!isFailoverError(err)) throw err;
      badProxies.markBad(proxy.id, (err as CorproxyError).message);
      failures.push(err as CorproxyError);
    }
  }
  if (config.fallback === 'direct') {
    const socket = await dialDirect(target, ctx);
    return {
      socket,
      rest: Buffer.alloc(0),
      route: 'direct',
      rule: 'fallback: direct (every upstream failed)',
    };
  }
  if (failures.length === 1) throw failures[0]!;
  throw new CorproxyError(
    'CPX_ERR_NO_ROUTE',
    `no upstream reachable for ${formatAuthority(target)}: ${failures.map((f) => f.message).join('; ')}`,
  );
}

export async function openRemote(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
): Promise<Remote> {
  if (decision.kind === 'upstream' && ctx.config.upstreams.length > 0) {
    return viaUpstreams(target, decision, ctx);
  }
  const socket = await dialDirect(target, ctx);
  return { socket, rest: Buffer.alloc(0), route: 'direct', rule: decision.rule };
}
