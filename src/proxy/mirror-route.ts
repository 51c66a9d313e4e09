/**
 * Connects the Go module mirror (src/mirror/) to the daemon: upstream fetches go over
 * corproxy's own route (same upstream list, credentials and bad-proxy list), and each
 * `/mod/` request becomes one connection record.
 */
import type http from 'node:http';
import type net from 'node:net';
import { CorproxyError, type ErrorCode, ERROR_CODES } from '../errors.js';
import { createMirror, handleMirror, type Mirror, type MirrorResult } from '../mirror/index.js';
import { decideRoute } from '../route/router.js';
import { openRemote } from './open-remote.js';
import { clientLabel, finishRecord, type RecordStart } from './record.js';
import type { ServerState } from './state.js';

const KNOWN = new Set<string>(ERROR_CODES.map(([code]) => code));

/** The mirror of this daemon, fetching through the route corproxy would use for host:port. */
export function mirrorFor(state: ServerState): Mirror {
  return createMirror(state.config, {
    openStream: async (host: string, port: number): Promise<net.Socket> => {
      const target = { host, port };
      const remote = await openRemote(target, decideRoute(target, state.routes), state);
      if (remote.rest.length > 0) remote.socket.unshift(remote.rest);
      return remote.socket;
    },
    warn: (message, fields) => state.sink.warn(message, fields),
  });
}

function recordError(result: MirrorResult): CorproxyError | undefined {
  if (result.error === undefined) return undefined;
  const code = (KNOWN.has(result.error.code) ? result.error.code : 'CPX_ERR_INTERNAL') as ErrorCode;
  return new CorproxyError(code, result.error.message);
}

/** Logs one mirror request the way every other connection is logged. */
export function recordMirror(state: ServerState, start: RecordStart, result: MirrorResult): void {
  const error = recordError(result);
  finishRecord(state, start, {
    route: 'local',
    rule: result.rule,
    ...(result.upstream !== undefined ? { upstream: result.upstream } : {}),
    status: result.status,
    outcome: result.status >= 500 ? 'error' : 'ok',
    bytesDown: result.bytes,
    ...(error !== undefined ? { error } : {}),
  });
}

export function startRecord(state: ServerState, req: http.IncomingMessage): RecordStart {
  return {
    id: state.nextId(),
    startedAt: state.clock(),
    client: clientLabel(req.socket.remoteAddress, req.socket.remotePort),
    method: req.method ?? '-',
    target: (req.url ?? '/').split('?')[0] ?? '/',
  };
}

export async function serveMirror(
  state: ServerState,
  mirror: Mirror,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const start = startRecord(state, req);
  recordMirror(state, start, await handleMirror(mirror, req, res));
}
