import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import type { RouteDecision } from '../../../src/events.js';
import type { DirectRule } from '../../../src/route/no-proxy.js';
import { compileRoutes, decideRoute, type Routes } from '../../../src/route/router.js';

const UPSTREAM: RouteDecision = { kind: 'upstream', rule: 'default: upstream list' };
const NO_UPSTREAM: RouteDecision = { kind: 'direct', rule: 'default: no upstream configured' };

t.test('decision table: direct patterns, then module globs, then the default', async (t) => {
  const routes = compileRoutes({
    direct: ['corp.example', '10.0.0.0/8', '[2001:db8::1]:443', 'intranet.test:8443'],
    directModules: ['*.git.internal', 'github.com/corp/*'],
    hasUpstreams: true,
  });
  const cases: ReadonlyArray<readonly [string, number, RouteDecision]> = [
    ['corp.example', 443, { kind: 'direct', rule: 'direct "corp.example"' }],
    ['git.CORP.example.', 443, { kind: 'direct', rule: 'direct "corp.example"' }],
    ['10.1.1.1', 22, { kind: 'direct', rule: 'direct "10.0.0.0/8"' }],
    ['2001:db8::1', 443, { kind: 'direct', rule: 'direct "[2001:db8::1]:443"' }],
    ['2001:db8::1', 80, UPSTREAM],
    ['intranet.test', 8443, { kind: 'direct', rule: 'direct "intranet.test:8443"' }],
    ['intranet.test', 443, UPSTREAM],
    ['x.git.internal', 443, { kind: 'direct', rule: 'GOPRIVATE "*.git.internal"' }],
    ['github.com', 443, { kind: 'direct', rule: 'GOPRIVATE "github.com/corp/*"' }],
    ['proxy.golang.org', 443, UPSTREAM],
    ['sum.golang.org', 443, UPSTREAM],
    ['11.0.0.1', 443, UPSTREAM],
    ['notcorp.example', 443, UPSTREAM],
  ];
  for (const [host, port, want] of cases) {
    t.same(decideRoute({ host, port }, routes), want, `${host}:${port}`);
  }
});

t.test('the first matching rule names the decision', async (t) => {
  const broadFirst = compileRoutes({
    direct: ['*.corp.example', 'git.corp.example'],
    directModules: [],
    hasUpstreams: true,
  });
  t.equal(
    decideRoute({ host: 'git.corp.example', port: 443 }, broadFirst).rule,
    'direct "*.corp.example"',
  );
  const narrowFirst = compileRoutes({
    direct: ['git.corp.example', '*.corp.example'],
    directModules: [],
    hasUpstreams: true,
  });
  t.equal(
    decideRoute({ host: 'git.corp.example', port: 443 }, narrowFirst).rule,
    'direct "git.corp.example"',
  );
});

t.test('a direct pattern wins over a module glob matching the same host', async (t) => {
  const routes = compileRoutes({
    direct: ['git.corp'],
    directModules: ['git.corp'],
    hasUpstreams: true,
  });
  t.same(decideRoute({ host: 'git.corp', port: 443 }, routes), {
    kind: 'direct',
    rule: 'direct "git.corp"',
  });
});

t.test('defaults depend on whether an upstream is configured', async (t) => {
  const none = compileRoutes({ direct: [], directModules: [], hasUpstreams: false });
  t.same(decideRoute({ host: 'proxy.golang.org', port: 443 }, none), NO_UPSTREAM);
  const some = compileRoutes({ direct: [], directModules: [], hasUpstreams: true });
  t.same(decideRoute({ host: 'proxy.golang.org', port: 443 }, some), UPSTREAM);
  t.ok(Object.isFrozen(decideRoute({ host: 'a.example', port: 1 }, some)));
  t.ok(Object.isFrozen(decideRoute({ host: 'a.example', port: 1 }, none)));
  const noneButRule = compileRoutes({
    direct: ['corp.example'],
    directModules: [],
    hasUpstreams: false,
  });
  t.same(decideRoute({ host: 'corp.example', port: 443 }, noneButRule), {
    kind: 'direct',
    rule: 'direct "corp.example"',
  });
});

