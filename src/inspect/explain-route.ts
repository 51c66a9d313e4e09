/**
 * corproxy's side of `corproxy explain`: the route the daemon picks for a target and the
 * rule that picked it (DESIGN §5: first matching `direct` rule, else the PAC script, else
 * the upstream list), with the upstreams in the order the daemon tries them. The rules are
 * the running daemon's (from /status) when it answers, else the config's. Pure.
 */
import type { Config } from '../config/types.js';
import { entryId, formatPacAnswer, parsePacAnswer } from '../pac/answer.js';
import { compileRoutes, decideRoute } from '../route/router.js';
import { corproxyEndpoints, isCorproxyAddress } from './endpoint.js';
import type { ExplainTarget } from './explain-target.js';
import type { StatusDocument, UpstreamHealth } from './status-document.js';

export interface UpstreamStep {
  readonly url: string;
  /** undefined when the daemon could not be asked. */
  readonly healthy?: boolean;
  readonly badUntil?: string;
  readonly lastError?: string;
}

/** What the PAC script said about the target. */
export interface PacResult {
  /** FindProxyForURL's return value; undefined when the script gave none. */
  readonly answer?: string;
  /** Entries corproxy cannot use (SOCKS, malformed): skipped. */
  readonly skipped: readonly string[];
}

export interface CorproxyRoute {
  readonly kind: 'direct' | 'upstream' | 'loop';
  readonly rule: string;
  /** Set when a PAC script decided (or failed to). */
  readonly pac?: PacResult;
  /** https targets are tunnelled (CONNECT); http targets are forwarded requests. */
  readonly mode: 'tunnel' | 'forward';
  /** The upstreams in the order the daemon tries them (healthy first). */
  readonly upstreams: readonly UpstreamStep[];
  readonly fallback: 'direct' | 'none';
  /** Whether the rules and upstream health came from the running daemon. */
  readonly healthKnown: boolean;
}

/** An upstream as routing needs it: the redacted URL, its scheme and host:port. */
interface RoutingUpstream {
  readonly display: string;
  readonly protocol: string;
  readonly id: string;
}

/** The rules a route is decided by. */
interface Routing {
  readonly direct: readonly string[];
  readonly directModules: readonly string[];
  readonly upstreams: readonly RoutingUpstream[];
  readonly fallback: 'direct' | 'none';
  readonly hasPac: boolean;
}

export interface RouteInput {
  readonly target: ExplainTarget;
  readonly config: Config;
  readonly daemon?: StatusDocument;
  readonly pacAnswer?: string;
}

function strings(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined;
}

/** `http://user:***@host:8080` (UpstreamProxy.display) → scheme and host:port. */
function upstreamOfDisplay(display: string): RoutingUpstream {
  const slashes = display.indexOf('//');
  const rest = display.slice(slashes + 2);
  return {
    display,
    protocol: display.slice(0, slashes),
    id: rest.slice(rest.lastIndexOf('@') + 1),
  };
}

/** The daemon's rules when its /status carries them, else the config's. */
function routingOf(config: Config, daemon?: StatusDocument): Routing {
  const direct = strings(daemon?.direct);
  if (daemon !== undefined && direct !== undefined) {
    return {
      direct,
      directModules: strings(daemon.directModules) ?? [],
      upstreams: daemon.upstreams.map((u) => upstreamOfDisplay(u.url)),
      fallback: daemon.fallback === 'direct' ? 'direct' : 'none',
      hasPac: typeof daemon.pac === 'object' && daemon.pac !== null,
    };
  }
  return {
    direct: config.direct,
    directModules: config.directModules,
    upstreams: config.upstreams,
    fallback: config.fallback,
    hasPac: config.pac !== '',
  };
}

function healthOf(daemon: StatusDocument | undefined): Map<string, UpstreamHealth> {
  return new Map((daemon?.upstreams ?? []).map((u) => [u.url, u]));
}

function step(url: string, health: ReadonlyMap<string, UpstreamHealth>): UpstreamStep {
  const h = health.get(url);
  return h === undefined ? { url } : { ...h, url };
}

/** Healthy hops first, in their order, then the ones on the bad-proxy list. */
function badLast(steps: readonly UpstreamStep[]): UpstreamStep[] {
  return [...steps.filter((s) => s.healthy !== false), ...steps.filter((s) => s.healthy === false)];
}

function upstreamSteps(routing: Routing, daemon?: StatusDocument): UpstreamStep[] {
  const health = healthOf(daemon);
  return badLast(routing.upstreams.map((u) => step(u.display, health)));
}

/**
 * The hops of a PAC answer as the daemon builds them (src/pac/plan.ts): an entry that
 * names a configured upstream is that upstream, with its credentials and health.
 */
function pacSteps(answer: string, routing: Routing, daemon?: StatusDocument): UpstreamStep[] {
  const health = healthOf(daemon);
  return badLast(
    parsePacAnswer(answer).entries.map((e) => {
      if (e.kind === 'direct') return { url: 'DIRECT' };
      const configured = routing.upstreams.find(
        (u) => u.protocol === e.protocol && u.id.toLowerCase() === entryId(e),
      );
      return configured
        ? step(configured.display, health)
        : { url: `${e.protocol}//${entryId(e)}` };
    }),
  );
}

type Base = Omit<CorproxyRoute, 'kind' | 'rule' | 'upstreams'>;

/** The PAC side of the decision: its answer, else what the daemon does without one. */
function pacRoute(input: RouteInput, routing: Routing, base: Base): CorproxyRoute {
  const { daemon, pacAnswer } = input;
  if (pacAnswer !== undefined) {
    const parsed = parsePacAnswer(pacAnswer);
    const pac = { answer: pacAnswer, skipped: parsed.skipped };
    const upstreams = pacSteps(pacAnswer, routing, daemon);
    return { ...base, kind: 'upstream', rule: `pac: ${formatPacAnswer(parsed)}`, pac, upstreams };
  }
  const pac = { skipped: [] };
  const why = 'the PAC script gave no answer (not loadable, or it failed)';
  if (routing.upstreams.length > 0) {
    const upstreams = upstreamSteps(routing, daemon);
    return { ...base, kind: 'upstream', rule: `upstream list (${why})`, pac, upstreams };
  }
  if (routing.fallback === 'direct') {
    return { ...base, kind: 'direct', rule: `fallback: direct (${why})`, pac, upstreams: [] };
  }
  return { ...base, kind: 'upstream', rule: `no route: ${why}`, pac, upstreams: [] };
}

/** corproxy's decision, as the daemon's router makes it. */
export function corproxyRoute(input: RouteInput): CorproxyRoute {
  const { target, config, daemon } = input;
  const routing = routingOf(config, daemon);
  const mode = target.scheme === 'https' ? 'tunnel' : 'forward';
  const base = { mode, fallback: routing.fallback, healthKnown: daemon !== undefined } as const;
  if (isCorproxyAddress(target.host, target.port, corproxyEndpoints(config, daemon))) {
    return { ...base, kind: 'loop', rule: 'the target is corproxy itself', upstreams: [] };
  }
  const routes = compileRoutes({
    direct: routing.direct,
    directModules: routing.directModules,
    hasUpstreams: routing.upstreams.length > 0,
    hasPac: routing.hasPac,
  });
  const decision = decideRoute({ host: target.host, port: target.port }, routes);
  if (decision.kind === 'upstream' && routing.hasPac) return pacRoute(input, routing, base);
  const upstreams = decision.kind === 'upstream' ? upstreamSteps(routing, daemon) : [];
  return { ...base, kind: decision.kind, rule: decision.rule, upstreams };
}
