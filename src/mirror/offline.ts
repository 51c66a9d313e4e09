/**
 * Answers for `list` and `@latest` when no upstream can answer: the last list seen merged
 * with every version whose `.info` is cached, and the newest cached version as `@latest`
 * (cmd/go's rule: highest release, else highest prerelease). Served as stale.
 */
import type { MirrorCache } from './cache.js';
import { escapeVersion, unescapeVersion } from './escape.js';
import { latestOf, mergeVersionLists, parseList, versionKeyPrefix } from './policy.js';
import type { MirrorRequest } from './request.js';
import { isCanonicalModuleVersion } from './semver.js';

/** The module path as escaped in the request (`github.com/!azure/x`). */
function escapedModule(req: MirrorRequest): string {
  return req.upstreamPath.slice(0, req.upstreamPath.indexOf('/@'));
}

/** Canonical versions of the module whose `.info` is in the cache. */
export function cachedVersions(cache: MirrorCache, req: MirrorRequest): string[] {
  const prefix = versionKeyPrefix(escapedModule(req));
  return cache.keys(prefix).flatMap((key) => {
    const rest = key.slice(prefix.length);
    if (!rest.endsWith('.info')) return [];
    const v = unescapeVersion(rest.slice(0, -'.info'.length));
    return v.ok && isCanonicalModuleVersion(v.value) ? [v.value] : [];
  });
}

/**
 * The offline body for a `list` or `@latest` request, from a stale cached body (when any)
 * and the cached versions; undefined when the cache knows nothing of the module.
 */
export async function offlineBody(
  cache: MirrorCache,
  req: MirrorRequest,
  stale: Buffer | undefined,
): Promise<Buffer | undefined> {
  const versions = cachedVersions(cache, req);
  if (req.kind === 'list') {
    if (stale === undefined && versions.length === 0) return undefined;
    const merged = mergeVersionLists(parseList(stale?.toString('utf8') ?? ''), versions);
    return Buffer.from(merged.map((v) => `${v}\n`).join(''));
  }
  if (req.kind !== 'latest') return stale;
  if (stale !== undefined) return stale;
  const newest = latestOf(versions);
  if (newest === undefined) return undefined;
  const prefix = versionKeyPrefix(escapedModule(req));
  const info = await cache.get(`${prefix}${escapeVersion(newest)}.info`);
  return info?.body;
}
