/**
 * `corproxy log` over real log files: one written by a real daemon (`dist/main.js serve`),
 * rotated files written by the real connection log, malformed lines (reported, never
 * fatal), and --follow across rotation.
 *
 *   client --CONNECT--> corproxy serve --> echo origin
 *                            |
 *                      connections.log (+ rotated files) <-- runLog
 */
import { appendFileSync, mkdirSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runLog, type LogArgs } from '../../src/cli/log.js';
import { parseConfig, type Flags } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { toExitCode } from '../../src/errors.js';
import type { ConnectionRecord } from '../../src/events.js';
import { openConnectionLog } from '../../src/log/connection-log.js';
import { startDaemon } from '../support/daemon-process.js';
import { parseHead, rawExchange, readUntil } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';
import { waitFor } from '../support/tools.js';

function cliConfig(flags: Flags): Config {
  return parseConfig({
    flags: { listen: ['127.0.0.1:0'], ...flags },
    env: {},
    platform: process.platform,
    homedir: os.tmpdir(),
  });
}

interface Captured {
  out: string;
  err: string;
}

async function log(
  args: LogArgs,
  config: Config,
  extra: { now?: number; signal?: AbortSignal } = {},
): Promise<Captured> {
  const c: Captured = { out: '', err: '' };
  await runLog(
    { utc: true, ...args },
    {
      config,
      out: (s) => (c.out += s),
      err: (s) => (c.err += s),
      ...(extra.now !== undefined && { now: () => extra.now as number }),
      ...(extra.signal && { signal: extra.signal }),
    },
  );
  return c;
}

function rec(id: number, extra: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: new Date(Date.parse('2026-11-21T07:00:00.000Z') + id * 1000).toISOString(),
    id,
    client: '127.0.0.1:40000',
    method: 'CONNECT',
    target: `host${id % 3}.example.test:443`,
    route: 'upstream',
    rule: 'default: upstream list',
    upstream: 'http://proxy.example.test:8080',
    status: 200,
    outcome: 'ok',
    bytesUp: 100 * id,
    bytesDown: 1000 * id,
    connectMs: id,
    durationMs: 10 * id,
    ...extra,
  };
}

function ids(jsonLines: string): number[] {
  return jsonLines
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as ConnectionRecord).id);
}

