/**
 * Plain-HTTP forwarding of absolute-URI requests (RFC 9112 §3.2.2): hop-by-hop fields
 * removed (RFC 9110 §7.6.1), Via added (RFC 9110 §7.6.3, also our loop guard), sent
 * direct or to an upstream proxy with that upstream's credentials, over kept-alive
 * connections. The hops to try come from the same plan as CONNECT (src/pac/plan.ts).
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { CorproxyError, toHttpReply } from '../errors.js';
import type { RouteDecision } from '../events.js';
import { FALLBACK_RULE, planRoute, type RoutePlan } from '../pac/plan.js';
import { decideRoute } from '../route/router.js';
import { sendThroughUpstream, type ForwardAuth } from '../auth/forward-auth.js';
import { dialError, dialProxy } from './dial.js';
import {
  formatAuthority,
  parseAbsoluteTarget,
  stripHopByHop,
  type AbsoluteTarget,
} from './http1.js';
import {
  forwardHeaders,
  hostHeader,
  upstreamAnswered,
  upstreamFailed,
  type Hop,
} from './forward-common.js';
import { planContext } from './open-remote.js';
import { clientLabel, finishRecord, type RecordEnd, type RecordStart } from './record.js';
import type { ServerState } from './state.js';

/** Kept-alive connection pools, one per next hop. */
export class ForwardAgents {
  private readonly agents = new Map<string, http.Agent>();
  private epoch = 0;

  /**
   * A new network (epoch) makes every idle pooled connection suspect (alpaca#165): they
   * are closed, and requests in flight finish on theirs.
   */
  forEpoch(epoch: number): this {
    if (epoch === this.epoch) return this;
    this.epoch = epoch;
    for (const agent of this.agents.values()) {
      for (const idle of Object.values(agent.freeSockets)) for (const s of idle ?? []) s.destroy();
    }
    return this;
  }

  get(hop: Hop): http.Agent {
    const key = hop.kind === 'direct' ? 'direct' : `${hop.proxy.protocol}//${hop.proxy.id}`;
    let agent = this.agents.get(key);
    if (agent === undefined) {
      const opts = { keepAlive: true, scheduling: 'lifo' as const };
      agent =
        hop.kind === 'upstream' && hop.proxy.protocol === 'https:'
          ? new https.Agent(opts)
          : new http.Agent(opts);
      this.agents.set(key, agent);
    }
    return agent;
  }

