/**
 * The daemon's interception probes, end to end over loopback.
 *
 *   client --CONNECT h:p--> corproxy --CONNECT h:p--> fake interceptor --TLS--> origin
 *                              \__ probe: same upstream, SNI from the ClientHello __/
 *
 * The verdict lands in the cache, the connection record's `tls` field and /status.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import type { Target } from '../../src/route/router.js';
import type { probeTls } from '../../src/tls/probe.js';
import {
  startDaemonProbes,
  sniForFirstBytes,
  type DaemonProbes,
} from '../../src/tls/daemon-probe.js';
import type { ProbeKey } from '../../src/tls/probe-cache.js';
import { startCorproxy, type TestProxy } from '../support/corproxy.js';
import {
  makeInterceptorPki,
  startFakeInterceptor,
  type FakeInterceptor,
  type InterceptorOptions,
} from '../support/fake-interceptor.js';
import { makeCa } from '../support/pki.js';
import { openTunnel, originLeaf, startTlsOrigin, type TlsOrigin } from '../support/tls-origin.js';
import { waitFor, type TeardownTest } from '../support/tools.js';

const GOOD = 'goproxy.example.test';
const BURST = 'burst.example.test';
const PLAIN = 'plain.example.test';
const DIRECT = 'direct.example.test';
const NAMES = [GOOD, BURST, PLAIN, DIRECT];
const resolve = Object.fromEntries(NAMES.map((n) => [n, '127.0.0.1']));

const publicCa = makeCa({ cn: 'Public Test Root', org: 'Public Test CA' });
const pkiA = makeInterceptorPki('Corp Inspection Root CA', 'Example Corp');
const pkiB = makeInterceptorPki('Corp Inspection Root CA G2', 'Example Corp');
const origins: Record<string, TlsOrigin> = {};
const proxies: FakeInterceptor[] = [];
const rootsFile = join(tmpdir(), `corproxy-daemon-probe-roots-${process.pid}.pem`);

t.before(async () => {
  writeFileSync(rootsFile, publicCa.certPem);
  for (const name of NAMES) {
    origins[name] = await startTlsOrigin({ leaf: originLeaf(publicCa, [name], 2) });
  }
});

t.teardown(async () => {
  for (const p of proxies) await p.close();
  for (const o of Object.values(origins)) await o.close();
});

const portOf = (host: string): number => origins[host]?.port ?? 0;
const at = (host: string): string => `${host}:${portOf(host)}`;

async function interceptor(over: Partial<InterceptorOptions> = {}): Promise<FakeInterceptor> {
  const p = await startFakeInterceptor({
    resolve,
    originCa: [publicCa.certPem],
    pki: pkiA,
    ...over,
  });
  proxies.push(p);
  return p;
}

interface Setup {
  readonly upstreamPort: number;
  readonly file?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  readonly clock?: () => number;
  readonly probe?: typeof probeTls;
  readonly stateDir?: string;
}

async function daemon(
  t: TeardownTest,
  s: Setup,
): Promise<{ proxy: TestProxy; probes: DaemonProbes }> {
  const proxy = await startCorproxy(
    t,
    {
      upstream: [`http://127.0.0.1:${s.upstreamPort}`],
      direct: [DIRECT],
      hosts: [`${DIRECT}=127.0.0.1`],
      ...(s.stateDir ? { stateDir: s.stateDir } : {}),
    },
    {
      ...(s.env ? { env: s.env } : {}),
      file: { probe: { watch: [], extraPublicRoots: rootsFile, timeout: '5s', ...(s.file ?? {}) } },
    },
  );
  const probes = startDaemonProbes(proxy.server.state, {
    ...(s.clock ? { clock: s.clock } : {}),
    ...(s.probe ? { probe: s.probe } : {}),
  });
  proxy.server.state.hooks = probes.hooks;
  t.teardown(() => probes.stop());
  return { proxy, probes };
}

/** CONNECT through corproxy, then TLS with `servername` trusting `ca`. */
async function tlsThrough(
  proxyPort: number,
  target: string,
  servername: string,
  ca: string,
): Promise<tls.TLSSocket> {
  const socket = await openTunnel({ proxyPort, target });
  return new Promise((ok, fail) => {
    const secure = tls.connect({ socket, servername, ca }, () => ok(secure));
    secure.once('error', fail);
  });
}

