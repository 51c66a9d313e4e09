/**
 * Concurrent requests for the same key share one call: the first caller runs `fn`, the
 * others wait for its result (or its error). The key is free again once the call settles,
 * so a later request starts a new call.
 */
export class SingleFlight<T> {
  private readonly calls = new Map<string, Promise<T>>();

  /** Runs `fn` for `key` unless a call for `key` is in flight; `shared` tells which. */
  async do(key: string, fn: () => Promise<T>): Promise<{ value: T; shared: boolean }> {
    const running = this.calls.get(key);
    if (running !== undefined) return { value: await running, shared: true };
    const call = (async () => fn())();
    this.calls.set(key, call);
    try {
      return { value: await call, shared: false };
    } finally {
      this.calls.delete(key);
    }
  }

  /** Keys with a call in flight. */
  get size(): number {
    return this.calls.size;
  }
}
