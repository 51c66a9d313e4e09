/**
 * The mirror in-process, wired like the daemon: handleMirror behind a real http.Server on
 * 127.0.0.1:0, upstream streams opened by corproxy's own openRemote through a fake
 * TLS-intercepting corporate proxy, TLS verified against the corporate CA only.
 *
 *   client ──GET /mod/…──► http.Server ─ handleMirror ─ openRemote ─CONNECT─► fake interceptor
 *                                                                               │ re-signs with
 *                               test GOPROXY (goproxy.example.test) ◄───────────┤ the corp CA
 *                               test sumdb   (sum.example.test)     ◄───────────┘
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttps, type ServerOptions } from 'node:https';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import t from 'tap';
import { parseConfig } from '../../src/config/parse.js';
import type { Config } from '../../src/config/types.js';
import {
  createMirror,
  handleMirror,
  type Mirror,
  type MirrorResult,
} from '../../src/mirror/handler.js';
import { BadProxyList } from '../../src/proxy/bad-proxies.js';
import { openRemote } from '../../src/proxy/open-remote.js';
import { startFakeInterceptor, type FakeInterceptor } from '../support/fake-interceptor.js';
import { removeTree } from '../support/go.js';
import {
  helloModule,
  startModuleServer,
  type ModuleServer,
  type TestModule,
} from '../support/go-module-server.js';
import { makeCa, makeLeaf, type Issued } from '../support/pki.js';
import type { TeardownTest } from '../support/tools.js';

const originCa = makeCa({ cn: 'corproxy test public root' });
const GOPROXY = 'goproxy.example.test';
const SUMDB = 'sum.example.test';
const OTHERS = ['a.example.test', 'b.example.test', 'athens.corp.test'];

function twoVersions(): TestModule {
  const files = (v: string) => ({
    'go.mod': 'module example.test/Two\n',
    'two.go': `package two // ${v}\n`,
  });
  return {
    path: 'example.test/Two',
    versions: [
      { version: 'v1.0.0', time: '2024-01-01T00:00:00Z', files: files('v1.0.0') },
      { version: 'v1.1.0', time: '2024-02-01T00:00:00Z', files: files('v1.1.0') },
    ],
  };
}

interface Got {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

function get(port: number, path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A tiny HTTPS origin with a leaf for `names`, answering with `handler`. */
async function startOrigin(
  t: TeardownTest,
  names: string[],
  handler: (path: string) => { status: number; body: string },
): Promise<{ port: number; paths: string[]; close(): Promise<void> }> {
  const leaf = makeLeaf(originCa, names);
  const paths: string[] = [];
  const opts: ServerOptions = { cert: leaf.certPem, key: leaf.keyPem };
  const sockets = new Set<Socket>();
  const server = createHttps(opts, (req, res) => {
    paths.push(req.url ?? '');
    const a = handler(req.url ?? '');
    res.writeHead(a.status, { 'Content-Type': 'text/plain' }).end(a.body);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = (): Promise<void> =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  t.teardown(close);
  return { port: (server.address() as AddressInfo).port, paths, close };
}

interface World {
  readonly goproxy: ModuleServer;
  readonly sumdb: Awaited<ReturnType<typeof startOrigin>>;
  readonly interceptor: FakeInterceptor;
  readonly stateDir: string;
}

interface Running {
  readonly port: number;
  readonly mirror: Mirror;
  readonly results: MirrorResult[];
  readonly config: Config;
  now: number;
}

async function startMirror(
  t: TeardownTest,
  w: World,
  mirror: Record<string, unknown>,
  opts: { ca?: Issued; stateDir?: string } = {},
): Promise<Running> {
  const config = parseConfig({
    file: { mirror: { sumdb: [`${SUMDB} https://${SUMDB}:${w.sumdb.port}`], ...mirror } },
    filePath: join(w.stateDir, 'config.yaml'),
    env: {},
    flags: {
      upstream: [`http://127.0.0.1:${w.interceptor.port}`],
      stateDir: opts.stateDir ?? w.stateDir,
    },
    platform: 'linux',
    homedir: w.stateDir,
  });
  const ctx = { config, badProxies: new BadProxyList(60_000, Date.now), dialDeps: {} };
  const running: Running = {
    port: 0,
    mirror: undefined as unknown as Mirror,
    results: [],
    config,
    now: Date.now(),
  };
  const m = createMirror(config, {
    openStream: async (host, port) => {
      const remote = await openRemote({ host, port }, { kind: 'upstream', rule: 'test' }, ctx);
      if (remote.rest.length > 0) remote.socket.unshift(remote.rest);
      return remote.socket;
    },
    ca: async () => [(opts.ca ?? w.interceptor.pki.root).certPem],
    clock: () => running.now,
    fetchTimeoutMs: 5_000,
  });
  const server: Server = createServer((req, res) => {
    void handleMirror(m, req, res).then((r) => running.results.push(r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  t.teardown(() => m.close());
  return Object.assign(running, { port: (server.address() as AddressInfo).port, mirror: m });
}

t.test('the mirror over an intercepting corporate proxy', async (t) => {
  const goproxy = await startModuleServer(t, {
    ca: originCa,
    names: [GOPROXY],
    modules: [helloModule(), twoVersions()],
  });
  const tile = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
  const sumdb = await startOrigin(t, [SUMDB], (path) => {
    if (path === '/latest')
      return { status: 200, body: 'go.sum database tree\n7\nHASH=\n\n— sig\n' };
    if (path.startsWith('/lookup/example.test/hello@v1.0.0'))
      return { status: 200, body: '3\nexample.test/hello v1.0.0 h1:x=\n' };
    if (path === '/tile/8/0/000') return { status: 200, body: tile.toString('latin1') };
    return { status: 404, body: 'not found\n' };
  });
  const resolve = Object.fromEntries([GOPROXY, SUMDB, ...OTHERS].map((n) => [n, '127.0.0.1']));
  const interceptor = await startFakeInterceptor({
    resolve,
    originCa: [originCa.certPem],
    chain: 'intermediate',
  });
  t.teardown(() => interceptor.close());
  const stateDir = await mkdtemp(join(tmpdir(), 'corproxy-mirror-it-'));
  t.teardown(() => removeTree(stateDir));
  const w: World = { goproxy, sumdb, interceptor, stateDir };
  const base = `https://${GOPROXY}:${goproxy.port}`;
  const m = await startMirror(t, w, { upstream: base, private: ['*.corp.test'] });
  const hello = '/mod/example.test/hello/@v/v1.0.0';
  const originHits = (p: string): number => goproxy.requests().filter((r) => r.path === p).length;

  await t.test(
    'cold: fetched through the interceptor, verified with the corporate CA',
    async (t) => {
      for (const ext of ['info', 'mod', 'zip']) {
        const r = await get(m.port, `${hello}.${ext}`);
        t.equal(r.status, 200, ext);
        t.equal(r.headers['x-corproxy-cache'], 'miss', `${ext} miss`);
      }
      const zip = await get(m.port, `${hello}.zip`);
      t.equal(zip.headers['content-type'], 'application/zip');
      t.equal(zip.body.subarray(0, 2).toString(), 'PK', 'a zip');
      t.ok(interceptor.connects.includes(`${GOPROXY}:${goproxy.port}`), 'reached via CONNECT');
      t.ok(
        interceptor.minted.some((x) => x.sni === GOPROXY && x.trusted),
        'TLS was intercepted',
      );
      t.match(m.results.at(0), {
        status: 200,
        cache: 'miss',
        kind: 'info',
        module: 'example.test/hello',
        upstream: base,
      });
    },
  );

  await t.test('warm: immutable artifacts come from disk, upstream untouched', async (t) => {
    const before = goproxy.requests().length;
    const r = await get(m.port, `${hello}.zip`);
    t.equal(r.headers['x-corproxy-cache'], 'hit');
    t.equal(goproxy.requests().length, before);
    const head = await get(m.port, `${hello}.mod`, 'HEAD');
    t.equal(head.status, 200);
    t.equal(head.body.length, 0, 'HEAD has no body');
    t.equal(
      head.headers['content-length'],
      String('module example.test/hello\n\ngo 1.19\n'.length),
    );
  });

  await t.test('concurrent requests for one artifact make one upstream fetch', async (t) => {
    const path = '/mod/example.test/!two/@v/v1.0.0.zip';
    const all = await Promise.all(Array.from({ length: 6 }, () => get(m.port, path)));
    t.same(
      all.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    t.equal(new Set(all.map((r) => r.body.toString('base64'))).size, 1, 'same bytes');
    t.equal(originHits('/example.test/!two/@v/v1.0.0.zip'), 1, 'one fetch');
  });

  await t.test(
    'mutable answers: fresh for the TTL, refetched after, stale when upstream fails',
    async (t) => {
      const list = '/mod/example.test/!two/@v/list';
      t.equal((await get(m.port, list)).headers['x-corproxy-cache'], 'miss');
      t.equal((await get(m.port, list)).headers['x-corproxy-cache'], 'hit');
      m.now += 61_000;
      t.equal(
        (await get(m.port, list)).headers['x-corproxy-cache'],
        'miss',
        'refetched after 60 s',
      );
      t.equal(originHits('/example.test/!two/@v/list'), 2);
      await get(m.port, '/mod/example.test/!two/@latest');
      await get(m.port, '/mod/example.test/!two/@v/v1.1.0.info');

      await goproxy.close();
      m.now += 61_000;
      const stale = await get(m.port, list);
      t.equal(stale.status, 200);
      t.equal(stale.headers['x-corproxy-cache'], 'stale');
      t.match(stale.headers.warning, /^110 corproxy "Response is Stale/);
      t.equal(stale.headers['x-corproxy-stale'], 'CPX_ERR_MIRROR_UPSTREAM');
      t.equal(stale.body.toString(), 'v1.0.0\nv1.1.0\n');
      const latest = await get(m.port, '/mod/example.test/!two/@latest');
      t.match(JSON.parse(latest.body.toString()), { Version: 'v1.1.0' });
      t.equal(latest.headers['x-corproxy-cache'], 'stale');

      // Never listed, never asked for @latest: built from the cached .info files.
      const helloList = await get(m.port, '/mod/example.test/hello/@v/list');
      t.equal(helloList.body.toString(), 'v1.0.0\n', 'offline list from cached versions');
      t.equal(helloList.headers['x-corproxy-cache'], 'stale');
      const helloLatest = await get(m.port, '/mod/example.test/hello/@latest');
      t.match(JSON.parse(helloLatest.body.toString()), { Version: 'v1.0.0' });

      const cold = await get(m.port, '/mod/example.test/!two/@v/v1.1.0.zip');
      t.equal(cold.status, 502, 'an uncached artifact cannot be served');
      t.equal(cold.headers['x-corproxy-error'], 'CPX_ERR_MIRROR_UPSTREAM');
      t.match(cold.body.toString(), /corproxy mirror: .*goproxy\.example\.test/);
      const never = await get(m.port, '/mod/example.test/never/@v/list');
      t.equal(never.status, 502, 'nothing known about the module: no offline list');
      t.equal((await get(m.port, `${hello}.zip`)).status, 200, 'cached zips still served');
      t.match(m.mirror.status(), {
        enabled: true,
        requests: { stale: 4 },
        upstreamErrors: { CPX_ERR_MIRROR_UPSTREAM: 6 },
        cache: { entries: 7 },
      });
      t.ok((m.mirror.status().hitRatio ?? 0) > 0.3);
    },
  );

  await t.test('a corrupted cache entry is detected and fetched again', async (t) => {
    const goproxy2 = await startModuleServer(t, {
      ca: originCa,
      names: [GOPROXY],
      modules: [helloModule()],
    });
    const m2 = await startMirror(
      t,
      { ...w, goproxy: goproxy2 },
      { upstream: `https://${GOPROXY}:${goproxy2.port}` },
      {
        stateDir: join(stateDir, 'corrupt'),
      },
    );
    const first = await get(m2.port, `${hello}.mod`);
    const blob = createHash('sha256').update(first.body).digest('hex');
    const file = join(stateDir, 'corrupt', 'mod-cache', 'blobs', blob.slice(0, 2), blob);
    t.equal((await readFile(file)).toString(), first.body.toString(), 'stored by hash');
    await writeFile(file, 'module evil.test/x\n');
    const again = await get(m2.port, `${hello}.mod`);
    t.equal(again.headers['x-corproxy-cache'], 'miss', 'corruption is a miss');
    t.equal(again.body.toString(), first.body.toString(), 'the right bytes again');
    t.equal(m2.mirror.status().cache?.corrupt, 1);
  });

  await t.test(
    'checksum database: only configured names, tiles cached, private lookups refused',
    async (t) => {
      const sup = await get(m.port, `/mod/sumdb/${SUMDB}/supported`);
      t.equal(sup.status, 200);
      const other = await get(m.port, '/mod/sumdb/sum.golang.org/supported');
      t.equal(other.status, 404, 'a database that is not configured is not answered');
      const latest = await get(m.port, `/mod/sumdb/${SUMDB}/latest`);
      t.match(latest.body.toString(), /^go\.sum database tree/);
      const lookup = await get(m.port, `/mod/sumdb/${SUMDB}/lookup/example.test/hello@v1.0.0`);
      t.match(lookup.body.toString(), /h1:x=/);
      const t1 = await get(m.port, `/mod/sumdb/${SUMDB}/tile/8/0/000`);
      const t2 = await get(m.port, `/mod/sumdb/${SUMDB}/tile/8/0/000`);
      t.same(t1.body, tile);
      t.equal(t2.headers['x-corproxy-cache'], 'hit');
      t.equal(sumdb.paths.filter((p) => p === '/tile/8/0/000').length, 1);
      const missing = await get(m.port, `/mod/sumdb/${SUMDB}/lookup/example.test/nope@v1.0.0`);
      t.equal(missing.status, 404, "the database's 404 is passed on");
      const priv = await get(m.port, `/mod/sumdb/${SUMDB}/lookup/git.corp.test/secret@v1.0.0`);
      t.equal(priv.status, 404);
      t.equal(priv.headers['x-corproxy-error'], 'CPX_ERR_MIRROR_PRIVATE');
      t.notOk(
        sumdb.paths.some((p) => p.includes('corp.test')),
        'the private path never left',
      );
    },
  );

  await t.test('private modules: 404 for go to go direct, or the private proxy', async (t) => {
    const r = await get(m.port, '/mod/git.corp.test/private/lib/@v/list');
    t.equal(r.status, 404);
    t.equal(r.headers['x-corproxy-error'], 'CPX_ERR_MIRROR_PRIVATE');
    t.match(r.body.toString(), /private pattern "\*\.corp\.test"/);
    t.notOk(
      interceptor.connects.some((c) => c.includes('corp.test')),
      'nothing was sent anywhere',
    );
    const athens = await startOrigin(t, ['athens.corp.test'], (p) =>
      p === '/git.corp.test/private/lib/@v/list'
        ? { status: 200, body: 'v0.1.0\n' }
        : { status: 404, body: '' },
    );
    const withProxy = await startMirror(
      t,
      w,
      {
        upstream: `https://a.example.test:1`,
        private: ['*.corp.test'],
        privateProxy: `https://athens.corp.test:${athens.port}`,
      },
      { stateDir: join(stateDir, 'private') },
    );
    const viaAthens = await get(withProxy.port, '/mod/git.corp.test/private/lib/@v/list');
    t.equal(viaAthens.body.toString(), 'v0.1.0\n', 'served by the private proxy');
    t.same(athens.paths, ['/git.corp.test/private/lib/@v/list']);
  });

  await t.test("upstream list: Go's `,` and `|` fallthrough", async (t) => {
    const a = await startOrigin(t, ['a.example.test'], (p) =>
      p.includes('notfound')
        ? { status: 404, body: 'a: no such module' }
        : { status: 500, body: 'a: broken' },
    );
    const b = await startOrigin(t, ['b.example.test'], () => ({ status: 200, body: 'v9.0.0\n' }));
    const A = `https://a.example.test:${a.port}`;
    const B = `https://b.example.test:${b.port}`;
    const dir = (n: string): { stateDir: string } => ({ stateDir: join(stateDir, n) });
    const comma = await startMirror(t, w, { upstream: `${A},${B}` }, dir('comma'));
    const pipe = await startMirror(t, w, { upstream: `${A}|${B}` }, dir('pipe'));
    const fellThrough = await get(comma.port, '/mod/example.test/notfound/@v/list');
    t.equal(fellThrough.body.toString(), 'v9.0.0\n', '`,` falls through on 404');
    const stopped = await get(comma.port, '/mod/example.test/broken/@v/list');
    t.equal(stopped.status, 502, '`,` stops on a 500');
    t.match(stopped.body.toString(), /500 \(a: broken\)/);
    t.equal(b.paths.filter((p) => p.includes('broken')).length, 0, 'b never asked');
    const piped = await get(pipe.port, '/mod/example.test/broken/@v/list');
    t.equal(piped.body.toString(), 'v9.0.0\n', '`|` falls through on any error');
    const onlyA = await startMirror(t, w, { upstream: A }, dir('only-a'));
    const nf = await get(onlyA.port, '/mod/example.test/notfound/@v/list');
    t.equal(nf.status, 404, "upstream's 404 reaches go, so go tries its next entry");
    t.match(nf.body.toString(), /a: no such module/);
  });

  await t.test('TLS to an origin the mirror does not trust fails with the reason', async (t) => {
    const b2 = await startOrigin(t, ['b.example.test'], () => ({ status: 200, body: 'x' }));
    const other = await startMirror(
      t,
      w,
      { upstream: `https://b.example.test:${b2.port}` },
      {
        ca: makeCa({ cn: 'not the corporate root' }),
        stateDir: join(stateDir, 'untrusting2'),
      },
    );
    const r = await get(other.port, '/mod/example.test/x/@v/list');
    t.equal(r.status, 502);
    t.match(r.body.toString(), /TLS failed/);
    t.equal(b2.paths.length, 0);
  });

  await t.test('refusals: bad paths, methods, the mirror turned off', async (t) => {
    t.equal((await get(m.port, '/mod/Bad.Path/@v/list')).status, 400);
    t.equal((await get(m.port, '/mod/example.test/x/@v/v1.0.0.txt')).status, 404);
    const post = await get(m.port, '/mod/example.test/x/@v/list', 'POST');
    t.equal(post.status, 405);
    t.equal(post.headers.allow, 'GET, HEAD');
    const off = await startMirror(t, w, { enabled: false }, { stateDir: join(stateDir, 'off') });
    const r = await get(off.port, `${hello}.info`);
    t.equal(r.status, 404);
    t.equal(r.headers['x-corproxy-error'], 'CPX_ERR_MIRROR_DISABLED');
    t.match(off.results.at(-1), { status: 404, error: { code: 'CPX_ERR_MIRROR_DISABLED' } });
  });

  await t.test('status and metrics expose the counters', async (t) => {
    const names = m.mirror.gauges().map((g) => g.name);
    for (const n of [
      'corproxy_mirror_hit_ratio',
      'corproxy_mirror_cache_bytes',
      'corproxy_mirror_upstream_errors',
    ]) {
      t.ok(names.includes(n), n);
    }
    t.ok((m.mirror.status().cache?.bytes ?? 0) > 0);
  });
});
