/** Layer 6: the verdict, and whether the roots Go (or the mirror) uses anchor the chain. */
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import type { ApprovedCa } from '../../../src/doctor/env-certs.js';
import type { GoRoots } from '../../../src/doctor/go-roots.js';
import { goAnchor, tlsCheck, tlsSkipped, type TlsInput } from '../../../src/doctor/layer-tls.js';
import { describe } from '../../../src/tls/chain.js';
import type { Verdict } from '../../../src/tls/classify.js';
import type { RoutedProbe } from '../../../src/tls/route-probe.js';
import { makeCa, makeIntermediate, makeLeaf } from '../../support/pki.js';

const x = (pem: string) => new X509Certificate(pem);
const pubRoot = makeCa({ cn: 'Public Root' });
const pubInt = makeIntermediate(pubRoot, { cn: 'Public Issuing' });
const corpRoot = makeCa({ cn: 'Corp Root', org: 'Example Corp' });
const clean = [x(makeLeaf(pubInt, ['a.test']).certPem), x(pubInt.certPem)];
const intercepted = [x(makeLeaf(corpRoot, ['a.test']).certPem), x(corpRoot.certPem)];
const corpFp = x(corpRoot.certPem).fingerprint256;

const roots = (...certs: X509Certificate[]): GoRoots => ({
  platform: 'linux',
  file: { path: '/r.pem', from: 'SSL_CERT_FILE', certs, bad: 0 },
  dirs: [],
  certs,
  approximated: false,
});

function probe(verdict: Verdict, chain: X509Certificate[], extra: object = {}): RoutedProbe {
  const top = chain.at(-1);
  return {
    probe: {
      host: 'a.test',
      port: 443,
      chain,
      completedFromStore: [],
      authorized: verdict === 'clean',
      durationMs: 3,
      tlsVersion: 'TLSv1.3',
    },
    classification: {
      verdict,
      reason: `a.test: ${verdict}`,
      chain: chain.map(describe),
      evidence: { publicRootVerify: 'x', sanMatch: true, sctCount: null, hints: [] },
      ...(verdict === 'intercepted' && top ? { ca: describe(top), vendor: 'Example' } : {}),
      ...extra,
    },
    route: {
      kind: 'upstream',
      rule: 'default: upstream list',
      upstream: 'http://p:1',
      upstreamId: 'p:1',
    },
  } as RoutedProbe;
}

const input = (p: RoutedProbe, r: GoRoots, over: Partial<TlsInput> = {}): TlsInput => ({
  label: 'a.test:443',
  whose: 'Go',
  probe: p,
  roots: r,
  approved: [] as ApprovedCa[],
  bundle: { path: '/s/ca-bundle.pem', present: true },
  ...over,
});

t.test('anchors: a root in the pool, or a root that issued a chain certificate', async (t) => {
  t.equal(goAnchor(clean, [x(pubRoot.certPem)])?.fingerprint256, x(pubRoot.certPem).fingerprint256);
  t.equal(goAnchor(intercepted, [x(corpRoot.certPem)])?.fingerprint256, corpFp);
  t.equal(
    goAnchor(clean, [x(pubInt.certPem)])?.fingerprint256,
    x(pubInt.certPem).fingerprint256,
    'an intermediate in the pool anchors too',
  );
  t.equal(goAnchor(intercepted, [x(pubRoot.certPem)]), undefined);
});

t.test('clean and intercepted chains Go can verify pass', async (t) => {
  t.match(tlsCheck(input(probe('clean', clean), roots(x(pubRoot.certPem)))), {
    status: 'pass',
    summary: "clean; Go's roots verify the chain",
    evidence: [
      /route: upstream http:\/\/p:1/,
      /verdict: clean/,
      /chain\[0\]: CN=a\.test/,
      /chain\[1\]/,
      'TLSv1.3',
      /Go's roots: SSL_CERT_FILE=\/r\.pem, 1 certificate/,
      /anchored by CN=Public Root/,
    ],
  });
  t.match(tlsCheck(input(probe('intercepted', intercepted), roots(x(corpRoot.certPem)))), {
    status: 'pass',
    summary: /^intercepted by CN=Corp Root, O=Example Corp \(Example\)/,
  });
  t.match(tlsCheck(input(probe('suspicious', clean), roots(x(pubRoot.certPem)))), {
    status: 'warn',
  });
});

t.test('not anchored: the fix depends on what is known', async (t) => {
  const p = probe('intercepted', intercepted);
  const fresh = tlsCheck(input(p, roots(x(pubRoot.certPem))));
  t.match(fresh, {
    status: 'fail',
    summary: /Go's roots do not hold it: x509: certificate signed by unknown authority$/,
    commands: ['corproxy trust a.test:443', "export SSL_CERT_FILE='/s/ca-bundle.pem'"],
  });
  const known = tlsCheck(input(p, roots(x(pubRoot.certPem)), { approved: [{ sha256: corpFp }] }));
  t.match(known, {
    fix: /the CA is approved/,
    commands: ["export SSL_CERT_FILE='/s/ca-bundle.pem'"],
  });
  const lacking = tlsCheck(
    input(probe('clean', clean), roots(x(corpRoot.certPem)), {
      bundle: { path: '/b', present: false },
    }),
  );
  t.match(lacking, {
    status: 'fail',
    summary: /clean chain, but Go's roots lack its public root/,
    commands: ['unset SSL_CERT_FILE'],
  });
  const mirror = tlsCheck(input(p, roots(), { whose: 'the mirror' }));
  t.match(mirror, {
    summary: /^the mirror's roots do not hold the CA of this intercepted chain \(CN=Corp Root/,
    commands: ['corproxy trust a.test:443'],
  });
});

t.test('probe failures, blocks and gateway certificate errors', async (t) => {
  const failed = probe('probe-failed', []);
  const withError = {
    ...failed,
    probe: { ...failed.probe, handshakeError: { code: 'ECONNRESET', message: 'reset' } },
  };
  t.match(tlsCheck(input(withError, roots())), {
    status: 'fail',
    code: 'CPX_ERR_TLS_PROBE',
    evidence: [/./, /./, /./, /./, 'ECONNRESET: reset'],
  });
  t.match(tlsCheck(input(probe('blocked', []), roots())), {
    status: 'fail',
    fix: /blocks this host/,
  });
  t.match(tlsCheck(input(probe('upstream-cert-error', clean), roots(x(pubRoot.certPem)))), {
    status: 'fail',
    fix: /do not trust this chain/,
  });
  t.match(tlsSkipped('a.test:443', 'CONNECT failed'), { status: 'skip', layer: 'tls' });
});
