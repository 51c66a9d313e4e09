/**
 * The mirror's disk cache under `<stateDir>/mod-cache/`: bodies stored once by their
 * SHA-256 (`blobs/ab/abcd…`), an index (`index.json`) from cache key to blob, size and
 * times. Every write is atomic; every read re-hashes the blob, and a blob whose hash does
 * not match its name is dropped so the caller fetches it again. The total size of the
 * blobs stays under a cap by evicting the least recently used keys.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { nodeDisk, TMP_PREFIX, type Disk } from './disk.js';

export interface CacheOptions {
  /** The cache directory (`<stateDir>/mod-cache`). */
  readonly dir: string;
  /** Cap on the total size of stored bodies. */
  readonly maxBytes: number;
}

export interface CacheDeps {
  readonly disk?: Disk;
  readonly clock?: () => number;
  /** Told about anything unexpected found on disk (never fatal). */
  readonly warn?: (message: string) => void;
}

export interface CachedItem {
  readonly body: Buffer;
  readonly storedAt: number;
}

export interface CacheStats {
  readonly entries: number;
  readonly bytes: number;
  readonly maxBytes: number;
  readonly evictions: number;
  readonly corrupt: number;
}

interface Entry {
  readonly key: string;
  readonly sha256: string;
  readonly size: number;
  readonly storedAt: number;
  usedAt: number;
}

interface IndexFile {
  readonly version: 1;
  readonly entries: readonly Entry[];
}

const INDEX = 'index.json';
const SHA = /^[0-9a-f]{64}$/;

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

function isEntry(e: unknown): e is Entry {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Record<string, unknown>;
  return (
    typeof x.key === 'string' &&
    typeof x.sha256 === 'string' &&
    SHA.test(x.sha256) &&
    Number.isSafeInteger(x.size) &&
    typeof x.storedAt === 'number' &&
    typeof x.usedAt === 'number'
  );
}

export class MirrorCache {
  private readonly index = new Map<string, Entry>();
  /** Stored blobs: hash → size and how many keys point at it. */
  private readonly blobs = new Map<string, { size: number; refs: number }>();
  private total = 0;
  private evictions = 0;
  private corrupt = 0;
  private flushing: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private readonly disk: Disk;
  private readonly clock: () => number;
  private readonly warn: (message: string) => void;

  private constructor(
    private readonly opts: CacheOptions,
    deps: CacheDeps,
  ) {
    this.disk = deps.disk ?? nodeDisk;
    this.clock = deps.clock ?? Date.now;
    this.warn = deps.warn ?? (() => undefined);
  }

  /** Opens (creating) the cache, drops debris and index entries without a blob. */
  static async open(opts: CacheOptions, deps: CacheDeps = {}): Promise<MirrorCache> {
    const cache = new MirrorCache(opts, deps);
    await cache.load();
    return cache;
  }

  private blobPath(hash: string): string {
    return join(this.opts.dir, 'blobs', hash.slice(0, 2), hash);
  }

  private async load(): Promise<void> {
    await this.disk.mkdir(join(this.opts.dir, 'blobs'));
    for (const e of await this.readIndex()) this.addEntry(e);
    const onDisk = await this.sweepBlobs();
    let changed = false;
    for (const e of [...this.index.values()]) {
      if (onDisk.has(e.sha256)) continue;
      this.removeEntry(e.key);
      changed = true;
    }
    if (this.evictOver(undefined) > 0 || changed) await this.flush();
  }

