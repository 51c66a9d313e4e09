/**
 * What doctor checks: the modules and URLs named on the command line (one well-known
 * public module by default), and the hosts `go` would contact for them: each GOPROXY
 * entry up to `direct`/`off`, the checksum database, and the URLs. Pure.
 */
import { isIP } from 'node:net';
import { CorproxyError } from '../errors.js';
import { checkModulePath } from '../mirror/escape.js';
import { formatAuthority, splitHostPort, type Target } from '../proxy/http1.js';
import { goNeverProxies } from '../route/no-proxy.js';
import type { ProxyList, SumdbSetting } from './go-settings.js';

/** The module checked when none is named: public, long-lived, served by every proxy. */
export const DEFAULT_MODULE = 'golang.org/x/text';

export interface DoctorArgs {
  readonly modules: readonly string[];
  readonly urls: readonly string[];
}

/** Splits `MODULE|URL...` arguments; a module path must be valid (module.CheckPath). */
export function parseDoctorArgs(args: readonly string[]): DoctorArgs {
  const modules: string[] = [];
  const urls: string[] = [];
  for (const arg of args) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) {
      urls.push(checkUrl(arg));
      continue;
    }
    const why = checkModulePath(arg);
    if (why !== undefined) {
      throw new CorproxyError(
        'CPX_ERR_USAGE',
        `"${arg}" is neither a module path (${why}) nor an http(s):// URL`,
      );
    }
    modules.push(arg);
  }
  return { modules: modules.length > 0 ? modules : [DEFAULT_MODULE], urls };
}

function checkUrl(arg: string): string {
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    throw new CorproxyError('CPX_ERR_USAGE', `"${arg}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CorproxyError('CPX_ERR_USAGE', `"${arg}": only http:// and https:// URLs`);
  }
  return url.href;
}

/** One host go contacts, and why. */
export interface GoHost {
  readonly target: Target;
  readonly scheme: 'http' | 'https';
  /** Loopback: go never proxies it, and corproxy's route is not involved. */
  readonly loopback: boolean;
  /** What go contacts it for: `GOPROXY entry`, `checksum database`, `URL argument`. */
  readonly roles: readonly string[];
  /**
   * Set when go may never contact the host: the checksum database, which go reads through
   * a GOPROXY entry that serves /sumdb/ (proxy.golang.org does). Its failures are then
   * warnings, and layer 7 tells which way go really goes.
   */
  readonly optional?: string;
}

const SUMDB_ROLE = 'checksum database';
const VIA_PROXY =
  'go reads the checksum database through a GOPROXY entry that serves /sumdb/ (layer 7 shows whether one does)';

/** The host and port of an http(s) URL, host normalised as corproxy routes it. */
export function urlTarget(text: string): { target: Target; scheme: 'http' | 'https' } | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const bare = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const authority = isIP(bare) === 6 ? `[${bare}]` : bare;
  try {
    const target = splitHostPort(
      authority,
      url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
    );
    return { target, scheme };
  } catch {
    return undefined;
  }
}

/** The role of a host that only corproxy's mirror contacts (go talks to the mirror). */
export const MIRROR_ROLE = 'corproxy mirror upstream';

/** Whether go itself contacts the host (not only corproxy's mirror on its behalf). */
export function goContacts(h: GoHost): boolean {
  return h.roles.some((r) => r !== MIRROR_ROLE);
}

/**
 * The hosts go would contact, each once, in the order go contacts them; then the
 * upstreams of corproxy's mirror when GOPROXY uses it.
 */
export function goHosts(
  list: ProxyList,
  sumdb: SumdbSetting,
  urls: readonly string[],
  mirrorUpstreams: readonly string[] = [],
): GoHost[] {
  const out = new Map<string, { target: Target; scheme: 'http' | 'https'; roles: string[] }>();
  const add = (text: string, role: string): void => {
    const found = urlTarget(text);
    if (found === undefined) return;
    const key = `${found.scheme}://${formatAuthority(found.target)}`;
    const entry = out.get(key) ?? { ...found, roles: [] };
    if (!entry.roles.includes(role)) entry.roles.push(role);
    out.set(key, entry);
  };
  for (const e of list.entries) if (e.kind === 'url') add(e.url, 'GOPROXY entry');
  if (!sumdb.off && 'name' in sumdb) add(sumdb.explicit ?? sumdb.direct, SUMDB_ROLE);
  for (const u of urls) add(u, 'URL argument');
  for (const u of mirrorUpstreams) add(u, MIRROR_ROLE);
  const viaProxy =
    list.entries.some((e) => e.kind === 'url') && 'name' in sumdb && sumdb.explicit === undefined;
  return [...out.values()].map((h) => ({
    ...h,
    loopback: goNeverProxies(h.target.host),
    ...(viaProxy && h.roles.every((r) => r === SUMDB_ROLE) && { optional: VIA_PROXY }),
  }));
}

/** `host:port` of a Go host, for check names. */
export function hostLabel(h: { target: Target }): string {
  return formatAuthority(h.target);
}
