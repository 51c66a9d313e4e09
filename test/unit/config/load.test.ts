import { chmodSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { envSnapshot, loadConfig, type LoadDeps } from '../../../src/config/load.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/config/', import.meta.url));
const posix = process.platform !== 'win32';

function fixtureText(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/** Reads only inside `root`; anything else (like /etc/corproxy) is absent, so tests are hermetic. */
function deps(root: string, extra: LoadDeps = {}): LoadDeps {
  return {
    env: { XDG_CONFIG_HOME: path.join(root, 'xdg') },
    homedir: path.join(root, 'home'),
    platform: 'linux',
    cwd: root,
    readFile: (file) => {
      if (!file.startsWith(root)) throw errnoError('ENOENT');
      return readFileSync(file, 'utf8');
    },
    ...extra,
  };
}

t.test('no config file anywhere: defaults only', async (t) => {
  const root = t.testdir({});
  const c = loadConfig({}, deps(root));
  t.same(c.sources, ['defaults']);
  t.equal(c.stateDir, path.join(root, 'home', '.local', 'state', 'corproxy'));
});

t.test('the XDG config file is found and layered under flags', async (t) => {
  const root = t.testdir({
    xdg: { corproxy: { 'config.yaml': 'listen: [4100]\nfallback: none\n' } },
  });
  const c = loadConfig({ listen: ['4200'] }, deps(root));
  const file = path.join(root, 'xdg', 'corproxy', 'config.yaml');
  t.same(c.sources, ['defaults', file, 'flags']);
  t.equal(c.fallback, 'none');
  t.same(
    c.listen.map((a) => a.port),
    [4200, 4200],
  );
});

t.test('the second default location is used when the first is absent', async (t) => {
  const root = t.testdir({});
  const seen: string[] = [];
  const c = loadConfig(
    {},
    deps(root, {
      readFile: (file) => {
        seen.push(file);
        if (file === '/etc/corproxy/config.yaml') return 'fallback: none\n';
        throw errnoError(seen.length === 1 ? 'ENOENT' : 'ENOTDIR');
      },
    }),
  );
  t.same(seen, [path.join(root, 'xdg', 'corproxy', 'config.yaml'), '/etc/corproxy/config.yaml']);
  t.equal(c.fallback, 'none');
});

t.test('--config and CORPROXY_CONFIG', async (t) => {
  const root = t.testdir({
    'a.yaml': 'fallback: none\n',
    sub: { 'b.yaml': 'log:\n  level: warn\n' },
  });
  t.equal(loadConfig({ config: 'a.yaml' }, deps(root)).fallback, 'none', 'relative to cwd');
  const env = { CORPROXY_CONFIG: path.join(root, 'sub', 'b.yaml') };
  t.equal(loadConfig({}, deps(root, { env })).log.level, 'warn');
  t.equal(loadConfig({ config: 'a.yaml' }, deps(root, { env })).log.level, 'info', '--config wins');
  t.throws(() => loadConfig({ config: 'missing.yaml' }, deps(root)), {
    code: 'CPX_ERR_CONFIG_READ',
    message: `${path.join(root, 'missing.yaml')}: no such file (named by --config); create it or fix the path`,
  });
  const missing = { CORPROXY_CONFIG: path.join(root, 'nope.yaml') };
  t.throws(() => loadConfig({}, deps(root, { env: missing })), {
    code: 'CPX_ERR_CONFIG_READ',
    message: /nope\.yaml: no such file \(named by CORPROXY_CONFIG\)/,
  });
});

t.test('unreadable and malformed files', async (t) => {
  const root = t.testdir({
    'syntax.yaml': fixtureText('syntax-error.yaml'),
    'dup.yaml': fixtureText('duplicate-key.yaml'),
    'bomb.yaml': fixtureText('alias-bomb.yaml'),
    'unknown.yaml': fixtureText('unknown-key.yaml'),
    'empty.yaml': fixtureText('empty.yaml'),
  });
  const file = (name: string): string => path.join(root, name);
  const err = t.throws(() => loadConfig({ config: 'syntax.yaml' }, deps(root)), {
    code: 'CPX_ERR_CONFIG_READ',
    message: `${file('syntax.yaml')}:2:11: Nested mappings are not allowed in compact mappings (YAML syntax)`,
  });
  t.notMatch(
    String((err as Error | undefined)?.message),
    'fixture-secret',
    'source line not quoted',
  );
  t.throws(() => loadConfig({ config: 'dup.yaml' }, deps(root)), {
    code: 'CPX_ERR_CONFIG_READ',
    message: `${file('dup.yaml')}:2:1: Map keys must be unique (YAML syntax)`,
  });
  t.throws(() => loadConfig({ config: 'bomb.yaml' }, deps(root)), {
    code: 'CPX_ERR_CONFIG_READ',
    message: /bomb\.yaml: Excessive alias count/,
  });
  t.throws(() => loadConfig({ config: 'unknown.yaml' }, deps(root)), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message: `limits.idleTimout: unknown key (did you mean idleTimeout?); in config file ${file('unknown.yaml')}`,
  });
  t.same(loadConfig({ config: 'empty.yaml' }, deps(root)).sources, [
    'defaults',
    file('empty.yaml'),
  ]);
  const eacces = deps(root, {
    readFile: () => {
      throw errnoError('EACCES');
    },
  });
  t.throws(() => loadConfig({}, eacces), {
    code: 'CPX_ERR_CONFIG_READ',
    message:
      /config\.yaml: cannot read it \(EACCES\); check its permissions or name another file with --config$/,
  });
});

