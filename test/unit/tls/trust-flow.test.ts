import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Classification, Verdict } from '../../../src/tls/classify.js';
import {
  bundlePaths,
  bundleStatus,
  parseManifest,
  readCorporate,
} from '../../../src/tls/bundle-files.js';
import {
  approveCandidates,
  findCandidates,
  nextCorporate,
  normalizeFingerprint,
  type ApprovalOptions,
  type Candidate,
  type CandidateInput,
  type Observation,
  type SourcedCert,
} from '../../../src/tls/trust-flow.js';
import { makeCa, makeIntermediate, makeLeaf, type Issued } from '../../support/pki.js';

const HOST = 'proxy.golang.org';
const x = (i: Issued): X509Certificate => new X509Certificate(i.certPem);
const leafKeys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const now = new Date();

const root = makeCa({ cn: 'Corp Inspection Root CA', org: 'Example Corp' });
const int = makeIntermediate(root, { cn: 'Corp Inspection Issuing', org: 'Example Corp' });
const leaf = makeLeaf(int, [HOST], { keys: leafKeys });
const leafByRoot = makeLeaf(root, [HOST], { keys: leafKeys });
/** Same subject as `root`, other key: a name match that must not count. */
const lookalike = makeCa({ cn: 'Corp Inspection Root CA', org: 'Example Corp' });
const publicRoot = makeCa({ cn: 'Public Test Root' });
const unrelated = makeCa({ cn: 'Some Other CA' });

function classification(verdict: Verdict, vendor?: string): Classification {
  return {
    verdict,
    reason: `${verdict}: test reason`,
    chain: [],
    ...(vendor ? { vendor } : {}),
    evidence: { publicRootVerify: 'x', sanMatch: true, sctCount: null, hints: [] },
  };
}

function obs(chain: Issued[], host = `${HOST}:443`, verdict: Verdict = 'intercepted'): Observation {
  return { host, chain: chain.map(x), classification: classification(verdict, 'Example') };
}

const src = (i: Issued, source: string): SourcedCert => ({ cert: x(i), source });

function input(over: Partial<CandidateInput>): CandidateInput {
  return {
    observations: [],
    userCerts: [],
    systemCerts: [],
    publicRoots: [x(publicRoot)],
    now,
    ...over,
  };
}

const fp = (i: Issued): string => x(i).fingerprint256;
const refusal = (c: Candidate | undefined): string =>
  c === undefined ? 'none' : c.result.ok ? 'accepted' : c.result.error.message;

t.test('the root on the wire', async (t) => {
  const r = await findCandidates(
    input({ observations: [obs([leaf, int, root]), obs([leaf, int, root], 'sum.golang.org:443')] }),
  );
  t.equal(r.candidates.length, 1, 'one CA for both hosts');
  const c = r.candidates[0];
  t.equal(c?.cert.fingerprint256, fp(root));
  t.equal(c?.source, `wire:${HOST}:443`);
  t.same(c?.hosts, [`${HOST}:443`, 'sum.golang.org:443']);
  t.equal(c?.vendor, 'Example');
  t.match(c?.result, { ok: true, anchor: 'root' });
  t.same(c?.notes, []);
  t.same(r.refusals, []);
});

t.test('the root from the OS bundle, found by signature', async (t) => {
  const r = await findCandidates(
    input({
      observations: [obs([leaf, int])],
      systemCerts: [src(lookalike, 'system:/etc/ssl/ca.crt'), src(root, 'system:/etc/ssl/ca.crt')],
    }),
  );
  const c = r.candidates[0];
  t.equal(c?.cert.fingerprint256, fp(root), 'the look-alike with the same name is skipped');
  t.equal(c?.source, 'system:/etc/ssl/ca.crt');
  t.match(c?.notes.join(' '), /already in the OS bundle/);
});

