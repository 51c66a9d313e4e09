/**
 * CONNECT through an upstream that may want authentication. The first CONNECT carries no
 * credentials unless this upstream is known to want Basic or NTLM (it accepted them
 * before) or is configured for Basic only; a 407 names the schemes and corproxy answers
 * with the best one it can (session.ts: Negotiate > NTLM > Basic, only what was offered).
 * A connection-bound exchange (NTLM, Negotiate) continues on the same kept-alive
 * connection; when the upstream closes it, the exchange starts over on a new one.
 * See docs/authentication.md for the whole flow.
 */
import type net from 'node:net';
import { promised, type Callback } from '../callback.js';
import type { UpstreamProxy } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { formatAuthority, type ResponseHead, type Target } from '../proxy/http1.js';
import { notKeptAliveError, refusedError, tooManyRoundsError } from './auth-errors.js';
import { drainBody, SocketReader, type ReaderOptions } from './reply.js';
import type { AuthScheme } from './schemes.js';
import { AuthSession, defaultAuthDeps, type AuthDeps } from './session.js';

export { defaultAuthDeps, type AuthDeps } from './session.js';

/** More CONNECTs than any real exchange needs (probe, Type1, Type3, reconnects). */
export const MAX_ROUNDS = 8;

/** Times a connection-bound exchange is started over on a new connection. */
export const MAX_RESTARTS = 2;

export interface Established {
  readonly socket: net.Socket;
  /** Bytes the upstream sent after its 2xx head (the origin's first bytes). */
  readonly rest: Buffer;
  /** How corproxy got through. */
  readonly scheme: AuthScheme | 'none';
}

