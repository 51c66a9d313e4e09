/**
 * The errors of an authentication exchange. Messages name the upstream, the scheme and
 * the user, never a password, NT hash or token: `go` prints them verbatim.
 */
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { formatAuthority, offeredSchemes, type ResponseHead, type Target } from '../proxy/http1.js';
import { WIRE_NAME, type AuthScheme } from './schemes.js';

function offers(head: ResponseHead): { text: string; schemes: string[] } {
  const schemes = offeredSchemes(head.headers);
  return {
    text: schemes.length > 0 ? `offers ${schemes.join(', ')}` : 'offers no scheme',
    schemes,
  };
}

/** A 407 corproxy has no usable answer to; `why` says what is missing. */
export function requiresAuthError(
  proxy: UpstreamProxy,
  head: ResponseHead,
  why: string | undefined,
): CorproxyError {
  const o = offers(head);
  const tail = why === undefined ? '' : `; ${why}`;
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    `upstream ${proxy.id} requires authentication (407; ${o.text})${tail}`,
    { details: { status: 407, schemes: o.schemes } },
  );
}

const FIX: Readonly<Record<AuthScheme, string>> = {
  basic: 'check the user name and password',
  ntlm: 'check the user name, domain and password (or NT hash)',
  negotiate: 'check the Kerberos ticket (klist) and the proxy host name',
};

/** The upstream answered 407 to credentials corproxy sent with `scheme`. */
export function rejectedError(
  proxy: UpstreamProxy,
  head: ResponseHead,
  scheme: AuthScheme,
  who: string | undefined,
): CorproxyError {
  const o = offers(head);
  const user = who === undefined ? 'credentials' : `credentials of user "${who}"`;
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    `upstream ${proxy.id} rejected the ${user} (407; ${o.text}): ` +
      `${WIRE_NAME[scheme]} authentication failed; ${FIX[scheme]}`,
    {
      details: { status: 407, schemes: o.schemes, scheme, ...(who !== undefined && { user: who }) },
    },
  );
}

/** NTLM needs its three messages on one connection; this upstream closes it in between. */
export function notKeptAliveError(proxy: UpstreamProxy, scheme: AuthScheme): CorproxyError {
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    `upstream ${proxy.id} closes the connection after each ${WIRE_NAME[scheme]} challenge; ` +
      'this scheme needs a kept-alive connection (check the proxy’s persistent-connection settings)',
    { details: { status: 407, scheme } },
  );
}

/** An exchange that went on for more rounds than any real one takes. */
export function tooManyRoundsError(proxy: UpstreamProxy, rounds: number): CorproxyError {
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    `upstream ${proxy.id} still answers 407 after ${rounds} authentication rounds`,
    { details: { status: 407 } },
  );
}

/** A non-2xx, non-407 reply to CONNECT. */
export function refusedError(
  proxy: UpstreamProxy,
  target: Target,
  head: ResponseHead,
): CorproxyError {
  const reason = head.reason === '' ? '' : ` ${head.reason}`;
  return new CorproxyError(
    'CPX_ERR_UPSTREAM_REFUSED',
    `upstream ${proxy.id} refused CONNECT ${formatAuthority(target)} (${head.status}${reason})`,
    { details: { status: head.status } },
  );
}

/** Prefixes a message about the upstream's data (a malformed challenge) with its id. */
export function fromUpstream(proxy: UpstreamProxy, err: unknown): unknown {
  if (err instanceof CorproxyError && err.code === 'CPX_ERR_UPSTREAM_PROTOCOL') {
    if (!err.message.startsWith('upstream ')) {
      return new CorproxyError(err.code, `upstream ${proxy.id} ${err.message}`, { cause: err });
    }
  }
  return err;
}
