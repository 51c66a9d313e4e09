/**
 * Probing over the route corproxy itself would use (DESIGN.md §6): the same decision as a
 * CONNECT, the same upstream with its credentials, the SNI of the client, public roots
 * passed explicitly. Shared by the daemon (daemon-probe.ts), `corproxy detect` and
 * `corproxy trust`, so all three see the same thing. Also fetches AIA issuers over that
 * route for `trust` (a candidate only, never trusted for having been downloaded).
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { rootCertificates } from 'node:tls';
import type { Config, UpstreamProxy } from '../config/types.js';
import type { RouteDecision } from '../events.js';
import { BadProxyList } from '../proxy/bad-proxies.js';
import { dialProxy, type DialDeps } from '../proxy/dial.js';
import { dialDirect, openRemote, type Remote } from '../proxy/open-remote.js';
import { proxyAuthorization } from '../proxy/upstream.js';
import { decideRoute, type Routes, type Target } from '../route/router.js';
import { parsePem } from './chain.js';
import { classify, type Classification } from './classify.js';
import { probeTls, type ProbeResult } from './probe.js';
import type { SourcedCert } from './trust-flow.js';
import type { VendorEntry } from './vendors.js';

/** Roots a probe verifies against: Mozilla's (from Node) plus probe.extraPublicRoots. */
export interface PublicRoots {
  /** PEMs handed to the TLS handshake. */
  readonly pems: readonly string[];
  readonly mozilla: readonly X509Certificate[];
  readonly extra: readonly X509Certificate[];
}

let mozillaX509: X509Certificate[] | undefined;

/**
 * The public roots, passed explicitly so NODE_EXTRA_CA_CERTS (often the corporate CA
 * already) and corproxy's own bundle can never make interception look clean.
 * Throws (from `read`) when the extraPublicRoots file cannot be read.
 */
export function publicRoots(
  extraFile: string,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
  nodeRoots: readonly string[] = rootCertificates,
): PublicRoots {
  const extraPem = extraFile === '' ? '' : read(extraFile);
  const extra = parsePem(extraPem).certs;
  const mozilla =
    nodeRoots === rootCertificates
      ? (mozillaX509 ??= parsePem(nodeRoots.join('\n')).certs)
      : parsePem(nodeRoots.join('\n')).certs;
  return { pems: [...nodeRoots, ...extra.map((c) => c.toString())], mozilla, extra };
}

/** What routing needs: ServerState satisfies it, and the CLI builds one. */
export interface RouteContext {
  readonly config: Config;
  readonly routes: Routes;
  readonly badProxies: BadProxyList;
  readonly dialDeps: DialDeps;
}

/** How a probe reaches its target: the decision (known before dialling) and the dialler. */
export interface RouteOpener {
  readonly decision: RouteDecision;
  readonly open: () => Promise<Remote>;
}

/** The route a tunnel to `target` would take right now (the same two steps as CONNECT). */
export function routeOpener(ctx: RouteContext, target: Target): RouteOpener {
  const decision = decideRoute(target, ctx.routes);
  return { decision, open: () => openRemote(target, decision, ctx) };
}

/**
 * Exactly the route a tunnel took: the same upstream (not the next one of the list) or
 * direct. Failures mark only a private bad-proxy list, so a probe never steers traffic.
 */
export function sameRouteOpener(
  ctx: RouteContext,
  target: Target,
  route: 'direct' | 'upstream',
  upstreamId: string | undefined,
): RouteOpener {
  const own = { badProxies: new BadProxyList(0), dialDeps: ctx.dialDeps };
  if (route === 'direct') {
    const decision: RouteDecision = { kind: 'direct', rule: 'probe: direct, as the tunnel' };
    return { decision, open: () => openRemote(target, decision, { ...own, config: ctx.config }) };
  }
  const upstream = ctx.config.upstreams.find((u) => u.id === upstreamId);
  if (upstream === undefined) return routeOpener(ctx, target);
  const config: Config = { ...ctx.config, upstreams: [upstream], fallback: 'none' };
  const decision: RouteDecision = { kind: 'upstream', rule: 'probe: the tunnel’s upstream' };
  return { decision, open: () => openRemote(target, decision, { ...own, config }) };
}

/** One probe's full answer. */
export interface RoutedProbe {
  readonly probe: ProbeResult;
  readonly classification: Classification;
  readonly route: {
    readonly kind: 'direct' | 'upstream';
    readonly rule: string;
    /** Redacted upstream URL, when the probe went through one. */
    readonly upstream?: string;
    readonly upstreamId?: string;
  };
}

export interface ProbeRequest {
  readonly target: Target;
  /** SNI to send; defaults to the host (none for an IP literal). */
  readonly sni?: string;
  readonly opener: RouteOpener;
  readonly roots: PublicRoots;
  readonly timeoutMs: number;
}

