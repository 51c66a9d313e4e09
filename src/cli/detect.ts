/**
 * `corproxy detect [HOST[:PORT]...]`: probes each host over the route corproxy would use
 * (same upstream, same credentials, SNI = the host) and prints the interception verdict,
 * the chain, the vendor label and the evidence (DESIGN.md §6). Without hosts: the watch
 * list plus the https hosts of GOPROXY. Exit 0 once every host got a verdict; when no
 * probe completed at all, CPX_ERR_TLS_PROBE (exit 69) after the report.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { envSnapshot, loadConfig, type Flags } from '../config/index.js';
import type { Config } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import type { DialDeps } from '../proxy/dial.js';
import { formatAuthority, splitHostPort } from '../proxy/http1.js';
import { ServerState } from '../proxy/state.js';
import type { Target } from '../route/router.js';
import type { CertDescription } from '../tls/chain.js';
import {
  probeOverRoute,
  publicRoots,
  routeOpener,
  type PublicRoots,
  type RouteContext,
  type RoutedProbe,
} from '../tls/route-probe.js';
import { VERSION } from '../version.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The route flags `detect` and `trust` share with `serve`. */
export interface RouteArgs extends Flags {
  readonly config?: string;
}

export function routeOptions<T>(y: Argv<T>): Argv<T & RouteArgs> {
  return y
    .option('upstream', {
      type: 'string',
      array: true,
      describe: 'upstream proxy URL (repeatable)',
    })
    .option('direct', { type: 'string', array: true, describe: 'NO_PROXY-syntax direct patterns' })
    .option('hosts', { type: 'string', array: true, describe: 'NAME=ADDR resolution override' })
    .option('fallback', {
      type: 'string',
      choices: ['direct', 'none'],
      describe: 'when every upstream fails',
    })
    .option('direct-from-go-env', {
      type: 'boolean',
      describe: 'also route GOPRIVATE hosts direct',
    })
    .option('state-dir', {
      type: 'string',
      describe: 'directory of the bundle and state',
    }) as unknown as Argv<T & RouteArgs>;
}

export interface DetectArgs extends RouteArgs {
  readonly targets?: readonly string[];
  readonly json?: boolean;
}

/** The world of the probing commands; tests inject their own. */
export interface ProbeCliDeps {
  readonly loadConfig: (flags: RouteArgs) => Config;
  readonly env: Env;
  readonly print: (line: string) => void;
  readonly dialDeps?: DialDeps;
  /** Mozilla's roots; Node's by default. */
  readonly nodeRoots?: readonly string[];
  readonly probe?: typeof probeOverRoute;
}

/** HOST, HOST:PORT, [V6]:PORT or an https:// URL; port 443 unless given. */
export function parseTarget(text: string): Target {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new CorproxyError('CPX_ERR_BAD_TARGET', `${JSON.stringify(text)} is not a URL`);
    }
    return splitHostPort(url.port === '' ? url.hostname : url.host, 443);
  }
  return splitHostPort(text, 443);
}

