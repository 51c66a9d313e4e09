/**
 * The Go module mirror behind `/mod/` (DESIGN.md §11, docs/mirror.md): answers the GOPROXY
 * protocol and proxies the configured checksum databases, from the disk cache when it can,
 * else from the upstream list over corproxy's route with TLS verified against the approved
 * bundle. Immutable artifacts are cached forever; `list`, `@latest` and sumdb `/latest`
 * for mirror.mutableTtl, and served stale (with a Warning header) when upstream fails.
 */
import type http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import type { Config, MirrorConfig } from '../config/types.js';
import type { Gauge } from '../metrics.js';
import { VERSION } from '../version.js';
import { failed, notFound, ok, stale, type Answer, type MirrorResult } from './answer.js';
import { MirrorCache } from './cache.js';
import type { Disk } from './disk.js';
import { MirrorError, toFailure } from './errors.js';
import type { FetchDeps } from './fetch.js';
import type { GoproxyEntry } from './goproxy-list.js';
import { offlineBody } from './offline.js';
import { cacheKey, isFresh, matchesPrivate } from './policy.js';
import { parseMirrorPath, type MirrorRequest } from './request.js';
import { SingleFlight } from './singleflight.js';
import { fetchFromList, type Fetched } from './sources.js';
import { MirrorStats, type MirrorStatus } from './stats.js';
import { bundleLoader } from './trust.js';

export type { MirrorResult } from './answer.js';

export interface MirrorDeps {
  /** A byte stream to host:port over corproxy's route (the lead wires openRemote). */
  readonly openStream: (host: string, port: number) => Promise<net.Socket>;
  /** Roots for TLS to upstreams; default: the approved bundle file, else Node's roots. */
  readonly ca?: () => Promise<readonly string[]>;
  readonly clock?: () => number;
  readonly warn?: (message: string, fields?: Record<string, unknown>) => void;
  readonly disk?: Disk;
  /** Deadline of one upstream exchange; default 60 s (10 min for zips). */
  readonly fetchTimeoutMs?: number;
}

/** cmd/go's own limits: 500 MiB per module zip (modfetch MaxZipFile), 16 MiB otherwise. */
const MAX_ZIP_BYTES = 500 << 20;
const MAX_OTHER_BYTES = 16 << 20;

export class Mirror {
  readonly stats = new MirrorStats();
  private config: Config;
  private opened: Promise<MirrorCache | undefined> | undefined;
  private cacheNow: MirrorCache | undefined;
  private readonly flights = new SingleFlight<Fetched>();
  private readonly clock: () => number;
  private readonly warn: (message: string, fields?: Record<string, unknown>) => void;
  /** How the mirror reaches upstreams (route, trust); `doctor` probes with the same. */
  readonly fetchDeps: FetchDeps;

  constructor(
    config: Config,
    private readonly deps: MirrorDeps,
  ) {
    this.config = config;
    this.clock = deps.clock ?? Date.now;
    this.warn = deps.warn ?? (() => undefined);
    const bundle = config.trust.bundle || join(config.stateDir, 'ca-bundle.pem');
    this.fetchDeps = {
      openStream: deps.openStream,
      ca: deps.ca ?? bundleLoader(bundle),
      userAgent: `corproxy/${VERSION} (module mirror)`,
    };
  }

  get settings(): MirrorConfig {
    return this.config.mirror;
  }

  /** A new config applies to the next request; the cache (dir and cap) stays as opened. */
  reload(config: Config): void {
    this.config = config;
  }

  /** The cache, opened on first use; undefined (and a warning) when it cannot be opened. */
  cache(): Promise<MirrorCache | undefined> {
    this.opened ??= MirrorCache.open(
      { dir: join(this.config.stateDir, 'mod-cache'), maxBytes: this.settings.maxSizeBytes },
      {
        clock: this.clock,
        warn: (m) => this.warn(m),
        ...(this.deps.disk && { disk: this.deps.disk }),
      },
    ).then(
      (c) => (this.cacheNow = c),
      (err: Error) => {
        this.warn(`mirror cache unavailable, serving without it: ${err.message}`);
        return undefined;
      },
    );
    return this.opened;
  }

  status(): MirrorStatus & { enabled: boolean; upstream: string[]; sumdb: string[] } {
    return {
      enabled: this.settings.enabled,
      upstream: this.settings.upstream.map((e) => e.url),
      sumdb: this.settings.sumdb.map((s) => s.name),
      ...this.stats.status(this.cacheNow?.stats()),
    };
  }

  gauges(): Gauge[] {
    return this.stats.gauges(this.cacheNow?.stats());
  }

  /** Writes the cache index (usage times) before shutdown. */
  async close(): Promise<void> {
    const cache = await this.opened;
    await cache?.flush().catch(() => undefined);
  }

