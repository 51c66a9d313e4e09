/**
 * The optional dedicated listeners of the mirror (`mirror.listen`): loopback addresses that
 * serve only `/mod/`, for setups that keep the proxy port and the module mirror apart.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { handleMirror, type Mirror, type MirrorResult } from './handler.js';
import { MIRROR_PREFIX } from './request.js';

export interface MirrorListeners {
  readonly addresses: ReadonlyArray<{ host: string; port: number }>;
  close(): Promise<void>;
}

/** Called after each request with what the connection log records. */
export type OnMirrorResult = (req: http.IncomingMessage, result: MirrorResult) => void;

function listen(
  server: http.Server,
  where: ListenAddress,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CorproxyError(
          'CPX_ERR_LISTEN',
          `mirror.listen: cannot listen on ${where.host}:${where.port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(
      { host: where.host, port: where.port, ipv6Only: where.host.includes(':') },
      () => {
        const a = server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      },
    );
  });
}

function notMirror(res: http.ServerResponse): void {
  const body = `this listener serves only the Go module mirror under ${MIRROR_PREFIX}\n`;
  res.writeHead(404, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
  });
  res.end(body);
}

/** Starts one server per address; all are closed again if one cannot listen. */
export async function startMirrorListeners(
  mirror: Mirror,
  addresses: readonly ListenAddress[],
  onResult: OnMirrorResult = () => undefined,
): Promise<MirrorListeners> {
  const servers: http.Server[] = [];
  const bound: Array<{ host: string; port: number }> = [];
  const closeAll = (): Promise<void> =>
    Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    ).then(() => undefined);
  try {
    for (const where of addresses) {
      const server = http.createServer((req, res) => {
        if (!(req.url ?? '').startsWith(MIRROR_PREFIX)) return notMirror(res);
        void handleMirror(mirror, req, res).then((r) => onResult(req, r));
      });
      servers.push(server);
      bound.push(await listen(server, where));
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { addresses: bound, close: closeAll };
}
