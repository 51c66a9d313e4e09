/**
 * A real TLS-intercepting CONNECT proxy on 127.0.0.1:0, behaving like the gateways corproxy
 * meets (squid ssl-bump, Zscaler, mitmproxy): it answers CONNECT, reads the SNI, connects
 * to the origin and checks its certificate against `originCa`, then terminates the client's
 * TLS with a leaf minted for that SNI and splices the two cleartext streams.
 *
 *   client --CONNECT h:p--> fake interceptor --TLS (checked with originCa)--> origin
 *          <--leaf for SNI, chain per `chain`--
 *
 * Origins it cannot verify are re-signed by a self-signed `Not trusted by "<root CN>"` CA,
 * as squid does. Names resolve only through `resolve` (never DNS), to loopback only.
 */
import forge from 'node-forge';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readClientHello } from '../../src/tls/client-hello.js';
import { makeCa, makeIntermediate, makeLeaf, type Issued } from './pki.js';

/** What the interceptor sends for origins it trusts. */
export type InterceptChain =
  | 'root' // leaf + intermediate + root
  | 'leaf-root' // leaf + root (leaf signed by the root)
  | 'intermediate' // leaf + intermediate, root not sent (Cisco Umbrella style)
  | 'leaf-only'; // leaf alone, signed by the root (squid with a self-signed CA)

export interface InterceptorPki {
  readonly root: Issued;
  readonly intermediate: Issued;
}

export interface InterceptorOptions {
  /** name → loopback address; anything else gets 502 and is never dialled. */
  readonly resolve: Readonly<Record<string, string>>;
  /** PEM roots the interceptor trusts for origins. */
  readonly originCa: readonly string[];
  readonly chain?: InterceptChain;
  readonly pki?: InterceptorPki;
  /** mitmproxy style: every leaf reuses the signing CA's key pair. */
  readonly reuseCaKey?: boolean;
  /** Proxy-Authorization check; false → 407. */
  readonly auth?: (header: string | undefined) => boolean;
  /** A CONNECT status to answer instead of 200 (policy block). */
  readonly refuse?: (target: string) => number | undefined;
  /** After 200, answer with a cleartext HTTP block page instead of TLS. */
  readonly blockPage?: (target: string) => boolean;
}

export interface FakeInterceptor {
  readonly port: number;
  readonly pki: InterceptorPki;
  /** CONNECT targets, in order. */
  readonly connects: string[];
  /** One entry per terminated handshake: the SNI and whether the origin verified. */
  readonly minted: Array<{ readonly sni: string; readonly trusted: boolean }>;
  close(): Promise<void>;
}

/** A root and an issuing intermediate named like a corporate inspection PKI. */
export function makeInterceptorPki(
  rootCn = 'Corp Inspection Root CA',
  org = 'Example Corp',
): InterceptorPki {
  const root = makeCa({ cn: rootCn, org });
  const intermediate = makeIntermediate(root, { cn: `${rootCn} Issuing`, org });
  return { root, intermediate };
}

const HELLO_TIMEOUT_MS = 5000;

