/**
 * End to end: the real `go` command with GOPROXY=http://127.0.0.1:D/mod/ — plain HTTP to
 * loopback, which go never proxies and needs no certificate for. corproxy fetches from the
 * test module proxy and the test checksum database through a fake TLS-intercepting
 * corporate proxy, trusting its CA from <stateDir>/ca-bundle.pem.
 *
 *   go ──GET /mod/… (HTTP, loopback)──► corproxy (node dist/main.js serve) ──CONNECT──► fake interceptor
 *    │                                     │  mirror.private: git.corp.test              │ (corp CA)
 *    │ direct (HTTPS_PROXY=corproxy)       │  --direct corp.test                         ▼
 *    └──► git.corp.test:443 ◄──────────────┘  (hosts: 127.0.0.2)        goproxy.example.test, sum.example.test
 *         go-import "mod" meta + the private module
 *
 * The checksum database is Go's own sumdb server code (golang-golang-x-mod-dev), built
 * in setup as a small program: go verifies every module against its signed log, reached
 * only through the mirror (GOSUMDB's own URL is a closed port).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:https';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { ConnectionRecord } from '../../src/events.js';
import { startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { startFakeInterceptor } from '../support/fake-interceptor.js';
import { removeTree, runGo, type GoResult } from '../support/go.js';
import {
  helloModule,
  privateModule,
  resolveModuleFile,
  startModuleServer,
  type TestModule,
} from '../support/go-module-server.js';
import { makeCa, makeLeaf, type Issued } from '../support/pki.js';
import { findTool, requireTool, waitExit, waitFor, type TeardownTest } from '../support/tools.js';

const GOPROXY_HOST = 'goproxy.example.test';
const SUMDB_NAME = 'sum.example.test';
const PRIVATE_HOST = 'git.corp.test';
/** The private "VCS" host listens on 443 (module paths carry no port) of a second loopback address. */
const PRIVATE_ADDR = '127.0.0.2';
const HELLO = { 'example.test/hello': 'v1.0.0' };
const PRIVATE = { 'git.corp.test/private/lib': 'v0.1.0' };
const SUMDB_SOURCE = fileURLToPath(new URL('testdata/sumdb-server.go', import.meta.url));
/** Debian's golang-golang-x-mod-dev: golang.org/x/mod/sumdb and note, for GOPATH mode. */
const GOCODE = '/usr/share/gocode';
/** The discard port: nothing listens there, so a direct sumdb request fails at once. */
const CLOSED_PROXY = 'http://127.0.0.1:9';

async function readRecords(file: string): Promise<ConnectionRecord[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as ConnectionRecord];
    } catch {
      return [];
    }
  });
}

