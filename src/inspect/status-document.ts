/**
 * The daemon's `/status` JSON (src/proxy/local.ts statusDocument) as the CLI reads it:
 * the fields `status` and `explain` use, checked loosely so an older or newer daemon
 * still renders. Sections added by hooks (interception verdicts, bundle) stay untyped and
 * are rendered generically. Pure.
 */

export interface UpstreamHealth {
  readonly url: string;
  readonly healthy: boolean;
  readonly badUntil?: string;
  readonly lastError?: string;
}

export interface StatusTotals {
  readonly connections: number;
  readonly errors: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
}

export interface StatusDocument {
  readonly name: 'corproxy';
  readonly version: string;
  readonly pid?: number;
  readonly startedAt?: string;
  readonly uptimeSeconds?: number;
  readonly listen: readonly string[];
  readonly upstreams: readonly UpstreamHealth[];
  readonly fallback?: string;
  readonly direct?: readonly string[];
  readonly directModules?: readonly string[];
  readonly openConnections?: number;
  readonly openTunnels?: number;
  readonly totals?: StatusTotals;
  readonly errors?: Readonly<Record<string, number>>;
  readonly configSources?: readonly string[];
  readonly stateDir?: string;
  readonly logFile?: string;
  readonly [section: string]: unknown;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function upstream(v: unknown): UpstreamHealth | undefined {
  if (!isObject(v) || typeof v.url !== 'string') return undefined;
  return {
    url: v.url,
    healthy: v.healthy !== false,
    ...(typeof v.badUntil === 'string' && { badUntil: v.badUntil }),
    ...(typeof v.lastError === 'string' && { lastError: v.lastError }),
  };
}

/**
 * The document, or a reason why the text is not a corproxy status document (another
 * program answering on the port, a proxy's error page, half a body).
 */
export function parseStatusDocument(text: string): StatusDocument | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the answer is not JSON';
  }
  if (!isObject(value) || value.name !== 'corproxy' || typeof value.version !== 'string') {
    return 'the answer is JSON but not a corproxy status document';
  }
  const ups = Array.isArray(value.upstreams) ? value.upstreams.map(upstream) : [];
  return {
    ...value,
    name: 'corproxy',
    version: value.version,
    listen: strings(value.listen),
    upstreams: ups.filter((u): u is UpstreamHealth => u !== undefined),
  };
}