/** One request over the TLS socket, then close: proves the tunnel carried data. */
function get(secure: tls.TLSSocket, host: string): Promise<string> {
  return new Promise((ok, fail) => {
    let text = '';
    secure.setEncoding('utf8');
    secure.on('data', (d: string) => (text += d));
    secure.once('end', () => ok(text));
    secure.once('error', fail);
    // No half-close: the origin closes after answering (Connection: close).
    secure.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  });
}

function keyOf(proxy: TestProxy, host: string, port = portOf(host)): ProbeKey {
  return { route: 'upstream', upstreamId: proxy.config.upstreams[0]?.id as string, host, port };
}

/** Waits (bounded) for a verdict in the cache. */
async function verdictFor(probes: DaemonProbes, key: ProbeKey): Promise<string | undefined> {
  await waitFor(() => probes.cache.peek(key) !== undefined, 5000, 20);
  return probes.cache.peek(key)?.classification.verdict;
}

const ROOT_A = new X509Certificate(pkiA.root.certPem).fingerprint256;
const ROOT_B = new X509Certificate(pkiB.root.certPem).fingerprint256;

t.test('a TLS tunnel starts one probe over the same upstream with the same SNI', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port });
  const secure = await tlsThrough(proxy.port, at(GOOD), GOOD, pkiA.root.certPem);
  t.equal(await verdictFor(probes, keyOf(proxy, GOOD)), 'intercepted');
  t.match(await get(secure, GOOD), /^HTTP\/1\.1 200 OK/, 'the tunnel works unaltered');
  const [record] = await proxy.waitForRecords(1);
  t.same(record?.tls, {
    verdict: 'intercepted',
    caSubject: 'CN=Corp Inspection Root CA, O=Example Corp',
    caSha256: ROOT_A,
  });
  t.same(gateway.connects, [at(GOOD), at(GOOD)], "the client's tunnel and the probe");
  t.same(
    gateway.minted.map((m) => m.sni),
    [GOOD, GOOD],
    'both with the SNI',
  );
  const entry = probes.cache.peek(keyOf(proxy, GOOD));
  t.equal(entry?.sni, GOOD);
});

t.test('a burst of tunnels to one host makes one probe', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port });
  const sockets = await Promise.all(
    Array.from({ length: 5 }, () => tlsThrough(proxy.port, at(BURST), BURST, pkiA.root.certPem)),
  );
  t.equal(await verdictFor(probes, keyOf(proxy, BURST)), 'intercepted');
  await Promise.all(sockets.map((s) => get(s, BURST)));
  t.equal(gateway.connects.length, 6, '5 tunnels + 1 probe');
  const later = await tlsThrough(proxy.port, at(BURST), BURST, pkiA.root.certPem);
  await get(later, BURST);
  t.equal(gateway.connects.length, 7, 'a cached verdict: no new probe');
  const records = await proxy.waitForRecords(6);
  t.ok(
    records.filter((r) => r.target === at(BURST)).every((r) => r.tls?.verdict === 'intercepted'),
    'every record carries the verdict',
  );
});

t.test('no probe for a tunnel whose first bytes are not a ClientHello', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port });
  const socket = await openTunnel({ proxyPort: proxy.port, target: at(PLAIN) });
  socket.end('GET / HTTP/1.1\r\nHost: plain\r\n\r\n');
  socket.resume();
  await proxy.waitForRecords(1);
  await new Promise((ok) => setTimeout(ok, 200));
  t.same(gateway.connects, [at(PLAIN)], 'only the client tunnel');
  t.equal(probes.cache.peek(keyOf(proxy, PLAIN)), undefined);
  t.equal(probes.cache.pending, 0);
  t.equal(proxy.records[0]?.tls, undefined);
});

