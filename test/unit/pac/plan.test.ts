import os from 'node:os';
import t from 'tap';
import { parseConfig, type Flags } from '../../../src/config/parse.js';
import { CorproxyError } from '../../../src/errors.js';
import type { RouteDecision } from '../../../src/events.js';
import { connectUrl, hopForEntry, planRoute, type PlanContext } from '../../../src/pac/plan.js';
import type { PacDecision } from '../../../src/pac/runtime.js';
import { BadProxyList } from '../../../src/proxy/bad-proxies.js';
import { compileRoutes, decideRoute } from '../../../src/route/router.js';

const config = (flags: Flags) =>
  parseConfig({
    flags: { listen: ['127.0.0.1:3129'], ...flags },
    env: {},
    platform: 'linux',
    homedir: os.tmpdir(),
  });

const VIA: RouteDecision = { kind: 'upstream', rule: 'pac' };
const LIST: RouteDecision = { kind: 'upstream', rule: 'default: upstream list' };
const target = { host: 'www.example.org', port: 443 };

function ctx(
  flags: Flags,
  answer?: PacDecision,
  extra: Partial<Omit<PlanContext, 'badProxies'>> = {},
): PlanContext & { badProxies: BadProxyList; asked: string[]; warned: string[] } {
  const asked: string[] = [];
  const warned: string[] = [];
  return {
    config: config(flags),
    badProxies: new BadProxyList(60_000),
    ...(answer === undefined
      ? {}
      : {
          pac: {
            decide: async (url: string, host: string) => {
              asked.push(`${url} ${host}`);
              return answer;
            },
          },
        }),
    isSelf: (p) => p.host === '127.0.0.1' && p.port === 3129,
    warn: (m) => warned.push(m),
    ...extra,
    asked,
    warned,
  };
}

const ok = (answer: string): PacDecision => ({ ok: true, answer });
const failed: PacDecision = {
  ok: false,
  error: new CorproxyError('CPX_ERR_PAC_LOAD', 'pac: no PAC script loaded'),
};

t.test('the URL a PAC script sees for a CONNECT target', async (t) => {
  t.equal(connectUrl('a.example', 443), 'https://a.example/');
  t.equal(connectUrl('a.example', 80), 'http://a.example/');
  t.equal(connectUrl('a.example', 8443), 'https://a.example:8443/');
  t.equal(connectUrl('::1', 443), 'https://[::1]/');
});

t.test('direct decisions stay direct and never ask the PAC', async (t) => {
  const c = ctx({ upstream: ['http://proxy.example:8080'] }, ok('PROXY x:1'));
  const plan = await planRoute(
    target,
    'https://www.example.org/',
    { kind: 'direct', rule: 'direct "x"' },
    c,
  );
  t.same(plan, {
    hops: [{ kind: 'direct', id: 'DIRECT' }],
    rule: 'direct "x"',
    fallbackDirect: false,
  });
  t.same(c.asked, []);
  const none = await planRoute(
    target,
    'u',
    { kind: 'direct', rule: 'default: no upstream configured' },
    ctx({}),
  );
  t.equal(none.hops[0]?.kind, 'direct');
});

t.test('a PAC answer becomes hops: credentials only for configured upstreams', async (t) => {
  const c = ctx(
    { upstream: ['http://alice:pw@proxy-a.example:8080', 'https://bob:pw@proxy-b.example:8443'] },
    ok(
      'PROXY proxy-a.example:8080; PROXY proxy-b.example:8443; HTTPS other.example:443; DIRECT; SOCKS s:1',
    ),
  );
  const plan = await planRoute(target, 'https://www.example.org/', VIA, c);
  t.same(c.asked, ['https://www.example.org/ www.example.org']);
  t.equal(
    plan.rule,
    'pac: PROXY proxy-a.example:8080; PROXY proxy-b.example:8443; HTTPS other.example:443; DIRECT (skipped: SOCKS s:1)',
  );
  t.equal(plan.fallbackDirect, false, 'DIRECT is in the answer already');
  const proxies = plan.hops.flatMap((h) => (h.kind === 'upstream' ? [h.proxy] : []));
  t.equal(proxies[0]?.username, 'alice', 'same scheme, host and port as a configured upstream');
  t.equal(
    proxies[1]?.username,
    undefined,
    'bob is configured for https://, the PAC said PROXY (http)',
  );
  t.same(proxies[2], {
    protocol: 'https:',
    host: 'other.example',
    port: 443,
    display: 'https://other.example:443',
    id: 'other.example:443',
  });
  t.equal(plan.hops[3]?.kind, 'direct');
});

t.test('bad proxies go last; DIRECT moves ahead of them; fallback without DIRECT', async (t) => {
  const c = ctx({ fallback: 'direct' }, ok('PROXY a.example:1; PROXY b.example:2'));
  c.badProxies.markBad('a.example:1', 'down');
  const plan = await planRoute(target, 'u', VIA, c);
  t.same(
    plan.hops.map((h) => h.id),
    ['b.example:2', 'a.example:1'],
  );
  t.equal(plan.fallbackDirect, true);
  const withDirect = ctx({}, ok('PROXY a.example:1; DIRECT'));
  withDirect.badProxies.markBad('a.example:1', 'down');
  t.same(
    (await planRoute(target, 'u', VIA, withDirect)).hops.map((h) => h.id),
    ['DIRECT', 'a.example:1'],
  );
});

