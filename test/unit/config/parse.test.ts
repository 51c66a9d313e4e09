import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';
import type { Config } from '../../../src/config/types.js';

const HOME = '/home/dev';
const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));

function parse(over: Partial<ConfigInputs> = {}): Config {
  return parseConfig({ env: {}, flags: {}, platform: 'linux', homedir: HOME, ...over });
}

function fixture(name: string): { file: unknown; filePath: string } {
  const filePath = `${FIXTURES}${name}`;
  return { file: parseYaml(readFileSync(filePath, 'utf8')), filePath };
}

t.test('defaults', async (t) => {
  const c = parse();
  t.same(c.listen, [
    { host: '127.0.0.1', port: 3129 },
    { host: '::1', port: 3129 },
  ]);
  t.same(c.allow, []);
  t.same(c.upstreams, []);
  t.equal(c.fallback, 'none');
  t.same(c.direct, []);
  t.same(c.directModules, []);
  t.equal(c.directFromGoEnv, false);
  t.same(c.hosts, {});
  t.equal(c.stateDir, '/home/dev/.local/state/corproxy');
  t.same(c.log, {
    file: '/home/dev/.local/state/corproxy/connections.log',
    level: 'info',
    maxSizeBytes: 10 * 1024 * 1024,
    maxFiles: 5,
  });
  t.same(c.limits, {
    headerTimeoutMs: 30_000,
    connectTimeoutMs: 10_000,
    idleTimeoutMs: 600_000,
    keepAliveMs: 30_000,
    maxConnections: 4096,
    maxHeaderSize: 65_536,
    drainTimeoutMs: 10_000,
    badProxyMs: 300_000,
  });
  t.same(c.probe, {
    enabled: true,
    watch: ['proxy.golang.org', 'sum.golang.org', 'github.com'],
    cleanTtlMs: 1_800_000,
    interceptedTtlMs: 21_600_000,
    failureTtlMs: 60_000,
    extraPublicRoots: '',
    timeoutMs: 10_000,
  });
  t.same(c.trust, { fingerprints: [], bundle: '' });
  t.same(c.sources, ['defaults']);
});

t.test('platform state directories', async (t) => {
  const cases: ReadonlyArray<readonly [NodeJS.Platform, ConfigInputs['env'], string, string]> = [
    ['linux', { XDG_STATE_HOME: '/xdg/state' }, '/xdg/state/corproxy', '/'],
    ['linux', { XDG_STATE_HOME: 'relative/ignored' }, '/home/dev/.local/state/corproxy', '/'],
    ['darwin', {}, '/home/dev/Library/Application Support/corproxy', '/'],
    [
      'win32',
      { LOCALAPPDATA: 'C:\\Users\\dev\\AppData\\Local' },
      'C:\\Users\\dev\\AppData\\Local\\corproxy',
      '\\',
    ],
  ];
  for (const [platform, env, stateDir, sep] of cases) {
    const c = parse({ platform, env, homedir: platform === 'win32' ? 'C:\\Users\\dev' : HOME });
    t.equal(c.stateDir, stateDir, `${platform} ${JSON.stringify(env)}`);
    t.equal(c.log.file, `${stateDir}${sep}connections.log`);
  }
});

t.test('every key of a full file is read', async (t) => {
  const { file, filePath } = fixture('full.yaml');
  const c = parse({ file, filePath, env: { GOPRIVATE: '*.corp.test' } });
  t.same(c.listen, [
    { host: '127.0.0.1', port: 4100 },
    { host: '::1', port: 4100 },
    { host: '10.9.8.7', port: 4100 },
  ]);
  t.same(c.allow, ['10.0.0.0/8', 'fd00::/8']);
  t.same(
    c.upstreams.map((u) => u.id),
    ['proxy1.corp.test:8080', 'proxy2.corp.test:443'],
  );
  t.equal(c.fallback, 'none');
  t.same(c.direct, ['git.corp.test', '.internal.test']);
  t.same(c.directModules, ['*.corp.test']);
  t.same(c.hosts, { 'goproxy.corp.test': '10.1.2.3' });
  t.equal(c.stateDir, `${FIXTURES}state`);
  t.same(c.log, {
    file: `${FIXTURES}logs/conn.log`,
    level: 'debug',
    maxSizeBytes: 1 << 20,
    maxFiles: 2,
  });
  t.same(c.limits, {
    headerTimeoutMs: 5000,
    connectTimeoutMs: 2000,
    idleTimeoutMs: 3_600_000,
    keepAliveMs: 15_000,
    maxConnections: 100,
    maxHeaderSize: 16_384,
    drainTimeoutMs: 3000,
    badProxyMs: 90_000,
  });
  t.same(c.probe, {
    enabled: false,
    watch: ['goproxy.corp.test:8443'],
    cleanTtlMs: 600_000,
    interceptedTtlMs: 3_600_000,
    failureTtlMs: 30_000,
    extraPublicRoots: `${FIXTURES}roots.pem`,
    timeoutMs: 5000,
  });
  t.same(c.trust.fingerprints, [`AB:CD:EF:01:23:45:67:89:`.repeat(4).slice(0, -1)]);
  t.equal(c.trust.bundle, '/srv/corproxy/ca-bundle.pem');
  t.same(c.sources, ['defaults', filePath, 'environment']);
});

