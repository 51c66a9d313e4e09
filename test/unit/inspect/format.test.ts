import t from 'tap';
import {
  calendarDay,
  clockTime,
  formatBytes,
  formatDuration,
  formatRow,
  printable,
  shortIso,
  truncateEnd,
  truncateStart,
} from '../../../src/inspect/format.js';

t.test('formatBytes keeps every value within 6 characters', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [1536, '1.5K'],
    [10 * 1024, '10K'],
    [1023 * 1024, '1023K'],
    [1023.6 * 1024, '1.0M'],
    [5 * 1024 ** 3, '5.0G'],
    [3 * 1024 ** 5, '3.0P'],
    [-1, '-'],
    [Number.NaN, '-'],
  ];
  for (const [n, want] of cases) t.equal(formatBytes(n), want, String(n));
  for (let exp = 0; exp < 60; exp++) {
    t.ok(formatBytes(1.7 ** exp * 3).length <= 6, `width of 1.7^${exp}*3`);
  }
});

t.test('formatDuration picks the unit by size', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [9940, '9.9s'],
    [12_400, '12s'],
    [59_400, '59s'],
    [59_600, '1m00s'],
    [123_000, '2m03s'],
    [3_900_000, '1h05m'],
    [90_000_000, '1d01h'],
    [-5, '-'],
    [Number.POSITIVE_INFINITY, '-'],
  ];
  for (const [ms, want] of cases) t.equal(formatDuration(ms), want, String(ms));
});

t.test('clockTime and calendarDay read the chosen clock', async (t) => {
  const iso = '2026-11-21T23:59:58.123Z';
  t.equal(clockTime(iso, { utc: true }), '23:59:58');
  t.equal(calendarDay(iso, { utc: true }), '2026-11-21');
  const d = new Date(iso);
  const local = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  t.ok(clockTime(iso, { utc: false }).startsWith(local), 'local clock');
  t.equal(clockTime('not a time', { utc: true }).trim(), '?');
  t.equal(calendarDay('not a time', { utc: true }), '');
});

t.test('truncation keeps the requested width and marks the cut', async (t) => {
  t.equal(truncateEnd('abcdef', 6), 'abcdef');
  t.equal(truncateEnd('abcdefg', 6), 'abcde…');
  t.equal(truncateStart('objects.example.test:443', 12), '…le.test:443');
  t.equal(Array.from(truncateStart('objects.example.test:443', 12)).length, 12);
  t.equal(truncateEnd('abc', 0), '');
  t.equal(truncateStart('abc', 0), '');
  t.equal(truncateEnd('ääää', 3), 'ää…', 'counts characters, not bytes');
});

t.test('formatRow pads, aligns and trims the line end', async (t) => {
  const row = formatRow(
    ['a', '12', 'long-text-here'],
    [
      { width: 3, align: 'left' },
      { width: 4, align: 'right' },
      { width: 6, align: 'left', cut: 'start' },
    ],
  );
  t.equal(row, 'a     12 …-here');
  t.equal(
    formatRow(
      ['x', ''],
      [
        { width: 3, align: 'left' },
        { width: 3, align: 'left' },
      ],
    ),
    'x',
  );
});

t.test('shortIso drops milliseconds only', async (t) => {
  t.equal(shortIso('2026-11-21T07:35:00.123Z'), '2026-11-21T07:35:00Z');
  t.equal(shortIso('2026-11-21T07:35:00Z'), '2026-11-21T07:35:00Z');
  t.equal(shortIso('not a time'), 'not a time');
});

t.test('printable replaces control characters', async (t) => {
  t.equal(printable('a\x1b[31mb\nc\x9b'), 'a?[31mb?c?');
  t.equal(printable('plain host:443'), 'plain host:443');
});
