/**
 * The configuration's layers and its one error shape: the types every compiler shares, the
 * readers that turn the YAML file, the environment and the flags into key-path maps, and the
 * known-key check that rejects a typo with a did-you-mean suggestion.
 */

import type path from 'node:path';
import { CorproxyError } from '../errors.js';
import { DEFAULTS, ENV_KEYS, SECTIONS } from './defaults.js';
import type { ImportedSettings } from './pac.js';

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

export type Env = ConfigInputs['env'];
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

export interface Context {
  readonly values: Values;
  readonly env: Env;
  readonly path: path.PlatformPath;
  readonly homedir: string;
  readonly cwd: string | undefined;
  /** Set once any value came from the environment, for `sources`. */
  usedEnv: boolean;
}

export const BUILT_IN: Origin = { kind: 'defaults', name: 'built-in default' };

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

export function get(ctx: Context, key: string): Sourced {
  const found = ctx.values.get(key);
  if (found === undefined) throw new CorproxyError('CPX_ERR_INTERNAL', `no default for ${key}`);
  return found;
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One Map entry per key path (`limits.idleTimeout`); null values count as "not set". */
export function flatten(doc: Record<string, unknown>, origin: Origin): Map<string, Sourced> {
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
export function checkKnown(keyPath: string, key: string, known: string[], origin: Origin): void {
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

export function readFileLayer(file: unknown, filePath = 'config file'): Map<string, Sourced> {
  if (file === undefined || file === null) return new Map();
  const origin: Origin = { kind: 'file', name: filePath };
  if (!isMapping(file)) fail('(top level)', origin, 'the config file must be a YAML mapping');
  return flatten(file, origin);
}

export function readEnvLayer(env: Env): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const text = env[name]?.trim();
    if (!text) continue;
    const value = ENV_LIST_KEYS.has(key) ? text.split(',') : text;
    out.set(key, { value, origin: { kind: 'env', name } });
  }
  return out;
}

export function readFlagLayer(flags: Flags): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  for (const [field, key, name] of FLAG_KEYS) {
    const value = flags[field];
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    out.set(key, { value, origin: { kind: 'flag', name } });
  }
  return out;
}
