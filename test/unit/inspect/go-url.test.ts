import t from 'tap';
import { parseGoUrl } from '../../../src/inspect/go-url.js';
import { parseGoProxyValue } from '../../../src/inspect/go-proxy-env.js';

t.test('parseGoUrl accepts what net/url.Parse accepts', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    [
      'http://proxy.corp:8080',
      { scheme: 'http', host: 'proxy.corp:8080', hostname: 'proxy.corp', port: '8080' },
    ],
    ['HTTP://Proxy:1/', { scheme: 'http', host: 'Proxy:1', hostname: 'Proxy' }],
    ['http://[::1]:3129', { host: '[::1]:3129', hostname: '::1', port: '3129' }],
    ['http://[fe80::1%25en0]:1', { hostname: 'fe80::1%25en0', port: '1' }],
    ['http://u:p@ss@proxy:1', { userinfo: 'u:p@ss', host: 'proxy:1' }],
    ['socks5://h:1080', { scheme: 'socks5', host: 'h:1080' }],
    ['http://proxy:1?x=%zz', { host: 'proxy:1' }],
    ['http://proxy:', { host: 'proxy:', hostname: 'proxy', port: '' }],
    ['http://ünï.example:1', { hostname: 'ünï.example' }],
    // A scheme with a rootless path is opaque: no host at all.
    ['proxy.corp:8080', { scheme: 'proxy.corp', host: '' }],
    ['//proxy:1', { scheme: '', host: 'proxy:1' }],
    ['relative/path', { scheme: '', host: '' }],
  ];
  for (const [raw, want] of cases) {
    const got = parseGoUrl(raw);
    t.ok(got.ok, raw);
    if (got.ok) t.match(got.url, want, raw);
  }
});

t.test('parseGoUrl rejects what net/url.Parse rejects', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['127.0.0.1:3129', /first path segment in URL cannot contain colon/],
    [':3129', /missing protocol scheme/],
    ['http://proxy corp:8080', /invalid character " " in host name/],
    ['http://proxy:80a', /invalid port/],
    ['http://[::1', /missing '\]' in host/],
    ['http://[::1]x', /invalid port/],
    ['http://%41:1', /invalid URL escape in host/],
    ['http://a%zz:1', /invalid URL escape in host/],
    ['http://u%zz@proxy:1', /invalid userinfo/],
    ['http://u v@proxy:1', /invalid userinfo/],
    ['http://proxy/\x00', /control character/],
    ['http://pro\txy', /control character/],
    ['http://proxy/%zz', /escape in path/],
    ['http://proxy/#%zz', /escape in fragment/],
    ['http://pro{xy', /invalid character "\{"/],
  ];
  for (const [raw, want] of cases) {
    const got = parseGoUrl(raw);
    t.notOk(got.ok, JSON.stringify(raw));
    if (!got.ok) t.match(got.error, want, JSON.stringify(raw));
  }
});

t.test('parseGoProxyValue retries with http:// like httpproxy.parseProxy', async (t) => {
  const cases: Array<[string, string, boolean]> = [
    ['http://127.0.0.1:3129', '127.0.0.1:3129', false],
    ['127.0.0.1:3129', '127.0.0.1:3129', true],
    ['proxy.corp:8080', 'proxy.corp:8080', true],
    ['localhost:3129', 'localhost:3129', true],
    ['[::1]:3129', '[::1]:3129', true],
    ['proxy.corp', 'proxy.corp', true],
    // The retry wins even when it finds a different host: Go then dials "http".
    ['http://proxy corp', 'http:', true],
  ];
  for (const [value, host, prefixed] of cases) {
    const got = parseGoProxyValue(value);
    t.ok(got.ok, value);
    if (got.ok) {
      t.equal(got.url.host, host, value);
      t.equal(got.prefixed, prefixed, `${value} prefixed`);
    }
  }
  // The retry fails too, and the first parse succeeded: Go keeps the first (hostless) URL.
  const kept = parseGoProxyValue('proxy:80a');
  t.ok(kept.ok);
  if (kept.ok) t.match(kept.url, { scheme: 'proxy', host: '' });
});

t.test('parseGoProxyValue reports values Go drops', async (t) => {
  for (const value of ['proxy corp:8080', 'http://pro\txy:1', '', '1.2.3.4:3128/%zz']) {
    t.notOk(parseGoProxyValue(value).ok, JSON.stringify(value));
  }
});
