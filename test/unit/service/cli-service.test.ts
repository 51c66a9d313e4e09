import t from 'tap';
import yargs from 'yargs';

import {
  currentHost,
  defaultServiceDeps,
  parseListenFlag,
  resolveServiceRequest,
  runService,
  serviceCommand,
  type ServiceArgs,
  type ServiceHost,
} from '../../../src/cli/service.js';
import { DEFAULT_LISTEN } from '../../../src/service/units.js';
import { memoryFs, testDeps, type MemoryFs } from './fakes.js';

const linuxHost: ServiceHost = {
  platform: 'linux',
  uid: 1000,
  home: '/home/dev',
  cwd: '/home/dev/projects',
  env: {},
  nodePath: '/usr/bin/node',
  scriptPath: '/usr/lib/node_modules/corproxy/dist/main.js',
};

const winHost: ServiceHost = {
  platform: 'win32',
  uid: undefined,
  home: 'C:\\Users\\dev',
  cwd: 'C:\\Users\\dev\\work',
  env: { LOCALAPPDATA: 'D:\\Local', USERDOMAIN: 'CORP', USERNAME: 'dev' },
  nodePath: 'C:\\Program Files\\nodejs\\node.exe',
  scriptPath: 'C:\\npm\\node_modules\\corproxy\\dist\\main.js',
};

t.test('Linux defaults: user unit dir and XDG state dir; system paths for --system', async (t) => {
  const user = resolveServiceRequest({ action: 'install' }, linuxHost);
  t.match(user, {
    scope: 'user',
    dryRun: false,
    force: false,
    socket: true,
    unitDir: '/home/dev/.config/systemd/user',
    stateDir: '/home/dev/.local/state/corproxy',
    nodePath: '/usr/bin/node',
    listen: DEFAULT_LISTEN,
    configPath: undefined,
  });
  const xdg = resolveServiceRequest(
    { action: 'install' },
    { ...linuxHost, env: { XDG_CONFIG_HOME: '/x/config', XDG_STATE_HOME: '/x/state' } },
  );
  t.equal(xdg.unitDir, '/x/config/systemd/user');
  t.equal(xdg.stateDir, '/x/state/corproxy');
  const relative = resolveServiceRequest(
    { action: 'install' },
    { ...linuxHost, env: { XDG_CONFIG_HOME: 'rel', XDG_STATE_HOME: 'rel' } },
  );
  t.equal(relative.unitDir, '/home/dev/.config/systemd/user', 'relative XDG values are ignored');
  const system = resolveServiceRequest({ action: 'install', system: true }, linuxHost);
  t.match(system, {
    scope: 'system',
    unitDir: '/etc/systemd/system',
    stateDir: '/var/lib/corproxy',
    sysusersDir: '/etc/sysusers.d',
  });
});

t.test('flags: relative paths resolve against the working directory', async (t) => {
  const req = resolveServiceRequest(
    {
      action: 'install',
      dryRun: true,
      force: true,
      socket: false,
      unitDir: 'units',
      stateDir: '../state',
      config: 'corproxy.yaml',
    },
    linuxHost,
  );
  t.match(req, {
    dryRun: true,
    force: true,
    socket: false,
    unitDir: '/home/dev/projects/units',
    stateDir: '/home/dev/state',
    configPath: '/home/dev/projects/corproxy.yaml',
  });
  const listen = resolveServiceRequest(
    { action: 'install', listen: ['127.0.0.2:8080', '[::1]:8080'] },
    linuxHost,
  );
  t.same(listen.listen, [
    { host: '127.0.0.2', port: 8080 },
    { host: '::1', port: 8080 },
  ]);
});

t.test('Windows: LOCALAPPDATA state dir, DOMAIN\\user, --account implies --system', async (t) => {
  const user = resolveServiceRequest({ action: 'install', config: 'c.yaml' }, winHost);
  t.match(user, {
    scope: 'user',
    stateDir: 'D:\\Local\\corproxy',
    windowsUser: 'CORP\\dev',
    configPath: 'C:\\Users\\dev\\work\\c.yaml',
  });
  const boot = resolveServiceRequest({ action: 'install', account: 'NetworkService' }, winHost);
  t.equal(boot.scope, 'system');
  t.equal(boot.stateDir, 'D:\\Local\\corproxy', 'Windows has no /var/lib');
  const explicitUser = resolveServiceRequest(
    { action: 'install', account: 'NetworkService', user: true },
    winHost,
  );
  t.equal(explicitUser.scope, 'user', 'install.ts then refuses the combination');
  const bare = resolveServiceRequest(
    { action: 'status' },
    { ...winHost, env: { USERNAME: 'dev' } },
  );
  t.equal(bare.windowsUser, 'dev');
  t.equal(bare.stateDir, 'C:\\Users\\dev\\AppData\\Local\\corproxy');
});

