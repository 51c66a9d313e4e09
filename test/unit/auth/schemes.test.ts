import t from 'tap';
import {
  missingFor,
  NEGOTIATE_MISSING,
  offered,
  parseChallenges,
  schemeOf,
  tokenFor,
  type Abilities,
} from '../../../src/auth/schemes.js';

const h = (...values: string[]): Array<[string, string]> =>
  values.map((v) => ['proxy-authenticate', v] as [string, string]);

t.test('parseChallenges: one per field, several per field, params and tokens', async (t) => {
  t.same(parseChallenges(h('NTLM', 'Negotiate', 'Basic realm="corp"')), [
    { scheme: 'NTLM' },
    { scheme: 'Negotiate' },
    { scheme: 'Basic' },
  ]);
  t.same(
    parseChallenges(h('Negotiate, NTLM, Basic realm="a, b", charset="UTF-8"')),
    [{ scheme: 'Negotiate' }, { scheme: 'NTLM' }, { scheme: 'Basic' }],
    'commas inside quotes and auth-params do not start challenges',
  );
  t.same(parseChallenges(h('NTLM TlRMTVNTUAACAAAA==')), [
    { scheme: 'NTLM', token: 'TlRMTVNTUAACAAAA==' },
  ]);
  t.same(parseChallenges(h('Basic realm="x\\"y, z"')), [{ scheme: 'Basic' }], 'escaped quote');
  t.same(
    parseChallenges([
      ['content-type', 'NTLM'],
      ['Proxy-Authenticate', 'ntlm'],
    ]),
    [{ scheme: 'ntlm' }],
    'only Proxy-Authenticate fields, name in any case',
  );
  t.same(parseChallenges(h('', ' , ', 'b@d', '=x')), [], 'junk ignored');
});

t.test('schemeOf, offered and tokenFor', async (t) => {
  const c = parseChallenges(h('Basic realm="r"', 'Digest realm="r"', 'NTLM abc=', 'negotiate'));
  t.same(c.map(schemeOf), ['basic', undefined, 'ntlm', 'negotiate']);
  t.same(offered(c), ['negotiate', 'ntlm', 'basic'], 'preference order, unknown dropped');
  t.equal(tokenFor(c, 'ntlm'), 'abc=');
  t.equal(tokenFor(c, 'negotiate'), undefined);
  t.equal(tokenFor(c, 'basic'), undefined);
});

const all: Abilities = { negotiate: true, ntlm: true, basic: true };
const none: Abilities = { negotiate: false, ntlm: false, basic: false };

t.test('missingFor names what corproxy lacks', async (t) => {
  const nb = parseChallenges(h('Negotiate', 'NTLM', 'Basic'));
  t.same(missingFor(nb, ['negotiate', 'ntlm', 'basic'], all), []);
  t.same(missingFor(nb, ['negotiate', 'ntlm', 'basic'], none), [NEGOTIATE_MISSING]);
  t.same(missingFor(nb, ['ntlm', 'basic'], none), [], 'no credentials: nothing to add');
  t.same(missingFor(nb, ['negotiate'], { ...none }, 'custom why'), ['custom why']);
  t.same(missingFor(parseChallenges(h('NTLM')), ['basic'], all), [
    'none of them is in auth.schemes (basic)',
  ]);
  t.same(missingFor(parseChallenges(h('Basic')), ['basic'], { ...none, ntlm: true }), [
    'Basic needs a password (an NT hash only works with NTLM)',
  ]);
  t.same(missingFor(parseChallenges(h('NTLM')), ['ntlm'], { ...none, basic: true }), [
    'NTLM needs a user name',
  ]);
  t.same(missingFor([], ['ntlm'], none), [], 'a 407 without challenges');
});
