/**
 * Pure compilation of the configuration: built-in defaults < YAML file < environment <
 * flags, validated key by key and deep-frozen. Every error is CPX_ERR_CONFIG_INVALID with a
 * message that starts with the key path and ends with where the value came from; upstream
 * passwords never appear in a message.
 */

import net from 'node:net';
import type path from 'node:path';
import { CorproxyError } from '../errors.js';
import { compileModuleGlob, parseModuleGlobList } from '../route/module-glob.js';
import { compileNoProxyPattern, parseNoProxyList } from '../route/no-proxy.js';
import type { Config, Limits, ListenAddress, LogConfig } from './types.js';
import type { ProbeConfig, TrustConfig, UpstreamProxy } from './types.js';
import { CREDENTIAL_ENV, DEFAULTS, ENV_KEYS, SECTIONS } from './defaults.js';
import { deepFreeze, defaultStateDir, pathFor } from './defaults.js';
import { compileMirror } from './mirror.js';
import { withUpstreamAuth, type RawAuth } from './auth.js';
import { compilePac, readImportedLayer, type ImportedSettings } from './pac.js';

/** Command-line flags as yargs hands them over; list items may hold comma-separated values. */
export interface Flags {
  listen?: string[];
  upstream?: string[];
  direct?: string[];
  hosts?: string[];
  allow?: string[];
  fallback?: string;
  log?: string;
  stateDir?: string;
  directFromGoEnv?: boolean;
  pac?: string;
  fromSystem?: boolean;
  /** Values read from the OS proxy settings (serve --from-system): a layer above the defaults. */
  imported?: ImportedSettings;
}

/** Everything parseConfig needs; the caller does all the I/O. */
export interface ConfigInputs {
  /** The parsed YAML document, or undefined when no file was read. */
  file?: unknown;
  /** Where `file` came from: named in errors and `sources`, base of its relative paths. */
  filePath?: string;
  env: Readonly<Record<string, string | undefined>>;
  flags: Flags;
  platform: NodeJS.Platform;
  homedir: string;
  /** Base for relative paths given in flags or the environment; without it they must be absolute. */
  cwd?: string;
}

type Env = ConfigInputs['env'];
/** Where one value came from: the built-in defaults, a file, an env var or a flag. */
export interface Origin {
  readonly kind: 'defaults' | 'system' | 'file' | 'env' | 'flag';
  readonly name: string;
}
/** One raw value with its origin, before validation. */
export interface Sourced {
  readonly value: unknown;
  readonly origin: Origin;
}
type Values = ReadonlyMap<string, Sourced>;

interface Context {
  readonly values: Values;
  readonly env: Env;
  readonly path: path.PlatformPath;
  readonly homedir: string;
  readonly cwd: string | undefined;
  /** Set once any value came from the environment, for `sources`. */
  usedEnv: boolean;
}

const BUILT_IN: Origin = { kind: 'defaults', name: 'built-in default' };

/** Flag field, key path and flag name, in the order docs/configuration.md lists them. */
export const FLAG_KEYS: ReadonlyArray<readonly [keyof Flags, string, string]> = [
  ['listen', 'listen', '--listen'],
  ['allow', 'allow', '--allow'],
  ['upstream', 'upstream', '--upstream'],
  ['fallback', 'fallback', '--fallback'],
  ['direct', 'direct', '--direct'],
  ['directFromGoEnv', 'directFromGoEnv', '--direct-from-go-env'],
  ['hosts', 'hosts', '--hosts'],
  ['stateDir', 'stateDir', '--state-dir'],
  ['log', 'log.file', '--log'],
  ['pac', 'pac', '--pac'],
  ['fromSystem', 'fromSystem', '--from-system'],
];

/** Keys whose environment value is a comma-separated list. */
const ENV_LIST_KEYS = new Set(['listen', 'allow', 'upstream', 'direct', 'hosts']);

