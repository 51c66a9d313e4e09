/**
 * `corproxy serve` as a process: SIGHUP reload (a bad config keeps the old one), the
 * single-instance lock, SIGTERM drain, and systemd socket activation (fd 3).
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import t from 'tap';
import { MAIN_JS, daemonEnv, startDaemon } from '../support/daemon-process.js';
import { findTool, freePortInRange, requireTool, waitExit, waitFor } from '../support/tools.js';
import { parseHead, rawExchange } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';

function getJson(port: number, path: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body.startsWith('{') ? JSON.parse(body) : { text: body }));
      })
      .on('error', reject);
  });
}

t.test('SIGHUP reloads the config; a bad one is rejected and the old one kept', async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'config.yaml');
  writeFileSync(config, 'direct: [one.example.test]\n');
  const d = await startDaemon(t, [
    '--config',
    config,
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    dir,
    '--log',
    'off',
  ]);
  t.same((await getJson(d.port, '/status')).direct, ['one.example.test']);

  writeFileSync(config, 'direct: [two.example.test]\n');
  d.proc.kill('SIGHUP');
  t.ok(
    await waitFor(
      async () => (await getJson(d.port, '/status')).direct?.toString() === 'two.example.test',
      5000,
    ),
    'new config in force',
  );

  writeFileSync(config, 'direct: [two.example.test]\nlimits: { idleTimout: 5s }\n');
  d.proc.kill('SIGHUP');
  t.ok(await waitFor(() => d.stderr().includes('reload rejected'), 5000), 'rejection logged');
  t.match(d.stderr(), /limits\.idleTimout: unknown key \(did you mean idleTimeout\?\)/);
  t.same((await getJson(d.port, '/status')).direct, ['two.example.test'], 'old config kept');
  t.equal(await d.stop(), 0);
});

t.test('a second daemon on the same state dir names the running PID', async (t) => {
  const dir = t.testdir();
  const first = await startDaemon(t, [
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    dir,
    '--log',
    'off',
  ]);
  const second = spawn(
    process.execPath,
    [MAIN_JS, 'serve', '--listen', '127.0.0.1:0', '--state-dir', dir],
    {
      env: daemonEnv(process.env),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  second.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await waitExit(second, 10_000);
  t.equal(code, 1);
  t.match(stderr, new RegExp(`corproxy already runs as PID ${first.proc.pid} for state dir`));
  t.match(stderr, /CPX_ERR_ALREADY_RUNNING/);
  const status = await getJson(first.port, '/healthz');
  t.equal(status.text, 'ok\n', 'the first one keeps serving');
});

t.test('SIGTERM drains: open tunnels get the drain time, then the process exits 0', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'c.yaml'), 'limits: { drainTimeout: 300ms }\n');
  const origin = await startEchoOrigin(t);
  const d = await startDaemon(t, [
    '--config',
    join(dir, 'c.yaml'),
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    dir,
    '--log',
    join(dir, 'c.log'),
  ]);
  const { socket, text } = await rawExchange(
    d.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200);
  const started = Date.now();
  const closed = new Promise((resolve) => socket.once('end', resolve));
  t.equal(await d.stop(), 0, 'exit code 0');
  await closed;
  t.ok(Date.now() - started < 4000, 'exited within the drain bound');
  t.match(d.stderr(), /SIGTERM: draining connections \(up to 300 ms\)/);
});

t.test('socket activation: listens on the fd systemd passes', async (t) => {
  const tool = findTool('systemd-socket-activate');
  if (!requireTool(t, 'systemd-socket-activate', tool)) return;
  const dir = t.testdir();
  const port = await freePortInRange(20000, 32000);
  const proc = spawn(
    tool,
    [
      '-l',
      `127.0.0.1:${port}`,
      process.execPath,
      MAIN_JS,
      'serve',
      '--state-dir',
      dir,
      '--log',
      'off',
    ],
    {
      env: daemonEnv(process.env),
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await waitExit(proc, 5000);
    }
  });
  t.ok(
    await waitFor(() => stderr.includes('Listening on'), 5000),
    'systemd-socket-activate is listening',
  );
  // The first connection makes it exec corproxy with LISTEN_FDS=1 and the socket as fd 3.
  const status = await getJson(port, '/status');
  t.same(status.listen, [`127.0.0.1:${port}`]);
  t.match(stderr, new RegExp(`corproxy listening on http://127\\.0\\.0\\.1:${port}`));
});
