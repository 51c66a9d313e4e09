import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import {
  createExecutor,
  firstLine,
  formatCommand,
  runChecked,
  type Executor,
} from '../../../src/service/executor.js';

const NODE = process.execPath;
const executor = createExecutor({ execFile, spawn, timeoutMs: 10_000 });

t.test('a command that runs reports its exit code and output', async (t) => {
  const ok = await executor.run(NODE, [
    '-e',
    'process.stdout.write("out"); process.stderr.write("err")',
  ]);
  t.same(ok, { code: 0, stdout: 'out', stderr: 'err' });
  const failed = await executor.run(NODE, ['-e', 'console.error("boom"); process.exit(3)']);
  t.equal(failed.code, 3, 'a non-zero exit resolves');
  t.equal(failed.stderr, 'boom\n');
});

t.test('arguments reach the program unchanged, without a shell', async (t) => {
  const args = ['a b', '$HOME', '"q"', "it's", '; rm -rf /'];
  const result = await executor.run(NODE, [
    '-e',
    'process.stdout.write(JSON.stringify(process.argv.slice(1)))',
    ...args,
  ]);
  t.same(JSON.parse(result.stdout), args);
});

t.test('a program that cannot run is a CPX_ERR_SERVICE error', async (t) => {
  await t.rejects(executor.run('corproxy-no-such-program', ['x']), {
    code: 'CPX_ERR_SERVICE',
    message: 'corproxy-no-such-program was not found on PATH',
  });
  const dir = t.testdir({});
  const notExecutable = join(dir, 'script.sh');
  writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
  await t.rejects(executor.run(notExecutable, []), {
    code: 'CPX_ERR_SERVICE',
    message: /script\.sh could not run: .*EACCES/,
  });
});

t.test('a command that hangs is stopped after the timeout', async (t) => {
  const quick = createExecutor({ execFile, spawn, timeoutMs: 300 });
  const started = Date.now();
  await t.rejects(quick.run(NODE, ['-e', 'setTimeout(() => {}, 20000)']), {
    code: 'CPX_ERR_SERVICE',
    message: /did not finish within 300 ms/,
  });
  t.ok(Date.now() - started < 10_000, 'bounded');
});

t.test('interactive commands share the terminal and report exit code or signal', async (t) => {
  const exited = await executor.run(NODE, ['-e', 'process.exit(5)'], { interactive: true });
  t.same(exited, { code: 5, stdout: '', stderr: '' });
  const killed = await executor.run(NODE, ['-e', 'process.kill(process.pid, "SIGKILL")'], {
    interactive: true,
  });
  t.same(killed, { code: 128, stdout: '', stderr: 'killed by SIGKILL' });
  await t.rejects(executor.run('corproxy-no-such-program', [], { interactive: true }), {
    code: 'CPX_ERR_SERVICE',
    message: /not found on PATH/,
  });
});

t.test('runChecked turns a failed command into one line naming it', async (t) => {
  const fake: Executor = {
    run: async (file) =>
      file === 'good'
        ? { code: 0, stdout: 'fine', stderr: '' }
        : { code: 1, stdout: '', stderr: '\nFailed to connect to bus: No medium found\nmore\n' },
  };
  t.equal((await runChecked(fake, 'good', [])).stdout, 'fine');
  await t.rejects(runChecked(fake, 'systemctl', ['--user', 'daemon-reload']), {
    code: 'CPX_ERR_SERVICE',
    message:
      'systemctl --user daemon-reload failed (exit 1): Failed to connect to bus: No medium found',
    details: { command: 'systemctl', args: ['--user', 'daemon-reload'], exitCode: 1 },
  });
  t.equal(firstLine({ code: 1, stdout: '', stderr: '' }), 'no output');
  t.equal(firstLine({ code: 1, stdout: 'only stdout\n', stderr: '  \n' }), 'only stdout');
});

t.test('formatCommand quotes for a POSIX shell only where needed', async (t) => {
  t.equal(
    formatCommand('systemctl', ['--user', 'enable', '--now', 'corproxy.service']),
    'systemctl --user enable --now corproxy.service',
  );
  t.equal(formatCommand('/opt/my app/x', ["it's", '']), `'/opt/my app/x' 'it'\\''s' ''`);
  t.equal(
    formatCommand('schtasks.exe', ['/TN', 'C:\\Users\\dev']),
    "schtasks.exe /TN 'C:\\Users\\dev'",
  );
});
