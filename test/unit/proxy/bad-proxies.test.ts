import t from 'tap';
import { BadProxyList } from '../../../src/proxy/bad-proxies.js';

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

const HOLD = 5 * 60 * 1000;
const A = { id: 'a.corp:8080', url: 'http://a.corp:8080' };
const B = { id: 'b.corp:8080', url: 'http://b.corp:8080' };
const C = { id: 'c.corp:3128', url: 'http://c.corp:3128' };
const ids = (list: ReadonlyArray<{ id: string }>): string[] => list.map((u) => u.id);

t.test('a fresh list has nothing bad', async (t) => {
  const list = new BadProxyList(HOLD, manualClock().now);
  t.equal(list.isBad(A.id), false);
  t.same(list.snapshot(), []);
  t.same(ids(list.order([A, B, C])), [A.id, B.id, C.id]);
});

t.test('markBad holds an upstream for exactly holdMs of the injected clock', async (t) => {
  const clock = manualClock();
  const list = new BadProxyList(HOLD, clock.now);
  list.markBad(A.id, 'connect ECONNREFUSED');
  t.equal(list.isBad(A.id), true, 'bad at once');
  t.equal(list.isBad(B.id), false, 'others unaffected');
  clock.advance(HOLD - 1);
  t.equal(list.isBad(A.id), true, 'still bad 1 ms before expiry');
  clock.advance(1);
  t.equal(list.isBad(A.id), false, 'good again when the hold has passed');
  t.same(list.snapshot(), [], 'the expired entry is gone from the snapshot');
  clock.advance(-HOLD);
  t.equal(list.isBad(A.id), false, 'an expired entry is forgotten, not revived');
});

t.test('marking again restarts the hold and replaces the reason', async (t) => {
  const clock = manualClock();
  const list = new BadProxyList(1000, clock.now);
  list.markBad(A.id, 'first');
  clock.advance(800);
  list.markBad(A.id, 'second');
  clock.advance(800);
  t.equal(list.isBad(A.id), true, '1600 ms after the first mark, 800 after the second');
  t.same(list.snapshot(), [{ id: A.id, until: 1_000_000 + 1800, reason: 'second' }]);
  clock.advance(200);
  t.equal(list.isBad(A.id), false);
});

t.test('markGood clears an entry at once, and is harmless when none exists', async (t) => {
  const list = new BadProxyList(HOLD, manualClock().now);
  list.markBad(A.id, 'timeout');
  list.markBad(B.id, 'timeout');
  list.markGood(A.id);
  t.equal(list.isBad(A.id), false);
  t.equal(list.isBad(B.id), true, 'only the named one');
  list.markGood('never.marked:1');
  t.same(ids(list.snapshot()), [B.id]);
});

t.test('a zero hold never keeps anything bad', async (t) => {
  const list = new BadProxyList(0, manualClock().now);
  list.markBad(A.id, 'x');
  t.equal(list.isBad(A.id), false);
  t.same(ids(list.order([A, B])), [A.id, B.id]);
});

t.test('order puts bad upstreams last but keeps them', async (t) => {
  const clock = manualClock();
  const list = new BadProxyList(HOLD, clock.now);
  list.markBad(A.id, 'refused');
  t.same(ids(list.order([A, B, C])), [B.id, C.id, A.id], 'first one bad');
  list.markBad(C.id, 'refused');
  t.same(ids(list.order([A, B, C])), [B.id, A.id, C.id], 'bad ones keep their own order');
  list.markBad(B.id, 'refused');
  t.same(ids(list.order([A, B, C])), [A.id, B.id, C.id], 'all bad: configured order');
  t.same(ids(list.order([A])), [A.id], 'a lone bad upstream is still tried');
  t.same(list.order([]), []);
  clock.advance(HOLD);
  t.same(ids(list.order([C, B, A])), [C.id, B.id, A.id], 'after expiry: as given');
});

t.test('order returns the same objects in a new array', async (t) => {
  const list = new BadProxyList(HOLD, manualClock().now);
  const input = [A, B] as const;
  const out = list.order(input);
  t.not(out, input, 'a copy');
  t.equal(out[0], A, 'the same element objects');
  list.markBad(A.id, 'x');
  const reordered = list.order(input);
  t.equal(reordered[1], A);
  t.same(ids(input), [A.id, B.id], 'the input is not reordered');
});

t.test('order keeps every upstream even when an entry expires during the call', async (t) => {
  // A clock that ticks on every read: the entry is bad for the first filter pass and
  // expired for the second. Real clocks can cross the expiry between the two passes too.
  let time = 0;
  const list = new BadProxyList(2, () => time++);
  list.markBad(A.id, 'x');
  const out = list.order([A, B]);
  t.same(ids(out).sort(), [A.id, B.id], 'no upstream lost', {});
});

t.test('snapshot lists current entries with id, until and reason', async (t) => {
  const clock = manualClock(5000);
  const list = new BadProxyList(100, clock.now);
  list.markBad(A.id, 'connect ETIMEDOUT');
  clock.advance(50);
  list.markBad(B.id, 'TLS handshake failed');
  t.same(list.snapshot(), [
    { id: A.id, until: 5100, reason: 'connect ETIMEDOUT' },
    { id: B.id, until: 5150, reason: 'TLS handshake failed' },
  ]);
  clock.advance(50);
  t.same(list.snapshot(), [{ id: B.id, until: 5150, reason: 'TLS handshake failed' }]);
  const snap = list.snapshot();
  snap.pop();
  t.equal(list.snapshot().length, 1, 'a snapshot is a copy');
});

t.test('the default clock is Date.now', async (t) => {
  const list = new BadProxyList(60_000);
  const before = Date.now();
  list.markBad(A.id, 'x');
  const [entry] = list.snapshot();
  t.ok(entry !== undefined && entry.until >= before + 60_000 && entry.until <= Date.now() + 60_000);
});
