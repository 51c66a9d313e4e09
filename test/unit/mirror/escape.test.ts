import t from 'tap';
import {
  checkModulePath,
  checkVersionText,
  escapePath,
  escapeVersion,
  unescapePath,
  unescapeVersion,
} from '../../../src/mirror/escape.js';

// Cases from golang.org/x/mod/module's escape and CheckPath tests.
t.test('escapePath and unescapePath round-trip case-encoded paths', async (t) => {
  const pairs: Array<[string, string]> = [
    ['github.com/Azure/azure-sdk-for-go', 'github.com/!azure/azure-sdk-for-go'],
    ['github.com/BurntSushi/toml', 'github.com/!burnt!sushi/toml'],
    ['golang.org/x/mod', 'golang.org/x/mod'],
    ['example.com/ALLCAPS', 'example.com/!a!l!l!c!a!p!s'],
  ];
  for (const [path, escaped] of pairs) {
    t.equal(escapePath(path), escaped, path);
    t.same(unescapePath(escaped), { ok: true, value: path }, escaped);
  }
});

t.test('unescapePath refuses invalid encodings and invalid paths', async (t) => {
  const bad = [
    'github.com/Azure/x', // upper case in an escaped path
    'github.com/!/x', // ! not before a-z
    'github.com/x!', // trailing !
    'github.com/!1x', // ! before a digit
    'github.com/ä', // non-ASCII
    'nodot/x', // first element without a dot
    'example.com//x', // double slash
    'example.com/x/', // trailing slash
    '-example.com/x', // leading dash
    'example.com/.x', // leading dot in an element
    'example.com/x.', // trailing dot
    'example.com/x y', // invalid char
    'example.com/con', // Windows reserved name
    'example.com/PROGRA~1'.toLowerCase(), // Windows short name
    'example.com/x/v1', // /v1 is not a valid major suffix
    'example.com/x/v0', // nor /v0
    'example.com/x/v1.2', // nor a dotted one
    'gopkg.in/yaml', // gopkg.in needs .vN
    'gopkg.in/yaml.v01', // no leading zero
    '',
  ];
  for (const p of bad) t.equal(unescapePath(p).ok, false, JSON.stringify(p));
});

t.test('checkModulePath accepts what Go accepts', async (t) => {
  const good = [
    'example.com/x/v2',
    'gopkg.in/yaml.v2',
    'gopkg.in/yaml.v0',
    'gopkg.in/check.v1-unstable',
    'example.com/a_b~c-d.e',
    'x.y',
  ];
  for (const p of good) t.equal(checkModulePath(p), undefined, p);
  t.match(checkModulePath('Example.com/x'), /first path element/);
  t.match(checkModulePath('example.com/x/v1'), /version suffix/);
  t.match(checkModulePath('example.com/x//y'), /double slash/);
});

t.test('versions escape like paths but allow file-name characters', async (t) => {
  t.equal(escapeVersion('v1.0.0-RC1'), 'v1.0.0-!r!c1');
  t.same(unescapeVersion('v1.0.0-!r!c1'), { ok: true, value: 'v1.0.0-RC1' });
  t.same(unescapeVersion('v2.0.0+incompatible'), { ok: true, value: 'v2.0.0+incompatible' });
  t.same(unescapeVersion('master'), { ok: true, value: 'master' });
  for (const v of ['V1', 'v1!', '..', 'v1.', '', 'a/b', 'x*y', 'x"y']) {
    t.equal(unescapeVersion(v).ok, false, JSON.stringify(v));
  }
  t.equal(checkVersionText('v1.2.3'), undefined);
  t.throws(() => escapeVersion('v1!'), /invalid version/);
  t.throws(() => escapePath('nodot/x'), /invalid module path/);
});
