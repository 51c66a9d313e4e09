/**
 * Upstream authentication settings (docs/authentication.md): the per-upstream `auth`
 * mapping, the environment variables that fill gaps for every upstream, and the format of
 * the credentials file. upstream.ts hands over the value readers so every key is validated and
 * reported like the rest of the configuration. Secrets (NT hashes, passwords) are never put
 * into a message.
 */
import type { Origin, Sourced } from './layers.js';
import type { UpstreamProxy } from './types.js';

/** Schemes corproxy answers a 407 with; the upstream's offer is used Negotiate > NTLM > Basic. */
export type AuthScheme = 'negotiate' | 'ntlm' | 'basic';

export const AUTH_SCHEMES: readonly AuthScheme[] = Object.freeze(['negotiate', 'ntlm', 'basic']);

export interface UpstreamAuth {
  /** The schemes corproxy may use with this upstream (default: all three). */
  readonly schemes: readonly AuthScheme[];
  /** NTLM domain: `auth.domain`, the DOMAIN of `DOMAIN\user`, or CORPROXY_UPSTREAM_DOMAIN. */
  readonly domain?: string;
  /** NTLM workstation name; empty when not configured. */
  readonly workstation?: string;
  /** NT hash (32 lower-case hex digits) used instead of a password. A secret. */
  readonly ntHash?: string;
  /** YAML file of credentials keyed by upstream host:port (mode 0600 or stricter). */
  readonly credentialsFile?: string;
  /** Read the password from the OS keyring (optional package @napi-rs/keyring). */
  readonly keyring?: boolean;
}

/** Environment variables that fill gaps in every upstream's settings. */
export const AUTH_ENV = Object.freeze({
  domain: 'CORPROXY_UPSTREAM_DOMAIN',
  ntHash: 'CORPROXY_UPSTREAM_NTHASH',
  schemes: 'CORPROXY_UPSTREAM_AUTH',
  credentialsFile: 'CORPROXY_CREDENTIALS_FILE',
});

export const AUTH_KEYS = Object.freeze([
  'schemes',
  'domain',
  'workstation',
  'ntHash',
  'credentialsFile',
  'keyring',
]);

/** The raw `auth` mapping of one upstream entry, with its key path. */
export interface RawAuth extends Sourced {
  readonly key: string;
}

