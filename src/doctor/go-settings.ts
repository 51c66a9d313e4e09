/**
 * The go command's module settings as it reads them (cmd/go/internal/cfg, modfetch): where
 * each value comes from (`go env -json`, else the environment, else Go's defaults), the
 * GOPROXY list with its `,` / `|` semantics, GOSUMDB's fields, and GOPRIVATE-style module
 * globs (golang.org/x/mod module.MatchPrefixPatterns). Pure.
 */
import { splitGoproxyList } from '../mirror/goproxy-list.js';
import { matchPath } from '../route/module-glob.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The variables doctor asks `go env -json` for. */
export const GO_ENV_KEYS = Object.freeze([
  'GOPROXY',
  'GOSUMDB',
  'GOPRIVATE',
  'GONOPROXY',
  'GONOSUMDB',
  'GOINSECURE',
  'GOFLAGS',
  'GOVERSION',
] as const);

/** cmd/go's defaults when nothing sets GOPROXY or GOSUMDB. */
export const DEFAULT_GOPROXY = 'https://proxy.golang.org,direct';
export const DEFAULT_GOSUMDB = 'sum.golang.org';

/** Go's module settings as doctor read them. */
export interface GoSettings {
  /** `go env -json`, `environment` (go is not installed) or `defaults`. */
  readonly from: 'go env' | 'environment' | 'defaults';
  readonly goproxy: string;
  readonly gosumdb: string;
  readonly goprivate: string;
  /** GONOPROXY, defaulting to GOPRIVATE as cmd/go does. */
  readonly gonoproxy: string;
  /** GONOSUMDB, defaulting to GOPRIVATE as cmd/go does. */
  readonly gonosumdb: string;
  readonly goinsecure: string;
  readonly goflags: string;
  readonly goversion?: string;
}

/** cmd/go's envOr: an empty value counts as unset. */
function pick(goEnv: Env | undefined, env: Env, key: string, fallback = ''): string {
  const v = goEnv !== undefined ? goEnv[key] : env[key];
  return v === undefined || v === '' ? fallback : v;
}

/** Go's module settings: `go env -json` output when go ran, else the environment. */
export function goSettings(goEnv: Env | undefined, env: Env): GoSettings {
  const goprivate = pick(goEnv, env, 'GOPRIVATE');
  const anySet = GO_ENV_KEYS.some((k) => (env[k] ?? '') !== '');
  const version = goEnv?.GOVERSION;
  return {
    from: goEnv !== undefined ? 'go env' : anySet ? 'environment' : 'defaults',
    goproxy: pick(goEnv, env, 'GOPROXY', DEFAULT_GOPROXY),
    gosumdb: pick(goEnv, env, 'GOSUMDB', DEFAULT_GOSUMDB),
    goprivate,
    gonoproxy: pick(goEnv, env, 'GONOPROXY', goprivate),
    gonosumdb: pick(goEnv, env, 'GONOSUMDB', goprivate),
    goinsecure: pick(goEnv, env, 'GOINSECURE'),
    goflags: pick(goEnv, env, 'GOFLAGS'),
    ...(version !== undefined && version !== '' && { goversion: version }),
  };
}

/** One GOPROXY entry: a URL (and how to fall through after it), `direct` or `off`. */
export type ProxyEntry =
  | { readonly kind: 'url'; readonly url: string; readonly fallBackOnError: boolean }
  | { readonly kind: 'direct' }
  | { readonly kind: 'off' };

/** A parsed GOPROXY value. */
export interface ProxyList {
  readonly entries: readonly ProxyEntry[];
  /** Entries after `direct` or `off`, which go ignores. */
  readonly ignored: readonly string[];
  /** Why go refuses the whole list (every go command then fails), if it does. */
  readonly error?: string;
}

/** One URL entry as proxyList completes and checks it (newProxyRepo's scheme rules). */
function urlEntry(raw: string): { url: string } | { error: string } {
  const absolute = raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw);
  const url = /[.:/]/.test(raw) && !raw.includes(':/') && !absolute ? `https://${raw}` : raw;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return { error: `invalid proxy URL missing scheme: ${raw}` };
  if (!['http', 'https', 'file'].includes(scheme)) {
    return { error: `invalid proxy URL scheme (must be https, http, file): ${raw}` };
  }
  return { url: url.replace(/\/+$/, '') };
}

