import t from 'tap';
import {
  DEFAULTS,
  SECTIONS,
  deepFreeze,
  defaultConfigFiles,
  defaultStateDir,
} from '../../../src/config/defaults.js';

t.test('config file search path per platform', async (t) => {
  const cases: ReadonlyArray<readonly [NodeJS.Platform, Record<string, string>, string, string[]]> =
    [
      [
        'linux',
        {},
        '/home/dev',
        ['/home/dev/.config/corproxy/config.yaml', '/etc/corproxy/config.yaml'],
      ],
      [
        'linux',
        { XDG_CONFIG_HOME: '/xdg' },
        '/home/dev',
        ['/xdg/corproxy/config.yaml', '/etc/corproxy/config.yaml'],
      ],
      [
        'linux',
        { XDG_CONFIG_HOME: 'rel' },
        '/home/dev',
        ['/home/dev/.config/corproxy/config.yaml', '/etc/corproxy/config.yaml'],
      ],
      [
        'darwin',
        {},
        '/Users/dev',
        ['/Users/dev/.config/corproxy/config.yaml', '/etc/corproxy/config.yaml'],
      ],
      [
        'win32',
        { APPDATA: 'D:\\Roaming' },
        'C:\\Users\\dev',
        ['D:\\Roaming\\corproxy\\config.yaml'],
      ],
      ['win32', {}, 'C:\\Users\\dev', ['C:\\Users\\dev\\AppData\\Roaming\\corproxy\\config.yaml']],
    ];
  for (const [platform, env, home, want] of cases) {
    t.same(defaultConfigFiles(platform, env, home), want, `${platform} ${JSON.stringify(env)}`);
  }
});

t.test('state directory per platform', async (t) => {
  t.equal(defaultStateDir('linux', {}, '/home/dev'), '/home/dev/.local/state/corproxy');
  t.equal(defaultStateDir('freebsd', { XDG_STATE_HOME: '/s' }, '/home/dev'), '/s/corproxy');
  t.equal(
    defaultStateDir('darwin', {}, '/Users/dev'),
    '/Users/dev/Library/Application Support/corproxy',
  );
  t.equal(
    defaultStateDir('win32', {}, 'C:\\Users\\dev'),
    'C:\\Users\\dev\\AppData\\Local\\corproxy',
  );
});

t.test('defaults are deep-frozen and every section is a mapping', async (t) => {
  t.ok(Object.isFrozen(DEFAULTS));
  for (const section of SECTIONS) {
    t.ok(Object.isFrozen(DEFAULTS[section]), section);
    t.equal(typeof DEFAULTS[section], 'object', section);
  }
  t.throws(() => (DEFAULTS.probe.watch as string[]).push('x'), TypeError);
  const nested = deepFreeze({ a: { b: [{ c: 1 }] } });
  t.throws(() => Object.assign(nested.a.b[0] ?? {}, { c: 2 }), TypeError);
});
