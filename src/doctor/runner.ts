/**
 * `corproxy doctor`'s runner: gathers what Go sees (its settings, the proxy variables,
 * its roots, git), asks the daemon for /status, then walks layers 3-7 in this process
 * with the same configuration, whether or not the daemon runs, so the evidence is exact.
 * Every piece of the world arrives through DoctorDeps: tests drive it with loopback
 * servers only.
 */
import { rootsFor } from '../cli/detect.js';
import type { Config } from '../config/types.js';
import { asCorproxyError, type CorproxyError } from '../errors.js';
import { askDaemon as askDaemonDefault, type DaemonAnswer } from '../inspect/daemon-client.js';
import { corproxyEndpoints, type Endpoint } from '../inspect/endpoint.js';
import { connectUrl, planRoute } from '../pac/plan.js';
import type { DialDeps } from '../proxy/dial.js';
import { planContext } from '../proxy/open-remote.js';
import { ServerState } from '../proxy/state.js';
import type { connectThrough } from '../proxy/upstream.js';
import { decideRoute } from '../route/router.js';
import type { probeOverRoute, PublicRoots } from '../tls/route-probe.js';
import { VERSION } from '../version.js';
import { gitCaCheck, gitProxyCheck, sslCertDirCheck, sslCertFileCheck } from './env-certs.js';
import { goproxyCheck, gosumdbCheck, insecureCheck, privateCheck } from './env-go.js';
import { caseCheck, goRouteChecks, noProxyCheck } from './env-proxy.js';
import { gitHttpConfig, goEnvJson } from './external.js';
import { nodeRootsFs, type RootsFs } from './go-roots.js';
import { goSettings, parseGoproxyList, parseGosumdb, type GoSettings } from './go-settings.js';
import type { ProxyList, SumdbSetting } from './go-settings.js';
import * as daemonLayer from './layer-daemon.js';
import { block, networkLayers, soften, type Blocked, type PlannedHost } from './network.js';
import { goSendsToCorproxy, mirrorEntries, observe, proxyUrlOf, type Seen } from './observe.js';
import { makeGet, moduleLayer, tlsLayer, type DoctorRouteContext } from './probes.js';
import { goHosts, hostLabel, urlTarget, type DoctorArgs, type GoHost } from './targets.js';
import { check, type Check, type DoctorReport } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The world doctor observes and probes; every field has a real default but config. */
export interface DoctorDeps {
  /** The environment Go and git would see (only src/config reads process.env). */
  readonly env: Env;
  readonly platform: NodeJS.Platform;
  readonly config: Config;
  /** Why the configuration could not be loaded; `config` then holds the defaults. */
  readonly configError?: CorproxyError;
  /** Connect function and resolver for every socket doctor opens. */
  readonly dialDeps?: DialDeps;
  readonly now?: () => number;
  /** /status of a running daemon. */
  readonly askDaemon?: (config: Config) => Promise<DaemonAnswer>;
  /** `go env -json`; undefined when go is not installed. */
  readonly goEnv?: (env: Env) => Promise<Record<string, string> | undefined>;
  /** `git config` http.* values; undefined when git is not installed. */
  readonly gitConfig?: (env: Env) => Promise<Record<string, string> | undefined>;
  readonly rootsFs?: RootsFs;
  /** Mozilla's roots for the interception verdict; Node's by default. */
  readonly nodeRoots?: readonly string[];
  readonly probe?: typeof probeOverRoute;
  readonly connect?: typeof connectThrough;
}

/** Go's view of things, read once. */
interface GoView {
  readonly settings: GoSettings;
  /** GOPROXY entries that are corproxy's own mirror. */
  readonly mirror: readonly string[];
  readonly list: ProxyList;
  readonly sumdb: SumdbSetting;
  readonly hosts: readonly GoHost[];
}

/** What corproxy's mirror fetches from, when GOPROXY uses the mirror (and it is on). */
function mirrorUpstreams(config: Config, mirror: readonly string[]): string[] {
  if (mirror.length === 0 || !config.mirror.enabled) return [];
  return [...config.mirror.upstream.map((e) => e.url), ...config.mirror.sumdb.map((d) => d.url)];
}

