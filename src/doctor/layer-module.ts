/**
 * Layer 7, the module proxy protocol as go speaks it (`go help goproxy`): `@v/list` and
 * `@latest` over the GOPROXY list with cmd/go's TryProxies rules (after `,` only 404 and
 * 410 fall through, after `|` any error does; `direct` hands over to the VCS, `off`
 * stops), then the checksum database: `<proxy>/sumdb/<name>/supported` decides whether a
 * proxy serves it (modfetch/sumdb.go initBase), then `/lookup/<module>@<version>` or
 * `/latest`. The GETs are injected; everything else is pure.
 */
import { STATUS_CODES } from 'node:http';
import { escapePath, escapeVersion } from '../mirror/escape.js';
import { compare, isValid, isPrerelease } from '../mirror/semver.js';
import {
  matchPrefixPatterns,
  type GoSettings,
  type ProxyList,
  type SumdbSetting,
} from './go-settings.js';
import { check, type Check } from './types.js';

/** What one GET came back with. */
export type Fetched =
  | { readonly status: number; readonly body: string; readonly ms: number }
  | { readonly error: string; readonly code?: string; readonly ms: number }
  | { readonly skipped: string };

/** One GET as go would send it; never rejects. */
export type Get = (url: string) => Promise<Fetched>;

interface Walk {
  readonly lines: string[];
  /** ok: a 200; direct/off: the list handed over; notfound: only 404/410; error; skipped. */
  readonly result: 'ok' | 'direct' | 'off' | 'notfound' | 'error' | 'skipped';
  readonly body?: string;
  readonly url?: string;
  /** The most helpful failure, as go reports it. */
  readonly failure?: string;
  readonly skipped?: string;
  readonly code?: string;
}

