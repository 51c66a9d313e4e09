/** Go's module settings: sources and defaults, GOPROXY lists, GOSUMDB, private globs. */
import t from 'tap';
import {
  badGlobs,
  goSettings,
  matchPrefixPatterns,
  parseGoproxyList,
  parseGosumdb,
} from '../../../src/doctor/go-settings.js';

t.test('settings come from go env, else the environment, else the defaults', async (t) => {
  const fromGo = goSettings(
    { GOPROXY: 'https://a.test', GOPRIVATE: 'corp.test', GOVERSION: 'go1.22.1' },
    { GOPROXY: 'ignored' },
  );
  t.match(fromGo, {
    from: 'go env',
    goproxy: 'https://a.test',
    gonoproxy: 'corp.test',
    gonosumdb: 'corp.test',
    goversion: 'go1.22.1',
    gosumdb: 'sum.golang.org',
  });
  t.match(goSettings(undefined, { GOPROXY: 'https://b.test', GONOSUMDB: 'x.test' }), {
    from: 'environment',
    goproxy: 'https://b.test',
    gonosumdb: 'x.test',
  });
  const none = goSettings(undefined, { GOPROXY: '' });
  t.match(none, {
    from: 'defaults',
    goproxy: 'https://proxy.golang.org,direct',
    gosumdb: 'sum.golang.org',
    goprivate: '',
  });
  t.notOk('goversion' in none);
});

t.test('GOPROXY lists as cmd/go reads them', async (t) => {
  const cases: Array<[string, object]> = [
    [
      'https://proxy.golang.org,direct',
      {
        entries: [
          { kind: 'url', url: 'https://proxy.golang.org', fallBackOnError: false },
          { kind: 'direct' },
        ],
        ignored: [],
      },
    ],
    [
      'a.test|b.test/x/',
      {
        entries: [
          { url: 'https://a.test', fallBackOnError: true },
          { url: 'https://b.test/x', fallBackOnError: false },
        ],
      },
    ],
    [' https://a.test , off', { entries: [{ url: 'https://a.test' }, { kind: 'off' }] }],
    [
      'direct,https://never.test|off',
      { entries: [{ kind: 'direct' }], ignored: ['https://never.test', 'off'] },
    ],
    ['file:///srv/goproxy', { entries: [{ url: 'file:///srv/goproxy' }] }],
    [
      'http://127.0.0.1:3129/mod/,direct',
      { entries: [{ url: 'http://127.0.0.1:3129/mod' }, { kind: 'direct' }] },
    ],
  ];
  for (const [value, want] of cases) t.match(parseGoproxyList(value), want, value);
  t.match(parseGoproxyList(', '), {
    error: 'GOPROXY list is not the empty string, but contains no entries',
  });
  t.match(parseGoproxyList('goproxy'), { error: 'invalid proxy URL missing scheme: goproxy' });
  t.match(parseGoproxyList('ftp://a.test'), { error: /scheme \(must be https, http, file\)/ });
  t.notOk('error' in parseGoproxyList('direct'));
});

t.test('GOSUMDB', async (t) => {
  t.same(parseGosumdb('off'), { off: true });
  t.same(parseGosumdb('sum.golang.org'), {
    off: false,
    name: 'sum.golang.org',
    direct: 'https://sum.golang.org',
  });
  t.same(parseGosumdb('sum.golang.google.cn'), {
    off: false,
    name: 'sum.golang.org',
    direct: 'https://sum.golang.org',
    explicit: 'https://sum.golang.google.cn',
  });
  t.same(parseGosumdb('sum.corp.test+0a1b2c3d+AbC= https://sum.corp.test:8443/db/'), {
    off: false,
    name: 'sum.corp.test',
    direct: 'https://sum.corp.test',
    explicit: 'https://sum.corp.test:8443/db',
  });
  t.match(parseGosumdb(''), { error: 'missing GOSUMDB' });
  t.match(parseGosumdb('a b c'), { error: /too many fields/ });
  t.match(parseGosumdb('sum.corp.test'), { error: /malformed verifier id/ });
  t.match(parseGosumdb('bad_name!+0a1b2c3d+k'), { error: /invalid sumdb name/ });
  t.match(parseGosumdb('sum.golang.org notaurl'), { error: /invalid GOSUMDB URL/ });
});

t.test('private-module globs match path prefixes element by element', async (t) => {
  t.equal(matchPrefixPatterns('corp.test', 'corp.test/x/y'), 'corp.test');
  t.equal(matchPrefixPatterns('*.corp.test', 'git.corp.test/lib'), '*.corp.test');
  t.equal(matchPrefixPatterns('github.com/corp/*', 'github.com/corp/lib/v2'), 'github.com/corp/*');
  t.equal(
    matchPrefixPatterns('github.com/corp/*', 'github.com/corp'),
    undefined,
    'too few elements',
  );
  t.equal(matchPrefixPatterns('github.com/other', 'github.com/corp/x'), undefined);
  t.equal(
    matchPrefixPatterns('[bad,corp.test/', 'corp.test/x'),
    'corp.test',
    'a bad glob matches nothing, the next still counts',
  );
  t.same(badGlobs('ok.test,[bad,a\\'), ['[bad', 'a\\']);
  t.same(badGlobs(''), []);
});
