/**
 * The decisions of one authentication exchange with one upstream, without sockets: which
 * scheme to start with, how to answer each 407, when the credentials were refused, and
 * what to say when nothing is left. Used for CONNECT (handshake.ts) and for plain-HTTP
 * forwarding (forward-auth.ts).
 */
import { randomBytes } from 'node:crypto';
import { AUTH_SCHEMES, authOf } from '../config/auth.js';
import type { UpstreamProxy } from '../config/types.js';
import type { ResponseHead } from '../proxy/http1.js';
import { fromUpstream, rejectedError, requiresAuthError } from './auth-errors.js';
import { CredentialStore, type Credentials } from './credentials.js';
import { basicMechanism, negotiateMechanism, ntlmMechanism, type Mechanism } from './mechanisms.js';
import { negotiateHint, NegotiateLoader } from './negotiate.js';
import { sharedSchemes, type SchemeCache } from './scheme-cache.js';
import {
  missingFor,
  offered,
  parseChallenges,
  tokenFor,
  type AuthScheme,
  type Challenge,
} from './schemes.js';

export interface AuthDeps {
  readonly credentials: CredentialStore;
  readonly negotiate: NegotiateLoader;
  readonly schemes: SchemeCache;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Buffer;
}

/** The daemon's shared state: one credential store, library loader and scheme cache. */
export const defaultAuthDeps: AuthDeps = {
  credentials: new CredentialStore(),
  negotiate: new NegotiateLoader(),
  schemes: sharedSchemes,
  now: Date.now,
  randomBytes,
};

export class AuthSession {
  /** The exchange in progress, if any. */
  mechanism: Mechanism | undefined;
  private readonly tried = new Set<AuthScheme>();
  private credentials: Credentials | undefined | null = null;
  private negotiateNote: string | undefined;

  constructor(
    readonly proxy: UpstreamProxy,
    readonly deps: AuthDeps = defaultAuthDeps,
  ) {}

  private allowed(): readonly AuthScheme[] {
    return authOf(this.proxy).schemes;
  }

  /** Credentials, looked up once per exchange and only when a scheme needs them. */
  private async creds(): Promise<Credentials | undefined> {
    if (this.credentials === null) {
      this.credentials = await this.deps.credentials.resolve(this.proxy);
    }
    return this.credentials;
  }

  private async mechanismFor(scheme: AuthScheme): Promise<Mechanism | undefined> {
    if (scheme === 'negotiate') {
      const lib = await this.deps.negotiate.get();
      return lib.ok ? negotiateMechanism(lib.provider, this.proxy.host) : undefined;
    }
    const c = await this.creds();
    if (c === undefined) return undefined;
    if (scheme === 'basic') return c.password === undefined ? undefined : basicMechanism(c);
    return c.user === '' ? undefined : ntlmMechanism(c, this.deps);
  }

  /**
   * The scheme the first request starts with: the one this upstream accepted last time
   * (Basic at once, NTLM with its NEGOTIATE_MESSAGE), or Basic when it is the only scheme
   * configured; otherwise none (a 407 will say what is wanted).
   */
  private firstScheme(): AuthScheme | undefined {
    const allowed = this.allowed();
    const cached = this.deps.schemes.get(this.proxy.id);
    const scheme =
      cached !== undefined && cached !== 'none'
        ? cached
        : allowed.length === 1 && allowed[0] === 'basic'
          ? 'basic'
          : undefined;
    return scheme !== undefined && allowed.includes(scheme) ? scheme : undefined;
  }

  /** True when the first request goes without credentials: start() would say undefined. */
  startsBare(): boolean {
    return this.firstScheme() === undefined;
  }

  /** The first request's Proxy-Authorization (see firstScheme), if any. */
  async start(): Promise<string | undefined> {
    const scheme = this.firstScheme();
    const m = scheme === undefined ? undefined : await this.mechanismFor(scheme);
    const first = m === undefined ? undefined : await this.begin(m);
    if (first === undefined) this.mechanism = undefined;
    return first;
  }

