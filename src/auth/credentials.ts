/**
 * Where an upstream's credentials come from, looked up only when a 407 asks for them:
 * the configuration (URL userinfo, username/password keys, CORPROXY_UPSTREAM_* variables,
 * auth.ntHash), then the credentials file, then the OS keyring. The file is re-read when it
 * changes and the keyring is asked each time, so a new password needs no restart.
 * Credentials are looked up per upstream id: one upstream's secret never goes to another.
 */
import { authOf } from '../config/auth.js';
import {
  checkPrivate,
  readCredentialsFile,
  statCredentialsFile,
  type CredentialsFileDeps,
  type FileCredentials,
} from '../config/credentials-file.js';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { ntHash, type NtlmIdentity } from './ntlm-v2.js';

export interface Credentials {
  /** As configured: `alice`, `CORP\alice` or `alice@corp.example`. */
  readonly user: string;
  readonly password?: string;
  /** NTOWFv1, 16 bytes. */
  readonly ntHash?: Buffer;
  /** Explicit NTLM domain ('' when none was given besides a `DOMAIN\` prefix). */
  readonly domain: string;
  readonly workstation: string;
  /** Where the secret came from: `config`, `credentials file PATH` or `keyring`. */
  readonly source: string;
}

/** Reads one secret from the OS keyring; undefined when there is no such entry. */
export type KeyringLookup = (service: string, account: string) => Promise<string | undefined>;

export interface CredentialDeps {
  readonly file?: CredentialsFileDeps;
  readonly keyring?: KeyringLookup;
}

export const KEYRING_PACKAGE = '@napi-rs/keyring';
export const KEYRING_SERVICE = 'corproxy';

/** The keyring account of an upstream's user: `user@host:port`. */
export function keyringAccount(user: string, proxy: UpstreamProxy): string {
  return `${user}@${proxy.id}`;
}

interface KeyringModule {
  Entry: new (service: string, account: string) => { getPassword(): string | null | undefined };
}

/** The default lookup through the optional package, imported on first use. */
export const defaultKeyring: KeyringLookup = async (service, account) => {
  let mod: KeyringModule;
  try {
    const name = KEYRING_PACKAGE;
    const loaded = (await import(name)) as { default?: KeyringModule } & KeyringModule;
    mod = loaded.Entry === undefined && loaded.default !== undefined ? loaded.default : loaded;
  } catch (err) {
    throw new CorproxyError(
      'CPX_ERR_CONFIG_INVALID',
      `auth.keyring is on but the optional package ${KEYRING_PACKAGE} cannot be loaded; ` +
        `run npm install ${KEYRING_PACKAGE} next to corproxy`,
      { cause: err },
    );
  }
  return new mod.Entry(service, account).getPassword() ?? undefined;
};

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly entries: ReadonlyMap<string, FileCredentials>;
}

function fromConfig(proxy: UpstreamProxy): Credentials | undefined {
  const auth = authOf(proxy);
  if (proxy.username === undefined) return undefined;
  if (proxy.password === undefined && auth.ntHash === undefined) return undefined;
  return {
    user: proxy.username,
    ...(proxy.password !== undefined && { password: proxy.password }),
    ...(auth.ntHash !== undefined && { ntHash: Buffer.from(auth.ntHash, 'hex') }),
    domain: auth.domain ?? '',
    workstation: auth.workstation ?? '',
    source: 'config',
  };
}

export class CredentialStore {
  private readonly files = new Map<string, CachedFile>();

  constructor(private readonly deps: CredentialDeps = {}) {}

  /** The credentials for `proxy`, or undefined when none are configured anywhere. */
  async resolve(proxy: UpstreamProxy): Promise<Credentials | undefined> {
    const auth = authOf(proxy);
    const configured = fromConfig(proxy);
    if (configured !== undefined) return configured;
    if (auth.credentialsFile !== undefined) {
      const found = this.fileEntry(auth.credentialsFile, proxy);
      if (found !== undefined) return found;
    }
    if (auth.keyring === true && proxy.username !== undefined) {
      return this.fromKeyring(proxy, proxy.username);
    }
    return undefined;
  }

  private fileEntry(file: string, proxy: UpstreamProxy): Credentials | undefined {
    const st = statCredentialsFile(file, this.deps.file);
    checkPrivate(file, st, this.deps.file);
    let cached = this.files.get(file);
    if (cached === undefined || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size) {
      cached = { ...st, entries: readCredentialsFile(file, this.deps.file) };
      this.files.set(file, cached);
    }
    const e = cached.entries.get(proxy.id);
    if (e === undefined) return undefined;
    if (proxy.username !== undefined && proxy.username !== e.user) {
      throw new CorproxyError(
        'CPX_ERR_CONFIG_INVALID',
        `credentials file ${file}: ${proxy.id} is for user "${e.user}" but the upstream ` +
          `names user "${proxy.username}"; keep one`,
      );
    }
    const auth = authOf(proxy);
    return {
      user: e.user,
      ...(e.password !== undefined && { password: e.password }),
      ...(e.ntHash !== undefined && { ntHash: Buffer.from(e.ntHash, 'hex') }),
      domain: auth.domain ?? e.domain ?? '',
      workstation: auth.workstation ?? '',
      source: `credentials file ${file}`,
    };
  }

  private async fromKeyring(proxy: UpstreamProxy, user: string): Promise<Credentials> {
    const account = keyringAccount(user, proxy);
    const password = await (this.deps.keyring ?? defaultKeyring)(KEYRING_SERVICE, account);
    if (password === undefined) {
      throw new CorproxyError(
        'CPX_ERR_UPSTREAM_AUTH',
        `upstream ${proxy.id}: the OS keyring has no password for service "${KEYRING_SERVICE}", ` +
          `account "${account}"; store one (docs/authentication.md)`,
      );
    }
    const auth = authOf(proxy);
    return {
      user,
      password,
      domain: auth.domain ?? '',
      workstation: auth.workstation ?? '',
      source: 'keyring',
    };
  }
}

/**
 * The NTLM identity: `DOMAIN\user` is split (an explicit domain wins); a UPN
 * (`user@corp.example`) is sent whole with an empty domain, as MS-NLMP §2.2.1.3 allows.
 */
export function ntlmIdentity(c: Credentials): NtlmIdentity {
  const slash = c.user.indexOf('\\');
  const user = slash > 0 ? c.user.slice(slash + 1) : c.user;
  const domain = c.domain !== '' ? c.domain : slash > 0 ? c.user.slice(0, slash) : '';
  return {
    user,
    domain,
    workstation: c.workstation,
    ntHash: c.ntHash ?? ntHash(c.password ?? ''),
  };
}

/** The name used in messages: `DOMAIN\user` (never a secret). */
export function displayUser(c: Credentials): string {
  const id = ntlmIdentity(c);
  return id.domain === '' ? id.user : `${id.domain}\\${id.user}`;
}
