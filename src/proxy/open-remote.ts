/**
 * Opens the remote end of a connection for a route decision: the plan's hops in order
 * (direct, the PAC answer's proxies, or the upstream list; src/pac/plan.ts) with the
 * bad-proxy list and the configured fallback, reporting what it sees to the network
 * monitor so that off the corporate network requests stop waiting for timeouts.
 */
import type net from 'node:net';
import { defaultAuthDeps } from '../auth/session.js';
import { promised, type Callback } from '../callback.js';
import type { Config, UpstreamProxy } from '../config/types.js';
import { asCorproxyError, CorproxyError } from '../errors.js';
import type { RouteDecision } from '../events.js';
import type { NetworkMonitor } from '../pac/network.js';
import {
  connectUrl,
  FALLBACK_RULE,
  isPlainDirect,
  planRoute,
  planWithoutPac,
  type PlanContext,
  type RoutePlan,
} from '../pac/plan.js';
import type { PacRuntime } from '../pac/runtime.js';
import type { BadProxyList } from './bad-proxies.js';
import { dial, dialThen, type DialDeps, type DialOptions } from './dial.js';
import { formatAuthority, type Target } from './http1.js';
import { connectThroughThen, isFailoverError, type UpstreamOptions } from './upstream.js';

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

/** Called once: with the error, or with the opened remote. */
export type RemoteCallback = Callback<Remote>;

function directThen(
  target: Target,
  ctx: RemoteContext,
  rule: string,
  use: RemoteUse,
  done: RemoteCallback,
): void {
  dialThen(directOptions(target, ctx, use), ctx.dialDeps, (err, socket) => {
    if (err !== undefined) done(err);
    else done(undefined, { socket: socket!, rest: NO_BYTES, route: 'direct', rule });
  });
}

/**
 * One run of a plan: its hops in order, each on a callback, so that a CONNECT through an
 * upstream that answers at once costs no promise jobs (bench/README.md, eighth round).
 */
class PlanRun {
  readonly failures: CorproxyError[] = [];
  /** Read once, as in planContext: this attempt's verdicts stay on the list it began with. */
  readonly badProxies: BadProxyList;
  readonly epoch: number;
  readonly opts: UpstreamOptions;
  proxiesLeft: number;

  constructor(
    readonly target: Target,
    readonly plan: RoutePlan,
    readonly ctx: RemoteContext,
    readonly use: RemoteUse,
    readonly done: RemoteCallback,
  ) {
    const { limits, hosts } = ctx.config;
    this.badProxies = ctx.badProxies;
    this.epoch = ctx.network?.epoch ?? 0;
    this.proxiesLeft = plan.hops.filter((h) => h.kind === 'upstream').length;
    this.opts = {
      connectTimeoutMs: limits.connectTimeoutMs,
      keepAliveMs: limits.keepAliveMs,
      maxHeaderSize: limits.maxHeaderSize,
      hosts,
      tunnel: use === 'tunnel',
    };
  }

  /** Tries hop `i`, or ends: the fallback, or every failure in one error. */
  next(i: number): void {
    const { target, plan, ctx, use, done } = this;
    const hop = plan.hops[i];
    if (hop === undefined) {
      if (plan.fallbackDirect) directThen(target, ctx, FALLBACK_RULE, use, done);
      else done(noRoute(target, plan, this.failures));
      return;
    }
    const more = i < plan.hops.length - 1 || plan.fallbackDirect;
    if (hop.kind === 'direct') {
      directThen(target, ctx, plan.rule, use, (err, remote) => {
        if (remote !== undefined || !more) done(err, remote);
        else this.failed(i, asCorproxyError(err));
      });
      return;
    }
    connectThroughThen(hop.proxy, target, this.opts, ctx.dialDeps, defaultAuthDeps, (err, up) => {
      if (up === undefined) this.upstreamFailed(i, hop.proxy, err);
      else this.through(hop.proxy, up.socket, up.rest);
    });
  }

  through(proxy: UpstreamProxy, socket: net.Socket, rest: Buffer): void {
    const { ctx, plan } = this;
    this.badProxies.markGood(proxy.id);
    ctx.network?.proxyReachable(proxy);
    this.done(undefined, { socket, rest, route: 'upstream', rule: plan.rule, upstream: proxy });
  }

  upstreamFailed(i: number, proxy: UpstreamProxy, err: unknown): void {
    const { ctx } = this;
    if (provesReachable(err)) ctx.network?.proxyReachable(proxy);
    if (!isFailoverError(err)) {
      this.done(err);
      return;
    }
    const failure = err as CorproxyError;
    this.badProxies.markBad(proxy.id, failure.message);
    ctx.network?.proxyFailed(this.epoch, proxy, failure.message);
    this.proxiesLeft -= 1;
    if (this.proxiesLeft === 0) ctx.network?.attemptFailed(this.epoch);
    this.failed(i, failure);
  }

  failed(i: number, failure: CorproxyError): void {
    this.failures.push(failure);
    this.next(i + 1);
  }
}

/**
 * Opens the remote for `decision`, calling back once. A plain direct decision dials at
 * once; without a PAC file to ask, the plan is made and run without a promise
 * (bench/README.md, fifth, seventh and eighth rounds).
 */
export function openRemoteThen(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
  use: RemoteUse,
  done: RemoteCallback,
): void {
  if (isPlainDirect(decision, ctx)) {
    directThen(target, ctx, decision.rule, use, done);
    return;
  }
  const plan = planWithoutPac(decision, ctx);
  if (plan !== undefined) {
    new PlanRun(target, plan, ctx, use, done).next(0);
    return;
  }
  planRoute(target, connectUrl(target.host, target.port), decision, planContext(ctx)).then(
    (asked) => new PlanRun(target, asked, ctx, use, done).next(0),
    done,
  );
}

export function openRemote(
  target: Target,
  decision: RouteDecision,
  ctx: RemoteContext,
  use: RemoteUse = 'stream',
): Promise<Remote> {
  return promised((done) => openRemoteThen(target, decision, ctx, use, done));
}
