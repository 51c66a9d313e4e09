/**
 * One request/response exchange of the plain-HTTP fast path on raw sockets: the request
 * head written to a pooled or new connection, interim replies relayed, the final head
 * rewritten (fast-heads.ts) and the body relayed byte for byte with backpressure until
 * its framing says it ended (RFC 9112 §6.3, §7.1). Afterwards the server connection goes
 * back to the pool when it is clean, and a kept-alive client connection, with whatever it
 * pipelined meanwhile, to the `after` function (fast-forward.ts waits for its next request).
 * One timer per exchange, refreshed per chunk; no closure or buffer copy per chunk.
 */
import type net from 'node:net';
import { sharedSchemes } from '../auth/scheme-cache.js';
import { formatHttpReply, toHttpReply } from '../errors.js';
import type { Outcome } from '../events.js';
import type { BadProxyList } from './bad-proxies.js';
import { ChunkedError, responseFraming, serverKeepsAlive } from './body-framing.js';
import { BodyEnd } from './fast-body.js';
import { finalText, interimText, requestText } from './fast-heads.js';
import type { FastPool } from './fast-pool.js';
import {
  attachClient,
  attachOrigin,
  closeClient,
  detachClient,
  detachOrigin,
  openHop,
  Backlog,
  type ExchangeEvents,
} from './fast-sockets.js';
import { HopErrors, type FastRoute } from './fast-route.js';
import { upstreamAnswered, upstreamFailed } from './forward-common.js';
import { giveToHttpServer, type FrontContext } from './front.js';
import { ResponseHeadReader, type ResponseHead } from './http1.js';
import { clientLabel, finishRecord, type RecordStart } from './record.js';
import { clientKeepsAlive, type RequestHead } from './request-head.js';
import type { ServerState } from './state.js';

/** Methods sent again on a fresh connection when a pooled one was closed under them. */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);

type Phase = 'connect' | 'head' | 'body' | 'done';

/**
 * Takes a kept-alive client once its exchange is over, with the bytes it sent meanwhile;
 * the client's listeners are still attached (fast-sockets.ts attachClient).
 */
export type AfterExchange = (
  ctx: FrontContext,
  pool: FastPool,
  client: net.Socket,
  rest: Buffer,
) => void;

class Exchange implements ExchangeEvents {
  readonly state: ServerState;
  readonly start: RecordStart;
  readonly request: string;
  readonly errors: HopErrors;
  /** What the client sent during the exchange; made when it sends something. */
  backlog: Backlog | undefined;
  readonly epoch: number;
  readonly badProxies: BadProxyList;
  phase: Phase = 'connect';
  origin: net.Socket | undefined;
  reused = false;
  retried = false;
  /** A byte of the reply arrived on the current connection. */
  answered = false;
  reader: ResponseHeadReader | undefined;
  timer: NodeJS.Timeout | undefined;
  body: BodyEnd | undefined;
  status = 0;
  bytesDown = 0;
  clientKeeps: boolean;
  serverKeeps = false;
  originPaused = false;

  constructor(
    readonly ctx: FrontContext,
    readonly pool: FastPool,
    readonly client: net.Socket,
    readonly head: RequestHead,
    readonly buffered: Buffer,
    readonly route: FastRoute,
    readonly after: AfterExchange,
  ) {
    const { state } = ctx;
    this.state = state;
    this.start = {
      id: state.nextId(),
      startedAt: state.clock(),
      client: clientLabel(client.remoteAddress, client.remotePort),
      method: head.method,
      target: head.target,
    };
    const { hop, target } = route;
    this.request = requestText(state, head, target, hop.kind === 'upstream');
    this.errors = new HopErrors(route);
    this.epoch = state.network.epoch;
    this.badProxies = state.badProxies;
    this.clientKeeps = clientKeepsAlive(head);
  }

  /** Header names kept as sent: the head is relayed to the client. */
  private headReader(): ResponseHeadReader {
    const max = this.state.config.limits.maxHeaderSize;
    const { who, side } = this.errors;
    return new ResponseHeadReader(max, who, { keepCase: true, side });
  }

  /** A new connection to the next hop. */
  dial(): void {
    this.phase = 'connect';
    openHop(this.state, this.route.hop, this.route.target).then(
      (socket) => {
        if (this.phase === 'done') socket.destroy();
        else this.send(socket);
      },
      (err: unknown) => this.failBeforeHead(err),
    );
  }

  /** Writes the request on `socket` and waits for the reply head. */
  send(socket: net.Socket): void {
    attachOrigin(socket, this);
    this.origin = socket;
    this.answered = false;
    this.reader = this.headReader();
    this.phase = 'head';
    if (this.timer === undefined) {
      this.timer = setTimeout(onTimeout, this.state.config.limits.idleTimeoutMs, this);
    } else {
      this.timer.refresh();
    }
    socket.write(this.request, 'latin1');
  }