// Each row sets one key in three layers; the later layer must win over the earlier ones.
t.test('each layer overrides the previous one', async (t) => {
  type Row = {
    key: string;
    file: Record<string, unknown>;
    env: Record<string, string>;
    flags: ConfigInputs['flags'];
    read: (c: Config) => unknown;
    values: readonly [unknown, unknown, unknown];
  };
  const rows: Row[] = [
    {
      key: 'listen',
      file: { listen: [4001] },
      env: { CORPROXY_LISTEN: '127.0.0.1:4002' },
      flags: { listen: ['[::1]:4003'] },
      read: (c) => c.listen.map((a) => `${a.host} ${a.port}`).join(','),
      values: ['127.0.0.1 4001,::1 4001', '127.0.0.1 4002', '::1 4003'],
    },
    {
      key: 'upstream',
      file: { upstream: ['http://a.corp.test:1'] },
      env: { CORPROXY_UPSTREAM: 'http://b.corp.test:2' },
      flags: { upstream: ['http://c.corp.test:3'] },
      read: (c) => c.upstreams.map((u) => u.id).join(','),
      values: ['a.corp.test:1', 'b.corp.test:2', 'c.corp.test:3'],
    },
    {
      key: 'direct',
      file: { direct: ['a.test'] },
      env: { CORPROXY_DIRECT: 'b.test, c.test' },
      flags: { direct: ['d.test,e.test', 'f.test'] },
      read: (c) => c.direct.join(','),
      values: ['a.test', 'b.test,c.test', 'd.test,e.test,f.test'],
    },
    {
      key: 'allow',
      file: { allow: ['10.0.0.1'] },
      env: { CORPROXY_ALLOW: '10.0.0.2' },
      flags: { allow: ['10.0.0.3/32'] },
      read: (c) => c.allow.join(','),
      values: ['10.0.0.1', '10.0.0.2', '10.0.0.3/32'],
    },
    {
      key: 'hosts',
      file: { hosts: { 'a.test': '10.0.0.1' } },
      env: { CORPROXY_HOSTS: 'b.test=10.0.0.2' },
      flags: { hosts: ['C.test=[::1]'] },
      read: (c) => JSON.stringify(c.hosts),
      values: ['{"a.test":"10.0.0.1"}', '{"b.test":"10.0.0.2"}', '{"c.test":"::1"}'],
    },
    {
      key: 'fallback',
      file: { fallback: 'none' },
      env: { CORPROXY_FALLBACK: 'direct' },
      flags: { fallback: 'none' },
      read: (c) => c.fallback,
      values: ['none', 'direct', 'none'],
    },
    {
      key: 'directFromGoEnv',
      file: { directFromGoEnv: true },
      env: { CORPROXY_DIRECT_FROM_GO_ENV: 'off' },
      flags: { directFromGoEnv: true },
      read: (c) => c.directFromGoEnv,
      values: [true, false, true],
    },
    {
      key: 'stateDir',
      file: { stateDir: '/file/state' },
      env: { CORPROXY_STATE_DIR: '/env/state' },
      flags: { stateDir: '/flag/state' },
      read: (c) => c.stateDir,
      values: ['/file/state', '/env/state', '/flag/state'],
    },
    {
      key: 'log.file',
      file: { log: { file: '/file.log' } },
      env: { CORPROXY_LOG: '/env.log' },
      flags: { log: 'off' },
      read: (c) => c.log.file,
      values: ['/file.log', '/env.log', ''],
    },
    {
      key: 'log.level',
      file: { log: { level: 'warn' } },
      env: { CORPROXY_LOG_LEVEL: 'DEBUG' },
      flags: {},
      read: (c) => c.log.level,
      values: ['warn', 'debug', 'debug'],
    },
  ];
  for (const row of rows) {
    const filePath = '/etc/corproxy/config.yaml';
    const base = { file: row.file, filePath };
    t.equal(row.read(parse(base)), row.values[0], `${row.key}: file over defaults`);
    t.equal(row.read(parse({ ...base, env: row.env })), row.values[1], `${row.key}: env over file`);
    const all = parse({ ...base, env: row.env, flags: row.flags });
    t.equal(row.read(all), row.values[2], `${row.key}: flags over env`);
  }
});

