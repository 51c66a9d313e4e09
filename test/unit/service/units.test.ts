import { readdirSync, readFileSync } from 'node:fs';

import t from 'tap';
import yargs from 'yargs';

import { serveOptions } from '../../../src/cli/serve.js';
import {
  DEFAULT_LISTEN,
  DEFAULT_NODE_PATH,
  DEFAULT_SCRIPT_PATH,
  formatListenStream,
  quoteExecWord,
  renderServiceUnit,
  renderSocketUnit,
  renderSysusers,
  SERVE_FLAGS,
  shippedUnitFiles,
  validateUnitOptions,
  type UnitOptions,
} from '../../../src/service/units.js';

const SYSTEMD_DIR = new URL('../../../systemd/', import.meta.url);

const system: UnitOptions = {
  scope: 'system',
  nodePath: '/usr/bin/node',
  scriptPath: '/opt/corproxy/dist/main.js',
  listen: DEFAULT_LISTEN,
};
const user: UnitOptions = { ...system, scope: 'user' };

/** Unit file → section → key → values (a key may repeat); comments are dropped. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1] ?? '', current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`unparsable unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

function directive(text: string, section: string, key: string): string[] | undefined {
  return parseUnit(text).get(section)?.get(key);
}

/**
 * Splits an ExecStart= value back into words the way systemd does for what quoteExecWord
 * produces (double quotes with \\ and \" escapes; %% and $$ doubled), so quoting is tested
 * by round trip rather than by comparing strings.
 */
function splitExec(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) {
    const raw = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? '');
    words.push(raw.replace(/%%/g, '%').replace(/\$\$/g, '$'));
  }
  return words;
}

t.test('the files in systemd/ are exactly the rendered defaults', async (t) => {
  const shipped = shippedUnitFiles();
  const onDisk = readdirSync(SYSTEMD_DIR).filter((f) => f !== 'README.md');
  t.same(onDisk.sort(), shipped.map((f) => f.file).sort(), 'no extra or missing unit files');
  for (const { file, text } of shipped) {
    t.equal(readFileSync(new URL(file, SYSTEMD_DIR), 'utf8'), text, `${file} is up to date`);
  }
  t.match(shipped[0]?.text, `ExecStart=${DEFAULT_NODE_PATH} ${DEFAULT_SCRIPT_PATH} serve`);
});

t.test('the system service: dedicated user, directories, restart, limits', async (t) => {
  const text = renderServiceUnit(system);
  const expect: Array<[string, string, string[]]> = [
    ['Service', 'Type', ['exec']],
    ['Service', 'User', ['corproxy']],
    ['Service', 'Group', ['corproxy']],
    ['Service', 'StateDirectory', ['corproxy']],
    ['Service', 'ConfigurationDirectory', ['corproxy']],
    ['Service', 'LogsDirectory', ['corproxy']],
    ['Service', 'Restart', ['on-failure']],
    ['Service', 'RestartPreventExitStatus', ['2 78']],
    ['Service', 'LimitNOFILE', ['65536']],
    ['Service', 'ExecReload', ['/bin/kill -HUP $MAINPID']],
    ['Service', 'TimeoutStopSec', ['30s']],
    ['Service', 'KillMode', ['mixed']],
    ['Unit', 'After', ['network-online.target corproxy.socket']],
    ['Install', 'WantedBy', ['multi-user.target']],
  ];
  for (const [section, key, values] of expect) {
    t.same(directive(text, section, key), values, `${section}.${key}`);
  }
  t.notOk(directive(text, 'Service', 'DynamicUser'), 'no DynamicUser (state must stay readable)');
  t.same(splitExec(directive(text, 'Service', 'ExecStart')?.[0] ?? ''), [
    '/usr/bin/node',
    '/opt/corproxy/dist/main.js',
    'serve',
    SERVE_FLAGS.stateDir,
    '%S/corproxy',
    SERVE_FLAGS.log,
    '%L/corproxy/connections.log',
  ]);
});

