/**
 * `corproxy detect` over real loopback sockets, through the route corproxy would use.
 *
 *   detect --CONNECT h:p + Proxy-Authorization (alice)--> fake interceptor --TLS--> origin
 *          <---------- leaf minted for the SNI by the interceptor's CA -----------
 *   detect --direct (rule "direct.example.test", hosts map)---------------------> origin
 *
 * The origins' CA plays the public CA: it is listed in probe.extraPublicRoots.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  goproxyTargets,
  parseTarget,
  runDetect,
  targetsFor,
  type DetectArgs,
  type ProbeCliDeps,
} from '../../src/cli/detect.js';
import type { Config } from '../../src/config/types.js';
import {
  makeInterceptorPki,
  startFakeInterceptor,
  type FakeInterceptor,
  type InterceptorOptions,
} from '../support/fake-interceptor.js';
import { testConfig } from '../support/corproxy.js';
import { makeCa } from '../support/pki.js';
import { originLeaf, startTlsOrigin, type TlsOrigin } from '../support/tls-origin.js';

const GOOD = 'goproxy.example.test';
const BROKEN = 'broken.example.test';
const DIRECT = 'direct.example.test';
const resolve = { [GOOD]: '127.0.0.1', [BROKEN]: '127.0.0.1', [DIRECT]: '127.0.0.1' };
const AUTH = `Basic ${Buffer.from('alice:pw').toString('base64')}`;

const publicCa = makeCa({ cn: 'Public Test Root', org: 'Public Test CA' });
const zscaler = makeInterceptorPki('Zscaler Root CA', 'Zscaler Inc.');
const origins: Record<string, TlsOrigin> = {};
const proxies: FakeInterceptor[] = [];
let rootsFile = '';

t.before(async () => {
  origins[GOOD] = await startTlsOrigin({ leaf: originLeaf(publicCa, [GOOD], 2) });
  origins[DIRECT] = await startTlsOrigin({ leaf: originLeaf(publicCa, [DIRECT], 2) });
  origins[BROKEN] = await startTlsOrigin({ leaf: originLeaf(makeCa({ cn: BROKEN }), [BROKEN], 2) });
});

t.teardown(async () => {
  for (const p of proxies) await p.close();
  for (const o of Object.values(origins)) await o.close();
});

const at = (host: string): string => `${host}:${origins[host]?.port ?? 0}`;

async function interceptor(over: Partial<InterceptorOptions> = {}): Promise<FakeInterceptor> {
  const p = await startFakeInterceptor({
    resolve,
    originCa: [publicCa.certPem],
    pki: zscaler,
    auth: (h) => h === AUTH,
    ...over,
  });
  proxies.push(p);
  return p;
}

/** Config for a test: the interceptor as upstream, DIRECT routed direct, public roots file. */
function configFor(
  dir: string,
  proxy: FakeInterceptor,
  password = 'pw',
  file: object = {},
): Config {
  rootsFile = join(dir, 'public.pem');
  writeFileSync(rootsFile, publicCa.certPem);
  return testConfig(
    {
      upstream: [`http://alice:${password}@127.0.0.1:${proxy.port}`],
      direct: [DIRECT],
      hosts: [`${DIRECT}=127.0.0.1`],
    },
    {},
    { probe: { extraPublicRoots: rootsFile, timeout: '5s', ...file } },
  );
}

function deps(config: Config, env: Record<string, string> = {}) {
  const out: string[] = [];
  const d: ProbeCliDeps = { loadConfig: () => config, env, print: (l) => void out.push(l) };
  return { d, out: () => out.join('\n') };
}

const run = (args: DetectArgs, d: ProbeCliDeps) => runDetect(args, d);

t.test('an intercepted host through the upstream, with its credentials and the SNI', async (t) => {
  const proxy = await interceptor({ chain: 'root' });
  const { d, out } = deps(configFor(t.testdir(), proxy));
  const [r] = await run({ targets: [at(GOOD)] }, d);
  t.equal(r?.classification.verdict, 'intercepted');
  // The first CONNECT carries no credentials: corproxy answers the 407 challenge.
  t.ok(proxy.connects.length > 0 && proxy.connects.every((c) => c === at(GOOD)), 'CONNECTs');
  t.same(
    proxy.minted,
    [{ sni: GOOD, trusted: true }],
    'one handshake, accepted with alice’s credentials; SNI = the host',
  );
  t.match(r?.route, { kind: 'upstream', upstream: `http://alice:***@127.0.0.1:${proxy.port}` });
  const text = out();
  t.match(text, `${at(GOOD)}  intercepted  (Zscaler)`);
  t.match(
    text,
    /route {5}upstream http:\/\/alice:\*\*\*@127\.0\.0\.1:\d+ \(default: upstream list\)/,
  );
  t.match(text, `sni       ${GOOD}`);
  t.match(
    text,
    /evidence {2}public roots: SELF_SIGNED_CERT_IN_CHAIN; SAN names the host: yes; embedded SCTs: none/,
  );
  t.match(text, /\[0\] CN=goproxy\.example\.test {2}\(leaf\)/);
  t.match(text, /\[2\] CN=Zscaler Root CA, O=Zscaler Inc\. {2}\(self-signed root\)/);
  const rootFp = new X509Certificate(zscaler.root.certPem).fingerprint256;
  t.match(text, `sha256  ${rootFp}`);
  t.match(text, /valid {3}\d{4}-\d\d-\d\dT.* to \d{4}-/);
  t.match(text, /key {5}RSA 2048/);
  t.match(text, `CA        CN=Zscaler Root CA, O=Zscaler Inc.  sha256 ${rootFp}`);
  t.notMatch(text, /pw/, 'no password in the output');
});

