import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { PassThrough, Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { CorproxyError } from '../../../src/errors.js';
import { classify } from '../../../src/tls/classify.js';
import { probeTls, type ProbeOptions } from '../../../src/tls/probe.js';
import { EC_HOST, makeEcChain, skipWithoutOpenssl } from '../../fixtures/chains/ec-chain.js';
import { fakeScts, sctListBytes } from '../../support/tls-origin.js';

const opts = (over: Partial<ProbeOptions>): ProbeOptions => ({
  host: 'probe.example.test',
  port: 443,
  openTunnel: () => Promise.reject(new Error('unused')),
  publicRoots: [],
  timeoutMs: 2000,
  ...over,
});

t.test('openTunnel failures become handshakeError / connectStatus', async (t) => {
  const refused = await probeTls(
    opts({
      openTunnel: () =>
        Promise.reject(
          new CorproxyError('CPX_ERR_UPSTREAM_REFUSED', 'proxy answered 403', {
            details: { status: 403 },
          }),
        ),
    }),
  );
  t.equal(refused.connectStatus, 403);
  t.same(refused.handshakeError, {
    code: 'CPX_ERR_UPSTREAM_REFUSED',
    message: 'proxy answered 403',
  });
  t.same(refused.chain, []);
  t.equal(refused.authorized, false);

  const dns = await probeTls(
    opts({
      openTunnel: () => Promise.reject(new CorproxyError('CPX_ERR_UPSTREAM_DNS', 'no such proxy')),
    }),
  );
  t.equal(dns.connectStatus, undefined);
  t.equal(dns.handshakeError?.code, 'CPX_ERR_UPSTREAM_DNS');

  const errno = await probeTls(
    opts({
      openTunnel: () =>
        Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })),
    }),
  );
  t.equal(errno.handshakeError?.code, 'ECONNREFUSED');

  const odd = await probeTls(opts({ openTunnel: () => Promise.reject('a string') }));
  t.same(odd.handshakeError, { code: 'ERR_PROBE', message: 'a string' });

  const sync = await probeTls(
    opts({
      openTunnel: () => {
        throw new Error('thrown synchronously');
      },
    }),
  );
  t.same(sync.handshakeError, { code: 'ERR_PROBE', message: 'thrown synchronously' });
});

t.test('a tunnel that arrives after the deadline is destroyed', async (t) => {
  const late = new PassThrough();
  const r = await probeTls(
    opts({
      timeoutMs: 50,
      openTunnel: () => new Promise((ok) => setTimeout(() => ok(late), 150)),
    }),
  );
  t.equal(r.handshakeError?.code, 'ETIMEDOUT');
  await new Promise((ok) => setTimeout(ok, 250));
  t.equal(late.destroyed, true);
  const lateFailure = await probeTls(
    opts({
      timeoutMs: 50,
      openTunnel: () => new Promise((_ok, fail) => setTimeout(() => fail(new Error('late')), 100)),
    }),
  );
  t.equal(lateFailure.handshakeError?.code, 'ETIMEDOUT', 'a late rejection changes nothing');
  await new Promise((ok) => setTimeout(ok, 150));
});

t.test('tls.connect throwing is a failed probe, and the tunnel is not leaked', async (t) => {
  const tunnel = new PassThrough();
  const connect = (() => {
    throw Object.assign(new Error('bad option'), { code: 'ERR_INVALID_ARG_TYPE' });
  }) as unknown as typeof tls.connect;
  const r = await probeTls(opts({ openTunnel: async () => tunnel }), { connect });
  t.same(r.handshakeError, { code: 'ERR_INVALID_ARG_TYPE', message: 'bad option' });
  t.equal(tunnel.destroyed, true);
  t.equal(classify({ ...r, publicRoots: [] }).verdict, 'probe-failed');
});

t.test('a tunnel error during the handshake', async (t) => {
  const tunnel = new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  setTimeout(
    () => tunnel.destroy(Object.assign(new Error('upstream reset'), { code: 'EPIPE' })),
    20,
  );
  const r = await probeTls(opts({ openTunnel: async () => tunnel }));
  t.match(r.handshakeError?.code, /^(EPIPE|ECONNRESET)$/);
  t.equal(classify({ ...r, publicRoots: [] }).verdict, 'blocked');
  const bare = new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });
  setTimeout(() => bare.destroy(new Error('no code')), 20);
  const r2 = await probeTls(opts({ openTunnel: async () => bare }));
  t.ok(r2.handshakeError !== undefined);
});

