/**
 * Which scheme to answer an upstream's 407 with. Pure: the challenges (RFC 9110 §11.6.1
 * Proxy-Authenticate), the configured allow-list and what corproxy can do right now go in;
 * a scheme comes out. Order is Negotiate > NTLM > Basic, the order browsers use, and a
 * scheme is only ever used when the upstream offered it (no Basic to an NTLM-only proxy).
 */
import type { AuthScheme } from '../config/auth.js';

export type { AuthScheme } from '../config/auth.js';

/** Preference order when several schemes are offered. */
export const PREFERENCE: readonly AuthScheme[] = Object.freeze(['negotiate', 'ntlm', 'basic']);

/** The scheme token as it appears on the wire. */
export const WIRE_NAME: Readonly<Record<AuthScheme, string>> = Object.freeze({
  negotiate: 'Negotiate',
  ntlm: 'NTLM',
  basic: 'Basic',
});

export interface Challenge {
  /** The scheme token as sent (case preserved), e.g. `NTLM`. */
  readonly scheme: string;
  /** The token68 after the scheme (an NTLM or Negotiate blob), if any. */
  readonly token?: string;
}

const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const TOKEN68 = /^[A-Za-z0-9._~+/-]+=*$/;

/** Splits on commas outside quoted strings (RFC 9110 §5.6.1 lists with §5.6.4 quoting). */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const c = value[i]!;
    if (quoted && c === '\\') {
      current += c + (value[i + 1] ?? '');
      i += 1;
    } else if (c === ',' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      if (c === '"') quoted = !quoted;
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * Challenges of all Proxy-Authenticate fields, in order. An item whose first word is
 * followed by `=` is an auth-param of the previous challenge (`Basic realm="x", charset=…`).
 */
export function parseChallenges(headers: ReadonlyArray<readonly [string, string]>): Challenge[] {
  const out: Challenge[] = [];
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'proxy-authenticate') continue;
    for (const item of splitList(value)) {
      const text = item.trim();
      const m = /^([^\s=]+)(?:\s+(.*))?$/.exec(text);
      if (m === null || !TOKEN.test(m[1]!)) continue;
      const rest = (m[2] ?? '').trim();
      // `Basic realm="x"` has auth-params; `NTLM TlRM…` has a token68.
      const token = rest !== '' && TOKEN68.test(rest) ? rest : undefined;
      out.push(token === undefined ? { scheme: m[1]! } : { scheme: m[1]!, token });
    }
  }
  return out;
}

/** The scheme of a challenge, if corproxy knows it. */
export function schemeOf(c: Challenge): AuthScheme | undefined {
  const lower = c.scheme.toLowerCase();
  return PREFERENCE.find((s) => s === lower);
}

/** The schemes offered (known ones only), in preference order. */
export function offered(challenges: readonly Challenge[]): AuthScheme[] {
  const found = new Set(challenges.map(schemeOf));
  return PREFERENCE.filter((s) => found.has(s));
}

/** The token68 the upstream sent with `scheme` (an NTLM CHALLENGE_MESSAGE, say). */
export function tokenFor(challenges: readonly Challenge[], scheme: AuthScheme): string | undefined {
  return challenges.find((c) => schemeOf(c) === scheme && c.token !== undefined)?.token;
}

/** What corproxy could answer with right now. */
export interface Abilities {
  /** A GSSAPI/SSPI library is loaded (tickets are the library's business). */
  readonly negotiate: boolean;
  /** A user and a password or NT hash are known. */
  readonly ntlm: boolean;
  /** A user and a password are known. */
  readonly basic: boolean;
}

/** Names the optional library Negotiate needs. */
export const NEGOTIATE_MISSING =
  'Negotiate needs the optional kerberos package (npm install kerberos)';

/**
 * Why a 407 cannot be answered, for the CPX_ERR_UPSTREAM_AUTH message: what corproxy
 * lacks for each offered and allowed scheme. `negotiateWhy` replaces the generic note on
 * the missing library.
 */
export function missingFor(
  challenges: readonly Challenge[],
  allowed: readonly AuthScheme[],
  can: Abilities,
  negotiateWhy: string = NEGOTIATE_MISSING,
): string[] {
  const offers = offered(challenges);
  const permitted = offers.filter((s) => allowed.includes(s));
  if (offers.length > 0 && permitted.length === 0) {
    return [`none of them is in auth.schemes (${allowed.join(', ')})`];
  }
  const notes: string[] = [];
  if (permitted.includes('negotiate') && !can.negotiate) notes.push(negotiateWhy);
  // With no credentials at all, "requires authentication" says it all.
  if (permitted.includes('ntlm') && !can.ntlm && can.basic) notes.push('NTLM needs a user name');
  if (permitted.includes('basic') && !can.basic && can.ntlm) {
    notes.push('Basic needs a password (an NT hash only works with NTLM)');
  }
  return notes;
}
