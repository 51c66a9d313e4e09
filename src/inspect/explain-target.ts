/**
 * The argument of `corproxy explain`: `host`, `host:port`, `[v6]:port`, or an http(s) URL.
 * A bare host means https (what `go` fetches) on 443; `host:80` means http. Pure.
 */
import { CorproxyError, isCorproxyError } from '../errors.js';
import { redactUrl } from '../log/redact.js';
import { splitHostPort } from '../proxy/http1.js';
import type { ProxyTarget } from './proxy-answer.js';

export interface ExplainTarget extends ProxyTarget {
  /** The argument as given (credentials masked). */
  readonly input: string;
  /** The URL the tools are asked about, e.g. `https://proxy.golang.org/` (no credentials). */
  readonly url: string;
}

function usage(arg: string, why: string): CorproxyError {
  return new CorproxyError(
    'CPX_ERR_USAGE',
    `explain ${JSON.stringify(arg)}: ${why}; give HOST, HOST:PORT or a URL such as https://proxy.golang.org/`,
  );
}

/** The host as written in a URL: after `scheme://` and any userinfo, before port and path. */
function rawUrlHost(arg: string): string {
  const authority = arg.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/)[0] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  const v6 = /^\[([^\]]*)\]/.exec(host);
  if (v6) return v6[1] as string;
  const colon = host.lastIndexOf(':');
  return colon < 0 ? host : host.slice(0, colon);
}

function fromUrl(arg: string): ExplainTarget {
  let url: URL;
  try {
    url = new URL(arg);
  } catch {
    throw usage(arg, 'not a valid URL');
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https') {
    throw usage(arg, `${url.protocol}// URLs are not proxied by Go; explain takes http and https`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw usage(arg, 'the URL has no host');
  const port = url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port);
  const path = `${url.pathname}${url.search}`;
  const shownUrl = `${scheme}://${url.host}${path}`;
  return { input: redactUrl(arg), scheme, host, rawHost: rawUrlHost(arg), port, url: shownUrl };
}

/** Parses the explain argument; CPX_ERR_USAGE (exit 2) when it is none of the forms. */
export function parseExplainTarget(arg: string): ExplainTarget {
  const text = arg.trim();
  if (text === '') throw usage(arg, 'empty target');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return fromUrl(text);
  if (/[/?#@\s]/.test(text)) throw usage(arg, 'not a host or host:port');
  try {
    const { host, port } = splitHostPort(text, 443);
    const rawHost = text.startsWith('[')
      ? text.slice(1, text.indexOf(']'))
      : text.includes(':')
        ? text.slice(0, text.lastIndexOf(':'))
        : text;
    const scheme = port === 80 ? 'http' : 'https';
    const hostText = host.includes(':') ? `[${host}]` : host;
    const authority = port === (scheme === 'https' ? 443 : 80) ? hostText : `${hostText}:${port}`;
    return { input: arg, scheme, host, rawHost, port, url: `${scheme}://${authority}/` };
  } catch (err) {
    if (isCorproxyError(err) && err.code === 'CPX_ERR_BAD_TARGET') {
      throw usage(arg, err.message.replace(/^bad request target "[^"]*": /, ''));
    }
    throw err;
  }
}
