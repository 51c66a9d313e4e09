/**
 * A proxy on 127.0.0.1:0 whose every answer a test scripts: for each request head it calls
 * `answer(request)` and writes what comes back, closing the connection when asked, or
 * turns the connection into an echo tunnel. For the corner cases of the authentication
 * exchange that a well-behaved fake does not produce.
 */
import net from 'node:net';
import { listen } from './net.js';

export interface ScriptedRequest {
  /** 1-based number of the connection this request came on. */
  readonly conn: number;
  /** 1-based number of the request on its connection. */
  readonly index: number;
  readonly method: string;
  readonly target: string;
  /** Header names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
}

export type ScriptedAnswer =
  | { readonly reply: string; readonly close?: boolean }
  /** 200 Connection established, then echo whatever arrives. */
  | { readonly tunnel: true; readonly early?: string };

export interface ScriptedProxy {
  readonly port: number;
  readonly requests: ScriptedRequest[];
  connections(): number;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

function parseHead(text: string, conn: number, index: number): ScriptedRequest {
  const lines = text.split('\r\n');
  const [method = '', target = ''] = (lines[0] ?? '').split(' ');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { conn, index, method, target, headers };
}

export async function startScriptedProxy(
  t: Teardown,
  answer: (req: ScriptedRequest) => ScriptedAnswer,
): Promise<ScriptedProxy> {
  let count = 0;
  const sockets = new Set<net.Socket>();
  const requests: ScriptedRequest[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    count += 1;
    const conn = count;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let index = 0;
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        index += 1;
        const req = parseHead(buffered.slice(0, end), conn, index);
        buffered = buffered.slice(end + 4);
        requests.push(req);
        const a = answer(req);
        if ('tunnel' in a) {
          socket.off('data', onData);
          socket.write(`HTTP/1.1 200 Connection established\r\n\r\n${a.early ?? ''}`);
          if (buffered !== '') socket.write(buffered);
          socket.on('data', (d: Buffer) => socket.write(d));
          return;
        }
        socket.write(a.reply);
        if (a.close === true) {
          socket.end();
          socket.off('data', onData);
          socket.resume();
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.on('end', () => socket.end());
  });
  const port = await listen(t, server);
  // Registered after listen() so it runs first: server.close() waits for these.
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  return { port, requests, connections: () => count };
}

/** A 407 with these challenges and a short Content-Length body. */
export function reply407(challenges: readonly string[], extra = ''): string {
  const head = challenges.map((c) => `Proxy-Authenticate: ${c}\r\n`).join('');
  return `HTTP/1.1 407 Proxy Authentication Required\r\n${head}${extra}Content-Length: 4\r\n\r\ndeny`;
}
