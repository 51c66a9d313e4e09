/**
 * Redaction of credentials before anything reaches a log line or a message. Pure: no I/O.
 * Upstream proxy credentials travel in URL userinfo (RFC 3986 §3.2.1), percent-encoded,
 * and in `Proxy-Authorization: Basic base64(user:pass)` (RFC 7617 §2), so each secret is
 * masked in those three spellings.
 */

import type { UpstreamProxy } from '../config/types.js';

/** What every masked credential becomes. */
export const MASK = '***';

/** Headers whose values are credentials (RFC 9110 §11.6.2, §11.7.2; RFC 6265 §4). */
const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/**
 * `scheme://userinfo@`: the userinfo runs to the last `@` before the authority ends, so an
 * unencoded `@` in a password (`http://u:p@ss@host`) is masked whole.
 */
const SCHEME_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi;

/**
 * A bare `user:pass@host` with no scheme (`proxy=u:p@host:3128`). Neither part may hold a
 * `/`, so paths such as Go's `/@v/list` or npm's `/@scope` are left alone.
 */
const BARE_USERINFO = /(^|[\s"'(<,;=])([^\s/?#@:"'<>(,;=]+):([^\s/?#@"'<>]*)@/g;

function maskUserinfo(userinfo: string): string {
  return userinfo.includes(':') ? `${MASK}:${MASK}` : MASK;
}

/**
 * Masks the user and password of a URL (`http://***:***@proxy:3128`). Works on strings
 * the URL parser rejects too, and leaves everything else byte for byte as it was.
 */
export function redactUrl(url: string): string {
  if (!url.includes('@')) return url;
  return url
    .replace(
      SCHEME_USERINFO,
      (_m, scheme: string, info: string) => `${scheme}${maskUserinfo(info)}@`,
    )
    .replace(BARE_USERINFO, (_m, lead: string) => `${lead}${MASK}:${MASK}@`);
}

/** A copy of `headers` with credential-bearing values replaced by `***`. */
export function redactHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !SECRET_HEADERS.has(name.toLowerCase())) out[name] = value;
    else out[name] = Array.isArray(value) ? value.map(() => MASK) : MASK;
  }
  return out;
}

/** The spellings a secret can take on the wire: raw, percent-encoded, Basic token. */
function spellings(secret: string): string[] {
  const forms = [secret, encodeURIComponent(secret)];
  // Only a `user:pass` pair is ever base64-encoded whole (RFC 7617 §2).
  if (secret.includes(':')) forms.push(Buffer.from(secret, 'utf8').toString('base64'));
  return forms;
}

/** Every spelling of every non-empty secret, without repeats. */
export function secretSpellings(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s !== '').flatMap(spellings))];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles the secrets once into one matcher (longest spelling first, so a `user:pass`
 * pair is masked whole before its password alone). Empty secrets are ignored; with none
 * left the result is the identity function.
 */
export function compileRedactor(secrets: readonly string[]): (text: string) => string {
  const forms = secretSpellings(secrets);
  if (forms.length === 0) return (text) => text;
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => text.replace(pattern, MASK);
}

/** Replaces every secret in `text` (and its encoded forms) with `***`. */
export function redactText(text: string, secrets: readonly string[]): string {
  return compileRedactor(secrets)(text);
}

/** The secrets of the configured upstreams: each password and each `user:password` pair. */
export function secretsOf(upstreams: readonly UpstreamProxy[]): string[] {
  const out: string[] = [];
  for (const u of upstreams) {
    if (u.password) out.push(u.password);
    if (u.username && u.password) out.push(`${u.username}:${u.password}`);
  }
  return out;
}
