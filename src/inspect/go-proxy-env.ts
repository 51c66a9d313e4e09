/**
 * How a Go program (net/http's ProxyFromEnvironment, i.e. golang.org/x/net/http/httpproxy)
 * chooses a proxy for one URL from the environment. Pure; the environment is a parameter.
 *
 * - https:// URLs read HTTPS_PROXY, then https_proxy; http:// URLs HTTP_PROXY, then
 *   http_proxy. An empty value counts as unset. There is no ALL_PROXY and, since Go 1.16,
 *   no fallback from HTTPS_PROXY to HTTP_PROXY (golang/go#40909).
 * - A value url.Parse rejects, or that has no scheme or host, is retried as `http://` +
 *   value; if that fails too the value is dropped without a message: direct.
 * - With REQUEST_METHOD set (CGI), an http:// request with HTTP_PROXY set fails
 *   (golang.org/s/cgihttpproxy, the "httpoxy" fix).
 * - `localhost` and loopback IP literals are never proxied; then NO_PROXY/no_proxy.
 */
import { compileNoProxyPattern, goNeverProxies, parseNoProxyList } from '../route/no-proxy.js';
import { parseGoUrl, type GoUrl } from './go-url.js';
import {
  pickEnv,
  proxyKey,
  shown,
  type Env,
  type EnvRead,
  type ProxyAnswer,
  type ProxyTarget,
} from './proxy-answer.js';
import { redactUrl } from '../log/redact.js';

/** Default ports per proxy scheme (net/http's portMap). */
const GO_PROXY_PORTS: Readonly<Record<string, number>> = Object.freeze({
  http: 80,
  https: 443,
  socks5: 1080,
  socks5h: 1080,
});

export type GoProxyValue =
  | { readonly ok: true; readonly url: GoUrl; readonly prefixed: boolean }
  | { readonly ok: false; readonly error: string };

/** httpproxy's parseProxy: the value, else `http://` + value, else the first error. */
export function parseGoProxyValue(value: string): GoProxyValue {
  if (value === '') return { ok: false, error: 'empty value' };
  const first = parseGoUrl(value);
  if (!first.ok || first.url.scheme === '' || first.url.host === '') {
    const retry = parseGoUrl(`http://${value}`);
    if (retry.ok) return { ok: true, url: retry.url, prefixed: true };
  }
  if (!first.ok) return { ok: false, error: first.error };
  return { ok: true, url: first.url, prefixed: false };
}

export interface NoProxyVerdict {
  /** The entry that matched, `*` included. */
  readonly entry?: string;
  /** Entries Go cannot use: it drops them silently (corproxy's `direct` refuses them). */
  readonly ignored: string[];
}

/** Go's NO_PROXY matching for one host and port. */
export function goNoProxyMatch(value: string, host: string, port: number): NoProxyVerdict {
  const ignored: string[] = [];
  let entry: string | undefined;
  for (const pattern of parseNoProxyList(value)) {
    // `*` anywhere in the list disables the proxy for everything (httpproxy config.init).
    if (pattern === '*') return { entry: '*', ignored };
    let rule;
    try {
      rule = compileNoProxyPattern(pattern);
    } catch {
      ignored.push(pattern);
      continue;
    }
    if (entry === undefined && rule.matches(host, port)) entry = pattern;
  }
  return entry === undefined ? { ignored } : { entry, ignored };
}

function answer(
  fields: Omit<ProxyAnswer, 'tool' | 'proxied' | 'fails' | 'notes'> &
    Partial<Pick<ProxyAnswer, 'proxied' | 'fails' | 'notes'>>,
): ProxyAnswer {
  return { tool: 'go', proxied: false, fails: false, notes: [], ...fields };
}

function proxyUrlText(url: GoUrl): string {
  const auth = url.userinfo === undefined ? '' : `${url.userinfo}@`;
  return redactUrl(`${url.scheme}://${auth}${url.host}`);
}

function ignoredNote(ignored: readonly string[], noProxy: EnvRead | undefined): string[] {
  if (ignored.length === 0 || noProxy === undefined) return [];
  const list = ignored.map((e) => `"${e}"`).join(', ');
  return [`${noProxy.name} entries Go cannot use and skips: ${list}`];
}

/** What Go does with `target` given `env`. */
export function goProxyFor(target: ProxyTarget, env: Env): ProxyAnswer {
  const names =
    target.scheme === 'https' ? ['HTTPS_PROXY', 'https_proxy'] : ['HTTP_PROXY', 'http_proxy'];
  const picked = pickEnv(env, names);
  const npRead = pickEnv(env, ['NO_PROXY', 'no_proxy']);
  const noProxy = npRead && shown(npRead);
  const base = { ...(noProxy && { noProxy }) };
  if (picked === undefined) {
    const reason = `neither ${names[0]} nor ${names[1]} is set`;
    return answer({ ...base, code: 'no-variable', reason });
  }
  const variable = shown(picked);
  const parsed = parseGoProxyValue(picked.value);
  if (!parsed.ok) {
    const reason = `${picked.name} does not parse as a URL (${parsed.error}); Go ignores it silently`;
    return answer({ ...base, variable, code: 'unparseable', reason });
  }
  const proxy = proxyUrlText(parsed.url);
  if (target.scheme === 'http' && (env.REQUEST_METHOD ?? '') !== '') {
    const reason = `REQUEST_METHOD is set (CGI): Go refuses to use ${picked.name} and the request fails`;
    return answer({ ...base, variable, proxy, code: 'cgi', fails: true, reason });
  }
  if (goNeverProxies(target.rawHost)) {
    const reason = 'Go never proxies localhost or a loopback address';
    return answer({ ...base, variable, code: 'loopback', reason });
  }
  const np = npRead ? goNoProxyMatch(npRead.value, target.host, target.port) : { ignored: [] };
  const notes = ignoredNote(np.ignored, noProxy);
  if (np.entry !== undefined) {
    const reason = `${npRead?.name} entry "${np.entry}" matches`;
    return answer({ ...base, variable, code: 'no-proxy', reason, noProxyEntry: np.entry, notes });
  }
  const { scheme, hostname, port } = parsed.url;
  if (parsed.prefixed) notes.push(`${picked.name} has no scheme; Go reads it as ${proxy}`);
  const defaultPort = GO_PROXY_PORTS[scheme];
  if (defaultPort === undefined) {
    notes.push(`Go's transport speaks only http, https and socks5 proxies, not ${scheme}://`);
  }
  return answer({
    ...base,
    variable,
    proxy,
    proxyKey: proxyKey(scheme, hostname, port === '' ? (defaultPort ?? 0) : Number(port)),
    proxied: true,
    code: 'proxy',
    reason: `proxied via ${proxy} (from ${picked.name})`,
    notes,
  });
}
