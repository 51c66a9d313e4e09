/**
 * The bad-proxy list: an upstream that failed at the connection level is tried last for
 * a while (5 minutes by default, as browsers do for PAC proxy lists). Pure; the clock is
 * injected so tests can advance time.
 */

export interface BadProxyEntry {
  readonly id: string;
  readonly until: number;
  readonly reason: string;
}

export class BadProxyList {
  private readonly entries = new Map<string, BadProxyEntry>();

  constructor(
    private readonly holdMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  markBad(id: string, reason: string): void {
    this.entries.set(id, { id, until: this.now() + this.holdMs, reason });
  }

  markGood(id: string): void {
    this.entries.delete(id);
  }

  isBad(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined) return false;
    if (entry.until > this.now()) return true;
    this.entries.delete(id);
    return false;
  }

  /**
   * The order to try upstreams in: good ones first in configured order, then the bad
   * ones, so that a lone upstream that comes back is used at once rather than after
   * the hold time.
   */
  order<T extends { readonly id: string }>(upstreams: readonly T[]): T[] {
    // One look per upstream: an entry expiring between two looks would drop it.
    const bad = upstreams.map((u) => this.isBad(u.id));
    return [...upstreams.filter((_, i) => !bad[i]), ...upstreams.filter((_, i) => bad[i])];
  }

  snapshot(): BadProxyEntry[] {
    return [...this.entries.values()].filter((e) => this.isBad(e.id));
  }
}