/** The readers (values.ts) and error reporter (layers.ts), handed over by upstream.ts. */
export interface AuthReaders {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fail: (key: string, origin: Origin, problem: string) => never;
  readonly bool: (key: string, s: Sourced) => boolean;
  readonly list: (key: string, s: Sourced) => string[];
  /** An absolute path (`~` and relative paths resolved like other path keys). */
  readonly path: (key: string, s: Sourced) => string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Lower-case hex NT hash; also accepts pwdump's `LMHASH:NTHASH` form (the LM half ignored). */
export function normalizeNtHash(raw: string): string | undefined {
  const text = raw.trim().toLowerCase();
  const m = /^(?:[0-9a-f]{32}:)?([0-9a-f]{32})$/.exec(text);
  return m?.[1];
}

function schemesOf(r: AuthReaders, key: string, s: Sourced): AuthScheme[] {
  const items = r.list(key, s).map((x) => x.toLowerCase());
  if (items.length === 0)
    r.fail(key, s.origin, `is empty; list some of ${AUTH_SCHEMES.join(', ')}`);
  for (const item of items) {
    if (!(AUTH_SCHEMES as readonly string[]).includes(item)) {
      r.fail(key, s.origin, `${JSON.stringify(item)} is not one of ${AUTH_SCHEMES.join(', ')}`);
    }
  }
  return AUTH_SCHEMES.filter((scheme) => items.includes(scheme));
}

function name(r: AuthReaders, key: string, s: Sourced): string {
  if (typeof s.value !== 'string') r.fail(key, s.origin, 'must be a string');
  const value = s.value.trim();
  if (value.includes('\\') || [...value].some((c) => c.charCodeAt(0) < 0x20)) {
    r.fail(key, s.origin, 'must not hold control characters or a backslash');
  }
  return value;
}

function ntHashOf(r: AuthReaders, key: string, s: Sourced): string {
  const hash = typeof s.value === 'string' ? normalizeNtHash(s.value) : undefined;
  // The value is never echoed: it is as good as the password.
  if (hash === undefined) r.fail(key, s.origin, 'is not an NT hash (32 hex digits)');
  return hash;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The `auth` mapping of one upstream entry. */
function readMapping(r: AuthReaders, raw: RawAuth): Mutable<Partial<UpstreamAuth>> {
  if (!isMapping(raw.value)) {
    r.fail(raw.key, raw.origin, `must be a mapping with keys ${AUTH_KEYS.join(', ')}`);
  }
  const out: Mutable<Partial<UpstreamAuth>> = {};
  for (const [k, value] of Object.entries(raw.value)) {
    const key = `${raw.key}.${k}`;
    if (!AUTH_KEYS.includes(k)) {
      r.fail(key, raw.origin, `unknown key (known keys: ${AUTH_KEYS.join(', ')})`);
    }
    if (value === null || value === undefined) continue;
    const s = { value, origin: raw.origin };
    if (k === 'schemes') out.schemes = schemesOf(r, key, s);
    if (k === 'domain') out.domain = name(r, key, s);
    if (k === 'workstation') out.workstation = name(r, key, s);
    if (k === 'ntHash') out.ntHash = ntHashOf(r, key, s);
    if (k === 'credentialsFile') out.credentialsFile = r.path(key, s);
    if (k === 'keyring') out.keyring = r.bool(key, s);
  }
  return out;
}

/** `DOMAIN\user` → DOMAIN, else undefined. */
export function domainOfUser(user: string | undefined): string | undefined {
  const slash = user?.indexOf('\\') ?? -1;
  return user !== undefined && slash > 0 ? user.slice(0, slash) : undefined;
}

/** Cross-field rules of one upstream; `key`/`origin` name where its settings came from. */
function check(
  r: AuthReaders,
  key: string,
  origin: Origin,
  p: UpstreamProxy,
  a: Partial<UpstreamAuth>,
): void {
  const prefix = domainOfUser(p.username);
  if (a.domain !== undefined && prefix !== undefined && a.domain !== prefix) {
    r.fail(`${key}.domain`, origin, `contradicts the domain of user "${p.username}"; keep one`);
  }
  if (a.ntHash !== undefined && p.password !== undefined) {
    r.fail(`${key}.ntHash`, origin, 'is set as well as a password; keep one');
  }
  if (a.ntHash !== undefined && p.username === undefined) {
    r.fail(
      `${key}.ntHash`,
      origin,
      'needs a user name (in the URL, username or CORPROXY_UPSTREAM_USER)',
    );
  }
  if (a.keyring === true && p.username === undefined) {
    r.fail(`${key}.keyring`, origin, 'needs a user name to look up (in the URL or username)');
  }
  if (a.keyring === true && (p.password !== undefined || a.ntHash !== undefined)) {
    r.fail(`${key}.keyring`, origin, 'is on but a password or ntHash is configured; keep one');
  }
}

type Filler = (p: UpstreamProxy, a: Mutable<Partial<UpstreamAuth>>) => boolean;

/** Each AUTH_ENV variable fills gaps only; one that fills nothing is an error, like the
 * CORPROXY_UPSTREAM_USER/_PASSWORD rule. */
function envFillers(r: AuthReaders): Array<readonly [string, Filler]> {
  const env = (n: string): Sourced | undefined => {
    const value = r.env[n]?.trim();
    return value ? { value, origin: { kind: 'env', name: n } } : undefined;
  };
  const fillers: Array<readonly [string, Filler]> = [];
  const domain = env(AUTH_ENV.domain);
  if (domain) {
    const value = name(r, 'upstream', domain);
    fillers.push([
      AUTH_ENV.domain,
      (p, a) =>
        p.username !== undefined &&
        a.domain === undefined &&
        !domainOfUser(p.username) &&
        !!(a.domain = value),
    ]);
  }
  const hash = env(AUTH_ENV.ntHash);
  if (hash) {
    const value = ntHashOf(r, 'upstream', hash);
    fillers.push([
      AUTH_ENV.ntHash,
      (p, a) =>
        p.username !== undefined &&
        p.password === undefined &&
        a.ntHash === undefined &&
        a.keyring !== true &&
        !!(a.ntHash = value),
    ]);
  }
  const schemes = env(AUTH_ENV.schemes);
  if (schemes) {
    const value = schemesOf(r, 'upstream', schemes);
    fillers.push([AUTH_ENV.schemes, (_p, a) => a.schemes === undefined && !!(a.schemes = value)]);
  }
  const file = env(AUTH_ENV.credentialsFile);
  if (file) {
    const value = r.path('upstream', file);
    fillers.push([
      AUTH_ENV.credentialsFile,
      (_p, a) => a.credentialsFile === undefined && !!(a.credentialsFile = value),
    ]);
  }
  return fillers;
}

/**
 * Attaches `auth` to each upstream (`raws[i]` is the `auth` mapping of upstream i, if any).
 * Upstreams left with only the defaults get no `auth` field. Returns whether the
 * environment contributed.
 */
export function withUpstreamAuth(
  r: AuthReaders,
  proxies: readonly UpstreamProxy[],
  raws: ReadonlyArray<RawAuth | undefined>,
): { proxies: UpstreamProxy[]; usedEnv: boolean } {
  const settings = proxies.map((_p, i) => {
    const raw = raws[i];
    return raw === undefined ? {} : readMapping(r, raw);
  });
  const fillers = envFillers(r);
  for (const [variable, fill] of fillers) {
    const used = proxies.map((p, i) => fill(p, settings[i]!)).some(Boolean);
    if (!used) {
      r.fail(
        'upstream',
        { kind: 'env', name: variable },
        'is set but fills no gap in any upstream; unset it',
      );
    }
  }
  const out = proxies.map((p, i) => {
    const a = settings[i]!;
    const raw = raws[i];
    check(r, raw?.key ?? 'upstream', raw?.origin ?? { kind: 'env', name: 'environment' }, p, a);
    if (Object.keys(a).length === 0) return p;
    return { ...p, auth: { schemes: AUTH_SCHEMES, ...a } };
  });
  return { proxies: out, usedEnv: fillers.length > 0 };
}

/** The settings of `proxy` with defaults filled in. */
export function authOf(proxy: UpstreamProxy): UpstreamAuth {
  return proxy.auth ?? { schemes: AUTH_SCHEMES };
}
