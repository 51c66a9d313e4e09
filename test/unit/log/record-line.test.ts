import t from 'tap';
import type { ConnectionRecord } from '../../../src/events.js';
import { isoTime, recordLine } from '../../../src/log/record-line.js';
import { prng } from '../../support/prng.js';

const PIECES = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u0000', '\u007f', 'é', '€', '😀'];
const NUMBERS = [0, -0, 1, 12.5, 1e21, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, 0.1 + 0.2];

function text(next: () => number): string {
  let out = '';
  for (let n = Math.floor(next() * 6); n > 0; n--) {
    // Now and then half a surrogate pair, which JSON.stringify escapes.
    out += next() < 0.05 ? '\ud83d' : PIECES[Math.floor(next() * PIECES.length)]!;
  }
  return out;
}

function maybe<T>(next: () => number, value: T): T | undefined {
  return next() < 0.5 ? value : undefined;
}

function record(next: () => number): ConnectionRecord {
  const num = (): number => NUMBERS[Math.floor(next() * NUMBERS.length)]!;
  const r: Record<string, unknown> = {
    time: text(next),
    id: num(),
    client: text(next),
    method: text(next),
    target: text(next),
    route: text(next),
    rule: text(next),
    upstream: maybe(next, text(next)),
    status: num(),
    outcome: text(next),
    error: maybe(next, { code: text(next), message: text(next) }),
    bytesUp: num(),
    bytesDown: num(),
    connectMs: maybe(next, num()),
    durationMs: num(),
    tls: maybe(next, {
      verdict: text(next),
      vendor: maybe(next, text(next)),
      caSubject: maybe(next, text(next)),
      caSha256: maybe(next, text(next)),
    }),
  };
  // Absent optional fields are missing, as finishRecord leaves them.
  for (const key of Object.keys(r)) if (r[key] === undefined) delete r[key];
  const tls = r['tls'] as Record<string, unknown> | undefined;
  for (const key of Object.keys(tls ?? {})) if (tls![key] === undefined) delete tls![key];
  return r as unknown as ConnectionRecord;
}

t.test('recordLine writes what JSON.stringify writes for the line', async (t) => {
  const next = prng(11);
  for (let i = 0; i < 5000; i++) {
    const r = record(next);
    const expected = JSON.stringify(Object.assign({ time: r.time, level: 'info' }, r));
    const line = recordLine(r);
    if (line !== expected) {
      t.equal(line, expected, `record ${i}`);
      return;
    }
  }
  t.pass('5000 generated records written alike');
});

t.test('recordLine keeps a finished record readable as JSON', async (t) => {
  const r: ConnectionRecord = {
    time: '2026-11-21T10:00:00.000Z',
    id: 7,
    client: '127.0.0.1:5000',
    method: 'GET',
    target: 'http://example.test/a "quoted" \\ path',
    route: 'direct',
    rule: 'default',
    status: 200,
    outcome: 'ok',
    bytesUp: 0,
    bytesDown: 10,
    durationMs: 1.5,
  };
  t.same(JSON.parse(recordLine(r)), { ...r, level: 'info' });
});

t.test('isoTime gives what Date#toISOString gives', async (t) => {
  const next = prng(3);
  const base = [0, 999, 1000, -1, -1001, 1.9, -1.9, Date.UTC(2026, 11, 31, 23, 59, 59, 999)];
  const times = [...base];
  for (let i = 0; i < 5000; i++) times.push(Math.floor(next() * 4e12) / (next() < 0.2 ? 7 : 1));
  // Runs of nearby times exercise the cached second, then a jump back must not reuse it.
  for (let i = 0; i < 2000; i++) times.push(1.7e12 + i * 0.7);
  times.push(1.7e12 - 5, 253402300799999, 253402300800000, -62198755200001);
  for (const ms of times) {
    const expected = new Date(ms).toISOString();
    if (isoTime(ms) !== expected) {
      t.equal(isoTime(ms), expected, `ms ${ms}`);
      return;
    }
  }
  t.pass(`${times.length} times formatted alike`);
  t.throws(() => isoTime(Number.NaN), RangeError, 'an invalid time throws as Date does');
});