  /**
   * The first message of `m`, making it current; undefined when a Negotiate context
   * cannot be created (no ticket, unknown principal): the next scheme is tried then.
   */
  private async begin(m: Mechanism): Promise<string | undefined> {
    this.mechanism = m;
    try {
      return await m.start();
    } catch (err) {
      if (m.scheme !== 'negotiate') throw err;
      this.negotiateNote = `Negotiate failed: ${(err as Error).message}`;
      this.tried.add(m.scheme);
      return undefined;
    }
  }

  /** The next scheme offered in `challenges` that can be used. */
  private async choose(challenges: readonly Challenge[]): Promise<Mechanism | undefined> {
    const allowed = this.allowed();
    for (const scheme of offered(challenges)) {
      if (!allowed.includes(scheme) || this.tried.has(scheme)) continue;
      const mechanism = await this.mechanismFor(scheme);
      if (mechanism !== undefined) return mechanism;
      this.tried.add(scheme);
    }
    return undefined;
  }

  /** The 407 error when no scheme is left, saying what corproxy lacks. */
  private async noAnswer(head: ResponseHead, challenges: Challenge[]): Promise<never> {
    const lib = offered(challenges).includes('negotiate')
      ? await this.deps.negotiate.get()
      : undefined;
    const c = await this.creds();
    const can = {
      negotiate: lib?.ok === true,
      ntlm: c !== undefined && c.user !== '',
      basic: c?.password !== undefined,
    };
    const why = lib?.ok === false ? negotiateHint(lib.reason) : undefined;
    const notes = [
      ...(this.negotiateNote === undefined ? [] : [this.negotiateNote]),
      ...missingFor(challenges, this.allowed(), can, why),
    ];
    throw requiresAuthError(this.proxy, head, notes.length === 0 ? undefined : notes.join('; '));
  }

  /** The current mechanism's answer to a 407, or undefined when it has nothing more. */
  private async continueMechanism(
    m: Mechanism,
    challenges: Challenge[],
  ): Promise<string | undefined> {
    try {
      return await m.next(tokenFor(challenges, m.scheme));
    } catch (err) {
      if (m.scheme !== 'negotiate') throw fromUpstream(this.proxy, err);
      // A GSS failure (no ticket, unknown principal): fall back to what else is offered.
      this.negotiateNote = `Negotiate failed: ${(err as Error).message}`;
      return undefined;
    }
  }

  /**
   * The Proxy-Authorization to send after a 407, choosing a new scheme when the current
   * one is finished. Throws the 407's CPX_ERR_UPSTREAM_AUTH when nothing is left.
   */
  async answer(head: ResponseHead): Promise<string> {
    const challenges = parseChallenges(head.headers);
    const m = this.mechanism;
    if (m !== undefined) {
      const next = await this.continueMechanism(m, challenges);
      if (next !== undefined) return next;
      this.tried.add(m.scheme);
      // Credentials refused under a scheme still offered: final (no weaker scheme gets
      // the same password). A scheme the upstream stopped offering is just not used again.
      if (m.presented() && offered(challenges).includes(m.scheme)) {
        throw rejectedError(this.proxy, head, m.scheme, m.who);
      }
      if (m.scheme === 'negotiate') {
        this.negotiateNote ??= 'the upstream did not accept the Negotiate (Kerberos) token';
      }
    }
    // Bounded: every scheme that fails to start is added to `tried`.
    for (let i = 0; i < AUTH_SCHEMES.length; i += 1) {
      const chosen = await this.choose(challenges);
      if (chosen === undefined) break;
      const first = await this.begin(chosen);
      if (first !== undefined) return first;
    }
    this.mechanism = undefined;
    return this.noAnswer(head, challenges);
  }

  /** Remembers how this upstream let corproxy through. */
  succeeded(): AuthScheme | 'none' {
    const scheme = this.mechanism?.scheme ?? 'none';
    this.deps.schemes.set(this.proxy.id, scheme);
    return scheme;
  }
}
