/**
 * The `upstream` key: corporate proxy URLs (or HTTPS_PROXY when unset), credentials from the
 * URL, the entry or the environment, and the per-upstream `auth` mapping. Passwords never
 * appear in a message.
 */

import { withUpstreamAuth, type RawAuth } from './auth.js';
import { CREDENTIAL_ENV } from './defaults.js';
import { checkKnown, fail, get, isMapping, type Context, type Origin } from './layers.js';
import type { Sourced } from './layers.js';
import { isLoopback } from './listen.js';
import type { ListenAddress, UpstreamProxy } from './types.js';
import { bool, envAny, filePath, list } from './values.js';

interface ProxyDraft {
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** The entry's `auth` mapping, compiled by auth.ts. */
  readonly auth?: RawAuth | undefined;
}

export function compileUpstreams(ctx: Context, listen: ListenAddress[]): UpstreamProxy[] {
  const s = get(ctx, 'upstream');
  const ports = new Set(listen.map((a) => a.port).filter((p) => p !== 0));
  const drafts = s.origin.kind === 'defaults' ? proxyFromEnv(ctx, ports) : upstreamList(s, ports);
  const proxies = withEnvCredentials(ctx, drafts).map(finishProxy);
  const path = (k: string, v: Sourced): string => filePath(ctx, k, v, false);
  const readers = { env: ctx.env, fail, bool, list, path };
  const authed = withUpstreamAuth(readers, proxies, drafts.map(authOfDraft));
  if (authed.usedEnv) ctx.usedEnv = true;
  return authed.proxies;
}

/** Go's rule: HTTPS_PROXY, then https_proxy; skipped when it names corproxy itself (a loop). */
function proxyFromEnv(ctx: Context, ports: Set<number>): ProxyDraft[] {
  const found = envAny(ctx.env, 'HTTPS_PROXY', 'https_proxy');
  if (found === undefined) return [];
  const draft = parseProxyUrl('upstream', found[1], { kind: 'env', name: found[0] });
  if (pointsAtSelf(draft, ports)) return [];
  ctx.usedEnv = true;
  return [draft];
}

function upstreamList(s: Sourced, ports: Set<number>): ProxyDraft[] {
  const items = (Array.isArray(s.value) ? s.value : [s.value]).filter(
    (item: unknown) => !(typeof item === 'string' && item.trim() === ''),
  );
  if (items.length === 1 && String(items[0]).trim().toLowerCase() === 'none') return [];
  const seen = new Map<string, number>();
  return items.map((item: unknown, i) => {
    const key = `upstream[${i}]`;
    const draft = parseUpstreamItem(key, item, s.origin);
    const id = proxyId(draft);
    if (pointsAtSelf(draft, ports)) {
      fail(
        key,
        s.origin,
        `${id} is corproxy's own listen address (a loop); name the corporate proxy`,
      );
    }
    const earlier = seen.get(id);
    if (earlier !== undefined)
      fail(key, s.origin, `${id} repeats upstream[${earlier}]; list each proxy once`);
    seen.set(id, i);
    return draft;
  });
}

const UPSTREAM_KEYS = ['url', 'username', 'password', 'auth'];

function authOfDraft(d: ProxyDraft): RawAuth | undefined {
  return d.auth;
}

function parseUpstreamItem(key: string, item: unknown, origin: Origin): ProxyDraft {
  if (typeof item === 'string') return parseProxyUrl(key, item, origin);
  if (!isMapping(item))
    fail(key, origin, 'must be a proxy URL or a mapping with url, username, password');
  for (const k of Object.keys(item)) checkKnown(`${key}.${k}`, k, UPSTREAM_KEYS, origin);
  if (typeof item.url !== 'string')
    fail(`${key}.url`, origin, 'is required, e.g. url: http://proxy.corp:8080');
  const parsed = parseProxyUrl(`${key}.url`, item.url, origin);
  const auth = item.auth ?? undefined;
  const draft =
    auth === undefined ? parsed : { ...parsed, auth: { key: `${key}.auth`, value: auth, origin } };
  const username = credential(`${key}.username`, item.username, origin);
  const password = credential(`${key}.password`, item.password, origin);
  if (username === undefined && password === undefined) return draft;
  if (draft.username !== undefined || draft.password !== undefined) {
    fail(key, origin, 'credentials are given both in url and as username/password; keep one');
  }
  return { ...draft, username, password };
}

