/**
 * Requests to the daemon's own origin (origin-form targets such as `GET /status`):
 * /healthz, /status (JSON), /metrics (Prometheus text) and /proxy.pac (the wrapper PAC
 * for GUI applications). Nothing here proxies, and these requests stay out of the
 * connection log (monitoring polls them constantly).
 */
import type http from 'node:http';
import { lastScheme } from '../auth/scheme-cache.js';
import { renderPrometheus, type Gauge } from '../metrics.js';
import { PAC_CONTENT_TYPE, wrapperPac } from '../pac/wrapper.js';
import type { ServerState } from './state.js';

/** The PAC and network sections of /status. */
function pacSections(state: ServerState): Record<string, unknown> {
  const net = state.network.status();
  return {
    pac: state.pac?.status() ?? null,
    network: {
      state: net.state,
      since: new Date(net.since).toISOString(),
      reason: net.reason,
      epoch: net.epoch,
      probing: net.probing,
      ...(net.lastProbeAt === undefined
        ? {}
        : { lastProbeAt: new Date(net.lastProbeAt).toISOString() }),
    },
  };
}

export function statusDocument(state: ServerState): Record<string, unknown> {
  const { config, metrics } = state;
  return {
    name: 'corproxy',
    version: state.version,
    pid: process.pid,
    startedAt: new Date(state.startedAt).toISOString(),
    uptimeSeconds: Math.round((state.clock() - state.startedAt) / 1000),
    listen: state.listening.map((l) =>
      l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`,
    ),
    upstreams: config.upstreams.map((u) => {
      const bad = state.badProxies.snapshot().find((b) => b.id === u.id);
      const auth = lastScheme(u.id);
      return {
        url: u.display,
        healthy: bad === undefined,
        ...(auth !== undefined ? { auth } : {}),
        ...(bad ? { badUntil: new Date(bad.until).toISOString(), lastError: bad.reason } : {}),
      };
    }),
    fallback: config.fallback,
    ...pacSections(state),
    direct: config.direct,
    directModules: config.directModules,
    openConnections: metrics.openConnections,
    openTunnels: metrics.openTunnels,
    totals: metrics.totals(),
    errors: Object.fromEntries(metrics.errors),
    configSources: config.sources,
    stateDir: config.stateDir,
    logFile: config.log.file,
    ...(state.mirror !== undefined ? { mirror: state.mirror.status() } : {}),
    ...(state.hooks.statusExtras?.() ?? {}),
  };
}

function gauges(state: ServerState): Gauge[] {
  const out: Gauge[] = [
    {
      name: 'corproxy_uptime_seconds',
      help: 'Seconds since the daemon started.',
      value: Math.round((state.clock() - state.startedAt) / 1000),
    },
  ];
  out.push({
    name: 'corproxy_corporate_network_reachable',
    help: '0 while corproxy considers itself off the corporate network (every upstream or the PAC server unreachable).',
    value: state.network.isOff() ? 0 : 1,
  });
  out.push(...(state.mirror?.gauges() ?? []));
  for (const u of state.config.upstreams) {
    out.push({
      name: 'corproxy_upstream_healthy',
      help: '1 when the upstream is not on the bad-proxy list.',
      value: state.badProxies.isBad(u.id) ? 0 : 1,
      labels: { upstream: u.id },
    });
  }
  return out;
}

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

export function handleLocal(
  state: ServerState,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): void {
  const path = (req.url ?? '/').split('?')[0];
  let status = 200;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    status = 405;
    res.setHeader('Allow', 'GET, HEAD');
    reply(
      res,
      status,
      'text/plain; charset=utf-8',
      'corproxy answers only GET and HEAD on its own paths\n',
    );
  } else if (path === '/healthz') {
    reply(res, status, 'text/plain; charset=utf-8', 'ok\n');
  } else if (path === '/status') {
    reply(res, status, 'application/json', `${JSON.stringify(statusDocument(state), null, 2)}\n`);
  } else if (path === '/proxy.pac') {
    // The address this client reached us on is one it can use as its proxy.
    const host = (req.socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    reply(
      res,
      status,
      PAC_CONTENT_TYPE,
      wrapperPac(host, req.socket.localPort ?? 0, state.version),
    );
  } else if (path === '/metrics') {
    reply(
      res,
      status,
      'text/plain; version=0.0.4; charset=utf-8',
      renderPrometheus(state.metrics, gauges(state)),
    );
  } else {
    status = 404;
    reply(
      res,
      status,
      'text/plain; charset=utf-8',
      'corproxy is a proxy: send CONNECT host:port or absolute-URI requests.\nLocal paths: /healthz /status /metrics /proxy.pac\n',
    );
  }
}
