/**
 * Asks the upstream list for one path with cmd/go's GOPROXY semantics: the first 200 wins;
 * 404/410 moves on after `,`, any failure moves on after `|`, anything else stops; when all
 * fail, the most helpful failure is reported (goproxy-list.ts bestFailure).
 */
import { MirrorError, toFailure, type Failure } from './errors.js';
import { fetchUrl, type FetchDeps, type FetchLimits } from './fetch.js';
import { bestFailure, fallsThrough, outcomeOfStatus, type GoproxyEntry } from './goproxy-list.js';

export type Fetched =
  | { readonly kind: 'ok'; readonly body: Buffer; readonly upstream: string }
  | {
      readonly kind: 'not-found';
      readonly status: number;
      readonly body: Buffer;
      readonly upstream: string;
    }
  | { readonly kind: 'error'; readonly failure: Failure; readonly upstream: string };

type Failed = Exclude<Fetched, { kind: 'ok' }>;

/** Longest part of an upstream's error body quoted to the client. */
const QUOTE_BYTES = 300;

function quote(body: Buffer): string {
  const text = body.subarray(0, QUOTE_BYTES).toString('utf8').split('\n')[0] ?? '';
  return text.trim();
}

async function attempt(
  entry: GoproxyEntry,
  path: string,
  limits: FetchLimits,
  deps: FetchDeps,
  onFetch: (errorCode?: string) => void,
): Promise<Fetched> {
  const url = `${entry.url}/${path}`;
  try {
    const res = await fetchUrl(url, limits, deps);
    const outcome = outcomeOfStatus(res.status);
    if (outcome === 'ok') {
      onFetch();
      return { kind: 'ok', body: res.body, upstream: entry.url };
    }
    if (outcome === 'not-found') {
      onFetch();
      return { kind: 'not-found', status: res.status, body: res.body, upstream: entry.url };
    }
    const said = quote(res.body);
    const err = new MirrorError(
      'CPX_ERR_MIRROR_UPSTREAM',
      `GET ${url}: ${res.status}${said === '' ? '' : ` (${said})`}`,
    );
    onFetch(err.code);
    return { kind: 'error', failure: toFailure(err), upstream: entry.url };
  } catch (err) {
    const failure = toFailure(err);
    onFetch(failure.code);
    const message = failure.message.includes(entry.url)
      ? failure.message
      : `${url}: ${failure.message}`;
    return { kind: 'error', failure: { ...failure, message }, upstream: entry.url };
  }
}

/** Fetches `path` (escaped, below each base URL) from `entries` in order. */
export async function fetchFromList(
  entries: readonly GoproxyEntry[],
  path: string,
  limits: FetchLimits,
  deps: FetchDeps,
  onFetch: (errorCode?: string) => void = () => undefined,
): Promise<Fetched> {
  const failed: Failed[] = [];
  for (const entry of entries) {
    const got = await attempt(entry, path, limits, deps, onFetch);
    if (got.kind === 'ok') return got;
    failed.push(got);
    if (!fallsThrough(entry, got.kind)) break;
  }
  const best = failed[bestFailure(failed.map((f) => f.kind))];
  if (best === undefined)
    throw new MirrorError('CPX_ERR_MIRROR_UPSTREAM', 'no upstream configured');
  return best;
}
