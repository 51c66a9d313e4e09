/**
 * What the two plain-HTTP forwarding paths share, so they cannot drift apart: the header
 * fields sent on (forward.ts over Node's http client, fast-forward.ts on raw sockets) and
 * the bad-proxy and network bookkeeping after an upstream hop answered or failed.
 */
import type { UpstreamProxy } from '../config/types.js';
import type { CorproxyError } from '../errors.js';
import type { BadProxyList } from './bad-proxies.js';
import { formatAuthority, stripHopByHop, type AbsoluteTarget } from './http1.js';
import { provesReachable } from './open-remote.js';
import type { ServerState } from './state.js';
import { isFailoverError } from './upstream.js';

/** The next hop of a forwarded request. */
export type Hop =
  { readonly kind: 'direct' } | { readonly kind: 'upstream'; readonly proxy: UpstreamProxy };

/** The Host field for a target: its authority, without the default port (RFC 9112 §3.2.2). */
export function hostHeader(target: AbsoluteTarget): string {
  if (target.port !== 80) return formatAuthority(target);
  return target.host.includes(':') ? `[${target.host}]` : target.host;
}

/**
 * The header fields forwarded for a client request (a Node-style flat raw list):
 * hop-by-hop fields removed, Host replaced by the target's authority and put first, and
 * our Via appended to the client's (RFC 9110 §7.6.3; also the loop guard).
 */
export function forwardHeaders(
  state: ServerState,
  rawHeaders: readonly string[],
  target: AbsoluteTarget,
): Array<[string, string]> {
  // RFC 9112 §3.2.2: Host is replaced by the authority of the absolute-form target.
  const headers = stripHopByHop(rawHeaders).filter(([name]) => name.toLowerCase() !== 'host');
  headers.unshift(['Host', hostHeader(target)]);
  // Repeated Via fields joined as one list, as Node's req.headers.via gives them.
  const prior: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'via') prior.push(rawHeaders[i + 1]!);
  }
  const via = prior.join(', ');
  headers.push(['Via', `${via ? `${via}, ` : ''}1.1 ${state.instanceToken}`]);
  return headers;
}

/** An upstream hop answered: it is good again, and the network is reachable. */
export function upstreamAnswered(
  state: ServerState,
  badProxies: BadProxyList,
  proxy: UpstreamProxy,
): void {
  badProxies.markGood(proxy.id);
  state.network.proxyReachable(proxy);
}

/**
 * The bookkeeping after an upstream hop failed with `err` in an attempt started in
 * `epoch`: true (the proxy marked bad) when the next hop may be tried, false when the
 * error must reach the client as it is. `lastProxy`: no upstream hop is left to try.
 */
export function upstreamFailed(
  state: ServerState,
  badProxies: BadProxyList,
  epoch: number,
  proxy: UpstreamProxy,
  err: unknown,
  replayable: boolean,
  lastProxy: boolean,
): boolean {
  if (provesReachable(err)) state.network.proxyReachable(proxy);
  if (!isFailoverError(err) || !replayable) return false;
  badProxies.markBad(proxy.id, (err as CorproxyError).message);
  state.network.proxyFailed(epoch, proxy, (err as CorproxyError).message);
  if (lastProxy) state.network.attemptFailed(epoch);
  return true;
}
