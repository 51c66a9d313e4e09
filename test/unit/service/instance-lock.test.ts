import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import t, { type Test } from 'tap';

import {
  acquireInstanceLock,
  defaultLockDeps,
  isProcessAlive,
  LOCK_FILE,
  looksLikeCorproxy,
  nodeLockFs,
  readProcCmdline,
  readStatusFile,
  STATUS_FILE,
  writeStatusFile,
  type DaemonStatus,
  type LockDeps,
  type LockFs,
} from '../../../src/service/instance-lock.js';

const linux = process.platform === 'linux';

/** A sleeping node child; `marker` lands in its command line. Killed at teardown. */
async function sleeper(t: Test, marker: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', marker], {
    stdio: 'ignore',
  });
  await new Promise((resolve, reject) => child.once('spawn', resolve).once('error', reject));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return child;
}

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

const status: DaemonStatus = {
  pid: process.pid,
  started: '2025-05-01T09:00:00.000Z',
  version: '0.1.0',
  listen: ['127.0.0.1:3129', '[::1]:3129'],
  upstreams: ['http://proxy.corp.example:8080'],
  logFile: '/var/log/corproxy/connections.log',
  socketActivated: true,
};

t.test('the lock is a pid file created exclusively and removed on release', async (t) => {
  const dir = join(t.testdir({}), 'state', 'nested');
  const lock = acquireInstanceLock(dir);
  t.equal(lock.path, join(dir, LOCK_FILE));
  t.equal(readFileSync(lock.path, 'utf8'), `${process.pid}\n`);
  t.equal(acquireInstanceLock(dir).path, lock.path, 'our own PID in the file is ours');
  lock.release();
  t.notOk(existsSync(lock.path));
  lock.release();
  t.pass('release is idempotent');
  acquireInstanceLock(dir).release();
});

t.test('a second serve on the same state dir names the PID that runs', async (t) => {
  const dir = t.testdir({});
  const other = await sleeper(t, 'corproxy-lock-test');
  writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
  t.throws(() => acquireInstanceLock(dir), {
    code: 'CPX_ERR_ALREADY_RUNNING',
    message: `corproxy already runs as PID ${other.pid} for state dir ${dir}; stop it or use --state-dir`,
    details: { pid: other.pid, stateDir: dir },
  });
  t.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), `${other.pid}\n`, 'the lock is untouched');
});

t.test('a lock left by a dead process is taken over', async (t) => {
  const dir = t.testdir({});
  writeFileSync(join(dir, LOCK_FILE), `${await exitedPid()}\n`);
  const lock = acquireInstanceLock(dir);
  t.equal(readFileSync(lock.path, 'utf8'), `${process.pid}\n`);
  lock.release();
});

t.test('a PID reused by another program does not block (where /proc tells)', async (t) => {
  const dir = t.testdir({});
  const other = await sleeper(t, 'unrelated-program');
  writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
  if (linux) {
    acquireInstanceLock(dir).release();
    t.pass('taken over');
  } else {
    t.throws(
      () => acquireInstanceLock(dir),
      { code: 'CPX_ERR_ALREADY_RUNNING' },
      'unknown: refuse',
    );
  }
});

t.test('an unreadable pid file is stale', async (t) => {
  for (const content of ['', 'garbage\n', '-5\n', '0\n', '12 34\n']) {
    const dir = t.testdir({ [LOCK_FILE]: content });
    acquireInstanceLock(dir).release();
    t.pass(JSON.stringify(content));
  }
});