t.test('the SNI comes from the ClientHello, not the CONNECT line', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port });
  const target = `127.0.0.1:${portOf(GOOD)}`;
  const secure = await tlsThrough(proxy.port, target, GOOD, pkiA.root.certPem);
  t.equal(await verdictFor(probes, keyOf(proxy, '127.0.0.1', portOf(GOOD))), 'intercepted');
  await get(secure, GOOD);
  t.same(
    gateway.minted.map((m) => m.sni),
    [GOOD, GOOD],
  );
  t.equal(probes.cache.peek(keyOf(proxy, '127.0.0.1', portOf(GOOD)))?.sni, GOOD);
});

t.test('a direct route is probed directly; /status shows verdicts and the bundle', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port });
  const secure = await tlsThrough(proxy.port, at(DIRECT), DIRECT, publicCa.certPem);
  const key: ProbeKey = { route: 'direct', host: DIRECT, port: portOf(DIRECT) };
  t.equal(await verdictFor(probes, key), 'clean');
  await get(secure, DIRECT);
  t.same(gateway.connects, [], 'the gateway never saw the direct host');
  const [record] = await proxy.waitForRecords(1);
  t.same(record?.tls, { verdict: 'clean' });
  const status = await new Promise<Record<string, unknown>>((ok, fail) => {
    http
      .get({ host: '127.0.0.1', port: proxy.port, path: '/status', agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => ok(JSON.parse(body)));
      })
      .on('error', fail);
  });
  t.match(status.interception, [
    {
      host: DIRECT,
      port: portOf(DIRECT),
      route: 'direct',
      verdict: 'clean',
      reason: /SCT/,
      probedAt: String,
    },
  ]);
  t.match(status.bundle, {
    path: join(proxy.config.stateDir, 'ca-bundle.pem'),
    present: false,
    approved: [],
  });
});

t.test('the watch list is probed at start', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, {
    upstreamPort: gateway.port,
    file: { watch: [at(GOOD)] },
  });
  t.equal(await verdictFor(probes, keyOf(proxy, GOOD)), 'intercepted', 'without any tunnel');
  await probes.probeWatchList();
  t.equal(gateway.connects.length, 1, 'a fresh verdict is not probed again');
});

t.test('probe.enabled false: no probe, no tls field', async (t) => {
  const gateway = await interceptor();
  const { proxy, probes } = await daemon(t, {
    upstreamPort: gateway.port,
    env: { CORPROXY_PROBE: 'false' },
    file: { watch: [at(GOOD)] },
  });
  await probes.probeWatchList();
  const secure = await tlsThrough(proxy.port, at(GOOD), GOOD, pkiA.root.certPem);
  await get(secure, GOOD);
  const [record] = await proxy.waitForRecords(1);
  t.equal(record?.tls, undefined);
  t.same(gateway.connects, [at(GOOD)]);
  t.same(probes.cache.list(), []);
});

t.test('the tunnel never waits for the probe', async (t) => {
  const gateway = await interceptor();
  let calls = 0;
  const { proxy, probes } = await daemon(t, {
    upstreamPort: gateway.port,
    probe: () => {
      calls += 1;
      return new Promise(() => undefined);
    },
  });
  const secure = await tlsThrough(proxy.port, at(GOOD), GOOD, pkiA.root.certPem);
  t.match(await get(secure, GOOD), /^HTTP\/1\.1 200 OK/, 'served while the probe hangs');
  const [record] = await proxy.waitForRecords(1);
  t.equal(record?.tls, undefined, 'no verdict yet');
  t.equal(calls, 1);
  t.equal(probes.cache.pending, 1);
});