t.test('--json for scripts', async (t) => {
  const proxy = await interceptor({ chain: 'intermediate', reuseCaKey: true });
  const { d, out } = deps(configFor(t.testdir(), proxy));
  await run({ targets: [at(GOOD), at(DIRECT)], json: true }, d);
  const doc = JSON.parse(out()) as Array<{
    chain: unknown[];
    evidence: { hints: string[] };
  }>;
  t.equal(doc.length, 2);
  t.match(doc[0], {
    host: GOOD,
    sni: GOOD,
    verdict: 'intercepted',
    vendor: 'Zscaler',
    route: { kind: 'upstream', rule: 'default: upstream list' },
    ca: { subject: 'CN=Zscaler Root CA Issuing, O=Zscaler Inc.', isCa: true, selfSigned: false },
    evidence: {
      publicRootVerify: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      sanMatch: true,
      sctCount: null,
    },
    tlsVersion: 'TLSv1.3',
  });
  t.equal(doc[0]?.chain.length, 2, 'leaf + intermediate, root not sent');
  t.match(doc[0]?.evidence.hints.join(' '), /own key/, 'mitmproxy-style key reuse is a hint');
  t.match(doc[1], {
    host: DIRECT,
    verdict: 'clean',
    vendor: null,
    ca: null,
    route: { kind: 'direct', rule: `direct "${DIRECT}"` },
    evidence: { publicRootVerify: 'ok', sanMatch: true, sctCount: 2 },
  });
  t.notOk(proxy.connects.includes(at(DIRECT)), 'the direct host never went to the upstream');
});

t.test('upstream-cert-error, blocked, and a wrong password', async (t) => {
  const proxy = await interceptor({
    refuse: (target) => (target.startsWith('blocked') ? 403 : undefined),
  });
  const { d, out } = deps(configFor(t.testdir(), proxy));
  const rs = await run({ targets: [at(BROKEN), 'blocked.example.test:443'] }, d);
  t.same(
    rs.map((r) => r.classification.verdict),
    ['upstream-cert-error', 'blocked'],
  );
  t.match(out(), /Not trusted by/);
  t.match(out(), /refused CONNECT with status 403/);

  const bad = deps(configFor(t.testdir(), proxy, 'wrong'));
  await t.rejects(run({ targets: [at(GOOD)] }, bad.d), {
    code: 'CPX_ERR_TLS_PROBE',
    message: /no probe completed \(1 host\(s\)\)/,
  });
  t.match(bad.out(), `${at(GOOD)}  probe-failed`, 'the report is printed before the error');
  t.match(bad.out(), /407/);
});

t.test('without hosts: the watch list and the https hosts of GOPROXY', async (t) => {
  const proxy = await interceptor();
  const config = configFor(t.testdir(), proxy, 'pw', { watch: [at(GOOD)] });
  const env = {
    GOPROXY: `https://${at(DIRECT)}/mod|direct,off,http://plain.test/,https://${at(GOOD)}`,
  };
  const { d } = deps(config, env);
  const rs = await run({}, d);
  t.same(
    rs.map((r) => `${r.probe.host}:${r.probe.port} ${r.classification.verdict}`),
    [`${at(GOOD)} intercepted`, `${at(DIRECT)} clean`],
    'each host once, in order',
  );
  t.same(targetsFor([], { ...config, probe: { ...config.probe, watch: [] } }, {}), []);
  await t.rejects(run({}, deps({ ...config, probe: { ...config.probe, watch: [] } }).d), {
    code: 'CPX_ERR_USAGE',
  });
});

t.test('targets and GOPROXY parsing', async (t) => {
  t.same(parseTarget('proxy.golang.org'), { host: 'proxy.golang.org', port: 443 });
  t.same(parseTarget('Example.Test:8443'), { host: 'example.test', port: 8443 });
  t.same(parseTarget('[::1]:9443'), { host: '::1', port: 9443 });
  t.same(parseTarget('https://sum.golang.org/lookup/x'), { host: 'sum.golang.org', port: 443 });
  t.same(parseTarget('https://h.test:9/'), { host: 'h.test', port: 9 });
  t.throws(() => parseTarget('h.test:99999'), { code: 'CPX_ERR_BAD_TARGET' });
  t.throws(() => parseTarget('https://[bad'), { code: 'CPX_ERR_BAD_TARGET' });
  t.same(goproxyTargets(undefined), []);
  t.same(goproxyTargets('https://[broken,https://a.test'), [{ host: 'a.test', port: 443 }]);
});

t.test('a bad target or an unreadable extraPublicRoots file', async (t) => {
  const proxy = await interceptor();
  const config = configFor(t.testdir(), proxy);
  await t.rejects(run({ targets: ['bad host'] }, deps(config).d), { code: 'CPX_ERR_BAD_TARGET' });
  const missing = {
    ...config,
    probe: { ...config.probe, extraPublicRoots: join(rootsFile, 'nope') },
  };
  await t.rejects(run({ targets: [at(GOOD)] }, deps(missing).d), {
    code: 'CPX_ERR_CONFIG_READ',
    message: /probe\.extraPublicRoots: cannot read/,
  });
  t.same(proxy.connects, [], 'nothing was probed');
});
