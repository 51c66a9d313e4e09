/** `corproxy env --import`: recorded OS proxy settings printed as a config fragment. */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { runEnv } from '../../../src/cli/env.js';
import { importSystemProxy } from '../../../src/system-proxy/import.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/system-proxy/${name}`, import.meta.url), 'utf8');

async function importFrom(platform: NodeJS.Platform, file: string): Promise<string[]> {
  const printed: string[] = [];
  await runEnv(
    { import: true },
    {
      loadConfig: () => {
        throw new Error('--import must not need the config');
      },
      env: {},
      platform,
      print: (l) => printed.push(l),
      importSystem: () => importSystemProxy({ platform, run: async () => fixture(file) }),
    },
  );
  return printed;
}

/** The printed lines minus comments, read back as YAML. */
function configOf(lines: string[]): Record<string, unknown> {
  return parse(lines.filter((l) => !l.startsWith('#')).join('\n')) as Record<string, unknown>;
}

t.test('Windows manual proxy with bypass list', async (t) => {
  const lines = await importFrom('win32', 'reg-query-manual.txt');
  t.match(lines[0], /^# corproxy env --import: proxy settings read from Windows/);
  const config = configOf(lines);
  t.ok(Array.isArray(config.upstream) && (config.upstream as string[]).length > 0, 'upstream');
  t.match((config.upstream as string[])[0], /^http:\/\//);
});

t.test('a PAC URL becomes the pac key', async (t) => {
  const config = configOf(await importFrom('darwin', 'scutil-pac.txt'));
  t.type(config.pac, 'string');
  t.match(config.pac, /^https?:\/\//);
});

t.test('no proxy configured says corproxy would go direct', async (t) => {
  const lines = await importFrom('linux', 'gsettings-none.txt');
  t.match(lines.join('\n'), /no proxy is configured there/);
  t.same(configOf(lines), null);
});

t.test('a failing settings command is an error, not empty output', async (t) => {
  await t.rejects(
    runEnv(
      { import: true },
      {
        loadConfig: () => {
          throw new Error('unused');
        },
        env: {},
        platform: 'linux',
        print: () => undefined,
        importSystem: () =>
          importSystemProxy({
            platform: 'linux',
            run: async () => {
              throw Object.assign(new Error('spawn gsettings ENOENT'), { code: 'ENOENT' });
            },
          }),
      },
    ),
    { name: 'CorproxyError' },
  );
});