t.test('usage errors: both scopes, --listen without the socket, bad addresses', async (t) => {
  t.throws(
    () => resolveServiceRequest({ action: 'install', user: true, system: true }, linuxHost),
    {
      code: 'CPX_ERR_USAGE',
      message: 'choose one of --user and --system',
    },
  );
  t.throws(
    () =>
      resolveServiceRequest(
        { action: 'install', socket: false, listen: ['127.0.0.1:1'] },
        linuxHost,
      ),
    { code: 'CPX_ERR_USAGE', message: /--listen sets the socket unit/ },
  );
  for (const bad of ['localhost:3129', '127.0.0.1', '::1:3129', '[::1]', '127.0.0.1:abc']) {
    t.throws(
      () => parseListenFlag(bad),
      { code: 'CPX_ERR_USAGE', message: /expected IPv4:PORT/ },
      bad,
    );
  }
  t.same(parseListenFlag('[fe80::1]:9'), { host: 'fe80::1', port: 9 });
});

t.test('runService dispatches, prints status as text or JSON, and wraps I/O errors', async (t) => {
  const deps = testDeps();
  await runService({ action: 'install', dryRun: true }, linuxHost, deps);
  t.match(deps.lines.join('\n'), 'would run systemctl --user enable --now');
  t.equal((deps.fs as MemoryFs).files.size, 0);

  const text = testDeps();
  await runService({ action: 'status' }, linuxHost, text);
  t.match(text.lines[0], 'corproxy service (--user): not installed by corproxy');

  const json = testDeps();
  await runService({ action: 'status', json: true }, linuxHost, json);
  t.match(JSON.parse(json.lines.join('\n')), {
    platform: 'linux',
    scope: 'user',
    installed: false,
  });

  const broken = testDeps({
    fs: {
      ...memoryFs(),
      writeFile: async () => {
        throw Object.assign(new Error("EACCES: permission denied, open '/x'"), { code: 'EACCES' });
      },
    },
  });
  await t.rejects(runService({ action: 'install' }, linuxHost, broken), {
    code: 'CPX_ERR_SERVICE',
    message: "service install failed: EACCES: permission denied, open '/x'",
  });
  await t.rejects(runService({ action: 'uninstall', system: true }, linuxHost, testDeps()), {
    code: 'CPX_ERR_SERVICE',
    message: /run it as root/,
  });
  await t.rejects(
    runService({ action: 'install', user: true, system: true }, linuxHost, testDeps()),
    {
      code: 'CPX_ERR_USAGE',
    },
  );
});

/** Parses a command line with the module's builder and a handler that only records. */
async function parse(argv: string[]): Promise<ServiceArgs> {
  let seen: ServiceArgs | undefined;
  await yargs(argv)
    .command(serviceCommand.command as string, 'test', serviceCommand.builder as never, (args) => {
      seen = args as unknown as ServiceArgs;
    })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    })
    .parseAsync();
  if (seen === undefined) throw new Error('no command ran');
  return seen;
}

t.test('the yargs module parses every option', async (t) => {
  const args = await parse([
    'service',
    'install',
    '--system',
    '--dry-run',
    '--force',
    '--no-socket',
    '--unit-dir',
    '/srv/u',
    '--state-dir',
    '/srv/s',
    '--config',
    '/etc/c.yaml',
    '--account',
    'NetworkService',
    '--json',
  ]);
  t.match(args, {
    action: 'install',
    system: true,
    dryRun: true,
    force: true,
    socket: false,
    unitDir: '/srv/u',
    stateDir: '/srv/s',
    config: '/etc/c.yaml',
    account: 'NetworkService',
    json: true,
  });
  t.same(
    (await parse(['service', 'status', '--listen', '127.0.0.1:1', '--listen', '[::1]:1'])).listen,
    ['127.0.0.1:1', '[::1]:1'],
  );
  t.equal((await parse(['service', 'uninstall'])).socket, true, 'the socket is on by default');
  await t.rejects(parse(['service', 'restart']), /Invalid values/);
  await t.rejects(parse(['service', 'install', '--user', '--system']), /mutually exclusive/);
  await t.rejects(parse(['service']), /Not enough non-option arguments/);
  t.equal(serviceCommand.command, 'service <action>');
  t.type(serviceCommand.describe, 'string');
});

t.test('the module registers on an app with the global options main.ts defines', async (t) => {
  const app = yargs(['service', 'reinstall'])
    .option('config', { type: 'string' })
    .option('debug', { type: 'boolean' })
    .command(serviceCommand)
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      throw err ?? new Error(msg);
    });
  await t.rejects(
    async () => app.parseAsync(),
    /Invalid values:[\s\S]*reinstall/,
    'rejected before the handler',
  );
});

t.test('the real host and dependencies are wired to this process', async (t) => {
  const host = currentHost();
  t.equal(host.platform, process.platform);
  t.equal(host.nodePath, process.execPath);
  t.match(host.scriptPath, /main\.js$/);
  t.same(Object.keys(host.env).sort(), [
    'LOCALAPPDATA',
    'USERDOMAIN',
    'USERNAME',
    'XDG_CONFIG_HOME',
    'XDG_STATE_HOME',
  ]);
  const deps = defaultServiceDeps(host);
  t.equal(deps.platform, process.platform);
  t.ok(deps.isAlive(process.pid));
  t.type(deps.executor.run, 'function');
  t.ok(deps.now() instanceof Date);
});
