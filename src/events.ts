/**
 * The record the server emits when a connection closes. log.ts writes it as one JSON
 * line (DESIGN.md §8); status and metrics count it. Never carries credentials.
 */

export type RouteKind = 'direct' | 'upstream' | 'local';

export interface RouteDecision {
  readonly kind: 'direct' | 'upstream';
  /** The rule that decided, e.g. `direct "*.corp.example"` or `default: upstream list`. */
  readonly rule: string;
}

export type Outcome = 'ok' | 'error' | 'client-closed' | 'timeout';

export interface TlsSummary {
  readonly verdict: string;
  readonly vendor?: string;
  readonly caSubject?: string;
  readonly caSha256?: string;
}

export interface ConnectionRecord {
  readonly time: string;
  readonly id: number;
  readonly client: string;
  readonly method: string;
  readonly target: string;
  readonly route: RouteKind;
  readonly rule: string;
  /** Redacted upstream URL, when one was used. */
  readonly upstream?: string;
  readonly status: number;
  readonly outcome: Outcome;
  readonly error?: { readonly code: string; readonly message: string };
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly connectMs?: number;
  readonly durationMs: number;
  readonly tls?: TlsSummary;
}
