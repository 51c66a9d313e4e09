/**
 * The I/O shell of the configuration: finds and reads the YAML file, refuses a
 * world-readable file that holds a password, then hands everything to parseConfig. This
 * module is the only reader of process.env in corproxy.
 */

import fs from 'node:fs';
import os from 'node:os';
import { parseDocument } from 'yaml';
import { CorproxyError } from '../errors.js';
import { CONFIG_ENV, defaultConfigFiles, pathFor } from './defaults.js';
import { fail } from './layers.js';
import { parseConfig, type Flags } from './parse.js';
import type { Config } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The world loadConfig touches, injectable for tests. */
export interface LoadDeps {
  env?: Env;
  readFile?: (file: string) => string;
  stat?: (file: string) => { readonly mode: number };
  platform?: NodeJS.Platform;
  homedir?: string;
  /** Base for a relative --config and for relative paths in flags and the environment. */
  cwd?: string;
}

interface ConfigFile {
  readonly path: string;
  readonly doc: unknown;
}

/** A frozen copy of the process environment, for modules that show or pass it on. */
export function envSnapshot(): Env {
  return Object.freeze({ ...process.env });
}

/** Reads the config file (if any), environment and flags into the frozen Config. */
export function loadConfig(flags: Flags & { config?: string }, deps: LoadDeps = {}): Config {
  const env = deps.env ?? envSnapshot();
  const platform = deps.platform ?? process.platform;
  const homedir = deps.homedir ?? os.homedir();
  const cwd = deps.cwd ?? process.cwd();
  const readFile = deps.readFile ?? ((file: string) => fs.readFileSync(file, 'utf8'));
  const stat = deps.stat ?? ((file: string) => fs.statSync(file));
  const found = findConfigFile(flags.config, { env, platform, homedir, cwd, readFile });
  if (found !== undefined && platform !== 'win32') checkSecretFileMode(found, stat);
  return parseConfig({
    ...(found !== undefined && { file: found.doc, filePath: found.path }),
    env,
    flags,
    platform,
    homedir,
    cwd,
  });
}

interface FindDeps {
  readonly env: Env;
  readonly platform: NodeJS.Platform;
  readonly homedir: string;
  readonly cwd: string;
  readonly readFile: (file: string) => string;
}

/** --config, else CORPROXY_CONFIG (both must exist), else the first default file present. */
function findConfigFile(flag: string | undefined, deps: FindDeps): ConfigFile | undefined {
  const fromEnv = deps.env[CONFIG_ENV];
  const named = flag
    ? { by: '--config', file: flag }
    : fromEnv
      ? { by: CONFIG_ENV, file: fromEnv }
      : undefined;
  if (named !== undefined) {
    const file = pathFor(deps.platform).resolve(deps.cwd, named.file);
    return { path: file, doc: parseYaml(file, readText(file, deps.readFile, named.by) ?? '') };
  }
  for (const file of defaultConfigFiles(deps.platform, deps.env, deps.homedir)) {
    const text = readText(file, deps.readFile, undefined);
    if (text !== undefined) return { path: file, doc: parseYaml(file, text) };
  }
  return undefined;
}

/**
 * undefined when a default file (namedBy undefined) is absent; a named file that is
 * absent, or any file that cannot be read, is CPX_ERR_CONFIG_READ.
 */
function readText(
  file: string,
  readFile: (file: string) => string,
  namedBy: string | undefined,
): string | undefined {
  try {
    return readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (namedBy === undefined && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    const why =
      code === 'ENOENT'
        ? `no such file (named by ${namedBy}); create it or fix the path`
        : `cannot read it (${code}); check its permissions or name another file with --config`;
    throw new CorproxyError('CPX_ERR_CONFIG_READ', `${file}: ${why}`, { cause: err });
  }
}

/**
 * YAML 1.2 with duplicate keys refused. Only the first line of a syntax error is kept:
 * the rest quotes the offending source line, which may hold a password.
 */
function parseYaml(file: string, text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    const pos = error.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    const what = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new CorproxyError('CPX_ERR_CONFIG_READ', `${where}: ${what} (YAML syntax)`);
  }
  try {
    return doc.toJS();
  } catch (err) {
    const what = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new CorproxyError('CPX_ERR_CONFIG_READ', `${file}: ${what}`, { cause: err });
  }
}

/** DESIGN §4: a file holding a password must not be world-readable. */
function checkSecretFileMode(found: ConfigFile, stat: (file: string) => { mode: number }): void {
  if (!holdsPassword(found.doc)) return;
  let mode: number;
  try {
    mode = stat(found.path).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new CorproxyError('CPX_ERR_CONFIG_READ', `${found.path}: cannot stat it (${code})`, {
      cause: err,
    });
  }
  if ((mode & 0o004) === 0) return;
  fail(
    'upstream',
    { kind: 'file', name: found.path },
    `holds a password but the file is readable by every user; run chmod 600 ${found.path}`,
  );
}

/** True when any upstream entry carries a password (URL userinfo or a password key). */
export function holdsPassword(doc: unknown): boolean {
  if (typeof doc !== 'object' || doc === null || !('upstream' in doc)) return false;
  const upstream: unknown = doc.upstream;
  const items: unknown[] = Array.isArray(upstream) ? upstream : [upstream];
  return items.some((item) => {
    if (typeof item === 'string') return urlHasPassword(item);
    if (typeof item !== 'object' || item === null) return false;
    const entry = item as Record<string, unknown>;
    const password = entry.password !== undefined && entry.password !== null;
    const auth = entry.auth as Record<string, unknown> | null | undefined;
    const ntHash = typeof auth === 'object' && auth !== null && auth.ntHash != null;
    return password || ntHash || (typeof entry.url === 'string' && urlHasPassword(entry.url));
  });
}

/** `user:password@` before the last `@` (the delimiter Go and WHATWG URL parsing use). */
function urlHasPassword(url: string): boolean {
  const scheme = url.indexOf('://');
  const start = scheme < 0 ? 0 : scheme + 3;
  const at = url.lastIndexOf('@');
  return at > start && url.slice(start, at).includes(':');
}
