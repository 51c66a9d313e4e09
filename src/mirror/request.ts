/**
 * Request paths under `/mod/`: the GOPROXY protocol (`go help goproxy`) and the checksum
 * database proxy protocol (`<proxy>/sumdb/<name>/...`, golang.org/x/mod/sumdb and
 * cmd/go's initBase). Pure: a path in, a typed request or a refusal out.
 */
import { unescapePath, unescapeVersion } from './escape.js';

export type MirrorKind =
  | 'list'
  | 'info'
  | 'mod'
  | 'zip'
  | 'latest'
  | 'sumdb-supported'
  | 'sumdb-latest'
  | 'sumdb-lookup'
  | 'sumdb-tile';

export interface MirrorRequest {
  readonly kind: MirrorKind;
  /** Module path, unescaped (module kinds and sumdb-lookup). */
  readonly module?: string;
  /** Version, unescaped (info, mod, zip, sumdb-lookup). */
  readonly version?: string;
  /** Checksum database name (sumdb kinds). */
  readonly sumdb?: string;
  /**
   * The path to request from the upstream, below its base URL and still escaped:
   * `github.com/!azure/x/@v/v1.0.0.zip`, or `lookup/...`, `tile/...` for a sumdb.
   */
  readonly upstreamPath: string;
}

export type ParsedPath =
  | { readonly ok: true; readonly request: MirrorRequest }
  | { readonly ok: false; readonly status: 400 | 404; readonly reason: string };

/** Where the mirror lives on corproxy's listeners. */
export const MIRROR_PREFIX = '/mod/';

/** tlog.ParseTilePath shapes: tile/H/L/[xNNN/]*NNN[.p/W], L a level or `data`. */
const TILE = /^tile\/[0-9]+\/(?:[0-9]+|data)(?:\/x[0-9]{3})*\/[0-9]{3}(?:\.p\/[0-9]+)?$/;

function notFound(reason: string): ParsedPath {
  return { ok: false, status: 404, reason };
}

function bad(reason: string): ParsedPath {
  return { ok: false, status: 400, reason };
}

/** Percent-decodes each segment; a decoded `/` would change the path's shape, so it is refused. */
function decodeSegments(path: string): string | undefined {
  const parts = path.split('/');
  const out: string[] = [];
  for (const part of parts) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      return undefined;
    }
    if (decoded.includes('/')) return undefined;
    out.push(decoded);
  }
  return out.join('/');
}

function moduleRequest(path: string): ParsedPath {
  const at = path.indexOf('/@');
  if (at <= 0) return notFound(`not a module proxy path: /mod/${path}`);
  const escapedModule = path.slice(0, at);
  const mod = unescapePath(escapedModule);
  if (!mod.ok) return bad(mod.why);
  const rest = path.slice(at + 1);
  const base = { module: mod.value, upstreamPath: path };
  if (rest === '@v/list') return { ok: true, request: { kind: 'list', ...base } };
  if (rest === '@latest') return { ok: true, request: { kind: 'latest', ...base } };
  const m = /^@v\/(.+)\.(info|mod|zip)$/.exec(rest);
  if (m === null) return notFound(`not a module proxy path: /mod/${path}`);
  const version = unescapeVersion(m[1] ?? '');
  if (!version.ok) return bad(version.why);
  const kind = m[2] as 'info' | 'mod' | 'zip';
  return { ok: true, request: { kind, ...base, version: version.value } };
}

function sumdbRequest(name: string, rest: string): ParsedPath {
  const base = { sumdb: name, upstreamPath: rest };
  if (rest === 'supported') return { ok: true, request: { kind: 'sumdb-supported', ...base } };
  if (rest === 'latest') return { ok: true, request: { kind: 'sumdb-latest', ...base } };
  if (TILE.test(rest)) return { ok: true, request: { kind: 'sumdb-tile', ...base } };
  const m = /^lookup\/([^@]+)@([^@/]+)$/.exec(rest);
  if (m === null) return notFound(`not a checksum database path: /mod/sumdb/${name}/${rest}`);
  const mod = unescapePath(m[1] ?? '');
  if (!mod.ok) return bad(mod.why);
  const version = unescapeVersion(m[2] ?? '');
  if (!version.ok) return bad(version.why);
  return {
    ok: true,
    request: { kind: 'sumdb-lookup', ...base, module: mod.value, version: version.value },
  };
}

/**
 * Parses the URL path of a request to the mirror (`/mod/...`, query already removed).
 * `sumdbNames` are the configured checksum databases: any other name is 404, so go falls
 * back to its own route to that database and corproxy never answers for it.
 */
export function parseMirrorPath(urlPath: string, sumdbNames: readonly string[]): ParsedPath {
  if (!urlPath.startsWith(MIRROR_PREFIX)) return notFound(`not under ${MIRROR_PREFIX}`);
  const path = decodeSegments(urlPath.slice(MIRROR_PREFIX.length));
  if (path === undefined) return bad('invalid percent-encoding in the request path');
  if (!path.startsWith('sumdb/')) return moduleRequest(path);
  const rest = path.slice('sumdb/'.length);
  // Names may hold a path (host[/path]): the longest configured name that prefixes wins.
  const name = [...sumdbNames]
    .sort((a, b) => b.length - a.length)
    .find((n) => rest.startsWith(`${n}/`));
  if (name === undefined) {
    const asked = rest.split('/')[0] ?? '';
    return notFound(`checksum database "${asked}" is not configured (mirror.sumdb)`);
  }
  return sumdbRequest(name, rest.slice(name.length + 1));
}
