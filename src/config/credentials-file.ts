/**
 * The upstream credentials file (docs/authentication.md): a YAML mapping from an upstream's
 * `host:port` to its user and password (or NT hash). It must be readable by its owner only;
 * it is read when a credential is needed, so a changed password needs no restart. No
 * message ever quotes a line of it.
 *
 *   proxy.corp.example:8080:
 *     user: CORP\alice
 *     password: "s3cret"
 */
import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { CorproxyError } from '../errors.js';
import { normalizeNtHash } from './auth.js';

export interface FileCredentials {
  readonly user: string;
  readonly password?: string;
  readonly ntHash?: string;
  readonly domain?: string;
}

const ENTRY_KEYS = ['user', 'password', 'ntHash', 'domain'];

function invalid(file: string, what: string): CorproxyError {
  return new CorproxyError('CPX_ERR_CONFIG_INVALID', `credentials file ${file}: ${what}`);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `host:port` as in UpstreamProxy.id: lower case, IPv6 in brackets. */
function entryKey(file: string, key: string): string {
  const k = key.trim().toLowerCase();
  if (!/^(?:\[[0-9a-f:.]+\]|[a-z0-9_.-]+):\d{1,5}$/.test(k)) {
    throw invalid(file, `${JSON.stringify(key)} is not an upstream host:port`);
  }
  return k;
}

function entry(file: string, id: string, value: unknown): FileCredentials {
  if (!isMapping(value)) throw invalid(file, `${id}: must be a mapping with user and password`);
  for (const k of Object.keys(value)) {
    if (!ENTRY_KEYS.includes(k)) {
      throw invalid(file, `${id}.${k}: unknown key (known keys: ${ENTRY_KEYS.join(', ')})`);
    }
  }
  const str = (k: string): string | undefined => {
    const v = value[k];
    if (v === undefined || v === null) return undefined;
    // Never echoed: it may be the password.
    if (typeof v !== 'string') throw invalid(file, `${id}.${k}: must be a string; quote it`);
    return v;
  };
  const user = str('user');
  if (user === undefined || user === '') throw invalid(file, `${id}.user: is required`);
  const password = str('password');
  const rawHash = str('ntHash');
  const ntHash = rawHash === undefined ? undefined : normalizeNtHash(rawHash);
  if (rawHash !== undefined && ntHash === undefined) {
    throw invalid(file, `${id}.ntHash: is not an NT hash (32 hex digits)`);
  }
  if ((password === undefined) === (ntHash === undefined)) {
    throw invalid(file, `${id}: give exactly one of password and ntHash`);
  }
  const domain = str('domain');
  return {
    user,
    ...(password !== undefined && { password }),
    ...(ntHash !== undefined && { ntHash }),
    ...(domain !== undefined && domain !== '' && { domain }),
  };
}

/** Parses the file's text; throws CPX_ERR_CONFIG_READ (syntax) or _INVALID (shape). */
export function parseCredentialsFile(
  text: string,
  file: string,
): ReadonlyMap<string, FileCredentials> {
  const doc = parseDocument(text, { uniqueKeys: true });
  const error = doc.errors[0];
  if (error !== undefined) {
    // Only the position: the rest of a YAML error quotes the line, which may hold a password.
    const pos = error.linePos?.[0];
    const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
    throw new CorproxyError('CPX_ERR_CONFIG_READ', `credentials file ${where}: YAML syntax error`);
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return new Map();
  if (!isMapping(value))
    throw invalid(file, 'must be a mapping of upstream host:port to credentials');
  const out = new Map<string, FileCredentials>();
  for (const [key, item] of Object.entries(value)) {
    const id = entryKey(file, key);
    if (out.has(id)) throw invalid(file, `${id} is listed twice`);
    out.set(id, entry(file, id, item));
  }
  return out;
}

export interface FileStat {
  readonly mode: number;
  readonly mtimeMs: number;
  readonly size: number;
}

export interface CredentialsFileDeps {
  readonly readFile?: (file: string) => string;
  readonly stat?: (file: string) => FileStat;
  readonly platform?: NodeJS.Platform;
}

function readError(file: string, err: unknown, what: string): CorproxyError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  const fix = code === 'ENOENT' ? 'create it or fix auth.credentialsFile' : 'check its permissions';
  return new CorproxyError(
    'CPX_ERR_CONFIG_READ',
    `credentials file ${file}: cannot ${what} it (${code}); ${fix}`,
    {
      cause: err,
    },
  );
}

/** stat of the file; CPX_ERR_CONFIG_READ when it cannot be. */
export function statCredentialsFile(file: string, deps: CredentialsFileDeps = {}): FileStat {
  try {
    return (deps.stat ?? fs.statSync)(file);
  } catch (err) {
    throw readError(file, err, 'stat');
  }
}

/**
 * Refuses a file that group or others have any access to (POSIX only: Windows ACLs are
 * not mode bits). Checked on every use, as a chmod does not change the file's mtime.
 */
export function checkPrivate(file: string, st: FileStat, deps: CredentialsFileDeps = {}): void {
  if ((deps.platform ?? process.platform) === 'win32' || (st.mode & 0o077) === 0) return;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  throw invalid(file, `is accessible to other users (mode ${mode}); run chmod 600 ${file}`);
}

/** Reads and parses the file once checkPrivate passes. */
export function readCredentialsFile(
  file: string,
  deps: CredentialsFileDeps = {},
): ReadonlyMap<string, FileCredentials> {
  checkPrivate(file, statCredentialsFile(file, deps), deps);
  let text: string;
  try {
    text = (deps.readFile ?? ((f: string) => fs.readFileSync(f, 'utf8')))(file);
  } catch (err) {
    throw readError(file, err, 'read');
  }
  return parseCredentialsFile(text, file);
}
