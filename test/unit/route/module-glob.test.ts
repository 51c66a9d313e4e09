import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  compileModuleGlob,
  matchPath,
  parseModuleGlobList,
} from '../../../src/route/module-glob.js';

const BAD = 'bad';

// Go's path.Match test table (src/path/match_test.go): pattern, name, matched or BAD.
const GO_MATCH_TABLE: ReadonlyArray<readonly [string, string, boolean | typeof BAD]> = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', BAD],
  ['[-]', '-', BAD],
  ['[x-]', 'x', BAD],
  ['[x-]', '-', BAD],
  ['[x-]', 'z', BAD],
  ['[-x]', 'x', BAD],
  ['[-x]', '-', BAD],
  ['[-x]', 'a', BAD],
  ['\\', 'a', BAD],
  ['[a-b-c]', 'a', BAD],
  ['[', 'a', BAD],
  ['[^', 'a', BAD],
  ['[^bc', 'a', BAD],
  ['a[', 'a', BAD],
  ['a[', 'ab', BAD],
  ['a[', 'x', BAD],
  ['a/b[', 'x', BAD],
  ['*x', 'xxx', true],
];

// Further cases derived from path.Match's documented grammar.
const MORE_MATCH_CASES: ReadonlyArray<readonly [string, string, boolean | typeof BAD]> = [
  ['', '', true],
  ['', 'a', false],
  ['*', '', true],
  ['**', 'abc', true],
  ['a/*', 'a/', true],
  ['*/b', '/b', true],
  ['*/*', 'a/b', true],
  ['*/*', 'a/b/c', false],
  ['\\\\', '\\', true],
  ['\\a', 'a', true],
  ['[!a]', 'b', false], // "!" is not negation in Go
  ['[!a]', '!', true],
  ['[/]', '/', true], // classes may match "/", only "*" and "?" may not
  ['?', '', false],
  ['??', '☺', false],
  ['?', '😀', true], // one rune, two UTF-16 units
  ['a?c', 'a😀c', true],
  ['[😀-😂]', '😁', true],
  ['[^😀]', '😁', true],
  ['*😀', 'x😀', true],
  ['[a-c]*.corp', 'b1.corp', true],
  ['[a-c]*.corp', 'd1.corp', false],
  ['a*[', 'a', BAD],
  ['*\\', 'x', BAD],
  ['[\\', 'a', BAD],
  ['[a', 'a', BAD],
  ['[a-', 'a', BAD],
  ['[a-\\', 'a', BAD],
  ['x*[]', 'xy', BAD],
];

function outcome(pattern: string, name: string): boolean | typeof BAD {
  try {
    return matchPath(pattern, name);
  } catch (err) {
    if (err instanceof CorproxyError && err.code === 'CPX_ERR_CONFIG_INVALID') return BAD;
    throw err;
  }
}

t.test("matchPath reproduces Go's path.Match test table", async (t) => {
  for (const [pattern, name, want] of GO_MATCH_TABLE) {
    t.equal(outcome(pattern, name), want, `Match(${pattern}, ${name})`);
  }
});

t.test('matchPath: further grammar cases', async (t) => {
  for (const [pattern, name, want] of MORE_MATCH_CASES) {
    t.equal(outcome(pattern, name), want, `Match(${pattern}, ${name})`);
  }
});

t.test('matchPath names the malformed pattern', async (t) => {
  t.throws(() => matchPath('a[', 'a'), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message: /module glob "a\[": syntax error in pattern/,
  });
});

t.test('parseModuleGlobList splits like module.MatchPrefixPatterns', async (t) => {
  const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['', []],
    [',,', []],
    ['/', []],
    ['a.com,,b.com/,c.com//', ['a.com', 'b.com', 'c.com/']],
    ['a.com, b.com', ['a.com', ' b.com']], // Go does not trim
    ['*.corp.example,github.com/corp/*', ['*.corp.example', 'github.com/corp/*']],
  ];
  for (const [value, want] of cases) {
    t.same(parseModuleGlobList(value), want, JSON.stringify(value));
  }
});

t.test('compileModuleGlob matches the host against the first path element', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['*.corp.example', 'git.corp.example', true],
    ['*.corp.example', 'a.b.corp.example', true], // "*" crosses dots, not slashes
    ['*.corp.example', 'corp.example', false],
    ['corp.example', 'corp.example', true],
    ['corp.example', 'git.corp.example', false], // a glob, not a domain suffix
    ['corp.example', 'corp.example.evil', false],
    ['git.corp.example/team', 'git.corp.example', true],
    ['git.corp.example/team/*', 'git.corp.example', true],
    ['github.com/corp/*', 'github.com', true],
    ['github.com/corp/*', 'gitlab.com', false],
    ['corp.example/', 'corp.example', true],
    ['Git.Corp.Example', 'git.corp.example', true],
    ['git.corp.example', 'GIT.CORP.EXAMPLE.', true],
    ['git?.corp', 'git1.corp', true],
    ['git?.corp', 'git12.corp', false],
    ['git[0-9].corp', 'git5.corp', true],
    ['git[0-9].corp', 'gitx.corp', false],
    ['git[^0-9].corp', 'gitx.corp', true],
    ['git\\*.corp', 'git*.corp', true],
    ['git\\*.corp', 'gitx.corp', false],
    ['*', 'anything.example', true],
    ['*', '2001:db8::1', true],
    ['xn--bcher-kva.example', 'bücher.example', true],
    ['*.example', 'BÜCHER.example', true],
  ];
  for (const [glob, host, want] of cases) {
    const rule = compileModuleGlob(glob);
    t.equal(rule.matches(host, 443), want, `${glob} vs ${host}`);
  }
});

t.test('module glob rules ignore the port and describe themselves', async (t) => {
  const rule = compileModuleGlob('git.corp.example/team');
  t.ok(rule.matches('git.corp.example', 1));
  t.ok(rule.matches('git.corp.example', 65535));
  t.equal(rule.pattern, 'git.corp.example/team');
  t.equal(rule.rule, 'GOPRIVATE "git.corp.example/team"');
  t.ok(Object.isFrozen(rule));
});

t.test('compileModuleGlob rejects globs that can never match', async (t) => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['', 'empty glob'],
    ['/', 'empty glob'],
    ['//', 'starts with "/"'],
    ['/corp/x', 'starts with "/"'],
    ['[', 'syntax error in pattern'],
    ['git[.corp', 'syntax error in pattern'],
    ['git.corp/[', 'syntax error in pattern'], // Go ignores the whole glob, so must we
    ['git.corp/a\\', 'syntax error in pattern'],
    ['[]a]', 'syntax error in pattern'],
    ['[x-]', 'syntax error in pattern'],
    [' b.com', 'contains whitespace'],
    ['b.com ', 'contains whitespace'],
    ['a b', 'contains whitespace'],
  ];
  for (const [glob, why] of cases) {
    t.throws(
      () => compileModuleGlob(glob),
      {
        code: 'CPX_ERR_CONFIG_INVALID',
        message: new RegExp(
          `^module glob "${glob.replace(/[[\]\\/*.]/g, '\\$&')}": .*${why.replace(/[[\]\\/*.]/g, '\\$&')}`,
        ),
        details: { pattern: glob },
      },
      JSON.stringify(glob),
    );
  }
});
