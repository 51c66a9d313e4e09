/** What doctor reads first: corproxy's addresses, approved CAs, the bundle, git. */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import type { RootsFs } from '../../../src/doctor/go-roots.js';
import { parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import {
  approvedCas,
  goSendsToCorproxy,
  mirrorEntries,
  observe,
  proxyUrlOf,
} from '../../../src/doctor/observe.js';
import { goHosts, MIRROR_ROLE } from '../../../src/doctor/targets.js';
import { testConfig } from '../../support/corproxy.js';
import { makeCa } from '../../support/pki.js';

const corp = makeCa({ cn: 'Corp Root', org: 'Example Corp' });
const corpFp = new X509Certificate(corp.certPem).fingerprint256;
const STATE = '/state';
const fsOf = (files: Record<string, string>): RootsFs => ({
  readFile: (p) =>
    p in files
      ? Promise.resolve(files[p] as string)
      : Promise.reject(Object.assign(new Error('ENOENT'), { code: 'ENOENT' })),
  readDir: () => Promise.resolve([]),
});
const own = [{ host: '127.0.0.1', port: 3129 }];

t.test("corproxy's URL for the fix lines", async (t) => {
  t.equal(
    proxyUrlOf([
      { host: '::1', port: 1 },
      { host: '127.0.0.1', port: 2 },
    ]),
    'http://127.0.0.1:2',
  );
  t.equal(proxyUrlOf([{ host: '::', port: 3 }]), 'http://[::1]:3');
  t.equal(proxyUrlOf([{ host: '0.0.0.0', port: 4 }]), 'http://127.0.0.1:4');
  t.equal(proxyUrlOf([]), 'http://127.0.0.1:3129');
});

t.test('approved CAs: corp-ca.pem plus pre-approved fingerprints, once each', async (t) => {
  const extra = Array.from({ length: 32 }, () => 'AB').join(':');
  const config = testConfig(
    { stateDir: STATE },
    {},
    { trust: { fingerprints: [corpFp.toLowerCase(), extra.replace(/:/g, '')] } },
  );
  const cas = await approvedCas(config, fsOf({ [join(STATE, 'corp-ca.pem')]: corp.certPem }));
  t.same(cas, [{ sha256: corpFp, subject: 'CN=Corp Root, O=Example Corp' }, { sha256: extra }]);
});

t.test('observe: roots, bundle, git and its CA file', async (t) => {
  const config = testConfig({ stateDir: STATE });
  const files = {
    [join(STATE, 'ca-bundle.pem')]: corp.certPem,
    '/g.pem': corp.certPem,
    '/e.pem': corp.certPem,
  };
  const seen = await observe({
    env: { SSL_CERT_FILE: '/e.pem', SSL_CERT_DIR: '/none' },
    platform: 'linux',
    config,
    fs: fsOf(files),
    gitConfig: () => Promise.resolve({ 'http.sslcainfo': '/g.pem' }),
    nodeRoots: [],
  });
  t.equal(seen.roots.certs.length, 1);
  t.same(seen.certInput.bundle, { path: join(STATE, 'ca-bundle.pem'), present: true });
  t.equal(seen.mirrorRoots.certs[0]?.fingerprint256, corpFp, 'the mirror trusts the bundle');
  t.match(seen.gitCa, { path: '/g.pem', from: 'http.sslCAInfo' });
  const envCa = await observe({
    env: { GIT_SSL_CAINFO: '/e.pem' },
    platform: 'linux',
    config,
    fs: fsOf({}),
    gitConfig: () => Promise.resolve({ 'http.sslcainfo': '/g.pem' }),
    nodeRoots: [corp.certPem],
  });
  t.match(envCa.gitCa, { path: '/e.pem', from: 'GIT_SSL_CAINFO', error: 'ENOENT' });
  t.equal(envCa.certInput.bundle.present, false);
  t.equal(envCa.mirrorRoots.certs.length, 1, "without a bundle the mirror uses Node's roots");
  const noGit = await observe({
    env: {},
    platform: 'linux',
    config,
    fs: fsOf({}),
    gitConfig: () => Promise.resolve(undefined),
  });
  t.notOk('git' in noGit || 'gitCa' in noGit);
});

t.test('does Go use corproxy?', async (t) => {
  const list = parseGoproxyList(
    'https://proxy.golang.org,http://127.0.0.1:3129/mod/,http://127.0.0.1:9/x,direct',
  );
  t.same(mirrorEntries(list, own), ['http://127.0.0.1:3129/mod']);
  const hosts = goHosts(
    parseGoproxyList('https://proxy.golang.org'),
    parseGosumdb('off'),
    [],
    ['https://only-mirror.test'],
  );
  t.equal(goSendsToCorproxy(hosts, { HTTPS_PROXY: 'http://127.0.0.1:3129' }, own), true);
  t.equal(goSendsToCorproxy(hosts, { HTTPS_PROXY: 'http://proxy.corp.test:8080' }, own), false);
  t.equal(goSendsToCorproxy(hosts, {}, own), false);
  const mirrorOnly = hosts.filter((h) => h.roles.includes(MIRROR_ROLE));
  t.equal(
    goSendsToCorproxy(mirrorOnly, { HTTPS_PROXY: 'http://127.0.0.1:3129' }, own),
    false,
    'go never contacts the mirror’s upstreams',
  );
});
