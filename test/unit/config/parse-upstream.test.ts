import t from 'tap';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';
import type { Config, UpstreamProxy } from '../../../src/config/types.js';

function parse(over: Partial<ConfigInputs> = {}): Config {
  return parseConfig({ env: {}, flags: {}, platform: 'linux', homedir: '/home/dev', ...over });
}

function only(c: Config): UpstreamProxy {
  if (c.upstreams.length !== 1) throw new Error(`expected one upstream, got ${c.upstreams.length}`);
  return c.upstreams[0] as UpstreamProxy;
}

type Want = Partial<UpstreamProxy>;

// URL → parsed proxy. Passwords contain @ : & % raw and percent-encoded.
const URLS: ReadonlyArray<readonly [string, Want]> = [
  [
    'http://proxy.corp.test:8080',
    {
      protocol: 'http:',
      host: 'proxy.corp.test',
      port: 8080,
      id: 'proxy.corp.test:8080',
      display: 'http://proxy.corp.test:8080',
    },
  ],
  ['https://proxy.corp.test', { protocol: 'https:', port: 443, id: 'proxy.corp.test:443' }],
  ['http://proxy.corp.test', { port: 80 }],
  ['proxy.corp.test:3128', { protocol: 'http:', port: 3128 }],
  ['HTTP://Proxy.Corp.Test:8080/', { host: 'proxy.corp.test', id: 'proxy.corp.test:8080' }],
  [
    'http://[fd00::1]:8080',
    { host: 'fd00::1', id: '[fd00::1]:8080', display: 'http://[fd00::1]:8080' },
  ],
  [
    'http://jdoe:p%40ss@proxy.test:8080',
    { username: 'jdoe', password: 'p@ss', display: 'http://jdoe:***@proxy.test:8080' },
  ],
  ['http://jdoe:p@ss@proxy.test:8080', { username: 'jdoe', password: 'p@ss', host: 'proxy.test' }],
  ['http://jdoe:a:b@proxy.test:8080', { username: 'jdoe', password: 'a:b' }],
  ['http://jdoe:a&b%25c%3Ad@proxy.test', { password: 'a&b%c:d', port: 80 }],
  [
    'http://j%40doe:%25%40%3A%26@proxy.test',
    { username: 'j@doe', password: '%@:&', display: 'http://j%40doe:***@proxy.test:80' },
  ],
  [
    'https://CORP%5Cjdoe:pw@proxy.test',
    { username: 'CORP\\jdoe', display: 'https://CORP\\jdoe:***@proxy.test:443' },
  ],
  [
    'http://jdoe@proxy.test:3128',
    { username: 'jdoe', password: undefined, display: 'http://jdoe@proxy.test:3128' },
  ],
  [
    'http://:secret@proxy.test:3128',
    { username: '', password: 'secret', display: 'http://:***@proxy.test:3128' },
  ],
];

t.test('upstream URLs', async (t) => {
  for (const [url, want] of URLS) {
    const u = only(parse({ flags: { upstream: [url] } }));
    t.match(u, want, url);
    for (const [k, v] of Object.entries(want))
      if (v === undefined) t.notOk(k in u, `${url}: no ${k}`);
    if (u.password) t.notOk(u.display.includes(u.password), `${url}: display hides the password`);
  }
});

t.test('upstream mapping form', async (t) => {
  const upstream = [
    { url: 'https://proxy.test:8443', username: 'CORP\\jdoe', password: 'x@y:%z&' },
  ];
  const u = only(parse({ file: { upstream } }));
  t.match(u, { username: 'CORP\\jdoe', password: 'x@y:%z&', port: 8443 });
  t.equal(u.display, 'https://CORP\\jdoe:***@proxy.test:8443');
  t.match(only(parse({ file: { upstream: [{ url: 'http://p.test:1' }] } })), { id: 'p.test:1' });
  t.match(only(parse({ file: { upstream: 'http://single.test:1' } })), { id: 'single.test:1' });
});

t.test('order is kept; none means no upstream', async (t) => {
  const ids = parse({
    env: { CORPROXY_UPSTREAM: 'http://a.test:1, ,http://b.test:2,' },
  }).upstreams.map((u) => u.id);
  t.same(ids, ['a.test:1', 'b.test:2']);
  const env = { HTTPS_PROXY: 'http://corp.test:8080' };
  t.same(parse({ env, flags: { upstream: ['none'] } }).upstreams, []);
  t.same(
    parse({ env, file: { upstream: [] } }).upstreams,
    [],
    'an explicit empty list ignores HTTPS_PROXY',
  );
});