  /** The answer to one request, without touching the HTTP response. */
  async answer(method: string, urlPath: string): Promise<Answer> {
    if (!this.settings.enabled) {
      return failed(
        new MirrorError(
          'CPX_ERR_MIRROR_DISABLED',
          'the module mirror is off (mirror.enabled: false)',
        ),
      );
    }
    if (method !== 'GET' && method !== 'HEAD') {
      const f = {
        code: 'CPX_ERR_BAD_REQUEST',
        status: 405,
        message: 'the mirror answers only GET and HEAD',
      };
      const a = failed(f);
      return { ...a, headers: { ...a.headers, Allow: 'GET, HEAD' } };
    }
    const parsed = parseMirrorPath(
      urlPath,
      this.settings.sumdb.map((s) => s.name),
    );
    if (!parsed.ok) {
      return failed({
        code: 'CPX_ERR_MIRROR_BAD_PATH',
        status: parsed.status,
        message: parsed.reason,
      });
    }
    const req = parsed.request;
    if (req.kind === 'sumdb-supported') return ok(req, Buffer.alloc(0), 'bypass');
    const sources = this.sourcesFor(req);
    if (sources instanceof MirrorError) return failed(sources, req);
    return this.serve(req, sources);
  }

  /** The upstream list for a request, or the refusal of a private module. */
  private sourcesFor(req: MirrorRequest): readonly GoproxyEntry[] | MirrorError {
    const s = this.settings;
    if (req.sumdb !== undefined) {
      const db = s.sumdb.find((d) => d.name === req.sumdb);
      const glob = req.module === undefined ? undefined : matchesPrivate(s.private, req.module);
      if (glob !== undefined) {
        return new MirrorError(
          'CPX_ERR_MIRROR_PRIVATE',
          `${req.module} matches private pattern "${glob}": never looked up in ${req.sumdb}; set GONOSUMDB or GOPRIVATE for it in go's environment`,
        );
      }
      return [{ url: db?.url ?? '', fallBackOnError: false }];
    }
    const glob = matchesPrivate(s.private, req.module ?? '');
    if (glob === undefined) return s.upstream;
    if (s.privateProxy !== '') return [{ url: s.privateProxy, fallBackOnError: false }];
    return new MirrorError(
      'CPX_ERR_MIRROR_PRIVATE',
      `${req.module} matches private pattern "${glob}" and is never sent to public module proxies; go falls through to direct`,
    );
  }

  private async serve(req: MirrorRequest, sources: readonly GoproxyEntry[]): Promise<Answer> {
    const key = cacheKey(req) ?? req.upstreamPath;
    const cache = await this.cache();
    const cached = await cache?.get(key);
    const ttl = this.settings.mutableTtlMs;
    if (cached && isFresh(req, cached.storedAt, this.clock(), ttl))
      return ok(req, cached.body, 'hit');
    const { value: got } = await this.flights.do(key, () =>
      this.fetchAndStore(req, sources, key, cache),
    );
    if (got.kind === 'ok') return ok(req, got.body, cache ? 'miss' : 'bypass', got.upstream);
    if (got.kind === 'not-found') return notFound(req, got);
    const offline = cache && (await offlineBody(cache, req, cached?.body));
    if (offline) return stale(req, offline, got.failure);
    if (cached) return stale(req, cached.body, got.failure);
    return failed(got.failure, req, got.upstream);
  }

  private async fetchAndStore(
    req: MirrorRequest,
    sources: readonly GoproxyEntry[],
    key: string,
    cache: MirrorCache | undefined,
  ): Promise<Fetched> {
    const zip = req.kind === 'zip';
    const limits = {
      timeoutMs: this.deps.fetchTimeoutMs ?? (zip ? 600_000 : 60_000),
      maxBytes: zip ? MAX_ZIP_BYTES : MAX_OTHER_BYTES,
    };
    const got = await fetchFromList(sources, req.upstreamPath, limits, this.fetchDeps, (code) =>
      this.stats.fetched(code),
    );
    if (got.kind === 'ok' && cache) {
      await cache.put(key, got.body).catch((err: Error) => {
        this.warn(`mirror cache: could not store ${key}: ${err.message}`);
      });
    }
    return got;
  }
}

export function createMirror(config: Config, deps: MirrorDeps): Mirror {
  return new Mirror(config, deps);
}

/** Serves one `/mod/...` request; resolves what the connection log records. */
export async function handleMirror(
  mirror: Mirror,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<MirrorResult> {
  const method = req.method ?? 'GET';
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  let answer: Answer;
  try {
    answer = await mirror.answer(method, path);
  } catch (err) {
    answer = failed({ ...toFailure(err), code: 'CPX_ERR_INTERNAL', status: 500 });
  }
  const head = method === 'HEAD';
  let bytes = head ? 0 : answer.body.length;
  try {
    res.writeHead(answer.status, {
      ...answer.headers,
      'Content-Length': String(answer.body.length),
    });
    res.end(head ? undefined : answer.body);
  } catch {
    // The client left or a header was refused: nothing more can be sent.
    res.destroy();
    bytes = 0;
  }
  mirror.stats.answered(answer.result.cache, answer.status, bytes);
  return { ...answer.result, bytes };
}