/** Compiles and deep-freezes the configuration; throws CPX_ERR_CONFIG_INVALID. */
export function parseConfig(inputs: ConfigInputs): Config {
  const fileLayer = readFileLayer(inputs.file, inputs.filePath);
  const envLayer = readEnvLayer(inputs.env);
  const flagLayer = readFlagLayer(inputs.flags);
  const systemLayer = readImportedLayer(inputs.flags.imported);
  const values = new Map([
    ...flatten(DEFAULTS, BUILT_IN),
    ...systemLayer,
    ...fileLayer,
    ...envLayer,
    ...flagLayer,
  ]);
  const ctx: Context = {
    values,
    env: inputs.env,
    path: pathFor(inputs.platform),
    homedir: inputs.homedir,
    cwd: inputs.cwd,
    usedEnv: envLayer.size > 0,
  };
  const config = compile(ctx, inputs);
  const sources = ['defaults'];
  if (systemLayer.size > 0)
    sources.push(`system proxy settings (${inputs.flags.imported?.source})`);
  if (inputs.filePath !== undefined && inputs.file !== undefined) sources.push(inputs.filePath);
  if (ctx.usedEnv) sources.push('environment');
  if (flagLayer.size > 0) sources.push('flags');
  return deepFreeze({ ...config, sources });
}

function compile(ctx: Context, inputs: ConfigInputs): Omit<Config, 'sources'> {
  const listen = compileListen(ctx);
  const allow = compileAllow(ctx);
  requireAllowForOpenListen(ctx, listen, allow);
  const directFromGoEnv = bool('directFromGoEnv', get(ctx, 'directFromGoEnv'));
  const stateDir = statePath(ctx, inputs);
  const routing = compileDirect(ctx, directFromGoEnv);
  return {
    listen,
    allow,
    upstreams: compileUpstreams(ctx, listen),
    fallback: oneOf('fallback', get(ctx, 'fallback'), ['direct', 'none'] as const),
    pac: compilePac(get(ctx, 'pac'), (k, v) => filePath(ctx, k, v, false), inputs.platform),
    fromSystem: bool('fromSystem', get(ctx, 'fromSystem')),
    ...routing,
    directFromGoEnv,
    hosts: compileHosts(get(ctx, 'hosts')),
    stateDir,
    log: compileLog(ctx, stateDir),
    limits: compileLimits(ctx),
    probe: compileProbe(ctx),
    trust: compileTrust(ctx),
    mirror: compileMirror(
      { get: (key) => get(ctx, key), fail, bool, list, text, durationMs, sizeBytes },
      routing.directModules,
    ),
  };
}

// ---------------------------------------------------------------- errors and layers

/** Throws the one config error shape: `<key path>: <problem and fix>; <origin>`. */
export function fail(key: string, origin: Origin, problem: string): never {
  const where =
    origin.kind === 'file'
      ? `in config file ${origin.name}`
      : origin.kind === 'env'
        ? `from environment variable ${origin.name}`
        : origin.kind === 'flag'
          ? `from flag ${origin.name}`
          : origin.kind === 'system'
            ? `from the system proxy settings (${origin.name})`
            : `from the ${origin.name}`;
  throw new CorproxyError('CPX_ERR_CONFIG_INVALID', `${key}: ${problem}; ${where}`);
}

function get(ctx: Context, key: string): Sourced {
  const found = ctx.values.get(key);
  if (found === undefined) throw new CorproxyError('CPX_ERR_INTERNAL', `no default for ${key}`);
  return found;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One Map entry per key path (`limits.idleTimeout`); null values count as "not set". */
function flatten(doc: Record<string, unknown>, origin: Origin): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const [key, value] of Object.entries(doc)) {
    checkKnown(key, key, Object.keys(DEFAULTS), origin);
    if (value === null || value === undefined) continue;
    if (!(SECTIONS as readonly string[]).includes(key)) {
      out.set(key, { value, origin });
      continue;
    }
    const known = Object.keys(DEFAULTS[key as (typeof SECTIONS)[number]]);
    if (!isMapping(value)) fail(key, origin, `must be a mapping with keys ${known.join(', ')}`);
    for (const [sub, subValue] of Object.entries(value)) {
      checkKnown(`${key}.${sub}`, sub, known, origin);
      if (subValue !== null && subValue !== undefined) {
        out.set(`${key}.${sub}`, { value: subValue, origin });
      }
    }
  }
  return out;
}

