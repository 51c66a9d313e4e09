import os from 'node:os';
import t from 'tap';
import yargs from 'yargs';
import { loadServeConfig, serveOptions } from '../../../src/cli/serve.js';
import { parseConfig, type Flags } from '../../../src/config/parse.js';

const load = (seen: Flags[]) => (flags: Flags) => {
  seen.push(flags);
  return parseConfig({ flags, env: {}, platform: 'linux', homedir: os.tmpdir() });
};

t.test('without fromSystem the OS settings are not read', async (t) => {
  const seen: Flags[] = [];
  const config = await loadServeConfig({ pac: 'none' }, () => undefined, {
    load: load(seen),
    importSystem: () => Promise.reject(new Error('must not run')),
  });
  t.equal(config.fromSystem, false);
  t.equal(seen.length, 1);
});

t.test(
  'with --from-system the import becomes a config layer and its notes are logged',
  async (t) => {
    const seen: Flags[] = [];
    const notes: string[] = [];
    const config = await loadServeConfig(
      { fromSystem: true, fallback: 'direct' },
      (n) => notes.push(n),
      {
        load: load(seen),
        importSystem: async () => ({
          settings: {
            source: 'GNOME gsettings org.gnome.system.proxy',
            upstream: ['http://proxy.corp.example:8080'],
            pac: 'http://wpad.corp.example/p.pac',
          },
          notes: ['SOCKS proxy not imported'],
        }),
      },
    );
    t.equal(seen.length, 2);
    t.same(
      config.upstreams.map((u) => u.id),
      ['proxy.corp.example:8080'],
    );
    t.equal(config.pac, 'http://wpad.corp.example/p.pac');
    t.equal(config.fallback, 'direct', 'flags stay in force');
    t.same(notes, ['--from-system: SOCKS proxy not imported']);
  },
);

t.test('a failing import fails the load', async (t) => {
  await t.rejects(
    loadServeConfig({ fromSystem: true }, () => undefined, {
      load: load([]),
      importSystem: () => Promise.reject(new Error('gsettings is not installed')),
    }),
    /gsettings is not installed/,
  );
});

t.test('serve takes --pac and --from-system', async (t) => {
  const args = await serveOptions(yargs([])).parseAsync([
    '--pac',
    'http://wpad.corp.example/p.pac',
    '--from-system',
  ]);
  t.equal(args.pac, 'http://wpad.corp.example/p.pac');
  t.equal(args.fromSystem, true);
});
