import t from 'tap';
import { entryId, formatPacAnswer, parsePacAnswer } from '../../../src/pac/answer.js';

t.test('a list of proxies and DIRECT, in order', async (t) => {
  const a = parsePacAnswer('PROXY a.example:8080; HTTPS b.example:8443 ;DIRECT');
  t.same(a.entries, [
    { kind: 'proxy', protocol: 'http:', host: 'a.example', port: 8080 },
    { kind: 'proxy', protocol: 'https:', host: 'b.example', port: 8443 },
    { kind: 'direct' },
  ]);
  t.same(a.skipped, []);
  t.equal(formatPacAnswer(a), 'PROXY a.example:8080; HTTPS b.example:8443; DIRECT');
});

t.test(
  'keywords are case-insensitive, HTTP means PROXY, default ports, IPv6 literals',
  async (t) => {
    const a = parsePacAnswer('proxy A.Example; http [fd00::1]:3128; https b.example; direct');
    t.same(a.entries, [
      { kind: 'proxy', protocol: 'http:', host: 'a.example', port: 80 },
      { kind: 'proxy', protocol: 'http:', host: 'fd00::1', port: 3128 },
      { kind: 'proxy', protocol: 'https:', host: 'b.example', port: 443 },
      { kind: 'direct' },
    ]);
    t.equal(entryId(a.entries[1]!), '[fd00::1]:3128');
    t.equal(entryId(a.entries[3]!), 'DIRECT');
  },
);

t.test('unusable entries are skipped and reported; duplicates dropped', async (t) => {
  const a = parsePacAnswer(
    'SOCKS5 s.example:1080; PROXY a.example:99999; PROXY; PROXY a b; QUIC q:443; ' +
      'PROXY u@h:1; PROXY a.example:8080; PROXY A.EXAMPLE:8080; DIRECT x; PROXY a.example:0',
  );
  t.same(a.entries, [{ kind: 'proxy', protocol: 'http:', host: 'a.example', port: 8080 }]);
  t.same(a.skipped, [
    'SOCKS5 s.example:1080',
    'PROXY a.example:99999',
    'PROXY',
    'PROXY a b',
    'QUIC q:443',
    'PROXY u@h:1',
    'DIRECT x',
    'PROXY a.example:0',
  ]);
});

t.test('an empty answer or a non-string means DIRECT; only SOCKS is not DIRECT', async (t) => {
  for (const empty of ['', '  ;  ; ', undefined, null, 42]) {
    t.same(parsePacAnswer(empty).entries, [{ kind: 'direct' }], String(empty));
  }
  const socks = parsePacAnswer('SOCKS s.example:1080');
  t.same(socks.entries, []);
  t.same(socks.skipped, ['SOCKS s.example:1080']);
});
