/**
 * The interception probe (DESIGN.md §6): a TLS handshake of corproxy's own over a tunnel the
 * caller opens through the same route, collecting what classify() needs. A tunnel cannot
 * see the certificate under TLS 1.3 (RFC 8446 §2: it is encrypted), hence this side probe.
 * It sends no application data and never resumes a session.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { isCorproxyError } from '../errors.js';

export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  /** SNI to send; defaults to `host` (never an IP literal, RFC 6066 §3). */
  readonly servername?: string;
  /** A raw byte stream to host:port through whatever route; the caller owns the routing. */
  readonly openTunnel: () => Promise<Duplex>;
  /** PEM roots to verify against, passed explicitly so NODE_EXTRA_CA_CERTS cannot mask interception. */
  readonly publicRoots: readonly string[];
  /** Budget for opening the tunnel and the handshake together. */
  readonly timeoutMs: number;
}

export interface ProbeDeps {
  readonly connect?: typeof tls.connect;
  readonly now?: () => number;
}

export interface ProbeResult {
  readonly host: string;
  readonly port: number;
  readonly servername?: string;
  /** The certificates the peer sent, leaf first, as far as they link. */
  readonly chain: readonly X509Certificate[];
  /** Public roots Node appended from `publicRoots` to complete the chain (not sent). */
  readonly completedFromStore: readonly X509Certificate[];
  readonly authorized: boolean;
  readonly authorizationError?: string;
  readonly handshakeError?: { readonly code: string; readonly message: string };
  readonly connectStatus?: number;
  readonly alpn?: string;
  readonly tlsVersion?: string;
  readonly durationMs: number;
}

type Outcome = Omit<ProbeResult, 'host' | 'port' | 'servername' | 'durationMs'>;

/** Longer chains are not real; the walk stops there whatever the peer sent. */
const MAX_CHAIN = 16;
/** How long end() may take to flush close_notify before the socket is destroyed. */
const CLOSE_GRACE_MS = 1000;

const EMPTY: Outcome = { chain: [], completedFromStore: [], authorized: false };

/** Probes one host; never rejects: failures come back as handshakeError/connectStatus. */
export async function probeTls(opts: ProbeOptions, deps: ProbeDeps = {}): Promise<ProbeResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const servername = sniFor(opts.servername ?? opts.host);
  const head = { host: opts.host, port: opts.port, ...(servername ? { servername } : {}) };
  let outcome: Outcome;
  try {
    const tunnel = await withTimeout(opts.openTunnel, opts.timeoutMs);
    const left = Math.max(1, opts.timeoutMs - (now() - started));
    outcome = await handshake(
      tunnel,
      servername,
      opts.publicRoots,
      left,
      deps.connect ?? tls.connect,
    );
  } catch (err) {
    outcome = { ...EMPTY, ...tunnelFailure(err) };
  }
  return { ...head, ...outcome, durationMs: now() - started };
}

/** RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName". */
function sniFor(name: string): string | undefined {
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  return bare === '' || isIP(bare) !== 0 ? undefined : bare;
}

function timeoutError(what: string, ms: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`${what} did not finish within ${ms} ms`), { code: 'ETIMEDOUT' });
}

/** Runs `open` with a deadline; a tunnel that arrives late is destroyed, not leaked. */
function withTimeout(open: () => Promise<Duplex>, ms: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(timeoutError('opening the tunnel', ms));
    }, ms);
    Promise.resolve()
      .then(open)
      .then(
        (tunnel) => {
          if (done) return void tunnel.destroy();
          done = true;
          clearTimeout(timer);
          resolve(tunnel);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(err);
        },
      );
  });
}

/** What an openTunnel failure tells classify(): its code and any CONNECT status. */
function tunnelFailure(err: unknown): Pick<Outcome, 'handshakeError' | 'connectStatus'> {
  const e = err as NodeJS.ErrnoException;
  const message = e instanceof Error ? e.message : String(err);
  if (isCorproxyError(err)) {
    const status = err.details?.status;
    return {
      handshakeError: { code: err.code, message },
      ...(typeof status === 'number' ? { connectStatus: status } : {}),
    };
  }
  return { handshakeError: { code: typeof e?.code === 'string' ? e.code : 'ERR_PROBE', message } };
}