t.test('a change of intercepting CA is logged as a warning', async (t) => {
  const a = await interceptor();
  const b = await interceptor({ pki: pkiB });
  let target = a.port;
  const relay = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((ok) => relay.listen(0, '127.0.0.1', ok));
  t.teardown(() => relay.close());
  let now = Date.now();
  const { proxy, probes } = await daemon(t, {
    upstreamPort: (relay.address() as net.AddressInfo).port,
    clock: () => now,
  });
  const key = keyOf(proxy, GOOD);
  await get(await tlsThrough(proxy.port, at(GOOD), GOOD, pkiA.root.certPem), GOOD);
  t.equal(await verdictFor(probes, key), 'intercepted');
  t.equal(probes.cache.peek(key)?.classification.ca?.sha256, ROOT_A);
  target = b.port;
  now += proxy.config.probe.interceptedTtlMs + 1;
  await get(await tlsThrough(proxy.port, at(GOOD), GOOD, pkiB.root.certPem), GOOD);
  await waitFor(() => probes.cache.peek(key)?.classification.ca?.sha256 === ROOT_B, 5000, 20);
  t.equal(probes.cache.peek(key)?.classification.ca?.sha256, ROOT_B);
  t.equal(proxy.warnings.length, 1);
  t.match(
    proxy.warnings[0],
    /changed from "CN=Corp Inspection Root CA, O=Example Corp" to "CN=Corp Inspection Root CA G2, O=Example Corp"/,
  );
});

/** The first bytes Node's TLS client sends for `servername`. */
async function clientHello(servername?: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const first = new Promise<Buffer>((ok) => server.once('connection', (s) => s.once('data', ok)));
  const port = (server.address() as net.AddressInfo).port;
  const c = tls.connect({ host: '127.0.0.1', port, ...(servername ? { servername } : {}) });
  c.on('error', () => undefined);
  const bytes = await first;
  c.destroy();
  server.close();
  return bytes;
}

t.test('sniForFirstBytes', async (t) => {
  const named: Target = { host: 'connect.example.test', port: 443 };
  const ip: Target = { host: '127.0.0.1', port: 443 };
  const hello = await clientHello('sni.example.test');
  t.equal(sniForFirstBytes(hello, named), 'sni.example.test');
  const bare = await clientHello();
  t.equal(sniForFirstBytes(bare, named), 'connect.example.test', 'no SNI: the CONNECT name');
  t.equal(sniForFirstBytes(bare, ip), undefined, 'no SNI and an IP: none');
  t.equal(sniForFirstBytes(hello.subarray(0, 6), named), 'connect.example.test', 'a partial hello');
  t.equal(sniForFirstBytes(hello.subarray(0, 3), named), null, 'too little to tell');
  t.equal(sniForFirstBytes(Buffer.from('GET / HTTP/1.1\r\n'), named), null);
  t.equal(
    sniForFirstBytes(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x10, 0x02]), named),
    null,
    'not a ClientHello',
  );
});

t.test('an unreadable extraPublicRoots file is warned about, not fatal', async (t) => {
  const gateway = await interceptor();
  const missing = join(t.testdir(), 'missing.pem');
  const { proxy, probes } = await daemon(t, {
    upstreamPort: gateway.port,
    file: { extraPublicRoots: missing },
  });
  const secure = await tlsThrough(proxy.port, at(DIRECT), DIRECT, publicCa.certPem);
  const key: ProbeKey = { route: 'direct', host: DIRECT, port: portOf(DIRECT) };
  t.equal(await verdictFor(probes, key), 'suspicious', 'its CA is not public without the file');
  await get(secure, DIRECT);
  t.match(proxy.warnings, [new RegExp(`probe\\.extraPublicRoots ${missing} is unreadable`)]);
});

t.test('/status shows the bundle corproxy trust wrote', async (t) => {
  const gateway = await interceptor();
  const stateDir = t.testdir();
  const { proxy, probes } = await daemon(t, { upstreamPort: gateway.port, stateDir });
  const status = () => probes.hooks.statusExtras?.() as { bundle: Record<string, unknown> };
  t.match(status().bundle, { present: false, approved: [] });
  const manifest = {
    schemaVersion: 1,
    generatedAt: new Date(Date.now() - 5000).toISOString(),
    bundle: join(stateDir, 'ca-bundle.pem'),
    entries: [{ sha256: ROOT_A, subject: 'CN=Corp Inspection Root CA', corporate: true }],
  };
  writeFileSync(join(stateDir, 'manifest.json'), JSON.stringify(manifest));
  t.match(status().bundle, {
    path: join(stateDir, 'ca-bundle.pem'),
    present: true,
    approved: [{ sha256: ROOT_A }],
    ageSeconds: Number,
  });
  t.equal(proxy.config.stateDir, stateDir);
});
