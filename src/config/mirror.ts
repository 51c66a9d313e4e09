/**
 * The `mirror` section of the configuration (docs/mirror.md): the local Go module mirror
 * under `/mod/`. parse.ts hands over the value readers so every key is validated and
 * reported like the rest of the configuration.
 */
import net from 'node:net';
import { CorproxyError } from '../errors.js';
import { parseGoproxyList, type GoproxyEntry } from '../mirror/goproxy-list.js';
import { compileModuleGlob } from '../route/module-glob.js';
import type { Origin, Sourced } from './layers.js';
import type { ListenAddress } from './types.js';

export type { GoproxyEntry } from '../mirror/goproxy-list.js';

/** A checksum database the mirror proxies: go's name for it and where it really lives. */
export interface SumdbConfig {
  /** The name in GOSUMDB and in `/sumdb/<name>/` (host[/path]), e.g. `sum.golang.org`. */
  readonly name: string;
  /** Base URL, e.g. `https://sum.golang.org`. */
  readonly url: string;
}

export interface MirrorConfig {
  readonly enabled: boolean;
  /** Module proxies in GOPROXY order and semantics (`,` falls through on 404/410, `|` on any error). */
  readonly upstream: readonly GoproxyEntry[];
  readonly sumdb: readonly SumdbConfig[];
  /** Module-path globs never sent to `upstream` (mirror.private plus GONOPROXY/GOPRIVATE). */
  readonly private: readonly string[];
  /** Module proxy for private modules; '' = refuse them with 404 (go goes direct). */
  readonly privateProxy: string;
  readonly maxSizeBytes: number;
  /** How long list, @latest and sumdb /latest answers are served from cache. */
  readonly mutableTtlMs: number;
  /** A dedicated loopback listener serving only the mirror; [] = none. */
  readonly listen: readonly ListenAddress[];
}

type Reader<T> = (key: string, s: Sourced) => T;

/** The readers (values.ts) and error reporter (layers.ts), handed over by parse.ts. */
export interface MirrorReaders {
  readonly get: (key: string) => Sourced;
  readonly fail: (key: string, origin: Origin, problem: string) => never;
  readonly bool: Reader<boolean>;
  readonly list: Reader<string[]>;
  readonly text: Reader<string>;
  readonly durationMs: Reader<number>;
  readonly sizeBytes: Reader<number>;
}

/** Runs `fn`, re-labelling a CPX_ERR_CONFIG_INVALID with key path and origin. */
function relabel<T>(r: MirrorReaders, key: string, origin: Origin, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof CorproxyError && err.code === 'CPX_ERR_CONFIG_INVALID') {
      return r.fail(key, origin, err.message);
    }
    throw err;
  }
}

const SUMDB_NAME = /^[a-z0-9.-]+(?::[0-9]+)?(?:\/[A-Za-z0-9._~-]+)*$/;

function httpUrl(r: MirrorReaders, key: string, origin: Origin, raw: string): string {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  const ok = url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:');
  if (!ok || url === undefined || url.username !== '' || url.search !== '' || url.hash !== '') {
    return r.fail(key, origin, `${JSON.stringify(raw)} is not an http(s) URL without credentials`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** `NAME URL` or `NAME` (then https://NAME), as the two fields of GOSUMDB after the key. */
function compileSumdb(r: MirrorReaders): SumdbConfig[] {
  const s = r.get('mirror.sumdb');
  const seen = new Set<string>();
  return r.list('mirror.sumdb', s).map((item, i) => {
    const key = `mirror.sumdb[${i}]`;
    const [name = '', url, extra] = item.split(/\s+/);
    if (!SUMDB_NAME.test(name) || extra !== undefined) {
      r.fail(
        key,
        s.origin,
        `${JSON.stringify(item)} is not "NAME" or "NAME URL" (e.g. "sum.golang.org https://sum.golang.org")`,
      );
    }
    if (seen.has(name)) r.fail(key, s.origin, `${name} is listed twice`);
    seen.add(name);
    return { name, url: httpUrl(r, key, s.origin, url ?? `https://${name}`) };
  });
}

function compileMirrorListen(r: MirrorReaders): ListenAddress[] {
  const s = r.get('mirror.listen');
  return r.list('mirror.listen', s).map((item, i) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(item) ?? /^([^:[\]]+):(\d+)$/.exec(item);
    const host = (m?.[1] ?? '').toLowerCase();
    const port = Number(m?.[2]);
    const loopback = host === '::1' || (net.isIP(host) === 4 && host.startsWith('127.'));
    if (m === null || !loopback || !(port >= 0 && port <= 65535)) {
      r.fail(
        `mirror.listen[${i}]`,
        s.origin,
        `${JSON.stringify(item)} is not a loopback ADDR:PORT (e.g. 127.0.0.1:3130); the mirror's own listener serves this machine only`,
      );
    }
    return { host, port };
  });
}

/** Compiles the `mirror` section; `directModules` are the GONOPROXY/GOPRIVATE imports. */
export function compileMirror(r: MirrorReaders, directModules: readonly string[]): MirrorConfig {
  const up = r.get('mirror.upstream');
  const upstream = relabel(r, 'mirror.upstream', up.origin, () =>
    parseGoproxyList(r.text('mirror.upstream', up)),
  );
  const priv = r.get('mirror.private');
  const explicit = r
    .list('mirror.private', priv)
    .map((g, i) =>
      relabel(r, `mirror.private[${i}]`, priv.origin, () => compileModuleGlob(g).pattern),
    );
  const pp = r.get('mirror.privateProxy');
  const privateProxyText = r.text('mirror.privateProxy', pp);
  return {
    enabled: r.bool('mirror.enabled', r.get('mirror.enabled')),
    upstream,
    sumdb: compileSumdb(r),
    private: [...new Set([...explicit, ...directModules])],
    privateProxy:
      privateProxyText === '' ? '' : httpUrl(r, 'mirror.privateProxy', pp.origin, privateProxyText),
    maxSizeBytes: r.sizeBytes('mirror.maxSize', r.get('mirror.maxSize')),
    mutableTtlMs: r.durationMs('mirror.mutableTtl', r.get('mirror.mutableTtl')),
    listen: compileMirrorListen(r),
  };
}
