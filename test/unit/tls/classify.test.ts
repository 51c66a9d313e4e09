import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import {
  caCandidate,
  classify,
  type ClassifyInput,
  type Classification,
} from '../../../src/tls/classify.js';
import { makeCa, makeIntermediate, makeLeaf, type Issued } from '../../support/pki.js';
import { originLeaf, sctExtension, sctListBytes, fakeScts } from '../../support/tls-origin.js';
import { EC_HOST, makeEcChain, skipWithoutOpenssl } from '../../fixtures/chains/ec-chain.js';

const HOST = 'proxy.example.test';
const x = (i: Issued | string): X509Certificate =>
  new X509Certificate(typeof i === 'string' ? i : i.certPem);
const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });

// A "public" PKI (its root is passed as a public root) and an interception PKI.
const pubRoot = makeCa({ cn: 'Public Test Root', org: 'Public CA' });
const pubInt = makeIntermediate(pubRoot, { cn: 'Public Test Issuing', org: 'Public CA' });
const pubLeafSct = originLeaf(pubInt, [HOST], 2, keys);
const pubLeafNoSct = makeLeaf(pubInt, [HOST], { keys });
const corpRoot = makeCa({ cn: 'Zscaler Root CA', org: 'Zscaler Inc.' });
const corpInt = makeIntermediate(corpRoot, {
  cn: 'Zscaler Intermediate Root CA',
  org: 'Zscaler Inc.',
});
const corpLeaf = makeLeaf(corpInt, [HOST], { keys });
const corpLeafByRoot = makeLeaf(corpRoot, [HOST], { keys });
const plainRoot = makeCa({ cn: 'Example Inspection CA', org: 'Example Corp', keys });
const plainLeaf = makeLeaf(plainRoot, [HOST], { keys });

const base = (over: Partial<ClassifyInput>): ClassifyInput => ({
  host: HOST,
  chain: [],
  authorized: false,
  publicRoots: [x(pubRoot)],
  ...over,
});

/** Every reason is one line that starts with the host: the problems found, if any. */
function reasonProblems(c: Classification): string[] {
  const problems: string[] = [];
  if (c.reason.includes('\n')) problems.push('reason spans lines');
  if (!c.reason.startsWith(`${HOST}: `)) problems.push('reason does not start with the host');
  return problems;
}

t.test('clean and suspicious chains anchored in public roots', async (t) => {
  const clean = classify(base({ chain: [x(pubLeafSct), x(pubInt)], authorized: true }));
  t.equal(clean.verdict, 'clean');
  t.same(clean.evidence, {
    publicRootVerify: 'ok',
    sanMatch: true,
    sctCount: 2,
    hints: ['intermediates sent, root not sent'],
  });
  t.equal(clean.vendor, undefined);
  t.equal(clean.ca, undefined, 'no CA to offer for a clean chain');
  t.equal(clean.chain.length, 2);
  t.equal(clean.chain[0]?.subjectCN, HOST);
  t.same(reasonProblems(clean), []);

  const noSct = classify(base({ chain: [x(pubLeafNoSct), x(pubInt)], authorized: true }));
  t.equal(noSct.verdict, 'suspicious');
  t.equal(noSct.evidence.sctCount, null);
  t.equal(noSct.ca?.sha256, x(pubInt).fingerprint256);
  t.match(noSct.reason, /no embedded SCTs.*extraPublicRoots/);

  const privRoot = makeCa({ cn: 'Private Git Root' });
  const privLeaf = makeLeaf(privRoot, [HOST], { keys });
  const priv = classify(
    base({ chain: [x(privLeaf)], authorized: true, extraPublicRoots: [x(privRoot)] }),
  );
  t.equal(priv.verdict, 'clean', 'private PKI declared in probe.extraPublicRoots');
  t.match(priv.reason, /private PKI/);
  const privWithRoot = classify(
    base({ chain: [x(privLeaf), x(privRoot)], authorized: true, extraPublicRoots: [x(privRoot)] }),
  );
  t.equal(privWithRoot.verdict, 'clean', 'root on the wire too');
  const otherExtra = classify(
    base({ chain: [x(privLeaf)], authorized: true, extraPublicRoots: [x(plainRoot)] }),
  );
  t.equal(otherExtra.verdict, 'suspicious', 'an unrelated extra root anchors nothing');
});