  private async readIndex(): Promise<Entry[]> {
    let text: string;
    try {
      text = (await this.disk.readFile(join(this.opts.dir, INDEX))).toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.warn(`mirror cache index unreadable, starting empty: ${(err as Error).message}`);
      }
      return [];
    }
    try {
      const doc = JSON.parse(text) as Partial<IndexFile>;
      return Array.isArray(doc.entries) ? doc.entries.filter(isEntry) : [];
    } catch {
      this.warn('mirror cache index is not valid JSON, starting empty');
      return [];
    }
  }

  /** Deletes temporary files and blobs no entry uses; returns the hashes present on disk. */
  private async sweepBlobs(): Promise<Set<string>> {
    const present = new Set<string>();
    const root = join(this.opts.dir, 'blobs');
    for (const name of await this.disk.list(this.opts.dir)) {
      if (name.startsWith(TMP_PREFIX)) await this.disk.unlink(join(this.opts.dir, name));
    }
    for (const sub of await this.disk.list(root)) {
      for (const name of await this.disk.list(join(root, sub))) {
        const keep = SHA.test(name) && name.startsWith(sub) && this.blobs.has(name);
        if (keep) present.add(name);
        else await this.disk.unlink(join(root, sub, name)).catch(() => undefined);
      }
    }
    return present;
  }

  private addEntry(e: Entry): void {
    this.removeEntry(e.key);
    this.index.set(e.key, e);
    const blob = this.blobs.get(e.sha256);
    if (blob) blob.refs += 1;
    else {
      this.blobs.set(e.sha256, { size: e.size, refs: 1 });
      this.total += e.size;
    }
  }

  /** Drops the key; returns the blob hash when no key uses it any more. */
  private removeEntry(key: string): string | undefined {
    const e = this.index.get(key);
    if (e === undefined) return undefined;
    this.index.delete(key);
    const blob = this.blobs.get(e.sha256);
    if (blob === undefined) return undefined;
    blob.refs -= 1;
    if (blob.refs > 0) return undefined;
    this.blobs.delete(e.sha256);
    this.total -= blob.size;
    return e.sha256;
  }

  private async dropBlob(hash: string | undefined): Promise<void> {
    if (hash !== undefined) await this.disk.unlink(this.blobPath(hash)).catch(() => undefined);
  }

  /**
   * The body stored under `key`, verified against its hash; undefined when absent or
   * corrupted (a corrupted blob is deleted with every key that used it).
   */
  async get(key: string): Promise<CachedItem | undefined> {
    const e = this.index.get(key);
    if (e === undefined) return undefined;
    let body: Buffer | undefined;
    try {
      body = await this.disk.readFile(this.blobPath(e.sha256));
    } catch {
      body = undefined;
    }
    if (this.index.get(key) !== e) return undefined;
    if (body === undefined || body.length !== e.size || sha256(body) !== e.sha256) {
      this.corrupt += 1;
      this.warn(`mirror cache: ${key} is missing or corrupted on disk; fetching it again`);
      for (const other of [...this.index.values()]) {
        if (other.sha256 === e.sha256) this.removeEntry(other.key);
      }
      this.blobs.delete(e.sha256);
      await this.dropBlob(e.sha256);
      await this.flush().catch(() => undefined);
      return undefined;
    }
    e.usedAt = this.clock();
    return { body, storedAt: e.storedAt };
  }

  /** Stores `body` under `key`; false (nothing stored) when it alone exceeds the cap. */
  async put(key: string, body: Buffer): Promise<boolean> {
    if (body.length > this.opts.maxBytes) return false;
    const hash = sha256(body);
    if (!this.blobs.has(hash)) {
      await this.disk.mkdir(join(this.opts.dir, 'blobs', hash.slice(0, 2)));
      await this.disk.writeAtomic(this.blobPath(hash), body);
    }
    const now = this.clock();
    const previous = this.index.get(key);
    this.addEntry({ key, sha256: hash, size: body.length, storedAt: now, usedAt: now });
    if (previous !== undefined && previous.sha256 !== hash && !this.blobs.has(previous.sha256)) {
      await this.dropBlob(previous.sha256);
    }
    for (const h of this.evictList(key)) await this.dropBlob(h);
    await this.flush();
    return true;
  }

  /** Evicts least recently used keys (never `keep`) until under the cap; returns freed blobs. */
  private evictList(keep: string | undefined): string[] {
    if (this.total <= this.opts.maxBytes) return [];
    const byAge = [...this.index.values()]
      .filter((e) => e.key !== keep)
      .sort((a, b) => a.usedAt - b.usedAt);
    const freed: string[] = [];
    for (const e of byAge) {
      if (this.total <= this.opts.maxBytes) break;
      const hash = this.removeEntry(e.key);
      this.evictions += 1;
      if (hash !== undefined) freed.push(hash);
    }
    return freed;
  }

  private evictOver(keep: string | undefined): number {
    const freed = this.evictList(keep);
    for (const h of freed) void this.dropBlob(h);
    return freed.length;
  }

  /** Cache keys starting with `prefix`. */
  keys(prefix: string): string[] {
    return [...this.index.keys()].filter((k) => k.startsWith(prefix));
  }

  stats(): CacheStats {
    return {
      entries: this.index.size,
      bytes: this.total,
      maxBytes: this.opts.maxBytes,
      evictions: this.evictions,
      corrupt: this.corrupt,
    };
  }

  /** Writes the index atomically; concurrent calls share one pending write. */
  flush(): Promise<void> {
    if (this.flushQueued) return this.flushing;
    this.flushQueued = true;
    this.flushing = this.flushing
      .catch(() => undefined)
      .then(async () => {
        this.flushQueued = false;
        const doc: IndexFile = { version: 1, entries: [...this.index.values()] };
        await this.disk.writeAtomic(join(this.opts.dir, INDEX), JSON.stringify(doc));
      });
    return this.flushing;
  }
}