/** Rejects a key that is not in `known`, suggesting the nearest known key. */
function checkKnown(keyPath: string, key: string, known: string[], origin: Origin): void {
  if (known.includes(key)) return;
  const squash = (k: string): string => k.toLowerCase().replace(/[-_]/g, '');
  const scored = known.map((k) => [k, editDistance(squash(k), squash(key))] as const);
  const best = scored.sort((a, b) => a[1] - b[1])[0];
  const hint =
    best !== undefined && best[1] <= 2
      ? `did you mean ${best[0]}?`
      : `known keys: ${known.join(', ')}`;
  fail(keyPath, origin, `unknown key (${hint})`);
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, (row[j - 1] ?? 0) + cost));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

function readFileLayer(file: unknown, filePath = 'config file'): Map<string, Sourced> {
  if (file === undefined || file === null) return new Map();
  const origin: Origin = { kind: 'file', name: filePath };
  if (!isMapping(file)) fail('(top level)', origin, 'the config file must be a YAML mapping');
  return flatten(file, origin);
}

function readEnvLayer(env: Env): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const value = ENV_LIST_KEYS.has(key) ? text.split(',') : text;
    out.set(key, { value, origin: { kind: 'env', name } });
  }
  return out;
}

function readFlagLayer(flags: Flags): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const [field, key, name] of FLAG_KEYS) {
    const value = flags[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out.set(key, { value, origin: { kind: 'flag', name } });
  }
  return out;
}

// ---------------------------------------------------------------- value readers

/** A list from a YAML list, a single value, or comma-separated strings; blanks dropped. */
function list(key: string, s: Sourced): string[] {
  const items = Array.isArray(s.value) ? s.value : [s.value];
  return items.flatMap((item: unknown, i) => {
    if (typeof item === 'number') return [String(item)];
    if (typeof item !== 'string') fail(`${key}[${i}]`, s.origin, 'must be a string');
    return item
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
  });
}

function text(key: string, s: Sourced): string {
  if (typeof s.value !== 'string') fail(key, s.origin, `must be a string, got ${typeof s.value}`);
  return s.value.trim();
}

