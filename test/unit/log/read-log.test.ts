import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { ConnectionRecord } from '../../../src/events.js';
import {
  parseLogLines,
  readLogFiles,
  rotatedFiles,
  rotatedName,
} from '../../../src/log/read-log.js';

function record(id: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: '2026-11-21T07:30:00.000Z',
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

function line(r: ConnectionRecord): string {
  return JSON.stringify(Object.assign({ time: r.time, level: 'info' }, r));
}

t.test('parseLogLines sorts records, events and malformed lines', async (t) => {
  const full = record(2, {
    upstream: 'http://***:***@p:1',
    error: { code: 'CPX_ERR_X', message: 'm' },
    connectMs: 4,
    tls: { verdict: 'clean' },
  });
  const event = { time: 't', level: 'warn', event: 'ca-changed', message: 'm', host: 'h' };
  const text = [
    line(record(1)),
    '',
    line(full),
    JSON.stringify(event),
    '{"time": truncated',
    '   ',
    line(record(3)),
  ].join('\r\n');
  const parsed = parseLogLines(`${text}\n`);
  t.strictSame(parsed.records, [record(1), full, record(3)], 'level dropped, fields intact');
  t.strictSame(parsed.events, [event]);
  t.strictSame(parsed.malformed, [{ line: 5, text: '{"time": truncated' }]);
});

t.test('parseLogLines rejects lines that are JSON but not a record', async (t) => {
  const bad: [string, unknown][] = [
    ['array', [1, 2]],
    ['number', 42],
    ['null', null],
    ['string', 'text'],
    ['empty object', {}],
    ['missing id', { ...record(1), id: undefined }],
    ['id as string', { ...record(1), id: '1' }],
    ['unknown route', { ...record(1), route: 'pac' }],
    ['unknown outcome', { ...record(1), outcome: 'maybe' }],
    ['upstream not a string', { ...record(1), upstream: 5 }],
    ['connectMs not a number', { ...record(1), connectMs: 'fast' }],
    ['error without code', { ...record(1), error: { message: 'm' } }],
    ['error as string', { ...record(1), error: 'boom' }],
    ['tls without verdict', { ...record(1), tls: { vendor: 'v' } }],
    ['tls vendor not a string', { ...record(1), tls: { verdict: 'clean', vendor: 1 } }],
    ['event without message', { time: 't', level: 'warn', event: 'e' }],
  ];
  for (const [name, value] of bad) {
    const text = JSON.stringify(value);
    const parsed = parseLogLines(text);
    t.same(parsed.records, [], `${name}: not a record`);
    t.same(parsed.events, [], `${name}: not an event`);
    t.same(parsed.malformed, [{ line: 1, text }], `${name}: malformed`);
  }
});

t.test('parseLogLines of an empty text', async (t) => {
  t.strictSame(parseLogLines(''), { records: [], events: [], malformed: [] });
});

t.test('rotatedName follows the tailable scheme', async (t) => {
  const cases: [string, number, string][] = [
    [path.join('d', 'conn.log'), 1, path.join('d', 'conn1.log')],
    [path.join('d', 'conn.log'), 12, path.join('d', 'conn12.log')],
    [path.join('d.x', 'corproxy'), 2, path.join('d.x', 'corproxy2')],
    ['a.b.json', 3, 'a.b3.json'],
  ];
  for (const [file, n, want] of cases) t.equal(rotatedName(file, n), want, `${file} ${n}`);
});

t.test('rotatedFiles picks the numbered siblings, oldest first', async (t) => {
  const names = [
    'conn.log',
    'conn1.log',
    'conn10.log',
    'conn2.log',
    'conn0.log',
    'conn01.log',
    'conn.log.1',
    'conn1x.log',
    'other1.log',
    'conn3.log.gz',
    'connX.log',
  ];
  t.same(rotatedFiles(path.join('d', 'conn.log'), names), [
    path.join('d', 'conn10.log'),
    path.join('d', 'conn2.log'),
    path.join('d', 'conn1.log'),
  ]);
  t.same(rotatedFiles('a+b.log', ['a+b1.log', 'aab1.log']), ['a+b1.log'], 'name is literal');
});

t.test('readLogFiles reads rotated files oldest first, then the live file', async (t) => {
  const dir = t.testdir({
    'conn2.log': `${line(record(1))}\n${line(record(2))}\n`,
    'conn1.log': `${line(record(3))}\nnot json\n`,
    'conn.log': `${line(record(4))}\n`,
    'unrelated.log': `${line(record(99))}\n`,
  });
  const file = path.join(dir, 'conn.log');
  const read = await readLogFiles(file);
  t.same(
    read.records.map((r) => r.id),
    [1, 2, 3, 4],
  );
  t.same(
    read.files,
    ['conn2.log', 'conn1.log', 'conn.log'].map((n) => path.join(dir, n)),
  );
  t.same(read.malformed, [{ file: path.join(dir, 'conn1.log'), line: 2, text: 'not json' }]);
});

t.test('readLogFiles: a missing log or directory is an empty log', async (t) => {
  const dir = t.testdir();
  for (const file of [path.join(dir, 'none.log'), path.join(dir, 'no', 'such', 'c.log')]) {
    t.strictSame(await readLogFiles(file), { records: [], events: [], malformed: [], files: [] });
  }
});

t.test('readLogFiles: only rotated files left (live file rotated away)', async (t) => {
  const dir = t.testdir({ 'c1.log': `${line(record(7))}\n` });
  const read = await readLogFiles(path.join(dir, 'c.log'));
  t.same(
    read.records.map((r) => r.id),
    [7],
  );
});

t.test('readLogFiles: a file that vanishes between listing and reading is skipped', async (t) => {
  const read = await readLogFiles(path.join('d', 'c.log'), {
    readdir: async () => ['c1.log', 'c.log'],
    readFile: async (f) => {
      if (f.endsWith('c1.log')) throw Object.assign(new Error('gone'), { code: 'ENOENT' });
      return `${line(record(8))}\n`;
    },
  });
  t.same(read.files, [path.join('d', 'c.log')]);
  t.same(
    read.records.map((r) => r.id),
    [8],
  );
});

t.test('readLogFiles: other I/O errors are reported with the file', async (t) => {
  const dir = t.testdir({ 'c.log': 'x' });
  mkdirSync(path.join(dir, 'c1.log'));
  await t.rejects(readLogFiles(path.join(dir, 'c.log')), {
    code: 'CPX_ERR_LOG_IO',
    message: /^log\.file: cannot read .*c1\.log: EISDIR$/,
  });
  await t.rejects(
    readLogFiles(path.join(dir, 'c.log'), {
      readdir: async () => {
        throw Object.assign(new Error('denied'), { code: 'EACCES' });
      },
    }),
    { code: 'CPX_ERR_LOG_IO', message: /cannot read .*: EACCES$/ },
  );
  await t.rejects(
    readLogFiles(path.join(dir, 'c.log'), {
      readdir: async () => [],
      readFile: async () => {
        throw 'not an Error';
      },
    }),
    { code: 'CPX_ERR_LOG_IO', message: /: not an Error$/ },
  );
});

t.test('readLogFiles handles more lines than a call may take arguments', async (t) => {
  const dir = t.testdir();
  const n = 200_000;
  const one = `${line(record(1))}\n`;
  writeFileSync(path.join(dir, 'c.log'), one.repeat(n));
  const read = await readLogFiles(path.join(dir, 'c.log'));
  t.equal(read.records.length, n);
});
