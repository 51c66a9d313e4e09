import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import {
  installService,
  serviceStatus,
  TASK_XML_FILE,
  uninstallService,
  type ServiceRequest,
} from '../../../src/service/install.js';
import { MANIFEST_FILE, nodeServiceFs, parseManifest, sha256 } from '../../../src/service/plan.js';
import {
  DEFAULT_LISTEN,
  renderServiceUnit,
  renderSocketUnit,
  renderSysusers,
} from '../../../src/service/units.js';
import { commandLines, memoryFs, recordingExecutor, testDeps, type MemoryFs } from './fakes.js';

const userReq: ServiceRequest = {
  scope: 'user',
  dryRun: false,
  force: false,
  socket: true,
  unitDir: '/home/dev/.config/systemd/user',
  sysusersDir: '/etc/sysusers.d',
  stateDir: '/home/dev/.local/state/corproxy',
  nodePath: '/home/dev/.nvm/versions/node/v20/bin/node',
  scriptPath: '/home/dev/.nvm/versions/node/v20/lib/node_modules/corproxy/dist/main.js',
  listen: DEFAULT_LISTEN,
  windowsUser: '',
};

const systemReq: ServiceRequest = {
  ...userReq,
  scope: 'system',
  unitDir: '/etc/systemd/system',
  stateDir: '/var/lib/corproxy',
  nodePath: '/usr/bin/node',
  scriptPath: '/usr/lib/node_modules/corproxy/dist/main.js',
};

const winReq: ServiceRequest = {
  ...userReq,
  unitDir: 'unused',
  stateDir: 'C:\\Users\\dev\\AppData\\Local\\corproxy',
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  scriptPath: 'C:\\Users\\dev\\AppData\\Roaming\\npm\\node_modules\\corproxy\\dist\\main.js',
  windowsUser: 'CORP\\dev',
};

function text(fs: MemoryFs, path: string): string | undefined {
  return fs.files.get(path)?.toString('utf8');
}

t.test('a --user install writes the units and the record, then enables them', async (t) => {
  const deps = testDeps();
  const fs = deps.fs as MemoryFs;
  await installService(userReq, deps);
  const service = `${userReq.unitDir}/corproxy.service`;
  const socket = `${userReq.unitDir}/corproxy.socket`;
  const expected = renderServiceUnit({ ...userReq, stateDir: userReq.stateDir });
  t.equal(text(fs, service), expected, 'the user unit, told the resolved state dir');
  t.match(expected, `--state-dir ${userReq.stateDir}`);
  t.equal(text(fs, socket), renderSocketUnit(DEFAULT_LISTEN));
  const manifest = parseManifest(text(fs, `${userReq.stateDir}/${MANIFEST_FILE}`) ?? '', 'm');
  t.same(manifest, {
    version: 1,
    platform: 'linux',
    scope: 'user',
    installedAt: '2025-05-01T09:00:00.000Z',
    unitDir: userReq.unitDir,
    units: ['corproxy.socket', 'corproxy.service'],
    files: [
      { path: service, sha256: sha256(Buffer.from(expected)) },
      { path: socket, sha256: sha256(Buffer.from(renderSocketUnit(DEFAULT_LISTEN))) },
    ],
  });
  t.same(commandLines(deps.executor.calls), [
    'systemctl --user daemon-reload',
    'systemctl --user enable --now corproxy.socket corproxy.service',
  ]);
  t.same([...fs.dirs], [userReq.unitDir, userReq.stateDir]);
  t.match(deps.lines.join('\n'), /write .*corproxy\.service[\s\S]*loginctl enable-linger/);
});

