import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import {
  describe,
  dnAttr,
  hostMatches,
  isSelfSigned,
  isValidAt,
  oneLineDn,
  orderChain,
  parseDn,
  parsePem,
  splitPem,
  toPem,
  verifiesIssued,
} from '../../../src/tls/chain.js';
import { makeCa, makeIntermediate, makeLeaf, type Issued } from '../../support/pki.js';
import {
  EC_HOST,
  makeEcChain,
  makeEd25519Cert,
  skipWithoutOpenssl,
} from '../../fixtures/chains/ec-chain.js';

const x = (i: Issued | string): X509Certificate =>
  new X509Certificate(typeof i === 'string' ? i : i.certPem);
const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const root = makeCa({ cn: 'Chain Root', org: 'Chain Org' });
const int = makeIntermediate(root, { cn: 'Chain Issuing' });
const leaf = makeLeaf(int, ['a.example.test', '*.wild.example.test', '127.0.0.1', '::1'], {
  keys,
});

t.test('DN strings as Node prints them', async (t) => {
  const odd = makeCa({ cn: 'Not trusted by "Corp, Root"', org: 'A+B; <x>', keys });
  const cert = x(odd);
  t.equal(dnAttr(cert.subject, 'CN'), 'Not trusted by "Corp, Root"');
  t.equal(dnAttr(cert.subject, 'o'), 'A+B; <x>', 'key is case-insensitive');
  t.equal(dnAttr(cert.subject, 'OU'), undefined);
  t.same(parseDn('CN=a\\0Ab\nbroken line\nO=x'), [
    ['CN', 'a\nb'],
    ['O', 'x'],
  ]);
  t.equal(oneLineDn('CN=a\nO=b\n'), 'CN=a, O=b');
});