  destroy(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

type OutHeaders = http.OutgoingHttpHeaders;

function outgoingHeaders(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  hop: Hop,
  auth: ForwardAuth | undefined,
): Array<[string, string]> {
  const headers = forwardHeaders(state, req.rawHeaders, target);
  // Only the credentials of this hop's upstream, only as src/auth decided.
  if (hop.kind === 'upstream' && auth?.authorization !== undefined) {
    headers.push(['Proxy-Authorization', auth.authorization]);
  }
  return headers;
}

function send(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  hop: Hop,
  agents: ForwardAgents,
  auth?: ForwardAuth,
): Promise<http.IncomingMessage> {
  const { limits, hosts } = state.config;
  const via = hop.kind === 'upstream' ? hop.proxy : target;
  const options: https.RequestOptions = {
    host: hosts[via.host] ?? via.host,
    port: via.port,
    method: req.method,
    path: hop.kind === 'upstream' ? `http://${formatAuthority(target)}${target.path}` : target.path,
    headers: outgoingHeaders(state, req, target, hop, auth).flat() as unknown as OutHeaders,
    // NTLM authenticated one connection for this request: use it, outside the pool.
    ...(auth?.kind === 'dedicated'
      ? { agent: undefined, createConnection: () => auth.socket }
      : { agent: agents.get(hop) }),
    setHost: false,
    ...(hop.kind === 'upstream' && hop.proxy.protocol === 'https:'
      ? { servername: hop.proxy.host }
      : {}),
    ...(state.dialDeps.lookup ? { lookup: state.dialDeps.lookup } : {}),
  };
  const side = hop.kind === 'upstream' ? 'upstream' : 'target';
  const who = hop.kind === 'upstream' ? hop.proxy.id : formatAuthority(target);
  return new Promise((resolve, reject) => {
    const out = (hop.kind === 'upstream' && hop.proxy.protocol === 'https:' ? https : http).request(
      options,
    );
    const timer = setTimeout(() => {
      out.destroy(
        new CorproxyError(
          side === 'target' ? 'CPX_ERR_TARGET_TIMEOUT' : 'CPX_ERR_UPSTREAM_TIMEOUT',
          `${side === 'upstream' ? 'upstream ' : ''}${who}: no response within ${limits.idleTimeoutMs} ms`,
        ),
      );
    }, limits.idleTimeoutMs);
    out.once('response', (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    out.once('error', (err) => {
      clearTimeout(timer);
      reject(dialError(err, side, who));
    });
    req.pipe(out);
  });
}

/** Sends to `hop`; through an upstream, with the authentication it asks for (src/auth). */
function sendVia(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  hop: Hop,
  agents: ForwardAgents,
): Promise<http.IncomingMessage> {
  if (hop.kind === 'direct') return send(state, req, target, hop, agents);
  const { proxy } = hop;
  const { limits, hosts } = state.config;
  const open = (): Promise<net.Socket> => dialProxy(proxy, { ...limits, hosts }, state.dialDeps);
  // A request without a body can be sent again after a 407.
  const replayable =
    req.headers['transfer-encoding'] === undefined &&
    Number(req.headers['content-length'] ?? 0) === 0;
  const host = hostHeader(target);
  return sendThroughUpstream(
    proxy,
    `http://${formatAuthority(target)}${target.path}`,
    host,
    (auth) => send(state, req, target, hop, agents, auth),
    replayable,
    {
      open,
      reader: { timeoutMs: limits.connectTimeoutMs, maxHeaderSize: limits.maxHeaderSize },
    },
  );
}

function pacUrl(target: AbsoluteTarget): string {
  return `http://${hostHeader(target)}${target.path}`;
}

async function fetchVia(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  plan: RoutePlan,
  agents: ForwardAgents,
): Promise<{ res: http.IncomingMessage; hop: Hop; rule: string }> {
  const { badProxies } = planContext(state);
  const epoch = state.network.epoch;
  let last: unknown;
  let proxiesLeft = plan.hops.filter((h) => h.kind === 'upstream').length;
  for (const [i, step] of plan.hops.entries()) {
    const hop: Hop =
      step.kind === 'direct' ? { kind: 'direct' } : { kind: 'upstream', proxy: step.proxy };
    const more = i < plan.hops.length - 1 || plan.fallbackDirect;
    try {
      const res = await sendVia(state, req, target, hop, agents);
      if (hop.kind === 'upstream') upstreamAnswered(state, badProxies, hop.proxy);
      return { res, hop, rule: plan.rule };
    } catch (err) {
      // A body already sent cannot be replayed to the next hop.
      const replayable = !(
        req.readableEnded === false && Number(req.headers['content-length'] ?? 0) > 0
      );
      if (hop.kind === 'direct') {
        if (!more || !replayable) throw err;
        last = err;
        continue;
      }
      const lastProxy = proxiesLeft === 1;
      if (!upstreamFailed(state, badProxies, epoch, hop.proxy, err, replayable, lastProxy)) {
        throw err;
      }
      proxiesLeft -= 1;
      last = err;
    }
  }
  if (plan.fallbackDirect) {
    return {
      res: await send(state, req, target, { kind: 'direct' }, agents),
      hop: { kind: 'direct' },
      rule: FALLBACK_RULE,
    };
  }
  throw last;
}

export async function handleForward(
  state: ServerState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  agents: ForwardAgents,
): Promise<void> {
  const start: RecordStart = {
    id: state.nextId(),
    startedAt: state.clock(),
    client: clientLabel(req.socket.remoteAddress, req.socket.remotePort),
    method: req.method ?? '-',
    target: req.url ?? '',
  };
  let decision: RouteDecision = { kind: 'direct', rule: '-' };
  let end: RecordEnd;
  let bytesUp = 0;
  try {
    const target = parseAbsoluteTarget(req.url ?? '');
    if ((req.headers.via ?? '').includes(state.instanceToken) || state.isSelf(target)) {
      throw new CorproxyError(
        'CPX_ERR_LOOP',
        `request for ${formatAuthority(target)} came back to corproxy`,
      );
    }
    decision = decideRoute(target, state.routes);
    // Planning may wait for the PAC script: hold the body until a hop is chosen.
    req.pause();
    const plan = await planRoute(target, pacUrl(target), decision, planContext(state));
    decision = { kind: decision.kind, rule: plan.rule };
    // Attached in the same tick as the pipe in send(), so no body byte is missed.
    req.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
    });
    const sent = await fetchVia(state, req, target, plan, agents.forEpoch(state.network.epoch));
    end = { ...(await relayResponse(state, sent.res, res, sent.rule, sent.hop)), bytesUp };
  } catch (err) {
    end = replyError(res, decision, err);
  }
  finishRecord(state, start, end);
}

async function relayResponse(
  state: ServerState,
  from: http.IncomingMessage,
  to: http.ServerResponse,
  rule: string,
  hop: Hop,
): Promise<RecordEnd> {
  const headers = stripHopByHop(from.rawHeaders);
  headers.push(['Via', `1.1 ${state.instanceToken}`]);
  to.writeHead(from.statusCode ?? 502, from.statusMessage, headers.flat());
  let bytesDown = 0;
  from.on('data', (chunk: Buffer) => {
    bytesDown += chunk.length;
  });
  from.pipe(to);
  const outcome = await new Promise<'ok' | 'client-closed'>((resolve) => {
    to.once('finish', () => resolve('ok'));
    to.once('close', () => resolve(to.writableFinished ? 'ok' : 'client-closed'));
    from.once('error', () => {
      to.destroy();
      resolve('client-closed');
    });
  });
  if (outcome !== 'ok') from.destroy();
  return {
    route: hop.kind,
    rule,
    ...(hop.kind === 'upstream' ? { upstream: hop.proxy.display } : {}),
    status: from.statusCode ?? 0,
    outcome,
    bytesDown,
  };
}

function replyError(res: http.ServerResponse, decision: RouteDecision, err: unknown): RecordEnd {
  const reply = toHttpReply(err);
  if (!res.headersSent) {
    res.writeHead(reply.status, reply.reason, {
      ...reply.headers,
      'Content-Length': Buffer.byteLength(reply.body),
    });
    res.end(reply.body);
  } else {
    res.destroy();
  }
  return {
    route: decision.kind,
    rule: decision.rule,
    status: reply.status,
    outcome: 'error',
    error: err,
  };
}