function oneOf<T extends string>(key: string, s: Sourced, choices: readonly T[]): T {
  const value = typeof s.value === 'string' ? s.value.trim().toLowerCase() : s.value;
  const found = choices.find((c) => c === value);
  if (found === undefined) {
    fail(key, s.origin, `${JSON.stringify(s.value)} is not one of ${choices.join(', ')}`);
  }
  return found;
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

function bool(key: string, s: Sourced): boolean {
  if (typeof s.value === 'boolean') return s.value;
  const word = String(s.value).trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  return fail(key, s.origin, `${JSON.stringify(s.value)} is not a boolean; use true or false`);
}

/** Node clamps timer delays above 2^31-1 ms to 1 ms, so a longer "timeout" would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** "30s", "5m", "1h30m", "250ms", or a number of milliseconds; positive. */
function durationMs(key: string, s: Sourced): number {
  const raw = typeof s.value === 'number' ? String(s.value) : s.value;
  const str = typeof raw === 'string' ? raw.trim() : '';
  let ms = /^\d+$/.test(str) ? Number(str) : NaN;
  if (Number.isNaN(ms) && /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(str)) {
    ms = 0;
    for (const m of str.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
      ms += Number(m[1]) * (DURATION_UNITS[m[2] ?? ''] ?? NaN);
    }
    ms = Math.round(ms);
  }
  if (!(ms >= 1 && ms <= MAX_TIMER_MS)) {
    fail(
      key,
      s.origin,
      `${JSON.stringify(s.value)} is not a duration between 1ms and 24d; ` +
        'write e.g. "500ms", "30s", "5m", "1h" or a number of milliseconds',
    );
  }
  return ms;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** "64KiB", "10MiB", "1MB", or a number of bytes; positive. */
function sizeBytes(key: string, s: Sourced): number {
  const str = typeof s.value === 'number' || typeof s.value === 'string' ? String(s.value) : '';
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(str.trim());
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  const bytes = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
  if (!(bytes >= 1 && Number.isSafeInteger(bytes))) {
    fail(
      key,
      s.origin,
      `${JSON.stringify(s.value)} is not a size; write e.g. "64KiB", "10MiB" or a number of bytes`,
    );
  }
  return bytes;
}

function positiveInt(key: string, s: Sourced): number {
  const n = typeof s.value === 'string' && /^\d+$/.test(s.value.trim()) ? Number(s.value) : s.value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    fail(key, s.origin, `${JSON.stringify(s.value)} is not a whole number of at least 1`);
  }
  return n;
}

/** A path; `~/` is the home directory; relative paths resolve against the file's directory. */
function filePath(ctx: Context, key: string, s: Sourced, allowEmpty: boolean): string {
  const raw = text(key, s);
  if (raw === '') {
    if (allowEmpty) return '';
    fail(key, s.origin, 'must not be empty; give a directory path');
  }
  const p = ctx.path;
  const expanded =
    raw === '~' ? ctx.homedir : /^~[/\\]/.test(raw) ? p.join(ctx.homedir, raw.slice(2)) : raw;
  if (p.isAbsolute(expanded)) return p.normalize(expanded);
  const base = s.origin.kind === 'file' ? p.dirname(s.origin.name) : ctx.cwd;
  if (base === undefined)
    fail(key, s.origin, `${JSON.stringify(raw)} is relative; give an absolute path`);
  return p.resolve(base, expanded);
}

function read<T>(ctx: Context, key: string, reader: (key: string, s: Sourced) => T): T {
  return reader(key, get(ctx, key));
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/** Go's getEnvAny: the first variable with a non-empty value, as [name, value]. */
function envAny(env: Env, ...names: string[]): readonly [string, string] | undefined {
  for (const name of names) {
    const value = env[name];
    if (value) return [name, value];
  }
  return undefined;
}

// ---------------------------------------------------------------- listen and allow

const loopbacks = new net.BlockList();
loopbacks.addSubnet('127.0.0.0', 8, 'ipv4');
loopbacks.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').split('%')[0] ?? '';
  const family = net.isIP(bare);
  if (family === 0) return bare.toLowerCase() === 'localhost';
  return loopbacks.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const BOTH_LOOPBACKS = ['127.0.0.1', '::1'];

/** `PORT`, `ADDR:PORT`, `[IPv6]:PORT` or `localhost:PORT`; names other than localhost are refused. */
function parseListenItem(key: string, item: string, origin: Origin): ListenAddress[] {
  if (/^\d+$/.test(item)) return loopbackPair(key, item, origin);
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(item);
  const m = v6 ?? /^([^:[\]]+):(\d+)$/.exec(item);
  if (!m) {
    fail(
      key,
      origin,
      `${JSON.stringify(item)} is not ADDR:PORT, [IPv6]:PORT or PORT (e.g. 127.0.0.1:3129)`,
    );
  }
  const host = (m[1] ?? '').toLowerCase();
  if (host === 'localhost') return loopbackPair(key, m[2] ?? '', origin);
  if (net.isIP(host) !== (v6 ? 6 : 4)) {
    fail(
      key,
      origin,
      `${JSON.stringify(host)} is not an IP address; listen takes IP literals or localhost`,
    );
  }
  return [{ host, port: port(key, m[2] ?? '', origin) }];
}

function loopbackPair(key: string, portText: string, origin: Origin): ListenAddress[] {
  const p = port(key, portText, origin);
  return BOTH_LOOPBACKS.map((host) => ({ host, port: p }));
}

function port(key: string, digits: string, origin: Origin): number {
  const n = Number(digits);
  if (!(n >= 0 && n <= 65535)) fail(key, origin, `port ${digits} is outside 0-65535`);
  return n;
}

function compileListen(ctx: Context): ListenAddress[] {
  const s = get(ctx, 'listen');
  const out = new Map<string, ListenAddress>();
  list('listen', s).forEach((item, i) => {
    for (const a of parseListenItem(`listen[${i}]`, item, s.origin)) out.set(formatAddress(a), a);
  });
  if (out.size === 0) fail('listen', s.origin, 'is empty; give at least one ADDR:PORT or PORT');
  return [...out.values()];
}

function compileAllow(ctx: Context): string[] {
  const s = get(ctx, 'allow');
  return unique(
    list('allow', s).map((item, i) => {
      const [addr = '', prefix, extra] = item.split('/');
      const family = net.isIP(addr);
      const max = family === 6 ? 128 : 32;
      const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= max);
      if (family === 0 || !okPrefix || extra !== undefined) {
        fail(
          `allow[${i}]`,
          s.origin,
          `${JSON.stringify(item)} is not an IP address or CIDR (e.g. 10.1.0.0/16)`,
        );
      }
      return item.toLowerCase();
    }),
  );
}

/** DESIGN §4: corproxy must never become an open proxy by accident. */
function requireAllowForOpenListen(ctx: Context, listen: ListenAddress[], allow: string[]): void {
  const open = listen.find((a) => !isLoopback(a.host));
  if (open === undefined || allow.length > 0) return;
  fail(
    'listen',
    get(ctx, 'listen').origin,
    `${formatAddress(open)} is not a loopback address and no allow list is set; corproxy refuses ` +
      'to run as an open proxy: name the client networks that may connect with ' +
      'allow: [10.1.0.0/16] in the config file, CORPROXY_ALLOW or --allow',
  );
}

// ---------------------------------------------------------------- upstream proxies

interface ProxyDraft {
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** The entry's `auth` mapping, compiled by auth.ts. */
  readonly auth?: RawAuth | undefined;
}

function compileUpstreams(ctx: Context, listen: ListenAddress[]): UpstreamProxy[] {
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

// ---------------------------------------------------------------- routing, paths, sections

/** Runs a route compiler, re-labelling its CPX_ERR_CONFIG_INVALID with key path and origin. */
function checked(key: string, origin: Origin, pattern: string, compiler: Compiler): string {
  try {
    return compiler(pattern).pattern;
  } catch (err) {
    if (err instanceof CorproxyError && err.code === 'CPX_ERR_CONFIG_INVALID') {
      return fail(key, origin, err.message);
    }
    throw err;
  }
}

type Compiler = (pattern: string) => { readonly pattern: string };

function compileDirect(ctx: Context, fromGoEnv: boolean): Pick<Config, 'direct' | 'directModules'> {
  const s = get(ctx, 'direct');
  const direct = list('direct', s).map((p, i) =>
    checked(`direct[${i}]`, s.origin, p, compileNoProxyPattern),
  );
  if (!fromGoEnv) return { direct: unique(direct), directModules: [] };
  const noProxy = envAny(ctx.env, 'NO_PROXY', 'no_proxy');
  const noProxyOrigin: Origin = { kind: 'env', name: noProxy?.[0] ?? '' };
  for (const p of parseNoProxyList(noProxy?.[1] ?? '')) {
    direct.push(checked('direct', noProxyOrigin, p, compileNoProxyPattern));
  }
  // cmd/go: GONOPROXY defaults to GOPRIVATE when it is unset or empty.
  const modules = envAny(ctx.env, 'GONOPROXY') ?? envAny(ctx.env, 'GOPRIVATE');
  const modulesOrigin: Origin = { kind: 'env', name: modules?.[0] ?? '' };
  const directModules = parseModuleGlobList(modules?.[1] ?? '').map((g) =>
    checked('directModules', modulesOrigin, g, compileModuleGlob),
  );
  if (noProxy !== undefined || modules !== undefined) ctx.usedEnv = true;
  return { direct: unique(direct), directModules: unique(directModules) };
}

const HOST_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

function compileHosts(s: Sourced): Record<string, string> {
  const pairs: Array<readonly [string, string, unknown]> = isMapping(s.value)
    ? Object.entries(s.value).map(([name, addr]) => [`hosts.${name}`, name, addr] as const)
    : list('hosts', s).map((item, i) => {
        const eq = item.indexOf('=');
        if (eq < 0)
          fail(
            `hosts[${i}]`,
            s.origin,
            `${JSON.stringify(item)} is not NAME=ADDR (e.g. git.corp.test=10.0.0.5)`,
          );
        return [`hosts[${i}]`, item.slice(0, eq), item.slice(eq + 1)] as const;
      });
  return Object.fromEntries(
    pairs.map(([key, name, addr]) => {
      const host = name.trim().toLowerCase().replace(/\.$/, '');
      if (!HOST_NAME.test(host)) fail(key, s.origin, `${JSON.stringify(name)} is not a host name`);
      const ip = typeof addr === 'string' ? addr.trim().replace(/^\[(.*)\]$/, '$1') : '';
      if (net.isIP(ip) === 0) {
        fail(
          key,
          s.origin,
          `${JSON.stringify(addr)} is not an IP address; hosts maps names to IP literals`,
        );
      }
      return [host, ip.toLowerCase()];
    }),
  );
}

function statePath(ctx: Context, inputs: ConfigInputs): string {
  const s = ctx.values.get('stateDir');
  if (s === undefined) return defaultStateDir(inputs.platform, ctx.env, ctx.homedir);
  return filePath(ctx, 'stateDir', s, false);
}

function compileLog(ctx: Context, stateDir: string): LogConfig {
  const s = ctx.values.get('log.file');
  const off = s !== undefined && ['', 'off'].includes(String(s.value).trim().toLowerCase());
  const file =
    s === undefined
      ? ctx.path.join(stateDir, 'connections.log')
      : off
        ? ''
        : filePath(ctx, 'log.file', s, true);
  return {
    file,
    level: read(ctx, 'log.level', (k, v) =>
      oneOf(k, v, ['error', 'warn', 'info', 'debug'] as const),
    ),
    maxSizeBytes: read(ctx, 'log.maxSize', sizeBytes),
    maxFiles: read(ctx, 'log.maxFiles', positiveInt),
  };
}

function compileLimits(ctx: Context): Limits {
  return {
    headerTimeoutMs: read(ctx, 'limits.headerTimeout', durationMs),
    connectTimeoutMs: read(ctx, 'limits.connectTimeout', durationMs),
    idleTimeoutMs: read(ctx, 'limits.idleTimeout', durationMs),
    keepAliveMs: read(ctx, 'limits.keepAlive', durationMs),
    maxConnections: read(ctx, 'limits.maxConnections', positiveInt),
    maxHeaderSize: read(ctx, 'limits.maxHeaderSize', sizeBytes),
    drainTimeoutMs: read(ctx, 'limits.drainTimeout', durationMs),
    badProxyMs: read(ctx, 'limits.badProxyTime', durationMs),
  };
}

function compileProbe(ctx: Context): ProbeConfig {
  const watch = get(ctx, 'probe.watch');
  return {
    enabled: read(ctx, 'probe.enabled', bool),
    watch: unique(
      list('probe.watch', watch).map((item, i) => {
        const [host = '', p] = item.toLowerCase().split(':');
        const okPort = p === undefined || (/^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535);
        if (!HOST_NAME.test(host) || !okPort) {
          fail(
            `probe.watch[${i}]`,
            watch.origin,
            `${JSON.stringify(item)} is not HOST or HOST:PORT`,
          );
        }
        return item.toLowerCase();
      }),
    ),
    cleanTtlMs: read(ctx, 'probe.cleanTtl', durationMs),
    interceptedTtlMs: read(ctx, 'probe.interceptedTtl', durationMs),
    failureTtlMs: read(ctx, 'probe.failureTtl', durationMs),
    extraPublicRoots: read(ctx, 'probe.extraPublicRoots', (k, v) => filePath(ctx, k, v, true)),
    timeoutMs: read(ctx, 'probe.timeout', durationMs),
  };
}

/** Fingerprints as upper-case hex pairs joined by colons, the form `openssl x509 -fingerprint` prints. */
function fingerprint(key: string, item: string, origin: Origin): string {
  const hex = item
    .replace(/^sha256[:=]/i, '')
    .replace(/[:\s]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    fail(
      key,
      origin,
      `${JSON.stringify(item)} is not a SHA-256 fingerprint (64 hex digits, colons optional)`,
    );
  }
  return (hex.match(/../g) ?? []).join(':');
}

function compileTrust(ctx: Context): TrustConfig {
  const s = get(ctx, 'trust.fingerprints');
  return {
    fingerprints: unique(
      list('trust.fingerprints', s).map((f, i) =>
        fingerprint(`trust.fingerprints[${i}]`, f, s.origin),
      ),
    ),
    bundle: read(ctx, 'trust.bundle', (k, v) => filePath(ctx, k, v, true)),
  };
}