/** The CONNECT request; Proxy-Connection asks HTTP/1.0-era proxies to keep the connection. */
export function connectRequest(target: Target, authorization: string | undefined): string {
  const authority = formatAuthority(target);
  const auth = authorization === undefined ? '' : `Proxy-Authorization: ${authorization}\r\n`;
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}Proxy-Connection: Keep-Alive\r\n\r\n`;
}

/** The connection an exchange is on, replaced when the upstream closes it. */
export class Link {
  socket: net.Socket | undefined;
  reader: SocketReader | undefined;
  restarts = 0;

  constructor(
    private readonly open: () => Promise<net.Socket>,
    private readonly opts: ReaderOptions,
  ) {}

  async get(): Promise<{ socket: net.Socket; reader: SocketReader }> {
    if (this.socket === undefined || this.reader === undefined) this.adopt(await this.open());
    return { socket: this.socket!, reader: this.reader! };
  }

  /** Makes `socket` the link's connection (the first round opened it itself). */
  adopt(socket: net.Socket): SocketReader {
    this.socket = socket;
    this.reader = new SocketReader(socket, this.opts);
    return this.reader;
  }

  drop(): void {
    this.reader?.detach();
    // Late write errors of a dropped connection must not become uncaught exceptions.
    this.socket?.on('error', () => undefined).destroy();
    this.socket = undefined;
    this.reader = undefined;
  }
}

/** Errors that mean "this kept-alive connection was closed under us". */
export function closedEarly(err: unknown): boolean {
  return (
    err instanceof CorproxyError &&
    (err.code === 'CPX_ERR_UPSTREAM_PROTOCOL' || err.code === 'CPX_ERR_UPSTREAM_UNREACHABLE')
  );
}

/**
 * Drops the connection; a connection-bound exchange starts over (its state died with the
 * connection), at most MAX_RESTARTS times.
 */
export async function restart(
  session: AuthSession,
  link: Link,
  authorization: string | undefined,
): Promise<string | undefined> {
  link.drop();
  const m = session.mechanism;
  if (m === undefined || !m.connectionBound) return authorization;
  link.restarts += 1;
  if (link.restarts > MAX_RESTARTS) throw notKeptAliveError(session.proxy, m.scheme);
  return m.start();
}

/** Opens a new connection to the upstream; calls back once. */
export type OpenThen = (done: Callback<net.Socket>) => void;

/** Called once: with the error (a CorproxyError), or with the established tunnel. */
export type EstablishedCallback = Callback<Established>;

export type HandshakeOptions = Omit<ReaderOptions, 'who'> & { readonly maxRounds?: number };

/** Sends CONNECT rounds until a 2xx; every error is a CorproxyError. */
export function connectWithAuth(
  proxy: UpstreamProxy,
  target: Target,
  open: () => Promise<net.Socket>,
  opts: HandshakeOptions,
  deps: AuthDeps = defaultAuthDeps,
): Promise<Established> {
  const openThen: OpenThen = (done) => {
    // A callback's undefined error means success: a rejection without a reason is not.
    const failed = (err: unknown): void => done(err ?? new Error('the opener failed'));
    open().then((socket) => done(undefined, socket), failed);
  };
  return promised((done) => connectWithAuthThen(proxy, target, openThen, opts, deps, done));
}

/**
 * connectWithAuth() with a callback. The first round runs on callbacks: an upstream that
 * lets corproxy through at once costs no promise jobs (bench/README.md, eighth round), and
 * one that wants nothing costs none at all, as the first request then goes without
 * credentials (AuthSession.startsBare). A reply other than 2xx, and every round after it,
 * continues in run().
 */
export function connectWithAuthThen(
  proxy: UpstreamProxy,
  target: Target,
  open: OpenThen,
  opts: HandshakeOptions,
  deps: AuthDeps,
  done: EstablishedCallback,
): void {
  const session = new AuthSession(proxy, deps);
  const reading = { who: proxy.id, timeoutMs: opts.timeoutMs, maxHeaderSize: opts.maxHeaderSize };
  const link = new Link(() => promised(open), reading);
  const fail = (err: unknown): void => {
    link.drop();
    done(err);
  };
  const firstRound = (authorization: string | undefined): void => {
    open((err, socket) => {
      if (socket === undefined) {
        fail(err);
        return;
      }
      const reader = link.adopt(socket);
      socket.write(connectRequest(target, authorization));
      reader.headThen('CONNECT', (headErr, head) => {
        if (head === undefined) fail(headErr);
        else if (isSuccess(head)) done(undefined, established(session, socket, reader));
        else {
          run(session, link, target, opts.maxRounds ?? MAX_ROUNDS, head).then(
            (est) => done(undefined, est),
            fail,
          );
        }
      });
    });
  };
  if (session.startsBare()) firstRound(undefined);
  else session.start().then(firstRound, fail);
}

function isSuccess(head: ResponseHead): boolean {
  return head.status >= 200 && head.status <= 299;
}

function established(session: AuthSession, socket: net.Socket, reader: SocketReader): Established {
  const scheme = session.succeeded();
  return { socket, rest: reader.detach(), scheme };
}

/**
 * The rounds from the first one's reply, `first` (round 1 was sent by
 * connectWithAuthThen). Every reply is answered with a new Proxy-Authorization before
 * the next request, so the first request's own is not needed here.
 */
async function run(
  session: AuthSession,
  link: Link,
  target: Target,
  maxRounds: number,
  first: ResponseHead,
): Promise<Established> {
  let authorization: string | undefined;
  let answered: ResponseHead | undefined = first;
  let reused = false;
  for (let round = 1; round <= maxRounds; round += 1) {
    const { socket, reader } = await link.get();
    let head = answered;
    answered = undefined;
    if (head === undefined) {
      socket.write(connectRequest(target, authorization));
      try {
        head = await reader.head('CONNECT');
      } catch (err) {
        // A kept-alive connection the upstream closed meanwhile: start over on a new one.
        if (!reused || !closedEarly(err)) throw err;
        authorization = await restart(session, link, authorization);
        reused = false;
        continue;
      }
    }
    if (isSuccess(head)) return established(session, socket, reader);
    if (head.status !== 407) throw refusedError(session.proxy, target, head);
    const before = session.mechanism;
    authorization = await session.answer(head);
    // Only a connection-bound exchange in progress stays on this connection; anything
    // else starts on a new one (a 407 is often the upstream's last word on a connection).
    if (session.mechanism !== before || before?.connectionBound !== true) {
      link.drop();
      reused = false;
      continue;
    }
    reused = (await drainBody(reader, head, 'CONNECT')) && !reader.atEnd;
    if (!reused) authorization = await restart(session, link, authorization);
  }
  throw tooManyRoundsError(session.proxy, maxRounds);
}
