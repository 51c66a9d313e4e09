/**
 * GET one URL from a module proxy or checksum database. The byte stream to host:port comes
 * from the injected `openStream` (corproxy's own route: upstream proxy list, direct rules,
 * hosts map); TLS runs here, verified against the approved CA bundle, so go needs no
 * certificate step. One connection per request, a deadline for the whole exchange, a cap on
 * the body, and at most a few redirects (some private proxies redirect zips to storage).
 */
import http from 'node:http';
import type net from 'node:net';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { MirrorError } from './errors.js';

export interface FetchDeps {
  /** Opens a byte stream to host:port over corproxy's route for that target. */
  readonly openStream: (host: string, port: number) => Promise<net.Socket>;
  /** The roots TLS to the origin is verified against (PEM). */
  readonly ca: () => Promise<readonly string[]>;
  /** Sent as User-Agent. */
  readonly userAgent: string;
}

export interface FetchLimits {
  /** Deadline for connect, TLS, request and the whole body. */
  readonly timeoutMs: number;
  /** Largest body accepted; larger answers fail with CPX_ERR_MIRROR_UPSTREAM. */
  readonly maxBytes: number;
}

export interface FetchResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function fail(url: URL, why: string, cause?: unknown): MirrorError {
  return new MirrorError('CPX_ERR_MIRROR_UPSTREAM', `GET ${url.href}: ${why}`, { cause });
}

function defaultPort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * One TLS context per root list: building one from ~145 roots costs about 20 ms of CPU,
 * which every cold fetch paid (bench/README.md, mirror section). The bundle loader hands
 * out the same array until the file changes, so the array is the cache key.
 */
const contexts = new WeakMap<readonly string[], tls.SecureContext>();

function contextFor(ca: readonly string[]): tls.SecureContext {
  let context = contexts.get(ca);
  if (context === undefined) {
    context = tls.createSecureContext({ ca: [...ca] });
    contexts.set(ca, context);
  }
  return context;
}

/** TLS over the stream, verified against `ca` with the URL's host name (SNI only for names). */
function startTls(socket: net.Socket, url: URL, ca: readonly string[]): Promise<tls.TLSSocket> {
  const host = hostOf(url);
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket,
      secureContext: contextFor(ca),
      ALPNProtocols: ['http/1.1'],
      ...(isIP(host) === 0 ? { servername: host } : { host }),
    });
    const onError = (err: Error): void => {
      secure.destroy();
      const hint = /certificate|self.signed|verify/i.test(err.message)
        ? ' (is the corporate CA approved? see corproxy trust)'
        : '';
      reject(fail(url, `TLS failed: ${err.message}${hint}`, err));
    };
    secure.once('error', onError);
    secure.once('secureConnect', () => {
      secure.off('error', onError);
      resolve(secure);
    });
  });
}

function readBody(res: http.IncomingMessage, url: URL, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (declared > maxBytes) {
      reject(fail(url, `response of ${declared} bytes exceeds the limit of ${maxBytes}`));
      res.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        // Rejected before destroy(), which reports the abort synchronously.
        reject(fail(url, `response exceeds the limit of ${maxBytes} bytes`));
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', (err) => reject(fail(url, `reading the response: ${err.message}`, err)));
    res.once('aborted', () => reject(fail(url, 'connection closed before the response ended')));
  });
}

/** The stream of one exchange, and whether the exchange is over (timed out or finished). */
interface Held {
  socket?: net.Socket;
  done: boolean;
}

/** One request on a fresh stream; the stream is closed when the exchange ends. */
async function exchange(
  url: URL,
  limits: FetchLimits,
  deps: FetchDeps,
  held: Held,
): Promise<FetchResponse> {
  const raw = await deps.openStream(hostOf(url), defaultPort(url));
  held.socket = raw;
  if (held.done) raw.destroy();
  const socket = url.protocol === 'https:' ? await startTls(raw, url, await deps.ca()) : raw;
  held.socket = socket;
  if (held.done) socket.destroy();
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => socket,
      method: 'GET',
      host: hostOf(url),
      port: defaultPort(url),
      path: `${url.pathname}${url.search}`,
      headers: {
        Host: url.host,
        'User-Agent': deps.userAgent,
        Accept: '*/*',
        'Accept-Encoding': 'identity',
        Connection: 'close',
      },
    });
    req.once('error', (err) => reject(fail(url, `request failed: ${err.message}`, err)));
    req.once('response', (res) => {
      readBody(res, url, limits.maxBytes).then(
        (body) =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, url: url.href }),
        reject,
      );
    });
    req.end();
  });
}

/** One exchange under a deadline; the stream is destroyed on timeout and afterwards. */
async function fetchOnce(url: URL, limits: FetchLimits, deps: FetchDeps): Promise<FetchResponse> {
  const held: Held = { done: false };
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      held.socket?.destroy();
      reject(fail(url, `no complete answer within ${limits.timeoutMs} ms`));
    }, limits.timeoutMs);
  });
  const work = exchange(url, limits, deps, held);
  // The loser of the race still settles later: keep its rejection from going unhandled.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    held.done = true;
    clearTimeout(timer);
    held.socket?.destroy();
  }
}

/** GET `url`, following up to three redirects to http(s) URLs. */
export async function fetchUrl(
  url: string,
  limits: FetchLimits,
  deps: FetchDeps,
): Promise<FetchResponse> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const res = await fetchOnce(current, limits, deps);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.status) || location === undefined) return res;
    if (hop >= MAX_REDIRECTS) throw fail(current, `more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, current);
    const downgrade = current.protocol === 'https:' && next.protocol !== 'https:';
    if (downgrade || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
      throw fail(
        current,
        `refusing a redirect to ${next.protocol}// (only http(s), never https to http)`,
      );
    }
    current = next;
  }
}