function statusText(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

/** cmd/go's TryProxies for one path. */
export async function tryProxies(list: ProxyList, path: string, get: Get): Promise<Walk> {
  const lines: string[] = [];
  let failure: string | undefined;
  let code: string | undefined;
  let sawError = false;
  for (const e of list.entries) {
    if (e.kind !== 'url')
      return { lines, result: e.kind, ...(failure !== undefined && { failure }) };
    const url = `${e.url}/${path}`;
    const r = await get(url);
    if ('skipped' in r) return { lines, result: 'skipped', skipped: r.skipped, url };
    if ('status' in r && r.status === 200) {
      lines.push(`GET ${url}: 200 (${r.ms} ms)`);
      return { lines, result: 'ok', body: r.body, url };
    }
    const notExist = 'status' in r && (r.status === 404 || r.status === 410);
    const why = 'status' in r ? statusText(r.status) : r.error;
    lines.push(`GET ${url}: ${why} (${r.ms} ms)`);
    if (!notExist) {
      sawError = true;
      failure = `reading ${url}: ${why}`;
      code = 'code' in r ? r.code : undefined;
    } else if (!sawError) failure = `reading ${url}: ${why}`;
    if (!notExist && !e.fallBackOnError)
      return { lines, result: 'error', failure, ...(code && { code }) };
  }
  return {
    lines,
    result: sawError ? 'error' : 'notfound',
    ...(failure && { failure }),
    ...(code && { code }),
  };
}

/** The highest release version of a list (else the highest prerelease). */
export function pickVersion(listBody: string): string | undefined {
  const all = listBody
    .split('\n')
    .map((l) => l.trim())
    .filter((v) => isValid(v));
  const sorted = all.sort(compare);
  return sorted.filter((v) => !isPrerelease(v)).at(-1) ?? sorted.at(-1);
}

function latestVersion(body: string | undefined): string | undefined {
  try {
    const v = (JSON.parse(body ?? '') as { Version?: unknown }).Version;
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function walkCheck(name: string, walk: Walk, okSummary: string, softFail: boolean): Check {
  const evidence = walk.lines;
  switch (walk.result) {
    case 'ok':
      return check('goproxy', name, 'pass', okSummary, { evidence });
    case 'skipped':
      return check('goproxy', name, 'skip', walk.skipped ?? 'skipped', { evidence });
    case 'direct':
      return check(
        'goproxy',
        name,
        'warn',
        'no GOPROXY entry has it; go falls back to direct (the VCS, not checked here)',
        {
          evidence: [...evidence, ...(walk.failure ? [walk.failure] : [])],
          fix: 'if the module is private, list it in GOPRIVATE so go asks its VCS first',
        },
      );
    case 'off':
      return check('goproxy', name, 'fail', 'module lookup disabled by GOPROXY=off', {
        evidence,
        fix: 'name a module proxy in GOPROXY',
      });
    case 'notfound':
      return check(
        'goproxy',
        name,
        softFail ? 'warn' : 'fail',
        `not found: ${walk.failure ?? '404'}`,
        {
          evidence,
          fix: 'check the module path; a private module belongs in GOPRIVATE (go then fetches it from its VCS)',
        },
      );
    default:
      return check('goproxy', name, softFail ? 'warn' : 'fail', walk.failure ?? 'error', {
        evidence,
        fix: 'that module proxy fails: go stops there (after "," only 404 and 410 fall through); ask its operators, or separate the entries with "|" to fall back on errors',
        ...(walk.code && { code: walk.code }),
      });
  }
}

/** @v/list and @latest for one module. */
export async function moduleChecks(
  module: string,
  s: GoSettings,
  list: ProxyList,
  get: Get,
): Promise<{ checks: Check[]; version?: string }> {
  const private_ = matchPrefixPatterns(s.gonoproxy, module);
  const names = [`${module}/@v/list`, `${module}/@latest`];
  if (private_ !== undefined) {
    const why = `GONOPROXY/GOPRIVATE "${private_}": go fetches it from its VCS, not through GOPROXY`;
    return { checks: names.map((n) => check('goproxy', n, 'skip', why, {})) };
  }
  if (list.error !== undefined) {
    return {
      checks: names.map((n) => check('goproxy', n, 'skip', 'GOPROXY is invalid (layer 1)', {})),
    };
  }
  const escaped = escapePath(module);
  const listWalk = await tryProxies(list, `${escaped}/@v/list`, get);
  const listed = listWalk.result === 'ok' ? pickVersion(listWalk.body ?? '') : undefined;
  const count = (listWalk.body ?? '').split('\n').filter((l) => l.trim() !== '').length;
  const listCheck = walkCheck(
    names[0] as string,
    listWalk,
    `${count} version(s)${listed ? `, newest ${listed}` : ''}`,
    false,
  );
  const latestWalk = await tryProxies(list, `${escaped}/@latest`, get);
  const latest = latestVersion(latestWalk.body);
  const soft = listed !== undefined;
  let latestCheck = walkCheck(names[1] as string, latestWalk, `Version ${latest ?? '?'}`, soft);
  if (soft && latestWalk.result === 'notfound') {
    latestCheck = check(
      'goproxy',
      names[1] as string,
      'pass',
      'not served; go uses @v/list, which has versions',
      { evidence: latestWalk.lines },
    );
  }
  const version = listed ?? latest;
  return { checks: [listCheck, latestCheck], ...(version !== undefined && { version }) };
}

/** Where go reads the checksum database: an explicit URL, a proxy that supports it, or direct. */
export async function sumdbBase(
  db: { name: string; direct: string; explicit?: string },
  list: ProxyList,
  get: Get,
): Promise<{ base?: string; lines: string[]; failure?: string; skipped?: string }> {
  if (db.explicit !== undefined)
    return { base: db.explicit, lines: [`GOSUMDB names ${db.explicit}: used as is`] };
  const walk = await tryProxies(list, `sumdb/${db.name}/supported`, get);
  if (walk.result === 'skipped') return { lines: walk.lines, skipped: walk.skipped ?? 'skipped' };
  if (walk.result === 'ok' && walk.url !== undefined) {
    return {
      base: walk.url.replace(/\/supported$/, ''),
      lines: [...walk.lines, 'a GOPROXY entry serves the checksum database'],
    };
  }
  if (walk.result === 'error') return { lines: walk.lines, failure: walk.failure ?? 'error' };
  return {
    base: db.direct,
    lines: [...walk.lines, `no GOPROXY entry serves it: go connects to ${db.direct}`],
  };
}

/** The checksum database for one module: base, then lookup (or /latest). */
export async function sumdbCheck(
  module: string,
  version: string | undefined,
  s: GoSettings,
  sumdb: SumdbSetting,
  list: ProxyList,
  get: Get,
): Promise<Check> {
  const name = `checksum database for ${module}`;
  if (sumdb.off) return check('goproxy', name, 'skip', 'GOSUMDB=off (see layer 1)', {});
  if ('error' in sumdb) return check('goproxy', name, 'skip', 'GOSUMDB is invalid (layer 1)', {});
  if (list.error !== undefined) {
    return check('goproxy', name, 'skip', 'GOPROXY is invalid (layer 1)', {});
  }
  const exempt = matchPrefixPatterns(s.gonosumdb, module);
  if (exempt !== undefined)
    return check(
      'goproxy',
      name,
      'skip',
      `GONOSUMDB/GOPRIVATE "${exempt}": go does not verify it`,
      {},
    );
  const found = await sumdbBase(sumdb, list, get);
  if (found.skipped !== undefined)
    return check('goproxy', name, 'skip', found.skipped, { evidence: found.lines });
  if (found.base === undefined) {
    return check('goproxy', name, 'fail', `checksum database unavailable: ${found.failure}`, {
      evidence: found.lines,
      fix: 'a GOPROXY entry answered /sumdb/…/supported with an error, so go refuses to verify: fix that proxy, or let it answer 404',
    });
  }
  let path = 'latest';
  try {
    if (version !== undefined) path = `lookup/${escapePath(module)}@${escapeVersion(version)}`;
  } catch {
    path = 'latest';
  }
  const url = `${found.base}/${path}`;
  const r = await get(url);
  if ('skipped' in r) return check('goproxy', name, 'skip', r.skipped, { evidence: found.lines });
  const why = 'status' in r ? statusText(r.status) : r.error;
  const evidence = [...found.lines, `GET ${url}: ${why} (${r.ms} ms)`];
  if ('status' in r && r.status === 200)
    return check('goproxy', name, 'pass', `${sumdb.name} answers /${path.split('/')[0]}`, {
      evidence,
    });
  const notFound = 'status' in r && (r.status === 404 || r.status === 410);
  return check('goproxy', name, 'fail', `verifying ${module}: reading ${url}: ${why}`, {
    evidence,
    fix: notFound
      ? `the log does not know ${module}${version ? `@${version}` : ''}: if it is a private module, add it to GOPRIVATE`
      : 'the checksum database is unreachable over this route; layers 3-6 name the hop',
    ...('code' in r && r.code !== undefined && { code: r.code }),
  });
}
