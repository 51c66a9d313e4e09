import t from 'tap';
import { parseExplainTarget } from '../../../src/inspect/explain-target.js';

t.test('hosts and host:port: https on 443 unless the port is 80', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'proxy.golang.org',
      { scheme: 'https', host: 'proxy.golang.org', port: 443, url: 'https://proxy.golang.org/' },
    ],
    ['Proxy.Golang.org', { host: 'proxy.golang.org', rawHost: 'Proxy.Golang.org' }],
    [
      'git.corp.example:8443',
      { scheme: 'https', port: 8443, url: 'https://git.corp.example:8443/' },
    ],
    ['deb.example:80', { scheme: 'http', port: 80, url: 'http://deb.example/' }],
    [
      '[2001:db8::1]:443',
      { host: '2001:db8::1', rawHost: '2001:db8::1', url: 'https://[2001:db8::1]/' },
    ],
    ['[::1]:3129', { host: '::1', port: 3129, url: 'https://[::1]:3129/' }],
    ['LOCALHOST', { host: 'localhost', rawHost: 'LOCALHOST' }],
    ['bücher.example', { host: 'xn--bcher-kva.example' }],
    ['  10.1.2.3  ', { host: '10.1.2.3', input: '  10.1.2.3  ' }],
  ];
  for (const [arg, want] of cases) t.match(parseExplainTarget(arg), want, arg);
});

t.test('URLs keep their scheme, port and path', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'https://proxy.golang.org/golang.org/x/net/@v/list',
      { scheme: 'https', port: 443, url: 'https://proxy.golang.org/golang.org/x/net/@v/list' },
    ],
    [
      'http://deb.example:8080/x?y=1',
      { scheme: 'http', port: 8080, url: 'http://deb.example:8080/x?y=1' },
    ],
    [
      'HTTP://Deb.Example/',
      { scheme: 'http', host: 'deb.example', rawHost: 'Deb.Example', port: 80 },
    ],
    [
      'https://user:pw@git.example/',
      { host: 'git.example', rawHost: 'git.example', url: 'https://git.example/' },
    ],
    ['http://[::1]:8080/', { host: '::1', rawHost: '::1', port: 8080 }],
    ['http://LOCALHOST/', { host: 'localhost', rawHost: 'LOCALHOST' }],
  ];
  for (const [arg, want] of cases) t.match(parseExplainTarget(arg), want, arg);
  t.notMatch(JSON.stringify(parseExplainTarget('https://user:pw@git.example/')), /pw/);
});

t.test('anything else is a usage error naming the accepted forms', async (t) => {
  const bad = [
    '',
    '   ',
    'golang.org/x/net',
    'ftp://files.example/',
    'https://',
    'http://bad host/',
    'host:99999',
    'host:0',
    '::1',
    '[::1',
    'a b',
    'user@host',
    'bad_label-.example',
  ];
  for (const arg of bad) {
    t.throws(() => parseExplainTarget(arg), { code: 'CPX_ERR_USAGE' }, JSON.stringify(arg));
  }
  t.throws(() => parseExplainTarget('ftp://x/'), /ftp:\/\/ URLs are not proxied by Go/);
  t.throws(() => parseExplainTarget('golang.org/x/net'), /give HOST, HOST:PORT or a URL/);
});