  fromOrigin(chunk: Buffer): void {
    if (this.phase === 'body') {
      this.timer!.refresh();
      this.relayBody(chunk);
    } else if (this.phase === 'head') {
      this.answered = true;
      this.readHead(chunk);
    }
  }

  private readHead(chunk: Buffer): void {
    let head: ResponseHead | undefined;
    try {
      head = this.reader!.feed(chunk);
      // RFC 9110 §15.2: interim replies are relayed, then the next head is read.
      while (head !== undefined && head.status < 200 && head.status !== 101) {
        this.client.write(interimText(head), 'latin1');
        this.reader = this.headReader();
        head = head.rest.length > 0 ? this.reader.feed(head.rest) : undefined;
      }
    } catch (err) {
      this.failBeforeHead(err);
      return;
    }
    if (head !== undefined) this.onFinalHead(head);
  }

  private onFinalHead(head: ResponseHead): void {
    const { hop } = this.route;
    if (head.status === 407 && hop.kind === 'upstream') {
      this.handOff();
      return;
    }
    // Nothing asked to switch protocols, so a 101 is a broken reply (RFC 9110 §15.2.2).
    const framing =
      head.status === 101
        ? { kind: 'invalid' as const, reason: 'switched protocols unasked' }
        : responseFraming(this.head.method, head.status, head.headers);
    if (framing.kind === 'invalid') {
      this.failBeforeHead(this.errors.protocol(`sent a reply with ${framing.reason}`));
      return;
    }
    if (hop.kind === 'upstream') {
      upstreamAnswered(this.state, this.badProxies, hop.proxy);
      // What AuthSession.succeeded() remembers on the slow path.
      sharedSchemes.set(hop.proxy.id, 'none');
    }
    this.status = head.status;
    const body = new BodyEnd(framing, this.state.config.limits.maxHeaderSize);
    this.body = body;
    this.serverKeeps = serverKeepsAlive(head.version ?? '1.1', head.headers, framing);
    if (framing.kind === 'close') this.clientKeeps = false;
    const text = finalText(head, {
      instanceToken: this.state.instanceToken,
      verbatimCoding: framing.kind === 'chunked' || framing.kind === 'close',
      close: !this.clientKeeps,
    });
    this.phase = 'body';
    const { rest } = head;
    const used = rest.length > 0 ? this.bodyPart(rest) : 0;
    const n = typeof used === 'number' ? used : 0;
    // The head and the body bytes that came with it leave in one buffer, one write: two
    // writes cost a system call each, and a corked writev of a string and a buffer cost
    // Node's generic path about 2 µs per response (bench/README.md, W5).
    this.relay(headWithBody(text, rest, n), n);
    if (typeof used !== 'number') {
      this.failAfterHead(this.errors.protocol(`sent a ${used.message}`));
    } else if (body.done) {
      this.complete(n < rest.length);
    }
  }

  /** How many bytes at the start of `chunk` belong to the body, or how its framing broke. */
  private bodyPart(chunk: Buffer): number | ChunkedError {
    try {
      return this.body!.push(chunk);
    } catch (err) {
      if (!(err instanceof ChunkedError)) throw err;
      return err;
    }
  }

  private relayBody(chunk: Buffer): void {
    const used = this.bodyPart(chunk);
    if (typeof used !== 'number') {
      this.failAfterHead(this.errors.protocol(`sent a ${used.message}`));
      return;
    }
    if (used > 0) this.relay(used === chunk.length ? chunk : chunk.subarray(0, used), used);
    // Bytes past the end of the body: the connection cannot be trusted with another request.
    if (this.body!.done) this.complete(used < chunk.length);
  }

  /** Sends `bytes` to the client, `bodyBytes` of them body, pausing the origin when full. */
  private relay(bytes: Buffer, bodyBytes: number): void {
    this.bytesDown += bodyBytes;
    if (!this.client.write(bytes) && !this.originPaused) {
      this.originPaused = true;
      this.origin!.pause();
    }
  }

  clientDrained(): void {
    if (!this.originPaused || this.phase !== 'body') return;
    this.originPaused = false;
    this.timer!.refresh();
    this.origin!.resume();
  }

  /** The server ended or broke the connection. */
  originLost(err: unknown): void {
    if (this.phase === 'body') {
      if (err === undefined && this.body?.kind === 'close') this.complete(true);
      else if (err === undefined) {
        this.failAfterHead(
          this.errors.protocol('closed the connection before the end of the body'),
        );
      } else this.failAfterHead(this.errors.lost(err));
      return;
    }
    if (this.phase !== 'head') return;
    // A kept-alive connection the server closed just before our request reached it.
    if (this.reused && !this.answered && !this.retried && RETRYABLE.has(this.head.method)) {
      this.retried = true;
      this.reused = false;
      this.dropOrigin();
      this.dial();
      return;
    }
    this.failBeforeHead(this.errors.lost(err));
  }