t.test('a log written by a real daemon: table, errors, summary, json, host', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'probe:\n  enabled: false\n');
  const origin = await startEchoOrigin(t);
  const logFile = join(dir, 'logs', 'conn.log');
  const d = await startDaemon(
    t,
    [
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      dir,
      '--log',
      logFile,
      '--hosts',
      'echo.example.test=127.0.0.1',
    ],
    { XDG_CONFIG_HOME: dir },
  );
  for (let i = 0; i < 3; i++) {
    const { socket, text } = await rawExchange(
      d.port,
      `CONNECT echo.example.test:${origin.port} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    t.equal(parseHead(text).status, 200);
    socket.write('ping');
    await readUntil(socket, (s) => s.includes('ping'));
    socket.end();
    await readUntil(socket, () => false, 2000);
  }
  const refused = await rawExchange(
    d.port,
    'CONNECT echo.example.test:1 HTTP/1.1\r\nHost: x\r\n\r\n',
  );
  refused.socket.destroy();
  t.equal(parseHead(refused.text).status, 502);

  // While the daemon runs, its status file names the log: no --file needed.
  const cfg = cliConfig({ stateDir: dir });
  t.ok(
    await waitFor(async () => ids((await log({ json: true }, cfg)).out).length === 4, 5000),
    'four records',
  );
  t.equal(await d.stop(), 0);

  const table = await log({}, cliConfig({ stateDir: dir, log: logFile }));
  t.equal(table.err, '');
  const lines = table.out.trimEnd().split('\n');
  t.match(lines[0], /^TIME +TARGET +ROUTE +HTTP +BYTES +DUR +TLS$/);
  t.match(lines[1], /^-- \d{4}-\d{2}-\d{2}$/);
  const target = `echo.example.test:${origin.port}`.replace(/\./g, '\\.');
  t.equal(
    lines.filter((l) => new RegExp(`^\\d\\d:\\d\\d:\\d\\d ${target} +direct +200 +8B `).test(l))
      .length,
    3,
  );
  t.match(table.out, /echo\.example\.test:1 +direct +502 +0B/);
  t.match(table.out, /^ {9}CPX_ERR_TARGET_REFUSED /m);
  for (const line of lines) t.ok(Array.from(line).length <= 80, line);

  const errors = await log({ errors: true, file: logFile }, cfg);
  t.equal(errors.out.split('\n').filter((l) => / 502 /.test(l)).length, 1);
  t.notMatch(errors.out, / 200 /);

  const summary = await log({ summary: true, file: logFile }, cfg);
  t.match(summary.out, /^HOST +CONNS +ERRS +BYTES +P50 +P95 +TLS\necho\.example\.test +4 +1 +24B /);

  const json = await log({ json: true, summary: true, file: logFile }, cfg);
  t.match(JSON.parse(json.out.trim()), {
    host: 'echo.example.test',
    connections: 4,
    errors: 1,
    bytesUp: 12,
    bytesDown: 12,
    topError: 'CPX_ERR_TARGET_REFUSED',
  });

  t.equal(
    ids((await log({ json: true, host: '*.example.test', file: logFile }, cfg)).out).length,
    4,
  );
  t.equal(
    ids((await log({ json: true, host: 'echo.example.test:1', file: logFile }, cfg)).out).length,
    1,
  );
  const none = await log({ host: 'other.example.test', file: logFile }, cfg);
  t.equal(none.out, '');
  t.match(none.err, /^corproxy: no matching connections \(read 1 file\(s\) of .*conn\.log\)\n$/);
  const future = Date.now() + 3_600_000;
  t.equal((await log({ since: '10m', file: logFile }, cfg, { now: future })).out, '');
  t.equal(
    ids((await log({ since: '2h', json: true, file: logFile }, cfg, { now: future })).out).length,
    4,
  );
});

t.test('rotated files are read oldest first; malformed lines are counted, not fatal', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'connections.log');
  const writer = openConnectionLog({ file, level: 'info', maxSizeBytes: 2000, maxFiles: 20 });
  for (let id = 1; id <= 40; id++) writer.write(rec(id));
  await writer.close();
  appendFileSync(join(dir, 'connections2.log'), '{"time": "torn line\n');
  appendFileSync(file, 'not json at all\n[1,2]\n');
  const cfg = cliConfig({ stateDir: dir, log: file });
  const res = await log({ json: true }, cfg);
  t.strictSame(
    ids(res.out),
    Array.from({ length: 40 }, (_, i) => i + 1),
    'every record, in order',
  );
  t.match(
    res.err,
    /^corproxy: warning: 3 malformed log lines are skipped \(connections2\.log:\d+, connections\.log:\d+, connections\.log:\d+\)\n$/,
  );
  const table = await log({}, cfg);
  t.equal(table.out.split('\n').filter((l) => /host\d\.example\.test:443/.test(l)).length, 40);
  t.match(table.err, /3 malformed log lines/);
});

t.test('a missing log, a disabled log and bad options', async (t) => {
  const dir = t.testdir();
  const missing = await log({}, cliConfig({ stateDir: dir }));
  t.equal(missing.out, '');
  t.match(missing.err, /no matching connections \(.*connections\.log does not exist yet\)/);
  const off = await log({}, cliConfig({ stateDir: dir, log: 'off' })).catch((e: unknown) => e);
  t.match(off, { code: 'CPX_ERR_USAGE', message: /log\.file: off.*pass --file FILE/ });
  t.equal(toExitCode(off), 2);
  const cfg = cliConfig({ stateDir: dir });
  await t.rejects(log({ follow: true, summary: true }, cfg), {
    code: 'CPX_ERR_USAGE',
    message: /--follow and --summary/,
  });
  await t.rejects(log({ since: 'yesterday' }, cfg), { code: 'CPX_ERR_USAGE' });
  await t.rejects(log({ host: 'a b' }, cfg), { code: 'CPX_ERR_USAGE' });
  mkdirSync(join(dir, 'adir.log'));
  await t.rejects(log({ file: join(dir, 'adir.log') }, cfg), { code: 'CPX_ERR_LOG_IO' });
});

t.test('--follow keeps reading across rotation until stopped', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'connections.log');
  const cfg = cliConfig({ stateDir: dir, log: file });
  const stop = new AbortController();
  const c: Captured = { out: '', err: '' };
  // Started before the file exists: it waits for it.
  const running = runLog(
    { follow: true, json: true },
    {
      config: cfg,
      out: (s) => (c.out += s),
      err: (s) => (c.err += s),
      signal: stop.signal,
      followIntervalMs: 20,
    },
  );
  // Files of about four records each, kept long enough for a follower polling every 20 ms.
  const writer = openConnectionLog({ file, level: 'info', maxSizeBytes: 1500, maxFiles: 12 });
  t.teardown(() => writer.close());
  for (let id = 1; id <= 10; id++) writer.write(rec(id));
  t.ok(await waitFor(() => ids(c.out).length === 10, 5000), 'first batch seen');
  // Bursts: several rotations can happen between two polls.
  for (let id = 11; id <= 40; id++) {
    writer.write(rec(id));
    if (id % 10 === 0) await new Promise((r) => setTimeout(r, 15));
  }
  t.ok(await waitFor(() => ids(c.out).length >= 40, 5000), 'batches across rotations seen');
  t.strictSame(
    ids(c.out),
    Array.from({ length: 40 }, (_, i) => i + 1),
    `each once, in order: ${ids(c.out).join(' ')}`,
  );
  await writer.close();
  appendFileSync(file, 'garbage line\n');
  t.ok(await waitFor(() => c.err.includes('malformed'), 5000), 'malformed line reported');
  t.match(c.err, /corproxy: warning: 1 malformed log line is skipped \(connections\.log:\d+\)/);
  stop.abort();
  await running;
  t.pass('stopped on abort');
});

t.test('--follow --since prints the history first; filters apply; table form', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'connections.log');
  const writer = openConnectionLog({ file, level: 'info', maxSizeBytes: 1500, maxFiles: 5 });
  for (let id = 1; id <= 12; id++) writer.write(rec(id));
  await writer.close();
  const stop = new AbortController();
  const c: Captured = { out: '', err: '' };
  const running = runLog(
    { follow: true, since: '2026-11-21T07:00:05Z', host: 'host1.example.test', utc: true },
    {
      config: cliConfig({ stateDir: dir, log: file }),
      out: (s) => (c.out += s),
      err: (s) => (c.err += s),
      signal: stop.signal,
      followIntervalMs: 20,
    },
  );
  const rows = (): string[] => c.out.split('\n').filter((l) => /^\d\d:\d\d:\d\d host1/.test(l));
  // host1 is every id ≡ 1 (mod 3); since 07:00:05 leaves 7 and 10 of the history.
  t.ok(await waitFor(() => rows().length === 2, 5000), 'history');
  const more = openConnectionLog({ file, level: 'info', maxSizeBytes: 1500, maxFiles: 5 });
  t.teardown(() => more.close());
  for (let id = 13; id <= 19; id++) more.write(rec(id));
  t.ok(await waitFor(() => rows().length === 5, 5000), 'new ones: 13, 16, 19');
  t.match(c.out, /^TIME +TARGET/);
  t.strictSame(
    rows().map((l) => l.slice(0, 8)),
    ['07:00:07', '07:00:10', '07:00:13', '07:00:16', '07:00:19'],
  );
  stop.abort();
  await running;
  await more.close();
});

t.test(
  '--follow reads a file truncated in place, or deleted and created again, from its start',
  async (t) => {
    const dir = t.testdir();
    const file = join(dir, 'connections.log');
    const line = (id: number): string => `${JSON.stringify({ level: 'info', ...rec(id) })}\n`;
    writeFileSync(file, line(1));
    const stop = new AbortController();
    const c: Captured = { out: '', err: '' };
    const running = runLog(
      { follow: true, json: true },
      {
        config: cliConfig({ stateDir: dir, log: file }),
        out: (s) => (c.out += s),
        err: (s) => (c.err += s),
        signal: stop.signal,
        followIntervalMs: 20,
      },
    );
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(file, line(2) + line(3));
    t.ok(await waitFor(() => ids(c.out).length === 2, 5000), 'appended lines, not the old one');
    truncateSync(file, 0);
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(file, line(4));
    t.ok(await waitFor(() => ids(c.out).length === 3, 5000), 'after truncation');
    unlinkSync(file);
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(file, line(5));
    t.ok(await waitFor(() => ids(c.out).length === 4, 5000), 'after re-creation');
    t.strictSame(ids(c.out), [2, 3, 4, 5]);
    t.equal(c.err, '');
    stop.abort();
    await running;
  },
);