function memoryFs(files: Map<string, string>, overrides: Partial<LockFs> = {}): LockFs {
  return {
    mkdirp: () => undefined,
    createExclusive: (path, data) => {
      if (files.has(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' });
      files.set(path, data);
    },
    readText: (path) => files.get(path),
    remove: (path) => void files.delete(path),
    writeAtomic: (path, data) => void files.set(path, data),
    ...overrides,
  };
}

function fakeDeps(files: Map<string, string>, over: Partial<LockDeps> = {}): LockDeps {
  return {
    pid: 100,
    fs: memoryFs(files),
    isAlive: () => false,
    readCmdline: () => undefined,
    selfScript: '/opt/corproxy/dist/main.js',
    ...over,
  };
}

t.test('identity: alive and corproxy blocks, alive and unknown blocks, else stale', async (t) => {
  const lockPath = join('/state', LOCK_FILE);
  const cases: Array<[string, Partial<LockDeps>, boolean]> = [
    ['dead', { isAlive: () => false }, false],
    ['alive, no /proc', { isAlive: () => true, readCmdline: () => undefined }, true],
    [
      'alive corproxy',
      { isAlive: () => true, readCmdline: () => ['node', '/usr/bin/corproxy', 'serve'] },
      true,
    ],
    [
      'alive, same script',
      { isAlive: () => true, readCmdline: () => ['node', 'dist/main.js', 'serve'] },
      true,
    ],
    [
      'alive, other program',
      { isAlive: () => true, readCmdline: () => ['/usr/sbin/sshd', '-D'] },
      false,
    ],
    ['alive zombie', { isAlive: () => true, readCmdline: () => [] }, false],
  ];
  for (const [name, over, blocks] of cases) {
    const files = new Map([[lockPath, '200\n']]);
    const acquire = (): unknown => acquireInstanceLock('/state', fakeDeps(files, over));
    if (blocks) t.throws(acquire, { code: 'CPX_ERR_ALREADY_RUNNING', message: /PID 200/ }, name);
    else {
      acquire();
      t.equal(files.get(lockPath), '100\n', `${name}: taken over`);
    }
  }
});

t.test('losing the O_EXCL race three times says another corproxy is starting', async (t) => {
  const files = new Map<string, string>();
  const fs = memoryFs(files, {
    createExclusive: () => {
      throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    },
    readText: () => '200\n',
  });
  t.throws(() => acquireInstanceLock('/state', fakeDeps(files, { fs })), {
    code: 'CPX_ERR_ALREADY_RUNNING',
    message: 'another corproxy is starting for state dir /state; stop it or use --state-dir',
  });
});

t.test('a state dir that cannot hold the lock is a config error naming it', async (t) => {
  const files = new Map<string, string>();
  const eacces = (): never => {
    throw Object.assign(new Error('denied'), { code: 'EACCES' });
  };
  for (const fs of [
    memoryFs(files, { mkdirp: eacces }),
    memoryFs(files, { createExclusive: eacces }),
  ]) {
    t.throws(() => acquireInstanceLock('/state', fakeDeps(files, { fs })), {
      code: 'CPX_ERR_STATE_DIR',
      message: /state dir \/state is not usable \(EACCES\)/,
    });
  }
  const dir = t.testdir({ file: 'not a directory' });
  t.throws(() => acquireInstanceLock(join(dir, 'file')), { code: 'CPX_ERR_STATE_DIR' });
});

t.test('release leaves files that are no longer ours', async (t) => {
  const files = new Map<string, string>();
  const deps = fakeDeps(files);
  const lock = acquireInstanceLock('/state', deps);
  writeStatusFile('/state', { ...status, pid: 100 }, deps.fs);
  lock.release();
  t.same([...files.keys()], [], 'pid and status file removed');
  const again = acquireInstanceLock('/state', deps);
  files.set(again.path, '300\n');
  writeStatusFile('/state', { ...status, pid: 300 }, deps.fs);
  again.release();
  t.equal(files.get(again.path), '300\n', "another daemon's lock stays");
  t.ok(files.has(join('/state', STATUS_FILE)), "another daemon's status stays");
  files.set(join('/state', STATUS_FILE), '{broken');
  t.doesNotThrow(() => again.release(), 'a damaged status file does not break exit');
});

t.test('the status file round-trips atomically and is validated', async (t) => {
  const dir = t.testdir({});
  t.equal(readStatusFile(dir), undefined, 'none yet');
  writeStatusFile(dir, status);
  t.same(readStatusFile(dir), status);
  t.same(readdirSync(dir), [STATUS_FILE], 'no temporary file left');
  const minimal = { pid: 7, started: 's', version: 'v', listen: [] };
  writeFileSync(join(dir, STATUS_FILE), JSON.stringify(minimal));
  t.same(readStatusFile(dir), minimal);
  const bad: Array<[string, RegExp]> = [
    ['{not json', /is not valid JSON; delete it/],
    ['[]', /is not a corproxy status file/],
    [JSON.stringify({ ...minimal, pid: -1 }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, pid: 1.5 }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, listen: [1] }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, upstreams: 'x' }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, logFile: 3 }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, socketActivated: 'yes' }), /not a corproxy status file/],
    [JSON.stringify({ ...minimal, version: undefined }), /not a corproxy status file/],
  ];
  for (const [text, message] of bad) {
    writeFileSync(join(dir, STATUS_FILE), text);
    t.throws(() => readStatusFile(dir), { code: 'CPX_ERR_SERVICE', message }, text);
  }
});

t.test('looksLikeCorproxy recognises installed and development command lines', async (t) => {
  const self = '/src/checkout/dist/main.js';
  t.ok(looksLikeCorproxy(['node', '/usr/lib/node_modules/corproxy/dist/main.js', 'serve'], self));
  t.ok(looksLikeCorproxy(['/usr/bin/CorProxy'], self));
  t.ok(looksLikeCorproxy(['node', 'dist/main.js', 'serve'], self));
  t.ok(looksLikeCorproxy(['node.exe', 'C:\\src\\dist\\main.js'], 'C:\\other\\dist\\main.js'));
  t.notOk(looksLikeCorproxy(['node', 'other/main.js'], self));
  t.notOk(looksLikeCorproxy(['bash'], 'main.js'), 'a bare script name has no tail to compare');
  t.notOk(looksLikeCorproxy([], self));
});

t.test('process probes: alive, dead, and /proc command lines', async (t) => {
  t.ok(isProcessAlive(process.pid));
  t.ok(isProcessAlive(1), 'init exists (EPERM also counts as alive)');
  t.notOk(isProcessAlive(await exitedPid()));
  if (linux) {
    const child = await sleeper(t, 'cmdline-marker');
    t.same(readProcCmdline(child.pid ?? 0)?.slice(-2), [
      'setTimeout(() => {}, 60000)',
      'cmdline-marker',
    ]);
  }
  t.equal(readProcCmdline(2 ** 30), undefined);
  const deps = defaultLockDeps();
  t.equal(deps.pid, process.pid);
  t.equal(deps.fs, nodeLockFs);
});
