import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { LogConfig } from '../../../src/config/types.js';
import { CorproxyError } from '../../../src/errors.js';
import type { ConnectionRecord } from '../../../src/events.js';
import { openConnectionLog } from '../../../src/log/connection-log.js';
import { parseLogLines, readLogFiles } from '../../../src/log/read-log.js';

const posix = process.platform !== 'win32';

function record(id: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: new Date(Date.UTC(2026, 10, 21, 7, 30, 0, id)).toISOString(),
    id,
    client: `127.0.0.1:${40000 + id}`,
    method: 'CONNECT',
    target: `host${id}.example.test:443`,
    route: 'direct',
    rule: 'direct "*.example.test"',
    status: 200,
    outcome: 'ok',
    bytesUp: id * 10,
    bytesDown: id * 100,
    durationMs: id + 0.5,
    ...extra,
  };
}

/** Every optional field set, nested objects included. */
function fullRecord(id: number): ConnectionRecord {
  return record(id, {
    route: 'upstream',
    rule: 'default: upstream list',
    upstream: 'http://***:***@proxy.corp.test:3128',
    status: 502,
    outcome: 'error',
    error: { code: 'CPX_ERR_UPSTREAM_AUTH', message: 'upstream requires authentication' },
    connectMs: 12,
    tls: {
      verdict: 'intercepted',
      vendor: 'Zscaler',
      caSubject: 'CN=Corp Root',
      caSha256: 'AB:CD',
    },
  });
}

function config(file: string, over: Partial<LogConfig> = {}): LogConfig {
  return { file, level: 'info', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5, ...over };
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
}

t.test('writes one JSON line per record, time then level then the record fields', async (t) => {
  const file = path.join(t.testdir(), 'state', 'log', 'connections.log');
  const log = openConnectionLog(config(file));
  const records = Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? fullRecord(i) : record(i)));
  for (const r of records) log.write(r);
  await log.close();

  const raw = lines(file);
  t.equal(raw.length, 25);
  raw.forEach((line, i) => {
    const r = records[i] as ConnectionRecord;
    const keys = ['time', 'level', ...Object.keys(r).filter((k) => k !== 'time')];
    t.same(Object.keys(JSON.parse(line)), keys, `keys of line ${i + 1}`);
    t.equal(JSON.parse(line).level, 'info');
  });
  const back = await readLogFiles(file);
  t.strictSame(back.records, records);
  t.same(back.events, []);
  t.same(back.malformed, []);
  t.same(back.files, [file]);
});

t.test(
  'creates the directory 0700 and the file 0600',
  { skip: !posix && 'POSIX modes' },
  async (t) => {
    const dir = path.join(t.testdir(), 'a', 'b');
    const file = path.join(dir, 'c.log');
    const log = openConnectionLog(config(file));
    t.ok(existsSync(file), 'file exists as soon as the log is open');
    log.write(record(1));
    await log.close();
    t.equal(statSync(dir).mode & 0o777, 0o700);
    t.equal(statSync(file).mode & 0o777, 0o600);
  },
);

t.test('secrets never reach the file, in any field or spelling', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const basic = Buffer.from('alice:s3cret').toString('base64');
  const log = openConnectionLog(config(file), { secrets: ['s3cret', 'alice:s3cret'] });
  log.write(
    record(1, {
      target: 'evil-s3cret.example.test:443',
      upstream: 'http://alice:s3cret@proxy.corp.test:3128',
      outcome: 'error',
      error: {
        code: 'CPX_ERR_UPSTREAM_AUTH',
        message: `sent Basic ${basic} to http://alice:s3cret@proxy.corp.test:3128, pw s3%63ret s3cret`,
      },
      tls: { verdict: 'intercepted', caSubject: 'CN=s3cret' },
    }),
  );
  log.warn('approved s3cret', { note: 'alice:s3cret', nested: { deep: 's3cret' } });
  await log.close();

  const text = readFileSync(file, 'utf8');
  t.notMatch(text, /s3cret/);
  t.notMatch(text, basic);
  const [r] = parseLogLines(text).records;
  t.equal(r?.target, 'evil-***.example.test:443');
  t.equal(r?.upstream, 'http://***:***@proxy.corp.test:3128');
  t.equal(
    r?.error?.message,
    'sent Basic *** to http://***:***@proxy.corp.test:3128, pw s3%63ret ***',
  );
  t.equal(r?.tls?.caSubject, 'CN=***');
  const [e] = parseLogLines(text).events;
  t.equal(e?.message, 'approved ***');
  t.equal(e?.note, '***');
  t.same(e?.nested, { deep: '***' });
});

