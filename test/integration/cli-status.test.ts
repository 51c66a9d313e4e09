/**
 * `corproxy status` against real daemons (`dist/main.js serve` as a child process): the
 * daemon is found through its status file, asked for /status over loopback, rendered;
 * and every way of not finding it ends in CPX_ERR_DAEMON_DOWN (exit 69) naming the fix.
 *
 *   runStatus --status.json--> listen address --GET /status--> corproxy serve
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runStatus } from '../../src/cli/status.js';
import { parseConfig } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { toExitCode } from '../../src/errors.js';
import { writeStatusFile } from '../../src/service/instance-lock.js';
import { startDaemon } from '../support/daemon-process.js';
import { closedPort, listen, parseHead, rawExchange } from '../support/net.js';
import { waitExit, waitFor, type TeardownTest } from '../support/tools.js';

/** A config for the CLI side: the test's state dir, no listen address of its own. */
function cliConfig(stateDir: string): Config {
  return parseConfig({
    flags: { stateDir, listen: ['127.0.0.1:0'], log: 'off' },
    env: {},
    platform: process.platform,
    homedir: os.tmpdir(),
  });
}

/** A config file that keeps the daemon off the network: no interception probes. */
function quietConfig(dir: string): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(file, 'probe:\n  enabled: false\n');
  return file;
}

async function daemonIn(t: TeardownTest, dir: string, extra: string[] = []) {
  const args = [
    '--config',
    quietConfig(dir),
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    dir,
    '--log',
    'off',
  ];
  return startDaemon(t, [...args, ...extra], { XDG_CONFIG_HOME: dir });
}

async function status(config: Config, json = false): Promise<string> {
  let out = '';
  await runStatus({ json }, { config, out: (s) => (out += s) });
  return out;
}

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await waitExit(child, 10_000);
  return child.pid as number;
}

t.test('a running daemon: the block and the raw JSON', async (t) => {
  const dir = t.testdir();
  const d = await daemonIn(t, dir);
  const config = cliConfig(dir);
  const text = await status(config);
  t.match(text, /^corproxy \d+\.\d+\.\d+\S*, pid \d+, up \d+/);
  t.match(text, new RegExp(`^listen {6}127\\.0\\.0\\.1:${d.port}$`, 'm'));
  t.match(text, /^upstreams {3}none \(every target direct\)$/m);
  t.match(text, /^open {8}\d+ connections, 0 tunnels$/m, 'our own request may count');
  t.match(text, /^totals {6}0 connections, 0 errors, 0B up, 0B down$/m);
  for (const line of text.trimEnd().split('\n')) t.ok(Array.from(line).length <= 80, line);

  const raw = await status(config, true);
  const doc = JSON.parse(raw) as Record<string, unknown>;
  t.equal(doc.name, 'corproxy');
  t.strictSame(doc.listen, [`127.0.0.1:${d.port}`]);
  t.ok(raw.endsWith('\n'));
  t.equal(await d.stop(), 0);
});

t.test('upstream health and totals after a failed CONNECT', async (t) => {
  const dir = t.testdir();
  const dead = await closedPort();
  const d = await daemonIn(t, dir, ['--upstream', `http://127.0.0.1:${dead}`]);
  const { socket, text } = await rawExchange(
    d.port,
    'CONNECT a.example.test:443 HTTP/1.1\r\nHost: a.example.test:443\r\n\r\n',
  );
  socket.destroy();
  t.equal(parseHead(text).status, 502);
  const config = cliConfig(dir);
  t.ok(
    await waitFor(async () => /errors {6}CPX_ERR_UPSTREAM/.test(await status(config)), 5000),
    'counted',
  );
  const out = await status(config);
  t.match(
    out,
    new RegExp(`^upstreams {3}1\\. http://127\\.0\\.0\\.1:${dead} {2}BAD until \\S+Z$`, 'm'),
  );
  t.match(out, /^totals {6}1 connections, 1 errors/m);
});

t.test('not running: exit 69 naming the command that starts it', async (t) => {
  const dir = t.testdir();
  const d = await daemonIn(t, dir);
  t.equal(await d.stop(), 0);
  const err = await runStatus({}, { config: cliConfig(dir), out: () => t.fail('no output') }).catch(
    (e: unknown) => e,
  );
  t.match(err, { code: 'CPX_ERR_DAEMON_DOWN' });
  t.equal(toExitCode(err), 69);
  const message = (err as Error).message;
  t.match(message, /no listen address is known/, 'the stopped daemon removed its status file');
  t.match(message, /start it with `corproxy serve` \(or `systemctl --user start corproxy`\)/);
  t.notMatch(message, /\n/, 'one line');
});

t.test('a stale status file: the PID is gone and nothing answers', async (t) => {
  const dir = t.testdir();
  const port = await closedPort();
  const pid = await deadPid();
  writeStatusFile(dir, {
    pid,
    started: new Date().toISOString(),
    version: 't',
    listen: [`127.0.0.1:${port}`],
  });
  const err = await runStatus({}, { config: cliConfig(dir), out: () => undefined }).catch(
    (e: unknown) => e,
  );
  t.match(err, { code: 'CPX_ERR_DAEMON_DOWN' });
  t.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`));
  t.match(
    (err as Error).message,
    new RegExp(`the status file names PID ${pid}, which is not running`),
  );
});

t.test('another program on the port is not taken for the daemon', async (t) => {
  const dir = t.testdir();
  const server = http.createServer((_req, res) => res.end('<html>hello</html>'));
  const port = await listen(t, server);
  writeStatusFile(dir, {
    pid: process.pid,
    started: new Date().toISOString(),
    version: 't',
    listen: [`127.0.0.1:${port}`],
  });
  const err = await runStatus({}, { config: cliConfig(dir), out: () => undefined }).catch(
    (e: unknown) => e,
  );
  t.match(err, { code: 'CPX_ERR_DAEMON_DOWN' });
  t.match((err as Error).message, /answered, but not as corproxy \(the answer is not JSON\)/);
});

t.test('a damaged status file is reported, the configured address still tried', async (t) => {
  const dir = t.testdir();
  writeFileSync(join(dir, 'status.json'), '{ not json');
  const port = await closedPort();
  const config = parseConfig({
    flags: { stateDir: dir, listen: [`127.0.0.1:${port}`], log: 'off' },
    env: {},
    platform: process.platform,
    homedir: os.tmpdir(),
  });
  const err = await runStatus({}, { config, out: () => undefined }).catch((e: unknown) => e);
  t.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}: connection refused`));
  t.match((err as Error).message, /status\.json is not valid JSON; delete it/);
});

t.test('a daemon that does not answer in time counts as down', async (t) => {
  const dir = t.testdir();
  const server = net.createServer(() => undefined);
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => {
    s.on('error', () => undefined);
    sockets.push(s);
  });
  const port = await listen(t, server);
  writeStatusFile(dir, {
    pid: process.pid,
    started: new Date().toISOString(),
    version: 't',
    listen: [`127.0.0.1:${port}`],
  });
  const err = await runStatus(
    {},
    { config: cliConfig(dir), out: () => undefined, timeoutMs: 200 },
  ).catch((e: unknown) => e);
  t.match((err as Error).message, /no answer within 200 ms/);
  for (const s of sockets) s.destroy();
});
