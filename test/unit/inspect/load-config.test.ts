import os from 'node:os';
import t from 'tap';
import { loadInspectConfig } from '../../../src/inspect/load-config.js';

const noFile = (): string => {
  throw Object.assign(new Error('missing'), { code: 'ENOENT' });
};

function load(env: Record<string, string>, flags = {}) {
  return loadInspectConfig(flags, {
    env,
    readFile: noFile,
    platform: 'linux',
    homedir: os.tmpdir(),
    cwd: os.tmpdir(),
  });
}

t.test('a valid shell HTTPS_PROXY still becomes the default upstream', async (t) => {
  t.strictSame(
    load({ HTTPS_PROXY: 'http://proxy.example.test:8080' }).upstreams.map((u) => u.display),
    ['http://proxy.example.test:8080'],
  );
});

t.test('a shell HTTPS_PROXY the config refuses does not stop the diagnosis', async (t) => {
  for (const value of ['proxy corp:8080', 'socks5://s.example.test:1080']) {
    t.strictSame(load({ HTTPS_PROXY: value }).upstreams, [], value);
    t.strictSame(load({ https_proxy: value }).upstreams, [], value);
  }
});

t.test('other configuration errors are reported as they are', async (t) => {
  t.throws(() => load({ CORPROXY_FALLBACK: 'sometimes' }), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message: /fallback/,
  });
  t.throws(
    () => load({ CORPROXY_FALLBACK: 'sometimes', HTTPS_PROXY: 'proxy corp:8080' }),
    { code: 'CPX_ERR_CONFIG_INVALID', message: /HTTPS_PROXY/ },
    'the first error wins when both are wrong',
  );
  t.throws(() => load({}, { config: 'missing.yaml' }), { code: 'CPX_ERR_CONFIG_READ' });
});

t.test('--state-dir reaches the config', async (t) => {
  const dir = t.testdir();
  t.equal(load({}, { stateDir: dir }).stateDir, dir);
});