t.test(
  'a secret in a line without "@" is still masked (plain serialization checked)',
  async (t) => {
    const file = path.join(t.testdir(), 'c.log');
    const log = openConnectionLog(config(file), { secrets: ['hunter2'] });
    log.write(record(1, { target: 'hunter2.example.test:443' }));
    log.write(record(2, { target: 'plain.example.test:443' }));
    await log.close();
    const text = readFileSync(file, 'utf8');
    t.notMatch(text, /hunter2/);
    const [a, b] = parseLogLines(text).records;
    t.equal(a?.target, '***.example.test:443');
    t.equal(b?.target, 'plain.example.test:443', 'lines without secrets are unchanged');
  },
);

t.test('secrets that JSON escapes are masked too', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const secret = 'pa"ss\\w\tord';
  const log = openConnectionLog(config(file), { secrets: [secret] });
  log.write(
    record(1, {
      outcome: 'error',
      error: { code: 'CPX_ERR_UPSTREAM_AUTH', message: `rejected ${secret} for alice` },
    }),
  );
  await log.close();
  const text = readFileSync(file, 'utf8');
  t.notOk(text.includes(JSON.stringify(secret).slice(1, -1)), 'no escaped spelling in the file');
  t.equal(parseLogLines(text).records[0]?.error?.message, 'rejected *** for alice');
});

t.test('the upstream field is redacted even without a secrets list', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const log = openConnectionLog(config(file));
  log.write(record(1, { route: 'upstream', upstream: 'http://bob:pw@proxy.corp.test:8080' }));
  await log.close();
  t.equal(
    parseLogLines(readFileSync(file, 'utf8')).records[0]?.upstream,
    'http://***:***@proxy.corp.test:8080',
  );
});

t.test('warn writes a warn line with an event field to the same file', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const clock = (): Date => new Date('2026-11-21T07:30:00.000Z');
  const log = openConnectionLog(config(file), { clock });
  log.write(record(1));
  log.warn('intercepting CA changed for proxy.golang.org', {
    event: 'ca-changed',
    host: 'proxy.golang.org',
    time: 'ignored',
    level: 'ignored',
    message: 'ignored',
    big: 10n,
    err: new Error('boom'),
  });
  log.warn('plain warning');
  await log.close();
  const raw = lines(file);
  t.equal(raw.length, 3);
  t.strictSame(JSON.parse(raw[1] ?? ''), {
    time: '2026-11-21T07:30:00.000Z',
    level: 'warn',
    event: 'ca-changed',
    message: 'intercepting CA changed for proxy.golang.org',
    host: 'proxy.golang.org',
    big: '10',
    err: { name: 'Error', message: 'boom' },
  });
  t.strictSame(JSON.parse(raw[2] ?? ''), {
    time: '2026-11-21T07:30:00.000Z',
    level: 'warn',
    event: 'warning',
    message: 'plain warning',
  });
  const back = await readLogFiles(file);
  t.equal(back.records.length, 1);
  t.same(
    back.events.map((e) => e.event),
    ['ca-changed', 'warning'],
  );
});

t.test('a warning that cannot be serialised is reported, not written', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const errors: Error[] = [];
  const log = openConnectionLog(config(file), { onError: (e) => errors.push(e) });
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  log.warn('circular', { loop });
  log.write(record(1));
  await log.close();
  t.equal(errors.length, 1);
  t.match(errors[0]?.message, /circular/i);
  t.equal(lines(file).length, 1, 'the record after it is still written');
});

t.test('log.level (daemon messages) does not filter the connection log', async (t) => {
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    const file = path.join(t.testdir(), `${level}.log`);
    const log = openConnectionLog(config(file, { level }));
    log.write(record(1));
    log.warn('w');
    await log.close();
    const parsed = parseLogLines(readFileSync(file, 'utf8'));
    t.equal(parsed.records.length, 1, `${level}: records`);
    t.equal(parsed.events.length, 1, `${level}: warnings`);
  }
});

