import t from 'tap';
import type { Credentials } from '../../../src/auth/credentials.js';
import { basicMechanism, negotiateMechanism, ntlmMechanism } from '../../../src/auth/mechanisms.js';
import { lastScheme, SchemeCache, sharedSchemes } from '../../../src/auth/scheme-cache.js';
import {
  challengeMessage,
  parseAuthenticateMessage,
  verifyAuthenticate,
} from '../../support/ntlm-server.js';

const creds: Credentials = {
  user: 'CORP\\alice',
  password: 'pässwörd',
  domain: '',
  workstation: 'WS',
  source: 'config',
};
const deps = { now: () => 0, randomBytes: (n: number) => Buffer.alloc(n, 0xaa) };

t.test('Basic: one message, UTF-8, then a 407 means rejected', async (t) => {
  const m = basicMechanism(creds);
  t.equal(
    await m.start(),
    `Basic ${Buffer.from('CORP\\alice:pässwörd', 'utf8').toString('base64')}`,
  );
  t.ok(m.presented());
  t.equal(await m.next(undefined), undefined);
  t.equal(m.who, 'CORP\\alice');
  t.notOk(m.connectionBound);
});

t.test('NTLM: NEGOTIATE, then AUTHENTICATE the server can verify, then done', async (t) => {
  const m = ntlmMechanism(creds, deps);
  t.ok(m.connectionBound);
  const type1 = await m.start();
  t.match(type1, /^NTLM TlRMTVNTUAAB/);
  t.notOk(m.presented(), 'nothing secret sent yet');
  t.equal(await m.next(undefined), undefined, 'a 407 without a challenge ends it');
  await m.start();
  const server = Buffer.alloc(8, 3);
  const type2 = challengeMessage({ serverChallenge: server });
  const type3 = await m.next(type2.toString('base64'));
  t.ok(m.presented());
  const parsed = parseAuthenticateMessage(Buffer.from(type3!.slice(5), 'base64'));
  t.same(
    verifyAuthenticate(parsed, { user: 'alice', domain: 'CORP', password: 'pässwörd' }, server),
    { ok: true, why: 'ok' },
  );
  t.equal(await m.next(type2.toString('base64')), undefined, 'no second AUTHENTICATE');
  t.equal(m.who, 'CORP\\alice');
  await m.start();
  t.notOk(m.presented(), 'start() begins a new exchange (a new connection)');
});

t.test('NTLM: a malformed challenge throws CPX_ERR_UPSTREAM_PROTOCOL', async (t) => {
  const m = ntlmMechanism(creds, deps);
  await m.start();
  await t.rejects(m.next(Buffer.from('junk').toString('base64')), {
    code: 'CPX_ERR_UPSTREAM_PROTOCOL',
  });
});

t.test('Negotiate: rounds are bounded', async (t) => {
  const provider = { client: async () => ({ step: async (s: string) => `r${s.length}` }) };
  const m = negotiateMechanism(provider, 'proxy.test');
  t.equal(await m.next('x'), undefined, 'no context before start');
  t.equal(await m.start(), 'Negotiate r0');
  t.equal(await m.next('aa'), 'Negotiate r2');
  t.equal(await m.next('aaa'), 'Negotiate r3');
  t.equal(await m.next('aaaa'), 'Negotiate r4');
  t.equal(await m.next('aaaaa'), undefined, 'four rounds at most');
  t.equal(await m.next(undefined), undefined);
  t.notOk(m.presented(), 'never a final rejection: the next scheme may follow');
  t.equal(m.who, undefined);
});

t.test('SchemeCache and lastScheme', async (t) => {
  const c = new SchemeCache();
  t.equal(c.get('a:1'), undefined);
  c.set('a:1', 'ntlm');
  c.set('b:2', 'none');
  t.same(c.entries(), [
    ['a:1', 'ntlm'],
    ['b:2', 'none'],
  ]);
  c.forget('a:1');
  t.equal(c.get('a:1'), undefined);
  sharedSchemes.set('shared.test:3128', 'negotiate');
  t.equal(lastScheme('shared.test:3128'), 'negotiate');
  sharedSchemes.forget('shared.test:3128');
  t.equal(lastScheme('shared.test:3128'), undefined);
});