t.test('a world-readable file holding a password is refused', async (t) => {
  const root = t.testdir({
    'secret.yaml': fixtureText('secret.yaml'),
    'secret-url.yaml': fixtureText('secret-in-url.yaml'),
    'plain.yaml': 'upstream: [http://jdoe@proxy.corp.test:8080]\n',
  });
  const file = (name: string): string => path.join(root, name);
  const cases: ReadonlyArray<readonly [string, number, boolean]> = [
    ['secret.yaml', 0o644, true],
    ['secret-url.yaml', 0o604, true],
    ['secret.yaml', 0o600, false],
    ['secret.yaml', 0o640, false],
    ['plain.yaml', 0o644, false],
  ];
  for (const [name, mode, refused] of cases) {
    const d = deps(root, { stat: () => ({ mode: 0o100000 | mode }) });
    const label = `${name} ${mode.toString(8)}`;
    if (!refused) {
      t.equal(loadConfig({ config: name }, d).upstreams.length, 1, label);
      continue;
    }
    const err = t.throws(
      () => loadConfig({ config: name }, d),
      {
        code: 'CPX_ERR_CONFIG_INVALID',
        message: `upstream: holds a password but the file is readable by every user; run chmod 600 ${file(name)}; in config file ${file(name)}`,
      },
      label,
    );
    t.notMatch(
      String((err as Error | undefined)?.message),
      /fixture(-|%40|@)secret/,
      `${label}: no password`,
    );
  }
  const win: LoadDeps = {
    env: {},
    platform: 'win32',
    homedir: 'C:\\Users\\dev',
    cwd: 'C:\\work',
    readFile: () => fixtureText('secret.yaml'),
    stat: () => ({ mode: 0o100644 }),
  };
  const onWindows = loadConfig({ config: 'config.yaml' }, win);
  t.equal(onWindows.upstreams.length, 1, 'no mode check on Windows');
  t.same(onWindows.sources, ['defaults', 'C:\\work\\config.yaml']);
  const statFails = deps(root, {
    stat: () => {
      throw errnoError('EIO');
    },
  });
  t.throws(() => loadConfig({ config: 'secret.yaml' }, statFails), {
    code: 'CPX_ERR_CONFIG_READ',
    message: `${file('secret.yaml')}: cannot stat it (EIO)`,
  });
});

t.test(
  'real file modes through the default fs functions',
  { skip: !posix && 'POSIX modes' },
  async (t) => {
    const root = t.testdir({ 'secret.yaml': fixtureText('secret.yaml') });
    const file = path.join(root, 'secret.yaml');
    const base = { env: {}, homedir: root, cwd: root };
    chmodSync(file, 0o644);
    t.throws(() => loadConfig({ config: file }, base), { message: /run chmod 600/ });
    chmodSync(file, 0o600);
    const c = loadConfig({ config: file }, base);
    t.equal(c.upstreams[0]?.password, 'fixture-secret@:&%');
    t.same(c.sources, ['defaults', file]);
  },
);

t.test('envSnapshot is a frozen copy of the environment', async (t) => {
  const snap = envSnapshot();
  t.equal(snap.PATH, process.env.PATH);
  t.ok(Object.isFrozen(snap));
  t.throws(() => Object.assign(snap, { CORPROXY_TEST: '1' }), TypeError);
  t.equal(process.env.CORPROXY_TEST, undefined);
});
