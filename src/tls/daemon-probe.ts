/**
 * Interception probing wired into the daemon (DESIGN.md §6). The first client bytes of a
 * tunnel that form a TLS ClientHello start a background probe with the same SNI, over the
 * same route and upstream (with its credentials); the tunnel itself is never delayed or
 * altered. Verdicts land in the ProbeCache, the connection log's `tls` field and /status.
 * The watch list is probed at start and again as its verdicts expire.
 * Probes go through route-probe.ts, as those of `corproxy detect` and `corproxy trust` do.
 */
import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RouteKind, TlsSummary } from '../events.js';
import type { Hooks, ServerState } from '../proxy/state.js';
import { decideRoute, type Target } from '../route/router.js';
import { bundlePaths, bundleStatus, type BundleStatus } from './bundle-files.js';
import { readClientHello } from './client-hello.js';
import { ProbeCache, type CacheEntry, type ProbeKey } from './probe-cache.js';
import {
  probeOverRoute,
  publicRoots,
  sameRouteOpener,
  type PublicRoots,
  type RouteProbeDeps,
} from './route-probe.js';

/**
 * The SNI to probe with when a tunnel's first bytes are a ClientHello; null when they are
 * not TLS. The hook sees only the first chunk: when a ClientHello spans more than that
 * (rare; Go sends it in one segment), a handshake record of type ClientHello is enough to
 * know it is TLS and the CONNECT host stands in for the name.
 */
export function sniForFirstBytes(chunk: Buffer, target: Target): string | undefined | null {
  const hello = readClientHello(chunk);
  if (hello.kind === 'not-tls') return null;
  if (hello.kind === 'tls') return hello.sni ?? byName(target);
  return chunk.length >= 6 && chunk[5] === 0x01 ? byName(target) : null;
}

/** The target's name as an SNI; an IP literal is never one (RFC 6066 §3). */
function byName(target: Target): string | undefined {
  return isIP(target.host) === 0 ? target.host : undefined;
}

/** The log record's `tls` field for a verdict. */
export function tlsSummary(entry: CacheEntry): TlsSummary {
  const c = entry.classification;
  return {
    verdict: c.verdict,
    ...(c.vendor ? { vendor: c.vendor } : {}),
    ...(c.ca ? { caSubject: c.ca.subject } : {}),
    ...(c.ca?.sha256 ? { caSha256: c.ca.sha256 } : {}),
  };
}

export interface DaemonProbeDeps extends RouteProbeDeps {
  readonly warn?: (message: string, fields?: Record<string, unknown>) => void;
  readonly readFile?: (path: string) => string;
  readonly statMtime?: (path: string) => number | undefined;
  readonly nodeRoots?: readonly string[];
  readonly clock?: () => number;
  /** Upper bound of the watch list re-check interval; tests shorten it. */
  readonly watchIntervalMs?: number;
}

export interface DaemonProbes {
  readonly hooks: Hooks;
  readonly cache: ProbeCache;
  /** Probes every watch-list host whose verdict is missing or expired. */
  probeWatchList(): Promise<void>;
  stop(): void;
}

/** Starts probing for a running server; install `hooks` on its state. */
export function startDaemonProbes(state: ServerState, deps: DaemonProbeDeps = {}): DaemonProbes {
  const warn = deps.warn ?? ((m, f) => state.sink.warn(m, f));
  const clock = deps.clock ?? Date.now;
  const read = deps.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  const cache = new ProbeCache({
    now: clock,
    warn,
    ttls: () => ({
      cleanMs: state.config.probe.cleanTtlMs,
      interceptedMs: state.config.probe.interceptedTtlMs,
      failureMs: state.config.probe.failureTtlMs,
    }),
  });
  const roots = rootsLoader(read, warn, deps.nodeRoots);
  const schedule = (target: Target, key: ProbeKey, sni: string | undefined): Promise<unknown> =>
    cache.request(key, async () => {
      const req = {
        target,
        ...(sni === undefined ? {} : { sni }),
        opener: sameRouteOpener(state, target, key.route, key.upstreamId),
        roots: roots(state.config.probe.extraPublicRoots),
        timeoutMs: state.config.probe.timeoutMs,
      };
      const r = await probeOverRoute(req, deps);
      return { classification: r.classification, ...(sni === undefined ? {} : { sni }) };
    });
  // Built field by field: spreading temporary objects cost a share of every tunnel
  // (bench/README.md, seventh round).
  const keyFor = (t: Target, route: RouteKind, upstreamId: string | undefined): ProbeKey | null => {
    if (route === 'local') return null;
    return upstreamId
      ? { route, upstreamId, host: t.host, port: t.port }
      : { route, host: t.host, port: t.port };
  };

  const hooks: Hooks = {
    onTunnelClientBytes(target, route, upstreamId, chunk) {
      try {
        if (!state.config.probe.enabled) return;
        // Bytes that are no ClientHello need no key and no cache lookup.
        const sni = sniForFirstBytes(chunk, target);
        if (sni === null) return;
        const key = keyFor(target, route, upstreamId);
        if (key === null || cache.isFresh(key)) return;
        void schedule({ host: target.host, port: target.port }, key, sni);
      } catch {
        // Probing is advisory: nothing it does may disturb the tunnel.
      }
    },
    tlsFor(target, route, upstreamId) {
      const key = keyFor(target, route, upstreamId);
      const entry = key === null ? undefined : cache.peek(key);
      return entry === undefined ? undefined : tlsSummary(entry);
    },
    statusExtras: () => ({
      interception: cache.list().map(statusEntry),
      bundle: bundleState(),
    }),
  };

  const bundleState = bundleReader(state, read, deps.statMtime ?? mtimeOf, clock);
  const watch = watcher(state, schedule, deps.watchIntervalMs);
  return { hooks, cache, probeWatchList: watch.run, stop: watch.stop };
}

