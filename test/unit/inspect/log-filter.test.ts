import t from 'tap';
import type { ConnectionRecord } from '../../../src/events.js';
import {
  compileHostPattern,
  isFailure,
  matchesFilter,
  parseSince,
  targetParts,
} from '../../../src/inspect/log-filter.js';

const NOW = Date.parse('2026-11-21T12:00:00.000Z');

function rec(extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: '2026-11-21T11:55:00.000Z',
    id: 1,
    client: '127.0.0.1:40000',
    method: 'CONNECT',
    target: 'proxy.golang.org:443',
    route: 'upstream',
    rule: 'default: upstream list',
    status: 200,
    outcome: 'ok',
    bytesUp: 10,
    bytesDown: 20,
    durationMs: 30,
    ...extra,
  };
}

t.test('parseSince takes durations back from now', async (t) => {
  const cases: Array<[string, number]> = [
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['250ms', 250],
    [' 5m ', 300_000],
  ];
  for (const [text, back] of cases) t.equal(parseSince(text, NOW), NOW - back, text);
});

t.test('parseSince takes ISO 8601 times and dates', async (t) => {
  t.equal(parseSince('2026-11-21T07:30:00Z', NOW), Date.parse('2026-11-21T07:30:00Z'));
  t.equal(parseSince('2026-11-21T07:30:00+01:00', NOW), Date.parse('2026-11-21T06:30:00Z'));
  t.equal(parseSince('2026-11-21 07:30Z', NOW), Date.parse('2026-11-21T07:30Z'));
  t.equal(parseSince('2026-11-21', NOW), Date.parse('2026-11-21'));
});

t.test('parseSince refuses anything else as a usage error', async (t) => {
  for (const bad of [
    '',
    '10',
    'm',
    '10 minutes',
    'yesterday',
    '2026-13-45',
    '1y',
    '-5m',
    'May 5',
  ]) {
    t.throws(() => parseSince(bad, NOW), { code: 'CPX_ERR_USAGE' }, JSON.stringify(bad));
  }
  t.throws(() => parseSince('soon', NOW), /--since "soon": expected a duration/);
});

t.test('targetParts reads authority-form and absolute targets', async (t) => {
  t.strictSame(targetParts('Proxy.Golang.org:443'), { host: 'proxy.golang.org', port: 443 });
  t.strictSame(targetParts('[2001:db8::1]:8443'), { host: '2001:db8::1', port: 8443 });
  t.strictSame(targetParts('http://a.example.test/x?y'), { host: 'a.example.test', port: 80 });
  t.strictSame(targetParts('http://a.example.test:8080/'), { host: 'a.example.test', port: 8080 });
  t.strictSame(targetParts('http://[::1]:81/'), { host: '::1', port: 81 });
  t.strictSame(targetParts('https://b.example.test/'), { host: 'b.example.test', port: 443 });
  t.strictSame(targetParts('garbage'), { host: 'garbage', port: undefined });
  t.strictSame(targetParts('http://bad host/'), { host: 'http://bad host/', port: undefined });
});

t.test('compileHostPattern globs hosts, optionally with a port', async (t) => {
  const cases: Array<[string, string, number | undefined, boolean]> = [
    ['github.com', 'github.com', 443, true],
    ['github.com', 'api.github.com', 443, false],
    ['*github.com', 'api.github.com', 443, true],
    ['*.corp.example', 'git.corp.example', 443, true],
    ['*.corp.example', 'corp.example', 443, false],
    ['GIT.corp.example', 'git.corp.example', 443, true],
    ['git?.corp.example', 'git1.corp.example', 443, true],
    ['git?.corp.example', 'git.corp.example', 443, false],
    ['a.b', 'axb', 443, false],
    ['*.corp.example:8443', 'git.corp.example', 8443, true],
    ['*.corp.example:8443', 'git.corp.example', 443, false],
    ['*:*', 'anything', 1, true],
    ['[2001:db8::1]:443', '2001:db8::1', 443, true],
    ['2001:db8::1', '2001:db8::1', 443, true],
    ['*.example.test:443', 'garbage', undefined, false],
  ];
  for (const [pattern, host, port, want] of cases) {
    t.equal(compileHostPattern(pattern)(host, port), want, `${pattern} vs ${host}:${port}`);
  }
  for (const bad of ['', '  ', 'a b', 'a,b']) {
    t.throws(() => compileHostPattern(bad), { code: 'CPX_ERR_USAGE' }, JSON.stringify(bad));
  }
});

t.test('isFailure: error and timeout outcomes, or any record with an error', async (t) => {
  t.equal(isFailure(rec()), false);
  t.equal(isFailure(rec({ outcome: 'client-closed' })), false);
  t.equal(isFailure(rec({ outcome: 'error', status: 502 })), true);
  t.equal(isFailure(rec({ outcome: 'timeout' })), true);
  t.equal(isFailure(rec({ error: { code: 'CPX_ERR_X', message: 'm' } })), true);
});

t.test('matchesFilter applies every part', async (t) => {
  const since = NOW - 600_000;
  t.equal(matchesFilter(rec(), {}), true);
  t.equal(matchesFilter(rec(), { since }), true);
  t.equal(matchesFilter(rec({ time: '2026-11-21T11:40:00.000Z' }), { since }), false);
  t.equal(matchesFilter(rec({ time: 'not a time' }), { since }), false);
  t.equal(matchesFilter(rec(), { errorsOnly: true }), false);
  t.equal(matchesFilter(rec({ outcome: 'error' }), { errorsOnly: true }), true);
  const golang = compileHostPattern('*.golang.org');
  t.equal(matchesFilter(rec(), { host: golang }), true);
  t.equal(matchesFilter(rec({ target: 'github.com:443' }), { host: golang }), false);
  t.equal(
    matchesFilter(rec({ outcome: 'error' }), { host: golang, errorsOnly: true, since }),
    true,
  );
});
