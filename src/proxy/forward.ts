/**
 * Plain-HTTP forwarding of absolute-URI requests (RFC 9112 §3.2.2): hop-by-hop fields
 * removed (RFC 9110 §7.6.1), Via added (RFC 9110 §7.6.3, also our loop guard), sent
 * direct or to an upstream proxy with that upstream's credentials, over kept-alive
 * connections.
 */
import http from 'node:http';
import https from 'node:https';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError, toHttpReply } from '../errors.js';
import type { RouteDecision } from '../events.js';
import { decideRoute } from '../route/router.js';
import { dialError } from './dial.js';
import {
  formatAuthority,
  parseAbsoluteTarget,
  stripHopByHop,
  type AbsoluteTarget,
} from './http1.js';
import { clientLabel, finishRecord, type RecordEnd, type RecordStart } from './record.js';
import type { ServerState } from './state.js';
import { isFailoverError, proxyAuthorization } from './upstream.js';

function hostLiteral(t: AbsoluteTarget): string {
  return t.host.includes(':') ? `[${t.host}]` : t.host;
}

type Hop =
  { readonly kind: 'direct' } | { readonly kind: 'upstream'; readonly proxy: UpstreamProxy };

/** Kept-alive connection pools, one per next hop. */
export class ForwardAgents {
  private readonly agents = new Map<string, http.Agent>();

  get(hop: Hop): http.Agent {
    const key = hop.kind === 'direct' ? 'direct' : hop.proxy.id;
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

function outgoingHeaders(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  hop: Hop,
): Array<[string, string]> {
  // RFC 9112 §3.2.2: Host is replaced by the authority of the absolute-form target.
  const headers = stripHopByHop(req.rawHeaders).filter(([name]) => name.toLowerCase() !== 'host');
  headers.unshift(['Host', target.port === 80 ? hostLiteral(target) : formatAuthority(target)]);
  const via = req.headers.via;
  headers.push(['Via', `${via ? `${via}, ` : ''}1.1 ${state.instanceToken}`]);
  if (hop.kind === 'upstream') {
    const auth = proxyAuthorization(hop.proxy);
    if (auth !== undefined) headers.push(['Proxy-Authorization', auth]);
  }
  return headers;
}

function send(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  hop: Hop,
  agents: ForwardAgents,
): Promise<http.IncomingMessage> {
  const { limits, hosts } = state.config;
  const via = hop.kind === 'upstream' ? hop.proxy : target;
  const options: https.RequestOptions = {
    host: hosts[via.host] ?? via.host,
    port: via.port,
    method: req.method,
    path: hop.kind === 'upstream' ? `http://${formatAuthority(target)}${target.path}` : target.path,
    headers: outgoingHeaders(state, req, target, hop).flat() as unknown as http.OutgoingHttpHeaders,
    agent: agents.get(hop),
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

async function fetchVia(
  state: ServerState,
  req: http.IncomingMessage,
  target: AbsoluteTarget,
  decision: RouteDecision,
  agents: ForwardAgents,
): Promise<{ res: http.IncomingMessage; hop: Hop }> {
  const { config, badProxies } = state;
  if (decision.kind === 'direct' || config.upstreams.length === 0) {
    return {
      res: await send(state, req, target, { kind: 'direct' }, agents),
      hop: { kind: 'direct' },
    };
  }
  let last: unknown;
  for (const proxy of badProxies.order(config.upstreams)) {
    try {
      const hop: Hop = { kind: 'upstream', proxy };
      const res = await send(state, req, target, hop, agents);
      badProxies.markGood(proxy.id);
      return { res, hop };
    } catch (err) {
      // A body already sent cannot be replayed to the next upstream.
      if (
        !isFailoverError(err) ||
        (req.readableEnded === false && Number(req.headers['content-length'] ?? 0) > 0)
      )
        throw err;
      badProxies.markBad(proxy.id, (err as CorproxyError).message);
      last = err;
    }
  }
  if (config.fallback === 'direct') {
    return {
      res: await send(state, req, target, { kind: 'direct' }, agents),
      hop: { kind: 'direct' },
    };
  }
  throw last;
}

function check407(res: http.IncomingMessage, hop: Hop): void {
  if (hop.kind !== 'upstream' || res.statusCode !== 407) return;
  res.resume();
  const schemes = String(res.headers['proxy-authenticate'] ?? '')
    .split(',')
    .map((s) => s.trim().split(' ')[0])
    .filter(Boolean);
  const what =
    hop.proxy.username === undefined
      ? 'requires authentication'
      : `rejected the credentials of user "${hop.proxy.username}"`;
  throw new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    `upstream ${hop.proxy.id} ${what} (407; offers ${schemes.join(', ') || 'no scheme'})`,
  );
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
    // Attached in the same tick as the pipe in send(), so no body byte is missed.
    req.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
    });
    const { res: upstreamRes, hop } = await fetchVia(state, req, target, decision, agents);
    check407(upstreamRes, hop);
    end = { ...(await relayResponse(state, upstreamRes, res, decision, hop)), bytesUp };
  } catch (err) {
    end = replyError(res, decision, err);
  }
  finishRecord(state, start, end);
}

async function relayResponse(
  state: ServerState,
  from: http.IncomingMessage,
  to: http.ServerResponse,
  decision: RouteDecision,
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
    rule:
      hop.kind === 'direct' && decision.kind === 'upstream'
        ? 'fallback: direct (every upstream failed)'
        : decision.rule,
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
