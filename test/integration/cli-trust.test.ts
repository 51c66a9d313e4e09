/**
 * `corproxy trust` over real loopback sockets: the fake interceptor as the upstream (each
 * chain shape), an origin that sends only its leaf and names its issuer by AIA, and the
 * three files written into a test state dir.
 *
 *   trust --CONNECT--> fake interceptor (root | intermediate | leaf-only) --TLS--> origin
 *   trust --direct--> aia origin (leaf only)      trust --GET (AIA, direct)--> aia server
 */
import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import {
  lstatSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { withRouteContext } from '../../src/cli/detect.js';
import { proxyUrl, runEnv } from '../../src/cli/env.js';
import { runTrust, type TrustArgs, type TrustDeps } from '../../src/cli/trust.js';
import type { Config } from '../../src/config/types.js';
import { parsePem } from '../../src/tls/chain.js';
import { aiaFetcher, caIssuerUrls, httpGetOverRoute } from '../../src/tls/route-probe.js';
import type { SystemRoots } from '../../src/tls/system-roots.js';
import {
  makeInterceptorPki,
  startFakeInterceptor,
  type FakeInterceptor,
  type InterceptChain,
} from '../support/fake-interceptor.js';
import { testConfig } from '../support/corproxy.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { makeCa, makeLeaf, type Issued } from '../support/pki.js';
import { originLeaf, startTlsOrigin, type TlsOrigin } from '../support/tls-origin.js';

const GOOD = 'goproxy.example.test';
const BROKEN = 'broken.example.test';
const AIA_HOST = 'aia.example.test';
const ORIGIN_AIA = 'private.example.test';
const resolve = { [GOOD]: '127.0.0.1', [BROKEN]: '127.0.0.1' };

const publicCa = makeCa({ cn: 'Public Test Root', org: 'Public Test CA' });
const pki = makeInterceptorPki('Corp Inspection Root CA', 'Example Corp');
const systemCa = makeCa({ cn: 'Distro Bundle Root' });
const expiredCa = makeCa({ cn: 'Expired Distro Root', days: -1 });
const fp = (i: Issued): string => new X509Certificate(i.certPem).fingerprint256;
const ROOT = fp(pki.root);
const INT = fp(pki.intermediate);

const origins: Record<string, TlsOrigin> = {};
const shapes = new Map<InterceptChain, FakeInterceptor>();
let aiaServer: http.Server;
let aiaPort = 0;
const aiaRoot = makeCa({ cn: 'Private AIA Root', org: 'Example Corp' });

/** caIssuers (RFC 5280 §4.2.2.1) pointing at `url`, as a forge extension. */
function aiaExtension(url: string): object {
  const { asn1 } = forge;
  const desc = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.OID,
        false,
        asn1.oidToDer('1.3.6.1.5.5.7.48.2').getBytes(),
      ),
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 6, false, url),
    ]),
  ]);
  return { id: '1.3.6.1.5.5.7.1.1', critical: false, value: asn1.toDer(desc).getBytes() };
}

