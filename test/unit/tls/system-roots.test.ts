import t from 'tap';
import { mkdtemp, rm, truncate, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { GO_LINUX_CERT_FILES, readSystemRoots } from '../../../src/tls/system-roots.js';

const nodeRoots = ['PEM-A', 'PEM-B'];

async function dir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'corproxy-roots-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

t.test("Go's Linux search order", async (t) => {
  t.same(GO_LINUX_CERT_FILES, [
    '/etc/ssl/certs/ca-certificates.crt',
    '/etc/pki/tls/certs/ca-bundle.crt',
    '/etc/ssl/ca-bundle.pem',
    '/etc/pki/tls/cacert.pem',
    '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
    '/etc/ssl/cert.pem',
  ]);
});

t.test('the first existing file of the list, then Mozilla', async (t) => {
  const d = await dir(t);
  const second = join(d, 'second.crt');
  await writeFile(second, 'SYSTEM');
  const r = await readSystemRoots({
    certFiles: [join(d, 'missing.crt'), second, join(d, 'third.crt')],
    nodeRoots,
  });
  t.equal(r.systemFile, second);
  t.same(r.roots, [
    { pem: 'SYSTEM', source: `system:${second}` },
    { pem: 'PEM-A', source: 'mozilla' },
    { pem: 'PEM-B', source: 'mozilla' },
  ]);
  t.same(r.warnings, [], 'a missing candidate is normal');
});

t.test('SSL_CERT_FILE replaces the list', async (t) => {
  const d = await dir(t);
  const listed = join(d, 'listed.crt');
  await writeFile(listed, 'LISTED');
  const mine = join(d, 'mine.pem');
  await writeFile(mine, 'MINE');
  const r = await readSystemRoots({ sslCertFile: mine, certFiles: [listed], nodeRoots });
  t.equal(r.systemFile, mine);
  t.equal(r.roots[0]?.pem, 'MINE');
  const missing = await readSystemRoots({
    sslCertFile: join(d, 'gone.pem'),
    certFiles: [listed],
    nodeRoots,
  });
  t.equal(missing.systemFile, undefined, 'no fallback to the list, as in Go');
  t.same(
    missing.roots.map((x) => x.source),
    ['mozilla', 'mozilla'],
  );
  t.match(missing.warnings.join(' | '), /cannot read .*gone\.pem \(ENOENT\).*SSL_CERT_FILE=/);
  const empty = await readSystemRoots({ sslCertFile: '', certFiles: [listed], nodeRoots });
  t.equal(empty.systemFile, listed, 'an empty SSL_CERT_FILE counts as unset');
});

t.test('nothing found, unreadable and oversized files', async (t) => {
  const d = await dir(t);
  const none = await readSystemRoots({ certFiles: [join(d, 'a'), join(d, 'b')], nodeRoots });
  t.equal(none.systemFile, undefined);
  t.match(none.warnings.join(' '), /no system CA file found/);
  const big = join(d, 'big.crt');
  await writeFile(big, '');
  await truncate(big, 17 * 1024 * 1024);
  const ok = join(d, 'ok.crt');
  await writeFile(ok, 'OK');
  const r = await readSystemRoots({ certFiles: [big, ok], nodeRoots });
  t.equal(r.systemFile, ok, 'an absurdly large file is skipped');
  t.match(r.warnings.join(' '), /big\.crt \(EFBIG\)/);
  const locked = join(d, 'locked.crt');
  await writeFile(locked, 'L');
  await chmod(locked, 0o000);
  const failing = await readSystemRoots({
    certFiles: [locked],
    nodeRoots,
    readFile: async () => Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })),
  });
  t.match(failing.warnings.join(' '), /locked\.crt \(EACCES\)/);
  const odd = await readSystemRoots({
    certFiles: [locked],
    nodeRoots,
    readFile: async () => Promise.reject(new Error('strange')),
  });
  t.match(odd.warnings.join(' '), /\(strange\)/);
});

t.test("Node's bundled Mozilla roots by default", async (t) => {
  const r = await readSystemRoots({ certFiles: [] });
  t.equal(r.roots.length, rootCertificates.length);
  t.ok(r.roots.length > 100);
});
