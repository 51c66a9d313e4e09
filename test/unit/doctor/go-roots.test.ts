/** The roots Go would use, read through a fake file system. */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import { holds, readGoRoots, readRootFile, type RootsFs } from '../../../src/doctor/go-roots.js';
import { makeCa } from '../../support/pki.js';

const a = makeCa({ cn: 'Root A' });
const b = makeCa({ cn: 'Root B' });
const fpA = new X509Certificate(a.certPem).fingerprint256;
const fpB = new X509Certificate(b.certPem).fingerprint256;

function fakeFs(files: Record<string, string>, dirs: Record<string, string[]> = {}): RootsFs {
  const missing = (p: string) => Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
  return {
    readFile: (p) =>
      p in files ? Promise.resolve(files[p] as string) : Promise.reject(missing(p)),
    readDir: (p) => (p in dirs ? Promise.resolve(dirs[p] as string[]) : Promise.reject(missing(p))),
  };
}

t.test('SSL_CERT_FILE, then every file of SSL_CERT_DIR, de-duplicated', async (t) => {
  const fs = fakeFs(
    {
      '/x/file.pem': a.certPem,
      '/d1/one.pem': b.certPem,
      '/d1/dup.pem': a.certPem,
      '/d1/junk': 'nothing',
    },
    { '/d1': ['one.pem', 'dup.pem', 'junk'] },
  );
  const r = await readGoRoots(
    { SSL_CERT_FILE: '/x/file.pem', SSL_CERT_DIR: '/d1:/gone' },
    'linux',
    fs,
  );
  t.match(r.file, { path: '/x/file.pem', from: 'SSL_CERT_FILE', bad: 0 });
  t.same(
    r.dirs.map((d) => [d.path, d.from, d.certs.length, d.error]),
    [
      ['/d1', 'SSL_CERT_DIR', 2, undefined],
      ['/gone', 'SSL_CERT_DIR', 0, 'ENOENT'],
    ],
  );
  t.same(r.certs.map((c) => c.fingerprint256).sort(), [fpA, fpB].sort());
  t.ok(holds(r.certs, fpB));
  t.equal(r.approximated, false);
});

t.test(
  "without the variables: Go's first CA file that exists, and its default directories",
  async (t) => {
    const fs = fakeFs({ '/etc/pki/tls/certs/ca-bundle.crt': a.certPem }, { '/etc/ssl/certs': [] });
    const r = await readGoRoots({}, 'linux', fs);
    t.match(r.file, { path: '/etc/pki/tls/certs/ca-bundle.crt', from: 'default' });
    t.same(
      r.dirs.map((d) => d.path),
      ['/etc/ssl/certs'],
      'a missing default directory is not listed',
    );
    const none = await readGoRoots({}, 'linux', fakeFs({}));
    t.equal(none.file, undefined);
    t.equal(none.certs.length, 0);
  },
);

t.test('an unreadable SSL_CERT_FILE is reported, not thrown', async (t) => {
  const r = await readGoRoots(
    { SSL_CERT_FILE: '/nope.pem', SSL_CERT_DIR: '/empty' },
    'linux',
    fakeFs({}, { '/empty': [] }),
  );
  t.match(r.file, { path: '/nope.pem', error: 'ENOENT', certs: [] });
  const bad = await readRootFile(
    '/bad.pem',
    'x',
    fakeFs({ '/bad.pem': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }),
  );
  t.match(bad, { certs: [], bad: 1 });
});

t.test('macOS and Windows: the OS store is stood in for by Mozilla roots', async (t) => {
  const r = await readGoRoots(
    { SSL_CERT_FILE: '/x.pem' },
    'darwin',
    fakeFs({ '/x.pem': a.certPem }),
    [b.certPem],
  );
  t.equal(r.approximated, true);
  t.same(r.certs.map((c) => c.fingerprint256).sort(), [fpA, fpB].sort());
  const w = await readGoRoots({}, 'win32', fakeFs({}), [b.certPem]);
  t.same(
    w.certs.map((c) => c.fingerprint256),
    [fpB],
  );
  t.equal(w.file, undefined);
});