t.test('only an intermediate: trusted as an anchor, and said so', async (t) => {
  const r = await findCandidates(input({ observations: [obs([leaf, int])] }));
  const c = r.candidates[0];
  t.equal(c?.cert.fingerprint256, fp(int));
  t.match(c?.result, { ok: true, anchor: 'intermediate' });
  t.match(c?.notes.join(' '), /Go accepts an intermediate as a trust anchor/);
});

t.test('leaf only: the issuer must be found, by signature, not by name', async (t) => {
  const none = await findCandidates(
    input({
      observations: [obs([leafByRoot])],
      systemCerts: [src(lookalike, 'system:/etc/ssl/ca.crt')],
    }),
  );
  t.same(none.candidates, []);
  t.match(
    none.skipped[0],
    /only the leaf was sent and its issuer "CN=Corp Inspection Root CA, O=Example Corp" is in neither \/etc\/ssl\/ca\.crt nor the --ca files/,
  );
  t.match(none.skipped[0], /--ca FILE/);

  const asked: string[] = [];
  const viaAia = await findCandidates(
    input({
      observations: [obs([leafByRoot])],
      fetchIssuer: async (cert) => {
        asked.push(cert.fingerprint256);
        return [src(unrelated, 'aia:http://x/bad.crt'), src(root, 'aia:http://x/root.crt')];
      },
    }),
  );
  t.same(asked, [fp(leafByRoot)], 'AIA is asked for the issuer of the top certificate');
  const c = viaAia.candidates[0];
  t.equal(c?.cert.fingerprint256, fp(root), 'the unrelated answer is not used');
  t.equal(c?.source, 'aia:http://x/root.crt');
  t.match(c?.notes.join(' '), /a download proves nothing/);
  t.match(c?.result, { ok: true }, 'still only a candidate: approval is separate');
});

t.test('hosts that are not intercepted offer nothing', async (t) => {
  const r = await findCandidates(
    input({
      observations: [
        obs([leaf, int, root], 'a:443', 'clean'),
        obs([leaf, int, root], 'b:443', 'upstream-cert-error'),
      ],
      userCerts: [src(root, 'file:/srv/root.pem')],
    }),
  );
  t.same(r.candidates, []);
  t.same(r.refusals, [], 'no chain to check a --ca file against: no refusal either');
  t.match(r.skipped, ['a:443: clean: clean: test reason', /^b:443: upstream-cert-error/]);
});

t.test('--ca files: accepted when they anchor the chain', async (t) => {
  const r = await findCandidates(
    input({ observations: [obs([leafByRoot])], userCerts: [src(root, 'file:/srv/root.pem')] }),
  );
  t.equal(r.candidates.length, 1);
  t.equal(r.candidates[0]?.source, 'file:/srv/root.pem');
  t.match(r.candidates[0]?.result, { ok: true, anchor: 'root' });

  const onlyNamed = await findCandidates(
    input({ observations: [obs([leaf, int, root])], userCerts: [src(root, 'file:/srv/r.pem')] }),
  );
  t.equal(onlyNamed.candidates[0]?.cert.fingerprint256, fp(root), 'the same root on the wire');
});

