import t from 'tap';
import type { ConnectionRecord } from '../../../src/events.js';
import { percentile, summarize } from '../../../src/inspect/log-summary.js';

function rec(id: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: `2026-11-21T07:30:${String(id % 60).padStart(2, '0')}.000Z`,
    id,
    client: '127.0.0.1:40000',
    method: 'CONNECT',
    target: 'a.example.test:443',
    route: 'direct',
    rule: 'direct "*.example.test"',
    status: 200,
    outcome: 'ok',
    bytesUp: 1,
    bytesDown: 2,
    durationMs: 3,
    ...extra,
  };
}

t.test('percentile is nearest-rank over sorted values', async (t) => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  t.equal(percentile(ten, 50), 5);
  t.equal(percentile(ten, 95), 10);
  t.equal(percentile(ten, 90), 9);
  t.equal(percentile(ten, 0), 1);
  t.equal(percentile(ten, 100), 10);
  t.equal(percentile(ten, 150), 10, 'clamped');
  t.equal(percentile([42], 95), 42);
  t.equal(percentile([], 50), undefined);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  t.equal(percentile(hundred, 95), 95);
  t.equal(percentile(hundred, 50), 50);
});

t.test('summarize groups by host, ignoring port and scheme', async (t) => {
  const rows = summarize([
    rec(1, { target: 'a.example.test:443', connectMs: 40 }),
    rec(2, { target: 'A.example.test:8443', connectMs: 10 }),
    rec(3, { target: 'http://a.example.test/x', method: 'GET', connectMs: 20 }),
    rec(4, {
      target: 'b.example.test:443',
      outcome: 'error',
      status: 502,
      error: { code: 'CPX_ERR_TARGET_REFUSED', message: 'refused' },
    }),
  ]);
  t.equal(rows.length, 2);
  const [a, b] = rows;
  t.match(a, {
    host: 'a.example.test',
    connections: 3,
    errors: 0,
    bytesUp: 3,
    bytesDown: 6,
    connectMsP50: 20,
    connectMsP95: 40,
  });
  t.match(b, {
    host: 'b.example.test',
    connections: 1,
    errors: 1,
    topError: 'CPX_ERR_TARGET_REFUSED',
  });
  t.equal(b?.connectMsP50, undefined, 'no connect times, no percentile');
});

t.test('summarize takes the latest verdict and sorts busiest first', async (t) => {
  const rows = summarize([
    rec(5, { target: 'z.example.test:443', tls: { verdict: 'intercepted', vendor: 'Zscaler' } }),
    rec(3, { target: 'z.example.test:443', tls: { verdict: 'clean' } }),
    rec(4, { target: 'z.example.test:443' }),
    rec(1, { target: 'm.example.test:443' }),
    rec(2, { target: 'c.example.test:443' }),
  ]);
  t.strictSame(
    rows.map((r) => r.host),
    ['z.example.test', 'c.example.test', 'm.example.test'],
  );
  t.equal(rows[0]?.verdict, 'intercepted', 'latest by time, not by line order');
  t.equal(rows[0]?.vendor, 'Zscaler');
  t.equal(rows[0]?.lastSeen, '2026-11-21T07:30:05.000Z');
  t.equal(rows[1]?.verdict, undefined);
});

t.test('summarize counts timeouts as errors and picks the commonest code', async (t) => {
  const err = (code: string) => ({ outcome: 'error' as const, error: { code, message: 'm' } });
  const [row] = summarize([
    rec(1, err('CPX_ERR_A')),
    rec(2, err('CPX_ERR_B')),
    rec(3, err('CPX_ERR_B')),
    rec(4, { outcome: 'timeout' }),
    rec(5, { outcome: 'client-closed' }),
  ]);
  t.equal(row?.errors, 4);
  t.equal(row?.topError, 'CPX_ERR_B');
  t.strictSame(summarize([]), []);
});