t.before(async () => {
  origins[GOOD] = await startTlsOrigin({ leaf: originLeaf(publicCa, [GOOD], 2) });
  origins[BROKEN] = await startTlsOrigin({ leaf: originLeaf(makeCa({ cn: BROKEN }), [BROKEN], 2) });
  aiaServer = http.createServer((req, res) => {
    if (req.url === '/root.crt') res.end(new X509Certificate(aiaRoot.certPem).raw);
    else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => aiaServer.listen(0, '127.0.0.1', ok));
  aiaPort = (aiaServer.address() as AddressInfo).port;
  const leaf = makeLeaf(aiaRoot, [ORIGIN_AIA], {
    extensions: [aiaExtension(`http://${AIA_HOST}:${aiaPort}/root.crt`)],
  });
  origins[ORIGIN_AIA] = await startTlsOrigin({ leaf });
  for (const chain of ['root', 'intermediate', 'leaf-only'] as const) {
    shapes.set(
      chain,
      await startFakeInterceptor({ resolve, originCa: [publicCa.certPem], pki, chain }),
    );
  }
});

t.teardown(async () => {
  for (const p of shapes.values()) await p.close();
  for (const o of Object.values(origins)) await o.close();
  aiaServer.close();
});

const at = (host: string): string => `${host}:${origins[host]?.port ?? 0}`;
const SYSTEM_FILE = '/test/etc/ssl/certs/ca-certificates.crt';

/** A fake distro bundle (one live root, one expired) plus a one-root "Mozilla" set. */
async function fakeSystemRoots(sslCertFile: string | undefined): Promise<SystemRoots> {
  const mozilla = { pem: publicCa.certPem, source: 'mozilla' };
  if (sslCertFile !== undefined) {
    const pem = readFileSync(sslCertFile, 'utf8');
    return { roots: [{ pem, source: `system:${sslCertFile}` }, mozilla], warnings: [] };
  }
  const pem = systemCa.certPem + expiredCa.certPem;
  return { roots: [{ pem, source: `system:${SYSTEM_FILE}` }, mozilla], warnings: [] };
}

interface Run {
  readonly dir: string;
  readonly chain?: InterceptChain;
  readonly interactive?: boolean;
  readonly answers?: boolean[];
  readonly env?: Record<string, string>;
  readonly file?: Record<string, unknown>;
}

function configOf(r: Run): Config {
  const roots = join(r.dir, 'public-roots.pem');
  writeFileSync(roots, publicCa.certPem);
  const proxy = shapes.get(r.chain ?? 'root') as FakeInterceptor;
  return testConfig(
    {
      upstream: [`http://127.0.0.1:${proxy.port}`],
      direct: [ORIGIN_AIA, AIA_HOST],
      hosts: [`${ORIGIN_AIA}=127.0.0.1`, `${AIA_HOST}=127.0.0.1`],
      stateDir: join(r.dir, 'state'),
    },
    // The env test expects the mirror's GOPROXY line: the mirror is on by default.
    { CORPROXY_MIRROR: 'true' },
    { probe: { extraPublicRoots: roots, timeout: '5s' }, ...(r.file ?? {}) },
  );
}

async function trust(args: TrustArgs, r: Run) {
  const out: string[] = [];
  const answers = [...(r.answers ?? [])];
  const questions: string[] = [];
  const deps: TrustDeps = {
    loadConfig: () => configOf(r),
    env: r.env ?? {},
    print: (l) => void out.push(l),
    interactive: r.interactive ?? false,
    confirm: async (q) => {
      questions.push(q);
      return answers.shift() ?? false;
    },
    systemRoots: fakeSystemRoots,
  };
  const state = join(r.dir, 'state');
  const files = {
    bundle: join(state, 'ca-bundle.pem'),
    corp: join(state, 'corp-ca.pem'),
    manifest: join(state, 'manifest.json'),
  };
  try {
    const outcome = await runTrust({ targets: [at(GOOD)], ...args }, deps);
    return { outcome, error: undefined, out: out.join('\n'), questions, files };
  } catch (error) {
    return {
      outcome: undefined,
      error: error as Error & { code?: string },
      out: out.join('\n'),
      questions,
      files,
    };
  }
}

const read = (file: string): string => readFileSync(file, 'utf8');
const stateFiles = (dir: string): string[] => {
  try {
    return readdirSync(join(dir, 'state')).sort();
  } catch {
    return [];
  }
};

t.test(
  '--yes --fingerprint writes the three files; the bundle holds the root and no leaf',
  async (t) => {
    const dir = t.testdir();
    const r = await trust(
      { yes: true, fingerprint: [ROOT.replace(/:/g, '').toLowerCase()] },
      { dir },
    );
    t.equal(r.error, undefined, r.out);
    t.match(r.out, /Candidate CA for goproxy\.example\.test:\d+/);
    t.match(r.out, `sha256    ${ROOT}`);
    t.match(r.out, /signature verified on every link/);
    t.match(r.out, `approved (flag): ${ROOT}`);
    t.same(
      stateFiles(dir),
      ['ca-bundle.pem', 'corp-ca.pem', 'manifest.json'],
      'no temporary file left',
    );
    const bundle = parsePem(read(r.files.bundle)).certs;
    const fps = bundle.map((c) => c.fingerprint256);
    t.ok(fps.includes(ROOT), 'the corporate root');
    t.ok(fps.includes(fp(systemCa)), 'the roots Go reads by default here');
    t.ok(fps.includes(fp(publicCa)), "Mozilla's roots");
    t.notOk(fps.includes(fp(expiredCa)), 'expired roots dropped');
    t.ok(
      bundle.every((c) => c.ca),
      'no leaf',
    );
    t.equal(new Set(fps).size, fps.length, 'no duplicates');
    t.match(
      read(r.files.bundle),
      new RegExp(`# Corp Inspection Root CA sha256=${ROOT} source=trust:`),
    );
    t.same(
      parsePem(read(r.files.corp)).certs.map((c) => c.fingerprint256),
      [ROOT],
    );
    const manifest = JSON.parse(read(r.files.manifest));
    t.match(manifest, {
      schemaVersion: 1,
      bundle: r.files.bundle,
      counts: { corporate: 1, dropped: 1 },
    });
    t.match(
      manifest.entries.find((e: { corporate: boolean }) => e.corporate),
      {
        sha256: ROOT,
        subject: 'CN=Corp Inspection Root CA, O=Example Corp',
        approvedAt: String,
      },
    );
    for (const f of Object.values(r.files)) t.equal(statSync(f).mode & 0o777, 0o644, f);

    const before = Object.values(r.files).map(read);
    const again = await trust({ yes: true, fingerprint: [ROOT] }, { dir });
    t.equal(again.error, undefined);
    t.match(again.out, `approved (already): ${ROOT}`);
    t.match(again.out, /^unchanged: /m);
    t.same(Object.values(r.files).map(read), before, 'idempotent: the same bytes');

    const removed = await trust({ remove: ROOT, targets: [] }, { dir });
    t.equal(removed.error, undefined, removed.out);
    t.equal(read(r.files.corp), '');
    t.notOk(
      parsePem(read(r.files.bundle)).certs.some((c) => c.fingerprint256 === ROOT),
      'gone',
    );
    const unknown = await trust({ remove: ROOT, targets: [] }, { dir });
    t.match(unknown.error, { code: 'CPX_ERR_USAGE', message: /no approved CA has sha256/ });
    const mixed = await trust({ remove: ROOT, yes: true, targets: [] }, { dir });
    t.match(mixed.error, { code: 'CPX_ERR_USAGE', message: /--remove takes no/ });
    const badRemove = await trust({ remove: 'xyz', targets: [] }, { dir });
    t.match(badRemove.error, { code: 'CPX_ERR_USAGE', message: /not a SHA-256/ });
  },
);

t.test('who may approve', async (t) => {
  const noTty = await trust({}, { dir: t.testdir() });
  t.match(noTty.error, { code: 'CPX_ERR_USAGE', message: /not a terminal.*--yes --fingerprint/ });
  t.match(noTty.out, `sha256    ${ROOT}`, 'the candidate is shown anyway');
  t.same(stateFiles(t.testdirName), [], 'nothing written');

  const yesOnly = await trust({ yes: true }, { dir: t.testdir() });
  t.match(yesOnly.error, { code: 'CPX_ERR_USAGE', message: /--yes needs --fingerprint/ });
  const garbage = await trust({ fingerprint: ['12:34'] }, { dir: t.testdir() });
  t.match(garbage.error, { code: 'CPX_ERR_USAGE', message: /not a SHA-256 fingerprint/ });
  const other = await trust({ yes: true, fingerprint: [INT] }, { dir: t.testdir() });
  t.match(other.error, {
    code: 'CPX_ERR_TRUST_REJECTED',
    message: /no acceptable candidate CA has sha256/,
  });

  const declined = await trust({}, { dir: t.testdir(), interactive: true, answers: [false] });
  t.match(declined.error, {
    code: 'CPX_ERR_TRUST_REJECTED',
    message: /no CA was approved; nothing written/,
  });
  t.match(
    declined.questions[0],
    new RegExp(`Trust "CN=Corp Inspection Root CA, O=Example Corp" \\(sha256 ${ROOT}\\)`),
  );
  t.same(stateFiles(t.testdirName), []);

  const dir = t.testdir();
  const confirmed = await trust({}, { dir, interactive: true, answers: [true] });
  t.equal(confirmed.error, undefined);
  t.match(confirmed.out, `approved (confirmed): ${ROOT}`);

  const admin = await trust({}, { dir: t.testdir(), file: { trust: { fingerprints: [ROOT] } } });
  t.equal(admin.error, undefined, 'trust.fingerprints pre-approves');
  t.match(admin.out, `approved (pre-approved): ${ROOT}`);
});

t.test('only an intermediate on the wire: allowed, and said so', async (t) => {
  const r = await trust(
    { yes: true, fingerprint: [INT] },
    { dir: t.testdir(), chain: 'intermediate' },
  );
  t.equal(r.error, undefined, r.out);
  t.match(r.out, /anchor {4}intermediate/);
  t.match(r.out, /Go accepts an intermediate as a trust anchor/);
  t.same(
    parsePem(read(r.files.corp)).certs.map((c) => c.fingerprint256),
    [INT],
  );
});

t.test('leaf only: the CA comes from --ca (PEM or DER), never the leaf', async (t) => {
  const dir = t.testdir({
    'root.pem': pki.root.certPem,
    'empty.pem': 'nothing here\n',
    'leaf.pem': makeLeaf(pki.root, ['x.test']).certPem,
  });
  writeFileSync(join(dir, 'root.der'), new X509Certificate(pki.root.certPem).raw);
  const none = await trust({ yes: true, fingerprint: [ROOT] }, { dir, chain: 'leaf-only' });
  t.match(none.error, { code: 'CPX_ERR_TRUST_REJECTED' });
  t.match(
    none.out,
    /only the leaf was sent and its issuer "CN=Corp Inspection Root CA, O=Example Corp" is in neither/,
  );
  for (const file of ['root.pem', 'root.der']) {
    const ok = await trust(
      { ca: [join(dir, file)], yes: true, fingerprint: [ROOT] },
      { dir, chain: 'leaf-only' },
    );
    t.equal(ok.error, undefined, `${file}: ${ok.out}`);
    t.match(ok.out, `found     file:${join(dir, file)}`);
  }
  const leaf = await trust({ ca: [join(dir, 'leaf.pem')] }, { dir, chain: 'leaf-only' });
  t.match(leaf.error, { code: 'CPX_ERR_TRUST_REJECTED', message: /is not a CA/ });
  const missing = await trust({ ca: [join(dir, 'nope.pem')] }, { dir, chain: 'leaf-only' });
  t.match(missing.error, { code: 'CPX_ERR_USAGE', message: /cannot read it \(ENOENT\)/ });
  const empty = await trust({ ca: [join(dir, 'empty.pem')] }, { dir, chain: 'leaf-only' });
  t.match(empty.error, { code: 'CPX_ERR_USAGE', message: /holds no certificate/ });
});

t.test("the gateway's untrusted CA and hosts that are not intercepted", async (t) => {
  const resigned = await trust({ targets: [at(BROKEN)] }, { dir: t.testdir() });
  t.equal(resigned.error, undefined);
  t.equal(resigned.outcome?.written, false);
  t.match(resigned.out, /skipped: broken\.example\.test:\d+: upstream-cert-error: .*never trust/);
  t.match(resigned.out, /nothing to trust/);
  const untrustedFp = 'AB'.repeat(32);
  const named = await trust(
    { targets: [at(BROKEN)], yes: true, fingerprint: [untrustedFp] },
    { dir: t.testdir() },
  );
  t.match(named.error, { code: 'CPX_ERR_TRUST_REJECTED', message: /no intercepted chain/ });
  const down = await trust({ targets: ['nowhere.example.test:443'] }, { dir: t.testdir() });
  t.equal(down.error, undefined, 'a 502 from the proxy is a block, not a failure');
  const failed = await trust(
    { targets: [at(GOOD)] },
    { dir: t.testdir(), file: { probe: { timeout: '1ms' } } },
  );
  t.match(failed.error, { code: 'CPX_ERR_TLS_PROBE' });
});

t.test('AIA through the same route: a candidate, approved like any other', async (t) => {
  const dir = t.testdir();
  const aiaFp = fp(aiaRoot);
  const r = await trust({ targets: [at(ORIGIN_AIA)], yes: true, fingerprint: [aiaFp] }, { dir });
  t.equal(r.error, undefined, r.out);
  t.match(r.out, `found     aia:http://${AIA_HOST}:${aiaPort}/root.crt`);
  t.match(r.out, /a download proves nothing/);
  t.same(
    parsePem(read(r.files.corp)).certs.map((c) => c.fingerprint256),
    [aiaFp],
  );
});

t.test('--bundle elsewhere; SSL_CERT_FILE; a symlink is refused', async (t) => {
  const dir = t.testdir({ 'extra.pem': systemCa.certPem });
  const elsewhere = join(dir, 'out', 'bundle.pem');
  const r = await trust({ yes: true, fingerprint: [ROOT], bundle: elsewhere }, { dir });
  t.equal(r.error, undefined, r.out);
  t.ok(parsePem(read(elsewhere)).certs.some((c) => c.fingerprint256 === ROOT));
  t.same(stateFiles(dir), ['corp-ca.pem', 'manifest.json'], 'the record stays in the state dir');
  t.equal(JSON.parse(read(r.files.manifest)).bundle, elsewhere);

  const own = await trust(
    { remove: ROOT, targets: [], bundle: elsewhere },
    { dir, env: { SSL_CERT_FILE: elsewhere } },
  );
  t.equal(own.error, undefined, own.out);
  t.match(own.out, /SSL_CERT_FILE is corproxy's own bundle/);
  t.notOk(
    parsePem(read(elsewhere)).certs.some((c) => c.fingerprint256 === ROOT),
    'not read back through SSL_CERT_FILE',
  );

  const link = t.testdir();
  await trust({ yes: true, fingerprint: [ROOT] }, { dir: link });
  const target = join(link, 'state', 'ca-bundle.pem');
  const redirected = join(link, 'redirected.pem');
  writeFileSync(redirected, 'keep me\n');
  const linked = join(link, 'linked.pem');
  symlinkSync(redirected, linked);
  const refused = await trust({ yes: true, fingerprint: [ROOT], bundle: linked }, { dir: link });
  t.match(refused.error, { code: 'CPX_ERR_BUNDLE_WRITE', message: /symlink/ });
  t.equal(read(redirected), 'keep me\n', 'the symlink target is untouched');
  t.ok(lstatSync(target).isFile());
});

t.test('unreadable state and unwritable bundle directories', async (t) => {
  const dir = t.testdir({ 'a-file': 'x' });
  const notDir = join(dir, 'a-file');
  const deps = (stateDir: string): TrustDeps => ({
    loadConfig: () => ({ ...configOf({ dir }), stateDir }),
    env: {},
    print: () => undefined,
    interactive: false,
    confirm: async () => false,
    systemRoots: fakeSystemRoots,
  });
  await t.rejects(runTrust({ targets: [at(GOOD)], yes: true, fingerprint: [ROOT] }, deps(notDir)), {
    code: 'CPX_ERR_STATE_DIR',
    message: /cannot read .*manifest\.json \(ENOTDIR\)/,
  });
  await t.rejects(
    runTrust(
      { targets: [at(GOOD)], yes: true, fingerprint: [ROOT], bundle: join(notDir, 'sub', 'b.pem') },
      deps(join(dir, 'state')),
    ),
    { code: 'CPX_ERR_BUNDLE_WRITE', message: /cannot create/ },
  );
});

t.test('AIA GETs go to the upstream in absolute form with its credentials', async (t) => {
  const up = await startFakeUpstream(t);
  up.credentials = { user: 'alice', password: 'pw' };
  up.resolve.set(AIA_HOST, aiaPort);
  const config = testConfig({ upstream: [`http://alice:pw@127.0.0.1:${up.port}`] });
  const url = new URL(`http://${AIA_HOST}:${aiaPort}/root.crt`);
  const body = await withRouteContext(config, {}, (ctx) => httpGetOverRoute(ctx, url, 5000));
  t.same(body, new X509Certificate(aiaRoot.certPem).raw);
  t.match(up.seen[0], {
    method: 'GET',
    url: url.href,
    proxyAuthorization: `Basic ${Buffer.from('alice:pw').toString('base64')}`,
  });
  const missing = new URL(`http://${AIA_HOST}:${aiaPort}/nope.crt`);
  await t.rejects(
    withRouteContext(config, {}, (ctx) => httpGetOverRoute(ctx, missing, 5000)),
    {
      message: /AIA answer 404/,
    },
  );
  const fetcher = await withRouteContext(config, {}, async (ctx) =>
    aiaFetcher(ctx, 5000, {
      get: async () => {
        throw new Error('unreachable');
      },
    }),
  );
  t.same(
    await fetcher(new X509Certificate(origins[ORIGIN_AIA]?.leaf.certPem ?? '')),
    [],
    'best effort',
  );
  t.same(caIssuerUrls(new X509Certificate(pki.root.certPem)), [], 'no AIA extension');
});

t.test('env after trust points every tool at the files written', async (t) => {
  const dir = t.testdir();
  const config = configOf({ dir });
  const lines = async (c: Config, go = false) => {
    const printed: string[] = [];
    await runEnv(
      { shell: 'sh', go },
      { loadConfig: () => c, env: {}, platform: 'linux', print: (l) => void printed.push(l) },
    );
    return printed.join('\n');
  };
  const before = await lines({ ...config, listen: [{ host: '127.0.0.1', port: 3129 }] });
  t.notMatch(before, /^export SSL_CERT_FILE/m, 'no bundle yet: no certificate lines');
  await trust({ yes: true, fingerprint: [ROOT] }, { dir });
  const listen = [
    { host: '::1', port: 3129 },
    { host: '127.0.0.1', port: 3129 },
  ];
  const after = await lines({ ...config, listen }, true);
  t.match(after, /^export HTTPS_PROXY='http:\/\/127\.0\.0\.1:3129'$/m, 'IPv4 loopback first');
  t.match(after, `export SSL_CERT_FILE='${join(dir, 'state', 'ca-bundle.pem')}'`);
  t.match(after, `export NODE_EXTRA_CA_CERTS='${join(dir, 'state', 'corp-ca.pem')}'`);
  t.match(after, /^go env -w 'GOPROXY=http:\/\/127\.0\.0\.1:3129\/mod\/,direct'$/m);
  t.equal(proxyUrl({ ...config, listen: [{ host: '::', port: 1 }] }), 'http://[::1]:1');
  t.equal(proxyUrl({ ...config, listen: [{ host: '0.0.0.0', port: 2 }] }), 'http://127.0.0.1:2');
  t.throws(() => proxyUrl({ ...config, listen: [{ host: '127.0.0.1', port: 0 }] }), {
    code: 'CPX_ERR_USAGE',
  });
  await trust({ remove: ROOT, targets: [] }, { dir });
  const emptyCorp = await lines({ ...config, listen });
  t.notMatch(emptyCorp, /^export NODE_EXTRA_CA_CERTS/m, 'no approved CA: no Node line');
  t.match(emptyCorp, /^export SSL_CERT_FILE/m);
});