t.test('"*" sends everything direct, named as its rule', async (t) => {
  const routes = compileRoutes({ direct: ['*'], directModules: [], hasUpstreams: true });
  for (const host of ['proxy.golang.org', '10.0.0.1', '::1', 'localhost']) {
    t.same(decideRoute({ host, port: 443 }, routes), { kind: 'direct', rule: 'direct "*"' }, host);
  }
});

t.test('compiled routes are frozen and keep rule order', async (t) => {
  const routes = compileRoutes({
    direct: ['a.example', 'b.example'],
    directModules: ['c.example'],
    hasUpstreams: true,
  });
  t.ok(Object.isFrozen(routes));
  t.ok(Object.isFrozen(routes.rules));
  t.same(
    routes.rules.map((r) => r.pattern),
    ['a.example', 'b.example', 'c.example'],
  );
  t.equal(routes.hasUpstreams, true);
});

t.test('alternating targets get their own answers (the host memo never leaks)', async (t) => {
  const routes = compileRoutes({
    direct: ['corp.example'],
    directModules: [],
    hasUpstreams: true,
  });
  for (let i = 0; i < 20; i++) {
    const host = i % 2 === 0 ? 'corp.example' : 'public.example';
    const want = i % 2 === 0 ? 'direct' : 'upstream';
    t.equal(decideRoute({ host, port: 443 }, routes).kind, want, `${i}: ${host}`);
  }
});

t.test('decideRoute uses whatever rules it is given', async (t) => {
  const asked: string[] = [];
  const rule = (name: string, answer: boolean): DirectRule => ({
    pattern: name,
    rule: `test "${name}"`,
    matches: (host, port) => {
      asked.push(`${name}:${host}:${port}`);
      return answer;
    },
  });
  const routes: Routes = {
    rules: [rule('no', false), rule('yes', true), rule('never', true)],
    hasUpstreams: true,
  };
  t.same(decideRoute({ host: 'h.example', port: 8443 }, routes), {
    kind: 'direct',
    rule: 'test "yes"',
  });
  t.same(asked, ['no:h.example:8443', 'yes:h.example:8443'], 'stops at the first match');
});

t.test('invalid entries fail compilation with the list key and index', async (t) => {
  const cases = [
    { direct: ['ok.example', ':80'], directModules: [], key: 'direct', index: 1, pattern: ':80' },
    { direct: ['10.0.0.0/33'], directModules: [], key: 'direct', index: 0, pattern: '10.0.0.0/33' },
    {
      direct: [],
      directModules: ['a.example', 'b[.example'],
      key: 'directModules',
      index: 1,
      pattern: 'b[.example',
    },
    {
      direct: ['ok.example'],
      directModules: [' spaced.example'],
      key: 'directModules',
      index: 0,
      pattern: ' spaced.example',
    },
  ];
  for (const c of cases) {
    let caught: unknown;
    try {
      compileRoutes({ direct: c.direct, directModules: c.directModules, hasUpstreams: true });
    } catch (err) {
      caught = err;
    }
    t.type(caught, CorproxyError, c.pattern);
    const err = caught as CorproxyError;
    t.equal(err.code, 'CPX_ERR_CONFIG_INVALID');
    t.ok(err.message.startsWith(`${c.key}[${c.index}]: `), err.message);
    t.match(err.message, `"${c.pattern}"`);
    t.same(err.details, { key: c.key, index: c.index, pattern: c.pattern });
    t.type(err.cause, CorproxyError, 'keeps the original error as cause');
  }
});

t.test('errors that are not CorproxyErrors pass through unchanged', async (t) => {
  const notAString = 42 as unknown as string;
  t.throws(
    () => compileRoutes({ direct: [notAString], directModules: [], hasUpstreams: true }),
    TypeError,
  );
});
