/**
 * The daemon's interception verdicts, one per (route, upstream, host, port) (DESIGN.md §6):
 * cached with a TTL per verdict, at most one probe per key at a time (a burst of tunnels to
 * one host makes one probe), at most `maxConcurrent` probes at once with a bounded queue
 * behind them, and a warning when the intercepting CA of a key changes (a rotation the
 * user must review again: research §3.4, "never auto-approve a new key").
 */
import type { Classification, Verdict } from './classify.js';

/** Which route a verdict belongs to: the same host may be intercepted on one and not another. */
export interface ProbeKey {
  readonly route: 'direct' | 'upstream';
  /** The upstream's `host:port` id, for route 'upstream'. */
  readonly upstreamId?: string;
  readonly host: string;
  readonly port: number;
}

/** What one probe produced. */
export interface ProbeOutcome {
  readonly classification: Classification;
  /** The SNI the probe sent. */
  readonly sni?: string;
}

export interface CacheEntry extends ProbeOutcome {
  readonly key: ProbeKey;
  readonly probedAt: number;
  readonly expiresAt: number;
  /** Consecutive probe-failed verdicts, for the back-off. */
  readonly failures: number;
}

/** TTLs in ms, read at each store so a reloaded config applies to the next verdict. */
export interface ProbeTtls {
  readonly cleanMs: number;
  readonly interceptedMs: number;
  readonly failureMs: number;
}

export interface ProbeCacheOptions {
  readonly ttls: () => ProbeTtls;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
  /** Probes running at once; research §5.2 suggests 4. */
  readonly maxConcurrent?: number;
  /** Probes waiting for a slot; more are dropped (the next tunnel asks again). */
  readonly maxQueued?: number;
  /** Entries kept; the oldest are evicted first. */
  readonly maxEntries?: number;
}

/** The cache key as a string; ports and upstream ids contain no `|`. */
export function keyString(k: ProbeKey): string {
  return `${k.route}|${k.upstreamId ?? '-'}|${k.host}|${k.port}`;
}

/** A CA's identity for change detection: its fingerprint, else (leaf-only) its name. */
function caIdentity(c: Classification): string | undefined {
  if (c.verdict !== 'intercepted' || c.ca === undefined) return undefined;
  return c.ca.sha256 ?? `name:${c.ca.subject}`;
}

export class ProbeCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly inflight = new Map<string, Promise<CacheEntry | undefined>>();
  private readonly queue: Array<() => void> = [];
  private active = 0;
  private readonly now: () => number;
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly maxEntries: number;

  constructor(private readonly opts: ProbeCacheOptions) {
    this.now = opts.now ?? Date.now;
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 4);
    this.maxQueued = Math.max(0, opts.maxQueued ?? 64);
    this.maxEntries = Math.max(1, opts.maxEntries ?? 2048);
  }

  /** The latest verdict for `key`, even when expired (a re-probe may be on its way). */
  peek(key: ProbeKey): CacheEntry | undefined {
    return this.entries.get(keyString(key));
  }

  /** Whether `key` has a verdict that has not expired. */
  isFresh(key: ProbeKey): boolean {
    const e = this.peek(key);
    return e !== undefined && e.expiresAt > this.now();
  }

  /** Probes running or waiting. */
  get pending(): number {
    return this.inflight.size;
  }

  /** Every entry, oldest first. */
  list(): CacheEntry[] {
    return [...this.entries.values()];
  }

  /**
   * Runs `probe` for `key` unless a fresh verdict exists or a probe for it is already
   * running (then that one's result is shared). Resolves undefined when the queue is full.
   * `probe` must not reject; if it does, nothing is cached.
   */
  request(key: ProbeKey, probe: () => Promise<ProbeOutcome>): Promise<CacheEntry | undefined> {
    const id = keyString(key);
    const fresh = this.entries.get(id);
    if (fresh !== undefined && fresh.expiresAt > this.now()) return Promise.resolve(fresh);
    const running = this.inflight.get(id);
    if (running !== undefined) return running;
    if (this.active >= this.maxConcurrent && this.queue.length >= this.maxQueued) {
      return Promise.resolve(undefined);
    }
    const result = this.slot(() => probe())
      .then((outcome) => this.store(key, outcome))
      .catch(() => undefined)
      .finally(() => this.inflight.delete(id));
    this.inflight.set(id, result);
    return result;
  }

  /** Forgets every verdict (running probes still store theirs). */
  clear(): void {
    this.entries.clear();
  }

  private async slot<T>(run: () => Promise<T>): Promise<T> {
    if (this.active >= this.maxConcurrent) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.active += 1;
    }
    try {
      return await run();
    } finally {
      const next = this.queue.shift();
      // The slot passes straight to the next waiter, so `active` stays the same.
      if (next !== undefined) next();
      else this.active -= 1;
    }
  }

  private store(key: ProbeKey, outcome: ProbeOutcome): CacheEntry {
    const id = keyString(key);
    const previous = this.entries.get(id);
    const verdict = outcome.classification.verdict;
    const failures = verdict === 'probe-failed' ? (previous?.failures ?? 0) + 1 : 0;
    const probedAt = this.now();
    const entry: CacheEntry = {
      ...outcome,
      key,
      probedAt,
      expiresAt: probedAt + this.ttlFor(verdict, failures),
      failures,
    };
    this.warnOnCaChange(key, previous, entry);
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return entry;
  }

  /** Failures back off exponentially from failureMs, never beyond the clean TTL. */
  private ttlFor(verdict: Verdict, failures: number): number {
    const t = this.opts.ttls();
    if (verdict === 'intercepted') return t.interceptedMs;
    if (verdict !== 'probe-failed') return t.cleanMs;
    const backoff = t.failureMs * 2 ** Math.min(failures - 1, 16);
    return Math.min(backoff, Math.max(t.cleanMs, t.failureMs));
  }

  private warnOnCaChange(key: ProbeKey, previous: CacheEntry | undefined, next: CacheEntry): void {
    const before = previous && caIdentity(previous.classification);
    const after = caIdentity(next.classification);
    if (before === undefined || after === undefined || before === after) return;
    const was = previous?.classification.ca;
    const now = next.classification.ca;
    const where = `${key.host}:${key.port}`;
    this.opts.warn(
      `the TLS interception CA for ${where} changed from "${was?.subject ?? '?'}" to "${now?.subject ?? '?'}"` +
        `${now?.sha256 ? ` (sha256 ${now.sha256})` : ''}; run "corproxy trust ${where}" to review the new CA`,
      {
        event: 'tls-ca-changed',
        host: key.host,
        port: key.port,
        route: key.route,
        ...(key.upstreamId ? { upstream: key.upstreamId } : {}),
        previousCa: { subject: was?.subject, sha256: was?.sha256 },
        ca: { subject: now?.subject, sha256: now?.sha256 },
      },
    );
  }
}
