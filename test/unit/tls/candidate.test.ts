import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { validateCandidate, type CandidateResult } from '../../../src/tls/candidate.js';
import { makeCa, makeIntermediate, makeLeaf, type Issued } from '../../support/pki.js';
import { EC_HOST, makeEcChain, skipWithoutOpenssl } from '../../fixtures/chains/ec-chain.js';

const HOST = 'proxy.example.test';
const x = (i: Issued | string): X509Certificate =>
  new X509Certificate(typeof i === 'string' ? i : i.certPem);
const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const now = new Date();

const root = makeCa({ cn: 'Corp Inspection Root', org: 'Example Corp' });
const int = makeIntermediate(root, { cn: 'Corp Inspection Issuing', org: 'Example Corp' });
const leaf = makeLeaf(int, [HOST], { keys });
const full = [x(leaf), x(int), x(root)];
const noRoot = [x(leaf), x(int)];
const pubRoot = makeCa({ cn: 'Public Root', keys });

/** `code: message` of a refusal, or 'accepted'. */
function refusal(r: CandidateResult): string {
  return r.ok ? 'accepted' : `${r.error.code}: ${r.error.message}`;
}

/** A self-signed CA built by hand, for extension combinations pki.ts does not make. */
function handmadeCa(cn: string, extensions: object[], serial = '0a'): X509Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.setExtensions(extensions);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return x(forge.pki.certificateToPem(cert));
}

t.test('accepted candidates', async (t) => {
  for (const [name, chain] of [
    ['root on the wire', full],
    ['root not sent', noRoot],
  ] as const) {
    const r = validateCandidate(x(root), chain, [x(pubRoot)], now);
    t.equal(r.ok, true, name);
    if (r.ok) {
      t.equal(r.anchor, 'root');
      t.same(r.warnings, []);
      t.equal(r.cert.sha256, x(root).fingerprint256);
    }
  }
  const viaInt = validateCandidate(x(int), noRoot, [], now);
  t.equal(viaInt.ok, true, 'an intermediate when no root is found');
  if (viaInt.ok) {
    t.equal(viaInt.anchor, 'intermediate');
    t.match(viaInt.warnings.join(' '), /rotates/);
  }
  const leafOnly = validateCandidate(x(root), [x(makeLeaf(root, [HOST], { keys }))], [], now);
  t.equal(leafOnly.ok, true, 'the root of a leaf-only chain (found in a file or the OS store)');
});

t.test('warnings', async (t) => {
  const soon = makeCa({ cn: 'Short Lived Root', days: 10, keys });
  const soonLeaf = makeLeaf(soon, [HOST], { keys });
  const r = validateCandidate(x(soon), [x(soonLeaf)], [], now);
  t.equal(r.ok, true);
  if (r.ok) t.match(r.warnings.join(' '), /expires in (9|10) day/);
  const lax = handmadeCa('Lax Root', [{ name: 'basicConstraints', cA: true }]);
  const laxSigned = handmadeCa('Lax Root', [{ name: 'basicConstraints', cA: true }], '0b');
  const rl = validateCandidate(lax, [laxSigned], [], now);
  t.equal(rl.ok, true, 'no keyUsage at all is allowed (the real Zscaler root has none)');
  if (rl.ok) t.match(rl.warnings.join(' '), /basicConstraints is not critical/);
});

t.test('refused candidates', async (t) => {
  const otherLeaf = makeLeaf(int, ['other.example.test'], { keys });
  const trap = makeCa({ cn: 'Not trusted by "Corp Inspection Root"', keys });
  const trapLeaf = makeLeaf(trap, [HOST], { keys });
  const stranger = makeCa({ cn: 'Unrelated Root', keys });
  const pubInt = makeIntermediate(pubRoot, { cn: 'Public Issuing', keys });
  const expiredRoot = makeCa({ cn: 'Expired Corp Root', days: -1, keys });
  const noCertSign = handmadeCa('Sign-less CA', [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
  ]);
  const cases: Array<[string, X509Certificate, X509Certificate[], RegExp]> = [
    ['the leaf itself', x(leaf), full, /is the server leaf itself/],
    ['another leaf', x(otherLeaf), full, /is not a CA/],
    ['keyUsage without keyCertSign', noCertSign, full, /keyCertSign/],
    ['expired', x(expiredRoot), [x(makeLeaf(expiredRoot, [HOST], { keys }))], /is not valid now/],
    [
      'a public root',
      x(pubRoot),
      [x(makeLeaf(pubRoot, [HOST], { keys }))],
      /already a public root/,
    ],
    [
      'issued by a public root',
      x(pubInt),
      [x(makeLeaf(pubInt, [HOST], { keys })), x(pubInt)],
      /issued by the public root "CN=Public Root"/,
    ],
    ['the untrusted re-sign CA', x(trap), [x(trapLeaf), x(trap)], /untrusted origins/],
    ['a fine CA over an untrusted chain', x(root), [x(trapLeaf), x(trap)], /untrusted origins/],
    ['unrelated', x(stranger), full, /signs no certificate of the observed chain/],
    ['an intermediate below a presented root', x(int), full, /approve the root instead/],
  ];
  for (const [name, candidate, chain, re] of cases) {
    const text = refusal(validateCandidate(candidate, chain, [x(pubRoot)], now));
    t.match(text, /^CPX_ERR_TRUST_REJECTED: /, name);
    t.match(text, re, name);
  }
  const r = validateCandidate(x(stranger), full, [], now);
  t.equal(r.ok, false);
  if (!r.ok) {
    t.match(r.error.message, x(stranger).fingerprint256);
    t.same(r.error.details, { sha256: x(stranger).fingerprint256 });
  }
});

t.test('an EC root made with openssl', { skip: skipWithoutOpenssl() }, async (t) => {
  const ec = makeEcChain((fn) => t.teardown(fn), '0400');
  const chain = [x(ec.leafPem), x(ec.intermediatePem)];
  // openssl stamps notBefore with the minting second: judge at a later instant.
  const r = validateCandidate(x(ec.rootPem), chain, [x(pubRoot)], new Date(Date.now() + 1000));
  t.equal(r.ok, true);
  if (r.ok) t.equal(r.cert.keyType, 'EC P-384');
  t.ok(chain[0]?.checkHost(EC_HOST));
});
