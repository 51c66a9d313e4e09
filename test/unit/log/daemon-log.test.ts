import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { createDaemonLog, singleLine, type DaemonLogLevel } from '../../../src/log/daemon-log.js';

const clock = (): Date => new Date('2026-11-21T07:30:00.000Z');

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

const ALL: DaemonLogLevel[] = ['error', 'warn', 'info', 'debug'];

function logEach(log: ReturnType<typeof createDaemonLog>): void {
  for (const level of ALL) log[level](`${level} message`);
}

t.test('plain form: ISO time, program, level, message', async (t) => {
  const out = capture();
  const log = createDaemonLog({ stream: out.stream, clock, level: 'debug' });
  logEach(log);
  t.equal(
    out.text(),
    [
      '2026-11-21T07:30:00.000Z corproxy error: error message',
      '2026-11-21T07:30:00.000Z corproxy warn: warn message',
      '2026-11-21T07:30:00.000Z corproxy info: info message',
      '2026-11-21T07:30:00.000Z corproxy debug: debug message',
      '',
    ].join('\n'),
  );
});

t.test('journald form: sd-daemon priority prefix, no timestamp', async (t) => {
  const out = capture();
  const log = createDaemonLog({ stream: out.stream, clock, level: 'debug', journald: true });
  logEach(log);
  t.equal(out.text(), '<3>error message\n<4>warn message\n<6>info message\n<7>debug message\n');
});

t.test('level drops less severe messages; default is info', async (t) => {
  const cases: [DaemonLogLevel | undefined, string][] = [
    [undefined, '<3>error message\n<4>warn message\n<6>info message\n'],
    ['debug', '<3>error message\n<4>warn message\n<6>info message\n<7>debug message\n'],
    ['info', '<3>error message\n<4>warn message\n<6>info message\n'],
    ['warn', '<3>error message\n<4>warn message\n'],
    ['error', '<3>error message\n'],
  ];
  for (const [level, want] of cases) {
    const out = capture();
    const log = createDaemonLog(
      level === undefined
        ? { stream: out.stream, journald: true }
        : { stream: out.stream, journald: true, level },
    );
    logEach(log);
    t.equal(out.text(), want, String(level));
  }
});

t.test('every message is one line', async (t) => {
  const out = capture();
  const log = createDaemonLog({ stream: out.stream, journald: true });
  log.error('reload failed:\nline two\r\nline three\rfour\n');
  log.info('bell\x07 and escape\x1b[31m red\x7f, tab\tkept');
  t.equal(
    out.text(),
    '<3>reload failed: | line two | line three | four\n<6>bell? and escape?[31m red?, tab\tkept\n',
  );
});

t.test('singleLine', async (t) => {
  const cases: [string, string][] = [
    ['plain', 'plain'],
    ['', ''],
    ['\n\nlead', 'lead'],
    ['a  \n\n  b', 'a | b'],
    ['nul\x00', 'nul?'],
    ['c1 \x9b31m', 'c1 ?31m'],
    ['unicode é ✓ 😀 stays', 'unicode é ✓ 😀 stays'],
  ];
  for (const [input, want] of cases) t.equal(singleLine(input), want, JSON.stringify(input));
});

t.test('secrets and URL credentials are masked', async (t) => {
  const out = capture();
  const log = createDaemonLog({ stream: out.stream, journald: true, secrets: ['s3cret'] });
  log.info('upstream http://alice:s3cret@proxy.corp.test:3128 ok');
  log.warn('password s3cret rejected');
  t.equal(
    out.text(),
    '<6>upstream http://***:***@proxy.corp.test:3128 ok\n<4>password *** rejected\n',
  );
});

t.test('a failing stream does not throw an unhandled error', async (t) => {
  const stream = new PassThrough();
  const log = createDaemonLog({ stream, journald: true });
  createDaemonLog({ stream, journald: true });
  t.equal(stream.listenerCount('error'), 1, 'guarded once per stream');
  stream.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  await new Promise((resolve) => setImmediate(resolve));
  t.doesNotThrow(() => log.error('after the stream broke'));
});

t.test('default clock is the real time', async (t) => {
  const out = capture();
  const before = Date.now();
  createDaemonLog({ stream: out.stream }).info('now');
  const after = Date.now();
  const m = /^(\S+) corproxy info: now\n$/.exec(out.text());
  t.ok(m, out.text());
  const at = Date.parse(m?.[1] ?? '');
  t.ok(at >= before && at <= after, 'timestamp taken when logging');
});

t.test('default stream is stderr', async (t) => {
  // A child process, so this test does not patch the runner's own stderr.
  const src = new URL('../../../src/log/daemon-log.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(src)}).then((m) => m.createDaemonLog({ journald: true }).warn('to stderr'))`;
  const child = spawnSync(process.execPath, [...process.execArgv, '-e', code], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  t.equal(child.status, 0, child.stderr);
  t.equal(child.stdout, '');
  t.match(child.stderr, /^<4>to stderr$/m);
});