function handshake(
  tunnel: Duplex,
  servername: string | undefined,
  roots: readonly string[],
  ms: number,
  connect: typeof tls.connect,
): Promise<Outcome> {
  let socket: tls.TLSSocket;
  try {
    socket = connect({
      socket: tunnel,
      ...(servername ? { servername } : {}),
      ca: [...roots],
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
      // `authorized` must mean "chains to the roots given"; the host check is ours (SAN only).
      checkServerIdentity: () => undefined,
    });
  } catch (err) {
    tunnel.destroy();
    return Promise.reject(err);
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (outcome: Outcome, graceful: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      close(socket, tunnel, graceful);
    };
    const fail = (code: string, message: string): void =>
      finish({ ...EMPTY, handshakeError: { code, message } }, false);
    const timer = setTimeout(() => fail('ETIMEDOUT', `TLS handshake took over ${ms} ms`), ms);
    socket.once('secureConnect', () => finish(collect(socket, roots), true));
    socket.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERR_TLS', err.message));
    tunnel.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERR_TUNNEL', err.message));
    socket.once('close', () => fail('ECONNRESET', 'the tunnel closed during the TLS handshake'));
  });
}

/** Sends close_notify when the handshake succeeded; the tunnel always ends up destroyed. */
function close(socket: tls.TLSSocket, tunnel: Duplex, graceful: boolean): void {
  if (!graceful) {
    socket.destroy();
    tunnel.destroy();
    return;
  }
  socket.end();
  const timer = setTimeout(() => {
    socket.destroy();
    tunnel.destroy();
  }, CLOSE_GRACE_MS);
  timer.unref();
  socket.once('close', () => {
    clearTimeout(timer);
    tunnel.destroy();
  });
}

/**
 * Reads everything from the socket. getPeerCertificate(true) comes first and only once:
 * on Node 20 getPeerX509Certificate() removes the leaf from OpenSSL's peer chain, after
 * which the chain reads as empty (nodejs/node#65579).
 */
function collect(socket: tls.TLSSocket, roots: readonly string[]): Outcome {
  const peer = socket.getPeerCertificate(true);
  const all = walkIssuers(peer);
  const { chain, completedFromStore } = splitCompleted(all, roots);
  const alpn = socket.alpnProtocol;
  const version = socket.getProtocol();
  const authError = socket.authorizationError as unknown;
  return {
    chain,
    completedFromStore,
    authorized: socket.authorized,
    ...(socket.authorized ? {} : { authorizationError: errorCode(authError) }),
    ...(typeof alpn === 'string' ? { alpn } : {}),
    ...(version ? { tlsVersion: version } : {}),
  };
}

function errorCode(err: unknown): string {
  if (typeof err === 'string') return err;
  const e = err as NodeJS.ErrnoException | null | undefined;
  return e?.code ?? e?.message ?? 'UNKNOWN';
}

/** Follows issuerCertificate; a self-signed root points at itself, hence the Set. */
function walkIssuers(peer: tls.DetailedPeerCertificate): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: tls.DetailedPeerCertificate | undefined = peer;
  while (cur?.raw !== undefined && !seen.has(cur.fingerprint256) && out.length < MAX_CHAIN) {
    seen.add(cur.fingerprint256);
    out.push(new X509Certificate(cur.raw));
    cur = cur.issuerCertificate;
  }
  return out;
}

/**
 * Node completes the chain from the `ca` store after the certificates the peer sent
 * (src/crypto/crypto_common.cc GetPeerCert), without saying which is which. Trailing
 * certificates that are among our roots are counted as completed: a public root the
 * server also sent loses nothing by that, and a private one is never in `roots`.
 */
function splitCompleted(
  all: X509Certificate[],
  roots: readonly string[],
): Pick<Outcome, 'chain' | 'completedFromStore'> {
  if (all.length < 2) return { chain: all, completedFromStore: [] };
  const rootFps = fingerprints(roots);
  let cut = all.length;
  while (cut > 1 && rootFps.has((all[cut - 1] as X509Certificate).fingerprint256)) cut -= 1;
  return { chain: all.slice(0, cut), completedFromStore: all.slice(cut) };
}

const fingerprintCache = new WeakMap<readonly string[], Set<string>>();

function fingerprints(roots: readonly string[]): Set<string> {
  let set = fingerprintCache.get(roots);
  if (set === undefined) {
    set = new Set();
    for (const pem of roots) {
      try {
        set.add(new X509Certificate(pem).fingerprint256);
      } catch {
        // An unreadable root cannot have completed a chain either.
      }
    }
    fingerprintCache.set(roots, set);
  }
  return set;
}
