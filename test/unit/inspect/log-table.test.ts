import t from 'tap';
import type { ConnectionRecord } from '../../../src/events.js';
import { summarize } from '../../../src/inspect/log-summary.js';
import {
  createRecordPrinter,
  recordHeader,
  recordLines,
  recordTable,
  summaryTable,
} from '../../../src/inspect/log-table.js';

const OPTS = { width: 80, utc: true };

function rec(extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: '2026-11-21T07:30:05.000Z',
    id: 1,
    client: '127.0.0.1:40000',
    method: 'CONNECT',
    target: 'proxy.golang.org:443',
    route: 'upstream',
    rule: 'default: upstream list',
    status: 200,
    outcome: 'ok',
    bytesUp: 1024,
    bytesDown: 2048,
    durationMs: 1500,
    connectMs: 40,
    tls: { verdict: 'clean' },
    ...extra,
  };
}

function width(line: string): number {
  return Array.from(line).length;
}

t.test('a record row has every column within 80 characters', async (t) => {
  const [row, ...rest] = recordLines(rec(), OPTS);
  t.equal(rest.length, 0, 'no error line for a good connection');
  t.match(row, /^07:30:05 proxy\.golang\.org:443 +upstream +200 +3\.0K +1\.5s clean$/);
  t.ok(width(row ?? '') <= 80);
  t.match(recordHeader(OPTS), /^TIME +TARGET +ROUTE +HTTP +BYTES +DUR +TLS$/);
});

t.test('long targets are cut at the start, keeping domain and port', async (t) => {
  const target = 'a-very-long-subdomain.objects.githubusercontent.example.test:443';
  const [row] = recordLines(rec({ target, tls: { verdict: 'upstream-cert-error' } }), OPTS);
  t.ok(width(row ?? '') <= 80, `fits: ${row}`);
  t.match(row, /…[a-z.-]*example\.test:443 /);
  t.match(row, /upstream-ce…$/);
  const [wide] = recordLines(rec({ target }), { width: 120, utc: true });
  t.match(wide, new RegExp(` ${target.replace(/\./g, '\\.')} `), 'a wider terminal shows it whole');
  const [narrow] = recordLines(rec({ target }), { width: 40, utc: true });
  t.equal(
    width(narrow ?? ''),
    width(row ?? '') - 'upstream-ce…'.length + 'clean'.length,
    'below 80 counts as 80',
  );
});

t.test('failed connections get a second line with code and message', async (t) => {
  const lines = recordLines(
    rec({
      status: 502,
      outcome: 'error',
      tls: undefined,
      error: {
        code: 'CPX_ERR_UPSTREAM_AUTH',
        message: `upstream requires authentication ${'x'.repeat(100)}`,
      },
    }),
    OPTS,
  );
  t.equal(lines.length, 2);
  t.match(lines[0], / 502 .* -$/);
  t.match(lines[1], /^ {9}CPX_ERR_UPSTREAM_AUTH upstream requires authentication x+…$/);
  t.equal(width(lines[1] ?? ''), 80);
  const timeout = recordLines(rec({ outcome: 'timeout', status: 0 }), OPTS);
  t.match(timeout[0], / - +3\.0K/, 'status 0 shows as -');
  t.equal(timeout[1], `${' '.repeat(9)}timed out`);
});

t.test('control characters in a logged target cannot reach the terminal', async (t) => {
  const [row] = recordLines(rec({ target: 'evil\x1b[2J.example.test:443' }), OPTS);
  t.notOk(row?.includes('\x1b'), 'no ESC');
  t.match(row, /evil\?\[2J/);
});

t.test('the printer marks each new day', async (t) => {
  const print = createRecordPrinter(OPTS);
  t.strictSame(print(rec()).slice(0, 1), ['-- 2026-11-21']);
  t.equal(print(rec({ time: '2026-11-21T23:00:00.000Z' })).length, 1, 'same day: row only');
  t.equal(print(rec({ time: '2026-11-22T00:00:01.000Z' }))[0], '-- 2026-11-22');
  t.equal(print(rec({ time: 'garbage' })).length, 1, 'no day for a bad time');
  const table = recordTable([rec(), rec()], OPTS);
  t.equal(table.length, 4, 'header, day, two rows');
});

t.test('the summary table fits 80 columns', async (t) => {
  const rows = summarize([
    rec(),
    rec({ connectMs: 120 }),
    rec({
      target: 'very-long-host-name.objects.githubusercontent.example.test:443',
      outcome: 'error',
      tls: { verdict: 'intercepted', vendor: 'Zscaler' },
    }),
  ]);
  const lines = summaryTable(rows, OPTS);
  t.match(lines[0], /^HOST +CONNS +ERRS +BYTES +P50 +P95 +TLS$/);
  t.match(lines[1], /^proxy\.golang\.org +2 +0 +6\.0K +40ms +120ms clean$/);
  t.match(lines[2], /^….*example\.test +1 +1 +3\.0K +40ms +40ms intercepted$/);
  for (const line of lines) t.ok(width(line) <= 80, line);
  t.match(
    summaryTable(summarize([rec({ connectMs: undefined, tls: undefined })]), OPTS)[1],
    / - +- -$/,
  );
});

t.test('absolute URIs (plain HTTP) keep scheme and host, cut at the end', async (t) => {
  const target = 'http://deb.example.test/debian/dists/bookworm/main/binary-amd64/Packages.xz';
  const [row] = recordLines(rec({ target, method: 'GET' }), OPTS);
  t.match(row, /^07:30:05 http:\/\/deb\.example\.test\/debia… upstream /);
  t.ok(width(row ?? '') <= 80);
});
