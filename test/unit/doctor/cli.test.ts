/** `corproxy doctor` as a command: arguments, exit codes, configuration errors. */
import t from 'tap';
import yargs from 'yargs';
import {
  doctorCommand,
  exitCodeOf,
  runDoctorCommand,
  type DoctorCliDeps,
} from '../../../src/cli/doctor.js';
import { CorproxyError } from '../../../src/errors.js';
import { check, type Check, type DoctorReport } from '../../../src/doctor/types.js';
import { testConfig } from '../../support/corproxy.js';

const report = (checks: Check[]): DoctorReport => ({
  modules: [],
  urls: [],
  goproxy: '',
  gosumdb: '',
  goSettingsFrom: 'defaults',
  daemonRunning: false,
  checks,
});

t.test('exit 0 only when nothing fails; else the code of the first failure', async (t) => {
  t.equal(exitCodeOf(report([check('env', 'a', 'warn', 'w'), check('tls', 'b', 'skip', 's')])), 0);
  t.equal(
    exitCodeOf(report([check('connect', 'c', 'fail', 'x', { code: 'CPX_ERR_UPSTREAM_AUTH' })])),
    69,
  );
  t.equal(
    exitCodeOf(
      report([
        check('corproxy', 'config', 'fail', 'x', { code: 'CPX_ERR_CONFIG_INVALID' }),
        check('tls', 't', 'fail', 'y'),
      ]),
    ),
    78,
  );
  t.equal(exitCodeOf(report([check('env', 'GOPROXY', 'fail', 'x')])), 1, 'no code: 1');
  t.equal(
    exitCodeOf(report([check('goproxy', 'g', 'fail', 'x', { code: 'CPX_ERR_NOT_A_CODE' })])),
    1,
  );
});

function cliDeps(loadConfig: DoctorCliDeps['loadConfig']): DoctorCliDeps {
  return {
    env: {},
    platform: 'linux',
    loadConfig,
    fallbackConfig: () => testConfig({}),
    print: () => undefined,
    tty: false,
  };
}

t.test('bad arguments and errors other than configuration ones are thrown', async (t) => {
  let loaded = false;
  const deps = cliDeps(() => {
    loaded = true;
    return testConfig({});
  });
  await t.rejects(runDoctorCommand({ targets: ['not a module'] }, deps), { code: 'CPX_ERR_USAGE' });
  t.notOk(loaded, 'arguments are checked first');
  const broken = cliDeps(() => {
    throw new CorproxyError('CPX_ERR_STATE_DIR', 'cannot create the state directory');
  });
  await t.rejects(runDoctorCommand({}, broken), { code: 'CPX_ERR_STATE_DIR' });
});

t.test('a configuration that cannot be loaded is the layer-2 failure, exit 78', async (t) => {
  const out: string[] = [];
  const deps: DoctorCliDeps = {
    ...cliDeps(() => {
      throw new CorproxyError(
        'CPX_ERR_CONFIG_INVALID',
        'limits.connectTimeout: not a duration; in config file x',
      );
    }),
    // Nothing to contact: no module proxy, no checksum database.
    env: { GOPROXY: 'direct', GOSUMDB: 'off' },
    askDaemon: () =>
      Promise.resolve({ ok: false, error: new CorproxyError('CPX_ERR_DAEMON_DOWN', 'down') }),
    goEnv: () => Promise.resolve(undefined),
    gitConfig: () => Promise.resolve(undefined),
    print: (s) => void out.push(s),
  };
  const { exitCode, report } = await runDoctorCommand(
    { targets: ['golang.org/x/mod'], json: true },
    deps,
  );
  t.equal(exitCode, 78);
  t.same(
    report.checks.filter((c) => c.status === 'fail').map((c) => c.name),
    ['config'],
  );
  t.match(
    report.checks.find((c) => c.name === 'config'),
    { status: 'fail', code: 'CPX_ERR_CONFIG_INVALID', summary: /limits\.connectTimeout/ },
  );
  const doc = JSON.parse(out.join('')) as {
    ok: boolean;
    firstFailure: { layer: number };
    checks: unknown[];
  };
  t.match(doc, { ok: false, firstFailure: { layer: 2, check: 'config' } });
});

t.test('the yargs command', async (t) => {
  let seen: unknown;
  await yargs([
    'doctor',
    'golang.org/x/mod',
    'https://a.test/',
    '--json',
    '--upstream',
    'http://p.test:1',
  ])
    .command({ ...doctorCommand, handler: (argv) => void (seen = argv) })
    .strict()
    .parseAsync();
  t.match(seen, {
    targets: ['golang.org/x/mod', 'https://a.test/'],
    json: true,
    upstream: ['http://p.test:1'],
  });
  t.equal(doctorCommand.command, 'doctor [targets..]');
});
