/**
 * Pure decisions of the mirror: which module paths are private, what is cached under which
 * key, for how long an answer stays fresh, and how an offline answer for `list` and
 * `@latest` is put together from what the cache holds.
 */
import { matchPath } from '../route/module-glob.js';
import type { MirrorRequest } from './request.js';
import { compare, isCanonicalModuleVersion, isPrerelease, isValid } from './semver.js';

/**
 * golang.org/x/mod/module.MatchPrefixPatterns: a glob with N slashes is matched against
 * the first N+1 elements of the path. A malformed glob matches nothing, as in Go (config
 * parsing refuses them before they get here).
 */
export function matchesPrivate(globs: readonly string[], modulePath: string): string | undefined {
  for (const raw of globs) {
    const glob = raw.endsWith('/') ? raw.slice(0, -1) : raw;
    if (glob === '') continue;
    const elems = glob.split('/').length;
    const parts = modulePath.split('/');
    if (parts.length < elems) continue;
    try {
      if (matchPath(glob, parts.slice(0, elems).join('/'))) return raw;
    } catch {
      continue;
    }
  }
  return undefined;
}

/**
 * Immutable answers are cached forever: `.info/.mod/.zip` of a canonical version, sumdb
 * tiles (the log is append-only, and a partial tile `.p/W` always has the same W hashes),
 * and sumdb lookups (a record never changes; go checks the signed tree it comes with).
 */
export function isImmutable(req: MirrorRequest): boolean {
  switch (req.kind) {
    case 'info':
    case 'mod':
    case 'zip':
      return isCanonicalModuleVersion(req.version ?? '');
    case 'sumdb-tile':
    case 'sumdb-lookup':
      return true;
    default:
      return false;
  }
}

/** The cache key; undefined for requests answered without the cache (`supported`). */
export function cacheKey(req: MirrorRequest): string | undefined {
  if (req.kind === 'sumdb-supported') return undefined;
  if (req.sumdb !== undefined) return `sumdb/${req.sumdb}/${req.upstreamPath}`;
  return `mod/${req.upstreamPath}`;
}

/** The key prefix under which every version file of a module is cached. */
export function versionKeyPrefix(escapedModulePath: string): string {
  return `mod/${escapedModulePath}/@v/`;
}

/** Whether a cached answer may be served without asking upstream. */
export function isFresh(
  req: MirrorRequest,
  storedAt: number,
  now: number,
  mutableTtlMs: number,
): boolean {
  return isImmutable(req) || now - storedAt < mutableTtlMs;
}

/** Versions of `list` text: one per line, blanks dropped. */
export function parseList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * The offline `list`: the last list seen (when any) plus every version whose `.info` is in
 * the cache, without duplicates, in semver order. Only used when upstream cannot answer:
 * a fresh upstream list is served as it is.
 */
export function mergeVersionLists(
  lastList: readonly string[],
  cachedVersions: readonly string[],
): string[] {
  const all = [...new Set([...lastList, ...cachedVersions])];
  return all.sort(compare);
}

/**
 * The offline `@latest`, cmd/go's rule over a list: the highest release version, else the
 * highest prerelease. Undefined when there is no valid version.
 */
export function latestOf(versions: readonly string[]): string | undefined {
  const valid = versions.filter(isValid);
  const releases = valid.filter((v) => !isPrerelease(v));
  const pool = releases.length > 0 ? releases : valid;
  return [...pool].sort(compare).at(-1);
}
