/**
 * The mirror's failures and how they reach `go`. Codes of the shared catalogue
 * (src/errors.ts) pass through unchanged (e.g. CPX_ERR_UPSTREAM_AUTH when the corporate
 * proxy refuses the credentials); the CPX_ERR_MIRROR_* codes below are the mirror's own,
 * with the HTTP status go acts on: 404 makes go try the next GOPROXY entry, anything else
 * stops it, as cmd/go does.
 */
import { CorproxyError, isCorproxyError, sanitizeReason, statusOf } from '../errors.js';

/** The mirror's own codes (statuses and summaries live in src/errors.ts with the rest). */
export type MirrorErrorCode =
  | 'CPX_ERR_MIRROR_UPSTREAM'
  | 'CPX_ERR_MIRROR_PRIVATE'
  | 'CPX_ERR_MIRROR_BAD_PATH'
  | 'CPX_ERR_MIRROR_DISABLED';

/** A CorproxyError whose code is one of the mirror's; handler code narrows on it. */
export class MirrorError extends CorproxyError {
  declare readonly code: MirrorErrorCode;

  constructor(code: MirrorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'MirrorError';
  }
}

export interface Failure {
  readonly code: string;
  readonly message: string;
  readonly status: number;
}

/** Any thrown value as a Failure (unknown values become CPX_ERR_MIRROR_UPSTREAM). */
export function toFailure(err: unknown): Failure {
  if (isCorproxyError(err))
    return { code: err.code, message: err.message, status: statusOf(err.code) };
  const message = err instanceof Error ? err.message : 'unknown failure';
  return { code: 'CPX_ERR_MIRROR_UPSTREAM', message, status: 502 };
}

export interface ErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The reply go sees: go prints the body of a failed proxy request ("server response: ..."). */
export function errorReply(f: Failure): ErrorReply {
  const line = sanitizeReason(`corproxy mirror: ${f.message}`);
  return {
    status: f.status,
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Corproxy-Error': f.code,
      'Cache-Control': 'no-store',
    },
    body: `${line}\n${f.code}: see docs/errors.md#${f.code.toLowerCase()}\n`,
  };
}
