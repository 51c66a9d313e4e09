/**
 * Layer 3, DNS as corproxy's route needs it: the upstream's name (corproxy resolves it),
 * or the target's own name when the route is direct. Through an upstream the upstream
 * resolves the target; that shows up in layer 5. Names go through the `hosts` map first,
 * then the injected resolver, exactly as the dialer does.
 */
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFn } from '../proxy/dial.js';
import { check, type Check, type Status } from './types.js';

export interface DnsFact {
  readonly name: string;
  /** `hosts` (config map), `literal` (an IP address) or `dns` (the resolver). */
  readonly via: 'hosts' | 'literal' | 'dns';
  readonly addresses: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
  readonly ms: number;
}

/** Resolves all addresses of `name` with `lookup`, bounded by `timeoutMs`. */
function lookupAll(lookup: LookupFn, name: string, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEOUT' }));
    }, timeoutMs);
    lookup(name, { all: true }, (err, address) => {
      clearTimeout(timer);
      if (err) return reject(err);
      const list = Array.isArray(address) ? address.map((a) => a.address) : [address];
      resolve(list);
    });
  });
}

export interface DnsDeps {
  readonly hosts: Readonly<Record<string, string>>;
  readonly lookup?: LookupFn;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/** How corproxy's dialer would resolve `name`. Never throws. */
export async function resolveName(name: string, deps: DnsDeps): Promise<DnsFact> {
  const started = deps.now();
  const mapped = deps.hosts[name];
  if (mapped !== undefined) return { name, via: 'hosts', addresses: [mapped], ms: 0 };
  if (isIP(name) !== 0) return { name, via: 'literal', addresses: [name], ms: 0 };
  try {
    const addresses = await lookupAll(
      deps.lookup ?? (dns.lookup as LookupFn),
      name,
      deps.timeoutMs,
    );
    return { name, via: 'dns', addresses, ms: deps.now() - started };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const code = e.code ?? 'ERR_DNS';
    return {
      name,
      via: 'dns',
      addresses: [],
      error: { code, message: e.message },
      ms: deps.now() - started,
    };
  }
}

/** The check for one resolved name; `failStatus` is warn when another hop can serve. */
export function dnsCheck(fact: DnsFact, role: string, failStatus: Status = 'fail'): Check {
  const name = `DNS ${role} ${fact.name}`;
  if (fact.error === undefined) {
    const how =
      fact.via === 'hosts'
        ? 'hosts map'
        : fact.via === 'literal'
          ? 'IP literal'
          : `resolver, ${fact.ms} ms`;
    return check('dns', name, 'pass', `${fact.addresses.join(', ')} (${how})`, {});
  }
  const notFound = ['ENOTFOUND', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA'].includes(fact.error.code);
  const summary = notFound
    ? `${fact.name} does not resolve (${fact.error.code})`
    : `lookup failed: ${fact.error.message}`;
  return check('dns', name, failStatus, summary, {
    evidence: [`resolver error ${fact.error.code}: ${fact.error.message}`],
    fix: notFound
      ? `check the ${role === 'upstream' ? 'upstream host name in the configuration' : 'host name'}, or map it with hosts: {${fact.name}: ADDRESS}`
      : 'check the DNS servers this machine uses (off the corporate network or VPN down?)',
    code: role === 'upstream' ? 'CPX_ERR_UPSTREAM_DNS' : 'CPX_ERR_TARGET_DNS',
  });
}

/** A target the upstream resolves: nothing for corproxy to look up. */
export function resolvedUpstreamCheck(label: string, upstream: string): Check {
  return check(
    'dns',
    `DNS target ${label}`,
    'skip',
    `resolved by the upstream ${upstream} (see layer 5)`,
    {},
  );
}