/** Routing state like the daemon's; its background work stops afterwards. */
async function withState<T>(
  deps: DoctorDeps,
  now: () => number,
  fn: (ctx: DoctorRouteContext) => Promise<T>,
): Promise<T> {
  const sink = { write: () => undefined, warn: () => undefined };
  const state = new ServerState(deps.config, sink, deps.dialDeps ?? {}, now, VERSION);
  try {
    return await fn(state);
  } finally {
    state.stopBackground();
  }
}

/** corproxy's plan for every non-loopback host (PAC answers included). */
async function plan(hosts: readonly GoHost[], ctx: DoctorRouteContext): Promise<PlannedHost[]> {
  const out: PlannedHost[] = [];
  for (const host of hosts.filter((h) => !h.loopback)) {
    const { target } = host;
    const decision = decideRoute(target, ctx.routes);
    try {
      const url = connectUrl(target.host, target.port);
      out.push({ host, plan: await planRoute(target, url, decision, planContext(ctx)) });
    } catch (err) {
      out.push({ host, error: asCorproxyError(err) });
    }
  }
  return out;
}

function envLayer(
  go: GoView,
  args: DoctorArgs,
  seen: Seen,
  ctx: DoctorRouteContext,
  own: readonly Endpoint[],
  env: Env,
): Check[] {
  const proxyUrl = proxyUrlOf(own);
  const input = {
    env,
    hosts: go.hosts,
    own,
    proxyUrl,
    corproxyRoute: (t: GoHost['target']) => decideRoute(t, ctx.routes),
    sumdbViaProxy: go.list.entries.some((e) => e.kind === 'url'),
  };
  const git = {
    ...(seen.git && { config: seen.git }),
    ...(seen.gitCa && { caFile: seen.gitCa }),
    own,
    proxyUrl,
  };
  const optional = [
    sslCertDirCheck(seen.certInput),
    gitProxyCheck(git),
    gitCaCheck(git, seen.certInput),
  ];
  return [
    ...goRouteChecks(input),
    caseCheck(input),
    noProxyCheck(input),
    goproxyCheck(go.settings, go.list),
    gosumdbCheck(go.settings, go.sumdb),
    privateCheck(go.settings, args.modules),
    insecureCheck(go.settings),
    sslCertFileCheck(seen.certInput),
    ...optional.filter((c): c is Check => c !== undefined),
  ];
}

function corproxyLayer(
  deps: DoctorDeps,
  daemon: DaemonAnswer,
  go: GoView,
  planned: readonly PlannedHost[],
  own: readonly Endpoint[],
): Check[] {
  const { mirror } = go;
  const input = {
    daemon,
    config: deps.config,
    goUsesCorproxy: mirror.length > 0 || goSendsToCorproxy(go.hosts, deps.env, own),
    ...(deps.configError && { configError: deps.configError }),
  };
  const mirrorRow = daemonLayer.mirrorCheck(deps.config, mirror);
  return [
    daemonLayer.daemonCheck(input),
    daemonLayer.configCheck(input),
    ...daemonLayer.upstreamHealthChecks(input),
    ...(mirrorRow ? [mirrorRow] : []),
    ...planned.map((p) =>
      soften(
        daemonLayer.routeCheck({
          label: hostLabel(p.host),
          ...(p.plan && { plan: p.plan }),
          ...(p.error && { error: p.error }),
        }),
        p.host,
      ),
    ),
  ];
}

/** The roots of the interception verdict; an unreadable probe.extraPublicRoots is a FAIL. */
function readPublicRoots(
  config: Config,
  nodeRoots: readonly string[] | undefined,
): { roots: PublicRoots; problem?: Check } {
  try {
    return { roots: rootsFor(config, nodeRoots) };
  } catch (err) {
    const e = asCorproxyError(err);
    const without = { ...config, probe: { ...config.probe, extraPublicRoots: '' } };
    return {
      roots: rootsFor(without, nodeRoots),
      problem: check('corproxy', 'probe.extraPublicRoots', 'fail', e.message, {
        fix: 'name a readable PEM file, or remove the key',
        code: e.code,
      }),
    };
  }
}