/** Builds the sumdb program offline in GOPATH mode against the Debian sources. */
async function buildSumdb(goBin: string, dir: string): Promise<string> {
  const out = join(dir, 'sumdb-server');
  const child = spawn(goBin, ['build', '-o', out, SUMDB_SOURCE], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      GO111MODULE: 'off',
      GOPATH: `${join(dir, 'gopath')}:${GOCODE}`,
      GOCACHE: join(dir, 'gocache'),
      GOFLAGS: '',
      GOTOOLCHAIN: 'local',
      CGO_ENABLED: '0',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await waitExit(child, 120_000);
  if (code !== 0) {
    child.kill('SIGKILL');
    throw new Error(`building the sumdb program failed (${String(code)}): ${stderr}`);
  }
  return out;
}

interface Sumdb {
  readonly port: number;
  readonly vkey: string;
}

/** Writes the module files the sumdb hashes, starts the program, reads its key and port. */
async function startSumdb(
  t: TeardownTest,
  bin: string,
  dir: string,
  leaf: Issued,
  modules: readonly TestModule[],
  tamper: boolean,
): Promise<Sumdb> {
  const data = join(dir, tamper ? 'data-tampered' : 'data');
  await mkdir(data, { recursive: true });
  for (const m of modules) {
    for (const v of m.versions) {
      const base = join(data, `${m.path.replace(/\//g, '_')}@${v.version}`);
      for (const ext of ['zip', 'mod']) {
        const file = resolveModuleFile(modules, `/${m.path}/@v/${v.version}.${ext}`);
        await writeFile(`${base}.${ext}`, file?.body ?? '');
      }
    }
  }
  await writeFile(join(dir, 'sumdb.crt'), leaf.certPem);
  await writeFile(join(dir, 'sumdb.key'), leaf.keyPem);
  const args = [
    '-name',
    SUMDB_NAME,
    '-cert',
    join(dir, 'sumdb.crt'),
    '-key',
    join(dir, 'sumdb.key'),
  ];
  const child = spawn(bin, [...args, '-data', data, ...(tamper ? ['-tamper'] : [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await waitExit(child, 5_000);
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.resume();
  const ready = await waitFor(() => /PORT \d+/.test(stdout), 10_000);
  if (!ready) throw new Error(`sumdb program did not start: ${stdout}`);
  return {
    port: Number(/PORT (\d+)/.exec(stdout)?.[1]),
    vkey: /VKEY (\S+)/.exec(stdout)?.[1] ?? '',
  };
}

/**
 * git.corp.test:443 on 127.0.0.2: answers go's `?go-get=1` discovery with a `mod` go-import
 * (the module is served by the module proxy protocol at /goproxy) and serves that proxy.
 */
async function startPrivateHost(
  t: TeardownTest,
  ca: Issued,
): Promise<{ paths: string[] } | undefined> {
  const leaf = makeLeaf(ca, [PRIVATE_HOST]);
  const paths: string[] = [];
  const modules = [privateModule()];
  const sockets = new Set<Socket>();
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, (req, res) => {
    const url = req.url ?? '';
    paths.push(url);
    if (url.endsWith('?go-get=1')) {
      const meta = `<meta name="go-import" content="git.corp.test/private/lib mod https://${PRIVATE_HOST}/goproxy">`;
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(`<html><head>${meta}</head></html>`);
      return;
    }
    const found = url.startsWith('/goproxy/')
      ? resolveModuleFile(modules, url.slice(8))
      : undefined;
    res.writeHead(found ? 200 : 404, { 'Content-Type': found?.type ?? 'text/plain' });
    res.end(found?.body ?? 'not found');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(443, PRIVATE_ADDR, () => resolve(true));
  });
  if (!bound) return undefined;
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { paths };
}

t.test('go uses corproxy as its module mirror', async (t) => {
  const goBin = findTool('go');
  if (!requireTool(t, 'go', goBin)) return;

  const publicCa = makeCa({ cn: 'corproxy e2e public root' });
  const unrelatedCa = makeCa({ cn: 'a root that signs nothing here' });
  const pub = await startModuleServer(t, {
    ca: publicCa,
    names: [GOPROXY_HOST],
    modules: [helloModule()],
  });
  const work = await mkdtemp(join(tmpdir(), 'corproxy-e2e-mirror-'));
  t.teardown(() => removeTree(work));
  const sumdbBin = await buildSumdb(goBin, work);
  const sumdbLeaf = makeLeaf(publicCa, [SUMDB_NAME]);
  const sumdb = await startSumdb(t, sumdbBin, work, sumdbLeaf, [helloModule()], false);
  const privateHost = await startPrivateHost(t, publicCa);

  const interceptor = await startFakeInterceptor({
    resolve: { [GOPROXY_HOST]: '127.0.0.1', [SUMDB_NAME]: '127.0.0.1' },
    originCa: [publicCa.certPem],
    chain: 'intermediate',
  });
  t.teardown(() => interceptor.close());

  const startCorproxy = async (name: string, sumdbPort: number): Promise<DaemonProcess> => {
    const stateDir = join(work, name);
    await mkdir(stateDir, { recursive: true });
    // What `corproxy trust` leaves behind once the corporate CA is approved.
    await writeFile(join(stateDir, 'ca-bundle.pem'), interceptor.pki.root.certPem);
    const config = join(work, `${name}.yaml`);
    const yaml = [
      'mirror:',
      `  upstream: https://${GOPROXY_HOST}:${pub.port}`,
      `  private: [${PRIVATE_HOST}]`,
      `  sumdb: ["${SUMDB_NAME} https://${SUMDB_NAME}:${sumdbPort}"]`,
      '',
    ].join('\n');
    await writeFile(config, yaml);
    return startDaemon(t, [
      '--config',
      config,
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--log',
      join(stateDir, 'connections.log'),
      '--upstream',
      `http://127.0.0.1:${interceptor.port}`,
      '--direct',
      'corp.test',
      '--fallback',
      'none',
      '--hosts',
      `${GOPROXY_HOST}=127.0.0.1`,
      '--hosts',
      `${SUMDB_NAME}=127.0.0.1`,
      '--hosts',
      `${PRIVATE_HOST}=${PRIVATE_ADDR}`,
    ]);
  };
  const daemon = await startCorproxy('main', sumdb.port);
  const logFile = join(work, 'main', 'connections.log');

  const download = (
    tt: TeardownTest,
    requires: Record<string, string>,
    env: Record<string, string>,
    caCertPem = unrelatedCa.certPem,
  ): Promise<GoResult> =>
    runGo(tt, ['mod', 'download', ...Object.keys(requires)], {
      goBin,
      caCertPem,
      requires,
      env: { GOPROXY: `${daemon.url}/mod/,direct`, HTTPS_PROXY: daemon.url, NO_PROXY: '', ...env },
      timeoutMs: 60_000,
    });
  const zipServed = (): number =>
    pub.requests().filter((r) => r.path === '/example.test/hello/@v/v1.0.0.zip').length;

  let coldMs = 0;
  await t.test('cold: go trusts no CA of this network, corproxy fetches and caches', async (t) => {
    const r = await download(t, HELLO, {});
    t.equal(r.code, 0, 'go mod download succeeds', { stderr: r.stderr });
    const src = join(r.dirs.modcache, 'example.test/hello@v1.0.0', 'hello.go');
    t.match(await readFile(src, 'utf8'), /func Hello/, 'the module is in the module cache');
    t.equal(zipServed(), 1, 'the origin served the zip once');
    t.ok(
      interceptor.connects.includes(`${GOPROXY_HOST}:${pub.port}`),
      'through the corporate proxy',
    );
    coldMs = r.durationMs;
    const ok = await waitFor(
      async () =>
        (await readRecords(logFile)).some((x) =>
          /\/mod\/example\.test\/hello\/@v\/v1\.0\.0\.zip/.test(x.target),
        ),
      5_000,
    );
    t.ok(ok, 'the connection log records the mirror request');
  });

  await t.test(
    'sumdb: go verifies against the signed log, reached only via the mirror',
    async (t) => {
      // GOSUMDB without a URL: go tries <GOPROXY>/sumdb/<name>/supported first (a URL in
      // GOSUMDB would bypass every proxy). Its direct route is a closed port, so go can reach
      // the database only through the mirror, and never resolves the name itself.
      const env = {
        GOPROXY: `${daemon.url}/mod/`,
        GOSUMDB: sumdb.vkey,
        GONOSUMDB: '',
        HTTPS_PROXY: CLOSED_PROXY,
      };
      const r = await download(t, HELLO, env);
      t.equal(r.code, 0, 'verified download succeeds', { stderr: r.stderr });
      t.ok(
        interceptor.connects.includes(`${SUMDB_NAME}:${sumdb.port}`),
        'sumdb reached through corproxy',
      );
      const lookups = (await readRecords(logFile)).filter((x) =>
        x.target.includes(`/mod/sumdb/${SUMDB_NAME}/lookup/`),
      );
      t.ok(lookups.length > 0, 'the lookup went through the mirror');
      t.notMatch(r.stderr, /127\.0\.0\.1:9/, 'the direct route was never tried');

      const tampered = await startSumdb(t, sumdbBin, work, sumdbLeaf, [helloModule()], true);
      const evil = await startCorproxy('tampered', tampered.port);
      const bad = await runGo(t, ['mod', 'download', 'example.test/hello'], {
        goBin,
        caCertPem: unrelatedCa.certPem,
        requires: HELLO,
        env: {
          GOPROXY: `${evil.url}/mod/`,
          GOSUMDB: tampered.vkey,
          GONOSUMDB: '',
          HTTPS_PROXY: CLOSED_PROXY,
        },
        timeoutMs: 60_000,
      });
      t.not(bad.code, 0, 'a checksum the log disagrees with fails the download');
      t.match(bad.stderr, /SECURITY ERROR|checksum mismatch/, 'go itself refuses it');
    },
  );

  await t.test('private module: the mirror refuses it, go falls through to direct', async (t) => {
    if (privateHost === undefined) {
      if (process.env.CI === 'true') t.fail(`cannot listen on ${PRIVATE_ADDR}:443 (needs root)`);
      else t.skip(`cannot listen on ${PRIVATE_ADDR}:443 (needs root)`, () => undefined);
      return;
    }
    const r = await download(t, PRIVATE, {}, publicCa.certPem);
    t.equal(r.code, 0, 'go mod download succeeds', { stderr: r.stderr });
    const lib = join(r.dirs.modcache, 'git.corp.test/private/lib@v0.1.0', 'lib.go');
    t.match(await readFile(lib, 'utf8'), /Answer = 42/);
    t.ok(privateHost.paths.includes('/private/lib?go-get=1'), 'go went direct (go-get discovery)');
    t.notOk(
      pub.requests().some((x) => x.path.includes('corp.test')),
      'never sent to the public proxy',
    );
    t.notOk(
      interceptor.connects.some((c) => c.includes('corp.test')),
      'never through the corporate proxy',
    );
    const refused = await waitFor(
      async () =>
        (await readRecords(logFile)).some(
          (x) => x.target.includes('/mod/git.corp.test/private/lib/') && x.status === 404,
        ),
      5_000,
    );
    t.ok(refused, 'the mirror answered 404 for the private module');
  });

  await t.test('warm: origin and corporate proxy gone, served from the cache', async (t) => {
    await pub.close();
    await interceptor.close();
    const served = zipServed();
    const r = await download(t, HELLO, {});
    t.equal(r.code, 0, 'go mod download succeeds offline', { stderr: r.stderr });
    t.equal(zipServed(), served, 'the origin was not asked');
    t.comment(`cold ${coldMs} ms, warm ${r.durationMs} ms`);
    const status = await fetch(`${daemon.url}/status`).then(
      (x) => x.json() as Promise<Record<string, unknown>>,
    );
    t.match(status, { mirror: { requests: { hit: Number } } }, '/status reports the mirror');
    t.ok(((status.mirror as { hitRatio: number }).hitRatio ?? 0) > 0, 'with a hit ratio');
    const metrics = await fetch(`${daemon.url}/metrics`).then((x) => x.text());
    t.match(metrics, /corproxy_mirror_cache_bytes \d+/, '/metrics reports the cache size');
  });
});
