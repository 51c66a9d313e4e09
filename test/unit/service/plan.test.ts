import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import t from 'tap';

import {
  applyPlan,
  describeStep,
  nodeServiceFs,
  parseManifest,
  removalSteps,
  sha256,
  type Manifest,
  type Step,
} from '../../../src/service/plan.js';
import { memoryFs, recordingExecutor, testDeps } from './fakes.js';

const manifest: Manifest = {
  version: 1,
  platform: 'linux',
  scope: 'user',
  installedAt: '2025-05-01T09:00:00.000Z',
  unitDir: '/u',
  units: ['corproxy.service'],
  files: [{ path: '/u/corproxy.service', sha256: sha256(Buffer.from('unit')) }],
};

t.test('steps are described as pasteable shell-like lines', async (t) => {
  const steps: Step[] = [
    { kind: 'mkdir', path: '/opt/my dir' },
    { kind: 'write', path: '/u/a', data: Buffer.from('12345'), text: '12345' },
    { kind: 'remove', path: '/u/a' },
    { kind: 'run', file: 'systemctl', args: ['--user', 'enable', '--now', 'corproxy.service'] },
  ];
  t.same(steps.map(describeStep), [
    "mkdir -p '/opt/my dir'",
    'write /u/a (5 bytes)',
    'remove /u/a',
    'run systemctl --user enable --now corproxy.service',
  ]);
});

t.test(
  'a plan runs in order; interactive steps get the terminal; optional failures are notes',
  async (t) => {
    const base = recordingExecutor((file) => (file === 'flaky' ? { code: 4 } : undefined));
    const executor = {
      calls: base.calls,
      run: async (...a: Parameters<typeof base.run>) => {
        if (a[0] === 'missing') throw new Error('missing was not found on PATH');
        return base.run(...a);
      },
    };
    const deps = testDeps({ executor });
    const fs = deps.fs as ReturnType<typeof memoryFs>;
    await applyPlan(
      [
        { kind: 'mkdir', path: '/d' },
        { kind: 'write', path: '/d/f', data: Buffer.from('x'), text: 'x' },
        { kind: 'run', file: 'flaky', args: ['a'], optional: true },
        { kind: 'run', file: 'missing', args: [], optional: true },
        { kind: 'run', file: 'prompt', args: [], interactive: true },
        { kind: 'remove', path: '/d/f' },
      ],
      false,
      deps,
    );
    t.same([...fs.dirs], ['/d']);
    t.equal(fs.files.size, 0, 'written, then removed');
    t.same(executor.calls, [
      { file: 'flaky', args: ['a'], interactive: false },
      { file: 'prompt', args: [], interactive: true },
    ]);
    t.ok(deps.lines.includes('note: flaky a exited 4; continuing'));
    t.ok(
      deps.lines.includes('note: missing did not run (missing was not found on PATH); continuing'),
    );
    await t.rejects(applyPlan([{ kind: 'run', file: 'flaky', args: [] }], false, deps), {
      code: 'CPX_ERR_SERVICE',
      message: 'flaky failed (exit 4): no output',
    });
  },
);

t.test('a dry run prints each step and file content, line by line', async (t) => {
  const deps = testDeps();
  await applyPlan(
    [{ kind: 'write', path: '/x.xml', data: Buffer.from('a\r\nb\r\n'), text: 'a\r\nb\r\n' }],
    true,
    deps,
  );
  t.same(deps.lines, [
    'dry run: nothing is changed',
    'would write /x.xml (6 bytes)',
    '    | a',
    '    | b',
  ]);
});

t.test('install records are validated', async (t) => {
  t.same(parseManifest(JSON.stringify(manifest), 'm'), manifest);
  const bad = [
    'not json',
    'null',
    JSON.stringify({ ...manifest, version: 2 }),
    JSON.stringify({ ...manifest, scope: 'global' }),
    JSON.stringify({ ...manifest, installedAt: 5 }),
    JSON.stringify({ ...manifest, unitDir: null }),
    JSON.stringify({ ...manifest, units: [1] }),
    JSON.stringify({ ...manifest, files: [{ path: '/a' }] }),
    JSON.stringify({ ...manifest, files: [null] }),
  ];
  for (const text of bad) {
    t.throws(() => parseManifest(text, '/s/service-install.json'), {
      code: 'CPX_ERR_SERVICE',
      message: '/s/service-install.json is not a corproxy install record; remove it by hand',
    });
  }
});

t.test('removal keeps edited files unless forced and skips files already gone', async (t) => {
  const withFiles = (content: string | undefined): ReturnType<typeof testDeps> =>
    testDeps({ fs: memoryFs(content === undefined ? {} : { '/u/corproxy.service': content }) });
  t.same(await removalSteps(manifest, [], false, withFiles('unit')), [
    { kind: 'remove', path: '/u/corproxy.service' },
  ]);
  const edited = withFiles('edited');
  t.same(await removalSteps(manifest, [], false, edited), []);
  t.match(edited.lines[0], 'was edited since install; left in place');
  t.same((await removalSteps(manifest, [], true, withFiles('edited'))).length, 1, 'forced');
  t.same(await removalSteps(manifest, [], false, withFiles(undefined)), []);
  const keep = [{ path: '/u/corproxy.service', data: Buffer.from(''), text: '' }];
  t.same(await removalSteps(manifest, keep, false, withFiles('unit')), [], 'kept targets stay');
});

t.test(
  'the real file system: missing is undefined, writes are atomic, removal is forgiving',
  async (t) => {
    const dir = t.testdir({ sub: {} });
    t.equal(await nodeServiceFs.readFile(join(dir, 'none')), undefined);
    await t.rejects(nodeServiceFs.readFile(join(dir, 'sub')), { code: 'EISDIR' });
    await nodeServiceFs.mkdirp(join(dir, 'a', 'b'));
    await nodeServiceFs.writeFile(join(dir, 'a', 'b', 'f'), Buffer.from('data'));
    t.equal(readFileSync(join(dir, 'a', 'b', 'f'), 'utf8'), 'data');
    t.same(readdirSync(join(dir, 'a', 'b')), ['f'], 'no temporary file left');
    t.equal(statSync(join(dir, 'a', 'b', 'f')).mode & 0o777, 0o644, 'readable by all');
    await nodeServiceFs.remove(join(dir, 'a', 'b', 'f'));
    await nodeServiceFs.remove(join(dir, 'a', 'b', 'f'));
    t.same(readdirSync(join(dir, 'a', 'b')), []);
  },
);