t.test('default upstream from HTTPS_PROXY / https_proxy', async (t) => {
  const cases: ReadonlyArray<
    readonly [string, ConfigInputs['env'], Partial<ConfigInputs>, string[]]
  > = [
    ['upper case', { HTTPS_PROXY: 'http://up.test:1' }, {}, ['up.test:1']],
    ['lower case', { https_proxy: 'http://low.test:2' }, {}, ['low.test:2']],
    [
      'upper case first',
      { HTTPS_PROXY: 'up.test:1', https_proxy: 'low.test:2' },
      {},
      ['up.test:1'],
    ],
    [
      'empty upper case skipped',
      { HTTPS_PROXY: '', https_proxy: 'low.test:2' },
      {},
      ['low.test:2'],
    ],
    ['HTTP_PROXY is not read', { HTTP_PROXY: 'http://plain.test:3' }, {}, []],
    ['points at corproxy', { HTTPS_PROXY: 'http://127.0.0.1:3129' }, {}, []],
    ['points at corproxy by name', { HTTPS_PROXY: 'http://localhost:3129' }, {}, []],
    ['points at corproxy over v6', { HTTPS_PROXY: 'http://[::1]:3129/' }, {}, []],
    [
      'points at another listen port',
      { HTTPS_PROXY: '127.0.0.1:4000' },
      { flags: { listen: ['4000'] } },
      [],
    ],
    ['another local proxy', { HTTPS_PROXY: 'http://127.0.0.1:3128' }, {}, ['127.0.0.1:3128']],
    [
      'old port after a move',
      { HTTPS_PROXY: 'http://127.0.0.1:3129' },
      { flags: { listen: ['4000'] } },
      ['127.0.0.1:3129'],
    ],
    [
      'configured upstream wins',
      { HTTPS_PROXY: 'http://up.test:1' },
      { flags: { upstream: ['http://mine.test:9'] } },
      ['mine.test:9'],
    ],
  ];
  for (const [name, env, over, want] of cases) {
    t.same(
      parse({ ...over, env }).upstreams.map((u) => u.id),
      want,
      name,
    );
  }
});

t.test('credentials from CORPROXY_UPSTREAM_USER / _PASSWORD fill gaps only', async (t) => {
  const pw = 'env-secret@:&%';
  const filled = parse({
    env: { CORPROXY_UPSTREAM_PASSWORD: pw },
    flags: { upstream: ['http://own:mine@a.test:1', 'http://jdoe@b.test:2', 'http://c.test:3'] },
  }).upstreams;
  t.same(
    filled.map((u) => [u.username, u.password]),
    [
      ['own', 'mine'],
      ['jdoe', pw],
      [undefined, undefined],
    ],
  );
  const both = parse({
    env: {
      CORPROXY_UPSTREAM_USER: 'envuser',
      CORPROXY_UPSTREAM_PASSWORD: pw,
      HTTPS_PROXY: 'http://corp.test:8080',
    },
  });
  t.match(only(both), {
    username: 'envuser',
    password: pw,
    display: 'http://envuser:***@corp.test:8080',
  });
  t.same(both.sources, ['defaults', 'environment']);
  const userOnly = parse({
    env: { CORPROXY_UPSTREAM_USER: 'u' },
    flags: { upstream: ['http://:pw@a.test:1'] },
  });
  t.match(only(userOnly), { username: 'u', password: 'pw' });
  const passwordOnly = parse({
    env: { CORPROXY_UPSTREAM_USER: 'u' },
    flags: { upstream: ['a.test:1'] },
  });
  t.match(only(passwordOnly), { username: 'u', display: 'http://u@a.test:1' });
});

const SECRET = 'Sup3r-s3cret';

