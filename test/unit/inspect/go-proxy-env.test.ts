import t from 'tap';
import { goNoProxyMatch, goProxyFor } from '../../../src/inspect/go-proxy-env.js';
import type { ProxyTarget } from '../../../src/inspect/proxy-answer.js';

function https(host: string, port = 443, rawHost = host): ProxyTarget {
  return { scheme: 'https', host, rawHost, port };
}
function http(host: string, port = 80, rawHost = host): ProxyTarget {
  return { scheme: 'http', host, rawHost, port };
}

const CORPROXY = 'http://127.0.0.1:3129';

t.test('https URLs use HTTPS_PROXY, uppercase first, empty counts as unset', async (t) => {
  const a = goProxyFor(https('proxy.golang.org'), {
    HTTPS_PROXY: CORPROXY,
    https_proxy: 'http://other:1',
  });
  t.match(a, {
    tool: 'go',
    proxied: true,
    code: 'proxy',
    proxy: CORPROXY,
    proxyKey: 'http://127.0.0.1:3129',
  });
  t.strictSame(a.variable, { name: 'HTTPS_PROXY', value: CORPROXY });
  const b = goProxyFor(https('proxy.golang.org'), {
    HTTPS_PROXY: '',
    https_proxy: 'http://other:1',
  });
  t.match(b, { proxied: true, proxyKey: 'http://other:1', variable: { name: 'https_proxy' } });
});

t.test('no HTTPS to HTTP fallback, no ALL_PROXY', async (t) => {
  const a = goProxyFor(https('proxy.golang.org'), {
    HTTP_PROXY: CORPROXY,
    ALL_PROXY: CORPROXY,
    all_proxy: CORPROXY,
  });
  t.match(a, {
    proxied: false,
    fails: false,
    code: 'no-variable',
    reason: 'neither HTTPS_PROXY nor https_proxy is set',
  });
  t.equal(a.variable, undefined);
  const b = goProxyFor(http('example.test'), { HTTPS_PROXY: CORPROXY });
  t.match(b, { proxied: false, code: 'no-variable', reason: /HTTP_PROXY nor http_proxy/ });
  const c = goProxyFor(http('example.test'), { http_proxy: CORPROXY });
  t.match(c, { proxied: true, variable: { name: 'http_proxy' } });
});

