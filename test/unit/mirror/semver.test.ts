import t from 'tap';
import {
  canonical,
  compare,
  isCanonicalModuleVersion,
  isPrerelease,
  isValid,
} from '../../../src/mirror/semver.js';

t.test('validity and canonical form follow golang.org/x/mod/semver', async (t) => {
  const table: Array<[string, string]> = [
    ['v1', 'v1.0.0'],
    ['v1.2', 'v1.2.0'],
    ['v1.2.3', 'v1.2.3'],
    ['v1.2.3-pre.1', 'v1.2.3-pre.1'],
    ['v1.2.3+meta', 'v1.2.3'],
    ['v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20191109021931-daa7c04131f5'],
    ['1.2.3', ''],
    ['v1.2.3-01', ''],
    ['v01.2.3', ''],
    ['v1.2-pre', ''],
    ['master', ''],
  ];
  for (const [v, want] of table) {
    t.equal(canonical(v), want, v);
    t.equal(isValid(v), want !== '', `${v} valid`);
  }
});

t.test('only canonical versions (and +incompatible) name immutable content', async (t) => {
  t.ok(isCanonicalModuleVersion('v1.2.3'));
  t.ok(isCanonicalModuleVersion('v2.0.0+incompatible'));
  t.ok(isCanonicalModuleVersion('v0.0.0-20191109021931-daa7c04131f5'));
  t.notOk(isCanonicalModuleVersion('v1.2'));
  t.notOk(isCanonicalModuleVersion('v1.2.3+meta'));
  t.notOk(isCanonicalModuleVersion('master'));
});

t.test('compare orders versions as semver 2.0.0', async (t) => {
  const ordered = [
    'v0.9.0',
    'v1.0.0-alpha',
    'v1.0.0-alpha.1',
    'v1.0.0-alpha.beta',
    'v1.0.0-beta',
    'v1.0.0-beta.2',
    'v1.0.0-beta.11',
    'v1.0.0-rc.1',
    'v1.0.0',
    'v1.2.0',
    'v1.10.0',
    'v10.0.0',
  ];
  for (let i = 0; i < ordered.length - 1; i++) {
    t.equal(compare(ordered[i]!, ordered[i + 1]!), -1, `${ordered[i]} < ${ordered[i + 1]}`);
    t.equal(compare(ordered[i + 1]!, ordered[i]!), 1);
  }
  t.equal(compare('v1.2', 'v1.2.0'), 0);
  t.equal(compare('junk', 'v0.0.1'), -1);
  t.equal(compare('v0.0.1', 'junk'), 1);
  t.equal(compare('junk', 'other'), 0);
  t.ok(isPrerelease('v1.0.0-rc.1'));
  t.notOk(isPrerelease('v1.0.0'));
});