export interface RouteProbeDeps {
  readonly probe?: typeof probeTls;
  readonly catalogue?: readonly VendorEntry[];
  readonly now?: () => Date;
}

/** Opens the route, handshakes with the SNI, classifies. Never rejects. */
export async function probeOverRoute(
  req: ProbeRequest,
  deps: RouteProbeDeps = {},
): Promise<RoutedProbe> {
  let used: Remote | undefined;
  const probe = await (deps.probe ?? probeTls)({
    host: req.target.host,
    port: req.target.port,
    ...(req.sni === undefined ? {} : { servername: req.sni }),
    publicRoots: req.roots.pems,
    timeoutMs: req.timeoutMs,
    openTunnel: async () => {
      const remote = await req.opener.open();
      used = remote;
      if (remote.rest.length > 0) remote.socket.unshift(remote.rest);
      return remote.socket;
    },
  });
  const classification = classify({
    ...probe,
    host: probe.servername ?? req.target.host,
    publicRoots: req.roots.mozilla,
    extraPublicRoots: req.roots.extra,
    ...(deps.now ? { now: deps.now() } : {}),
    ...(deps.catalogue ? { catalogue: deps.catalogue } : {}),
  });
  return { probe, classification, route: routeOf(req.opener.decision, used) };
}

function routeOf(decision: RouteDecision, remote: Remote | undefined): RoutedProbe['route'] {
  if (remote === undefined) return { kind: decision.kind, rule: decision.rule };
  const u: UpstreamProxy | undefined = remote.upstream;
  return {
    kind: remote.route,
    rule: remote.rule,
    ...(u ? { upstream: u.display, upstreamId: u.id } : {}),
  };
}

/** caIssuers URLs (RFC 5280 §4.2.2.1) from Node's `infoAccess` text; http only, as Go and CAs use. */
export function caIssuerUrls(cert: X509Certificate): string[] {
  const text = cert.infoAccess ?? '';
  const urls = [...text.matchAll(/^CA Issuers - URI:(\S+)$/gm)].map((m) => m[1] ?? '');
  return urls.filter((u) => /^http:\/\//i.test(u)).slice(0, 2);
}

/** An AIA certificate is a few KiB; anything larger is not one. */
const MAX_AIA_BYTES = 64 * 1024;

export interface AiaDeps {
  /** One GET through the route; tests replace it. */
  readonly get?: (ctx: RouteContext, url: URL, timeoutMs: number) => Promise<Buffer>;
}

/**
 * The issuers named by `cert`'s AIA, fetched through the route the URL's host would take.
 * Best effort: failures and non-certificates are skipped (PKCS#7 `.p7c` answers too).
 */
export function aiaFetcher(
  ctx: RouteContext,
  timeoutMs: number,
  deps: AiaDeps = {},
): (cert: X509Certificate) => Promise<SourcedCert[]> {
  const get = deps.get ?? httpGetOverRoute;
  return async (cert) => {
    const out: SourcedCert[] = [];
    for (const url of caIssuerUrls(cert)) {
      try {
        const body = await get(ctx, new URL(url), timeoutMs);
        out.push(...certsIn(body).map((c) => ({ cert: c, source: `aia:${url}` })));
      } catch {
        // A candidate source only: an unreachable AIA URL changes nothing.
      }
    }
    return out;
  };
}

function certsIn(body: Buffer): X509Certificate[] {
  const text = body.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return parsePem(text).certs;
  try {
    return [new X509Certificate(body)];
  } catch {
    return [];
  }
}

/**
 * GET of a plain-http URL: to an upstream in absolute form with its credentials (proxies
 * commonly refuse CONNECT to port 80), or directly; the socket comes from corproxy's dialer.
 */
export async function httpGetOverRoute(
  ctx: RouteContext,
  url: URL,
  timeoutMs: number,
): Promise<Buffer> {
  const target = { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) };
  const decision = decideRoute(target, ctx.routes);
  const proxy =
    decision.kind === 'upstream' ? ctx.badProxies.order(ctx.config.upstreams)[0] : undefined;
  const socket = proxy ? await dialUpstream(ctx, proxy) : await dialDirect(target, ctx);
  const auth = proxy ? proxyAuthorization(proxy) : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => socket,
      method: 'GET',
      path: proxy ? url.href : `${url.pathname}${url.search}`,
      headers: { Host: url.host, ...(auth ? { 'Proxy-Authorization': auth } : {}) },
      timeout: timeoutMs,
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_AIA_BYTES) req.destroy(new Error('AIA answer too large'));
        else chunks.push(c);
      });
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(Buffer.concat(chunks))
          : reject(new Error(`AIA answer ${res.statusCode ?? '?'}`)),
      );
    });
    req.end();
  });
}

function dialUpstream(ctx: RouteContext, proxy: UpstreamProxy): Promise<net.Socket> {
  const { limits, hosts } = ctx.config;
  return dialProxy(proxy, { ...limits, hosts }, ctx.dialDeps);
}