  timedOut(): void {
    const ms = this.state.config.limits.idleTimeoutMs;
    if (this.phase === 'body') this.failAfterHead(this.errors.timeout(ms, 'data'));
    else this.failBeforeHead(this.errors.timeout(ms, 'response'));
  }

  /** The reply is complete; `extra`: the server sent more than it, or cannot be reused. */
  private complete(extra: boolean): void {
    this.phase = 'done';
    clearTimeout(this.timer);
    const origin = this.origin!;
    detachOrigin(origin);
    if (this.serverKeeps && !extra) this.pool.put(this.route.key, origin, this.epoch);
    else origin.destroy();
    this.record('ok');
    if (!this.clientKeeps) {
      detachClient(this.client);
      closeClient(this.client);
      return;
    }
    this.after(this.ctx, this.pool, this.client, this.pending(this.rest()));
  }

  /** `first` followed by what the client sent during the exchange. */
  private pending(first: Buffer): Buffer {
    return this.backlog === undefined ? first : this.backlog.after(first);
  }

  /** What the client sent after this request's head (a pipelined request). */
  private rest(): Buffer {
    return this.buffered.subarray(this.head.headBytes);
  }

  /** Nothing reached the client yet: it gets the error reply the slow path would send. */
  failBeforeHead(err: unknown): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.timer);
    this.dropOrigin();
    const { hop } = this.route;
    if (hop.kind === 'upstream') {
      upstreamFailed(this.state, this.badProxies, this.epoch, hop.proxy, err, true, true);
    }
    const reply = toHttpReply(err);
    detachClient(this.client);
    this.client.write(formatHttpReply(reply));
    closeClient(this.client);
    finishRecord(this.state, this.start, {
      route: hop.kind,
      rule: this.route.rule,
      status: reply.status,
      outcome: 'error',
      error: err,
    });
  }

  /** The client has part of the reply: all it can be told is that the connection broke. */
  private failAfterHead(err: unknown): void {
    this.phase = 'done';
    clearTimeout(this.timer);
    this.dropOrigin();
    detachClient(this.client);
    this.client.destroy();
    this.record('error', err);
  }

  /** The client went away (FIN, reset): the server connection is abandoned, never pooled. */
  clientGone(): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    clearTimeout(this.timer);
    this.dropOrigin();
    detachClient(this.client);
    this.client.destroy();
    this.record('client-closed');
  }

  /** More pipelined bytes: kept for the next request, read after this reply. */
  clientData(chunk: Buffer): void {
    this.backlog ??= new Backlog(this.client, this.state.config.limits.maxHeaderSize);
    this.backlog.push(chunk);
  }

  /**
   * The upstream wants credentials: it did not forward the request, and the client has
   * seen nothing, so the slow path (which authenticates) gets the request from the start.
   */
  private handOff(): void {
    this.phase = 'done';
    clearTimeout(this.timer);
    this.dropOrigin();
    detachClient(this.client);
    giveToHttpServer(this.ctx, this.client, this.pending(this.buffered));
  }

  private dropOrigin(): void {
    const origin = this.origin;
    if (origin === undefined) return;
    this.origin = undefined;
    detachOrigin(origin);
    origin.destroy();
  }

  private record(outcome: Outcome, error?: unknown): void {
    const { hop, rule } = this.route;
    finishRecord(this.state, this.start, {
      route: hop.kind,
      rule,
      ...(hop.kind === 'upstream' ? { upstream: hop.proxy.display } : {}),
      status: this.status,
      outcome,
      bytesDown: this.bytesDown,
      ...(error === undefined ? {} : { error }),
    });
  }
}

/** The reply head (latin1 text) followed by the first `n` bytes of `rest`, in one buffer. */
function headWithBody(text: string, rest: Buffer, n: number): Buffer {
  const out = Buffer.allocUnsafe(text.length + n);
  out.write(text, 0, 'latin1');
  rest.copy(out, text.length, 0, n);
  return out;
}

function onTimeout(exchange: Exchange): void {
  exchange.timedOut();
}

/** Carries one request the fast path took (fast-forward.ts) to its end. */
export function startExchange(
  ctx: FrontContext,
  pool: FastPool,
  client: net.Socket,
  head: RequestHead,
  buffered: Buffer,
  route: FastRoute,
  after: AfterExchange,
): void {
  const exchange = new Exchange(ctx, pool, client, head, buffered, route, after);
  attachClient(client, exchange);
  const pooled = pool.forEpoch(ctx.state.network.epoch).take(route.key);
  if (pooled === undefined) {
    exchange.dial();
    return;
  }
  exchange.reused = true;
  exchange.send(pooled);
}
