import t from 'tap';
import { parseConfig } from '../../../src/config/parse.js';
import { bypassToNoProxy, translate } from '../../../src/system-proxy/translate.js';

t.test('bypass entries in Go NO_PROXY syntax', async (t) => {
  const cases: ReadonlyArray<readonly [string, string | undefined]> = [
    ['*.corp.example', '*.corp.example'],
    ['Build.Internal', 'build.internal'],
    ['10.*', '10.0.0.0/8'],
    ['10.1.*.*', '10.1.0.0/16'],
    ['192.168.1.*', '192.168.1.0/24'],
    ['169.254/16', '169.254.0.0/16'],
    ['10/8', '10.0.0.0/8'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['::1', '::1'],
    ['fd00::/8', 'fd00::/8'],
    ['*', '*'],
    ['http://web.example', 'web.example'],
    ['git.example:8443', 'git.example:8443'],
    ['*corp*', undefined],
    ['*.corp.*', undefined],
    ['10.*.1.*', undefined],
    ['300.*', undefined],
    ['', undefined],
    ['a b', undefined],
  ];
  for (const [entry, want] of cases) t.equal(bypassToNoProxy(entry), want, entry);
});

t.test('translation to config values, with notes for what cannot be said', async (t) => {
  const { settings, notes } = translate({
    source: 'test settings',
    proxies: ['proxy.corp.example:8080', '[fd00::1]:3128'],
    bypass: ['*.corp.example', '10.*', '*corp*', '10.0.0.0/8'],
    bypassPlainNames: true,
    pac: 'http://wpad.corp.example/proxy.pac',
    notes: ['from the reader'],
  });
  t.same(settings, {
    source: 'test settings',
    upstream: ['http://proxy.corp.example:8080', 'http://[fd00::1]:3128'],
    direct: ['*.corp.example', '10.0.0.0/8'],
    pac: 'http://wpad.corp.example/proxy.pac',
  });
  t.equal(notes[0], 'from the reader');
  t.match(notes.join('\n'), /"\*corp\*" has no NO_PROXY equivalent/);
  t.match(notes.join('\n'), /plain host names/);
  const nothing = translate({
    source: 's',
    proxies: [],
    bypass: [],
    bypassPlainNames: false,
    notes: [],
  });
  t.same(nothing, { settings: { source: 's' }, notes: [] });
});

t.test('imported values compile as a config layer below the file', async (t) => {
  const { settings } = translate({
    source: 'test settings',
    proxies: ['proxy.corp.example:8080'],
    bypass: ['*.corp.example'],
    bypassPlainNames: false,
    pac: 'http://wpad.corp.example/proxy.pac',
    notes: [],
  });
  const base = { env: {}, platform: 'linux' as const, homedir: '/home/dev' };
  const c = parseConfig({ ...base, flags: { imported: settings } });
  t.same(
    c.upstreams.map((u) => u.display),
    ['http://proxy.corp.example:8080'],
  );
  t.same(c.direct, ['*.corp.example']);
  t.equal(c.pac, 'http://wpad.corp.example/proxy.pac');
  t.ok(c.sources.includes('system proxy settings (test settings)'));
  const fileWins = parseConfig({
    ...base,
    file: { upstream: ['http://mine.example:3128'], pac: 'none' },
    filePath: '/etc/corproxy/config.yaml',
    flags: { imported: settings },
  });
  t.same(
    fileWins.upstreams.map((u) => u.id),
    ['mine.example:3128'],
  );
  t.equal(fileWins.pac, '');
  t.same(
    fileWins.direct,
    ['*.corp.example'],
    'keys the file does not set still come from the system',
  );
  const envProxy = parseConfig({
    ...base,
    env: { HTTPS_PROXY: 'http://env.example:1' },
    flags: { imported: settings },
  });
  t.same(
    envProxy.upstreams.map((u) => u.id),
    ['proxy.corp.example:8080'],
    'system beats the daemon HTTPS_PROXY default',
  );
  t.throws(
    () =>
      parseConfig({
        ...base,
        flags: { imported: { source: 'bad settings', upstream: ['socks5://s:1'] } },
      }),
    /upstream\[0\]: .*from the system proxy settings \(bad settings\)/,
  );
});