t.test('every rejection rule', async (t) => {
  const expired = makeCa({ cn: 'Old Corp Root', days: -1 });
  const untrusted = makeCa({ cn: 'Not trusted by "Corp Inspection Root CA"' });
  const otherLeaf = makeLeaf(root, ['other.test'], { keys: leafKeys });
  const cases: Array<[string, Observation, Issued, RegExp]> = [
    ['the server leaf', obs([leafByRoot]), leafByRoot, /is the server leaf itself/],
    ['another leaf', obs([leafByRoot]), otherLeaf, /is not a CA/],
    ['an unrelated CA', obs([leafByRoot]), unrelated, /signs no certificate of the observed chain/],
    ['a public root', obs([leafByRoot]), publicRoot, /is already a public root/],
    [
      'an intermediate under a root on the wire',
      obs([leaf, int, root]),
      int,
      /approve the root instead/,
    ],
  ];
  for (const [name, o, ca, why] of cases) {
    const r = await findCandidates(input({ observations: [o], userCerts: [src(ca, 'file:/f')] }));
    t.same(r.candidates, [], `${name}: not offered`);
    t.equal(r.refusals[0]?.code, 'CPX_ERR_TRUST_REJECTED', name);
    t.match(r.refusals[0]?.message, why, name);
    t.match(r.refusals[0]?.message, fp(ca), `${name}: the message names the fingerprint`);
  }
  const stale = await findCandidates(
    input({
      observations: [obs([makeLeaf(expired, [HOST], { keys: leafKeys })])],
      userCerts: [src(expired, 'file:/old.pem')],
    }),
  );
  t.match(refusal(stale.candidates[0]), /is not valid now/, 'an expired root is refused');
  const resigned = await findCandidates(
    input({
      observations: [obs([makeLeaf(untrusted, [HOST], { keys: leafKeys })])],
      userCerts: [src(untrusted, 'file:/u.pem')],
    }),
  );
  t.match(refusal(resigned.candidates[0]), /untrusted origins/, "the gateway's untrusted CA");
  const wireUntrusted = await findCandidates(
    input({ observations: [obs([makeLeaf(untrusted, [HOST], { keys: leafKeys }), untrusted])] }),
  );
  t.match(refusal(wireUntrusted.candidates[0]), /untrusted origins/, 'also when sent on the wire');
  const pub = await findCandidates(
    input({ observations: [obs([leaf, int, root])], publicRoots: [x(root)] }),
  );
  t.match(refusal(pub.candidates[0]), /already a public root/, 'a chain anchored in a public root');
});

const options = (over: Partial<ApprovalOptions> = {}): ApprovalOptions => ({
  fingerprints: [],
  preApproved: [],
  yes: false,
  interactive: false,
  alreadyApproved: new Set(),
  ...over,
});

function io(answers: boolean[] = []) {
  const shown: string[] = [];
  const printed: string[] = [];
  const questions: string[] = [];
  return {
    shown,
    printed,
    questions,
    show: (c: Candidate) => void shown.push(c.cert.fingerprint256),
    print: (l: string) => void printed.push(l),
    confirm: async (q: string) => {
      questions.push(q);
      return answers.shift() ?? false;
    },
  };
}

t.test('approval: who may approve', async (t) => {
  const { candidates } = await findCandidates(
    input({ observations: [obs([leaf, int, root]), obs([leafByRoot, lookalike], 'x:443')] }),
  );
  const [good] = candidates;
  const rootFp = fp(root);

  await t.rejects(approveCandidates(candidates, options({ yes: true }), io()), {
    code: 'CPX_ERR_USAGE',
    message: /--yes needs --fingerprint/,
  });
  await t.rejects(approveCandidates(candidates, options(), io()), {
    code: 'CPX_ERR_USAGE',
    message: /not a terminal.*--yes --fingerprint/,
  });
  await t.rejects(
    approveCandidates(candidates, options({ fingerprints: [fp(unrelated)], yes: true }), io()),
    { code: 'CPX_ERR_TRUST_REJECTED', message: /no acceptable candidate CA has sha256/ },
  );

  const flag = await approveCandidates(
    candidates,
    options({ fingerprints: [rootFp], yes: true }),
    io(),
  );
  t.same(
    flag.map((a) => [a.how, a.candidate.cert.fingerprint256]),
    [['flag', rootFp]],
  );

  const admin = await approveCandidates(candidates, options({ preApproved: [rootFp] }), io());
  t.same(
    admin.map((a) => a.how),
    ['pre-approved'],
    'trust.fingerprints approves without a person',
  );

  const again = await approveCandidates(
    candidates,
    options({ alreadyApproved: new Set([rootFp]) }),
    io(),
  );
  t.same(
    again.map((a) => a.how),
    ['already'],
  );

  const yes = io([true]);
  const asked = await approveCandidates([good as Candidate], options({ interactive: true }), yes);
  t.same(
    asked.map((a) => a.how),
    ['confirmed'],
  );
  t.same(yes.shown, [rootFp], 'shown before the question');
  t.match(yes.questions[0], new RegExp(`sha256 ${rootFp}.*\\[y/N\\]`));

  const no = io([false]);
  t.same(await approveCandidates([good as Candidate], options({ interactive: true }), no), []);
  t.match(no.printed, [`not approved: ${rootFp}`]);
});

