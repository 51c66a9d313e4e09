/**
 * CONNECT host:port → route → remote → 200 → splice. Every failure becomes a reply
 * from errors.toHttpReply, written on the raw socket (there is no ServerResponse for
 * CONNECT), and one connection record.
 */
import type net from 'node:net';
import { CorproxyError, formatHttpReply, toHttpReply } from '../errors.js';
import type { RouteDecision } from '../events.js';
import { decideRoute } from '../route/router.js';
import { formatAuthority, parseConnectTarget, type Target } from './http1.js';
import { openRemoteThen, type Remote } from './open-remote.js';
import { clientLabel, finishRecord, type RecordStart } from './record.js';
import type { ServerState } from './state.js';
import { spliceThen } from './tunnel.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';

/**
 * The tunnel keeps only what it needs of the request: an idle tunnel holds no request
 * object, and once the tunnel is spliced no suspended function or promise (bench/README.md,
 * W4: together about 2.5 KiB of heap per idle tunnel). The remote is opened with a
 * callback: promise jobs between the head and the 200 were a measurable share of a
 * short tunnel's cost (bench/README.md, seventh round).
 */
export function handleConnect(
  state: ServerState,
  requestTarget: string,
  socket: net.Socket,
  head: Buffer,
): void {
  const start: RecordStart = {
    id: state.nextId(),
    startedAt: state.clock(),
    client: clientLabel(socket.remoteAddress, socket.remotePort),
    method: 'CONNECT',
    target: requestTarget,
  };
  // The client may vanish while the remote is dialled; its error must not go unheard.
  socket.on('error', ignoreError);
  let decision: RouteDecision = { kind: 'direct', rule: '-' };
  try {
    const target = parseConnectTarget(start.target);
    if (state.isSelf(target)) {
      throw new CorproxyError(
        'CPX_ERR_LOOP',
        `CONNECT ${formatAuthority(target)} points at corproxy itself`,
      );
    }
    decision = decideRoute(target, state.routes);
    const chosen = decision;
    openRemoteThen(target, chosen, state, 'tunnel', (err, remote) => {
      socket.off('error', ignoreError);
      if (remote === undefined) {
        refuse(state, start, socket, chosen, err);
        return;
      }
      try {
        relay(state, start, socket, head, target, remote, chosen);
      } catch (relayErr) {
        remote.socket.destroy();
        refuse(state, start, socket, chosen, relayErr);
      }
    });
  } catch (err) {
    socket.off('error', ignoreError);
    refuse(state, start, socket, decision, err);
  }
}

function ignoreError(): void {}

function relay(
  state: ServerState,
  start: RecordStart,
  socket: net.Socket,
  head: Buffer,
  target: Target,
  remote: Remote,
  decision: RouteDecision,
): void {
  const connectMs = state.clock() - start.startedAt;
  const upstream = remote.upstream?.display;
  if (socket.destroyed) {
    remote.socket.destroy();
    finishRecord(state, start, {
      route: remote.route,
      rule: remote.rule,
      upstream,
      status: 0,
      outcome: 'client-closed',
      connectMs,
    });
    return;
  }
  socket.write(ESTABLISHED);
  const hook = state.hooks.onTunnelClientBytes;
  // What the record needs, taken now: the callback below lives as long as the tunnel
  // and should not keep `remote` (and the buffer it carries) alive.
  const { route, rule } = remote;
  const upstreamId = remote.upstream?.id;
  state.metrics.openTunnels += 1;
  spliceThen(
    socket,
    remote.socket,
    {
      clientHead: head,
      remoteHead: remote.rest,
      idleTimeoutMs: state.config.limits.idleTimeoutMs,
      ...(hook ? { onClientBytes: (chunk: Buffer) => hook(target, route, upstreamId, chunk) } : {}),
    },
    (result) => {
      try {
        state.metrics.openTunnels -= 1;
        finishRecord(state, start, {
          route,
          rule,
          upstream,
          status: 200,
          outcome: result.closedBy === 'idle-timeout' ? 'timeout' : 'ok',
          bytesUp: result.bytesUp,
          bytesDown: result.bytesDown,
          connectMs,
          tls: state.hooks.tlsFor?.(target, route, upstreamId),
        });
      } catch (err) {
        // As when the tunnel was awaited inside openAndRelay's try: a failure to record
        // is refused.
        refuse(state, start, socket, decision, err);
      }
    },
  );
}

function refuse(
  state: ServerState,
  start: RecordStart,
  socket: net.Socket,
  decision: RouteDecision,
  err: unknown,
): void {
  const reply = toHttpReply(err);
  if (!socket.destroyed) {
    socket.on('error', () => undefined);
    socket.end(formatHttpReply(reply));
    // A client that keeps sending after the refusal must not hold the socket open.
    socket.setTimeout(5000, () => socket.destroy());
  }
  // Which upstream failed is in the error message; the record names the list tried.
  const tried = decision.kind === 'upstream' ? state.config.upstreams.map((u) => u.display) : [];
  finishRecord(state, start, {
    route: decision.kind,
    rule: decision.rule,
    ...(tried.length > 0 ? { upstream: tried.join(', ') } : {}),
    status: reply.status,
    outcome: socket.destroyed ? 'client-closed' : 'error',
    error: err,
  });
}
