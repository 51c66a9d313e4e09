/**
 * Opens the remote end of a connection for a route decision: the plan's hops in order
 * (direct, the PAC answer's proxies, or the upstream list; src/pac/plan.ts) with the
 * bad-proxy list and the configured fallback, reporting what it sees to the network
 * monitor so that off the corporate network requests stop waiting for timeouts.
 */
import type net from 'node:net';
import type { Config, UpstreamProxy } from '../config/types.js';
import { asCorproxyError, CorproxyError } from '../errors.js';
import type { RouteDecision } from '../events.js';
import type { NetworkMonitor } from '../pac/network.js';
import {
  connectUrl,
  FALLBACK_RULE,
  isPlainDirect,
  planRoute,
  type PlanContext,
  type RoutePlan,
} from '../pac/plan.js';
import type { PacRuntime } from '../pac/runtime.js';
import type { BadProxyList } from './bad-proxies.js';
import { dial, dialThen, type DialDeps, type DialOptions } from './dial.js';
import { formatAuthority, type Target } from './http1.js';
import { connectThrough, isFailoverError } from './upstream.js';

export interface RemoteContext {
  readonly config: Config;
  readonly badProxies: BadProxyList;
  readonly dialDeps: DialDeps;
  readonly pac?: PacRuntime | undefined;
  readonly network?: NetworkMonitor;
  readonly sink?: { warn(message: string): void };
  isSelf?(target: Target): boolean;
}

export interface Remote {
  readonly socket: net.Socket;
  readonly rest: Buffer;
  readonly route: 'direct' | 'upstream';
  readonly rule: string;
  readonly upstream?: UpstreamProxy;
}

/** What the remote socket is for: 'tunnel' dials it with DialOptions.tunnel. */
export type RemoteUse = 'tunnel' | 'stream';

/** `rest` of a direct remote: nothing came before the origin's own bytes. */
const NO_BYTES = Buffer.alloc(0);

export function dialDirect(
  target: Target,
  ctx: RemoteContext,
  use: RemoteUse = 'stream',
): Promise<net.Socket> {
  return dial(directOptions(target, ctx, use), ctx.dialDeps);
}

function directOptions(target: Target, ctx: RemoteContext, use: RemoteUse): DialOptions {
  const { limits, hosts } = ctx.config;
  return {
    host: target.host,
    port: target.port,
    timeoutMs: limits.connectTimeoutMs,
    keepAliveMs: limits.keepAliveMs,
    hosts,
    side: 'target',
    tunnel: use === 'tunnel',
  };
}

/**
 * The routing view of one attempt. The bad-proxy list is read once: after a network
 * change the state holds a new list, and this attempt's verdicts stay on the old one.
 */
export function planContext(
  ctx: RemoteContext,
): PlanContext & { readonly badProxies: BadProxyList } {
  return {
    config: ctx.config,
    badProxies: ctx.badProxies,
    pac: ctx.pac,
    network: ctx.network,
    isSelf: (t) => ctx.isSelf?.({ host: t.host, port: t.port }) ?? false,
    ...(ctx.sink ? { warn: (m: string) => ctx.sink!.warn(m) } : {}),
  };
}

/** Errors that still prove the proxy is there (it answered, just not with 2xx). */
export function provesReachable(err: unknown): boolean {
  return (
    err instanceof CorproxyError &&
    ['CPX_ERR_UPSTREAM_AUTH', 'CPX_ERR_UPSTREAM_REFUSED'].includes(err.code)
  );
}

function noRoute(
  target: Target,
  plan: RoutePlan,
  failures: readonly CorproxyError[],
): CorproxyError {
  if (failures.length === 1) return failures[0]!;
  return new CorproxyError(
    'CPX_ERR_NO_ROUTE',
    `no upstream reachable for ${formatAuthority(target)}: ${failures.map((f) => f.message).join('; ')}`,
    { details: { rule: plan.rule, tried: plan.hops.map((h) => h.id) } },
  );
}

function direct(target: Target, ctx: RemoteContext, rule: string, use: RemoteUse): Promise<Remote> {
  return dialDirect(target, ctx, use).then((socket) => ({
    socket,
    rest: NO_BYTES,
    route: 'direct',
    rule,
  }));
}

async function runPlan(
  target: Target,
  plan: RoutePlan,
  ctx: RemoteContext,
  use: RemoteUse,
): Promise<Remote> {
  const { config, badProxies } = ctx;
  const epoch = ctx.network?.epoch ?? 0;
  const failures: CorproxyError[] = [];
  let proxiesLeft = plan.hops.filter((h) => h.kind === 'upstream').length;
  const opts = {
    connectTimeoutMs: config.limits.connectTimeoutMs,
    keepAliveMs: config.limits.keepAliveMs,
    maxHeaderSize: config.limits.maxHeaderSize,
    hosts: config.hosts,
    tunnel: use === 'tunnel',
  };
  for (const [i, hop] of plan.hops.entries()) {
    const more = i < plan.hops.length - 1 || plan.fallbackDirect;
    if (hop.kind === 'direct') {
      try {
        return await direct(target, ctx, plan.rule, use);
      } catch (err) {
        if (!more) throw err;
        failures.push(asCorproxyError(err));
        continue;
      }
    }
    try {
      const { socket, rest } = await connectThrough(hop.proxy, target, opts, ctx.dialDeps);
      badProxies.markGood(hop.id);
      ctx.network?.proxyReachable(hop.proxy);
      return { socket, rest, route: 'upstream', rule: plan.rule, upstream: hop.proxy };
    } catch (err) {
      if (provesReachable(err)) ctx.network?.proxyReachable(hop.proxy);
      if (!isFailoverError(err)) throw err;
      const failure = err as CorproxyError;
      badProxies.markBad(hop.id, failure.message);
      ctx.network?.proxyFailed(epoch, hop.proxy, failure.message);
      proxiesLeft -= 1;
      if (proxiesLeft === 0) ctx.network?.attemptFailed(epoch);
      failures.push(failure);
    }
  }
  if (plan.fallbackDirect) return direct(target, ctx, FALLBACK_RULE, use);
  throw noRoute(target, plan, failures);
}

/** Called once: with the error, or with the opened remote. */
export type RemoteCallback = (err: unknown, remote?: Remote) => void;

/**
 * openRemote() with a callback. A plain direct decision dials without a promise between
 * the decision and the connected socket (bench/README.md, seventh round); any other
 * decision runs the plan as openRemote does.
 */
export function openRemoteThen(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
  use: RemoteUse,
  done: RemoteCallback,
): void {
  if (!isPlainDirect(decision, ctx)) {
    openRemote(target, decision, ctx, use).then((remote) => done(undefined, remote), done);
    return;
  }
  const { rule } = decision;
  dialThen(directOptions(target, ctx, use), ctx.dialDeps, (err, socket) => {
    if (err !== undefined) done(err);
    else done(undefined, { socket: socket!, rest: NO_BYTES, route: 'direct', rule });
  });
}

export function openRemote(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
  use: RemoteUse = 'stream',
): Promise<Remote> {
  // The plan would be one direct hop under the decision's rule: dial at once, without
  // the plan's context and promises (bench/README.md, fifth round).
  if (isPlainDirect(decision, ctx)) return direct(target, ctx, decision.rule, use);
  return planRoute(target, connectUrl(target.host, target.port), decision, planContext(ctx)).then(
    (plan) => runPlan(target, plan, ctx, use),
  );
}
