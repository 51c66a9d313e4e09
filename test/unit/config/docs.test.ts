import { readFileSync } from 'node:fs';
import t from 'tap';
import { FLAG_KEYS } from '../../../src/config/layers.js';
import {
  CONFIG_ENV,
  CREDENTIAL_ENV,
  DEFAULTS,
  ENV_KEYS,
  SECTIONS,
} from '../../../src/config/defaults.js';

const DOC = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');

function keyPaths(): string[] {
  return Object.entries(DEFAULTS).flatMap(([key, value]) =>
    (SECTIONS as readonly string[]).includes(key)
      ? [key, ...Object.keys(value as object).map((sub) => `${key}.${sub}`)]
      : [key],
  );
}

t.test('docs/configuration.md documents every key', async (t) => {
  const paths = keyPaths();
  t.ok(paths.length > 30, 'walks nested keys too');
  for (const key of paths) t.ok(DOC.includes(`\`${key}\``), key);
});

t.test('docs/configuration.md documents every environment variable', async (t) => {
  const names = [
    ...Object.keys(ENV_KEYS),
    CONFIG_ENV,
    CREDENTIAL_ENV.user,
    CREDENTIAL_ENV.password,
  ];
  for (const name of names) t.ok(DOC.includes(`\`${name}\``), name);
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    t.ok(DOC.includes(`| \`${name}\` | \`${key}\` |`), `${name} row names ${key}`);
  }
});

t.test('docs/configuration.md documents every flag', async (t) => {
  const flags = ['--config', ...FLAG_KEYS.map(([, , flag]) => flag)];
  for (const flag of flags) t.ok(DOC.includes(`| \`${flag}`), flag);
});