t.test('a PAC answer naming corproxy itself is dropped (it would loop)', async (t) => {
  const c = ctx({}, ok('PROXY 127.0.0.1:3129; PROXY real.example:8080'));
  const plan = await planRoute(target, 'u', VIA, c);
  t.same(
    plan.hops.map((h) => h.id),
    ['real.example:8080'],
  );
  t.match(c.warned[0], /ignoring 127.0.0.1:3129: it is corproxy itself/);
  await t.rejects(planRoute(target, 'u', VIA, ctx({}, ok('PROXY 127.0.0.1:3129'))), {
    code: 'CPX_ERR_NO_ROUTE',
  });
});

t.test('an answer with only SOCKS proxies is an error naming it', async (t) => {
  await t.rejects(
    planRoute(target, 'u', VIA, ctx({ fallback: 'direct' }, ok('SOCKS5 s.example:1080'))),
    {
      code: 'CPX_ERR_NO_ROUTE',
      message: /PAC answer "SOCKS5 s.example:1080" names no proxy corproxy can use/,
    },
  );
});

t.test('without a usable PAC answer: upstream list, else fallback, else an error', async (t) => {
  const withList = await planRoute(
    target,
    'u',
    VIA,
    ctx({ upstream: ['http://p.example:8080'], fallback: 'direct' }, failed),
  );
  t.same(
    withList.hops.map((h) => h.id),
    ['p.example:8080'],
  );
  t.equal(withList.rule, 'upstream list (pac: no PAC script loaded)');
  t.equal(withList.fallbackDirect, true);
  const fallback = await planRoute(target, 'u', VIA, ctx({ fallback: 'direct' }, failed));
  t.same(
    fallback.hops.map((h) => h.id),
    ['DIRECT'],
  );
  t.equal(fallback.rule, 'fallback: direct (pac: no PAC script loaded)');
  await t.rejects(planRoute(target, 'u', VIA, ctx({}, failed)), {
    code: 'CPX_ERR_NO_ROUTE',
    message: 'pac: no PAC script loaded; no upstream configured and fallback is none',
  });
});

t.test('the upstream list without PAC keeps its order rules', async (t) => {
  const c = ctx({ upstream: ['http://a.example:1', 'http://b.example:2'] });
  c.badProxies.markBad('a.example:1', 'down');
  const plan = await planRoute(target, 'u', LIST, c);
  t.same(
    plan.hops.map((h) => h.id),
    ['b.example:2', 'a.example:1'],
  );
  t.equal(plan.rule, 'default: upstream list');
  t.equal(plan.fallbackDirect, false);
});

t.test(
  'off the corporate network with fallback direct: direct at once, no PAC asked',
  async (t) => {
    const network = { isOff: () => true, status: () => ({ reason: 'every upstream failed' }) };
    const c = ctx(
      { fallback: 'direct', upstream: ['http://a.example:1'] },
      ok('PROXY a.example:1'),
      { network },
    );
    const plan = await planRoute(target, 'u', VIA, c);
    t.same(plan, {
      hops: [{ kind: 'direct', id: 'DIRECT' }],
      rule: 'fallback: direct (off the corporate network: every upstream failed)',
      fallbackDirect: false,
    });
    t.same(c.asked, []);
    const strict = ctx({ upstream: ['http://a.example:1'] }, undefined, { network });
    t.same(
      (await planRoute(target, 'u', LIST, strict)).hops.map((h) => h.id),
      ['a.example:1'],
      'fallback none never goes around the proxy',
    );
  },
);

t.test('hopForEntry matches configured upstreams case-insensitively, IPv6 bracketed', async (t) => {
  const up = config({ upstream: ['http://u:p@[fd00::1]:3128'] }).upstreams;
  const hop = hopForEntry({ kind: 'proxy', protocol: 'http:', host: 'fd00::1', port: 3128 }, up);
  t.equal(hop.kind === 'upstream' && hop.proxy.username, 'u');
  t.equal(hop.id, '[fd00::1]:3128');
});

t.test('decideRoute: direct rules first, then the PAC, then the upstream list', async (t) => {
  const routes = compileRoutes({
    direct: ['corp.example'],
    directModules: [],
    hasUpstreams: true,
    hasPac: true,
  });
  t.same(decideRoute({ host: 'git.corp.example', port: 443 }, routes), {
    kind: 'direct',
    rule: 'direct "corp.example"',
  });
  t.same(decideRoute({ host: 'www.example.org', port: 443 }, routes), {
    kind: 'upstream',
    rule: 'pac',
  });
  const noPac = compileRoutes({ direct: [], directModules: [], hasUpstreams: false });
  t.equal(noPac.hasPac, false);
  t.same(decideRoute({ host: 'x', port: 1 }, noPac), {
    kind: 'direct',
    rule: 'default: no upstream configured',
  });
});
