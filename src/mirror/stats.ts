/**
 * Counters of the mirror for `/status` and `/metrics`: answers by cache outcome, hit ratio,
 * upstream fetches and upstream errors by code, bytes served, and the cache's own size.
 */
import type { Gauge } from '../metrics.js';
import type { CacheStats } from './cache.js';

/** How an answer relates to the cache. */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'bypass';

export interface MirrorStatus {
  readonly requests: Record<CacheOutcome | 'error', number>;
  /** (hit + stale) / (hit + stale + miss); null before the first cacheable answer. */
  readonly hitRatio: number | null;
  readonly upstreamFetches: number;
  readonly upstreamErrors: Record<string, number>;
  readonly bytesServed: number;
  readonly cache: CacheStats | null;
}

export class MirrorStats {
  private readonly requests: Record<CacheOutcome | 'error', number> = {
    hit: 0,
    miss: 0,
    stale: 0,
    bypass: 0,
    error: 0,
  };
  private readonly upstreamErrors = new Map<string, number>();
  private upstreamFetches = 0;
  private bytesServed = 0;

  /** One answer sent to a client. */
  answered(cache: CacheOutcome, status: number, bytes: number): void {
    this.requests[status >= 500 ? 'error' : cache] += 1;
    this.bytesServed += bytes;
  }

  /** One request sent upstream, and its error code when it failed. */
  fetched(errorCode?: string): void {
    this.upstreamFetches += 1;
    if (errorCode !== undefined) {
      this.upstreamErrors.set(errorCode, (this.upstreamErrors.get(errorCode) ?? 0) + 1);
    }
  }

  hitRatio(): number | null {
    const { hit, stale, miss } = this.requests;
    const total = hit + stale + miss;
    return total === 0 ? null : (hit + stale) / total;
  }

  status(cache: CacheStats | undefined): MirrorStatus {
    return {
      requests: { ...this.requests },
      hitRatio: this.hitRatio(),
      upstreamFetches: this.upstreamFetches,
      upstreamErrors: Object.fromEntries(this.upstreamErrors),
      bytesServed: this.bytesServed,
      cache: cache ?? null,
    };
  }

  /** Prometheus gauges (counters render as gauges through renderPrometheus's extras). */
  gauges(cache: CacheStats | undefined): Gauge[] {
    const out: Gauge[] = [];
    for (const [outcome, n] of Object.entries(this.requests)) {
      out.push({
        name: 'corproxy_mirror_requests',
        help: 'Mirror answers by cache outcome (error = 5xx).',
        value: n,
        labels: { outcome },
      });
    }
    out.push({
      name: 'corproxy_mirror_hit_ratio',
      help: 'Share of cacheable mirror answers served from the cache.',
      value: this.hitRatio() ?? 0,
    });
    out.push({
      name: 'corproxy_mirror_upstream_fetches',
      help: 'Requests the mirror sent to module proxies and checksum databases.',
      value: this.upstreamFetches,
    });
    for (const [code, n] of this.upstreamErrors) {
      out.push({
        name: 'corproxy_mirror_upstream_errors',
        help: 'Failed upstream requests of the mirror, by error code.',
        value: n,
        labels: { code },
      });
    }
    out.push({
      name: 'corproxy_mirror_bytes_served',
      help: 'Body bytes the mirror sent to clients.',
      value: this.bytesServed,
    });
    if (cache !== undefined) {
      const c: Array<[string, string, number]> = [
        ['corproxy_mirror_cache_bytes', 'Bytes stored in the mirror cache.', cache.bytes],
        [
          'corproxy_mirror_cache_max_bytes',
          'Cap on the mirror cache (mirror.maxSize).',
          cache.maxBytes,
        ],
        ['corproxy_mirror_cache_entries', 'Keys in the mirror cache.', cache.entries],
        ['corproxy_mirror_cache_evictions', 'Keys evicted to stay under the cap.', cache.evictions],
        [
          'corproxy_mirror_cache_corrupt',
          'Cached bodies found corrupted and refetched.',
          cache.corrupt,
        ],
      ];
      for (const [name, help, value] of c) out.push({ name, help, value });
    }
    return out;
  }
}