/** The value is never echoed: it may be a password. */
function credential(key: string, value: unknown, origin: Origin): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    fail(key, origin, 'must be a string; quote it in YAML (e.g. "0123")');
  return value;
}

/**
 * Parses a proxy URL the way Go's net/http does: no scheme means http://, default ports
 * 80/443, userinfo percent-decoded. The raw text is never echoed (it may hold a password).
 */
function parseProxyUrl(key: string, raw: string, origin: Origin): ProxyDraft {
  const str = raw.trim();
  const full = /^[a-z][a-z0-9+.-]*:\/\//i.test(str) ? str : `http://${str}`;
  const scheme = full.slice(0, full.indexOf(':')).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    fail(
      key,
      origin,
      `${scheme}:// proxies are not supported; use an http:// or https:// proxy URL`,
    );
  }
  let url: URL;
  try {
    url = new URL(full);
  } catch {
    return fail(
      key,
      origin,
      'is not a valid proxy URL; expected http://[user[:password]@]host[:port]',
    );
  }
  const protocol = scheme === 'https' ? 'https:' : 'http:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const draft: ProxyDraft = {
    protocol,
    host,
    port: url.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(url.port),
    username: decodeUserinfo(key, url.username, origin),
    password: decodeUserinfo(key, url.password, origin),
  };
  if (url.pathname.length > 1 || url.search !== '' || url.hash !== '') {
    fail(
      key,
      origin,
      // Not echoed: in `http://u:12/x@h` the "port" 12 is the start of a password.
      'has a path, query or fragment; give only ' +
        'scheme://[user:password@]host:port and percent-encode / ? # \\ in credentials (DOMAIN%5Cuser)',
    );
  }
  return draft;
}

function decodeUserinfo(key: string, part: string, origin: Origin): string | undefined {
  if (part === '') return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    return fail(
      key,
      origin,
      'the user name or password holds a % not followed by two hex digits; write % as %25',
    );
  }
}

function pointsAtSelf(draft: ProxyDraft, ports: Set<number>): boolean {
  return ports.has(draft.port) && isLoopback(draft.host);
}

function proxyId(d: ProxyDraft): string {
  return d.host.includes(':') ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`;
}

/** CORPROXY_UPSTREAM_USER / _PASSWORD fill gaps only; one set but filling nothing is an error. */
function withEnvCredentials(ctx: Context, drafts: ProxyDraft[]): ProxyDraft[] {
  const user = ctx.env[CREDENTIAL_ENV.user] || undefined;
  const password = ctx.env[CREDENTIAL_ENV.password] || undefined;
  let usedUser = false;
  let usedPassword = false;
  const out = drafts.map((d) => {
    let { username, password: pw } = d;
    if (username === undefined && user !== undefined) [username, usedUser] = [user, true];
    if (username !== undefined && pw === undefined && password !== undefined) {
      [pw, usedPassword] = [password, true];
    }
    return { ...d, username: pw !== undefined ? (username ?? '') : username, password: pw };
  });
  if (user !== undefined && !usedUser) {
    fail(
      'upstream',
      { kind: 'env', name: CREDENTIAL_ENV.user },
      'is set but no upstream lacks a user name; unset it or remove the user from the upstream URLs',
    );
  }
  if (password !== undefined && !usedPassword) {
    fail(
      'upstream',
      { kind: 'env', name: CREDENTIAL_ENV.password },
      `is set but no upstream has a user name without a password; add user@ to the upstream URL or set ${CREDENTIAL_ENV.user}`,
    );
  }
  if (usedUser || usedPassword) ctx.usedEnv = true;
  return out;
}

/** `display` keeps the user name visible and replaces the password with ***. */
function finishProxy(d: ProxyDraft): UpstreamProxy {
  const id = proxyId(d);
  const user = d.username === undefined ? '' : d.username.replace(/[%@:/]/g, encodeURIComponent);
  const userinfo =
    d.username === undefined ? '' : `${user}${d.password === undefined ? '' : ':***'}@`;
  return {
    protocol: d.protocol,
    host: d.host,
    port: d.port,
    ...(d.username !== undefined && { username: d.username }),
    ...(d.password !== undefined && { password: d.password }),
    display: `${d.protocol}//${userinfo}${id}`,
    id,
  };
}
