import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { BUNDLE_FILES, buildBundle, type BundleInput } from '../../../src/tls/bundle.js';
import { parsePem } from '../../../src/tls/chain.js';
import { makeCa } from '../../support/pki.js';

const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const ca = (cn: string, days?: number): string =>
  makeCa({ cn, keys, ...(days === undefined ? {} : { days }) }).certPem;
const fp = (pem: string): string => new X509Certificate(pem).fingerprint256;

const alpha = ca('Alpha Root');
const bravo = ca('bravo Root');
const charlie = ca('Charlie Root');
const expired = ca('Expired Root', -1);
const corp = ca('Corp Inspection Root');
const now = new Date();
const GARBAGE = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const COMMENT = /^# (.+) sha256=((?:[0-9A-F]{2}:){31}[0-9A-F]{2}) source=(.+)$/;

const input = (over: Partial<BundleInput> = {}): BundleInput => ({
  baseRoots: [
    { pem: `${charlie}${alpha}${GARBAGE}`, source: 'system:/etc/ssl/certs/ca-certificates.crt' },
    { pem: `${bravo}${alpha}${expired}`, source: 'mozilla' },
  ],
  corporate: [
    { pem: corp, source: 'trust:proxy.example.test', approvedAt: '2026-01-02T03:04:05.000Z' },
  ],
  now,
  ...over,
});

