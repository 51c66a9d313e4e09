/**
 * Test TLS origins and the client side of a CONNECT tunnel. An origin is a real HTTPS
 * server on 127.0.0.1:0 with a leaf from a given test CA, optionally carrying a synthetic
 * embedded SCT list (RFC 6962 §3.3) so it looks publicly issued.
 */
import forge from 'node-forge';
import { createServer, type Server } from 'node:https';
import * as net from 'node:net';
import { CorproxyError } from '../../src/errors.js';
import { makeLeaf, type Issued } from './pki.js';

const SCT_OID = '1.3.6.1.4.1.11129.2.4.2';

/** One synthetic SCT: log id (32 bytes) and timestamp (ms). Signatures are dummies. */
export interface FakeSct {
  readonly logId: Buffer;
  readonly timestamp: number;
}

/** `count` synthetic SCTs with distinct log ids and fixed timestamps. */
export function fakeScts(count: number): FakeSct[] {
  return Array.from({ length: count }, (_v, i) => ({
    logId: Buffer.alloc(32, i + 1),
    timestamp: 1_700_000_000_000 + i,
  }));
}

/** The TLS-encoded SignedCertificateTimestampList for `scts`. */
export function sctListBytes(scts: readonly FakeSct[]): Buffer {
  const items = scts.map((s) => {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt(s.timestamp));
    const sig = Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]);
    const sct = Buffer.concat([
      Buffer.from([0]), // v1
      s.logId,
      ts,
      Buffer.from([0, 0]), // no CT extensions
      Buffer.from([4, 3]), // sha256, ecdsa
      u16(sig.length),
      sig,
    ]);
    return Buffer.concat([u16(sct.length), sct]);
  });
  const body = Buffer.concat(items);
  return Buffer.concat([u16(body.length), body]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A node-forge extension carrying `list` wrapped in the inner OCTET STRING. */
export function sctExtension(list: Buffer): object {
  const inner = forge.asn1.create(
    forge.asn1.Class.UNIVERSAL,
    forge.asn1.Type.OCTETSTRING,
    false,
    list.toString('binary'),
  );
  return { id: SCT_OID, critical: false, value: forge.asn1.toDer(inner).getBytes() };
}

/** A leaf for `names` signed by `ca`, with `scts` synthetic SCTs when > 0. */
export function originLeaf(
  ca: Issued,
  names: readonly string[],
  scts = 0,
  keys?: forge.pki.rsa.KeyPair,
): Issued {
  const extensions = scts > 0 ? [sctExtension(sctListBytes(fakeScts(scts)))] : [];
  return makeLeaf(ca, names, { extensions, ...(keys ? { keys } : {}) });
}

export interface TlsOrigin {
  readonly port: number;
  readonly leaf: Issued;
  /** Host headers of the requests served, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface OriginOptions {
  readonly leaf: Issued;
  /** Extra PEMs sent after the leaf (intermediates). */
  readonly chain?: readonly string[];
}

/** Starts an HTTPS origin that answers every request with 200 and counts it. */
export async function startTlsOrigin(opts: OriginOptions): Promise<TlsOrigin> {
  const requests: string[] = [];
  const server: Server = createServer(
    { key: opts.leaf.keyPem, cert: [opts.leaf.certPem, ...(opts.chain ?? [])].join('') },
    (req, res) => {
      requests.push(req.headers.host ?? '');
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`origin ok ${req.url ?? ''}\n`);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    leaf: opts.leaf,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface TunnelOptions {
  readonly proxyPort: number;
  /** `host:port` for the CONNECT line. */
  readonly target: string;
  readonly auth?: { readonly user: string; readonly pass: string };
  readonly timeoutMs?: number;
}

const MAX_HEAD = 16 * 1024;

/**
 * CONNECT through a proxy on 127.0.0.1 and hand back the raw socket on 2xx. Failures are
 * CorproxyErrors with `details.status`, as corproxy's upstream module reports them.
 */
export function openTunnel(opts: TunnelOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(opts.proxyPort, '127.0.0.1');
    let head = Buffer.alloc(0);
    const fail = (err: CorproxyError): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(opts.timeoutMs ?? 5000, () =>
      fail(new CorproxyError('CPX_ERR_UPSTREAM_TIMEOUT', 'proxy did not answer CONNECT')),
    );
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(new CorproxyError('CPX_ERR_UPSTREAM_UNREACHABLE', err.message, { cause: err })),
    );
    socket.once('end', () =>
      fail(new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', 'proxy closed before replying')),
    );
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD)
          fail(new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', 'head too large'));
        return;
      }
      socket.removeListener('data', onData);
      socket.removeAllListeners('end');
      socket.removeAllListeners('error');
      socket.setTimeout(0);
      socket.pause();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1'))?.[1] ?? NaN);
      const rest = head.subarray(end + 4);
      if (status >= 200 && status < 300) {
        if (rest.length > 0) socket.unshift(rest);
        resolve(socket);
        return;
      }
      const code = status === 407 ? 'CPX_ERR_UPSTREAM_AUTH' : 'CPX_ERR_UPSTREAM_REFUSED';
      fail(
        new CorproxyError(code, `proxy answered CONNECT with ${status}`, { details: { status } }),
      );
    };
    socket.on('data', onData);
    const auth = opts.auth
      ? `Proxy-Authorization: Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.pass}`).toString('base64')}\r\n`
      : '';
    socket.write(`CONNECT ${opts.target} HTTP/1.1\r\nHost: ${opts.target}\r\n${auth}\r\n`);
  });
}
