/** Layer 1, the proxy variables as Go, curl and git read them. */
import t from 'tap';
import {
  caseCheck,
  exportLine,
  goRouteChecks,
  noProxyCheck,
  type ProxyEnvInput,
} from '../../../src/doctor/env-proxy.js';
import { parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import { goHosts } from '../../../src/doctor/targets.js';
import type { RouteDecision } from '../../../src/events.js';

const CORPROXY = 'http://127.0.0.1:3129';
const hosts = goHosts(
  parseGoproxyList('https://proxy.golang.org,http://127.0.0.1:3129/mod/,direct'),
  parseGosumdb('sum.golang.org'),
  [],
);
const viaUpstream: RouteDecision = { kind: 'upstream', rule: 'default: upstream list' };

function input(env: Record<string, string>, route: RouteDecision = viaUpstream): ProxyEnvInput {
  return {
    env,
    hosts,
    own: [{ host: '127.0.0.1', port: 3129 }],
    proxyUrl: CORPROXY,
    corproxyRoute: () => route,
    sumdbViaProxy: true,
  };
}

const rows = (env: Record<string, string>, route?: RouteDecision) =>
  goRouteChecks(input(env, route)).map((c) => [c.name, c.status, c.summary]);

t.test('one row per non-loopback host: via corproxy passes', async (t) => {
  t.same(rows({ HTTPS_PROXY: CORPROXY }), [
    ['Go route to proxy.golang.org:443', 'pass', 'via corproxy (HTTPS_PROXY)'],
    ['Go route to sum.golang.org:443', 'pass', 'via corproxy (HTTPS_PROXY)'],
  ]);
  t.same(
    rows({ https_proxy: 'localhost:3129' })[0],
    ['Go route to proxy.golang.org:443', 'pass', 'via corproxy (https_proxy)'],
    'no scheme, localhost: still corproxy',
  );
});

t.test('another proxy, an https:// URL, an unparseable value', async (t) => {
  const other = goRouteChecks(input({ HTTPS_PROXY: 'http://u:secret@proxy.corp.test:8080' }))[0];
  t.match(other, {
    status: 'warn',
    summary: 'Go uses http://***:***@proxy.corp.test:8080, not corproxy',
  });
  t.same(other?.commands, [
    exportLine([
      ['HTTPS_PROXY', CORPROXY],
      ['https_proxy', CORPROXY],
    ]),
  ]);
  t.notMatch(JSON.stringify(other), /secret/, 'no password in the evidence');
  t.match(goRouteChecks(input({ HTTPS_PROXY: 'https://127.0.0.1:3129' }))[0], {
    status: 'fail',
    summary: /start TLS with corproxy/,
  });
  t.match(goRouteChecks(input({ HTTPS_PROXY: '127.0.0.1:3l29' }))[0], {
    status: 'fail',
    summary: /does not parse as a URL.*silently/,
    fix: /URL Go can parse/,
  });
});

t.test('direct: fine when corproxy goes direct too, else a failure naming the cause', async (t) => {
  t.same(rows({}, { kind: 'direct', rule: 'direct "golang.org"' })[0], [
    'Go route to proxy.golang.org:443',
    'pass',
    'direct, as corproxy would route it',
  ]);
  const none = goRouteChecks(input({}));
  t.match(none[0], {
    status: 'fail',
    summary: 'Go connects to proxy.golang.org:443 directly, not through corproxy',
  });
  t.match(
    none[1],
    { status: 'warn', summary: /unless a GOPROXY entry serves the checksum database/ },
    'the sumdb may be reached through GOPROXY',
  );
  const np = goRouteChecks(
    input({ HTTPS_PROXY: CORPROXY, NO_PROXY: 'corp.test,.golang.org', no_proxy: '.golang.org' }),
  )[0];
  t.match(np, { status: 'fail', summary: 'NO_PROXY entry ".golang.org" sends Go around corproxy' });
  t.same(np?.commands, ["export NO_PROXY='corp.test' no_proxy=''"]);
  t.match(goRouteChecks(input({ HTTPS_PROXY: CORPROXY, NO_PROXY: '*' }))[0], {
    status: 'fail',
    summary: /entry "\*"/,
  });
});

t.test('Go vs curl/git: upper case first vs lower case first', async (t) => {
  t.match(
    caseCheck(
      input({
        HTTPS_PROXY: CORPROXY,
        https_proxy: CORPROXY,
        HTTP_PROXY: CORPROXY,
        http_proxy: CORPROXY,
      }),
    ),
    { status: 'pass' },
  );
  t.match(caseCheck(input({})), { status: 'pass', evidence: ['no proxy variable is set'] });
  const split = caseCheck(
    input({ HTTPS_PROXY: CORPROXY, https_proxy: 'http://proxy.corp.test:8080' }),
  );
  t.match(split, {
    status: 'warn',
    evidence: [
      /HTTPS_PROXY=/,
      /https_proxy=/,
      /^https: Go → http:\/\/127\.0\.0\.1:3129 \(HTTPS_PROXY\); curl\/git → http:\/\/proxy\.corp\.test:8080 \(https_proxy\)$/,
    ],
  });
  t.equal(split.commands?.length, 1, 'only the scheme that differs');
  const upperHttp = caseCheck(input({ HTTPS_PROXY: CORPROXY, HTTP_PROXY: CORPROXY }));
  t.match(
    upperHttp,
    { status: 'warn', evidence: [/./, /./, /^http: Go → .*; curl\/git → none of http_proxy/] },
    'curl never reads HTTP_PROXY',
  );
});

t.test('NO_PROXY', async (t) => {
  t.match(noProxyCheck(input({})), { status: 'pass', summary: 'unset' });
  t.match(noProxyCheck(input({ NO_PROXY: 'a.test,b.test' })), {
    status: 'pass',
    summary: '2 entries Go can use',
    evidence: ['NO_PROXY=a.test,b.test'],
  });
  t.match(noProxyCheck(input({ NO_PROXY: 'a.test', no_proxy: 'b.test' })), {
    status: 'warn',
    summary: /differ: Go reads NO_PROXY/,
  });
  t.match(noProxyCheck(input({ no_proxy: 'a.test,bad/99' })), {
    status: 'warn',
    summary: 'entries Go cannot parse and skips: bad/99',
  });
});