t.test('intercepted, for every chain shape', async (t) => {
  const shapes: Array<[string, X509Certificate[], string, string | undefined, string]> = [
    [
      'leaf + intermediate',
      [x(corpLeaf), x(corpInt)],
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      x(corpInt).fingerprint256,
      'intermediates sent, root not sent',
    ],
    [
      'leaf + intermediate + root',
      [x(corpLeaf), x(corpInt), x(corpRoot)],
      'SELF_SIGNED_CERT_IN_CHAIN',
      x(corpRoot).fingerprint256,
      'the root was sent on the wire',
    ],
    [
      'leaf + root',
      [x(corpLeafByRoot), x(corpRoot)],
      'SELF_SIGNED_CERT_IN_CHAIN',
      x(corpRoot).fingerprint256,
      'the root was sent on the wire',
    ],
    [
      'leaf only',
      [x(corpLeaf)],
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      undefined,
      'only the leaf was sent',
    ],
  ];
  for (const [name, chain, code, caFp, hint] of shapes) {
    const c = classify(base({ chain, authorizationError: code }));
    t.equal(c.verdict, 'intercepted', name);
    t.equal(c.vendor, 'Zscaler', `${name}: vendor label`);
    t.equal(c.ca?.sha256, caFp, `${name}: CA candidate`);
    t.same(c.evidence.hints, [hint], `${name}: hint`);
    t.equal(c.evidence.publicRootVerify, code);
    t.equal(c.evidence.sanMatch, true);
    t.match(c.reason, /intercepted.*Zscaler.*corproxy trust proxy\.example\.test/);
    t.same(reasonProblems(c), []);
  }
  const leafOnly = classify(
    base({ chain: [x(corpLeaf)], authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
  );
  t.same(leafOnly.ca, {
    subject: 'CN=Zscaler Intermediate Root CA, O=Zscaler Inc.',
    nameOnly: true,
  });

  const unlabelled = classify(
    base({ chain: [x(plainLeaf)], authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
  );
  t.equal(unlabelled.verdict, 'intercepted');
  t.equal(unlabelled.vendor, undefined);
  t.match(unlabelled.reason, /"CN=Example Inspection CA, O=Example Corp"/);
});

t.test('mitmproxy style: the leaf reuses the CA key', async (t) => {
  const mitm = makeCa({ cn: 'mitmproxy', org: 'mitmproxy', keys });
  const leaf = makeLeaf(mitm, [HOST], { keys });
  const c = classify(
    base({ chain: [x(leaf)], authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
  );
  t.equal(c.verdict, 'intercepted');
  t.equal(c.vendor, 'mitmproxy');
  t.match(c.evidence.hints.join(' | '), /signed with its own key/);
  const withCa = classify(
    base({ chain: [x(leaf), x(mitm)], authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN' }),
  );
  t.equal(withCa.ca?.sha256, x(mitm).fingerprint256);
});

t.test('upstream certificate errors are never offered for trust', async (t) => {
  const trap = makeCa({ cn: 'Not trusted by "Zscaler Root CA"', keys });
  const trapLeaf = makeLeaf(trap, [HOST], { keys });
  const resign = classify(
    base({ chain: [x(trapLeaf), x(trap)], authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN' }),
  );
  t.equal(resign.verdict, 'upstream-cert-error');
  t.match(resign.reason, /"untrusted" CA.*never trust/);

  const expiredLeaf = makeLeaf(corpInt, [HOST], { keys, days: -2 });
  const expired = classify(
    base({
      chain: [x(expiredLeaf), x(corpInt)],
      authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    }),
  );
  t.equal(expired.verdict, 'upstream-cert-error', 'an expired leaf cannot be fixed by trust');
  t.match(expired.reason, /validity period/);
  const later = classify(
    base({
      chain: [x(pubLeafSct), x(pubInt)],
      authorized: true,
      now: new Date(Date.now() + 400 * 86_400_000),
    }),
  );
  t.equal(later.verdict, 'upstream-cert-error', 'the injected clock decides');

  const chainExpired = classify(
    base({ chain: [x(corpLeaf), x(corpInt)], authorizationError: 'CERT_HAS_EXPIRED' }),
  );
  t.equal(chainExpired.verdict, 'upstream-cert-error');
  t.match(chainExpired.reason, /CERT_HAS_EXPIRED/);

  const otherHost = makeLeaf(corpInt, ['elsewhere.example.test'], { keys });
  const mismatch = classify(
    base({
      chain: [x(otherHost), x(corpInt)],
      authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    }),
  );
  t.equal(mismatch.verdict, 'upstream-cert-error');
  t.equal(mismatch.evidence.sanMatch, false);
  t.match(mismatch.reason, /subjectAltName \(Go ignores the CN\)/);
  const publicMismatch = makeLeaf(pubInt, ['elsewhere.example.test'], {
    keys,
    extensions: [sctExtension(sctListBytes(fakeScts(1)))],
  });
  t.equal(
    classify(base({ chain: [x(publicMismatch), x(pubInt)], authorized: true })).verdict,
    'upstream-cert-error',
  );

  const rejected = classify(
    base({ chain: [x(corpLeaf), x(corpInt)], authorizationError: 'CERT_SIGNATURE_FAILURE' }),
  );
  t.equal(rejected.verdict, 'upstream-cert-error');
  t.match(rejected.reason, /CERT_SIGNATURE_FAILURE/);
  const noCode = classify(base({ chain: [x(corpLeaf)] }));
  t.equal(noCode.evidence.publicRootVerify, 'UNKNOWN');
  t.equal(noCode.verdict, 'upstream-cert-error');
});

t.test('an unknown issuer with SCTs is suspicious, not intercepted', async (t) => {
  const c = classify(
    base({
      chain: [x(pubLeafSct)],
      publicRoots: [],
      authorizationError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    }),
  );
  t.equal(c.verdict, 'suspicious');
  t.equal(c.evidence.sctCount, 2);
  t.match(c.reason, /incomplete chain/);
});

t.test('a 200 CONNECT status with a clean chain stays clean', async (t) => {
  const c = classify(
    base({ connectStatus: 200, chain: [x(pubLeafSct), x(pubInt)], authorized: true }),
  );
  t.equal(c.verdict, 'clean');
});

t.test('caCandidate skips public roots Node appended', async (t) => {
  const completed = [x(pubLeafNoSct), x(pubInt), x(pubRoot)];
  t.equal(caCandidate(completed, [x(pubRoot)]).sha256, x(pubInt).fingerprint256);
  t.equal(caCandidate(completed, []).sha256, x(pubRoot).fingerprint256);
});

t.test('an EC chain made with openssl', { skip: skipWithoutOpenssl() }, async (t) => {
  const list = sctListBytes(fakeScts(1));
  const inner = Buffer.concat([Buffer.from([0x04, 0x81, list.length]), list]);
  const ec = makeEcChain((fn) => t.teardown(fn), inner.toString('hex'));
  const ecBase = { host: EC_HOST, publicRoots: [x(pubRoot)] };
  const intercepted = classify({
    ...ecBase,
    chain: [x(ec.leafPem), x(ec.intermediatePem)],
    authorized: false,
    authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  });
  t.equal(intercepted.verdict, 'intercepted');
  t.equal(intercepted.ca?.sha256, x(ec.intermediatePem).fingerprint256);
  t.equal(intercepted.chain[0]?.keyType, 'EC P-256');
  const clean = classify({
    ...ecBase,
    chain: [x(ec.leafWithSctPem), x(ec.intermediatePem)],
    authorized: true,
    publicRoots: [x(ec.rootPem)],
  });
  t.equal(clean.verdict, 'clean');
  t.equal(clean.evidence.sctCount, 1);
});
