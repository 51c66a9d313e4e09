/**
 * The plain-HTTP fast path: a bodiless HTTP/1.1 absolute-URI request whose route is known
 * without waiting (direct, or one plain http:// upstream that asks for no credentials) is
 * carried on raw sockets (fast-exchange.ts) over pooled connections (fast-pool.ts),
 * instead of Node's http.Server and http.request, which cost about ten times a raw relay
 * (bench/README.md, W5). Everything else (bodies, HTTP/1.0, Expect, Upgrade, loops, PAC,
 * several or authenticating or TLS upstreams, fallback) is left to the slow path
 * (forward.ts), which keeps its exact behaviour; so is a request an upstream answers with
 * 407, before the client has seen anything.
 */
import type net from 'node:net';
import type { UpstreamProxy } from '../config/types.js';
import { sharedSchemes } from '../auth/scheme-cache.js';
import { decideRoute } from '../route/router.js';
import { startExchange } from './fast-exchange.js';
import { attachClient, detachClient, type ClientEvents } from './fast-sockets.js';
import type { FastRoute } from './fast-route.js';
import type { FastPool } from './fast-pool.js';
import { KEEP_ALIVE_TIMEOUT_MS, readNextHead, type FrontContext } from './front.js';
import { parseAbsoluteTarget, type AbsoluteTarget } from './http1.js';
import { requestFraming, scanRequestHead, type RequestHead } from './request-head.js';
import type { ServerState } from './state.js';

/**
 * Whether an upstream is one the fast path may use: plain http://, nothing configured to
 * authenticate with (no user, password or auth settings: the slow path would send or
 * look up credentials, and a 407 handed over would cost it a second bare request), and
 * no scheme remembered for it other than 'none' (src/auth/scheme-cache.ts).
 */
function asksNothing(proxy: UpstreamProxy): boolean {
  if (proxy.protocol !== 'http:') return false;
  if (proxy.username !== undefined || proxy.password !== undefined || proxy.auth !== undefined) {
    return false;
  }
  const cached = sharedSchemes.get(proxy.id);
  return cached === undefined || cached === 'none';
}

/**
 * The header facts the fast path needs: exactly one Host (Node's server answers 400
 * otherwise), no Upgrade or Expect, and no Via naming this corproxy (a loop, 508).
 */
function plainHeaders(state: ServerState, raw: readonly string[]): boolean {
  let hosts = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name === 'host') hosts += 1;
    else if (name === 'upgrade' || name === 'expect') return false;
    else if (name === 'via' && raw[i + 1]!.includes(state.instanceToken)) return false;
  }
  return hosts === 1;
}

function targetOf(head: RequestHead): AbsoluteTarget | undefined {
  try {
    return parseAbsoluteTarget(head.target);
  } catch {
    return undefined;
  }
}

/**
 * The route of a request the fast path can carry, decided as planRoute would but without
 * waiting; undefined for everything the slow path must see.
 */
export function fastRoute(state: ServerState, head: RequestHead): FastRoute | undefined {
  if (head.version !== '1.1') return undefined;
  const framing = requestFraming(head.rawHeaders, head.version);
  if (framing.kind !== 'none' && !(framing.kind === 'length' && framing.length === 0)) {
    return undefined;
  }
  if (!plainHeaders(state, head.rawHeaders)) return undefined;
  const target = targetOf(head);
  const { config } = state;
  // With a PAC script the hops are known only after it answers (src/pac/plan.ts).
  if (target === undefined || state.isSelf(target) || state.pac !== undefined || config.pac) {
    return undefined;
  }
  const decision = decideRoute(target, state.routes);
  if (decision.kind === 'direct' || config.upstreams.length === 0) {
    const address = config.hosts[target.host] ?? target.host;
    return {
      target,
      hop: { kind: 'direct' },
      rule: decision.rule,
      key: `${address} ${target.port}`,
    };
  }
  const proxy = config.upstreams[0]!;
  if (config.upstreams.length !== 1 || config.fallback !== 'none' || !asksNothing(proxy)) {
    return undefined;
  }
  return {
    target,
    hop: { kind: 'upstream', proxy },
    rule: decision.rule,
    key: `proxy ${proxy.id}`,
  };
}

/**
 * Offered each request head the front reads (FrontContext.fastForward): false, without
 * touching the socket, leaves the request to the slow path; true means the exchange owns
 * the connection until it hands it back to the front or closes it.
 */
export function fastForward(
  ctx: FrontContext,
  pool: FastPool,
  socket: net.Socket,
  head: RequestHead,
  buffered: Buffer,
): boolean {
  const route = fastRoute(ctx.state, head);
  if (route === undefined) return false;
  startExchange(ctx, pool, socket, head, buffered, route, afterExchange);
  return true;
}

/**
 * A kept-alive client between two fast-path requests. Its listeners stay attached and
 * the next request, when it arrives whole and the fast path takes it, starts at once:
 * handing the connection back to the front and taking it again cost a listener swap, a
 * head reader and a timer per request (bench/README.md, third round). Anything else
 * goes back to the front with the bytes read, which treats it as it always did.
 */
class NextRequest implements ClientEvents {
  readonly timer: NodeJS.Timeout;

  constructor(
    readonly ctx: FrontContext,
    readonly pool: FastPool,
    readonly client: net.Socket,
  ) {
    // As the front's wait for a next request: silence closes without a reply.
    this.timer = setTimeout(onKeepAliveTimeout, KEEP_ALIVE_TIMEOUT_MS, this);
  }

  clientData(chunk: Buffer): void {
    clearTimeout(this.timer);
    takeNext(this.ctx, this.pool, this.client, chunk);
  }

  clientGone(): void {
    clearTimeout(this.timer);
    detachClient(this.client);
    this.client.destroy();
  }

  clientDrained(): void {}
}

function onKeepAliveTimeout(next: NextRequest): void {
  next.clientGone();
}

function afterExchange(ctx: FrontContext, pool: FastPool, client: net.Socket, rest: Buffer): void {
  if (rest.length === 0) attachClient(client, new NextRequest(ctx, pool, client));
  else takeNext(ctx, pool, client, rest);
}

function takeNext(ctx: FrontContext, pool: FastPool, client: net.Socket, buffered: Buffer): void {
  const scan = scanRequestHead(buffered, ctx.state.config.limits.maxHeaderSize);
  const fast =
    scan.kind === 'complete' &&
    scan.head.method !== 'CONNECT' &&
    fastForward(ctx, pool, client, scan.head, buffered);
  if (fast) return;
  detachClient(client);
  readNextHead(ctx, client, buffered);
}
