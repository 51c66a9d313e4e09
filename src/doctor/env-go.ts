/**
 * Layer 1, go's own settings: the GOPROXY list (`,` falls through only on 404/410, `|` on
 * any error, `direct` and `off` end it), GOSUMDB, the private-module globs and the
 * settings that weaken verification (GOINSECURE, GOFLAGS=-insecure). Fixes never switch
 * the checksum database or TLS verification off. Pure.
 */
import {
  badGlobs,
  matchPrefixPatterns,
  type GoSettings,
  type ProxyList,
  type SumdbSetting,
} from './go-settings.js';
import { check, type Check } from './types.js';

function describeEntries(list: ProxyList): string[] {
  return list.entries.map((e, i) => {
    if (e.kind === 'direct') return `${i + 1}. direct: fetch from the module's VCS`;
    if (e.kind === 'off') return `${i + 1}. off: module downloads are disallowed`;
    const last = i === list.entries.length - 1;
    const on = last
      ? ''
      : e.fallBackOnError
        ? ' (| next on any error)'
        : ' (, next only on 404/410)';
    return `${i + 1}. ${e.url}${on}`;
  });
}

/** GOPROXY syntax and meaning. */
export function goproxyCheck(s: GoSettings, list: ProxyList): Check {
  const evidence = [`GOPROXY=${s.goproxy} (from ${s.from})`, ...describeEntries(list)];
  const reset = 'go env -w GOPROXY=https://proxy.golang.org,direct';
  if (list.error !== undefined) {
    return check('env', 'GOPROXY', 'fail', `go refuses the list: ${list.error}`, {
      evidence,
      fix: 'write a comma-separated list of https:// URLs, optionally ending in direct',
      commands: [reset],
    });
  }
  if (list.entries[0]?.kind === 'off') {
    return check('env', 'GOPROXY', 'fail', 'GOPROXY=off: go downloads no module at all', {
      evidence,
      fix: 'name a module proxy (or corproxy’s mirror) instead of off',
      commands: [reset],
    });
  }
  if (list.ignored.length > 0) {
    return check(
      'env',
      'GOPROXY',
      'warn',
      `entries after ${list.entries.at(-1)?.kind} are ignored: ${list.ignored.join(', ')}`,
      {
        evidence,
        fix: 'put direct (or off) last; go never reads past it',
      },
    );
  }
  const proxies = list.entries.filter((e) => e.kind === 'url').length;
  return check(
    'env',
    'GOPROXY',
    'pass',
    `${proxies} module prox${proxies === 1 ? 'y' : 'ies'}${list.entries.some((e) => e.kind === 'direct') ? ', then direct' : ''}`,
    { evidence },
  );
}

/** GOSUMDB: on, well-formed. Turning it off is never the fix. */
export function gosumdbCheck(s: GoSettings, sumdb: SumdbSetting): Check {
  const evidence = [`GOSUMDB=${s.gosumdb} (from ${s.from})`];
  if (sumdb.off) {
    return check(
      'env',
      'GOSUMDB',
      'warn',
      'checksum verification is off: downloaded modules are not checked against the log',
      {
        evidence,
        fix: 'turn the checksum database back on; with corproxy’s bundle or mirror it works behind the proxy',
        commands: ['go env -u GOSUMDB'],
      },
    );
  }
  if ('error' in sumdb) {
    return check('env', 'GOSUMDB', 'fail', sumdb.error, {
      evidence,
      fix: 'use the default (sum.golang.org) or NAME+HASH+KEY [URL]',
      commands: ['go env -u GOSUMDB'],
    });
  }
  const where =
    sumdb.explicit !== undefined
      ? `${sumdb.explicit} (explicit URL: never through GOPROXY)`
      : sumdb.direct;
  return check('env', 'GOSUMDB', 'pass', `${sumdb.name} at ${where}`, { evidence });
}

/** GOPRIVATE, GONOPROXY and GONOSUMDB, and what they mean for the modules checked. */
export function privateCheck(s: GoSettings, modules: readonly string[]): Check {
  const name = 'GOPRIVATE/GONOPROXY/GONOSUMDB';
  const vars: Array<[string, string]> = [
    ['GOPRIVATE', s.goprivate],
    ['GONOPROXY', s.gonoproxy],
    ['GONOSUMDB', s.gonosumdb],
  ];
  const evidence = vars.filter(([, v]) => v !== '').map(([k, v]) => `${k}=${v}`);
  const bad = [...new Set(vars.flatMap(([, v]) => badGlobs(v)))];
  const notes: string[] = [];
  for (const m of modules) {
    const noProxy = matchPrefixPatterns(s.gonoproxy, m);
    const noSum = matchPrefixPatterns(s.gonosumdb, m);
    if (noProxy !== undefined)
      notes.push(`${m}: fetched directly from its VCS (GONOPROXY "${noProxy}")`);
    if (noSum !== undefined && noProxy === undefined) {
      notes.push(
        `${m}: fetched through GOPROXY but not verified against the checksum database (GONOSUMDB "${noSum}")`,
      );
    }
  }
  if (bad.length > 0) {
    return check(
      'env',
      name,
      'warn',
      `globs go cannot parse, which match nothing: ${bad.join(', ')}`,
      {
        evidence: [...evidence, ...notes],
        fix: 'fix the glob syntax (path.Match: *, ?, [...])',
      },
    );
  }
  const unverified = notes.filter((n) => n.includes('GONOSUMDB'));
  if (unverified.length > 0) {
    return check('env', name, 'warn', 'public modules skip checksum verification', {
      evidence: [...evidence, ...notes],
      fix: 'list only private module paths in GOPRIVATE, and leave GONOSUMDB unset',
      commands: ['go env -u GONOSUMDB'],
    });
  }
  const summary =
    evidence.length === 0
      ? 'unset: every module goes through GOPROXY and the checksum database'
      : `${notes.length} of ${modules.length} checked module(s) are private`;
  return check('env', name, 'pass', summary, { evidence: [...evidence, ...notes] });
}

/** GOINSECURE and GOFLAGS: settings that switch TLS verification off. */
export function insecureCheck(s: GoSettings): Check {
  const name = 'GOINSECURE/GOFLAGS';
  const evidence = [`GOINSECURE=${s.goinsecure}`, `GOFLAGS=${s.goflags}`].filter(
    (l) => !l.endsWith('='),
  );
  const flags = s.goflags.split(/\s+/).filter((f) => f !== '');
  const insecureFlag = flags.find((f) => /^--?insecure(=|$)/.test(f));
  if (s.goinsecure !== '') {
    return check('env', name, 'warn', `GOINSECURE skips TLS verification for ${s.goinsecure}`, {
      evidence,
      fix: 'trust the corporate CA instead (corproxy trust, then SSL_CERT_FILE), and unset GOINSECURE',
      commands: ['go env -u GOINSECURE'],
    });
  }
  if (insecureFlag !== undefined) {
    return check(
      'env',
      name,
      'warn',
      `GOFLAGS holds ${insecureFlag}, which skips TLS verification`,
      {
        evidence,
        fix: 'remove it from GOFLAGS and trust the corporate CA instead (corproxy trust)',
      },
    );
  }
  return check(
    'env',
    name,
    'pass',
    evidence.length === 0 ? 'unset' : 'no setting weakens verification',
    { evidence },
  );
}
