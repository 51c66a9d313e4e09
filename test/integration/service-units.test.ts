/**
 * `systemd-analyze verify` on the units corproxy ships and on what `service install`
 * writes. verify checks that ExecStart's binary exists, so the units are copied into a
 * temporary directory with this test's node as the binary. Fails in CI without systemd.
 */

import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import t from 'tap';

import { installService, type ServiceRequest } from '../../src/service/install.js';
import { nodeServiceFs } from '../../src/service/plan.js';
import {
  DEFAULT_LISTEN,
  DEFAULT_NODE_PATH,
  hiddenFromSystemService,
  quoteExecWord,
} from '../../src/service/units.js';
import { findTool, requireTool } from '../support/tools.js';
import { recordingExecutor, testDeps } from '../unit/service/fakes.js';

const run = promisify(execFile);
const SYSTEMD_DIR = new URL('../../systemd/', import.meta.url);
const analyze = findTool('systemd-analyze');

interface Verdict {
  readonly code: number;
  /** stderr lines about corproxy's units (verify also reports unrelated host units). */
  readonly ours: string[];
}

async function verify(dir: string, files: string[], user: boolean): Promise<Verdict> {
  const runtime = join(dir, 'runtime');
  mkdirSync(runtime, { recursive: true, mode: 0o700 });
  chmodSync(runtime, 0o700);
  // A user manager needs XDG_RUNTIME_DIR even to verify; HOME keeps it off the real one.
  const env = user ? { ...process.env, XDG_RUNTIME_DIR: runtime, HOME: dir } : process.env;
  const args = [...(user ? ['--user'] : []), 'verify', ...files.map((f) => `./${f}`)];
  try {
    const { stderr } = await run(analyze ?? 'systemd-analyze', args, {
      cwd: dir,
      env,
      timeout: 60_000,
    });
    return { code: 0, ours: stderr.split('\n').filter((l) => /corproxy/.test(l)) };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, ours: (e.stderr ?? '').split('\n').filter((l) => l !== '') };
  }
}

/** A shipped unit with ExecStart pointing at this test's node instead of /usr/bin/node. */
function shippedWithThisNode(file: string): string {
  const text = readFileSync(new URL(file, SYSTEMD_DIR), 'utf8');
  return text.replace(
    `ExecStart=${DEFAULT_NODE_PATH} `,
    `ExecStart=${quoteExecWord(process.execPath)} `,
  );
}

t.test('the shipped system units pass systemd-analyze verify', async (t) => {
  if (!requireTool(t, 'systemd-analyze', analyze)) return;
  const dir = t.testdir({});
  writeFileSync(join(dir, 'corproxy.service'), shippedWithThisNode('corproxy.service'));
  copyFileSync(new URL('corproxy.socket', SYSTEMD_DIR), join(dir, 'corproxy.socket'));
  t.same(await verify(dir, ['corproxy.socket', 'corproxy.service'], false), { code: 0, ours: [] });
  t.same(
    await verify(dir, ['corproxy.service'], false),
    { code: 0, ours: [] },
    'without the socket',
  );
});

t.test('the shipped user unit passes systemd-analyze --user verify', async (t) => {
  if (!requireTool(t, 'systemd-analyze', analyze)) return;
  const dir = t.testdir({});
  // Installed under the name corproxy.service, so corproxy.socket activates it.
  writeFileSync(join(dir, 'corproxy.service'), shippedWithThisNode('corproxy-user.service'));
  copyFileSync(new URL('corproxy.socket', SYSTEMD_DIR), join(dir, 'corproxy.socket'));
  t.same(await verify(dir, ['corproxy.socket', 'corproxy.service'], true), { code: 0, ours: [] });
});

t.test('verify does catch a broken unit (the check above can fail)', async (t) => {
  if (!requireTool(t, 'systemd-analyze', analyze)) return;
  const dir = t.testdir({});
  const broken = shippedWithThisNode('corproxy.service')
    .replace('Type=exec', 'Type=bogus')
    .replace('ExecReload=/bin/kill', 'ExecReload=/nonexistent/kill');
  writeFileSync(join(dir, 'corproxy.service'), broken);
  const verdict = await verify(dir, ['corproxy.service'], false);
  t.not(verdict.code, 0);
  t.match(verdict.ours.join('\n'), /bogus|nonexistent/);
});

t.test('units written by `service install` into a temporary unit dir verify too', async (t) => {
  if (!requireTool(t, 'systemd-analyze', analyze)) return;
  const root = t.testdir({ units: {}, state: {} });
  const req: ServiceRequest = {
    scope: 'user',
    dryRun: false,
    force: false,
    socket: true,
    unitDir: join(root, 'units'),
    sysusersDir: join(root, 'sysusers'),
    stateDir: join(root, 'state with space'),
    nodePath: process.execPath,
    scriptPath: join(root, 'dist', 'main.js'),
    configPath: join(root, 'corp 100% config.yaml'),
    listen: [...DEFAULT_LISTEN, { host: '127.0.0.1', port: 13129 }],
    windowsUser: '',
  };
  const deps = testDeps({ fs: nodeServiceFs, executor: recordingExecutor() });
  await installService(req, deps);
  t.same(await verify(req.unitDir, ['corproxy.socket', 'corproxy.service'], true), {
    code: 0,
    ours: [],
  });
  // The system unit refuses a node binary that ProtectHome= would hide from it.
  if (hiddenFromSystemService(process.execPath) === undefined) {
    const system = {
      ...req,
      scope: 'system' as const,
      unitDir: join(root, 'system'),
      stateDir: join(root, 'sys-state'),
      scriptPath: '/opt/corproxy/dist/main.js',
      configPath: '/etc/corproxy/config.yaml',
    };
    await installService(
      system,
      testDeps({ uid: 0, fs: nodeServiceFs, executor: recordingExecutor() }),
    );
    t.same(await verify(system.unitDir, ['corproxy.socket', 'corproxy.service'], false), {
      code: 0,
      ours: [],
    });
  }
});

t.test('the sysusers file creates the corproxy account (systemd-sysusers --dry-run)', async (t) => {
  const sysusers = findTool('systemd-sysusers');
  if (!requireTool(t, 'systemd-sysusers', sysusers)) return;
  const root = t.testdir({ etc: {} });
  const conf = join(root, 'corproxy.conf');
  copyFileSync(new URL('corproxy-sysusers.conf', SYSTEMD_DIR), conf);
  const { stdout, stderr } = await run(sysusers, [`--root=${root}`, '--dry-run', conf], {
    timeout: 60_000,
  });
  t.match(`${stdout}${stderr}`, /Creating user '?corproxy'? \(corproxy proxy daemon\)/);
});