t.test('--dry-run prints every step and file, and changes nothing', async (t) => {
  const deps = testDeps();
  const fs = deps.fs as MemoryFs;
  const steps = await installService({ ...systemReq, dryRun: true }, deps);
  t.equal(fs.files.size, 0, 'nothing written');
  t.equal(deps.executor.calls.length, 0, 'nothing run');
  t.equal(deps.lines[0], 'dry run: nothing is changed');
  const out = deps.lines.join('\n');
  t.match(out, 'would mkdir -p /etc/systemd/system');
  t.match(out, /would write \/etc\/systemd\/system\/corproxy\.service \(\d+ bytes\)/);
  t.match(out, '    | ProtectSystem=strict', 'file contents shown');
  t.match(out, 'would run systemd-sysusers /etc/sysusers.d/corproxy.conf');
  t.match(out, 'would run systemctl enable --now corproxy.socket corproxy.service');
  t.equal(steps.filter((s) => s.kind === 'run').length, 3);
});

t.test('a --system install adds the account and uses the system manager', async (t) => {
  const deps = testDeps({ uid: 0 });
  const fs = deps.fs as MemoryFs;
  await installService(systemReq, deps);
  t.equal(text(fs, '/etc/sysusers.d/corproxy.conf'), renderSysusers());
  t.match(text(fs, '/etc/systemd/system/corproxy.service'), 'User=corproxy');
  t.same(commandLines(deps.executor.calls), [
    'systemd-sysusers /etc/sysusers.d/corproxy.conf',
    'systemctl daemon-reload',
    'systemctl enable --now corproxy.socket corproxy.service',
  ]);
  t.ok(fs.files.has('/var/lib/corproxy/service-install.json'));
});

t.test('privileges: --system needs root, --user refuses root unless forced', async (t) => {
  await t.rejects(installService(systemReq, testDeps({ uid: 1000 })), {
    code: 'CPX_ERR_SERVICE',
    message: /run it as root/,
  });
  await t.rejects(uninstallService(systemReq, testDeps({ uid: 1000 })), {
    code: 'CPX_ERR_SERVICE',
  });
  await t.rejects(installService(userReq, testDeps({ uid: 0 })), {
    code: 'CPX_ERR_SERVICE',
    message: /as root, --user would install for root only/,
  });
  await installService({ ...userReq, force: true }, testDeps({ uid: 0 }));
  await installService({ ...systemReq, dryRun: true }, testDeps({ uid: 1000 }));
  t.pass('forced and dry runs pass');
});

t.test('the system unit refuses node under /home (ProtectHome)', async (t) => {
  const deps = testDeps({ uid: 0 });
  await t.rejects(installService({ ...systemReq, nodePath: userReq.nodePath }, deps), {
    code: 'CPX_ERR_SERVICE',
    message: /ProtectHome= hides/,
  });
  t.equal((deps.fs as MemoryFs).files.size, 0, 'nothing written before the check');
});

t.test('install never overwrites a unit it did not write, unless forced', async (t) => {
  const path = `${userReq.unitDir}/corproxy.service`;
  const deps = testDeps({ fs: memoryFs({ [path]: '[Service]\nExecStart=/bin/true\n' }) });
  await t.rejects(installService(userReq, deps), {
    code: 'CPX_ERR_SERVICE',
    message: `${path} exists and was not written by corproxy; remove it or use --force`,
  });
  t.equal(deps.executor.calls.length, 0);
  await installService({ ...userReq, force: true }, deps);
  t.match(text(deps.fs as MemoryFs, path), 'corproxy');
});

t.test('re-install: unchanged units are replaced and the daemon restarted', async (t) => {
  const deps = testDeps();
  await installService(userReq, deps);
  deps.executor.calls.length = 0;
  await installService({ ...userReq, configPath: '/home/dev/corproxy.yaml' }, deps);
  t.match(
    text(deps.fs as MemoryFs, `${userReq.unitDir}/corproxy.service`),
    '--config /home/dev/corproxy.yaml',
  );
  t.same(commandLines(deps.executor.calls).at(-1), 'systemctl --user try-restart corproxy.service');
});

