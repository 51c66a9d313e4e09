/**
 * The PAC helper functions whose well-known implementations get details wrong
 * (px#210: isInNet/isResolvable), or reach the network on their own: corproxy supplies
 * these to the sandbox and keeps the evaluator's pure ones (dateRange, dnsDomainIs, ...).
 *
 * Every DNS answer comes from `resolve`, which is synchronous: the engine pre-resolves
 * names and re-runs the script when it meets a name it has not resolved yet (engine.ts),
 * so scripts never wait on DNS inside the sandbox and nothing needs an async rewrite.
 */
import net from 'node:net';
import type os from 'node:os';

export interface HelperDeps {
  /** IPv4 address of a name, null when it does not resolve; may throw to ask for a lookup. */
  readonly resolve: (host: string) => string | null;
  /** The machine's address as myIpAddress() reports it. */
  readonly myIp: () => string;
  /** Where `alert()` output goes (the daemon log). */
  readonly alert: (message: string) => void;
}

type Helper = (...args: unknown[]) => unknown;

/** a.b.c.d → unsigned 32-bit number; undefined for anything else. */
export function ipv4ToNumber(text: unknown): number | undefined {
  if (typeof text !== 'string' || net.isIPv4(text) === false) return undefined;
  return text.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Mozilla's shell expression match: `*` any run, `?` one character, all else literal. */
export function shExpMatch(str: unknown, pattern: unknown): boolean {
  if (typeof str !== 'string' || typeof pattern !== 'string') return false;
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}/-]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's').test(str);
}

function dnsResolve(deps: HelperDeps, host: unknown): string | null {
  if (typeof host !== 'string' || host === '') return null;
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIPv4(bare)) return bare;
  // IPv6 literals are not IPv4 answers: the classic helpers are IPv4-only.
  if (net.isIPv6(bare)) return null;
  return deps.resolve(bare.toLowerCase());
}

/** isInNet(host, pattern, mask): the host (resolved if it is a name) masked equals pattern masked. */
function isInNet(deps: HelperDeps, host: unknown, pattern: unknown, mask: unknown): boolean {
  const p = ipv4ToNumber(pattern);
  const m = ipv4ToNumber(mask);
  if (p === undefined || m === undefined) return false;
  const ip = ipv4ToNumber(dnsResolve(deps, host));
  if (ip === undefined) return false;
  // >>> 0 keeps the AND unsigned (JS bitwise operators work on signed 32-bit values).
  return (ip & m) >>> 0 === (p & m) >>> 0;
}

/** The sandbox functions corproxy provides, by their PAC names. */
export function pacHelpers(deps: HelperDeps): Record<string, Helper> {
  return {
    dnsResolve: (host) => dnsResolve(deps, host),
    isResolvable: (host) => dnsResolve(deps, host) !== null,
    isInNet: (host, pattern, mask) => isInNet(deps, host, pattern, mask),
    myIpAddress: () => deps.myIp(),
    shExpMatch: (str, pattern) => shExpMatch(str, pattern),
    convert_addr: (ip) => ipv4ToNumber(ip) ?? 0,
    alert: (message) => {
      deps.alert(String(message));
    },
  };
}

/**
 * The address myIpAddress() returns: the first non-internal IPv4 address, preferring
 * routable ones over link-local (169.254/16). Browsers find it by asking the OS which
 * source address a route to the internet would use; corproxy sends nothing for it.
 */
export function pickMyIp(interfaces: ReturnType<typeof os.networkInterfaces>): string {
  const v4 = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
  return v4.find((a) => !a.startsWith('169.254.')) ?? v4[0] ?? '127.0.0.1';
}

/** A stable fingerprint of the non-internal addresses: it changes when the network does. */
export function interfacesFingerprint(interfaces: ReturnType<typeof os.networkInterfaces>): string {
  return Object.entries(interfaces)
    .flatMap(([name, list]) =>
      (list ?? []).filter((a) => !a.internal).map((a) => `${name}=${a.cidr ?? a.address}`),
    )
    .sort()
    .join(',');
}
