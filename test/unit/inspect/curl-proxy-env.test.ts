import t from 'tap';
import {
  curlNoProxyMatch,
  curlNoProxyTokens,
  curlProxyFor,
  curlProxyVariables,
  parseCurlProxyValue,
} from '../../../src/inspect/curl-proxy-env.js';
import type { ProxyTarget } from '../../../src/inspect/proxy-answer.js';

function https(host: string, port = 443): ProxyTarget {
  return { scheme: 'https', host, rawHost: host, port };
}
function http(host: string, port = 80): ProxyTarget {
  return { scheme: 'http', host, rawHost: host, port };
}

const P = 'http://127.0.0.1:3129';

t.test(
  'variable order: lowercase http_proxy only; https_proxy first; then ALL_PROXY',
  async (t) => {
    t.strictSame(curlProxyVariables('http'), ['http_proxy', 'all_proxy', 'ALL_PROXY']);
    t.strictSame(curlProxyVariables('https'), [
      'https_proxy',
      'HTTPS_PROXY',
      'all_proxy',
      'ALL_PROXY',
    ]);
    t.match(curlProxyFor(http('a.test'), { HTTP_PROXY: P }), {
      proxied: false,
      code: 'no-variable',
    });
    t.match(curlProxyFor(http('a.test'), { http_proxy: P }), {
      proxied: true,
      variable: { name: 'http_proxy' },
    });
    const both = curlProxyFor(https('a.test'), { HTTPS_PROXY: 'http://up:1', https_proxy: P });
    t.match(both, { proxyKey: 'http://127.0.0.1:3129', variable: { name: 'https_proxy' } });
    t.match(curlProxyFor(https('a.test'), { HTTPS_PROXY: P }), {
      variable: { name: 'HTTPS_PROXY' },
    });
    t.match(curlProxyFor(https('a.test'), { https_proxy: '', HTTPS_PROXY: P }), {
      variable: { name: 'HTTPS_PROXY' },
    });
    t.match(curlProxyFor(https('a.test'), { ALL_PROXY: P, all_proxy: 'http://x:2' }), {
      proxyKey: 'http://x:2',
      variable: { name: 'all_proxy' },
    });
    t.match(curlProxyFor(http('a.test'), { ALL_PROXY: P }), {
      proxied: true,
      variable: { name: 'ALL_PROXY' },
    });
  },
);

t.test('localhost and loopback are proxied like any host', async (t) => {
  for (const host of ['localhost', '127.0.0.1', '::1']) {
    t.match(curlProxyFor(https(host), { https_proxy: P }), { proxied: true }, host);
  }
});

t.test('proxy values: default scheme http, default port 1080 (443 for https)', async (t) => {
  t.strictSame(parseCurlProxyValue('proxy.corp'), {
    display: 'http://proxy.corp',
    key: 'http://proxy.corp:1080',
  });
  t.match(parseCurlProxyValue('https://proxy.corp'), { key: 'https://proxy.corp:443' });
  t.match(parseCurlProxyValue('socks5h://S.corp:9'), { key: 'socks5h://s.corp:9' });
  t.match(parseCurlProxyValue('[::1]:3129'), { key: 'http://[::1]:3129' });
  t.match(parseCurlProxyValue('http://u:pw@p:1'), { display: 'http://***:***@p:1' });
  t.match(parseCurlProxyValue('ftp://p:21'), { problem: /cannot use a ftp:\/\/ proxy/ });
  t.match(parseCurlProxyValue('http://pro xy:1'), { problem: /cannot parse it/ });
  const bad = curlProxyFor(https('a.test'), { https_proxy: 'ftp://p:21' });
  t.match(bad, {
    proxied: false,
    fails: true,
    code: 'unparseable',
    reason: /^https_proxy: curl cannot use/,
  });
});

t.test('no_proxy tokens: commas, blanks, and the stop after a blank', async (t) => {
  t.strictSame(curlNoProxyTokens('a,b'), ['a', 'b']);
  t.strictSame(curlNoProxyTokens(' a , b ,, c '), ['a', 'b', 'c']);
  t.strictSame(curlNoProxyTokens('a b,c'), ['a'], 'a blank not followed by a comma ends the list');
  t.strictSame(curlNoProxyTokens(',,a'), ['a'], 'leading commas are skipped');
  t.strictSame(curlNoProxyTokens(''), []);
  t.strictSame(curlNoProxyTokens('\ta\t,\tb'), ['a', 'b']);
});

t.test('no_proxy matching with curl semantics', async (t) => {
  const cases: Array<[string, string, string | undefined]> = [
    ['*', 'anything.example', '*'],
    ['a.example,*', 'other.example', undefined],
    ['corp.example', 'corp.example', 'corp.example'],
    ['corp.example', 'git.corp.example', 'corp.example'],
    ['corp.example', 'notcorp.example', undefined],
    ['.corp.example', 'corp.example', '.corp.example'],
    ['.corp.example', 'git.corp.example', '.corp.example'],
    ['*.corp.example', 'git.corp.example', undefined],
    ['corp.example:443', 'corp.example', undefined],
    ['corp.example.', 'git.corp.example.', 'corp.example.'],
    ['CORP.example', 'git.corp.EXAMPLE', 'CORP.example'],
    ['10.0.0.0/8', '10.1.2.3', '10.0.0.0/8'],
    ['10.1.2.3', '10.1.2.3', '10.1.2.3'],
    ['10.1.2.3/0', '10.1.2.3', '10.1.2.3/0'],
    ['10.1.2.3/0', '10.1.2.4', undefined],
    ['10.0.0.0/33', '10.1.2.3', undefined],
    ['10.0.0.0/x', '10.0.0.0', '10.0.0.0/x'],
    ['2001:db8::/32', '2001:db8::1', '2001:db8::/32'],
    ['2001:db8::1', '2001:db8::1', '2001:db8::1'],
    ['2001:db8::/129', '2001:db8::1', undefined],
    ['example.test', '10.1.2.3', undefined],
    ['10.0.0.0/8', 'ten.example', undefined],
    ['a.example b.example', 'b.example', undefined],
  ];
  for (const [value, host, want] of cases) {
    t.equal(curlNoProxyMatch(value, host), want, `${JSON.stringify(value)} vs ${host}`);
  }
  t.equal(curlNoProxyMatch('', 'a'), undefined);
  t.equal(curlNoProxyMatch('a', ''), undefined);
});

t.test('no_proxy before NO_PROXY; consulted before the proxy variables', async (t) => {
  const a = curlProxyFor(https('a.example'), {
    https_proxy: P,
    no_proxy: 'b.example',
    NO_PROXY: 'a.example',
  });
  t.match(a, { proxied: true, noProxy: { name: 'no_proxy' } });
  const b = curlProxyFor(https('a.example'), { https_proxy: P, NO_PROXY: 'a.example' });
  t.match(b, {
    proxied: false,
    code: 'no-proxy',
    noProxyEntry: 'a.example',
    reason: 'NO_PROXY entry "a.example" matches',
  });
  const c = curlProxyFor(https('a.example'), { no_proxy: 'a.example' });
  t.match(c, { code: 'no-proxy' }, 'even with no proxy variable');
  const d = curlProxyFor(https('10.1.2.3'), { https_proxy: P, no_proxy: '10.0.0.0/8' });
  t.match(d.notes, [/CIDR entries need curl 7\.86/]);
});
