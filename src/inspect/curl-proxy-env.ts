/**
 * How curl (and git, which fetches through libcurl) chooses a proxy from the environment,
 * per libcurl's url.c (detect_proxy) and noproxy.c. Pure. Where it differs from Go:
 *
 * - `http_proxy` is read in lower case only (an uppercase HTTP_PROXY can be set by a CGI
 *   request header); `https_proxy` is read before `HTTPS_PROXY`; then `all_proxy` and
 *   `ALL_PROXY` as the fallback for every scheme. Go has no ALL_PROXY.
 * - `no_proxy` before `NO_PROXY`. `*` works only as the whole value. An entry matches a
 *   host name and its subdomains, a leading `.` is dropped (so `.corp.example` also matches
 *   corp.example itself), there is no `*.` wildcard and no `:port`. IP targets match IP
 *   entries, with CIDR only from curl 7.86. Entries are comma-separated; after an entry
 *   only blanks and a comma may follow, so anything after a space-separated entry is lost.
 * - localhost and loopback addresses are proxied like any other host.
 * - The default proxy port is 1080 (443 for an https:// proxy), not 80.
 */
import net from 'node:net';
import { redactUrl } from '../log/redact.js';
import {
  pickEnv,
  proxyKey,
  shown,
  type Env,
  type ProxyAnswer,
  type ProxyTarget,
} from './proxy-answer.js';

const CURL_SCHEMES: ReadonlySet<string> = new Set([
  'http',
  'https',
  'socks4',
  'socks4a',
  'socks5',
  'socks5h',
]);

/** The variables curl reads for a scheme, in order. */
export function curlProxyVariables(scheme: 'http' | 'https'): string[] {
  const own = scheme === 'http' ? ['http_proxy'] : ['https_proxy', 'HTTPS_PROXY'];
  return [...own, 'all_proxy', 'ALL_PROXY'];
}

/** noproxy.c tokens: blanks skipped, one token up to a blank or comma, then `,` or stop. */
export function curlNoProxyTokens(value: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const blank = (c: string | undefined): boolean => c === ' ' || c === '\t';
  while (i < value.length) {
    while (blank(value[i])) i++;
    const start = i;
    while (i < value.length && !blank(value[i]) && value[i] !== ',') i++;
    if (i > start) tokens.push(value.slice(start, i));
    while (blank(value[i])) i++;
    if (value[i] !== ',') break;
    while (value[i] === ',') i++;
  }
  return tokens;
}

function hostMatch(name: string, token: string): boolean {
  let t = token.endsWith('.') ? token.slice(0, -1) : token;
  if (t.startsWith('.')) t = t.slice(1);
  const n = name.toLowerCase();
  t = t.toLowerCase();
  if (t.length === n.length) return t === n;
  return t.length < n.length && n.endsWith(t) && n[n.length - t.length - 1] === '.';
}

/** Curl_cidr4_match / Curl_cidr6_match: `bits` 0 means the whole address. */
function cidrMatch(ip: string, family: 4 | 6, token: string): boolean {
  const slash = token.indexOf('/');
  const network = slash < 0 ? token : token.slice(0, slash);
  // atoi: leading digits, anything else counts as 0.
  const bits = slash < 0 ? 0 : Number(/^\d*/.exec(token.slice(slash + 1))?.[0] || '0');
  const max = family === 4 ? 32 : 128;
  if (bits > max || net.isIP(network) !== family) return false;
  const list = new net.BlockList();
  list.addSubnet(network, bits === 0 ? max : bits, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** The no_proxy entry curl matches for `host`, or undefined. */
export function curlNoProxyMatch(value: string, host: string): string | undefined {
  if (value === '' || host === '') return undefined;
  if (value === '*') return '*';
  const family = net.isIP(host);
  const name = family === 0 && host.endsWith('.') ? host.slice(0, -1) : host;
  for (const token of curlNoProxyTokens(value)) {
    const hit = family === 0 ? hostMatch(name, token) : cidrMatch(host, family as 4 | 6, token);
    if (hit) return token;
  }
  return undefined;
}

interface CurlProxy {
  readonly display: string;
  readonly key?: string;
  readonly problem?: string;
}

/** curl's reading of a proxy value: `http://` when there is no scheme, port 1080 by default. */
export function parseCurlProxyValue(value: string): CurlProxy {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { display: redactUrl(value), problem: 'curl cannot parse it and fails the request' };
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? (scheme === 'https' ? 443 : 1080) : Number(url.port);
  const display = redactUrl(text);
  if (!CURL_SCHEMES.has(scheme) || hostname === '') {
    return { display, problem: `curl cannot use a ${scheme}:// proxy and fails the request` };
  }
  return { display, key: proxyKey(scheme, hostname, port) };
}

function base(fields: Partial<ProxyAnswer> & Pick<ProxyAnswer, 'code' | 'reason'>): ProxyAnswer {
  return { tool: 'curl', proxied: false, fails: false, notes: [], ...fields };
}

/** What curl does with `target` given `env`. */
export function curlProxyFor(target: ProxyTarget, env: Env): ProxyAnswer {
  const names = curlProxyVariables(target.scheme);
  const picked = pickEnv(env, names);
  const npRead = pickEnv(env, ['no_proxy', 'NO_PROXY']);
  const common = {
    ...(npRead && { noProxy: shown(npRead) }),
    ...(picked && { variable: shown(picked) }),
  };
  // curl consults no_proxy first and only then looks for a proxy variable.
  const entry = npRead ? curlNoProxyMatch(npRead.value, target.host) : undefined;
  if (entry !== undefined && npRead) {
    const notes = entry.includes('/') ? ['CIDR entries need curl 7.86 or later'] : [];
    const reason = `${npRead.name} entry "${entry}" matches`;
    return base({ ...common, code: 'no-proxy', reason, noProxyEntry: entry, notes });
  }
  if (picked === undefined) {
    return base({ ...common, code: 'no-variable', reason: `none of ${names.join(', ')} is set` });
  }
  const proxy = parseCurlProxyValue(picked.value);
  if (proxy.problem !== undefined) {
    const reason = `${picked.name}: ${proxy.problem}`;
    return base({ ...common, proxy: proxy.display, code: 'unparseable', fails: true, reason });
  }
  return base({
    ...common,
    proxy: proxy.display,
    ...(proxy.key !== undefined && { proxyKey: proxy.key }),
    proxied: true,
    code: 'proxy',
    reason: `proxied via ${proxy.display} (from ${picked.name})`,
  });
}
