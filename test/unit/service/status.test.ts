import t from 'tap';

import {
  installService,
  serviceStatus,
  type ServiceRequest,
} from '../../../src/service/install.js';
import { STATUS_FILE, type DaemonStatus } from '../../../src/service/instance-lock.js';
import {
  formatStatus,
  parseSystemctlShow,
  type ServiceStatusReport,
} from '../../../src/service/status.js';
import { DEFAULT_LISTEN } from '../../../src/service/units.js';
import { commandLines, memoryFs, recordingExecutor, testDeps, type Responder } from './fakes.js';

const req: ServiceRequest = {
  scope: 'user',
  dryRun: false,
  force: false,
  socket: true,
  unitDir: '/home/dev/.config/systemd/user',
  sysusersDir: '/etc/sysusers.d',
  stateDir: '/home/dev/.local/state/corproxy',
  nodePath: '/usr/bin/node',
  scriptPath: '/usr/lib/node_modules/corproxy/dist/main.js',
  listen: DEFAULT_LISTEN,
  windowsUser: 'CORP\\dev',
};

const daemon: DaemonStatus = {
  pid: 4321,
  started: '2025-05-01T09:00:01.000Z',
  version: '0.1.0',
  listen: ['127.0.0.1:3129', '[::1]:3129'],
  upstreams: ['http://***@proxy.corp.example:8080'],
  logFile: '/home/dev/.local/state/corproxy/connections.log',
  socketActivated: true,
};

const SERVICE_SHOW = [
  'MainPID=4321',
  'LoadState=loaded',
  'ActiveState=active',
  'SubState=running',
  'UnitFileState=enabled',
  'ActiveEnterTimestamp=Thu 2025-05-01 09:00:01 UTC',
  '',
].join('\n');
const SOCKET_SHOW =
  'ActiveState=active\nListen=127.0.0.1:3129 (Stream)\nListen=[::1]:3129 (Stream)\n';
const JOURNAL =
  '2025-05-01T09:05:00+0000 host corproxy[4321]: upstream proxy.corp.example:8080 requires authentication\n';

const linuxResponder: Responder = (file, args) => {
  if (file === 'systemctl' && args.includes('corproxy.service')) return { stdout: SERVICE_SHOW };
  if (file === 'systemctl' && args.includes('corproxy.socket')) return { stdout: SOCKET_SHOW };
  if (file === 'journalctl') return { stdout: JOURNAL };
  return undefined;
};

t.test('systemctl show output: KEY=VALUE lines, repeated keys kept', async (t) => {
  const props = parseSystemctlShow('A=1\r\nListen=x\nListen=y\nnot a property\n=bad\nEmpty=\n');
  t.same(
    [...props],
    [
      ['A', ['1']],
      ['Listen', ['x', 'y']],
      ['Empty', ['']],
    ],
  );
});

t.test('Linux status joins systemctl, the status file and the journal', async (t) => {
  const fs = memoryFs();
  const deps = testDeps({ fs, executor: recordingExecutor(linuxResponder) });
  await installService(req, deps);
  fs.files.set(`${req.stateDir}/${STATUS_FILE}`, Buffer.from(JSON.stringify(daemon)));
  deps.executor.calls.length = 0;
  const report = await serviceStatus(req, deps);
  t.same(commandLines(deps.executor.calls), [
    'systemctl --user show corproxy.service --property=LoadState,ActiveState,SubState,UnitFileState,MainPID,ActiveEnterTimestamp',
    'systemctl --user show corproxy.socket --property=ActiveState,Listen',
    'journalctl --user -u corproxy.service -p warning -n 5 --no-pager -q -o short-iso',
  ]);
  t.same(report, {
    platform: 'linux',
    scope: 'user',
    installed: true,
    installedAt: '2025-05-01T09:00:00.000Z',
    service: {
      load: 'loaded',
      active: 'active',
      sub: 'running',
      unitFile: 'enabled',
      mainPid: 4321,
      since: 'Thu 2025-05-01 09:00:01 UTC',
    },
    socket: { active: 'active', listen: ['127.0.0.1:3129 (Stream)', '[::1]:3129 (Stream)'] },
    task: undefined,
    daemon: { ...daemon, running: true },
    lastErrors: [JOURNAL.trim()],
    notes: [],
  });
  t.same(formatStatus(report), [
    'corproxy service (--user): installed 2025-05-01T09:00:00.000Z',
    'service: active (running), PID 4321, enabled, since Thu 2025-05-01 09:00:01 UTC',
    'socket:  active, listening on 127.0.0.1:3129 (Stream), [::1]:3129 (Stream)',
    'daemon:  PID 4321 running, version 0.1.0, started 2025-05-01T09:00:01.000Z',
    'listen:  127.0.0.1:3129, [::1]:3129 (from systemd)',
    'upstream: http://***@proxy.corp.example:8080',
    `log:     ${daemon.logFile}`,
    'last errors:',
    `  ${JOURNAL.trim()}`,
  ]);
});

