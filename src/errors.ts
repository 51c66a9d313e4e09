/**
 * The one error type of corproxy and the one place that turns an error into a client
 * reply or a process exit code. Code branches on `code`, never on `message`.
 * docs/errors.md lists every code; test/unit/errors.test.ts keeps the two in sync.
 */

/** How an error reaches an HTTP client: status and whether the reason names a cause. */
interface CodeSpec {
  /** HTTP status sent to a proxy client. */
  readonly status: number;
  /** Process exit code when the error ends a CLI command. */
  readonly exit: number;
  /** One-line summary for docs/errors.md. */
  readonly summary: string;
}

/** sysexits(3) values, so service managers and scripts can tell failures apart. */
export const EXIT = Object.freeze({
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  CONFIG: 78,
});

const CODES = {
  CPX_ERR_BAD_REQUEST: { status: 400, exit: EXIT.FAILURE, summary: 'malformed HTTP request' },
  CPX_ERR_BAD_TARGET: {
    status: 400,
    exit: EXIT.USAGE,
    summary: 'request target is not a valid host:port or absolute URI',
  },
  CPX_ERR_HEADER_TOO_LARGE: {
    status: 431,
    exit: EXIT.FAILURE,
    summary: 'request head larger than limits.maxHeaderSize',
  },
  CPX_ERR_HEADER_TIMEOUT: {
    status: 408,
    exit: EXIT.FAILURE,
    summary: 'client did not send a complete request head in time',
  },
  CPX_ERR_CLIENT_DENIED: {
    status: 403,
    exit: EXIT.FAILURE,
    summary: 'client address not in the allow list',
  },
  CPX_ERR_POLICY_DENIED: { status: 403, exit: EXIT.FAILURE, summary: 'target refused by policy' },
  CPX_ERR_LOOP: { status: 508, exit: EXIT.FAILURE, summary: 'request would loop back to corproxy' },
  CPX_ERR_OVERLOADED: {
    status: 503,
    exit: EXIT.FAILURE,
    summary: 'limits.maxConnections reached',
  },
  CPX_ERR_TARGET_DNS: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'target name did not resolve',
  },
  CPX_ERR_TARGET_REFUSED: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'target refused the connection',
  },
  CPX_ERR_TARGET_UNREACHABLE: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'no network route to the target',
  },
  CPX_ERR_TARGET_TIMEOUT: {
    status: 504,
    exit: EXIT.UNAVAILABLE,
    summary: 'connecting to the target timed out',
  },
  CPX_ERR_TARGET_PROTOCOL: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'target closed or sent an invalid HTTP response',
  },
  CPX_ERR_UPSTREAM_DNS: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy name did not resolve',
  },
  CPX_ERR_UPSTREAM_UNREACHABLE: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy refused or could not be reached',
  },
  CPX_ERR_UPSTREAM_TIMEOUT: {
    status: 504,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy did not answer in time',
  },
  CPX_ERR_UPSTREAM_AUTH: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy requires (other) credentials: 407',
  },
  CPX_ERR_UPSTREAM_REFUSED: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy refused the CONNECT with a non-2xx status',
  },
  CPX_ERR_UPSTREAM_PROTOCOL: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'upstream proxy closed or sent a reply that is not HTTP',
  },
  CPX_ERR_UPSTREAM_TLS: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'TLS to an https:// upstream proxy failed',
  },
  CPX_ERR_NO_ROUTE: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'every upstream failed and fallback is none',
  },
  CPX_ERR_CONFIG_INVALID: {
    status: 500,
    exit: EXIT.CONFIG,
    summary: 'configuration value invalid (the message names the key path)',
  },
  CPX_ERR_CONFIG_READ: {
    status: 500,
    exit: EXIT.CONFIG,
    summary: 'configuration file unreadable or not valid YAML',
  },
  CPX_ERR_LISTEN: {
    status: 500,
    exit: EXIT.OSERR,
    summary: 'could not listen on a configured address',
  },
  CPX_ERR_USAGE: { status: 400, exit: EXIT.USAGE, summary: 'command-line usage error' },
  CPX_ERR_DAEMON_DOWN: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'the corproxy daemon is not running or not reachable',
  },
  CPX_ERR_TLS_PROBE: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'interception probe could not complete a TLS handshake',
  },
  CPX_ERR_TRUST_REJECTED: {
    status: 500,
    exit: EXIT.FAILURE,
    summary: 'certificate refused as a corporate CA (leaf, expired, public, untrusted re-sign)',
  },
  CPX_ERR_BUNDLE_WRITE: {
    status: 500,
    exit: EXIT.OSERR,
    summary: 'could not write the CA bundle atomically',
  },
  CPX_ERR_SERVICE: {
    status: 500,
    exit: EXIT.FAILURE,
    summary: 'service install, uninstall or status failed',
  },
  CPX_ERR_ALREADY_RUNNING: {
    status: 500,
    exit: EXIT.FAILURE,
    summary: 'another corproxy already serves this state directory',
  },
  CPX_ERR_STATE_DIR: {
    status: 500,
    exit: EXIT.OSERR,
    summary: 'state directory cannot be created, locked or written',
  },
  CPX_ERR_LOG_IO: {
    status: 500,
    exit: EXIT.OSERR,
    summary: 'connection log file could not be opened, written or read',
  },
  CPX_ERR_PAC_LOAD: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'the PAC script could not be fetched or read',
  },
  CPX_ERR_PAC_EVAL: {
    status: 502,
    exit: EXIT.CONFIG,
    summary: 'the PAC script does not compile, throws, or gives no usable answer',
  },
  CPX_ERR_MIRROR_UPSTREAM: {
    status: 502,
    exit: EXIT.UNAVAILABLE,
    summary: 'module proxy or checksum database failed, and nothing usable was cached',
  },
  CPX_ERR_MIRROR_PRIVATE: {
    status: 404,
    exit: EXIT.FAILURE,
    summary: 'module path is private (mirror.private): refused so go falls through to direct',
  },
  CPX_ERR_MIRROR_BAD_PATH: {
    status: 400,
    exit: EXIT.FAILURE,
    summary: 'request path under /mod/ is not a valid module proxy or sumdb path',
  },
  CPX_ERR_MIRROR_DISABLED: {
    status: 404,
    exit: EXIT.FAILURE,
    summary: 'the module mirror is off (mirror.enabled: false)',
  },
  CPX_ERR_INTERNAL: { status: 500, exit: EXIT.SOFTWARE, summary: 'bug in corproxy' },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof CODES;