/** The https hosts of a GOPROXY list (`,` and `|` separated; `direct` and `off` skipped). */
export function goproxyTargets(value: string | undefined): Target[] {
  return (value ?? '')
    .split(/[,|]/)
    .map((s) => s.trim())
    .filter((s) => /^https:\/\//i.test(s))
    .flatMap((s) => {
      try {
        return [parseTarget(s)];
      } catch {
        return [];
      }
    });
}

/** The hosts to probe: those named, else the watch list and GOPROXY's hosts, each once. */
export function targetsFor(named: readonly string[], config: Config, env: Env): Target[] {
  const all =
    named.length > 0
      ? named.map(parseTarget)
      : [...config.probe.watch.map(parseTarget), ...goproxyTargets(env.GOPROXY)];
  const seen = new Set<string>();
  return all.filter((t) => {
    const key = formatAuthority(t);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** probe.extraPublicRoots must be readable: the verdicts depend on it. */
export function rootsFor(config: Config, nodeRoots?: readonly string[]): PublicRoots {
  try {
    return publicRoots(config.probe.extraPublicRoots, undefined, nodeRoots);
  } catch (err) {
    throw new CorproxyError(
      'CPX_ERR_CONFIG_READ',
      `probe.extraPublicRoots: cannot read ${config.probe.extraPublicRoots} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      { cause: err },
    );
  }
}

/**
 * Runs `fn` with the routing state a CONNECT would see (rules, PAC, bad-proxy list), and
 * stops that state's background work afterwards.
 */
export async function withRouteContext<T>(
  config: Config,
  deps: Pick<ProbeCliDeps, 'dialDeps'>,
  fn: (ctx: RouteContext) => Promise<T>,
): Promise<T> {
  const sink = { write: () => undefined, warn: () => undefined };
  const state = new ServerState(config, sink, deps.dialDeps ?? {}, Date.now, VERSION);
  try {
    return await fn(state);
  } finally {
    state.stopBackground();
  }
}

/** Probes `targets` (at most 4 at once); results in the order of `targets`. */
export async function probeTargets(
  ctx: RouteContext,
  targets: readonly Target[],
  deps: Pick<ProbeCliDeps, 'nodeRoots' | 'probe'>,
): Promise<RoutedProbe[]> {
  const roots = rootsFor(ctx.config, deps.nodeRoots);
  const probe = deps.probe ?? probeOverRoute;
  const out: RoutedProbe[] = new Array<RoutedProbe>(targets.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < targets.length; i = next++) {
      const target = targets[i] as Target;
      const opener = routeOpener(ctx, target);
      out[i] = await probe({ target, opener, roots, timeoutMs: ctx.config.probe.timeoutMs });
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, targets.length) }, worker));
  return out;
}

function certLines(c: CertDescription, i: number): string[] {
  const kind = c.selfSigned ? 'self-signed root' : c.isCa ? 'CA' : 'leaf';
  return [
    `    [${i}] ${c.subject}  (${kind})`,
    `        issuer  ${c.issuer}`,
    `        sha256  ${c.sha256}`,
    `        valid   ${c.notBefore} to ${c.notAfter}`,
    `        key     ${c.keyType}`,
  ];
}

/** The human report of one probe. */
export function renderProbe(r: RoutedProbe): string[] {
  const { probe, classification: c, route } = r;
  const via = route.upstream ? `upstream ${route.upstream}` : route.kind;
  const ev = c.evidence;
  const scts = ev.sctCount === null ? 'none (no SCT extension)' : String(ev.sctCount);
  const lines = [
    `${formatAuthority(probe)}  ${c.verdict}${c.vendor ? `  (${c.vendor})` : ''}`,
    `  ${c.reason}`,
    `  route     ${via} (${route.rule})`,
    `  sni       ${probe.servername ?? '(none: IP literal)'}`,
  ];
  if (probe.tlsVersion)
    lines.push(`  tls       ${probe.tlsVersion}${probe.alpn ? `, ALPN ${probe.alpn}` : ''}`);
  if (c.chain.length > 0) {
    lines.push(
      `  evidence  public roots: ${ev.publicRootVerify}; SAN names the host: ${ev.sanMatch ? 'yes' : 'no'}; embedded SCTs: ${scts}`,
    );
    if (ev.hints.length > 0) lines.push(`  hints     ${ev.hints.join('; ')}`);
    lines.push('  chain', ...c.chain.flatMap(certLines));
  }
  if (c.ca)
    lines.push(
      `  CA        ${c.ca.subject}${c.ca.sha256 ? `  sha256 ${c.ca.sha256}` : ' (not sent)'}`,
    );
  return lines;
}

/** The `--json` form of one probe. */
export function probeJson(r: RoutedProbe): Record<string, unknown> {
  const { probe, classification: c } = r;
  return {
    host: probe.host,
    port: probe.port,
    sni: probe.servername ?? null,
    verdict: c.verdict,
    reason: c.reason,
    vendor: c.vendor ?? null,
    route: r.route,
    ca: c.ca ?? null,
    chain: c.chain,
    evidence: c.evidence,
    tlsVersion: probe.tlsVersion ?? null,
    alpn: probe.alpn ?? null,
    ...(probe.handshakeError ? { error: probe.handshakeError } : {}),
    durationMs: probe.durationMs,
  };
}

/** Runs detect; returns the probes (tests look at them) after printing. */
export async function runDetect(args: DetectArgs, deps: ProbeCliDeps): Promise<RoutedProbe[]> {
  const config = deps.loadConfig(args);
  const targets = targetsFor(args.targets ?? [], config, deps.env);
  if (targets.length === 0) {
    throw new CorproxyError('CPX_ERR_USAGE', 'nothing to probe: name a host or set probe.watch');
  }
  const results = await withRouteContext(config, deps, (ctx) => probeTargets(ctx, targets, deps));
  if (args.json === true) deps.print(JSON.stringify(results.map(probeJson), null, 2));
  else deps.print(results.map((r) => renderProbe(r).join('\n')).join('\n\n'));
  if (results.every((r) => r.classification.verdict === 'probe-failed')) {
    throw new CorproxyError(
      'CPX_ERR_TLS_PROBE',
      `no probe completed (${results.length} host(s)); run "corproxy doctor" to find the failing layer`,
    );
  }
  return results;
}

/** The flags a probing command hands to loadConfig. */
export function configFlags(a: RouteArgs): RouteArgs {
  const keys = [
    'config',
    'upstream',
    'direct',
    'hosts',
    'fallback',
    'stateDir',
    'directFromGoEnv',
  ] as const;
  return Object.fromEntries(keys.filter((k) => a[k] !== undefined).map((k) => [k, a[k]]));
}

export function defaultProbeDeps(): ProbeCliDeps {
  return {
    loadConfig: (flags) => loadConfig(configFlags(flags)),
    env: envSnapshot(),
    print: (line) => void process.stdout.write(`${line}\n`),
  };
}

export const detectCommand = {
  command: 'detect [targets..]',
  describe: 'probe hosts through the configured route and print the TLS interception verdict',
  builder: (y: Argv) =>
    routeOptions(y)
      .positional('targets', {
        type: 'string',
        array: true,
        describe: 'HOST[:PORT] (default: probe.watch + GOPROXY hosts)',
      })
      .option('json', { type: 'boolean', describe: 'print the results as JSON' }),
  handler: async (argv: ArgumentsCamelCase<DetectArgs>) => {
    await runDetect(argv, defaultProbeDeps());
  },
};