t.test('sources name the layers that set something', async (t) => {
  t.same(parse({ flags: { listen: ['4000'] } }).sources, ['defaults', 'flags']);
  t.same(parse({ env: { CORPROXY_LISTEN: '4000' } }).sources, ['defaults', 'environment']);
  t.same(parse({ env: { HTTPS_PROXY: 'http://p.test:1' } }).sources, ['defaults', 'environment']);
  t.same(parse({ env: { UNRELATED: 'x' } }).sources, ['defaults']);
  t.same(parse({ file: null, filePath: '/e.yaml' }).sources, ['defaults', '/e.yaml']);
});

t.test('the result is deep-frozen', async (t) => {
  const c = parse({
    env: { HTTPS_PROXY: 'http://p.test:1' },
    flags: { hosts: ['a.test=10.0.0.1'] },
  });
  const mutations: Array<[string, () => void]> = [
    ['top level', () => Object.assign(c, { fallback: 'none' })],
    ['listen list', () => (c.listen as unknown[]).push({ host: '0.0.0.0', port: 1 })],
    ['listen entry', () => Object.assign(c.listen[0] ?? {}, { port: 1 })],
    ['upstream entry', () => Object.assign(c.upstreams[0] ?? {}, { host: 'evil.test' })],
    ['hosts map', () => Object.assign(c.hosts, { 'b.test': '10.0.0.2' })],
    ['limits', () => Object.assign(c.limits, { maxConnections: 1 })],
    ['probe.watch', () => (c.probe.watch as string[]).push('x.test')],
    ['sources', () => (c.sources as string[]).push('x')],
  ];
  for (const [name, mutate] of mutations) t.throws(mutate, TypeError, name);
  t.equal(c.fallback, 'none');
  t.equal(c.limits.maxConnections, 4096);
});

t.test('value forms', async (t) => {
  const durations: ReadonlyArray<readonly [unknown, number]> = [
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    [1500, 1500],
    ['1500', 1500],
    [2 ** 31 - 1, 2 ** 31 - 1],
  ];
  for (const [value, ms] of durations) {
    const c = parse({ file: { limits: { idleTimeout: value } } });
    t.equal(c.limits.idleTimeoutMs, ms, `duration ${JSON.stringify(value)}`);
  }
  const sizes: ReadonlyArray<readonly [unknown, number]> = [
    ['64KiB', 65_536],
    ['10 MiB', 10_485_760],
    ['1mb', 1_000_000],
    ['2KB', 2000],
    ['1GiB', 1024 ** 3],
    [2048, 2048],
    ['4096', 4096],
    ['512B', 512],
  ];
  for (const [value, bytes] of sizes) {
    const c = parse({ file: { limits: { maxHeaderSize: value } } });
    t.equal(c.limits.maxHeaderSize, bytes, `size ${JSON.stringify(value)}`);
  }
  for (const [word, value] of [
    ['yes', true],
    ['1', true],
    ['ON', true],
    ['no', false],
    ['0', false],
  ] as const) {
    t.equal(parse({ env: { CORPROXY_DIRECT_FROM_GO_ENV: word } }).directFromGoEnv, value, word);
  }
  t.equal(parse({ file: { log: { maxFiles: '7' } } }).log.maxFiles, 7);
});