t.test("file '' gives a log that writes nothing", async (t) => {
  const before = readdirSync(process.cwd());
  const errors: Error[] = [];
  const log = openConnectionLog(config('', { level: 'debug' }), { onError: (e) => errors.push(e) });
  log.write(record(1));
  log.warn('nothing');
  await log.close();
  await log.close();
  t.same(readdirSync(process.cwd()), before, 'no file appeared in the working directory');
  t.same(errors, []);
  t.ok(Object.isFrozen(log), 'the shared no-op log');
});

t.test('close: resolves with nothing written, twice, and later writes are ignored', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  const log = openConnectionLog(config(file));
  const first = log.close();
  t.equal(log.close(), first, 'same promise');
  await first;
  log.write(record(1));
  log.warn('late');
  // Longer than the batching delay, so a late write would have reached the file.
  await sleep(100);
  t.equal(readFileSync(file, 'utf8'), '');
});

t.test('a restart appends to the existing file', async (t) => {
  const file = path.join(t.testdir(), 'c.log');
  for (const ids of [
    [1, 2, 3],
    [4, 5],
  ]) {
    const log = openConnectionLog(config(file));
    for (const id of ids) log.write(record(id));
    await log.close();
  }
  t.same(
    (await readLogFiles(file)).records.map((r) => r.id),
    [1, 2, 3, 4, 5],
  );
});

/** Writes ids [0, n): most in one synchronous burst, the rest spread over ticks. */
async function writeMany(file: string, over: Partial<LogConfig>, n: number): Promise<void> {
  const log = openConnectionLog(config(file, over));
  const burst = Math.floor(n * 0.75);
  for (let i = 0; i < burst; i++) log.write(record(i));
  for (let i = burst; i < n; i++) {
    log.write(record(i));
    if (i % 7 === 0) await tick();
  }
  await log.close();
}

function maxLineBytes(file: string): number {
  return Math.max(...lines(file).map((l) => Buffer.byteLength(l) + 1));
}

t.test('rotation by size keeps every record; the reader returns them in order', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'conn.log');
  await writeMany(file, { maxSizeBytes: 2000, maxFiles: 50 }, 200);
  const back = await readLogFiles(file);
  t.same(
    back.records.map((r) => r.id),
    Array.from({ length: 200 }, (_, i) => i),
  );
  t.same(back.malformed, []);
  const names = readdirSync(dir).sort();
  t.ok(names.length > 10, `rotated into ${names.length} files`);
  t.equal(back.files.length, names.length);
  t.equal(back.files.at(-1), file, 'live file last');
  t.equal(back.files[0], path.join(dir, `conn${names.length - 1}.log`), 'highest number first');
  const longest = maxLineBytes(file);
  for (const f of back.files.slice(0, -1)) {
    const size = statSync(f).size;
    t.ok(size >= 2000 && size < 2000 + longest, `${path.basename(f)}: ${size} bytes`);
  }
});

t.test('maxFiles bounds the rotated files kept; the newest records survive', async (t) => {
  for (const maxFiles of [0, 1, 2]) {
    const dir = t.testdir();
    const file = path.join(dir, 'conn.log');
    await writeMany(file, { maxSizeBytes: 2000, maxFiles }, 200);
    const rotated = Array.from({ length: maxFiles }, (_, i) => `conn${i + 1}.log`);
    t.same(readdirSync(dir).sort(), ['conn.log', ...rotated].sort(), `maxFiles ${maxFiles}`);
    const ids = (await readLogFiles(file)).records.map((r) => r.id);
    t.equal(ids.at(-1), 199, 'ends with the last record');
    t.ok(ids.length < 200, 'older records were dropped');
    t.ok(
      ids.every((id, i) => i === 0 || id === (ids[i - 1] as number) + 1),
      'contiguous',
    );
  }
});

t.test('a file already over the limit is rotated before the first write', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'conn.log');
  const old = `${JSON.stringify({ ...record(1000), level: 'info' })}\n`.repeat(20);
  writeFileSync(file, old);
  const log = openConnectionLog(config(file, { maxSizeBytes: 2000, maxFiles: 3 }));
  log.write(record(1));
  await log.close();
  t.equal(readFileSync(path.join(dir, 'conn1.log'), 'utf8'), old);
  t.same(
    parseLogLines(readFileSync(file, 'utf8')).records.map((r) => r.id),
    [1],
  );
});

