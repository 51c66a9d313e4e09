/**
 * Layer 1, the proxy variables: for every host go contacts, does Go's net/http send the
 * request to corproxy (HTTPS_PROXY before https_proxy, values it cannot parse dropped
 * silently, NO_PROXY)? Do curl and git, which read the lower-case names first, agree?
 * Pure: the environment, the hosts and corproxy's own route decision come in.
 */
import type { RouteDecision } from '../events.js';
import { curlProxyFor } from '../inspect/curl-proxy-env.js';
import { isCorproxyAddress, type Endpoint } from '../inspect/endpoint.js';
import { goNoProxyMatch, goProxyFor } from '../inspect/go-proxy-env.js';
import {
  pickEnv,
  showVar,
  type Env,
  type ProxyAnswer,
  type ProxyTarget,
} from '../inspect/proxy-answer.js';
import { parseNoProxyList } from '../route/no-proxy.js';
import type { Target } from '../proxy/http1.js';
import { quote } from '../tls/env-lines.js';
import { goContacts, hostLabel, type GoHost } from './targets.js';
import { check, type Check } from './types.js';

export interface ProxyEnvInput {
  readonly env: Env;
  readonly hosts: readonly GoHost[];
  /** corproxy's listen addresses (configured and reported by the daemon). */
  readonly own: readonly Endpoint[];
  /** corproxy's proxy URL, for the fix lines. */
  readonly proxyUrl: string;
  /** corproxy's route decision for a target. */
  readonly corproxyRoute: (target: Target) => RouteDecision;
  /** GOPROXY lists proxies, so go may reach the checksum database through one of them. */
  readonly sumdbViaProxy: boolean;
}

/** `export A=v B=v` for sh, values quoted. */
export function exportLine(vars: ReadonlyArray<readonly [string, string]>): string {
  return `export ${vars.map(([k, v]) => `${k}=${quote(v, 'sh')}`).join(' ')}`;
}

function proxyTarget(h: GoHost): ProxyTarget {
  return { scheme: h.scheme, host: h.target.host, rawHost: h.target.host, port: h.target.port };
}

function endpointOfKey(key: string | undefined): Endpoint | undefined {
  const m = key === undefined ? null : /^[a-z0-9+.-]+:\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(key);
  return m ? { host: m[1] as string, port: Number(m[2]) } : undefined;
}

function setProxyCommand(input: ProxyEnvInput, scheme: 'http' | 'https'): string {
  const name = scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  return exportLine([
    [name, input.proxyUrl],
    [name.toLowerCase(), input.proxyUrl],
  ]);
}

/** The NO_PROXY variables with `entry` removed, both cases when both are set. */
function dropEntryCommand(env: Env, entry: string): string {
  const vars = ['NO_PROXY', 'no_proxy']
    .filter((n) => (env[n] ?? '') !== '')
    .map(
      (n) =>
        [
          n,
          parseNoProxyList(env[n] ?? '')
            .filter((e) => e !== entry)
            .join(','),
        ] as const,
    );
  return exportLine(vars);
}

function viaProxy(input: ProxyEnvInput, h: GoHost, go: ProxyAnswer): Check {
  const name = `Go route to ${hostLabel(h)}`;
  const evidence = [`${go.reason}`, ...go.notes, `go contacts it as: ${h.roles.join(', ')}`];
  const e = endpointOfKey(go.proxyKey);
  if (e === undefined || !isCorproxyAddress(e.host, e.port, input.own)) {
    return check('env', name, 'warn', `Go uses ${go.proxy ?? 'another proxy'}, not corproxy`, {
      evidence: [...evidence, 'layers 3-7 test corproxy’s route, which Go does not take'],
      fix: `point ${go.variable?.name ?? 'HTTPS_PROXY'} at corproxy (${input.proxyUrl})`,
      commands: [setProxyCommand(input, h.scheme)],
    });
  }
  if (go.proxyKey?.startsWith('https://') === true) {
    return check('env', name, 'fail', 'an https:// proxy URL makes Go start TLS with corproxy', {
      evidence,
      fix: `corproxy speaks plain HTTP on its listener: use ${input.proxyUrl}`,
      commands: [setProxyCommand(input, h.scheme)],
    });
  }
  return check('env', name, 'pass', `via corproxy (${go.variable?.name})`, { evidence });
}

