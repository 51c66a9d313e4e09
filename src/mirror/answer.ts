/**
 * The answers the mirror gives, as status, headers, body and the result the connection
 * log records: served (from the cache, upstream, or stale), passed-on 404s, and refusals.
 */
import { errorReply, MirrorError, toFailure, type Failure } from './errors.js';
import type { MirrorKind, MirrorRequest } from './request.js';
import type { Fetched } from './sources.js';
import type { CacheOutcome } from './stats.js';

/** What the connection log records for one mirror request. */
export interface MirrorResult {
  readonly status: number;
  /** Body bytes sent to the client. */
  readonly bytes: number;
  readonly cache: CacheOutcome;
  readonly kind?: MirrorKind;
  readonly module?: string;
  readonly version?: string;
  /** Base URL of the upstream that answered or failed. */
  readonly upstream?: string;
  /** One line for the log's `rule` field, e.g. `mirror zip hit`. */
  readonly rule: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly result: MirrorResult;
}

const CONTENT_TYPES: Readonly<Record<MirrorKind, string>> = {
  list: 'text/plain; charset=utf-8',
  info: 'application/json',
  latest: 'application/json',
  mod: 'text/plain; charset=utf-8',
  zip: 'application/zip',
  'sumdb-supported': 'text/plain; charset=utf-8',
  'sumdb-latest': 'text/plain; charset=utf-8',
  'sumdb-lookup': 'text/plain; charset=utf-8',
  'sumdb-tile': 'application/octet-stream',
};

function describe(
  req: MirrorRequest | undefined,
): Pick<MirrorResult, 'kind' | 'module' | 'version'> {
  if (req === undefined) return {};
  return {
    kind: req.kind,
    ...(req.module !== undefined && { module: req.module }),
    ...(req.version !== undefined && { version: req.version }),
  };
}

export function ok(
  req: MirrorRequest,
  body: Buffer,
  cache: CacheOutcome,
  upstream?: string,
  extra: Record<string, string> = {},
): Answer {
  return {
    status: 200,
    headers: { 'Content-Type': CONTENT_TYPES[req.kind], 'X-Corproxy-Cache': cache, ...extra },
    body,
    result: {
      status: 200,
      bytes: body.length,
      cache,
      ...describe(req),
      ...(upstream !== undefined && { upstream }),
      rule: `mirror ${req.kind} ${cache}`,
    },
  };
}

/** RFC 9111 §5.5 (obsoleted, still understood): 110 Response is Stale. */
export function stale(req: MirrorRequest, body: Buffer, why: Failure): Answer {
  // A header value must be printable ASCII: anything else (an upstream's text) is blanked.
  const reason = why.message.replace(/[^\x20-\x7e]|["\\]/g, ' ').slice(0, 200);
  return ok(req, body, 'stale', undefined, {
    Warning: `110 corproxy "Response is Stale: upstream failed: ${reason}"`,
    'X-Corproxy-Stale': why.code,
  });
}

/** Upstream's own 404/410, passed on so go falls through, with its explanation. */
export function notFound(req: MirrorRequest, got: Extract<Fetched, { kind: 'not-found' }>): Answer {
  const body = got.body.subarray(0, 4096);
  return {
    status: got.status,
    headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Corproxy-Cache': 'miss' },
    body,
    result: {
      status: got.status,
      bytes: body.length,
      cache: 'miss',
      ...describe(req),
      upstream: got.upstream,
      rule: `mirror ${req.kind} not found upstream`,
    },
  };
}

export function failed(err: Failure | MirrorError, req?: MirrorRequest, upstream?: string): Answer {
  const f = err instanceof MirrorError ? toFailure(err) : err;
  const reply = errorReply(f);
  const body = Buffer.from(reply.body);
  return {
    status: reply.status,
    headers: { ...reply.headers },
    body,
    result: {
      status: reply.status,
      bytes: body.length,
      cache: 'bypass',
      ...describe(req),
      ...(upstream !== undefined && { upstream }),
      rule: `mirror ${req?.kind ?? 'request'} refused`,
      error: { code: f.code, message: f.message },
    },
  };
}
