import t from 'tap';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';

function parse(over: Partial<ConfigInputs> = {}): ReturnType<typeof parseConfig> {
  return parseConfig({
    env: {},
    flags: {},
    platform: 'linux',
    homedir: '/home/dev',
    ...over,
  });
}

t.test('defaults', async (t) => {
  t.same(parse().mirror, {
    enabled: true,
    upstream: [{ url: 'https://proxy.golang.org', fallBackOnError: false }],
    sumdb: [{ name: 'sum.golang.org', url: 'https://sum.golang.org' }],
    private: [],
    privateProxy: '',
    maxSizeBytes: 2 * 1024 ** 3,
    mutableTtlMs: 60_000,
    listen: [],
  });
});

t.test('a full mirror section from the file, and the environment', async (t) => {
  const c = parse({
    file: {
      mirror: {
        enabled: false,
        upstream: 'https://goproxy.corp.test/go|https://proxy.golang.org',
        sumdb: ['sum.golang.org', 'sum.corp.test https://sumdb.corp.test:8443/db/'],
        private: ['*.corp.test', 'github.com/corp/*/'],
        privateProxy: 'http://athens.corp.test:3000/',
        maxSize: '10MiB',
        mutableTtl: '5m',
        listen: ['127.0.0.1:3130', '[::1]:3130'],
      },
    },
    filePath: '/etc/corproxy/config.yaml',
  });
  t.same(c.mirror, {
    enabled: false,
    upstream: [
      { url: 'https://goproxy.corp.test/go', fallBackOnError: true },
      { url: 'https://proxy.golang.org', fallBackOnError: false },
    ],
    sumdb: [
      { name: 'sum.golang.org', url: 'https://sum.golang.org' },
      { name: 'sum.corp.test', url: 'https://sumdb.corp.test:8443/db' },
    ],
    private: ['*.corp.test', 'github.com/corp/*/'],
    privateProxy: 'http://athens.corp.test:3000',
    maxSizeBytes: 10 * 1024 ** 2,
    mutableTtlMs: 300_000,
    listen: [
      { host: '127.0.0.1', port: 3130 },
      { host: '::1', port: 3130 },
    ],
  });
  const env = parse({
    env: { CORPROXY_MIRROR: 'off', CORPROXY_MIRROR_UPSTREAM: 'a.test,b.test' },
  });
  t.equal(env.mirror.enabled, false);
  t.same(
    env.mirror.upstream.map((e) => e.url),
    ['https://a.test', 'https://b.test'],
  );
});

t.test('GONOPROXY/GOPRIVATE join mirror.private when directFromGoEnv is on', async (t) => {
  const c = parse({
    file: { directFromGoEnv: true, mirror: { private: ['x.corp.test'] } },
    filePath: '/c.yaml',
    env: { GOPRIVATE: '*.corp.test,x.corp.test' },
  });
  t.same(c.mirror.private, ['x.corp.test', '*.corp.test']);
  const off = parse({ env: { GOPRIVATE: '*.corp.test' } });
  t.same(off.mirror.private, [], 'not imported when off');
});

t.test('errors name the key and the problem', async (t) => {
  const file = (mirror: Record<string, unknown>): Partial<ConfigInputs> => ({
    file: { mirror },
    filePath: '/c.yaml',
  });
  const table: Array<[Record<string, unknown>, RegExp]> = [
    [
      { upstream: 'https://proxy.golang.org,direct' },
      /^mirror\.upstream: .*"direct" is not supported.*\/c\.yaml/,
    ],
    [{ upstream: 'off' }, /^mirror\.upstream: "off"/],
    [{ sumdb: ['sum.golang.org https://x.test extra'] }, /^mirror\.sumdb\[0\]: .*NAME URL/],
    [{ sumdb: ['Sum!'] }, /^mirror\.sumdb\[0\]/],
    [{ sumdb: ['s.test', 's.test'] }, /^mirror\.sumdb\[1\]: s\.test is listed twice/],
    [
      { sumdb: ['s.test ftp://s.test'] },
      /^mirror\.sumdb\[0\]: "ftp:\/\/s\.test" is not an http\(s\) URL/,
    ],
    [{ private: ['[bad'] }, /^mirror\.private\[0\]: .*syntax error/],
    [{ privateProxy: 'https://u:p@athens.test' }, /^mirror\.privateProxy: .*without credentials/],
    [{ privateProxy: 'not a url' }, /^mirror\.privateProxy/],
    [{ maxSize: 'lots' }, /^mirror\.maxSize/],
    [{ mutableTtl: 'soon' }, /^mirror\.mutableTtl/],
    [{ enabled: 'maybe' }, /^mirror\.enabled/],
    [{ listen: ['0.0.0.0:3130'] }, /^mirror\.listen\[0\]: .*loopback/],
    [{ listen: ['127.0.0.1:99999'] }, /^mirror\.listen\[0\]/],
    [{ listen: ['3130'] }, /^mirror\.listen\[0\]/],
    [{ upstrem: 'x' }, /^mirror\.upstrem: unknown key \(did you mean upstream\?\)/],
  ];
  for (const [mirror, message] of table) {
    t.throws(
      () => parse(file(mirror)),
      { code: 'CPX_ERR_CONFIG_INVALID', message },
      JSON.stringify(mirror),
    );
  }
});