function notViaProxy(input: ProxyEnvInput, h: GoHost, go: ProxyAnswer): Check {
  const name = `Go route to ${hostLabel(h)}`;
  const decision = input.corproxyRoute(h.target);
  const evidence = [
    go.reason,
    ...go.notes,
    `corproxy would route it: ${decision.kind} (${decision.rule})`,
  ];
  if (go.code === 'loopback')
    return check('env', name, 'pass', 'loopback: Go connects directly', { evidence });
  if (go.code === 'cgi' || go.code === 'unparseable') {
    return check('env', name, 'fail', go.reason, {
      evidence,
      fix: `set ${go.variable?.name ?? 'the variable'} to a URL Go can parse: ${input.proxyUrl}`,
      commands: [setProxyCommand(input, h.scheme)],
    });
  }
  if (decision.kind === 'direct') {
    return check('env', name, 'pass', 'direct, as corproxy would route it', { evidence });
  }
  const onlySumdb = h.roles.every((r) => r === 'checksum database') && input.sumdbViaProxy;
  const status = onlySumdb ? 'warn' : 'fail';
  const tail = onlySumdb ? ' (unless a GOPROXY entry serves the checksum database)' : '';
  if (go.code === 'no-proxy' && go.noProxyEntry !== undefined) {
    return check(
      'env',
      name,
      status,
      `${go.noProxy?.name} entry "${go.noProxyEntry}" sends Go around corproxy${tail}`,
      {
        evidence,
        fix: `remove "${go.noProxyEntry}" from ${go.noProxy?.name}: corproxy routes ${h.target.host} through the upstream`,
        commands: [dropEntryCommand(input.env, go.noProxyEntry)],
      },
    );
  }
  return check(
    'env',
    name,
    status,
    `Go connects to ${hostLabel(h)} directly, not through corproxy${tail}`,
    {
      evidence,
      fix: `set ${h.scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY'} (and the lower-case name) to corproxy`,
      commands: [setProxyCommand(input, h.scheme)],
    },
  );
}

/** One row per non-loopback host go contacts: does Go send it to corproxy? */
export function goRouteChecks(input: ProxyEnvInput): Check[] {
  return input.hosts
    .filter((h) => !h.loopback && goContacts(h))
    .map((h) => {
      const go = goProxyFor(proxyTarget(h), input.env);
      return go.proxied ? viaProxy(input, h, go) : notViaProxy(input, h, go);
    });
}

function differs(a: ProxyAnswer, b: ProxyAnswer): boolean {
  return a.proxied !== b.proxied || a.fails !== b.fails || (a.proxied && a.proxyKey !== b.proxyKey);
}

/** Go and curl/git read the variables in a different order: flag where they disagree. */
export function caseCheck(input: ProxyEnvInput): Check {
  const set = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy']
    .map((n) => pickEnv(input.env, [n]))
    .filter((r) => r !== undefined);
  const sample = input.hosts.find((h) => !h.loopback && goContacts(h));
  const mismatches: string[] = [];
  const schemes: Array<'http' | 'https'> = [];
  for (const scheme of ['https', 'http'] as const) {
    const host = sample?.target.host ?? 'proxy.golang.org';
    const t = { scheme, host, rawHost: host, port: scheme === 'https' ? 443 : 80 };
    const go = goProxyFor(t, input.env);
    const curl = curlProxyFor(t, input.env);
    if (differs(go, curl)) {
      const show = (a: ProxyAnswer): string =>
        a.proxied ? `${a.proxy} (${a.variable?.name})` : a.reason;
      mismatches.push(`${scheme}: Go → ${show(go)}; curl/git → ${show(curl)}`);
      schemes.push(scheme);
    }
  }
  const evidence = set.length > 0 ? set.map(showVar) : ['no proxy variable is set'];
  if (mismatches.length === 0) {
    return check('env', 'proxy variables: Go vs curl/git', 'pass', 'Go and curl/git agree', {
      evidence,
    });
  }
  return check(
    'env',
    'proxy variables: Go vs curl/git',
    'warn',
    'Go (upper case first) and curl/git (lower case first) use different proxies',
    {
      evidence: [...evidence, ...mismatches],
      fix: 'set both spellings to the same value',
      commands: schemes.map((scheme) => setProxyCommand(input, scheme)),
    },
  );
}

/** NO_PROXY as Go reads it: both spellings, entries Go cannot use. */
export function noProxyCheck(input: ProxyEnvInput): Check {
  const upper = input.env.NO_PROXY ?? '';
  const lower = input.env.no_proxy ?? '';
  if (upper === '' && lower === '') return check('env', 'NO_PROXY', 'pass', 'unset', {});
  const read = pickEnv(input.env, ['NO_PROXY', 'no_proxy']);
  const { ignored } = goNoProxyMatch(read?.value ?? '', '', 0);
  const evidence = [
    ...(upper !== '' ? [`NO_PROXY=${upper}`] : []),
    ...(lower !== '' ? [`no_proxy=${lower}`] : []),
  ];
  const problems: string[] = [];
  if (upper !== '' && lower !== '' && upper !== lower) {
    problems.push('NO_PROXY and no_proxy differ: Go reads NO_PROXY, curl and git read no_proxy');
  }
  if (ignored.length > 0) problems.push(`entries Go cannot parse and skips: ${ignored.join(', ')}`);
  if (problems.length === 0) {
    return check(
      'env',
      'NO_PROXY',
      'pass',
      `${parseNoProxyList(read?.value ?? '').length} entries Go can use`,
      { evidence },
    );
  }
  return check('env', 'NO_PROXY', 'warn', problems[0] as string, {
    evidence: [...evidence, ...problems.slice(1)],
    fix: 'give NO_PROXY and no_proxy the same list, in syntax Go accepts (host, .domain, IP, CIDR, host:port)',
  });
}
