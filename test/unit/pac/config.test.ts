import t from 'tap';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';

const base = (over: Partial<ConfigInputs> = {}): ConfigInputs => ({
  env: {},
  flags: {},
  platform: 'linux',
  homedir: '/home/dev',
  cwd: '/srv/project',
  ...over,
});

t.test('pac and fromSystem default off', async (t) => {
  const c = parseConfig(base());
  t.equal(c.pac, '');
  t.equal(c.fromSystem, false);
});

t.test('pac accepts URLs, data: URLs, file URLs and paths', async (t) => {
  const url = 'http://u:p@wpad.corp.example/proxy.pac';
  t.equal(parseConfig(base({ flags: { pac: url } })).pac, url);
  t.equal(
    parseConfig(base({ env: { CORPROXY_PAC: 'data:,function%20FindProxyForURL(){}' } })).pac,
    'data:,function%20FindProxyForURL(){}',
  );
  t.equal(
    parseConfig(base({ flags: { pac: 'file:///etc/corp/proxy.pac' } })).pac,
    '/etc/corp/proxy.pac',
  );
  t.equal(
    parseConfig(base({ flags: { pac: 'proxy.pac' } })).pac,
    '/srv/project/proxy.pac',
    'flags: relative to the working directory',
  );
  t.equal(
    parseConfig(base({ file: { pac: 'pac/proxy.pac' }, filePath: '/etc/corproxy/config.yaml' }))
      .pac,
    '/etc/corproxy/pac/proxy.pac',
    'file: relative to the config file',
  );
  t.equal(
    parseConfig(base({ file: { pac: '~/proxy.pac' }, filePath: '/etc/corproxy/config.yaml' })).pac,
    '/home/dev/proxy.pac',
  );
  t.equal(
    parseConfig(
      base({
        platform: 'win32',
        homedir: 'C:\\Users\\dev',
        cwd: 'C:\\work',
        flags: { pac: 'C:\\corp\\proxy.pac' },
      }),
    ).pac,
    'C:\\corp\\proxy.pac',
  );
  for (const off of ['none', 'OFF', '', '  '])
    t.equal(parseConfig(base({ flags: { pac: off } })).pac, '', JSON.stringify(off));
  t.equal(
    parseConfig(
      base({ file: { pac: 'http://a/p.pac' }, filePath: '/c.yaml', flags: { pac: 'none' } }),
    ).pac,
    '',
    'a flag can turn the file PAC off',
  );
});

t.test('bad pac values name the key and where they came from, never the URL', async (t) => {
  t.throws(() => parseConfig(base({ flags: { pac: 'ftp://wpad/proxy.pac' } })), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message: /^pac: "ftp": URLs are not supported; .*from flag --pac$/,
  });
  let message = '';
  try {
    parseConfig(base({ flags: { pac: 'http://sec:ret@[bad/p.pac' } }));
  } catch (err) {
    message = (err as Error).message;
  }
  t.match(message, /^pac: is not a valid URL/);
  t.notMatch(message, /sec|ret/, 'the URL may hold credentials: never echoed');
  t.throws(
    () => parseConfig(base({ env: { CORPROXY_PAC: 'data:nocomma' } })),
    /pac: is not a valid data: URL: .*from environment variable CORPROXY_PAC/,
  );
  t.throws(
    () => parseConfig(base({ flags: { pac: 'file://remote-host/share/p.pac' } })),
    /pac: "file:\/\/remote-host\/share\/p.pac" is not a valid file: URL/,
  );
  t.throws(
    () => parseConfig(base({ file: { pac: 7 }, filePath: '/c.yaml' })),
    /pac: must be a string, got number; in config file \/c.yaml/,
  );
  t.throws(
    () => parseConfig(base({ cwd: undefined, flags: { pac: 'relative.pac' } })),
    /pac: "relative.pac" is relative/,
  );
});

t.test('fromSystem is a boolean from file, environment or flag', async (t) => {
  t.equal(parseConfig(base({ flags: { fromSystem: true } })).fromSystem, true);
  t.equal(parseConfig(base({ env: { CORPROXY_FROM_SYSTEM: 'yes' } })).fromSystem, true);
  t.equal(
    parseConfig(base({ file: { fromSystem: false }, filePath: '/c.yaml' })).fromSystem,
    false,
  );
  t.throws(
    () => parseConfig(base({ env: { CORPROXY_FROM_SYSTEM: 'maybe' } })),
    /fromSystem: "maybe" is not a boolean/,
  );
  t.throws(
    () => parseConfig(base({ file: { from_system: true }, filePath: '/c.yaml' })),
    /from_system: unknown key \(did you mean fromSystem\?\)/,
  );
});

t.test('an empty import adds no layer', async (t) => {
  const c = parseConfig(base({ flags: { imported: { source: 'nothing' } } }));
  t.notOk(c.sources.some((s) => s.startsWith('system')));
});
