/**
 * The scheme each upstream accepted last, so the next CONNECT starts with it and saves a
 * round trip (Basic sent at once, NTLM starting with its NEGOTIATE_MESSAGE), and so
 * `corproxy doctor` and `status` can say which scheme was negotiated.
 */
import type { AuthScheme } from '../config/auth.js';

/** 'none': the upstream let corproxy through without any credentials. */
export type Negotiated = AuthScheme | 'none';

export class SchemeCache {
  private readonly schemes = new Map<string, Negotiated>();

  get(upstreamId: string): Negotiated | undefined {
    return this.schemes.get(upstreamId);
  }

  set(upstreamId: string, scheme: Negotiated): void {
    this.schemes.set(upstreamId, scheme);
  }

  forget(upstreamId: string): void {
    this.schemes.delete(upstreamId);
  }

  /** Every upstream with its scheme, for `status`. */
  entries(): Array<[string, Negotiated]> {
    return [...this.schemes.entries()];
  }
}

/** The daemon's cache (one per process, like the upstreams it describes). */
export const sharedSchemes = new SchemeCache();

/** The scheme `upstreamId` (host:port) last accepted, if corproxy has been through it. */
export function lastScheme(upstreamId: string): Negotiated | undefined {
  return sharedSchemes.get(upstreamId);
}
