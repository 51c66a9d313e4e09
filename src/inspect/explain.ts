/**
 * `corproxy explain`: corproxy's route for one target and the rule behind it, next to
 * what Go and curl would do with the same URL under the current environment, and why
 * they differ. Pure: the config, environment, daemon status and PAC answer are parameters.
 */
import type { Config } from '../config/types.js';
import { curlProxyFor } from './curl-proxy-env.js';
import { corproxyEndpoints, isCorproxyAddress, type Endpoint } from './endpoint.js';
import { explainDifferences } from './explain-notes.js';
import { corproxyRoute, type CorproxyRoute } from './explain-route.js';
import type { ExplainTarget } from './explain-target.js';
import { goProxyFor } from './go-proxy-env.js';
import type { Env, ProxyAnswer } from './proxy-answer.js';
import type { StatusDocument } from './status-document.js';

export type { CorproxyRoute, PacResult, UpstreamStep } from './explain-route.js';
export { isCorproxyAddress } from './endpoint.js';

export interface ToolAnswer extends ProxyAnswer {
  /** The proxy it uses is corproxy itself. */
  readonly viaCorproxy: boolean;
}

export interface Explanation {
  readonly target: ExplainTarget;
  readonly corproxy: CorproxyRoute;
  readonly go: ToolAnswer;
  readonly curl: ToolAnswer;
  /** curl ends up somewhere else than Go. */
  readonly curlDiffers: boolean;
  /** Why curl differs, and where Go bypasses corproxy. */
  readonly notes: readonly string[];
}

export interface ExplainInput {
  readonly target: ExplainTarget;
  readonly config: Config;
  readonly env: Env;
  /** The running daemon's status, when it answered. */
  readonly daemon?: StatusDocument;
  /** The PAC script's answer for the target (asked by the caller when `pac` is set). */
  readonly pacAnswer?: string;
}

/** The key `scheme://host:port` of a proxy answer, split back into host and port. */
function keyEndpoint(key: string | undefined): { host: string; port: number } | undefined {
  const m = key === undefined ? null : /^[a-z0-9+.-]+:\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(key);
  return m ? { host: m[1] as string, port: Number(m[2]) } : undefined;
}

function withCorproxy(a: ProxyAnswer, own: readonly Endpoint[]): ToolAnswer {
  const e = keyEndpoint(a.proxyKey);
  return {
    ...a,
    viaCorproxy: a.proxied && e !== undefined && isCorproxyAddress(e.host, e.port, own),
  };
}

/** The whole explanation. */
export function explain(input: ExplainInput): Explanation {
  const own = corproxyEndpoints(input.config, input.daemon);
  const corproxy = corproxyRoute(input);
  const go = withCorproxy(goProxyFor(input.target, input.env), own);
  const curl = withCorproxy(curlProxyFor(input.target, input.env), own);
  const curlDiffers =
    go.proxied !== curl.proxied ||
    go.fails !== curl.fails ||
    (go.proxied && curl.proxied && go.proxyKey !== curl.proxyKey);
  const notes = explainDifferences({ target: input.target, corproxy, go, curl, curlDiffers, own });
  return { target: input.target, corproxy, go, curl, curlDiffers, notes };
}
