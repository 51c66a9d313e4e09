/**
 * Value readers: each takes a key path and a sourced raw value and returns it validated and
 * normalised, or fails with the key path and the value's origin.
 */

import { fail, get, type Context, type Env, type Sourced } from './layers.js';

/** A list from a YAML list, a single value, or comma-separated strings; blanks dropped. */
export function list(key: string, s: Sourced): string[] {
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

export function text(key: string, s: Sourced): string {
  if (typeof s.value !== 'string') fail(key, s.origin, `must be a string, got ${typeof s.value}`);
  return s.value.trim();
}

export function oneOf<T extends string>(key: string, s: Sourced, choices: readonly T[]): T {
  const value = typeof s.value === 'string' ? s.value.trim().toLowerCase() : s.value;
  const found = choices.find((c) => c === value);
  if (found === undefined) {
    fail(key, s.origin, `${JSON.stringify(s.value)} is not one of ${choices.join(', ')}`);
  }
  return found;
}

const TRUE_WORDS = ['true', 'yes', 'on', '1'];
const FALSE_WORDS = ['false', 'no', 'off', '0'];

export function bool(key: string, s: Sourced): boolean {
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
export function durationMs(key: string, s: Sourced): number {
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
export function sizeBytes(key: string, s: Sourced): number {
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

export function positiveInt(key: string, s: Sourced): number {
  const n = typeof s.value === 'string' && /^\d+$/.test(s.value.trim()) ? Number(s.value) : s.value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) {
    fail(key, s.origin, `${JSON.stringify(s.value)} is not a whole number of at least 1`);
  }
  return n;
}

/** A path; `~/` is the home directory; relative paths resolve against the file's directory. */
export function filePath(ctx: Context, key: string, s: Sourced, allowEmpty: boolean): string {
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

export function read<T>(ctx: Context, key: string, reader: (key: string, s: Sourced) => T): T {
  return reader(key, get(ctx, key));
}

export function unique(items: string[]): string[] {
  return [...new Set(items)];
}

/** Go's getEnvAny: the first variable with a non-empty value, as [name, value]. */
export function envAny(env: Env, ...names: string[]): readonly [string, string] | undefined {
  for (const name of names) {
    const value = env[name];
    if (value) return [name, value];
  }
  return undefined;
}