/** A stand-in TLSSocket for the cases a real peer cannot produce. */
class FakeTls extends EventEmitter {
  authorized = false;
  authorizationError: unknown = Object.assign(new Error('x'), { code: 'CERT_REVOKED' });
  alpnProtocol: string | false = false;
  ended = false;
  getPeerCertificate(): object {
    return {};
  }
  getProtocol(): string | null {
    return null;
  }
  end(): void {
    this.ended = true;
    setTimeout(() => this.emit('close'), 5);
  }
  destroy(): void {}
}

t.test('what collect() reads from the socket', async (t) => {
  const fake = new FakeTls();
  let given: tls.ConnectionOptions | undefined;
  const connect = ((o: tls.ConnectionOptions) => {
    given = o;
    setTimeout(() => fake.emit('secureConnect'), 5);
    return fake;
  }) as unknown as typeof tls.connect;
  let clock = 1000;
  const r = await probeTls(
    opts({ host: '[::1]', openTunnel: async () => new PassThrough(), publicRoots: ['junk'] }),
    { connect, now: () => (clock += 7) },
  );
  t.equal(r.authorizationError, 'CERT_REVOKED', 'an Error object yields its code');
  t.same(r.chain, [], 'no peer certificate');
  t.equal(r.alpn, undefined);
  t.equal(r.tlsVersion, undefined);
  t.equal(r.servername, undefined, 'no SNI for an IP literal (RFC 6066 §3)');
  t.equal(given?.servername, undefined);
  t.equal(given?.rejectUnauthorized, false);
  t.same(given?.ALPNProtocols, ['h2', 'http/1.1']);
  t.same(given?.ca, ['junk']);
  t.equal(given?.checkServerIdentity?.('x', {} as tls.PeerCertificate), undefined);
  t.equal(r.durationMs, 14, 'the injected clock measures the probe');
  t.equal(fake.ended, true, 'closed with end() after success');
  t.equal(classify({ ...r, host: '::1', publicRoots: [] }).verdict, 'probe-failed');
  for (const [value, expected] of [
    ['PLAIN_STRING', 'PLAIN_STRING'],
    [null, 'UNKNOWN'],
    [{ message: 'no code' }, 'no code'],
  ] as const) {
    const other = new FakeTls();
    other.authorizationError = value;
    const viaOther = ((_o: tls.ConnectionOptions) => {
      setTimeout(() => other.emit('secureConnect'), 5);
      return other;
    }) as unknown as typeof tls.connect;
    const res = await probeTls(opts({ openTunnel: async () => new PassThrough() }), {
      connect: viaOther,
    });
    t.equal(res.authorizationError, expected, String(expected));
  }
});

t.test(
  'an EC origin (openssl chain) probed directly',
  { skip: skipWithoutOpenssl() },
  async (t) => {
    const list = sctListBytes(fakeScts(2));
    const inner = Buffer.concat([Buffer.from([0x04, 0x81, list.length]), list]);
    const ec = makeEcChain((fn) => t.teardown(fn), inner.toString('hex'));
    const server = tls.createServer({
      key: ec.leafKeyPem,
      cert: ec.leafWithSctPem + ec.intermediatePem,
      ALPNProtocols: ['http/1.1'],
    });
    server.on('secureConnection', (s) => s.on('error', () => undefined));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    t.teardown(() => server.close());
    const port = (server.address() as net.AddressInfo).port;
    const r = await probeTls({
      host: EC_HOST,
      port,
      publicRoots: [...tls.rootCertificates, ec.rootPem],
      timeoutMs: 5000,
      openTunnel: () =>
        new Promise((ok) => {
          const s = net.connect(port, '127.0.0.1', () => ok(s));
        }),
    });
    t.equal(r.authorized, true);
    t.equal(r.alpn, 'http/1.1');
    t.equal(r.chain.length, 2, 'leaf + intermediate on the wire');
    t.same(
      r.completedFromStore.map((c) => c.fingerprint256),
      [new X509Certificate(ec.rootPem).fingerprint256],
    );
    const c = classify({
      ...r,
      publicRoots: [new X509Certificate(ec.rootPem)],
      now: new Date(Date.now() + 1000),
    });
    t.equal(c.verdict, 'clean');
    t.equal(c.chain[0]?.keyType, 'EC P-256');
  },
);
