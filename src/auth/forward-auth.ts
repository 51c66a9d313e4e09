/**
 * Authentication for plain-HTTP requests forwarded to an upstream (absolute-URI requests,
 * not CONNECT). Basic and Negotiate tokens ride on the pooled connections. NTLM
 * authenticates a connection, not a request: corproxy opens a fresh connection, runs
 * NEGOTIATE → CHALLENGE on it with a HEAD for the same URL (safe should the upstream
 * forward it), then sends the real request with the AUTHENTICATE_MESSAGE on that
 * connection, which is closed after the response.
 *
 * A 407 is answered by sending the request again only when it has no body (a body already
 * streamed to the upstream cannot be replayed); the scheme is then remembered so the next
 * request authenticates at once.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { UpstreamProxy } from '../config/types.js';
import type { ResponseHead } from '../proxy/http1.js';
import { requiresAuthError, tooManyRoundsError } from './auth-errors.js';
import { closedEarly, Link, restart } from './handshake.js';
import { keepsAlive, type ReaderOptions } from './reply.js';
import { AuthSession, defaultAuthDeps, type AuthDeps } from './session.js';

/** How one attempt is sent: on a pooled connection, or on a connection NTLM authenticated. */
export type ForwardAuth =
  | { readonly kind: 'pooled'; readonly authorization: string | undefined }
  | {
      readonly kind: 'dedicated';
      readonly socket: net.Socket;
      readonly authorization: string | undefined;
    };

export interface ForwardAuthContext {
  /** Opens a new connection to the upstream. */
  readonly open: () => Promise<net.Socket>;
  readonly reader: Omit<ReaderOptions, 'who'>;
  readonly deps?: AuthDeps;
  /** Bound on attempts (default MAX_ATTEMPTS). */
  readonly maxAttempts?: number;
}

/** Attempts per request: bare, then one answer, then the NTLM AUTHENTICATE. */
const MAX_ATTEMPTS = 4;

/** The HEAD that carries NTLM's first message; a HEAD reply never has a body. */
export function headProbe(url: string, host: string, authorization: string | undefined): string {
  const auth = authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`;
  return `HEAD ${url} HTTP/1.1\r\nHost: ${host}\r\n${auth}Proxy-Connection: Keep-Alive\r\n\r\n`;
}

/** A response head in the form the session reads. */
export function headOf(res: http.IncomingMessage): ResponseHead {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    headers.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
  }
  return {
    status: res.statusCode ?? 0,
    reason: res.statusMessage ?? '',
    headers,
    rest: Buffer.alloc(0),
  };
}

/**
 * NTLM on a fresh connection up to the AUTHENTICATE_MESSAGE, which goes with the real
 * request. Restarts on a new connection when the upstream closes it in between.
 */
async function ntlmConnection(
  session: AuthSession,
  first: string | undefined,
  url: string,
  host: string,
  ctx: ForwardAuthContext,
): Promise<ForwardAuth> {
  const link = new Link(ctx.open, { ...ctx.reader, who: session.proxy.id });
  let authorization = first;
  try {
    for (;;) {
      const { socket, reader } = await link.get();
      socket.write(headProbe(url, host, authorization));
      let head: ResponseHead;
      try {
        head = await reader.head('HEAD');
      } catch (err) {
        if (!closedEarly(err)) throw err;
        authorization = await restart(session, link, authorization);
        continue;
      }
      if (head.status !== 407) {
        // Let through without NTLM after all: the request goes on a pooled connection.
        link.drop();
        session.mechanism = undefined;
        return { kind: 'pooled', authorization: undefined };
      }
      const m = session.mechanism;
      const next = await session.answer(head);
      if (session.mechanism !== m) {
        link.drop();
        return prepare(session, next, url, host, ctx);
      }
      if (keepsAlive(head) && !reader.atEnd) {
        reader.detach();
        return { kind: 'dedicated', socket, authorization: next };
      }
      authorization = await restart(session, link, next);
    }
  } catch (err) {
    link.drop();
    throw err;
  }
}

function prepare(
  session: AuthSession,
  authorization: string | undefined,
  url: string,
  host: string,
  ctx: ForwardAuthContext,
): Promise<ForwardAuth> {
  if (session.mechanism?.scheme === 'ntlm') {
    return ntlmConnection(session, authorization, url, host, ctx);
  }
  return Promise.resolve({ kind: 'pooled', authorization });
}

/**
 * Sends one request through `proxy`, authenticating as the upstream asks. `attempt`
 * sends it with the given auth and resolves the upstream's response (never a 407: those
 * are answered here or thrown as CPX_ERR_UPSTREAM_AUTH).
 */
export async function sendThroughUpstream(
  proxy: UpstreamProxy,
  url: string,
  host: string,
  attempt: (auth: ForwardAuth) => Promise<http.IncomingMessage>,
  replayable: boolean,
  ctx: ForwardAuthContext,
): Promise<http.IncomingMessage> {
  const session = new AuthSession(proxy, ctx.deps ?? defaultAuthDeps);
  let authorization = await session.start();
  const maxAttempts = ctx.maxAttempts ?? MAX_ATTEMPTS;
  for (let i = 1; i <= maxAttempts; i += 1) {
    const auth = await prepare(session, authorization, url, host, ctx);
    const res = await attempt(auth);
    if (res.statusCode !== 407) {
      session.succeeded();
      return res;
    }
    res.resume();
    const head = headOf(res);
    authorization = await session.answer(head);
    if (!replayable) {
      // Remember the scheme so that the next request authenticates at once.
      const scheme = session.mechanism?.scheme;
      if (scheme !== undefined) (ctx.deps ?? defaultAuthDeps).schemes.set(proxy.id, scheme);
      throw requiresAuthError(
        proxy,
        head,
        'the request had a body, which cannot be sent twice; send it again',
      );
    }
  }
  throw tooManyRoundsError(proxy, maxAttempts);
}