t.test('a failing rotation is reported and the records stay in the live file', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'conn.log');
  // conn1.log is a non-empty directory: renaming conn.log onto it fails.
  mkdirSync(path.join(dir, 'conn1.log'));
  writeFileSync(path.join(dir, 'conn1.log', 'x'), 'x');
  const errors: Error[] = [];
  const log = openConnectionLog(config(file, { maxSizeBytes: 1000, maxFiles: 1 }), {
    onError: (e) => errors.push(e),
  });
  for (let i = 0; i < 30; i++) log.write(record(i));
  await log.close();
  t.ok(errors.length >= 1, `${errors.length} rotation errors reported`);
  t.ok(errors.length <= 10, 'one report per maxSize bytes at most, not per record');
  t.same(
    parseLogLines(readFileSync(file, 'utf8')).records.map((r) => r.id),
    Array.from({ length: 30 }, (_, i) => i),
  );
  await t.rejects(readLogFiles(file), { code: 'CPX_ERR_LOG_IO' }, 'reader reports the odd file');
});

t.test('a failing write is reported per batch and close still resolves', async (t) => {
  const dir = path.join(t.testdir(), 'gone');
  const file = path.join(dir, 'conn.log');
  const errors: Error[] = [];
  const log = openConnectionLog(config(file), { onError: (e) => errors.push(e) });
  rmSync(dir, { recursive: true });
  log.write(record(1));
  await tick();
  log.write(record(2));
  await log.close();
  t.ok(errors.length >= 1);
  t.match(errors[0], { code: 'ENOENT' });
  t.notOk(existsSync(file));
});

t.test('a log file that cannot be written fails at open with the key path', async (t) => {
  const dir = t.testdir({ 'plain-file': 'x', 'a-dir': {} });
  const cases: [string, RegExp][] = [
    [path.join(dir, 'a-dir'), /not a regular file/],
    [path.join(dir, 'plain-file', 'conn.log'), /ENOTDIR|EEXIST/],
  ];
  for (const [file, reason] of cases) {
    let caught: unknown;
    try {
      openConnectionLog(config(file));
    } catch (err) {
      caught = err;
    }
    t.ok(caught instanceof CorproxyError, `${file}: CorproxyError`);
    t.match(caught, { code: 'CPX_ERR_LOG_IO', message: /^log\.file: cannot write / });
    t.match((caught as Error).message, reason);
  }
});

t.test('by default errors are reported on stderr', async (t) => {
  // A child process, so this test does not patch the runner's own stderr.
  const dir = path.join(t.testdir(), 'gone');
  const src = new URL('../../../src/log/connection-log.ts', import.meta.url).href;
  const code = [
    `const { openConnectionLog } = await import(${JSON.stringify(src)});`,
    `const { rmSync } = await import('node:fs');`,
    `const log = openConnectionLog(${JSON.stringify(config(path.join(dir, 'c.log')))});`,
    `rmSync(${JSON.stringify(dir)}, { recursive: true });`,
    `log.write(${JSON.stringify(record(1))});`,
    `await log.close();`,
  ].join('\n');
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, '--input-type=module', '-e', code],
    { encoding: 'utf8', timeout: 30_000 },
  );
  t.equal(child.status, 0, child.stderr);
  t.match(child.stderr, /^corproxy: connection log: ENOENT: no such file or directory/m);
});

t.test('a throwing onError does not stop the log', async (t) => {
  const dir = path.join(t.testdir(), 'gone');
  const file = path.join(dir, 'c.log');
  let calls = 0;
  const log = openConnectionLog(config(file), {
    onError: () => {
      calls++;
      throw new Error('reporter broke');
    },
  });
  rmSync(dir, { recursive: true });
  log.write(record(1));
  // Bounded wait (2 s) until the failed append of record 1 has been reported; lines wait
  // a few milliseconds to be written in a batch.
  for (let i = 0; i < 400 && calls === 0; i++) await sleep(5);
  mkdirSync(dir);
  log.write(record(2));
  await log.close();
  t.ok(calls >= 1, 'reported');
  t.same(
    parseLogLines(readFileSync(file, 'utf8')).records.map((r) => r.id),
    [2],
    'the next record is written once the directory is back',
  );
});
