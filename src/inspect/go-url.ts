/**
 * The part of Go's net/url.Parse that decides whether a proxy variable is usable:
 * scheme detection, authority (userinfo, host, port) and the checks that make Parse fail.
 * Go silently ignores a proxy value Parse rejects (httpproxy config.init drops the error),
 * so `explain` must reject exactly what Go rejects. Query and path contents are not
 * needed beyond their percent-escapes. Pure.
 */

export interface GoUrl {
  /** Lower-cased, as url.Parse stores it; '' when there is none. */
  readonly scheme: string;
  /** Userinfo as written (still escaped); undefined when there is no `@`. */
  readonly userinfo?: string;
  /** The authority's host[:port] ('' for opaque or relative URLs), IPv6 in brackets. */
  readonly host: string;
  /** Host without port and brackets (url.Hostname()). */
  readonly hostname: string;
  /** Port digits, '' when absent (url.Port()). */
  readonly port: string;
}

export type GoParse =
  { readonly ok: true; readonly url: GoUrl } | { readonly ok: false; readonly error: string };

const fail = (error: string): GoParse => ({ ok: false, error });

/** Go's stringContainsCTLByte: bytes below space and DEL. */
function hasControl(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\x00-\x1f\x7f]/.test(s);
}

/** Go's getScheme: letters first, then letters, digits, `+-.` up to the first `:`. */
function splitScheme(raw: string): { scheme: string; rest: string } | string {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (/[a-zA-Z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) return 'missing protocol scheme';
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

/** A `%` must start `%XX`: Go's unescape fails otherwise, in every part of a URL. */
function badEscape(s: string): boolean {
  return /%(?![0-9a-fA-F]{2})/.test(s);
}

/** Go's validOptionalPort: empty, or `:` followed by digits only. */
function validOptionalPort(colonPort: string): boolean {
  return colonPort === '' || /^:[0-9]*$/.test(colonPort);
}

/**
 * Characters Go's unescape(…, encodeHost) refuses in a host: ASCII that is neither
 * alphanumeric, `-._~`, nor one of `!$&'()*+,;=:[]<>"` (and `%` outside an escape).
 */
const BAD_HOST_CHAR = /[^a-zA-Z0-9\-._~!$&'()*+,;=:[\]<>"%\u0080-\uffff]/;

/** Go's parseHost. Returns [host, error]. */
function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return "missing ']' in host";
    if (!validOptionalPort(host.slice(close + 1))) return 'invalid port after host';
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !validOptionalPort(host.slice(colon))) return 'invalid port after host';
  }
  if (badEscape(host)) return 'invalid URL escape in host';
  // In a host, `%` may only escape non-ASCII bytes or be `%25` (an IPv6 zone).
  if (/%[0-7][0-9a-fA-F]/.test(host.replace(/%25/g, ''))) return 'invalid URL escape in host';
  const bad = BAD_HOST_CHAR.exec(host);
  if (bad) return `invalid character ${JSON.stringify(bad[0])} in host name`;
  return undefined;
}

/** Go's validUserinfo (RFC 3986 §3.2.1 plus `@`, which Go tolerates before the last one). */
function validUserinfo(s: string): boolean {
  return /^[a-zA-Z0-9\-._:~!$&'()*+,;=%@]*$/.test(s);
}

function splitHostPort(host: string): { hostname: string; port: string } {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    return { hostname: host.slice(1, close), port: host.slice(close + 2) };
  }
  const colon = host.lastIndexOf(':');
  if (colon < 0) return { hostname: host, port: '' };
  return { hostname: host.slice(0, colon), port: host.slice(colon + 1) };
}

function parseAuthority(authority: string): { userinfo?: string; host: string } | string {
  const at = authority.lastIndexOf('@');
  const host = at < 0 ? authority : authority.slice(at + 1);
  const hostError = parseHost(host);
  if (hostError !== undefined) return hostError;
  if (at < 0) return { host };
  const userinfo = authority.slice(0, at);
  if (!validUserinfo(userinfo) || badEscape(userinfo)) return 'net/url: invalid userinfo';
  return { userinfo, host };
}

/** Go's url.Parse for the purposes of a proxy URL. */
export function parseGoUrl(raw: string): GoParse {
  const hash = raw.indexOf('#');
  const [main, fragment] = hash < 0 ? [raw, ''] : [raw.slice(0, hash), raw.slice(hash + 1)];
  if (hasControl(main)) return fail('net/url: invalid control character in URL');
  const split = splitScheme(main);
  if (typeof split === 'string') return fail(split);
  const scheme = split.scheme.toLowerCase();
  let rest = split.rest;
  const query = rest.indexOf('?');
  if (query >= 0) rest = rest.slice(0, query);
  const empty = { scheme, host: '', hostname: '', port: '' };
  if (!rest.startsWith('/')) {
    // RFC 3986 rootless path: opaque when there is a scheme.
    if (scheme !== '') return { ok: true, url: empty };
    const segment = rest.split('/')[0] as string;
    if (segment.includes(':')) return fail('first path segment in URL cannot contain colon');
  }
  let url: GoUrl = empty;
  if (rest.startsWith('//') && (scheme !== '' || !rest.startsWith('///'))) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const parsed = parseAuthority(authority);
    if (typeof parsed === 'string') return fail(parsed);
    url = { ...empty, ...parsed, ...splitHostPort(parsed.host) };
  }
  if (badEscape(rest)) return fail('invalid URL escape in path');
  if (badEscape(fragment)) return fail('invalid URL escape in fragment');
  return { ok: true, url };
}
