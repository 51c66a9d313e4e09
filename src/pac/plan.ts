/**
 * From a route decision to the ordered list of next hops to try (DESIGN §5: first
 * matching `direct` rule, else PAC, else the upstream list), shared by CONNECT and plain
 * HTTP forwarding. PAC PROXY/HTTPS entries become upstreams without credentials unless
 * they name a configured upstream (same scheme, host and port): credentials go only to
 * the upstreams they were configured for.
 */
import type { Config, UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import type { RouteDecision } from '../events.js';
import { entryId, formatPacAnswer, parsePacAnswer, type PacEntry } from './answer.js';
import type { PacDecision } from './runtime.js';

export type Hop =
  | { readonly kind: 'direct'; readonly id: 'DIRECT' }
  | { readonly kind: 'upstream'; readonly id: string; readonly proxy: UpstreamProxy };

export interface RoutePlan {
  readonly hops: readonly Hop[];
  /** The rule for the log when the first usable hop wins. */
  readonly rule: string;
  /** Go direct after every proxy hop failed at the connection level. */
  readonly fallbackDirect: boolean;
}

export interface PlanContext {
  readonly config: Config;
  readonly badProxies: { order<T extends { readonly id: string }>(items: readonly T[]): T[] };
  readonly pac?: { decide(url: string, host: string): Promise<PacDecision> } | undefined;
  readonly network?: { isOff(): boolean; status(): { readonly reason: string } } | undefined;
  /** True for corproxy's own listen addresses (a PAC answer naming them would loop). */
  readonly isSelf: (target: { host: string; port: number }) => boolean;
  readonly warn?: (message: string) => void;
}

export const DIRECT_HOP: Hop = Object.freeze({ kind: 'direct', id: 'DIRECT' });

export const FALLBACK_RULE = 'fallback: direct (every upstream failed)';

/** The URL handed to FindProxyForURL for a CONNECT target (browsers strip https paths). */
export function connectUrl(host: string, port: number): string {
  const literal = host.includes(':') ? `[${host}]` : host;
  if (port === 443) return `https://${literal}/`;
  if (port === 80) return `http://${literal}/`;
  return `https://${literal}:${port}/`;
}

/** A configured upstream for the same scheme and address, else a credential-less one. */
export function hopForEntry(
  entry: Extract<PacEntry, { kind: 'proxy' }>,
  upstreams: readonly UpstreamProxy[],
): Hop {
  const id = entryId(entry);
  const configured = upstreams.find(
    (u) => u.protocol === entry.protocol && u.id.toLowerCase() === id,
  );
  const proxy: UpstreamProxy = configured ?? {
    protocol: entry.protocol,
    host: entry.host,
    port: entry.port,
    display: `${entry.protocol}//${id}`,
    id,
  };
  return { kind: 'upstream', id: proxy.id, proxy };
}

function upstreamHops(upstreams: readonly UpstreamProxy[]): Hop[] {
  return upstreams.map((proxy) => ({ kind: 'upstream', id: proxy.id, proxy }));
}

function pacPlan(decision: PacDecision & { ok: true }, ctx: PlanContext): RoutePlan {
  const answer = parsePacAnswer(decision.answer);
  const hops: Hop[] = [];
  for (const entry of answer.entries) {
    if (entry.kind === 'direct') hops.push(DIRECT_HOP);
    else if (ctx.isSelf(entry))
      ctx.warn?.(`pac: ignoring ${entryId(entry)}: it is corproxy itself`);
    else hops.push(hopForEntry(entry, ctx.config.upstreams));
  }
  const shown = formatPacAnswer({ entries: answer.entries, skipped: [] });
  const skipped = answer.skipped.length > 0 ? ` (skipped: ${answer.skipped.join('; ')})` : '';
  if (hops.length === 0) {
    throw new CorproxyError(
      'CPX_ERR_NO_ROUTE',
      `the PAC answer "${decision.answer.trim().slice(0, 200)}" names no proxy corproxy can use` +
        ' (SOCKS is not supported)',
    );
  }
  return {
    hops: ctx.badProxies.order(hops),
    rule: `pac: ${shown}${skipped}`,
    fallbackDirect: ctx.config.fallback === 'direct' && !hops.some((h) => h.kind === 'direct'),
  };
}

/** Without a usable PAC answer: the upstream list, else the fallback, else an error. */
function withoutPac(error: CorproxyError, ctx: PlanContext): RoutePlan {
  const { config } = ctx;
  if (config.upstreams.length > 0) {
    return {
      hops: ctx.badProxies.order(upstreamHops(config.upstreams)),
      rule: `upstream list (${error.message})`,
      fallbackDirect: config.fallback === 'direct',
    };
  }
  if (config.fallback === 'direct') {
    return {
      hops: [DIRECT_HOP],
      rule: `fallback: direct (${error.message})`,
      fallbackDirect: false,
    };
  }
  throw new CorproxyError(
    'CPX_ERR_NO_ROUTE',
    `${error.message}; no upstream configured and fallback is none`,
    { cause: error },
  );
}

/**
 * True when the plan is one direct hop under the decision's own rule: the rules chose
 * direct, or there is neither a PAC file nor an upstream to ask.
 */
export function isPlainDirect(
  decision: RouteDecision,
  ctx: { readonly config: Pick<Config, 'upstreams'>; readonly pac?: unknown },
): boolean {
  return decision.kind === 'direct' || (ctx.pac === undefined && ctx.config.upstreams.length === 0);
}

/** The hops to try for a target that `decision` sent to the upstream side. */
export async function planRoute(
  target: { host: string; port: number },
  url: string,
  decision: RouteDecision,
  ctx: PlanContext,
): Promise<RoutePlan> {
  const now = planWithoutPac(decision, ctx);
  if (now !== undefined) return now;
  // planWithoutPac answers every decision unless there is a PAC file to ask.
  const answer = await ctx.pac!.decide(url, target.host);
  return answer.ok ? pacPlan(answer, ctx) : withoutPac(answer.error, ctx);
}

/**
 * The plan when no PAC answer is needed for it (a CONNECT to an upstream then opens
 * without a promise, bench/README.md, eighth round); undefined when the PAC must be asked.
 */
export function planWithoutPac(
  decision: RouteDecision,
  ctx: Omit<PlanContext, 'isSelf'>,
): RoutePlan | undefined {
  const { config } = ctx;
  if (isPlainDirect(decision, ctx)) {
    return { hops: [DIRECT_HOP], rule: decision.rule, fallbackDirect: false };
  }
  if (config.fallback === 'direct' && ctx.network?.isOff() === true) {
    const why = ctx.network.status().reason;
    return {
      hops: [DIRECT_HOP],
      rule: `fallback: direct (off the corporate network: ${why})`,
      fallbackDirect: false,
    };
  }
  if (ctx.pac !== undefined) return undefined;
  return {
    hops: ctx.badProxies.order(upstreamHops(config.upstreams)),
    rule: decision.rule,
    fallbackDirect: config.fallback === 'direct',
  };
}