t.test('describe', async (t) => {
  const r = describe(x(root));
  t.equal(r.subject, 'CN=Chain Root, O=Chain Org');
  t.equal(r.issuer, r.subject);
  t.equal(r.subjectCN, 'Chain Root');
  t.match(r.sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  t.equal(r.sha256, x(root).fingerprint256);
  t.equal(r.keyType, 'RSA 2048');
  t.equal(r.isCa, true);
  t.equal(r.selfSigned, true);
  t.ok(Date.parse(r.notBefore) < Date.now() && Date.parse(r.notAfter) > Date.now());
  t.match(r.notAfter, /^\d{4}-\d\d-\d\dT/);
  const l = describe(x(leaf));
  t.equal(l.isCa, false);
  t.equal(l.selfSigned, false);
  t.equal(l.issuer, 'CN=Chain Issuing');
});

t.test('verifiesIssued checks the signature, not just the names', async (t) => {
  t.equal(verifiesIssued(x(leaf), x(int)), true);
  t.equal(verifiesIssued(x(int), x(root)), true);
  t.equal(verifiesIssued(x(leaf), x(root)), false, 'wrong issuer name');
  const raw = Buffer.from(x(leaf).raw);
  raw.writeUInt8((raw.at(-1) ?? 0) ^ 0xff, raw.length - 1); // corrupt the signature only
  const tampered = new X509Certificate(raw);
  t.equal(tampered.checkIssued(x(int)), true, 'names alone would match');
  t.equal(verifiesIssued(tampered, x(int)), false, 'signature does not');
  const impostor = makeCa({ cn: 'Chain Issuing', keys });
  t.equal(verifiesIssued(x(leaf), x(impostor)), false, 'same name, other key');
  t.equal(isSelfSigned(x(root)), true);
  t.equal(isSelfSigned(x(int)), false);
});

t.test('a leaf signed with its own (the CA) key is not self-signed', async (t) => {
  const mitmCa = makeCa({ cn: 'mitmproxy', org: 'mitmproxy' });
  const mitmLeaf = makeLeaf(mitmCa, ['m.example.test'], {
    keys: { publicKey: mitmCa.cert.publicKey as forge.pki.rsa.PublicKey, privateKey: mitmCa.key },
  });
  t.equal(x(mitmLeaf).verify(x(mitmLeaf).publicKey), true);
  t.equal(isSelfSigned(x(mitmLeaf)), false);
  t.same(
    orderChain([x(mitmLeaf), x(mitmCa)]).map((c) => c.subject),
    ['CN=m.example.test', 'CN=mitmproxy\nO=mitmproxy'],
  );
});

t.test('orderChain', async (t) => {
  const [l, i, r] = [x(leaf), x(int), x(root)];
  const fps = (cs: X509Certificate[]): string[] => cs.map((c) => c.fingerprint256);
  t.same(fps(orderChain([l, i, r])), fps([l, i, r]), 'presented order kept');
  t.same(fps(orderChain([r, l, i])), fps([l, i, r]), 'shuffled order fixed');
  t.same(fps(orderChain([l, i, i, r, l])), fps([l, i, r]), 'duplicates dropped');
  const stranger = x(makeCa({ cn: 'Unrelated', keys }));
  t.same(fps(orderChain([l, stranger, i])), fps([l, i]), 'unrelated cert dropped');
  t.same(orderChain([]), []);
  t.same(fps(orderChain([l])), fps([l]));
});

t.test('orderChain stops on a cross-signing cycle', async (t) => {
  const kx = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const ky = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const rx = makeCa({ cn: 'X', keys: kx });
  const ry = makeCa({ cn: 'Y', keys: ky });
  const xByY = makeIntermediate(ry, { cn: 'X', keys: kx });
  const yByX = makeIntermediate(rx, { cn: 'Y', keys: ky });
  const l = makeLeaf(xByY, ['cycle.example.test'], { keys });
  const ordered = orderChain([x(l), x(xByY), x(yByX)]);
  t.same(
    ordered.map((c) => c.subject),
    ['CN=cycle.example.test', 'CN=X', 'CN=Y'],
  );
  const noLeaf = orderChain([x(xByY), x(yByX)]);
  t.equal(noLeaf.length, 2, 'a pure cycle still terminates');
});

t.test('hostMatches is SAN-only, like Go', async (t) => {
  const l = x(leaf);
  t.equal(hostMatches(l, 'a.example.test'), true);
  t.equal(hostMatches(l, 'A.Example.Test.'), true, 'case and trailing dot');
  t.equal(hostMatches(l, 'x.wild.example.test'), true, 'wildcard');
  t.equal(hostMatches(l, 'x.y.wild.example.test'), false, 'wildcard covers one label');
  t.equal(hostMatches(l, 'b.example.test'), false);
  t.equal(hostMatches(l, '127.0.0.1'), true, 'IP SAN');
  t.equal(hostMatches(l, '[::1]'), true, 'bracketed IPv6');
  t.equal(hostMatches(l, '10.0.0.1'), false);
  t.equal(hostMatches(l, ''), false);
  const cnOnly = forge.pki.createCertificate();
  cnOnly.publicKey = keys.publicKey;
  cnOnly.serialNumber = '05';
  cnOnly.validity.notBefore = new Date(Date.now() - 86_400_000);
  cnOnly.validity.notAfter = new Date(Date.now() + 86_400_000);
  cnOnly.setSubject([{ name: 'commonName', value: 'cn-only.example.test' }]);
  cnOnly.setIssuer([{ name: 'commonName', value: 'cn-only.example.test' }]);
  cnOnly.sign(keys.privateKey, forge.md.sha256.create());
  const c = x(forge.pki.certificateToPem(cnOnly));
  t.ok(c.checkHost('cn-only.example.test'), "Node's default would accept the CN");
  t.equal(hostMatches(c, 'cn-only.example.test'), false, 'Go ignores the CN');
});

t.test('validity', async (t) => {
  const expired = x(makeLeaf(int, ['old.example.test'], { keys, days: -1 }));
  t.equal(isValidAt(expired, new Date()), false);
  t.equal(isValidAt(x(leaf), new Date()), true);
  t.equal(isValidAt(x(leaf), new Date(Date.now() - 3 * 86_400_000)), false, 'not yet valid');
});

t.test('PEM helpers', async (t) => {
  const text = `junk\n${root.certPem}# comment\n${int.certPem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
  t.equal(splitPem(text).length, 3);
  const { certs, bad } = parsePem(text);
  t.equal(certs.length, 2);
  t.equal(bad, 1);
  const again = new X509Certificate(toPem(x(root)));
  t.equal(again.fingerprint256, x(root).fingerprint256);
  t.ok(
    toPem(x(root))
      .split('\n')
      .every((line) => line.length <= 64),
  );
  t.same(splitPem('nothing here'), []);
});

t.test('an EC chain made with openssl', { skip: skipWithoutOpenssl() }, async (t) => {
  const ec = makeEcChain((fn) => t.teardown(fn), '0400');
  const [l, i, r] = [x(ec.leafPem), x(ec.intermediatePem), x(ec.rootPem)];
  t.equal(describe(r).keyType, 'EC P-384');
  t.equal(describe(l).keyType, 'EC P-256');
  t.equal(describe(r).selfSigned, true);
  t.equal(verifiesIssued(l, i), true);
  t.equal(verifiesIssued(i, r), true);
  t.same(
    orderChain([r, l, i]).map((c) => c.fingerprint256),
    [l, i, r].map((c) => c.fingerprint256),
  );
  t.equal(hostMatches(l, EC_HOST), true);
  t.equal(hostMatches(l, 'other.example.test'), false);
});

t.test('an Ed25519 certificate made with openssl', { skip: skipWithoutOpenssl() }, async (t) => {
  const ed = x(makeEd25519Cert((fn) => t.teardown(fn)));
  t.equal(describe(ed).keyType, 'Ed25519');
  t.equal(describe(ed).selfSigned, true);
});