/** The comment lines and the certificates they precede. */
function blocks(
  pem: string,
): Array<{ name: string; sha256: string; source: string; certFp: string }> {
  const out = [];
  const re = /^(# .*)\n(-----BEGIN CERTIFICATE-----\n[\s\S]*?-----END CERTIFICATE-----\n)/gm;
  for (const m of pem.matchAll(re)) {
    const c = COMMENT.exec(m[1] ?? '');
    out.push({
      name: c?.[1] ?? '?',
      sha256: c?.[2] ?? '?',
      source: c?.[3] ?? '?',
      certFp: fp(m[2] ?? ''),
    });
  }
  return out;
}

t.test('the file names', async (t) => {
  t.same(BUNDLE_FILES, {
    bundle: 'ca-bundle.pem',
    corporate: 'corp-ca.pem',
    manifest: 'manifest.json',
  });
});

t.test('buildBundle', async (t) => {
  const b = buildBundle(input());
  const bs = blocks(b.pem);
  t.same(
    bs.map((x) => x.name),
    ['Alpha Root', 'bravo Root', 'Charlie Root', 'Corp Inspection Root'],
    'base roots sorted by name (case-insensitive), corporate last',
  );
  t.ok(
    bs.every((x) => x.sha256 === x.certFp),
    'each comment names the cert below it',
  );
  t.same(
    bs.map((x) => x.source),
    [
      'system:/etc/ssl/certs/ca-certificates.crt',
      'mozilla',
      'system:/etc/ssl/certs/ca-certificates.crt',
      'trust:proxy.example.test',
    ],
    'the first source of a duplicate wins',
  );
  t.equal(parsePem(b.pem).certs.length, 4);
  t.equal(parsePem(b.pem).bad, 0);
  t.notOk(b.pem.includes(fp(expired)), 'expired root dropped');
  t.same(
    blocks(b.corpPem).map((x) => x.name),
    ['Corp Inspection Root'],
  );
  t.same(b.manifest.counts, { total: 4, corporate: 1, duplicates: 1, dropped: 2 });
  t.same(b.manifest.dropped.map((d) => d.reason).sort(), ['expired', 'unreadable']);
  t.equal(b.manifest.dropped.find((d) => d.reason === 'expired')?.sha256, fp(expired));
  const corpEntry = b.manifest.entries.find((e) => e.corporate);
  t.same(corpEntry, {
    sha256: fp(corp),
    subject: 'CN=Corp Inspection Root',
    notAfter:
      new X509Certificate(corp).validTo &&
      new Date(new X509Certificate(corp).validTo).toISOString(),
    source: 'trust:proxy.example.test',
    corporate: true,
    approvedAt: '2026-01-02T03:04:05.000Z',
  });
  t.equal(b.manifest.schemaVersion, 1);
  t.equal(b.manifest.generatedAt, now.toISOString());
  t.equal(b.manifest.entries.length, 4);
});

t.test('the output is stable', async (t) => {
  const a = buildBundle(input());
  const reordered = buildBundle(
    input({
      baseRoots: [
        { pem: `${alpha}${charlie}`, source: 'system:/etc/ssl/certs/ca-certificates.crt' },
        { pem: `${expired}${alpha}${bravo}${GARBAGE}`, source: 'mozilla' },
      ],
    }),
  );
  t.equal(reordered.pem, a.pem, 'byte-identical whatever the input order');
  t.equal(buildBundle(input()).pem, a.pem);
});

t.test('corporate CAs', async (t) => {
  const inBase = buildBundle(
    input({ baseRoots: [{ pem: `${alpha}${corp}`, source: 'system:/x' }] }),
  );
  t.same(
    blocks(inBase.pem).map((x) => x.name),
    ['Alpha Root', 'Corp Inspection Root'],
  );
  t.equal(blocks(inBase.pem)[1]?.source, 'trust:proxy.example.test');
  t.same(inBase.manifest.entries[1]?.alsoIn, ['system:/x'], 'already in the OS store');
  t.equal(inBase.manifest.counts.duplicates, 0);

  const twice = buildBundle(
    input({
      corporate: [
        { pem: corp, source: 'trust:a', approvedAt: '2026-01-01T00:00:00.000Z' },
        { pem: corp, source: 'trust:b', approvedAt: '2026-01-02T00:00:00.000Z' },
      ],
    }),
  );
  t.equal(blocks(twice.corpPem).length, 1);
  t.equal(twice.manifest.counts.duplicates, 2);

  const old = buildBundle(
    input({ corporate: [{ pem: ca('Old Corp', -1), source: 'trust:x', approvedAt: 'x' }] }),
  );
  t.equal(old.corpPem, '', 'an expired corporate CA is dropped');
  t.equal(old.manifest.counts.corporate, 0);
  t.ok(old.manifest.dropped.some((d) => d.subject === 'CN=Old Corp' && d.reason === 'expired'));

  const none = buildBundle(input({ corporate: [] }));
  t.equal(none.corpPem, '');
  t.equal(none.manifest.counts.total, 3);
});

t.test('comment lines cannot be forged by certificate names', async (t) => {
  const nasty = makeCa({
    cn: 'Evil\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----',
    keys,
  }).certPem;
  const noCn = forge.pki.createCertificate();
  noCn.publicKey = keys.publicKey;
  noCn.serialNumber = '07';
  noCn.validity.notBefore = new Date(Date.now() - 86_400_000);
  noCn.validity.notAfter = new Date(Date.now() + 86_400_000);
  noCn.setSubject([{ name: 'organizationName', value: 'Only O' }]);
  noCn.setIssuer([{ name: 'organizationName', value: 'Only O' }]);
  noCn.sign(keys.privateKey, forge.md.sha256.create());
  const b = buildBundle({
    baseRoots: [{ pem: `${nasty}${forge.pki.certificateToPem(noCn)}`, source: 'odd\nsource' }],
    corporate: [],
    now,
  });
  const comments = b.pem.split('\n').filter((l) => l.startsWith('#'));
  t.equal(comments.length, 2);
  t.ok(
    comments.every((l) => COMMENT.test(l)),
    'every comment keeps the format',
  );
  t.equal(parsePem(b.pem).certs.length, 2);
  t.equal(parsePem(b.pem).bad, 0);
  t.ok(
    comments.some((l) => l.startsWith('# O=Only O ')),
    'no CN: the subject names it',
  );
});