/** Every code with its spec, in declaration order (docs and tests read this). */
export const ERROR_CODES: ReadonlyArray<readonly [ErrorCode, CodeSpec]> = Object.freeze(
  Object.entries(CODES) as Array<[ErrorCode, CodeSpec]>,
);

export interface CorproxyErrorOptions {
  readonly cause?: unknown;
  /** Structured extras for the log (never secrets). */
  readonly details?: Readonly<Record<string, unknown>>;
}

export class CorproxyError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: CorproxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CorproxyError';
    this.code = code;
    this.details = options.details;
  }
}

export function isCorproxyError(err: unknown): err is CorproxyError {
  return err instanceof CorproxyError;
}

/** Wraps anything thrown into a CorproxyError, keeping the original as cause. */
export function asCorproxyError(err: unknown): CorproxyError {
  if (isCorproxyError(err)) return err;
  return new CorproxyError('CPX_ERR_INTERNAL', describe(err), { cause: err });
}

/** String(err) can itself throw (null-prototype objects, hostile toString). */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unprintable error value';
  }
}

export interface HttpReply {
  readonly status: number;
  /** Reason phrase: `go` prints it verbatim, so it names the cause. */
  readonly reason: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** RFC 9112 §4: reason-phrase = *( HTAB / SP / VCHAR / obs-text ); keep it one short line. */
export function sanitizeReason(text: string): string {
  const flat = text
    .replace(/[^\t\x20-\x7e]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/** The single mapping from an error to what a proxy client receives. */
export function toHttpReply(err: unknown): HttpReply {
  const e = asCorproxyError(err);
  const spec = CODES[e.code];
  const reason = sanitizeReason(`corproxy: ${e.message.trim() === '' ? spec.summary : e.message}`);
  return {
    status: spec.status,
    reason,
    headers: {
      'X-Corproxy-Error': e.code,
      'Content-Type': 'text/plain; charset=utf-8',
      Connection: 'close',
    },
    body: `${reason}\n${e.code}: ${spec.summary}\nSee docs/errors.md#${e.code.toLowerCase()}\n`,
  };
}

/** Serialises a reply for a raw socket (CONNECT failures have no ServerResponse). */
export function formatHttpReply(reply: HttpReply): string {
  const body = Buffer.from(reply.body, 'utf8');
  const lines = [`HTTP/1.1 ${reply.status} ${reply.reason}`];
  for (const [k, v] of Object.entries(reply.headers)) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${body.length}`);
  return `${lines.join('\r\n')}\r\n\r\n${reply.body}`;
}

/** The single mapping from an error to a CLI exit code. */
export function toExitCode(err: unknown): number {
  return CODES[asCorproxyError(err).code].exit;
}

export function statusOf(code: ErrorCode): number {
  return CODES[code].status;
}