t.test('the system service is hardened, and says why MemoryDenyWriteExecute is off', async (t) => {
  const text = renderServiceUnit(system);
  const hardening: Array<[string, string]> = [
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'yes'],
    ['PrivateTmp', 'yes'],
    ['PrivateDevices', 'yes'],
    ['RestrictAddressFamilies', 'AF_INET AF_INET6 AF_UNIX AF_NETLINK'],
    ['RestrictNamespaces', 'yes'],
    ['LockPersonality', 'yes'],
    ['SystemCallArchitectures', 'native'],
    ['CapabilityBoundingSet', ''],
  ];
  for (const [key, value] of hardening) t.same(directive(text, 'Service', key), [value], key);
  t.notOk(directive(text, 'Service', 'MemoryDenyWriteExecute'), 'V8 needs W+X memory');
  t.match(text, /# MemoryDenyWriteExecute= is deliberately absent: V8's JIT/);
  t.match(text, /# Type=exec, not notify/, 'the readiness choice is explained');
});

t.test('the user service runs as the user, without mount-namespace sandboxing', async (t) => {
  const text = renderServiceUnit(user);
  for (const key of ['User', 'ProtectSystem', 'ProtectHome', 'PrivateTmp', 'StateDirectory']) {
    t.notOk(directive(text, 'Service', key), `no ${key}`);
  }
  t.same(directive(text, 'Service', 'NoNewPrivileges'), ['yes']);
  t.same(directive(text, 'Service', 'Restart'), ['on-failure']);
  t.same(directive(text, 'Install', 'WantedBy'), ['default.target']);
  t.same(directive(text, 'Unit', 'Wants'), ['corproxy.socket'], 'no network-online.target');
  const words = splitExec(directive(text, 'Service', 'ExecStart')?.[0] ?? '');
  t.same(words.slice(3), [SERVE_FLAGS.stateDir, '%h/.local/state/corproxy']);
  const custom = renderServiceUnit({ ...user, stateDir: '/home/dev/state 100%/corproxy' });
  const customWords = splitExec(directive(custom, 'Service', 'ExecStart')?.[0] ?? '');
  t.same(customWords.slice(3), [SERVE_FLAGS.stateDir, '/home/dev/state 100%/corproxy']);
});

t.test('ExecStart words survive spaces, quotes, backslashes, % and $', async (t) => {
  const cases: Array<[string, string]> = [
    ['/usr/bin/node', '/usr/bin/node'],
    ['/opt/my app/main.js', '"/opt/my app/main.js"'],
    ['/opt/100%/main.js', '/opt/100%%/main.js'],
    ['/opt/$HOME/x', '/opt/$$HOME/x'],
    ['/opt/a"b', '"/opt/a\\"b"'],
    ['/opt/a\\b', '"/opt/a\\\\b"'],
    ["/opt/it's", `"/opt/it's"`],
    ['', '""'],
  ];
  for (const [word, quoted] of cases) {
    t.equal(quoteExecWord(word), quoted, JSON.stringify(word));
    t.same(splitExec(quoteExecWord(word)), word === '' ? [''] : [word], `round trip ${word}`);
  }
  const text = renderServiceUnit({
    ...user,
    nodePath: '/opt/node 20/bin/node',
    scriptPath: '/opt/corp "proxy"/main.js',
    configPath: '/etc/corproxy/my config.yaml',
  });
  t.same(splitExec(directive(text, 'Service', 'ExecStart')?.[0] ?? '').slice(0, 5), [
    '/opt/node 20/bin/node',
    '/opt/corp "proxy"/main.js',
    'serve',
    SERVE_FLAGS.config,
    '/etc/corproxy/my config.yaml',
  ]);
});

t.test('the serve command accepts every flag the units pass', async (t) => {
  for (const opts of [
    { ...system, configPath: '/etc/corproxy/config.yaml' },
    { ...user, configPath: '/home/dev/.config/corproxy/config.yaml' },
  ]) {
    const words = splitExec(directive(renderServiceUnit(opts), 'Service', 'ExecStart')?.[0] ?? '');
    const parser = serveOptions(yargs(words.slice(3)).option('config', { type: 'string' }))
      .strict()
      .exitProcess(false)
      .fail((msg, err) => {
        throw err ?? new Error(msg);
      });
    t.doesNotThrow(() => parser.parseSync(), `${opts.scope}: ${words.slice(3).join(' ')}`);
  }
});

t.test('options the unit cannot work with are CPX_ERR_SERVICE errors', async (t) => {
  const cases: Array<[string, UnitOptions, RegExp]> = [
    ['relative node', { ...system, nodePath: 'node' }, /node binary path must be absolute/],
    ['relative script', { ...user, scriptPath: 'dist/main.js' }, /script path must be absolute/],
    ['newline', { ...user, configPath: '/etc/a\nb' }, /control character/],
    [
      'node under /home for the system unit',
      { ...system, nodePath: '/home/dev/.nvm/versions/node/v20/bin/node' },
      /under \/home\/, which ProtectHome= hides/,
    ],
    ['config under /root', { ...system, configPath: '/root/c.yaml' }, /under \/root\//],
    ['system state dir', { ...system, stateDir: '/srv/corproxy' }, /\/var\/lib\/corproxy/],
    ['no listen', { ...system, listen: [] }, /at least one listen address/],
    [
      'host name',
      { ...system, listen: [{ host: 'localhost', port: 3129 }] },
      /IP literal: localhost/,
    ],
    ['port 0', { ...system, listen: [{ host: '127.0.0.1', port: 0 }] }, /1-65535/],
    ['port too big', { ...system, listen: [{ host: '::1', port: 70000 }] }, /1-65535/],
  ];
  for (const [name, opts, message] of cases) {
    t.throws(() => validateUnitOptions(opts), { code: 'CPX_ERR_SERVICE', message }, name);
    t.throws(() => renderServiceUnit(opts), { code: 'CPX_ERR_SERVICE' }, `${name} (render)`);
  }
  t.doesNotThrow(() => validateUnitOptions({ ...user, nodePath: '/home/dev/bin/node' }));
});

t.test('the socket unit listens on every address, IPv6 bracketed', async (t) => {
  const text = renderSocketUnit([
    { host: '127.0.0.1', port: 3129 },
    { host: '::1', port: 3129 },
    { host: '10.0.0.5', port: 8080 },
  ]);
  t.same(directive(text, 'Socket', 'ListenStream'), [
    '127.0.0.1:3129',
    '[::1]:3129',
    '10.0.0.5:8080',
  ]);
  t.same(directive(text, 'Socket', 'Accept'), ['no']);
  t.same(directive(text, 'Socket', 'BindIPv6Only'), ['ipv6-only']);
  t.same(directive(text, 'Socket', 'FileDescriptorName'), ['corproxy']);
  t.same(directive(text, 'Install', 'WantedBy'), ['sockets.target']);
  t.throws(() => renderSocketUnit([]), { code: 'CPX_ERR_SERVICE' });
  t.equal(formatListenStream({ host: 'fe80::1', port: 1 }), '[fe80::1]:1');
});

t.test('the sysusers line creates the corproxy system account', async (t) => {
  const lines = renderSysusers()
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  t.same(lines, ['u corproxy - "corproxy proxy daemon" /var/lib/corproxy']);
});
