/**
 * Small socket helpers for tests: listen on 127.0.0.1:0 with teardown, raw CONNECT
 * and request exchanges, and reading until a pattern or close (always bounded).
 */
import net from 'node:net';
import type http from 'node:http';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function listen<S extends net.Server | http.Server>(
  t: Teardown,
  server: S,
  host = '127.0.0.1',
): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) (server as http.Server).closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

/** A port on 127.0.0.1 that nothing listens on: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Reads from `socket` until `done(text)` is true, the socket ends, or `ms` passes. */
export function readUntil(
  socket: net.Socket,
  done: (text: string) => boolean,
  ms = 5000,
): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', finish);
      socket.off('close', finish);
      resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (done(text)) finish();
    };
    const timer = setTimeout(finish, ms);
    socket.on('data', onData);
    socket.once('end', finish);
    socket.once('close', finish);
  });
}

export const headComplete = (text: string): boolean => text.includes('\r\n\r\n');

/** Sends raw bytes to the proxy and returns everything until the reply head (or close). */
export async function rawExchange(
  port: number,
  request: string | Buffer,
  until = headComplete,
): Promise<{ socket: net.Socket; text: string }> {
  const socket = await connect(port);
  socket.on('error', () => undefined);
  socket.write(request);
  const text = await readUntil(socket, until);
  return { socket, text };
}

/** Parses `HTTP/1.1 502 reason` → {status, reason} and headers (lower-cased). */
export function parseHead(text: string): {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: string;
} {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const [statusLine, ...lines] = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine ?? '');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return {
    status: m ? Number(m[1]) : 0,
    reason: m?.[2] ?? '',
    headers,
    body: end < 0 ? '' : text.slice(end + 4),
  };
}
