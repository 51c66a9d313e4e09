/**
 * Layers 6 and 7 in this process: the TLS probe of each https host over corproxy's route,
 * and the GETs of the module proxy protocol. A GET goes where go's request would go:
 * loopback hosts (corproxy's mirror) directly, everything else over corproxy's route for
 * that host; TLS is verified against the roots Go would use, so a missing corporate CA
 * fails here exactly as it fails for go.
 */
import type net from 'node:net';
import { isCorproxyError } from '../errors.js';
import { fetchUrl } from '../mirror/fetch.js';
import { dial } from '../proxy/dial.js';
import { openRemote, type RemoteContext } from '../proxy/open-remote.js';
import { decideRoute } from '../route/router.js';
import { goNeverProxies } from '../route/no-proxy.js';
import { toPem } from '../tls/chain.js';
import {
  probeOverRoute,
  routeOpener,
  type PublicRoots,
  type RouteContext,
} from '../tls/route-probe.js';
import { VERSION } from '../version.js';
import type { ApprovedCa } from './env-certs.js';
import type { GoRoots } from './go-roots.js';
import { moduleChecks, sumdbCheck, type Fetched, type Get } from './layer-module.js';
import { tlsCheck, tlsSkipped } from './layer-tls.js';
import type { GoSettings, ProxyList, SumdbSetting } from './go-settings.js';
import { block, soften, type Blocked } from './network.js';
import { goContacts, hostLabel, urlTarget, type GoHost } from './targets.js';
import { check, type Check } from './types.js';

/** The routing state doctor walks: a ServerState built from the configuration. */
export type DoctorRouteContext = RouteContext & RemoteContext;

export interface TlsLayerDeps {
  readonly ctx: DoctorRouteContext;
  readonly roots: GoRoots;
  /** What corproxy's mirror verifies its upstreams with. */
  readonly mirrorRoots: GoRoots;
  readonly publicRoots: PublicRoots;
  readonly approved: readonly ApprovedCa[];
  readonly bundle: { readonly path: string; readonly present: boolean };
  readonly probe?: typeof probeOverRoute;
}

/** Layer 6 for every https host go contacts through corproxy. */
export async function tlsLayer(
  hosts: readonly GoHost[],
  deps: TlsLayerDeps,
  blocked: Blocked,
): Promise<Check[]> {
  const https = hosts.filter((h) => !h.loopback && h.scheme === 'https');
  if (https.length === 0)
    return [check('tls', 'TLS', 'skip', 'go contacts no https host through corproxy')];
  const probe = deps.probe ?? probeOverRoute;
  const rows: Check[] = [];
  for (const h of https) {
    const label = hostLabel(h);
    const why = blocked.get(label);
    if (why !== undefined) {
      rows.push(tlsSkipped(label, why));
      continue;
    }
    const routed = await probe({
      target: h.target,
      opener: routeOpener(deps.ctx, h.target),
      roots: deps.publicRoots,
      timeoutMs: deps.ctx.config.probe.timeoutMs,
    });
    const forGo = goContacts(h);
    const row = tlsCheck({
      label,
      whose: forGo ? 'Go' : 'the mirror',
      probe: routed,
      roots: forGo ? deps.roots : deps.mirrorRoots,
      approved: deps.approved,
      bundle: deps.bundle,
    });
    if (row.status === 'fail' && h.optional === undefined) block(blocked, label, 'tls', 'TLS');
    rows.push(soften(row, h));
  }
  return rows;
}

export interface GetDeps {
  readonly ctx: DoctorRouteContext;
  readonly roots: GoRoots;
  readonly blocked: Blocked;
  readonly timeoutMs: number;
  readonly now: () => number;
  readonly fetch?: typeof fetchUrl;
}

/** A byte stream to host:port the way go's request would travel. */
async function openStream(
  ctx: DoctorRouteContext,
  host: string,
  port: number,
): Promise<net.Socket> {
  const { limits } = ctx.config;
  if (goNeverProxies(host)) {
    const opts = {
      host,
      port,
      timeoutMs: limits.connectTimeoutMs,
      keepAliveMs: limits.keepAliveMs,
      hosts: {},
      side: 'target' as const,
    };
    return dial(opts, ctx.dialDeps);
  }
  const target = { host, port };
  const remote = await openRemote(target, decideRoute(target, ctx.routes), ctx);
  if (remote.rest.length > 0) remote.socket.unshift(remote.rest);
  return remote.socket;
}

/** The GET layer 7 uses: skipped for blocked hosts, never throws. */
export function makeGet(deps: GetDeps): Get {
  const ca = deps.roots.certs.map(toPem);
  const fetch = deps.fetch ?? fetchUrl;
  const limits = { timeoutMs: deps.timeoutMs, maxBytes: 1 << 20 };
  const fetchDeps = {
    openStream: (host: string, port: number) => openStream(deps.ctx, host, port),
    ca: () => Promise.resolve(ca),
    userAgent: `corproxy-doctor/${VERSION}`,
  };
  return async (url: string): Promise<Fetched> => {
    const found = urlTarget(url);
    const why = found ? deps.blocked.get(hostLabel(found)) : undefined;
    if (why !== undefined) return { skipped: why };
    const started = deps.now();
    try {
      const res = await fetch(url, limits, fetchDeps);
      return { status: res.status, body: res.body.toString('utf8'), ms: deps.now() - started };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return {
        error: message,
        ms: deps.now() - started,
        ...(isCorproxyError(err) && { code: err.code }),
      };
    }
  };
}

/** A URL named on the command line: 200 passes, 404/410 warns, anything else fails. */
async function urlCheck(url: string, get: Get): Promise<Check> {
  const name = `GET ${url}`;
  const r = await get(url);
  if ('skipped' in r) return check('goproxy', name, 'skip', r.skipped);
  if ('error' in r)
    return check('goproxy', name, 'fail', r.error, {
      fix: 'earlier layers name the hop that fails',
      ...(r.code && { code: r.code }),
    });
  const evidence = [`${r.status} after ${r.ms} ms, ${r.body.length} bytes`];
  if (r.status >= 200 && r.status < 300)
    return check('goproxy', name, 'pass', `${r.status}`, { evidence });
  if (r.status === 404 || r.status === 410)
    return check('goproxy', name, 'warn', `${r.status}: not found`, {
      evidence,
      fix: 'check the URL',
    });
  return check('goproxy', name, 'fail', `${r.status}`, {
    evidence,
    fix: 'the server answers with an error',
  });
}

export interface ModuleLayerInput {
  readonly modules: readonly string[];
  readonly urls: readonly string[];
  readonly settings: GoSettings;
  readonly list: ProxyList;
  readonly sumdb: SumdbSetting;
}

/** Layer 7: each module's list, @latest and checksum database, then the URLs. */
export async function moduleLayer(input: ModuleLayerInput, get: Get): Promise<Check[]> {
  const rows: Check[] = [];
  for (const m of input.modules) {
    const found = await moduleChecks(m, input.settings, input.list, get);
    rows.push(
      ...found.checks,
      await sumdbCheck(m, found.version, input.settings, input.sumdb, input.list, get),
    );
  }
  for (const u of input.urls) rows.push(await urlCheck(u, get));
  return rows;
}
