/** Layer 1, go's own settings. No fix ever turns verification off. */
import t from 'tap';
import {
  goproxyCheck,
  gosumdbCheck,
  insecureCheck,
  privateCheck,
} from '../../../src/doctor/env-go.js';
import { goSettings, parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import type { Check } from '../../../src/doctor/types.js';

const settings = (env: Record<string, string>) => goSettings(undefined, env);
const proxyRow = (value: string) =>
  goproxyCheck(settings({ GOPROXY: value }), parseGoproxyList(value));

t.test('GOPROXY', async (t) => {
  t.match(proxyRow('https://a.test,https://b.test|direct'), {
    status: 'pass',
    summary: '2 module proxies, then direct',
    evidence: [
      /GOPROXY=.*\(from environment\)/,
      '1. https://a.test (, next only on 404/410)',
      '2. https://b.test (| next on any error)',
      "3. direct: fetch from the module's VCS",
    ],
  });
  t.match(proxyRow('https://a.test'), { status: 'pass', summary: '1 module proxy' });
  t.match(proxyRow('off'), {
    status: 'fail',
    summary: /downloads no module/,
    commands: ['go env -w GOPROXY=https://proxy.golang.org,direct'],
  });
  t.match(proxyRow(','), { status: 'fail', summary: /contains no entries/ });
  t.match(proxyRow('https://a.test,direct,https://b.test'), {
    status: 'warn',
    summary: 'entries after direct are ignored: https://b.test',
  });
});

t.test('GOSUMDB', async (t) => {
  const row = (v: string) => gosumdbCheck(settings({ GOSUMDB: v }), parseGosumdb(v));
  t.match(row('sum.golang.org'), {
    status: 'pass',
    summary: 'sum.golang.org at https://sum.golang.org',
  });
  t.match(row('sum.corp.test+0a1b2c3d+k https://db.corp.test'), {
    status: 'pass',
    summary: /explicit URL: never through GOPROXY/,
  });
  t.match(row('off'), { status: 'warn', commands: ['go env -u GOSUMDB'] });
  t.match(row('x y z'), { status: 'fail', summary: /too many fields/ });
});

t.test('GOPRIVATE, GONOPROXY, GONOSUMDB', async (t) => {
  const row = (env: Record<string, string>, modules = ['git.corp.test/lib', 'golang.org/x/text']) =>
    privateCheck(settings(env), modules);
  t.match(row({}), { status: 'pass', summary: /^unset/ });
  t.match(row({ GOPRIVATE: '*.corp.test' }), {
    status: 'pass',
    summary: '1 of 2 checked module(s) are private',
    evidence: [
      'GOPRIVATE=*.corp.test',
      'GONOPROXY=*.corp.test',
      'GONOSUMDB=*.corp.test',
      /git\.corp\.test\/lib: fetched directly from its VCS/,
    ],
  });
  t.match(row({ GONOSUMDB: 'golang.org' }), {
    status: 'warn',
    summary: 'public modules skip checksum verification',
    commands: ['go env -u GONOSUMDB'],
  });
  t.match(row({ GOPRIVATE: '[oops' }), { status: 'warn', summary: /cannot parse.*\[oops/ });
});

t.test('GOINSECURE and GOFLAGS', async (t) => {
  t.match(insecureCheck(settings({})), { status: 'pass', summary: 'unset' });
  t.match(insecureCheck(settings({ GOFLAGS: '-mod=mod' })), {
    status: 'pass',
    summary: 'no setting weakens verification',
  });
  t.match(insecureCheck(settings({ GOINSECURE: 'proxy.golang.org' })), {
    status: 'warn',
    commands: ['go env -u GOINSECURE'],
  });
  t.match(insecureCheck(settings({ GOFLAGS: '-mod=mod -insecure' })), {
    status: 'warn',
    summary: /-insecure/,
  });
});

t.test('no fix turns the checksum database or TLS verification off', async (t) => {
  const all: Check[] = [
    proxyRow('off'),
    gosumdbCheck(settings({ GOSUMDB: 'off' }), parseGosumdb('off')),
    gosumdbCheck(settings({ GOSUMDB: 'a b c' }), parseGosumdb('a b c')),
    privateCheck(settings({ GONOSUMDB: 'golang.org' }), ['golang.org/x/text']),
    insecureCheck(settings({ GOINSECURE: '*' })),
    insecureCheck(settings({ GOFLAGS: '-insecure' })),
  ];
  for (const c of all) {
    const advice = [c.fix ?? '', ...(c.commands ?? [])].join('\n');
    t.notMatch(advice, /GOSUMDB=off|GONOSUMDB=|GOINSECURE=|-insecure|GOFLAGS=/, c.name);
  }
});
