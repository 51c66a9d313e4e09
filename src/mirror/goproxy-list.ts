/**
 * The mirror's upstream list, written like GOPROXY and read with cmd/go's rules
 * (cmd/go/internal/modfetch/proxy.go): entries separated by `,` or `|`; after a `,` the
 * next entry is tried only when this one answered 404 or 410, after a `|` on any error.
 * A bare host gets `https://`. `direct` and `off` have no meaning inside corproxy (it is
 * the proxy): they belong at the end of go's own GOPROXY, after the mirror's URL.
 */
import { CorproxyError } from '../errors.js';

export interface GoproxyEntry {
  /** Base URL without a trailing slash, e.g. `https://proxy.golang.org`. */
  readonly url: string;
  /** True when a `|` follows this entry: fall through on any error, not only 404/410. */
  readonly fallBackOnError: boolean;
}

function invalid(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_CONFIG_INVALID', message);
}

/** One entry as cmd/go completes it: a value with `.`, `:` or `/` but no `:/` gets https://. */
function entryUrl(raw: string): string {
  if (raw === 'direct' || raw === 'off') {
    throw invalid(
      `"${raw}" is not supported in the mirror's upstream list: corproxy is itself the proxy; ` +
        `put ",${raw}" at the end of go's GOPROXY instead (GOPROXY=http://127.0.0.1:3129/mod/,direct)`,
    );
  }
  const full = /[.:/]/.test(raw) && !raw.includes(':/') ? `https://${raw}` : raw;
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    throw invalid(`"${raw}" is not a URL; write e.g. https://proxy.golang.org`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`"${raw}": only https:// and http:// module proxies are supported`);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw invalid(`"${url.host}": give the proxy URL without credentials, query or fragment`);
  }
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

export interface GoproxyToken {
  readonly raw: string;
  /** True when `|` follows the entry: any error falls through, not only 404/410. */
  readonly fallBackOnError: boolean;
}

/** cmd/go's GOPROXY tokenizer: entries split on `,` and `|`, trimmed, empty ones dropped. */
export function splitGoproxyList(value: string): GoproxyToken[] {
  const out: GoproxyToken[] = [];
  let rest = value;
  while (rest !== '') {
    const i = rest.search(/[,|]/);
    const raw = (i < 0 ? rest : rest.slice(0, i)).trim();
    const fallBackOnError = i >= 0 && rest[i] === '|';
    rest = i < 0 ? '' : rest.slice(i + 1);
    if (raw !== '') out.push({ raw, fallBackOnError });
  }
  return out;
}

/** Parses a GOPROXY-style list; throws CPX_ERR_CONFIG_INVALID naming the bad entry. */
export function parseGoproxyList(value: string): GoproxyEntry[] {
  const out = splitGoproxyList(value).map((t) => ({
    url: entryUrl(t.raw),
    fallBackOnError: t.fallBackOnError,
  }));
  if (out.length === 0)
    throw invalid('the upstream list is empty; default is https://proxy.golang.org');
  return out;
}

/** Formats the list back into GOPROXY syntax (status output, docs). */
export function formatGoproxyList(entries: readonly GoproxyEntry[]): string {
  return entries
    .map((e, i) => `${e.url}${i === entries.length - 1 ? '' : e.fallBackOnError ? '|' : ','}`)
    .join('');
}

/** What one upstream attempt ended with. */
export type AttemptOutcome = 'ok' | 'not-found' | 'error';

/** cmd/go: 404 and 410 mean "not here" (fs.ErrNotExist); every other non-200 is an error. */
export function outcomeOfStatus(status: number): AttemptOutcome {
  if (status === 200) return 'ok';
  return status === 404 || status === 410 ? 'not-found' : 'error';
}

/** Whether to try the entry after `entry`, given how `entry` failed. */
export function fallsThrough(entry: GoproxyEntry, outcome: Exclude<AttemptOutcome, 'ok'>): boolean {
  return outcome === 'not-found' || entry.fallBackOnError;
}

/**
 * cmd/go's TryProxies reports the most helpful failure: the last error that is not "not
 * found", else the last "not found". Returns the index of that attempt.
 */
export function bestFailure(outcomes: readonly Exclude<AttemptOutcome, 'ok'>[]): number {
  for (let i = outcomes.length - 1; i >= 0; i--) if (outcomes[i] === 'error') return i;
  return outcomes.length - 1;
}