type Schedule = (target: Target, key: ProbeKey, sni: string | undefined) => Promise<unknown>;

/** The watch list at start, then again each interval (expired verdicts only). */
function watcher(state: ServerState, schedule: Schedule, maxIntervalMs = 3_600_000) {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async (): Promise<void> => {
    const { probe, upstreams } = state.config;
    if (!probe.enabled) return;
    const jobs = probe.watch.map((entry) => {
      const [host = '', port = '443'] = entry.split(':');
      const target = { host, port: Number(port) };
      const decision = decideRoute(target, state.routes);
      const first = state.badProxies.order(upstreams)[0];
      const viaUpstream = decision.kind === 'upstream' && first !== undefined;
      const key: ProbeKey = viaUpstream
        ? { route: 'upstream', upstreamId: first.id, ...target }
        : { route: 'direct', ...target };
      return schedule(target, key, host);
    });
    await Promise.all(jobs);
  };
  const tick = (): void => {
    if (stopped) return;
    const every = Math.min(maxIntervalMs, Math.max(1000, state.config.probe.cleanTtlMs));
    timer = setTimeout(() => void run().finally(tick), every);
    timer.unref();
  };
  timer = setTimeout(() => void run().finally(tick), 0);
  timer.unref();
  return {
    run,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** extraPublicRoots read once per path; an unreadable file is warned about, not fatal. */
function rootsLoader(
  read: (path: string) => string,
  warn: (message: string) => void,
  nodeRoots: readonly string[] | undefined,
): (extraFile: string) => PublicRoots {
  let cached: { file: string; roots: PublicRoots } | undefined;
  return (file) => {
    if (cached?.file === file) return cached.roots;
    let roots: PublicRoots;
    try {
      roots = publicRoots(file, read, nodeRoots);
    } catch (err) {
      warn(`probe.extraPublicRoots ${file} is unreadable (${(err as Error).message}); ignored`);
      roots = publicRoots('', read, nodeRoots);
    }
    cached = { file, roots };
    return roots;
  };
}

function mtimeOf(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The bundle section of /status, re-read only when manifest.json changes. */
function bundleReader(
  state: ServerState,
  read: (path: string) => string,
  mtime: (path: string) => number | undefined,
  clock: () => number,
): () => BundleStatus {
  let seen: { mtime: number | undefined; text: string } | undefined;
  return () => {
    const config = state.config;
    const file = bundlePaths(config).manifest;
    const m = mtime(file);
    if (seen === undefined || seen.mtime !== m) {
      let text = '';
      try {
        text = m === undefined ? '' : read(file);
      } catch {
        text = '';
      }
      seen = { mtime: m, text };
    }
    return bundleStatus(config, seen.text, clock());
  };
}

function statusEntry(e: CacheEntry): Record<string, unknown> {
  const c = e.classification;
  return {
    host: e.key.host,
    port: e.key.port,
    route: e.key.route,
    ...(e.key.upstreamId ? { upstream: e.key.upstreamId } : {}),
    ...(e.sni && e.sni !== e.key.host ? { sni: e.sni } : {}),
    ...tlsSummary(e),
    reason: c.reason,
    probedAt: new Date(e.probedAt).toISOString(),
    expiresAt: new Date(e.expiresAt).toISOString(),
  };
}
