/** Layer 1, SSL_CERT_FILE / SSL_CERT_DIR and git's proxy and CA settings. */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import {
  gitCaCheck,
  gitProxyCheck,
  sslCertDirCheck,
  sslCertFileCheck,
  type CertEnvInput,
  type GitInput,
} from '../../../src/doctor/env-certs.js';
import type { GoRoots, RootFile } from '../../../src/doctor/go-roots.js';
import { makeCa } from '../../support/pki.js';

const pub = new X509Certificate(makeCa({ cn: 'Public Root' }).certPem);
const corp = new X509Certificate(makeCa({ cn: 'Corp Root', org: 'Example Corp' }).certPem);
const approved = [{ sha256: corp.fingerprint256, subject: 'CN=Corp Root, O=Example Corp' }];
const BUNDLE = '/state/ca-bundle.pem';

const file = (path: string, certs: X509Certificate[], extra: Partial<RootFile> = {}): RootFile => ({
  path,
  from: 'SSL_CERT_FILE',
  certs,
  bad: 0,
  ...extra,
});

function input(
  env: Record<string, string>,
  f: RootFile | undefined,
  over: Partial<CertEnvInput> = {},
): CertEnvInput {
  const roots: GoRoots = {
    platform: 'linux',
    ...(f && { file: f }),
    dirs: [],
    certs: f?.certs ?? [],
    approximated: false,
  };
  return { env, roots, approved, bundle: { path: BUNDLE, present: true }, ...over };
}

t.test('SSL_CERT_FILE holding the approved CA passes', async (t) => {
  const r = sslCertFileCheck(input({ SSL_CERT_FILE: BUNDLE }, file(BUNDLE, [pub, corp])));
  t.match(r, {
    status: 'pass',
    summary: '2 certificate(s); holds the approved CA CN=Corp Root, O=Example Corp',
  });
});

t.test('missing, empty, or lacking the approved CA', async (t) => {
  const gone = sslCertFileCheck(
    input({ SSL_CERT_FILE: '/gone.pem' }, file('/gone.pem', [], { error: 'ENOENT' })),
  );
  t.match(gone, {
    status: 'fail',
    summary: 'cannot read /gone.pem (ENOENT)',
    commands: ["export SSL_CERT_FILE='/state/ca-bundle.pem'"],
  });
  t.match(sslCertFileCheck(input({ SSL_CERT_FILE: '/e.pem' }, file('/e.pem', []))), {
    status: 'fail',
    summary: /holds no certificate/,
  });
  const lacks = sslCertFileCheck(input({ SSL_CERT_FILE: '/p.pem' }, file('/p.pem', [pub])));
  t.match(lacks, {
    status: 'warn',
    summary: '/p.pem lacks the approved corporate CA CN=Corp Root, O=Example Corp',
  });
  const unset = sslCertFileCheck(
    input({}, file('/etc/ssl/certs/ca-certificates.crt', [pub], { from: 'default' }), {
      bundle: { path: BUNDLE, present: false },
    }),
  );
  t.match(unset, {
    status: 'warn',
    summary: /^unset, and Go’s default roots lack/,
    commands: ['corproxy trust', "export SSL_CERT_FILE='/state/ca-bundle.pem'"],
  });
});

t.test('nothing approved: unset is fine', async (t) => {
  const r = sslCertFileCheck(
    input({}, file('/etc/ssl/certs/ca-certificates.crt', [pub], { from: 'default' }), {
      approved: [],
    }),
  );
  t.match(r, { status: 'pass', summary: 'unset: Go reads /etc/ssl/certs/ca-certificates.crt' });
  const mac = input({}, undefined, { approved: [] });
  const r2 = sslCertFileCheck({
    ...mac,
    roots: { ...mac.roots, platform: 'darwin', approximated: true },
  });
  t.match(r2, {
    status: 'pass',
    evidence: [/./, /./, /Go before 1\.27 asks the OS certificate store/],
  });
});

t.test('SSL_CERT_DIR', async (t) => {
  t.equal(sslCertDirCheck(input({}, undefined)), undefined, 'no row when unset');
  const base = input({ SSL_CERT_DIR: '/a:/b' }, undefined);
  const ok = {
    ...base,
    roots: { ...base.roots, dirs: [file('/a', [pub], { from: 'SSL_CERT_DIR' })] },
  };
  t.match(sslCertDirCheck(ok), { status: 'pass', summary: '1 certificate(s) in 1 directory' });
  const bad = { ...base, roots: { ...base.roots, dirs: [file('/b', [], { error: 'EACCES' })] } };
  t.match(sslCertDirCheck(bad), { status: 'warn', summary: 'cannot read /b' });
});

t.test("git's http.proxy and CA file", async (t) => {
  const git = (config: Record<string, string> | undefined, caFile?: RootFile): GitInput => ({
    ...(config && { config }),
    ...(caFile && { caFile }),
    own: [{ host: '127.0.0.1', port: 3129 }],
    proxyUrl: 'http://127.0.0.1:3129',
  });
  t.equal(gitProxyCheck(git(undefined)), undefined, 'no git, no row');
  t.equal(gitCaCheck(git(undefined), input({}, undefined)), undefined);
  t.match(gitProxyCheck(git({})), { status: 'pass', summary: /unset/ });
  t.match(gitProxyCheck(git({ 'http.proxy': '127.0.0.1:3129' })), {
    status: 'pass',
    summary: 'corproxy',
  });
  const other = gitProxyCheck(git({ 'http.proxy': 'http://bob:pw@proxy.corp.test:8080' }));
  t.match(other, {
    status: 'warn',
    evidence: ['http.proxy=http://***@proxy.corp.test:8080'],
    commands: ['git config --global http.proxy http://127.0.0.1:3129'],
  });
  t.match(gitCaCheck(git({}), input({}, undefined)), {
    status: 'pass',
    summary: /system CA store/,
  });
  const ca = (f: RootFile) => gitCaCheck(git({}, f), input({}, undefined));
  t.match(ca(file('/g.pem', [corp], { from: 'GIT_SSL_CAINFO' })), {
    status: 'pass',
    evidence: ['GIT_SSL_CAINFO=/g.pem', /1 certificate/],
  });
  t.match(ca(file('/g.pem', [pub])), {
    status: 'warn',
    commands: [`git config --global http.sslCAInfo ${BUNDLE}`],
  });
  t.match(ca(file('/g.pem', [], { error: 'ENOENT' })), { status: 'fail' });
});
