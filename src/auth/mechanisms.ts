/**
 * One authentication exchange per scheme, as a small state machine: `start()` gives the
 * first Proxy-Authorization value, `next(token)` answers the upstream's 407 challenge
 * token, or gives undefined when the scheme has nothing more to say (the credentials were
 * rejected). Pure apart from the GSS library behind Negotiate.
 */
import { basicAuthorization } from '../proxy/http1.js';
import { displayUser, ntlmIdentity, type Credentials } from './credentials.js';
import type { GssProvider } from './negotiate.js';
import { authenticate } from './ntlm-v2.js';
import { negotiateMessage, parseChallengeMessage } from './ntlm.js';
import type { AuthScheme } from './schemes.js';

export interface Mechanism {
  readonly scheme: AuthScheme;
  /** Whether later rounds must use the connection the exchange started on. */
  readonly connectionBound: boolean;
  /** Who is authenticating, for messages (never a secret). */
  readonly who: string | undefined;
  /** Whether the credentials themselves have been sent (a 407 now means "wrong"). */
  presented(): boolean;
  start(): Promise<string>;
  /** The answer to a 407 carrying `token` (the scheme's token68), or undefined: rejected. */
  next(token: string | undefined): Promise<string | undefined>;
}

export function basicMechanism(c: Credentials): Mechanism {
  return {
    scheme: 'basic',
    connectionBound: false,
    who: c.user,
    presented: () => true,
    start: async () => basicAuthorization(c.user, c.password ?? ''),
    // A 407 after Basic credentials is a rejection: there is no second round.
    next: async () => undefined,
  };
}

export interface NtlmDeps {
  readonly now: () => number;
  readonly randomBytes: (n: number) => Buffer;
}

/** MS-NLMP connection-oriented exchange: NEGOTIATE → CHALLENGE → AUTHENTICATE. */
export function ntlmMechanism(c: Credentials, deps: NtlmDeps): Mechanism {
  const negotiate = negotiateMessage();
  let answered = false;
  return {
    scheme: 'ntlm',
    connectionBound: true,
    who: displayUser(c),
    presented: () => answered,
    start: async () => {
      answered = false;
      return `NTLM ${negotiate.toString('base64')}`;
    },
    next: async (token) => {
      // A 407 after our AUTHENTICATE_MESSAGE, or one without a challenge: rejected.
      if (answered || token === undefined) return undefined;
      answered = true;
      const challengeBytes = Buffer.from(token, 'base64');
      const message = authenticate({
        identity: ntlmIdentity(c),
        negotiate,
        challengeBytes,
        challenge: parseChallengeMessage(challengeBytes),
        clientChallenge: deps.randomBytes(8),
        now: deps.now(),
      });
      return `NTLM ${message.toString('base64')}`;
    },
  };
}

/** Rounds a Negotiate exchange may take before corproxy gives up (RFC 4559 has no limit). */
const MAX_NEGOTIATE_ROUNDS = 4;

/** RFC 4559 §4: tokens from a fresh GSS context for the proxy's HTTP service. */
export function negotiateMechanism(provider: GssProvider, host: string): Mechanism {
  let client: Awaited<ReturnType<GssProvider['client']>> | undefined;
  let rounds = 0;
  return {
    scheme: 'negotiate',
    connectionBound: true,
    who: undefined,
    // Negotiate falls back to the next scheme instead of failing (no password involved).
    presented: () => false,
    start: async () => {
      client = await provider.client(host);
      rounds = 1;
      return `Negotiate ${await client.step('')}`;
    },
    next: async (token) => {
      if (client === undefined || token === undefined || rounds >= MAX_NEGOTIATE_ROUNDS) {
        return undefined;
      }
      rounds += 1;
      return `Negotiate ${await client.step(token)}`;
    },
  };
}