t.test('re-install with --no-socket removes the socket it installed before', async (t) => {
  const deps = testDeps();
  const fs = deps.fs as MemoryFs;
  await installService(userReq, deps);
  deps.executor.calls.length = 0;
  await installService({ ...userReq, socket: false }, deps);
  t.notOk(fs.files.has(`${userReq.unitDir}/corproxy.socket`));
  t.same(commandLines(deps.executor.calls), [
    'systemctl --user disable --now corproxy.socket',
    'systemctl --user daemon-reload',
    'systemctl --user enable --now corproxy.service',
    'systemctl --user try-restart corproxy.service',
  ]);
  const manifest = parseManifest(text(fs, `${userReq.stateDir}/${MANIFEST_FILE}`) ?? '', 'm');
  t.same(manifest.units, ['corproxy.service']);
});

t.test('an edited unit is neither overwritten nor removed', async (t) => {
  const deps = testDeps();
  const fs = deps.fs as MemoryFs;
  const path = `${userReq.unitDir}/corproxy.service`;
  await installService(userReq, deps);
  fs.files.set(path, Buffer.from(`${text(fs, path)}Environment=EDITED=1\n`));
  await t.rejects(installService(userReq, deps), { message: /was edited since corproxy wrote it/ });
  await uninstallService(userReq, deps);
  t.ok(fs.files.has(path), 'kept');
  t.notOk(fs.files.has(`${userReq.unitDir}/corproxy.socket`), 'the unchanged socket went');
  t.match(deps.lines.join('\n'), `note: ${path} was edited since install; left in place`);
});

t.test('install then uninstall leaves the file system as it was', async (t) => {
  const before = { '/home/dev/.config/systemd/user/other.service': '[Service]\n' };
  const deps = testDeps({ uid: 0, fs: memoryFs(before) });
  const fs = deps.fs as MemoryFs;
  await installService(systemReq, deps);
  deps.executor.calls.length = 0;
  await uninstallService(systemReq, deps);
  t.same(Object.fromEntries([...fs.files].map(([k, v]) => [k, v.toString()])), before);
  t.same(commandLines(deps.executor.calls), [
    'systemctl disable --now corproxy.socket corproxy.service',
    'systemctl daemon-reload',
  ]);
  t.match(deps.lines.join('\n'), 'the corproxy account stays');
});

t.test('uninstall without a record does nothing and says so', async (t) => {
  const deps = testDeps();
  t.same(await uninstallService(userReq, deps), []);
  t.same(deps.lines, [`nothing to uninstall: no corproxy install record in ${userReq.stateDir}`]);
  t.equal(deps.executor.calls.length, 0);
});

t.test('uninstall removes only files install writes, whatever the record says', async (t) => {
  const deps = testDeps({ fs: memoryFs({ '/etc/shadow': 'root:x' }) });
  const fs = deps.fs as MemoryFs;
  await installService(userReq, deps);
  const mpath = `${userReq.stateDir}/${MANIFEST_FILE}`;
  const manifest = JSON.parse(text(fs, mpath) ?? '');
  manifest.files.push({ path: '/etc/shadow', sha256: sha256(Buffer.from('root:x')) });
  fs.files.set(mpath, Buffer.from(JSON.stringify(manifest)));
  await uninstallService(userReq, deps);
  t.equal(text(fs, '/etc/shadow'), 'root:x');
  t.match(deps.lines.join('\n'), 'note: /etc/shadow is not a file corproxy installs; ignored');
});

t.test(
  'a record from another scope or unit dir, or a damaged one, stops the command',
  async (t) => {
    const deps = testDeps();
    const fs = deps.fs as MemoryFs;
    await installService(userReq, deps);
    await t.rejects(
      uninstallService(
        { ...userReq, scope: 'system', unitDir: '/etc/systemd/system' },
        testDeps({ uid: 0, fs }),
      ),
      {
        message: /records a --user install; pass --user or another --state-dir/,
      },
    );
    await t.rejects(uninstallService({ ...userReq, unitDir: '/srv/elsewhere' }, deps), {
      message: `corproxy was installed into ${userReq.unitDir}; pass that directory (--unit-dir)`,
    });
    fs.files.set(`${userReq.stateDir}/${MANIFEST_FILE}`, Buffer.from('{"version":2}'));
    await t.rejects(serviceStatus(userReq, deps), {
      code: 'CPX_ERR_SERVICE',
      message: /is not a corproxy install record/,
    });
    fs.files.set(`${userReq.stateDir}/${MANIFEST_FILE}`, Buffer.from('not json'));
    await t.rejects(uninstallService(userReq, deps), { message: /remove it by hand/ });
  },
);