// Upstream errors; none of the messages may contain the password.
const ERRORS: ReadonlyArray<readonly [string, Partial<ConfigInputs>, RegExp]> = [
  [
    'socks',
    { flags: { upstream: ['socks5://proxy.test:1080'] } },
    /^upstream\[0\]: socks5:\/\/ proxies are not supported; use an http:\/\/ or https:\/\/ proxy URL; from flag --upstream$/,
  ],
  [
    'not a URL',
    { flags: { upstream: [`http://jdoe:${SECRET}`] } },
    /^upstream\[0\]: is not a valid proxy URL; expected http:\/\/\[user\[:password\]@\]host\[:port\]; from flag --upstream$/,
  ],
  [
    'path',
    { flags: { upstream: [`http://jdoe:12/${SECRET}@proxy.test`] } },
    /^upstream\[0\]: has a path, query or fragment; .*DOMAIN%5Cuser/,
  ],
  [
    'backslash',
    { flags: { upstream: [`http://CORP\\jdoe:${SECRET}@proxy.test:8080`] } },
    /^upstream\[0\]: has a path, query or fragment/,
  ],
  [
    'query',
    { flags: { upstream: ['http://proxy.test:8080/?x=1'] } },
    /^upstream\[0\]: has a path, query or fragment/,
  ],
  [
    'bad percent',
    { flags: { upstream: [`http://jdoe:${SECRET}%zz@proxy.test`] } },
    /^upstream\[0\]: the user name or password holds a % not followed by two hex digits; write % as %25/,
  ],
  [
    'bad percent in user',
    { env: { CORPROXY_UPSTREAM: 'http://a%@proxy.test' } },
    /^upstream\[0\]: the user name .*; from environment variable CORPROXY_UPSTREAM$/,
  ],
  [
    'env HTTPS_PROXY',
    { env: { HTTPS_PROXY: 'socks5://x.test:1' } },
    /^upstream: socks5:\/\/ proxies are not supported.*; from environment variable HTTPS_PROXY$/,
  ],
  [
    'env https_proxy',
    { env: { https_proxy: `http://jdoe:${SECRET}@proxy.test:99999` } },
    /^upstream: is not a valid proxy URL.*https_proxy$/,
  ],
  [
    'self loop',
    { flags: { upstream: ['http://127.0.0.1:3129'] } },
    /^upstream\[0\]: 127\.0\.0\.1:3129 is corproxy's own listen address \(a loop\)/,
  ],
  [
    'duplicate',
    { flags: { upstream: ['http://p.test:80', 'p.test'] } },
    /^upstream\[1\]: p\.test:80 repeats upstream\[0\]; list each proxy once/,
  ],
  [
    'item type',
    { file: { upstream: [42] }, filePath: '/c.yaml' },
    /^upstream\[0\]: must be a proxy URL or a mapping with url, username, password; in config file \/c\.yaml$/,
  ],
  [
    'mapping typo',
    { file: { upstream: [{ url: 'http://p.test', pasword: SECRET }] } },
    /^upstream\[0\]\.pasword: unknown key \(did you mean password\?\)/,
  ],
  [
    'mapping without url',
    { file: { upstream: [{ username: 'u' }] } },
    /^upstream\[0\]\.url: is required, e\.g\. url: http:\/\/proxy\.corp:8080/,
  ],
  [
    'numeric password',
    { file: { upstream: [{ url: 'http://p.test', username: 'u', password: 98765 }] } },
    /^upstream\[0\]\.password: must be a string; quote it in YAML/,
  ],
  [
    'numeric user',
    { file: { upstream: [{ url: 'http://p.test', username: 1 }] } },
    /^upstream\[0\]\.username: must be a string/,
  ],
  [
    'credentials twice',
    { file: { upstream: [{ url: `http://u:${SECRET}@p.test`, password: SECRET }] } },
    /^upstream\[0\]: credentials are given both in url and as username\/password; keep one/,
  ],
  [
    'password unused',
    { env: { CORPROXY_UPSTREAM_PASSWORD: SECRET } },
    /^upstream: is set but no upstream has a user name without a password; add user@ .*CORPROXY_UPSTREAM_USER; from environment variable CORPROXY_UPSTREAM_PASSWORD$/,
  ],
  [
    'password not needed',
    { env: { CORPROXY_UPSTREAM_PASSWORD: SECRET }, flags: { upstream: ['http://p.test'] } },
    /^upstream: is set but no upstream has a user name without a password/,
  ],
  [
    'user unused',
    { env: { CORPROXY_UPSTREAM_USER: 'x' }, flags: { upstream: ['http://u@p.test'] } },
    /^upstream: is set but no upstream lacks a user name; .*from environment variable CORPROXY_UPSTREAM_USER$/,
  ],
];

t.test('upstream errors never show the password', async (t) => {
  for (const [name, inputs, message] of ERRORS) {
    const err = t.throws(() => parse(inputs), { code: 'CPX_ERR_CONFIG_INVALID', message }, name);
    t.notMatch(String((err as Error | undefined)?.message), SECRET, `${name}: no password`);
    t.notMatch(
      String((err as Error | undefined)?.message),
      '98765',
      `${name}: no numeric password`,
    );
  }
});