t.test('proxy values: scheme added, default ports, redaction, other schemes', async (t) => {
  const bare = goProxyFor(https('a.test'), { HTTPS_PROXY: '127.0.0.1:3129' });
  t.match(bare, { proxied: true, proxy: CORPROXY, proxyKey: 'http://127.0.0.1:3129' });
  t.match(bare.notes, [/has no scheme; Go reads it as http:\/\/127\.0\.0\.1:3129/]);
  t.match(goProxyFor(https('a.test'), { HTTPS_PROXY: 'http://proxy.corp' }), {
    proxyKey: 'http://proxy.corp:80',
  });
  t.match(goProxyFor(https('a.test'), { HTTPS_PROXY: 'https://proxy.corp' }), {
    proxyKey: 'https://proxy.corp:443',
  });
  t.match(goProxyFor(https('a.test'), { HTTPS_PROXY: 'socks5://s.corp' }), {
    proxyKey: 'socks5://s.corp:1080',
  });
  const secret = goProxyFor(https('a.test'), {
    HTTPS_PROXY: 'http://alice:s3cret@proxy.corp:8080',
  });
  t.equal(secret.proxy, 'http://***:***@proxy.corp:8080');
  t.equal(secret.variable?.value, 'http://***:***@proxy.corp:8080');
  t.notMatch(JSON.stringify(secret), /s3cret|alice/);
  const ftp = goProxyFor(https('a.test'), { HTTPS_PROXY: 'ftp://proxy.corp:21' });
  t.match(ftp, { proxied: true });
  t.match(ftp.notes, [/only http, https and socks5 proxies, not ftp:\/\//]);
});

t.test('a value Go cannot parse is ignored: direct, without a word from Go', async (t) => {
  const a = goProxyFor(https('a.test'), { HTTPS_PROXY: 'proxy corp:8080' });
  t.match(a, {
    proxied: false,
    fails: false,
    code: 'unparseable',
    reason: /HTTPS_PROXY does not parse as a URL \(.*\); Go ignores it silently/,
    variable: { name: 'HTTPS_PROXY' },
  });
  // The uppercase variable is set, so the valid lowercase one is never looked at.
  t.match(goProxyFor(https('a.test'), { HTTPS_PROXY: 'proxy corp:1', https_proxy: CORPROXY }), {
    code: 'unparseable',
  });
});

t.test('CGI: REQUEST_METHOD makes http requests with HTTP_PROXY fail', async (t) => {
  const env = { HTTP_PROXY: CORPROXY, HTTPS_PROXY: CORPROXY, REQUEST_METHOD: 'GET' };
  t.match(goProxyFor(http('a.test'), env), {
    fails: true,
    proxied: false,
    code: 'cgi',
    reason: /REQUEST_METHOD is set/,
  });
  t.match(goProxyFor(https('a.test'), env), { proxied: true, code: 'proxy' }, 'https unaffected');
  t.match(
    goProxyFor(http('a.test'), { ...env, REQUEST_METHOD: '' }),
    { proxied: true },
    'empty is unset',
  );
  t.match(goProxyFor(http('localhost'), env), { code: 'cgi' }, 'checked before localhost');
  t.match(goProxyFor(http('a.test'), { REQUEST_METHOD: 'GET' }), { code: 'no-variable' });
});

t.test('localhost and loopback literals are never proxied', async (t) => {
  const env = { HTTPS_PROXY: CORPROXY };
  for (const host of ['localhost', '127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1']) {
    t.match(goProxyFor(https(host), env), { proxied: false, code: 'loopback' }, host);
  }
  t.match(
    goProxyFor(https('localhost', 443, 'LOCALHOST'), env),
    { proxied: true },
    'compared before lower-casing',
  );
  t.match(goProxyFor(https('localhost.example'), env), { proxied: true });
  t.match(goProxyFor(https('::2'), env), { proxied: true });
});

t.test('NO_PROXY with Go semantics', async (t) => {
  const cases: Array<[string, ProxyTarget, string | undefined]> = [
    ['.corp.example', https('git.corp.example'), '.corp.example'],
    ['.corp.example', https('corp.example'), undefined],
    ['corp.example', https('corp.example'), 'corp.example'],
    ['corp.example', https('git.corp.example'), 'corp.example'],
    ['*.corp.example', https('git.corp.example'), '*.corp.example'],
    ['corp.example:8443', https('corp.example', 8443), 'corp.example:8443'],
    ['corp.example:8443', https('corp.example'), undefined],
    ['10.0.0.0/8', https('10.1.2.3'), '10.0.0.0/8'],
    ['10.0.0.0/8', https('ten.example'), undefined],
    [' A.Example , b.example ', https('a.example'), 'a.example'],
    ['a.example,*', https('other.example'), '*'],
    ['bücher.example', https('xn--bcher-kva.example'), 'bücher.example'],
  ];
  for (const [value, target, entry] of cases) {
    const a = goProxyFor(target, { HTTPS_PROXY: CORPROXY, NO_PROXY: value });
    if (entry === undefined) t.match(a, { proxied: true }, `${value} vs ${target.host}`);
    else {
      t.match(
        a,
        { proxied: false, code: 'no-proxy', noProxyEntry: entry },
        `${value} vs ${target.host}`,
      );
      t.match(a.reason, `NO_PROXY entry "${entry}" matches`);
    }
  }
});

t.test('NO_PROXY before no_proxy; entries Go cannot use are noted', async (t) => {
  const a = goProxyFor(https('a.example'), {
    HTTPS_PROXY: CORPROXY,
    NO_PROXY: 'b.example',
    no_proxy: 'a.example',
  });
  t.match(a, { proxied: true, noProxy: { name: 'NO_PROXY', value: 'b.example' } });
  const b = goProxyFor(https('a.example'), { HTTPS_PROXY: CORPROXY, no_proxy: 'a.example' });
  t.match(b, { proxied: false, reason: 'no_proxy entry "a.example" matches' });
  const c = goProxyFor(https('a.example'), {
    HTTPS_PROXY: CORPROXY,
    NO_PROXY: ':80, [::1], 10.0.0.0/33, a.example',
  });
  t.match(c, { proxied: false, noProxyEntry: 'a.example' });
  t.match(c.notes, [
    /NO_PROXY entries Go cannot use and skips: ":80", "\[::1\]", "10\.0\.0\.0\/33"/,
  ]);
  t.strictSame(goNoProxyMatch('', 'a', 1), { ignored: [] });
});
