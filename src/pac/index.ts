/**
 * Wiring of the PAC pieces for a daemon or a one-shot command: source → fetcher →
 * engine → runtime, with DNS from the `hosts` map and the injected resolver.
 */
import dns from 'node:dns';
import os from 'node:os';
import type { Config } from '../config/types.js';
import type { DialDeps } from '../proxy/dial.js';
import { PacEngine } from './engine.js';
import { fetchPac } from './fetch.js';
import { pickMyIp } from './helpers.js';
import { PacRuntime, type RuntimeDeps } from './runtime.js';
import { pacSourceOf } from './source.js';

export { PacRuntime, type PacDecision, type PacStatus } from './runtime.js';
export { NetworkMonitor, type NetworkStatus } from './network.js';

export interface PacDeps {
  readonly dialDeps: DialDeps;
  readonly now: () => number;
  readonly warn: (message: string) => void;
  readonly interfaces?: () => ReturnType<typeof os.networkInterfaces>;
  readonly reachability?: RuntimeDeps['reachability'];
  readonly epoch?: () => number;
}

/** How long one PAC DNS lookup may take before the name counts as unresolvable. */
export const PAC_DNS_TIMEOUT_MS = 2000;

/** IPv4 lookups for the PAC helpers: `hosts` first, then the (injectable) resolver. */
export function pacLookup4(
  hosts: Readonly<Record<string, string>>,
  dialDeps: DialDeps,
): (host: string) => Promise<string | null> {
  const lookup = dialDeps.lookup ?? dns.lookup;
  return (host) => {
    const mapped = hosts[host];
    if (mapped !== undefined) return Promise.resolve(mapped.includes(':') ? null : mapped);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), PAC_DNS_TIMEOUT_MS);
      lookup(host, { family: 4 }, (err, address) => {
        clearTimeout(timer);
        const first = Array.isArray(address) ? address[0]?.address : address;
        resolve(err || typeof first !== 'string' ? null : first);
      });
    });
  };
}

/** The runtime for `config.pac`, not yet started; undefined when no PAC is configured. */
export function createPacRuntime(config: Config, deps: PacDeps): PacRuntime | undefined {
  const source = pacSourceOf(config.pac);
  if (source === undefined) return undefined;
  const interfaces = deps.interfaces ?? os.networkInterfaces;
  const lookup4 = pacLookup4(config.hosts, deps.dialDeps);
  return new PacRuntime(source, {
    now: deps.now,
    warn: deps.warn,
    fetch: (src, previous) =>
      fetchPac(src, previous, {
        hosts: config.hosts,
        timeoutMs: config.limits.connectTimeoutMs,
        ...(deps.dialDeps.lookup ? { lookup: deps.dialDeps.lookup } : {}),
      }),
    compile: (text, name) =>
      PacEngine.compile(text, name, {
        lookup4,
        myIp: () => pickMyIp(interfaces()),
        alert: (message) => deps.warn(`pac alert(): ${message}`),
        now: deps.now,
      }),
    ...(deps.reachability ? { reachability: deps.reachability } : {}),
    ...(deps.epoch ? { epoch: deps.epoch } : {}),
  });
}

/**
 * One PAC answer without a daemon (for `corproxy explain`): loads the configured script,
 * asks it, frees it. undefined when no PAC is configured or it cannot be loaded.
 */
export async function pacAnswerOnce(
  config: Config,
  url: string,
  host: string,
  deps: Partial<PacDeps> = {},
): Promise<string | undefined> {
  const runtime = createPacRuntime(config, {
    dialDeps: deps.dialDeps ?? {},
    now: deps.now ?? Date.now,
    warn: deps.warn ?? (() => undefined),
    ...(deps.interfaces ? { interfaces: deps.interfaces } : {}),
  });
  if (runtime === undefined) return undefined;
  try {
    return await runtime.pacAnswerFor(url, host);
  } finally {
    runtime.stop();
  }
}
