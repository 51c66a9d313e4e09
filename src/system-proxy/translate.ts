/**
 * System proxy settings → corproxy config values: proxies become `upstream` URLs, the
 * bypass list becomes `direct` entries in Go's NO_PROXY syntax, the PAC URL becomes
 * `pac`. Entries NO_PROXY cannot express are dropped with a note, never guessed. Pure.
 */
import type { ImportedSettings } from '../config/pac.js';
import { compileNoProxyPattern } from '../route/no-proxy.js';
import type { SystemProxy } from './types.js';

export interface Translation {
  readonly settings: ImportedSettings;
  /** One line per setting that could not be imported. */
  readonly notes: readonly string[];
}

/** `10.*`, `10.1.*.*`, `192.168.1.*` → CIDR; undefined when it is not that shape. */
function ipv4Wildcard(entry: string): string | undefined {
  const parts = entry.split('.');
  if (parts.length > 4 || parts[parts.length - 1] !== '*') return undefined;
  const fixed = parts.slice(
    0,
    parts.findIndex((p) => p === '*'),
  );
  const rest = parts.slice(fixed.length);
  if (fixed.length === 0 || rest.some((p) => p !== '*')) return undefined;
  if (!fixed.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  const octets = [...fixed, '0', '0', '0', '0'].slice(0, 4);
  return `${octets.join('.')}/${fixed.length * 8}`;
}

/** macOS writes `169.254/16`: a CIDR with trailing zero octets left out. */
function shortCidr(entry: string): string | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){0,2})\/(\d{1,2})$/.exec(entry);
  if (m === null) return undefined;
  const octets = [...m[1]!.split('.'), '0', '0', '0'].slice(0, 4);
  return `${octets.join('.')}/${m[2]}`;
}

/** One OS bypass entry as a NO_PROXY entry; undefined when NO_PROXY cannot say it. */
export function bypassToNoProxy(raw: string): string | undefined {
  const entry = raw
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .toLowerCase();
  if (entry === '') return undefined;
  const candidate = ipv4Wildcard(entry) ?? shortCidr(entry) ?? entry;
  // `*` alone and a leading `*.` are NO_PROXY syntax; any other wildcard is not.
  if (candidate !== '*' && candidate.replace(/^\*\./, '').includes('*')) return undefined;
  try {
    compileNoProxyPattern(candidate);
    return candidate;
  } catch {
    return undefined;
  }
}

export function translate(proxy: SystemProxy): Translation {
  const notes = [...proxy.notes];
  const direct: string[] = [];
  for (const entry of proxy.bypass) {
    const translated = bypassToNoProxy(entry);
    if (translated === undefined)
      notes.push(`bypass entry "${entry}" has no NO_PROXY equivalent; not imported`);
    else if (!direct.includes(translated)) direct.push(translated);
  }
  if (proxy.bypassPlainNames) {
    notes.push(
      'bypass for plain host names (no dot) has no NO_PROXY equivalent; list such hosts in direct',
    );
  }
  const settings: ImportedSettings = {
    source: proxy.source,
    ...(proxy.proxies.length > 0 ? { upstream: proxy.proxies.map((p) => `http://${p}`) } : {}),
    ...(direct.length > 0 ? { direct } : {}),
    ...(proxy.pac !== undefined ? { pac: proxy.pac } : {}),
  };
  return { settings, notes };
}
