/**
 * Layer 2, corproxy itself: is the daemon running and reachable (its /status), which
 * configuration is in force, how healthy the daemon finds its upstreams (the bad-proxy
 * list), and the route corproxy takes to every host go contacts. Pure: the daemon's answer,
 * the config and the route plans come in.
 */
import type { Config } from '../config/types.js';
import type { CorproxyError } from '../errors.js';
import type { DaemonAnswer } from '../inspect/daemon-client.js';
import type { StatusDocument } from '../inspect/status-document.js';
import type { RoutePlan } from '../pac/plan.js';
import { check, type Check } from './types.js';

const START = ['corproxy serve', 'systemctl --user start corproxy'];

export interface DaemonInput {
  readonly daemon: DaemonAnswer;
  readonly config: Config;
  /** Set when the configuration could not be loaded (`config` is then the defaults). */
  readonly configError?: CorproxyError;
  /** Go's settings send some request to corproxy (HTTPS_PROXY or a mirror GOPROXY entry). */
  readonly goUsesCorproxy: boolean;
}

function uptime(doc: StatusDocument): string {
  const s = doc.uptimeSeconds;
  return s === undefined ? '' : `, up ${s}s`;
}

/** Running and answering /status; down is a failure when Go is pointed at it. */
export function daemonCheck(input: DaemonInput): Check {
  const d = input.daemon;
  if (d.ok) {
    const { doc } = d;
    return check(
      'corproxy',
      'daemon',
      'pass',
      `corproxy ${doc.version} answers on ${d.endpoint.host}:${d.endpoint.port}`,
      {
        evidence: [
          `pid ${doc.pid ?? '?'}${uptime(doc)}; listening on ${doc.listen.join(', ') || '?'}`,
          'layers 3-7 run in this process with the same configuration, so the evidence is exact',
        ],
      },
    );
  }
  const status = input.goUsesCorproxy ? 'fail' : 'warn';
  const why = input.goUsesCorproxy
    ? 'Go is pointed at corproxy, so every download fails (proxyconnect: connection refused)'
    : 'Go is not pointed at it either; layers 3-7 run in this process';
  return check('corproxy', 'daemon', status, `not running or not reachable: ${why}`, {
    evidence: [d.error.message],
    fix: 'start the daemon',
    commands: [START[0] as string],
    code: d.error.code,
  });
}

/** The configuration in force: where it came from, upstreams, fallback, rules. */
export function configCheck(input: DaemonInput): Check {
  if (input.configError !== undefined) {
    return check('corproxy', 'config', 'fail', input.configError.message, {
      fix: 'correct the key named in the message (docs/configuration.md)',
      code: input.configError.code,
    });
  }
  const c = input.config;
  const upstreams = c.upstreams.map((u) => u.display);
  const evidence = [
    `sources: ${c.sources.join(' < ')}`,
    `upstream: ${upstreams.join(', ') || '(none: direct)'}; fallback: ${c.fallback}`,
    ...(c.pac !== '' ? [`pac: ${c.pac}`] : []),
    `direct rules: ${c.direct.length + c.directModules.length}`,
    `mirror: ${c.mirror.enabled ? 'on' : 'off'}`,
  ];
  const summary =
    upstreams.length > 0 || c.pac !== ''
      ? `${upstreams.length} upstream(s)${c.pac !== '' ? ' + PAC' : ''}`
      : 'no upstream: corproxy connects directly';
  return check('corproxy', 'config', 'pass', summary, { evidence });
}

/** The daemon's view of each upstream: healthy or on the bad-proxy list. */
export function upstreamHealthChecks(input: DaemonInput): Check[] {
  if (!input.daemon.ok) return [];
  return input.daemon.doc.upstreams.map((u) => {
    const name = `upstream ${u.url} (daemon)`;
    if (u.healthy) return check('corproxy', name, 'pass', 'healthy', {});
    return check('corproxy', name, 'warn', `on the bad-proxy list until ${u.badUntil ?? '?'}`, {
      evidence: [`last error: ${u.lastError ?? '?'}`],
      fix: 'the daemon skips it until then; layers 3-5 show whether it works now',
    });
  });
}

/** Route facts for one host: the plan, or why none could be made. */
export interface RouteFact {
  readonly label: string;
  readonly plan?: RoutePlan;
  readonly error?: CorproxyError;
}

/** The route corproxy takes to a host, with the rule that decided it. */
export function routeCheck(fact: RouteFact): Check {
  const name = `route ${fact.label}`;
  if (fact.plan === undefined) {
    return check('corproxy', name, 'fail', fact.error?.message ?? 'no route', {
      fix: 'configure an upstream, a PAC file or fallback: direct',
      ...(fact.error && { code: fact.error.code }),
    });
  }
  const hops = fact.plan.hops.map((h) => (h.kind === 'direct' ? 'direct' : h.proxy.display));
  const fallback = fact.plan.fallbackDirect ? ', then direct (fallback)' : '';
  return check('corproxy', name, 'pass', `${hops.join(', ')}${fallback}`, {
    evidence: [`rule: ${fact.plan.rule}`],
  });
}

/** GOPROXY uses corproxy's mirror: it must be enabled. */
export function mirrorCheck(config: Config, mirrorEntries: readonly string[]): Check | undefined {
  if (mirrorEntries.length === 0) return undefined;
  const evidence = mirrorEntries.map((u) => `GOPROXY entry ${u}`);
  if (!config.mirror.enabled) {
    return check(
      'corproxy',
      'module mirror',
      'fail',
      'GOPROXY names corproxy’s mirror, but mirror.enabled is false',
      {
        evidence,
        fix: 'set mirror.enabled: true in the config file (or CORPROXY_MIRROR=true) and restart corproxy',
      },
    );
  }
  return check(
    'corproxy',
    'module mirror',
    'pass',
    `enabled; upstream ${config.mirror.upstream.map((e) => e.url).join(', ')}`,
    { evidence },
  );
}
