/**
 * probeTls + classify over real loopback sockets.
 *
 *   probe --CONNECT goproxy.example.test:443--> fake interceptor --TLS--> origin (127.0.0.1)
 *         <------ leaf minted for the SNI by the interceptor's test CA ------
 *
 * The origins' CA plays the public CA: it is passed as a public root (next to Node's
 * Mozilla roots), so an origin leaf with synthetic SCTs classifies clean.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { classify } from '../../src/tls/classify.js';
import { probeTls, type ProbeResult } from '../../src/tls/probe.js';
import {
  makeInterceptorPki,
  startFakeInterceptor,
  type FakeInterceptor,
  type InterceptorOptions,
} from '../support/fake-interceptor.js';
import { makeCa } from '../support/pki.js';
import { openTunnel, originLeaf, startTlsOrigin, type TlsOrigin } from '../support/tls-origin.js';

const GOOD = 'goproxy.example.test';
const NOSCT = 'nosct.example.test';
const BROKEN = 'broken.example.test';
const resolve = { [GOOD]: '127.0.0.1', [NOSCT]: '127.0.0.1', [BROKEN]: '127.0.0.1' };

const publicCa = makeCa({ cn: 'Public Test Root', org: 'Public Test CA' });
const publicRoots = [...tls.rootCertificates, publicCa.certPem];
const publicX509 = [new X509Certificate(publicCa.certPem)];
const pki = makeInterceptorPki('Corp Inspection Root CA', 'Example Corp');

const origins: Record<string, TlsOrigin> = {};
const interceptors: FakeInterceptor[] = [];

t.before(async () => {
  origins[GOOD] = await startTlsOrigin({ leaf: originLeaf(publicCa, [GOOD], 2) });
  origins[NOSCT] = await startTlsOrigin({ leaf: originLeaf(publicCa, [NOSCT]) });
  const selfSigned = makeCa({ cn: BROKEN });
  origins[BROKEN] = await startTlsOrigin({ leaf: originLeaf(selfSigned, [BROKEN], 2) });
});

t.teardown(async () => {
  for (const i of interceptors) await i.close();
  for (const o of Object.values(origins)) await o.close();
});

async function interceptor(over: Partial<InterceptorOptions> = {}): Promise<FakeInterceptor> {
  const i = await startFakeInterceptor({ resolve, originCa: [publicCa.certPem], pki, ...over });
  interceptors.push(i);
  return i;
}

const portOf = (host: string): number => origins[host]?.port ?? 0;

function viaProxy(
  proxy: FakeInterceptor,
  host: string,
  auth?: { user: string; pass: string },
): () => Promise<net.Socket> {
  return () =>
    openTunnel({
      proxyPort: proxy.port,
      target: `${host}:${portOf(host)}`,
      ...(auth ? { auth } : {}),
    });
}

function direct(host: string): () => Promise<net.Socket> {
  return () =>
    new Promise((ok, fail) => {
      const s = net.connect(portOf(host), '127.0.0.1', () => ok(s));
      s.once('error', fail);
    });
}

async function probe(host: string, openTunnel: () => Promise<net.Socket>): Promise<ProbeResult> {
  return probeTls({ host, port: portOf(host), openTunnel, publicRoots, timeoutMs: 5000 });
}

const judge = (r: ProbeResult) => classify({ ...r, publicRoots: publicX509 });

t.test('a clean-looking origin reached directly', async (t) => {
  const r = await probe(GOOD, direct(GOOD));
  t.equal(r.authorized, true);
  t.equal(r.tlsVersion, 'TLSv1.3');
  t.equal(r.servername, GOOD);
  t.equal(r.chain.length, 1, 'only the leaf was on the wire');
  t.same(
    r.completedFromStore.map((c) => c.fingerprint256),
    publicX509.map((c) => c.fingerprint256),
    'the root Node completed from the store is not counted as sent',
  );
  const c = judge(r);
  t.equal(c.verdict, 'clean');
  t.equal(c.evidence.sctCount, 2);

  const noSct = judge(await probe(NOSCT, direct(NOSCT)));
  t.equal(noSct.verdict, 'suspicious', 'public root, no SCTs');
  t.equal(origins[GOOD]?.requests.length, 0, 'the probe sends no application data');
});

t.test('the interceptor, for each chain shape', async (t) => {
  const shapes = [
    ['root', 'SELF_SIGNED_CERT_IN_CHAIN', 3, pki.root.certPem],
    ['leaf-root', 'SELF_SIGNED_CERT_IN_CHAIN', 2, pki.root.certPem],
    ['intermediate', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 2, pki.intermediate.certPem],
    ['leaf-only', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 1, undefined],
  ] as const;
  for (const [chain, code, length, caPem] of shapes) {
    const proxy = await interceptor({ chain });
    const r = await probe(GOOD, viaProxy(proxy, GOOD));
    t.equal(r.authorized, false, chain);
    t.equal(r.authorizationError, code, `${chain}: Node's code`);
    t.equal(r.chain.length, length, `${chain}: certificates on the wire`);
    t.same(r.completedFromStore, []);
    const c = judge(r);
    t.equal(c.verdict, 'intercepted', chain);
    t.equal(c.ca?.sha256, caPem && new X509Certificate(caPem).fingerprint256, `${chain}: CA`);
    t.same(proxy.minted, [{ sni: GOOD, trusted: true }], `${chain}: SNI reached the gateway`);
    t.same(proxy.connects, [`${GOOD}:${portOf(GOOD)}`]);
  }
});

t.test('mitmproxy style: leaf alone, signed with the CA key it carries', async (t) => {
  const mitm = makeInterceptorPki('mitmproxy', 'mitmproxy');
  const proxy = await interceptor({ chain: 'leaf-only', reuseCaKey: true, pki: mitm });
  const c = judge(await probe(GOOD, viaProxy(proxy, GOOD)));
  t.equal(c.verdict, 'intercepted');
  t.equal(c.vendor, 'mitmproxy');
  t.match(c.evidence.hints.join(' '), /own key/);
});

t.test('an origin the gateway cannot verify is re-signed untrusted', async (t) => {
  const proxy = await interceptor();
  const r = await probe(BROKEN, viaProxy(proxy, BROKEN));
  const c = judge(r);
  t.equal(c.verdict, 'upstream-cert-error');
  t.match(c.reason, /Not trusted by/);
  t.same(proxy.minted, [{ sni: BROKEN, trusted: false }]);
});

t.test('proxy authentication', async (t) => {
  const proxy = await interceptor({
    auth: (h) => h === `Basic ${Buffer.from('dev:s3cret').toString('base64')}`,
  });
  const denied = await probe(GOOD, viaProxy(proxy, GOOD));
  t.equal(denied.connectStatus, 407);
  t.equal(denied.handshakeError?.code, 'CPX_ERR_UPSTREAM_AUTH');
  t.equal(judge(denied).verdict, 'probe-failed');
  const allowed = await probe(GOOD, viaProxy(proxy, GOOD, { user: 'dev', pass: 's3cret' }));
  t.equal(judge(allowed).verdict, 'intercepted');
});

t.test('blocks', async (t) => {
  const refusing = await interceptor({ refuse: () => 403 });
  const r403 = await probe(GOOD, viaProxy(refusing, GOOD));
  t.equal(r403.connectStatus, 403);
  t.equal(judge(r403).verdict, 'blocked');

  const page = await interceptor({ blockPage: () => true });
  const rPage = await probe(GOOD, viaProxy(page, GOOD));
  t.match(rPage.handshakeError?.code, /^ERR_SSL_/);
  t.equal(judge(rPage).verdict, 'blocked');
  t.match(judge(rPage).reason, /other than TLS/);

  const unknown = await interceptor();
  const r502 = await probeTls({
    host: 'nowhere.example.test',
    port: 443,
    openTunnel: () => openTunnel({ proxyPort: unknown.port, target: 'nowhere.example.test:443' }),
    publicRoots,
    timeoutMs: 5000,
  });
  t.equal(r502.connectStatus, 502);
  t.equal(judge(r502).verdict, 'blocked');
});

t.test('the interceptor really re-originates (fake self-check)', async (t) => {
  const proxy = await interceptor();
  const before = origins[GOOD]?.requests.length ?? 0;
  const socket = await viaProxy(proxy, GOOD)();
  // TLS by hand over the tunnel: no agent, so no name lookup can leave the machine.
  const body = await new Promise<string>((ok, fail) => {
    const secure = tls.connect({ socket, servername: GOOD, ca: pki.root.certPem }, () => {
      secure.end(`GET /hello HTTP/1.1\r\nHost: ${GOOD}\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    secure.setEncoding('utf8');
    secure.on('data', (d: string) => (text += d));
    secure.on('end', () => ok(text));
    secure.on('error', fail);
  });
  t.match(body, /^HTTP\/1\.1 200 OK\r\n/);
  t.match(body, /\r\n\r\n[\s\S]*origin ok \/hello\n/);
  t.equal(origins[GOOD]?.requests.length, before + 1);
});

t.test('timeouts and a tunnel that dies mid-handshake', async (t) => {
  const started = Date.now();
  const never = await probeTls({
    host: GOOD,
    port: 443,
    openTunnel: () => new Promise(() => undefined),
    publicRoots,
    timeoutMs: 200,
  });
  t.equal(never.handshakeError?.code, 'ETIMEDOUT');
  t.equal(judge(never).verdict, 'probe-failed');
  t.ok(Date.now() - started < 2000, 'bounded by timeoutMs');

  const silent = net.createServer(() => undefined);
  const closing = net.createServer((s) => s.once('data', () => s.destroy()));
  await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
  await new Promise<void>((ok) => closing.listen(0, '127.0.0.1', ok));
  t.teardown(() => {
    silent.close();
    closing.close();
  });
  const connectTo = (server: net.Server) => () =>
    new Promise<net.Socket>((ok) => {
      const s = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1', () => ok(s));
    });
  const mute = await probeTls({
    host: GOOD,
    port: 1,
    openTunnel: connectTo(silent),
    publicRoots,
    timeoutMs: 300,
  });
  t.equal(mute.handshakeError?.code, 'ETIMEDOUT');
  t.match(mute.handshakeError?.message, /handshake/);
  const cut = await probeTls({
    host: GOOD,
    port: 1,
    openTunnel: connectTo(closing),
    publicRoots,
    timeoutMs: 3000,
  });
  t.equal(cut.handshakeError?.code, 'ECONNRESET');
  t.equal(judge(cut).verdict, 'blocked');
});
