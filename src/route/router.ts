/**
 * The route decision for one connection: direct or through the upstream list, with the
 * rule that decided it (logged per connection, shown by `corproxy explain`). Everything is
 * compiled once per config; decideRoute only walks the compiled rules.
 */
import { CorproxyError, isCorproxyError } from '../errors.js';
import type { RouteDecision } from '../events.js';
import { compileModuleGlob } from './module-glob.js';
import { compileNoProxyPattern, type DirectRule } from './no-proxy.js';

/** Where a connection goes; host without IPv6 brackets. */
export interface Target {
  readonly host: string;
  readonly port: number;
}

/** Compiled routing rules, in decision order. */
export interface Routes {
  readonly rules: readonly DirectRule[];
  readonly hasUpstreams: boolean;
  /** A PAC script decides the targets no direct rule matched (src/pac/plan.ts). */
  readonly hasPac?: boolean;
}

export interface RoutesInput {
  /** NO_PROXY-syntax patterns (config key `direct`). */
  readonly direct: readonly string[];
  /** GOPRIVATE/GONOPROXY module globs (config key `directModules`). */
  readonly directModules: readonly string[];
  readonly hasUpstreams: boolean;
  readonly hasPac?: boolean;
}

const VIA_PAC: RouteDecision = Object.freeze({ kind: 'upstream', rule: 'pac' });
const VIA_UPSTREAM: RouteDecision = Object.freeze({
  kind: 'upstream',
  rule: 'default: upstream list',
});
const NO_UPSTREAM: RouteDecision = Object.freeze({
  kind: 'direct',
  rule: 'default: no upstream configured',
});

/** Compiles each entry, naming `key[index]` in the error so config can prefix its path. */
function compileAll(
  key: string,
  entries: readonly string[],
  compile: (entry: string) => DirectRule,
): DirectRule[] {
  return entries.map((entry, index) => {
    try {
      return compile(entry);
    } catch (err) {
      if (!isCorproxyError(err)) throw err;
      throw new CorproxyError(err.code, `${key}[${index}]: ${err.message}`, {
        cause: err,
        details: { key, index, pattern: entry },
      });
    }
  });
}

/** Compiles the routing config once: direct patterns first, then module globs. */
export function compileRoutes(input: RoutesInput): Routes {
  const rules = [
    ...compileAll('direct', input.direct, compileNoProxyPattern),
    ...compileAll('directModules', input.directModules, compileModuleGlob),
  ];
  return Object.freeze({
    rules: Object.freeze(rules),
    hasUpstreams: input.hasUpstreams,
    hasPac: input.hasPac ?? false,
  });
}

/**
 * First matching rule sends the target direct; otherwise the PAC script (whose answer the
 * caller computes: `rule: 'pac'`), else the upstream list, if any (DESIGN §5).
 */
export function decideRoute(target: Target, routes: Routes): RouteDecision {
  for (const rule of routes.rules) {
    if (rule.matches(target.host, target.port)) return { kind: 'direct', rule: rule.rule };
  }
  if (routes.hasPac === true) return VIA_PAC;
  return routes.hasUpstreams ? VIA_UPSTREAM : NO_UPSTREAM;
}