/** Starts the interceptor; close() destroys every socket it holds. */
export async function startFakeInterceptor(opts: InterceptorOptions): Promise<FakeInterceptor> {
  const pki = opts.pki ?? makeInterceptorPki();
  const sockets = new Set<net.Socket>();
  const connects: string[] = [];
  const minted: Array<{ sni: string; trusted: boolean }> = [];
  const mint = minter(opts, pki);
  const server: Server = createServer((_req, res) => res.writeHead(400).end());
  server.on('connection', (s: net.Socket) => track(sockets, s));
  server.on('connect', (req: IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => socket.destroy());
    const target = req.url ?? '';
    connects.push(target);
    handleConnect(
      req,
      socket,
      target,
      opts,
      (sni, trusted) => {
        minted.push({ sni, trusted });
        return mint(sni, trusted);
      },
      sockets,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pki,
    connects,
    minted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function track(sockets: Set<net.Socket>, s: net.Socket): void {
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
}

type Mint = (sni: string, trusted: boolean) => tls.SecureContext;

function handleConnect(
  req: IncomingMessage,
  socket: net.Socket,
  target: string,
  opts: InterceptorOptions,
  mint: Mint,
  sockets: Set<net.Socket>,
): void {
  if (opts.auth && !opts.auth(req.headers['proxy-authorization'])) {
    socket.end(
      'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="fake"\r\nContent-Length: 0\r\n\r\n',
    );
    return;
  }
  const refused = opts.refuse?.(target);
  if (refused !== undefined) {
    socket.end(`HTTP/1.1 ${refused} Blocked by policy\r\nContent-Length: 0\r\n\r\n`);
    return;
  }
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
  const host = m?.[1] ?? '';
  const address = opts.resolve[host] ?? (isLoopback(host) ? host : undefined);
  if (m === null || address === undefined || !isLoopback(address)) {
    socket.end('HTTP/1.1 502 Unknown host\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  if (opts.blockPage?.(target)) {
    const body = 'Blocked by corporate policy\n';
    socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    return;
  }
  const port = Number(m[2]);
  readHello(socket, (hello, sni) => {
    if (hello === undefined) return void socket.destroy();
    socket.unshift(hello);
    if (sni === undefined) return void splicePlain(socket, address, port, sockets);
    intercept(socket, address, port, sni || host, opts, mint, sockets);
  });
}

function isLoopback(host: string): boolean {
  return net.isIP(host) !== 0 && (host === '::1' || host.startsWith('127.'));
}

/** Buffers the client's first bytes until readClientHello decides; sni '' = TLS without SNI. */
function readHello(socket: net.Socket, done: (bytes?: Buffer, sni?: string) => void): void {
  let buf = Buffer.alloc(0);
  const finish = (bytes?: Buffer, sni?: string): void => {
    clearTimeout(timer);
    socket.removeListener('data', onData);
    socket.pause();
    done(bytes, sni);
  };
  const timer = setTimeout(() => finish(), HELLO_TIMEOUT_MS);
  const onData = (chunk: Buffer): void => {
    buf = Buffer.concat([buf, chunk]);
    const r = readClientHello(buf);
    if (r.kind === 'need-more') return;
    finish(buf, r.kind === 'tls' ? (r.sni ?? '') : undefined);
  };
  socket.on('data', onData);
}

function splicePlain(
  client: net.Socket,
  address: string,
  port: number,
  sockets: Set<net.Socket>,
): void {
  const origin = net.connect(port, address);
  track(sockets, origin);
  origin.on('error', () => client.destroy());
  client.on('close', () => origin.destroy());
  origin.on('connect', () => {
    client.pipe(origin).pipe(client);
    client.resume();
  });
}

function intercept(
  client: net.Socket,
  address: string,
  port: number,
  sni: string,
  opts: InterceptorOptions,
  mint: Mint,
  sockets: Set<net.Socket>,
): void {
  const origin = tls.connect({
    host: address,
    port,
    ...(net.isIP(sni) ? {} : { servername: sni }),
    ca: [...opts.originCa],
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  });
  track(sockets, origin);
  origin.on('error', () => client.destroy());
  client.on('close', () => origin.destroy());
  origin.once('secureConnect', () => {
    const leaf = new X509Certificate(origin.getPeerCertificate().raw);
    const named = net.isIP(sni) ? leaf.checkIP(sni) : leaf.checkHost(sni, { subject: 'never' });
    const secureContext = mint(sni, origin.authorized && named !== undefined);
    const front = new tls.TLSSocket(client, { isServer: true, secureContext });
    front.on('error', () => origin.destroy());
    front.once('secure', () => front.pipe(origin).pipe(front));
  });
}

/** Mints and caches one secure context per (SNI, trusted). */
function minter(opts: InterceptorOptions, pki: InterceptorPki): Mint {
  const cache = new Map<string, tls.SecureContext>();
  const leafKeys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  let untrusted: Issued | undefined;
  const rootCn = pki.root.cert.subject.getField('CN')?.value as string;
  return (sni, trusted) => {
    const key = `${trusted}|${sni}`;
    const hit = cache.get(key);
    if (hit) return hit;
    let certs: Issued[];
    if (trusted) certs = forTrusted(opts, pki, sni, leafKeys);
    else {
      untrusted ??= makeCa({ cn: `Not trusted by "${rootCn}"` });
      certs = [leafFor(untrusted, sni, opts.reuseCaKey ? undefined : leafKeys), untrusted];
    }
    const [leaf, ...rest] = certs as [Issued, ...Issued[]];
    const ctx = tls.createSecureContext({
      key: leaf.keyPem,
      cert: [leaf.certPem, ...rest.map((c) => c.certPem)].join(''),
    });
    cache.set(key, ctx);
    return ctx;
  };
}

function forTrusted(
  opts: InterceptorOptions,
  pki: InterceptorPki,
  sni: string,
  leafKeys: forge.pki.rsa.KeyPair,
): Issued[] {
  const shape = opts.chain ?? 'root';
  const signer = shape === 'root' || shape === 'intermediate' ? pki.intermediate : pki.root;
  const leaf = leafFor(signer, sni, opts.reuseCaKey ? undefined : leafKeys);
  switch (shape) {
    case 'root':
      return [leaf, pki.intermediate, pki.root];
    case 'leaf-root':
      return [leaf, pki.root];
    case 'intermediate':
      return [leaf, pki.intermediate];
    case 'leaf-only':
      return [leaf];
  }
}

/** A leaf for `sni`; without `keys` it reuses the signer's key pair (mitmproxy style). */
function leafFor(signer: Issued, sni: string, keys?: forge.pki.rsa.KeyPair): Issued {
  const own = keys ?? {
    publicKey: signer.cert.publicKey as forge.pki.rsa.PublicKey,
    privateKey: signer.key,
  };
  return makeLeaf(signer, [sni], { keys: own });
}
