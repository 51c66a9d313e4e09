import { createServer as createHttps } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../../src/config/parse.js';
import type { Config } from '../../../src/config/types.js';
import {
  checkMirror,
  createMirror,
  mirrorGoEnv,
  mirrorUrl,
  startMirrorListeners,
  type MirrorResult,
} from '../../../src/mirror/index.js';
import { makeCa, makeLeaf } from '../../support/pki.js';

const ca = makeCa({ cn: 'corproxy listener test root' });

function config(stateDir: string, mirror: Record<string, unknown> = {}): Config {
  return parseConfig({
    file: { mirror },
    filePath: join(stateDir, 'c.yaml'),
    env: {},
    flags: { stateDir },
    platform: 'linux',
    homedir: stateDir,
  });
}

const loopback = {
  openStream: (_host: string, port: number): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    }),
  ca: async () => [ca.certPem],
};

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

t.test('go env for the mirror', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-goenv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const at = { host: '127.0.0.1', port: 3129 };
  t.same(mirrorGoEnv(config(dir), at), { GOPROXY: 'http://127.0.0.1:3129/mod/,direct' });
  t.same(mirrorGoEnv(config(dir, { private: ['*.corp.test', 'github.com/corp'] }), at), {
    GOPROXY: 'http://127.0.0.1:3129/mod/,direct',
    GOPRIVATE: '*.corp.test,github.com/corp',
  });
  t.same(mirrorGoEnv(config(dir, { listen: ['[::1]:3130'] }), at), {
    GOPROXY: 'http://[::1]:3130/mod/,direct',
  });
  t.same(mirrorGoEnv(config(dir, { enabled: false }), at), {});
  t.equal(mirrorUrl({ host: '::1', port: 1 }), 'http://[::1]:1/mod/');
});

t.test('dedicated listeners serve only /mod/', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-mlisten-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const mirror = createMirror(config(dir, { enabled: false }), loopback);
  const results: MirrorResult[] = [];
  const listeners = await startMirrorListeners(
    mirror,
    [{ host: '127.0.0.1', port: 0 }],
    (_r, res) => results.push(res),
  );
  t.teardown(() => listeners.close());
  const port = listeners.addresses[0]?.port ?? 0;
  const other = await get(port, '/status');
  t.equal(other.status, 404);
  t.match(other.body, /only the Go module mirror/);
  const off = await get(port, '/mod/example.test/m/@v/list');
  t.equal(off.status, 404);
  t.match(off.body, /CPX_ERR_MIRROR_DISABLED/);
  t.match(results, [{ status: 404, error: { code: 'CPX_ERR_MIRROR_DISABLED' } }]);

  await t.rejects(startMirrorListeners(mirror, [{ host: '127.0.0.1', port }]), {
    code: 'CPX_ERR_LISTEN',
    message: /mirror\.listen: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/,
  });
});

t.test('doctor checks: cache, each module proxy, each sumdb', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-mdoctor-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const leaf = makeLeaf(ca, ['127.0.0.1']);
  const server = createHttps({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    res.writeHead(req.url === '/latest' ? 200 : 404).end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const closed = await new Promise<number>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const mirror = createMirror(
    config(dir, {
      upstream: `https://127.0.0.1:${port}|https://127.0.0.1:${closed}`,
      sumdb: [`good.test https://127.0.0.1:${port}`, `bad.test https://127.0.0.1:${port}/nope`],
      privateProxy: `https://127.0.0.1:${port}`,
    }),
    loopback,
  );
  const checks = await checkMirror(mirror);
  t.same(
    checks.map((c) => [c.name.split(' ')[0], c.ok]),
    [
      ['mirror', true],
      ['module', true],
      ['module', false],
      ['private', true],
      ['checksum', true],
      ['checksum', false],
    ],
  );
  t.match(checks[2]?.detail, /ECONNREFUSED|refused/);
  t.match(checks[5]?.detail, /404/);
  const asFile = join(dir, 'a-file');
  await writeFile(asFile, 'not a directory');
  const warnings: string[] = [];
  const noCache = createMirror(config(asFile, { upstream: `https://127.0.0.1:${port}` }), {
    ...loopback,
    warn: (m) => warnings.push(m),
  });
  const [cacheCheck] = await checkMirror(noCache);
  t.match(cacheCheck, { name: 'mirror cache', ok: false });
  t.match(warnings[0], /mirror cache unavailable, serving without it/);
  const answer = await noCache.answer('GET', '/mod/example.test/m/@v/list');
  t.equal(answer.status, 404, 'still serves (here: the upstream 404) without a cache');
  t.equal(answer.result.cache, 'miss');
  const off = createMirror(config(dir, { enabled: false }), loopback);
  t.same(await checkMirror(off), [
    { name: 'mirror', ok: true, detail: 'off (mirror.enabled: false)' },
  ]);
  await mirror.close();
});
