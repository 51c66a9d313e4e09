/**
 * The listeners: one net.Server per address (or per socket handed over by systemd) with
 * the front (front.ts) reading each connection's first head, and one http.Server, never
 * listening, for the connections the front hands over; client admission (allow list,
 * connection limit), dispatch to CONNECT / forward / local handlers, hostile-input
 * replies, reload and drain.
 */
import http from 'node:http';
import net from 'node:net';
import type { Config, ListenAddress } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { handleConnect } from './connect-handler.js';
import {
  KEEP_ALIVE_TIMEOUT_MS,
  readFirstHead,
  rejectHead,
  rejectSocket,
  type FrontContext,
  type HeadErrorCode,
} from './front.js';
import type { DialDeps } from './dial.js';
import { fastForward } from './fast-forward.js';
import { FastPool } from './fast-pool.js';
import { ForwardAgents, handleForward } from './forward.js';
import { handleLocal } from './local.js';
import { MIRROR_PREFIX, startMirrorListeners, type MirrorListeners } from '../mirror/index.js';
import { mirrorFor, recordMirror, serveMirror, startRecord } from './mirror-route.js';
import { ServerState, type RecordSink } from './state.js';

export interface StartOptions {
  readonly config: Config;
  readonly sink: RecordSink;
  readonly version: string;
  readonly dialDeps?: DialDeps;
  readonly clock?: () => number;
  /** Listening sockets inherited from systemd (LISTEN_FDS); replaces config.listen. */
  readonly listenFds?: readonly number[];
}

export interface RunningServer {
  readonly state: ServerState;
  readonly addresses: ReadonlyArray<{ host: string; port: number }>;
  reload(config: Config): void;
  /** Stops accepting, waits up to drainMs for open connections, then closes them. */
  close(drainMs?: number): Promise<void>;
}

function clientErrorCode(err: NodeJS.ErrnoException): HeadErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'CPX_ERR_HEADER_TOO_LARGE';
  if (err.code === 'HPE_HEADERS_TIMEOUT' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return 'CPX_ERR_HEADER_TIMEOUT';
  return 'CPX_ERR_BAD_REQUEST';
}

function createHttpServer(state: ServerState, agents: ForwardAgents): http.Server {
  const { limits } = state.config;
  const server = http.createServer({
    maxHeaderSize: limits.maxHeaderSize,
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Node checks header timeouts on this interval; the default 30 s is too coarse.
    connectionsCheckingInterval: Math.max(
      100,
      Math.min(1000, Math.floor(limits.headerTimeoutMs / 2)),
    ),
    noDelay: true,
  });
  // A CONNECT after other requests on a kept-alive connection comes this way.
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    handleConnect(state, req.url ?? '', socket, head);
  });
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? '';
    if (state.mirror !== undefined && url.startsWith(MIRROR_PREFIX)) {
      void serveMirror(state, state.mirror, req, res);
    } else if (url.startsWith('/')) handleLocal(state, req, res);
    else void handleForward(state, req, res, agents);
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const canReply = socket.writable && !socket.writableEnded && err.code !== 'ECONNRESET';
    rejectHead(state, socket, clientErrorCode(err), canReply);
  });
  return server;
}

/** The listening side: admits each connection and gives it to the front. */
function createFrontServer(front: FrontContext, sockets: Set<net.Socket>): net.Server {
  const { state } = front;
  // One close listener per server, shared by its connections (a closure per connection
  // would live as long as each connection: bench/README.md, W4).
  const onClose = function (this: net.Socket): void {
    state.metrics.openConnections -= 1;
    sockets.delete(this);
  };
  // allowHalfOpen as http.Server sets it: a client's FIN ends one direction of a tunnel.
  return net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (admit(state, socket, sockets, onClose)) readFirstHead(front, socket);
  });
}

function admit(
  state: ServerState,
  socket: net.Socket,
  sockets: Set<net.Socket>,
  onClose: (this: net.Socket) => void,
): boolean {
  if (!state.clientAllowed(socket.remoteAddress)) {
    rejectSocket(
      socket,
      'CPX_ERR_CLIENT_DENIED',
      `client ${socket.remoteAddress ?? '?'} is not in the allow list`,
    );
    return false;
  }
  if (state.metrics.openConnections >= state.config.limits.maxConnections) {
    rejectSocket(
      socket,
      'CPX_ERR_OVERLOADED',
      `${state.config.limits.maxConnections} connections open (limits.maxConnections)`,
    );
    return false;
  }
  state.metrics.openConnections += 1;
  sockets.add(socket);
  socket.setNoDelay(true);
  // on(), not once(): 'close' comes once, and once() would keep a bound wrapper and its
  // state object alive with every connection (bench/README.md, W4).
  socket.on('close', onClose);
  return true;
}

function listenOn(
  server: net.Server,
  where: ListenAddress | number,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const label =
        typeof where === 'number' ? `inherited fd ${where}` : `${where.host}:${where.port}`;
      reject(
        new CorproxyError(
          'CPX_ERR_LISTEN',
          `cannot listen on ${label}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      const addr = server.address() as net.AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    };
    if (typeof where === 'number') server.listen({ fd: where }, done);
    else
      server.listen(
        { host: where.host, port: where.port, ipv6Only: where.host.includes(':') },
        done,
      );
  });
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const clock = opts.clock ?? Date.now;
  const state = new ServerState(opts.config, opts.sink, opts.dialDeps ?? {}, clock, opts.version);
  const agents = new ForwardAgents();
  const sockets = new Set<net.Socket>();
  const servers: net.Server[] = [];
  const httpServer = createHttpServer(state, agents);
  const fast = new FastPool();
  const front: FrontContext = {
    state,
    http: httpServer,
    fastForward: (socket, head, buffered) => fastForward(front, fast, socket, head, buffered),
  };
  if (opts.config.mirror.enabled) state.mirror = mirrorFor(state);
  let mirrorListeners: MirrorListeners | undefined;
  const targets: Array<ListenAddress | number> = opts.listenFds?.length
    ? [...opts.listenFds]
    : [...opts.config.listen];
  try {
    for (const where of targets) {
      const server = createFrontServer(front, sockets);
      servers.push(server);
      state.listening.push(await listenOn(server, where));
    }
    if (state.mirror !== undefined && opts.config.mirror.listen.length > 0) {
      mirrorListeners = await startMirrorListeners(
        state.mirror,
        opts.config.mirror.listen,
        (req, r) => recordMirror(state, startRecord(state, req), r),
      );
    }
  } catch (err) {
    for (const s of servers) s.close();
    await state.mirror?.close();
    throw err;
  }
  return {
    state,
    addresses: state.listening,
    reload: (config) => {
      state.reload(config);
      state.mirror?.reload(config);
    },
    close: async (drainMs = opts.config.limits.drainTimeoutMs) => {
      await Promise.all([
        closeAll(servers, httpServer, sockets, agents, fast, drainMs),
        mirrorListeners?.close(),
      ]);
      // Writes the cache index: the next start finds what this one cached.
      await state.mirror?.close();
    },
  };
}

async function closeAll(
  servers: net.Server[],
  httpServer: http.Server,
  sockets: Set<net.Socket>,
  agents: ForwardAgents,
  fast: FastPool,
  drainMs: number,
): Promise<void> {
  const closed = Promise.all(
    servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
  );
  // Kept-alive connections waiting for their next request close now, not at the drain.
  httpServer.closeIdleConnections();
  const timer = setTimeout(() => {
    for (const socket of sockets) socket.destroy();
  }, drainMs);
  await closed;
  clearTimeout(timer);
  agents.destroy();
  fast.destroy();
}