t.test(
  'a failing systemctl stops install with its message; the record allows cleanup',
  async (t) => {
    const executor = recordingExecutor((_file, args) =>
      args.includes('enable') || args.includes('disable')
        ? { code: 1, stderr: 'Failed to connect to bus: No medium found\n' }
        : undefined,
    );
    const deps = testDeps({ executor });
    await t.rejects(installService(userReq, deps), {
      code: 'CPX_ERR_SERVICE',
      message:
        'systemctl --user enable --now corproxy.socket corproxy.service failed (exit 1): Failed to connect to bus: No medium found',
    });
    const fs = deps.fs as MemoryFs;
    t.ok(fs.files.has(`${userReq.stateDir}/${MANIFEST_FILE}`));
    await uninstallService(userReq, deps);
    t.equal(fs.files.size, 0, 'uninstall cleaned up');
    t.match(deps.lines.join('\n'), /note: systemctl --user disable --now .* exited 1; continuing/);
  },
);

t.test('only Linux and Windows are supported', async (t) => {
  for (const platform of ['darwin', 'freebsd'] as const) {
    await t.rejects(installService(userReq, testDeps({ platform })), {
      code: 'CPX_ERR_SERVICE',
      message: `corproxy service supports Linux (systemd) and Windows, not ${platform}`,
    });
    await t.rejects(uninstallService(userReq, testDeps({ platform })), { code: 'CPX_ERR_SERVICE' });
    await t.rejects(serviceStatus(userReq, testDeps({ platform })), { code: 'CPX_ERR_SERVICE' });
  }
});

const missingTask = recordingExecutorFor(false);

function recordingExecutorFor(taskExists: boolean): () => ReturnType<typeof recordingExecutor> {
  return () =>
    recordingExecutor((file, args) =>
      file === 'schtasks.exe' && args[0] === '/Query' && !taskExists
        ? { code: 1, stderr: 'ERROR: The system cannot find the file specified.' }
        : undefined,
    );
}

t.test('Windows --user: a logon task from UTF-16 XML, registered and started', async (t) => {
  const deps = testDeps({ platform: 'win32', uid: undefined, executor: missingTask() });
  const fs = deps.fs as MemoryFs;
  await installService(winReq, deps);
  const xmlPath = `${winReq.stateDir}\\${TASK_XML_FILE}`;
  const xml = fs.files.get(xmlPath);
  t.same([...(xml ?? Buffer.alloc(0)).subarray(0, 2)], [0xff, 0xfe]);
  const decoded = xml?.subarray(2).toString('utf16le') ?? '';
  t.match(decoded, '<LogonType>InteractiveToken</LogonType>');
  t.match(decoded, '<UserId>CORP\\dev</UserId>');
  t.same(commandLines(deps.executor.calls), [
    'schtasks.exe /Query /TN corproxy',
    `schtasks.exe /Create /TN corproxy /XML ${xmlPath} /F`,
    'schtasks.exe /Run /TN corproxy',
  ]);
  const manifest = parseManifest(text(fs, `${winReq.stateDir}\\${MANIFEST_FILE}`) ?? '', 'm');
  t.same(manifest.files, [{ path: xmlPath, sha256: sha256(xml ?? Buffer.alloc(0)) }]);
  t.equal(manifest.platform, 'win32');
});