/** Layers 3-7 in this process, over the plans and with the roots gathered before. */
async function layers3to7(
  deps: DoctorDeps,
  go: GoView & { readonly planned: readonly PlannedHost[] },
  args: DoctorArgs,
  seen: Seen,
  ctx: DoctorRouteContext,
  blocked: Blocked,
  now: () => number,
): Promise<{ network: Check[]; tls: Check[]; modules: Check[]; problem?: Check }> {
  const { config } = deps;
  const { limits } = config;
  const network = await networkLayers(
    go.planned,
    {
      hosts: config.hosts,
      connectTimeoutMs: limits.connectTimeoutMs,
      keepAliveMs: limits.keepAliveMs,
      maxHeaderSize: limits.maxHeaderSize,
      dialDeps: deps.dialDeps ?? {},
      now,
      ...(deps.connect && { connect: deps.connect }),
    },
    blocked,
  );
  const { roots, certInput } = seen;
  const publicRoots = readPublicRoots(config, deps.nodeRoots);
  const tlsDeps = {
    ctx,
    roots,
    mirrorRoots: seen.mirrorRoots,
    publicRoots: publicRoots.roots,
    approved: certInput.approved,
    bundle: certInput.bundle,
    ...(deps.probe && { probe: deps.probe }),
  };
  const tls = await tlsLayer(go.hosts, tlsDeps, blocked);
  const timeoutMs = limits.connectTimeoutMs + config.probe.timeoutMs;
  const get = makeGet({ ctx, roots, blocked, timeoutMs, now });
  const { settings, list, sumdb } = go;
  const modules = await moduleLayer({ ...args, settings, list, sumdb }, get);
  return { network, tls, modules, ...(publicRoots.problem && { problem: publicRoots.problem }) };
}

/** Runs every layer and returns the checks in order; a failing layer never throws. */
export async function runDoctor(args: DoctorArgs, deps: DoctorDeps): Promise<DoctorReport> {
  const now = deps.now ?? Date.now;
  const { config } = deps;
  const settings = goSettings(await (deps.goEnv ?? goEnvJson)(deps.env), deps.env);
  const list = parseGoproxyList(settings.goproxy);
  const sumdb = parseGosumdb(settings.gosumdb);
  const daemon = await (deps.askDaemon ?? ((c: Config) => askDaemonDefault(c)))(config);
  const own = corproxyEndpoints(config, daemon.ok ? daemon.doc : undefined);
  const mirror = mirrorEntries(list, own);
  const go: GoView = {
    settings,
    list,
    sumdb,
    mirror,
    hosts: goHosts(list, sumdb, args.urls, mirrorUpstreams(config, mirror)),
  };
  const seen = await observe({
    env: deps.env,
    platform: deps.platform,
    config,
    fs: deps.rootsFs ?? nodeRootsFs,
    gitConfig: deps.gitConfig ?? gitHttpConfig,
    ...(deps.nodeRoots && { nodeRoots: deps.nodeRoots }),
  });
  return withState(deps, now, async (ctx) => {
    const env = envLayer(go, args, seen, ctx, own, deps.env);
    const planned = await plan(go.hosts, ctx);
    const corproxy = corproxyLayer(deps, daemon, go, planned, own);
    const blocked: Blocked = new Map();
    for (const url of daemon.ok ? [] : go.mirror) {
      const t = urlTarget(url);
      if (t) block(blocked, hostLabel(t), 'corproxy', 'reaching the daemon');
    }
    const later = await layers3to7(deps, { ...go, planned }, args, seen, ctx, blocked, now);
    if (later.problem) corproxy.push(later.problem);
    const { network, tls, modules } = later;
    return {
      modules: args.modules,
      urls: args.urls,
      goproxy: settings.goproxy,
      gosumdb: settings.gosumdb,
      goSettingsFrom: settings.from,
      daemonRunning: daemon.ok,
      checks: [...env, ...corproxy, ...network, ...tls, ...modules],
    };
  });
}