t.test('missing sources become notes, never failures', async (t) => {
  const executor = recordingExecutor((file) =>
    file === 'systemctl'
      ? { code: 1, stderr: 'Failed to connect to bus: No medium found\n' }
      : { code: 1, stderr: 'No journal files were found.\n' },
  );
  const deps = testDeps({ executor });
  const report = await serviceStatus(
    { ...req, scope: 'system', unitDir: '/etc/systemd/system', stateDir: '/var/lib/corproxy' },
    deps,
  );
  t.equal(report.installed, false);
  t.equal(report.service, undefined);
  t.equal(report.socket, undefined, 'no socket asked for without an install record');
  t.same(report.notes, [
    'systemctl show corproxy.service: Failed to connect to bus: No medium found',
    'no status file in /var/lib/corproxy: the daemon has not run there',
    'journalctl: No journal files were found.',
  ]);
  t.same(
    commandLines(executor.calls)[0]?.startsWith('systemctl show'),
    true,
    'no --user for system',
  );
  t.same(formatStatus(report), [
    'corproxy service (--system): not installed by corproxy',
    'service: unknown',
    ...report.notes.map((n) => `note: ${n}`),
  ]);
});

t.test('a damaged status file and a stale PID are reported as such', async (t) => {
  const fs = memoryFs({ [`${req.stateDir}/${STATUS_FILE}`]: '{oops' });
  const notFound = recordingExecutor((file) =>
    file === 'systemctl'
      ? { stdout: 'LoadState=not-found\nActiveState=inactive\nSubState=dead\nMainPID=0\n' }
      : undefined,
  );
  const report = await serviceStatus(req, testDeps({ fs, executor: notFound }));
  t.match(report.notes[0], /status\.json is not valid JSON; delete it/);
  t.match(formatStatus(report)[1], 'service: no corproxy unit loaded');
  fs.files.set(
    `${req.stateDir}/${STATUS_FILE}`,
    Buffer.from(JSON.stringify({ ...daemon, upstreams: [] })),
  );
  const stale = await serviceStatus(
    req,
    testDeps({ fs, executor: notFound, isAlive: () => false }),
  );
  const lines = formatStatus(stale);
  t.ok(
    lines.includes(
      'daemon:  PID 4321 not running, version 0.1.0, started 2025-05-01T09:00:01.000Z',
    ),
  );
  t.ok(lines.includes('upstream: direct'));
});

t.test('Windows status reads the task through PowerShell', async (t) => {
  const running = recordingExecutor(() => ({
    stdout: '{"State":"Running","LastTaskResult":267009,"LastRunTime":"5/1/2025 9:00:00 AM"}',
  }));
  const deps = testDeps({ platform: 'win32', uid: undefined, executor: running });
  const winReq = { ...req, stateDir: 'C:\\Users\\dev\\AppData\\Local\\corproxy' };
  const report = await serviceStatus(winReq, deps);
  t.same(report.task, { state: 'Running', lastResult: 267009, lastRun: '5/1/2025 9:00:00 AM' });
  t.same(report.lastErrors, [], 'still running is not an error');
  t.equal(formatStatus(report)[1], 'task:    Running, last run 5/1/2025 9:00:00 AM');
  t.match(report.notes[0], 'no status file in C:\\Users\\dev\\AppData\\Local\\corproxy');

  const failed = recordingExecutor(() => ({
    stdout: '{"State":"Ready","LastTaskResult":1,"LastRunTime":""}',
  }));
  const after = await serviceStatus(
    winReq,
    testDeps({ platform: 'win32', uid: undefined, executor: failed }),
  );
  t.same(after.lastErrors, ['last run ended with exit code 1']);
  t.equal(formatStatus(after)[1], 'task:    Ready');

  const missing = recordingExecutor(() => ({
    code: 1,
    stderr: 'Get-ScheduledTask : No MSFT_ScheduledTask objects found\n',
  }));
  const none = await serviceStatus(
    winReq,
    testDeps({ platform: 'win32', uid: undefined, executor: missing }),
  );
  t.equal(none.task, undefined);
  t.match(
    none.notes[0],
    'scheduled task corproxy: Get-ScheduledTask : No MSFT_ScheduledTask objects found',
  );
});

t.test('formatStatus without any source still prints the headline', async (t) => {
  const report: ServiceStatusReport = {
    platform: 'linux',
    scope: 'system',
    installed: true,
    installedAt: undefined,
    service: {
      load: 'loaded',
      active: 'failed',
      sub: 'failed',
      unitFile: '',
      mainPid: undefined,
      since: undefined,
    },
    socket: { active: 'inactive', listen: [] },
    task: undefined,
    daemon: {
      ...daemon,
      listen: [],
      upstreams: undefined,
      logFile: undefined,
      socketActivated: false,
      running: true,
    },
    lastErrors: [],
    notes: [],
  };
  t.same(formatStatus(report), [
    'corproxy service (--system): installed',
    'service: failed (failed), unknown',
    'socket:  inactive, listening on nothing',
    'daemon:  PID 4321 running, version 0.1.0, started 2025-05-01T09:00:01.000Z',
    'listen:  none',
    'upstream: direct',
  ]);
});