t.test('listen forms', async (t) => {
  const cases: ReadonlyArray<readonly [string[], string[]]> = [
    [['4000'], ['127.0.0.1:4000', '::1:4000']],
    [['localhost:4001'], ['127.0.0.1:4001', '::1:4001']],
    [['127.0.0.1:0'], ['127.0.0.1:0']],
    [
      ['[::1]:4002', '4002'],
      ['::1:4002', '127.0.0.1:4002'],
    ],
    [['127.0.0.5:4003,127.0.0.5:4003'], ['127.0.0.5:4003']],
    [['[FD00::1]:4004'], ['fd00::1:4004']],
  ];
  for (const [listen, want] of cases) {
    const allow = listen.some((l) => l.includes('FD00')) ? ['fd00::/8'] : [];
    const c = parse({ flags: { listen, allow } });
    t.same(
      c.listen.map((a) => `${a.host}:${a.port}`),
      want,
      listen.join(' '),
    );
  }
});

t.test('a non-loopback listen address needs an allow list', async (t) => {
  const c = parse({ flags: { listen: ['0.0.0.0:3129'], allow: ['10.0.0.0/8', '192.0.2.7'] } });
  t.same(c.allow, ['10.0.0.0/8', '192.0.2.7']);
  t.same(parse({ flags: { listen: ['127.0.0.2:3129'] } }).allow, [], 'all of 127/8 is loopback');
  t.throws(() => parse({ flags: { listen: ['0.0.0.0:3129'] } }), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message:
      /^listen: 0\.0\.0\.0:3129 is not a loopback address .*open proxy.*allow.*from flag --listen$/,
  });
  t.throws(() => parse({ file: { listen: ['[::]:3129'] }, filePath: '/c.yaml' }), {
    message: /^listen: \[::\]:3129 is not a loopback address.*in config file \/c\.yaml$/,
  });
});

t.test('hosts, direct, fingerprints and paths are normalised', async (t) => {
  const c = parse({
    file: {
      hosts: { 'Git.Corp.Test.': '[fd00::5]' },
      direct: 'a.test,,a.test, b.test',
      trust: { fingerprints: ['sha256:' + 'ab'.repeat(32), 'AB'.repeat(32)] },
      stateDir: '~/state',
      probe: { watch: ['Proxy.Golang.Org', 'proxy.golang.org'], extraPublicRoots: 'roots.pem' },
    },
    filePath: '/etc/corproxy/config.yaml',
    flags: { log: 'logs/c.log' },
    cwd: '/srv/project',
  });
  t.same(c.hosts, { 'git.corp.test': 'fd00::5' });
  t.same(c.direct, ['a.test', 'b.test']);
  t.same(c.trust.fingerprints, [Array(32).fill('AB').join(':')]);
  t.equal(c.stateDir, '/home/dev/state');
  t.equal(c.log.file, '/srv/project/logs/c.log', 'flag paths resolve against cwd');
  t.equal(c.probe.extraPublicRoots, '/etc/corproxy/roots.pem', 'file paths against the file');
  t.same(c.probe.watch, ['proxy.golang.org']);
  t.equal(parse({ file: { log: { file: '' } } }).log.file, '');
  t.equal(parse({ env: { CORPROXY_LOG: 'OFF' } }).log.file, '');
  t.equal(parse({ flags: { stateDir: '~' } }).stateDir, HOME);
});

t.test('directFromGoEnv imports NO_PROXY and GONOPROXY/GOPRIVATE', async (t) => {
  const env = {
    NO_PROXY: 'Corp.Test, 10.0.0.0/8',
    no_proxy: 'ignored.test',
    GOPRIVATE: '*.private.test',
  };
  const off = parse({ env, flags: { direct: ['own.test'] } });
  t.same([off.direct, off.directModules], [['own.test'], []], 'nothing imported when off');
  const on = parse({ env, flags: { direct: ['own.test'], directFromGoEnv: true } });
  t.same(on.direct, ['own.test', 'corp.test', '10.0.0.0/8']);
  t.same(on.directModules, ['*.private.test']);
  const lower = parse({ env: { no_proxy: 'low.test' }, flags: { directFromGoEnv: true } });
  t.same(lower.direct, ['low.test'], 'no_proxy when NO_PROXY is unset');
  const both = { GOPRIVATE: 'a.test', GONOPROXY: 'b.test/*,c.test/' };
  const nop = parse({ env: both, flags: { directFromGoEnv: true } });
  t.same(nop.directModules, ['b.test/*', 'c.test'], 'GONOPROXY overrides GOPRIVATE');
  const empty = parse({ env: { ...both, GONOPROXY: '' }, flags: { directFromGoEnv: true } });
  t.same(empty.directModules, ['a.test'], 'an empty GONOPROXY falls back to GOPRIVATE');
  t.same(empty.sources, ['defaults', 'environment', 'flags']);
});