t.test(
  'Windows --system: an explicit account is required; a named one is prompted for',
  async (t) => {
    await t.rejects(
      installService(
        { ...winReq, scope: 'system' },
        testDeps({ platform: 'win32', uid: undefined }),
      ),
      {
        code: 'CPX_ERR_SERVICE',
        message: /--system needs an explicit --account .*single sign-on/,
      },
    );
    await t.rejects(
      installService(
        { ...winReq, account: 'NetworkService' },
        testDeps({ platform: 'win32', uid: undefined }),
      ),
      {
        message: /--account chooses the account of the --system boot task/,
      },
    );
    const deps = testDeps({ platform: 'win32', uid: undefined, executor: missingTask() });
    await installService({ ...winReq, scope: 'system', account: 'CORP\\svc-proxy' }, deps);
    const create = deps.executor.calls.find((c) => c.args[0] === '/Create');
    t.equal(create?.interactive, true);
    t.same(create?.args.slice(-4), ['/RU', 'CORP\\svc-proxy', '/RP', '*']);
  },
);

t.test('Windows: a task corproxy did not create is not replaced unless forced', async (t) => {
  const deps = testDeps({
    platform: 'win32',
    uid: undefined,
    executor: recordingExecutorFor(true)(),
  });
  await t.rejects(installService(winReq, deps), {
    message: 'a scheduled task named corproxy exists and was not created by corproxy; use --force',
  });
  await installService({ ...winReq, force: true }, deps);
  t.match(commandLines(deps.executor.calls).join('\n'), '/Create');
});

t.test('Windows uninstall ends and deletes the task, then its files', async (t) => {
  const deps = testDeps({
    platform: 'win32',
    uid: undefined,
    executor: recordingExecutorFor(true)(),
  });
  await installService({ ...winReq, force: true }, deps);
  deps.executor.calls.length = 0;
  await uninstallService(winReq, deps);
  t.equal((deps.fs as MemoryFs).files.size, 0);
  t.same(commandLines(deps.executor.calls), [
    'schtasks.exe /Query /TN corproxy',
    'schtasks.exe /End /TN corproxy',
    'schtasks.exe /Delete /TN corproxy /F',
  ]);
  const gone = testDeps({ platform: 'win32', uid: undefined, executor: missingTask() });
  await installService(winReq, gone);
  gone.executor.calls.length = 0;
  await uninstallService(winReq, gone);
  t.notOk(
    commandLines(gone.executor.calls).some((c) => c.includes('/Delete')),
    'a task deleted by hand is skipped',
  );
});

t.test('round trip on a real temporary unit dir, with --dry-run first', async (t) => {
  const root = t.testdir({ units: { 'unrelated.service': '[Service]\n' } });
  const req: ServiceRequest = {
    ...userReq,
    unitDir: join(root, 'units'),
    stateDir: join(root, 'state'),
    nodePath: process.execPath,
    scriptPath: join(root, 'main.js'),
  };
  const deps = testDeps({ fs: nodeServiceFs });
  await installService({ ...req, dryRun: true }, deps);
  t.same(readdirSync(join(root, 'units')), ['unrelated.service'], 'dry run wrote nothing');
  t.notOk(existsSync(req.stateDir));
  await installService(req, deps);
  t.same(readdirSync(req.unitDir).sort(), [
    'corproxy.service',
    'corproxy.socket',
    'unrelated.service',
  ]);
  t.equal(
    readFileSync(join(req.unitDir, 'corproxy.socket'), 'utf8'),
    renderSocketUnit(DEFAULT_LISTEN),
  );
  t.same(readdirSync(req.stateDir), [MANIFEST_FILE]);
  await uninstallService({ ...req, dryRun: true }, deps);
  t.equal(readdirSync(req.unitDir).length, 3, 'dry-run uninstall removed nothing');
  await uninstallService(req, deps);
  t.same(readdirSync(req.unitDir), ['unrelated.service']);
  t.same(readdirSync(req.stateDir), []);
  writeFileSync(join(req.unitDir, 'corproxy.service'), 'mine');
  await t.rejects(installService(req, deps), { message: /was not written by corproxy/ });
});