t.test('fingerprints are normalized', async (t) => {
  const hex = 'ab'.repeat(32);
  const want = Array(32).fill('AB').join(':');
  t.equal(normalizeFingerprint(hex), want);
  t.equal(normalizeFingerprint(`sha256:${want.toLowerCase()}`), want);
  t.equal(normalizeFingerprint(` SHA256=${hex} `), want);
  t.equal(normalizeFingerprint('ab'.repeat(31)), undefined);
  t.equal(normalizeFingerprint('zz'.repeat(32)), undefined);
});

t.test('the corporate set: appended once, removed by fingerprint', async (t) => {
  const { candidates } = await findCandidates(input({ observations: [obs([leaf, int, root])] }));
  const approval = { candidate: candidates[0] as Candidate, how: 'flag' as const };
  const one = nextCorporate([], [approval, approval], now);
  t.equal(one.length, 1);
  t.match(one[0], { source: `trust:${HOST}:443 wire:${HOST}:443`, approvedAt: now.toISOString() });
  t.equal(nextCorporate(one, [approval], now).length, 1, 'idempotent');
  t.same(nextCorporate(one, [], now, fp(root)), []);
  t.throws(() => nextCorporate(one, [], now, fp(int)), {
    code: 'CPX_ERR_USAGE',
    message: /no approved CA has sha256 .* \(approved: /,
  });
});

t.test('manifest, corporate read-back and the status section', async (t) => {
  t.equal(parseManifest(undefined), undefined);
  t.equal(parseManifest('  '), undefined);
  t.equal(parseManifest('{not json'), undefined);
  t.equal(parseManifest('null'), undefined);
  t.equal(parseManifest('{"entries": 3}'), undefined);
  t.same(parseManifest('{"entries":[{"sha256":"A"},{"x":1}]}')?.entries, [{ sha256: 'A' }]);

  const manifest = parseManifest(
    JSON.stringify({
      generatedAt: new Date(now.getTime() - 90_000).toISOString(),
      bundle: '/elsewhere/bundle.pem',
      entries: [
        {
          sha256: fp(root),
          subject: 'CN=Corp',
          source: 'trust:h',
          approvedAt: 'T',
          corporate: true,
        },
        { sha256: fp(publicRoot), subject: 'CN=Public', source: 'mozilla', corporate: false },
      ],
    }),
  );
  const corp = readCorporate(`${root.certPem}junk\n${int.certPem}`, manifest);
  t.match(corp, [
    { source: 'trust:h', approvedAt: 'T' },
    { source: 'corp-ca.pem', approvedAt: new Date(0).toISOString() },
  ]);
  const config = { stateDir: '/state', trust: { fingerprints: ['AA'], bundle: '' } };
  t.same(bundleStatus(config, undefined, now.getTime()), {
    path: join('/state', 'ca-bundle.pem'),
    present: false,
    approved: [],
    preApproved: ['AA'],
  });
  t.match(bundleStatus(config, JSON.stringify(manifest), now.getTime()), {
    path: '/elsewhere/bundle.pem',
    present: true,
    approved: [{ sha256: fp(root), subject: 'CN=Corp' }],
    ageSeconds: 90,
  });
  t.same(bundlePaths({ ...config, trust: { fingerprints: [], bundle: '/b/x.pem' } }), {
    bundle: '/b/x.pem',
    corporate: join('/state', 'corp-ca.pem'),
    manifest: join('/state', 'manifest.json'),
  });
  t.equal(bundlePaths(config, '/flag.pem').bundle, '/flag.pem', '--bundle wins');
});
