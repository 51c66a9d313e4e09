import t from 'tap';
import { reasonFor, type ChainFacts, type ReasonFacts } from '../../../src/tls/classify-reasons.js';

const chainKinds: Array<[ChainFacts['kind'], RegExp]> = [
  ['clean', /carries 3 SCT\(s\): not intercepted/],
  ['private-pki', /probe\.extraPublicRoots/],
  ['public-no-sct', /no embedded SCTs/],
  ['intercepted', /corproxy trust h\.test/],
  ['unknown-issuer-with-sct', /incomplete chain/],
  ['untrusted-resign', /never trust that CA/],
  ['leaf-validity', /not after 2020-01-01T00:00:00\.000Z/],
  ['chain-validity', /CODE_X/],
  ['host-mismatch', /does not name h\.test/],
  ['rejected', /rejected \(CODE_X\)/],
];

t.test('a sentence for every chain verdict', async (t) => {
  for (const [kind, re] of chainKinds) {
    const facts = {
      kind,
      ca: 'CN=Corp Root',
      code: 'CODE_X',
      sctCount: 3,
      notAfter: '2020-01-01T00:00:00.000Z',
    };
    const text = reasonFor('h.test', facts);
    t.match(text, re, kind);
    t.ok(text.startsWith('h.test: '), `${kind}: names the host`);
    t.notOk(text.includes('\n'), `${kind}: one line`);
    if (/public-no-sct|intercepted|untrusted|host-mismatch|with-sct/.test(kind)) {
      t.match(text, /"CN=Corp Root"/, `${kind}: names the CA`);
      t.match(reasonFor('h.test', { ...facts, vendor: 'Zscaler' }), /Zscaler \("CN=Corp Root"\)/);
    }
  }
});

t.test('a sentence for every failure', async (t) => {
  const cases: Array<[ReasonFacts, RegExp]> = [
    [{ kind: 'proxy-auth', status: 407 }, /credentials \(407\)/],
    [{ kind: 'connect-refused', status: 403 }, /status 403/],
    [{ kind: 'not-tls', code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, /block page/],
    [{ kind: 'handshake-aborted', code: 'ECONNRESET' }, /cut off \(ECONNRESET\)/],
    [{ kind: 'failed', code: 'ETIMEDOUT', message: ' slow\n\tpeer ' }, /\(ETIMEDOUT: slow peer\)/],
    [{ kind: 'no-certificate' }, /without a server certificate/],
  ];
  for (const [facts, re] of cases) t.match(reasonFor('h.test', facts), re, facts.kind);
});