/** cmd/go's proxyList: entries split on `,` and `|`, `direct` and `off` end the list. */
export function parseGoproxyList(value: string): ProxyList {
  const entries: ProxyEntry[] = [];
  const tokens = splitGoproxyList(value);
  for (const [index, { raw, fallBackOnError }] of tokens.entries()) {
    if (raw === 'direct' || raw === 'off') {
      entries.push({ kind: raw });
      return { entries, ignored: tokens.slice(index + 1).map((t) => t.raw) };
    }
    const parsed = urlEntry(raw);
    if ('error' in parsed) return { entries, ignored: [], error: parsed.error };
    entries.push({ kind: 'url', url: parsed.url, fallBackOnError });
  }
  if (entries.length === 0) {
    return {
      entries,
      ignored: [],
      error: 'GOPROXY list is not the empty string, but contains no entries',
    };
  }
  return { entries, ignored: [] };
}

/** How go reaches the checksum database (modfetch/sumdb.go dbDial). */
export type SumdbSetting =
  | { readonly off: true }
  | { readonly off: false; readonly error: string }
  | {
      readonly off: false;
      readonly name: string;
      /** https://NAME, the direct URL. */
      readonly direct: string;
      /** An explicit URL from GOSUMDB: used as is, never through GOPROXY. */
      readonly explicit?: string;
    };

/** The databases whose keys go knows (knownGOSUMDB, plus the China mirror's alias). */
const KNOWN_SUMDB = new Set(['sum.golang.org', 'sum.golang.google.cn']);

/** Parses GOSUMDB: `off`, `NAME`, `NAME+HASH+KEY`, each optionally followed by a URL. */
export function parseGosumdb(value: string): SumdbSetting {
  if (value === 'off') return { off: true };
  const text =
    value === 'sum.golang.google.cn' ? 'sum.golang.org https://sum.golang.google.cn' : value;
  const fields = text.split(/\s+/).filter((f) => f !== '');
  const [key, url, extra] = fields;
  if (key === undefined) return { off: false, error: 'missing GOSUMDB' };
  if (extra !== undefined) return { off: false, error: 'invalid GOSUMDB: too many fields' };
  const parts = key.split('+');
  const name = parts[0] ?? '';
  const known = KNOWN_SUMDB.has(key);
  if (!known && !(parts.length === 3 && /^[0-9a-f]{8}$/.test(parts[1] ?? '') && parts[2] !== '')) {
    return {
      off: false,
      error: `invalid GOSUMDB: malformed verifier id "${key}" (want NAME+HASH+KEY)`,
    };
  }
  if (!/^[A-Za-z0-9.-]+(?::\d+)?(?:\/[A-Za-z0-9._~-]+)*$/.test(name)) {
    return { off: false, error: `invalid sumdb name (must be host[/path]): ${name}` };
  }
  if (url !== undefined && !/^https?:\/\/[^/\s]+/i.test(url)) {
    return { off: false, error: `invalid GOSUMDB URL: ${url}` };
  }
  return {
    off: false,
    name,
    direct: `https://${name}`,
    ...(url !== undefined && { explicit: url.replace(/\/+$/, '') }),
  };
}

/** Globs go cannot parse: they never match (module.MatchPrefixPatterns ignores the error). */
export function badGlobs(globs: string): string[] {
  return splitGlobs(globs).filter((g) => {
    try {
      matchPath(g, '');
      return false;
    } catch {
      return true;
    }
  });
}

function splitGlobs(globs: string): string[] {
  return globs
    .split(',')
    .map((g) => (g.endsWith('/') ? g.slice(0, -1) : g))
    .filter((g) => g !== '');
}

/** The first glob matching a prefix of `path` with as many elements, as go matches them. */
export function matchPrefixPatterns(globs: string, path: string): string | undefined {
  for (const glob of splitGlobs(globs)) {
    const n = glob.split('/').length;
    const elements = path.split('/');
    if (elements.length < n) continue;
    try {
      if (matchPath(glob, elements.slice(0, n).join('/'))) return glob;
    } catch {
      // A malformed glob matches nothing, as in go.
    }
  }
  return undefined;
}
