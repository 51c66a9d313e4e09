import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import {
  fetchPac,
  isNetworkFailure,
  MAX_PAC_BYTES,
  type FetchDeps,
} from '../../../src/pac/fetch.js';
import { pacSourceOf, type PacSource } from '../../../src/pac/source.js';
import { listen } from '../../support/net.js';

const SCRIPT = 'function FindProxyForURL(u, h) { return "DIRECT"; }';

interface Seen {
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
}

async function pacServer(
  t: Test,
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  const port = await listen(t, server);
  return { port, seen };
}

const deps: FetchDeps = { hosts: { 'pac.test': '127.0.0.1' }, timeoutMs: 2000 };
const url = (port: number, p = '/proxy.pac'): PacSource =>
  pacSourceOf(`http://pac.test:${port}${p}`)!;

t.test('GET straight to the PAC server, then conditional re-fetch', async (t) => {
  const srv = await pacServer(t, (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
    res.writeHead(200, {
      ETag: '"v1"',
      'Last-Modified': 'Tue, 01 Jan 2030 00:00:00 GMT',
      'Content-Type': 'application/x-ns-proxy-autoconfig',
    });
    res.end(SCRIPT);
  });
  const first = await fetchPac(url(srv.port), undefined, deps);
  t.same(first, {
    kind: 'script',
    text: SCRIPT,
    validators: { etag: '"v1"', lastModified: 'Tue, 01 Jan 2030 00:00:00 GMT' },
  });
  t.equal(srv.seen[0]?.url, '/proxy.pac', 'origin-form: the server itself was asked, not a proxy');
  t.equal(srv.seen[0]?.headers.host, `pac.test:${srv.port}`);
  t.match(srv.seen[0]?.headers.accept, /application\/x-ns-proxy-autoconfig/);
  const again = await fetchPac(
    url(srv.port),
    first.kind === 'script' ? first.validators : undefined,
    deps,
  );
  t.same(again, { kind: 'unchanged' });
  t.equal(srv.seen[1]?.headers['if-modified-since'], 'Tue, 01 Jan 2030 00:00:00 GMT');
});

t.test('credentials in the PAC URL become Basic auth; redirects are followed', async (t) => {
  const srv = await pacServer(t, (req, res) => {
    if (req.url === '/old') return void res.writeHead(302, { Location: '/new?x=1' }).end();
    if (req.url === '/loop') return void res.writeHead(301, { Location: '/loop' }).end();
    if (req.url === '/ftp') return void res.writeHead(302, { Location: 'ftp://x/' }).end();
    res
      .writeHead(200, { 'Content-Type': 'text/plain; charset=utf-16le' })
      .end(Buffer.from(SCRIPT, 'utf16le'));
  });
  const got = await fetchPac(
    pacSourceOf(`http://u%40corp:p%3Ass@pac.test:${srv.port}/old`)!,
    undefined,
    deps,
  );
  t.same(got.kind === 'script' && got.text, SCRIPT, 'decoded with the declared charset');
  t.equal(
    srv.seen[0]?.headers.authorization,
    `Basic ${Buffer.from('u@corp:p:ss').toString('base64')}`,
  );
  t.equal(srv.seen[1]?.url, '/new?x=1');
  await t.rejects(fetchPac(url(srv.port, '/loop'), undefined, deps), {
    message: /redirects more than 3 times/,
  });
  await t.rejects(fetchPac(url(srv.port, '/ftp'), undefined, deps), {
    message: /redirects to a ftp: URL/,
  });
});

t.test(
  'HTTP errors are load errors with the server reachable; 304 without validators is an error',
  async (t) => {
    const srv = await pacServer(t, (req, res) => {
      res.writeHead(req.url === '/nm' ? 304 : 404).end();
    });
    const err = await fetchPac(
      pacSourceOf(`http://u:secret@pac.test:${srv.port}/missing.pac`)!,
      undefined,
      deps,
    ).catch((e: unknown) => e);
    t.match(err, {
      code: 'CPX_ERR_PAC_LOAD',
      message: /http:\/\/\*\*\*@pac.test:\d+\/missing.pac answered HTTP 404/,
    });
    t.notMatch(String((err as Error).message), /secret/);
    t.equal(isNetworkFailure(err), false);
    await t.rejects(fetchPac(url(srv.port, '/nm'), undefined, deps), {
      message: /answered HTTP 304/,
    });
  },
);

t.test(
  'an unreachable PAC server is a network failure; so is one that never answers',
  async (t) => {
    const closed = http.createServer();
    const port = await listen(t, closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await fetchPac(url(port), undefined, deps).catch((e: unknown) => e);
    t.match(refused, { code: 'CPX_ERR_PAC_LOAD', message: /ECONNREFUSED/ });
    t.equal(isNetworkFailure(refused), true);
    const hang = await pacServer(t, () => undefined);
    const started = Date.now();
    const slow = await fetchPac(url(hang.port), undefined, { ...deps, timeoutMs: 200 }).catch(
      (e: unknown) => e,
    );
    t.match(slow, { message: /ETIMEDOUT: no answer within 200 ms/ });
    t.equal(isNetworkFailure(slow), true);
    t.ok(Date.now() - started < 3000);
    const dns = await fetchPac(url(hang.port), undefined, {
      ...deps,
      hosts: {},
      lookup: (_h, _o, cb) =>
        cb(Object.assign(new Error('getaddrinfo ENOTFOUND pac.test'), { code: 'ENOTFOUND' }), ''),
    }).catch((e: unknown) => e);
    t.equal(
      isNetworkFailure(dns),
      true,
      'a name that no longer resolves: off the corporate network',
    );
  },
);

t.test('a body larger than the limit is refused', async (t) => {
  const srv = await pacServer(t, (_req, res) => {
    res.writeHead(200);
    res.end(Buffer.alloc(MAX_PAC_BYTES + 10, 0x20));
  });
  const err = await fetchPac(url(srv.port), undefined, deps).catch((e: unknown) => e);
  t.match(err, { message: /larger than 1048576 bytes/ });
  t.equal(isNetworkFailure(err), false);
});

t.test('files are re-read only when size or mtime changed', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'corproxy-pac-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'proxy.pac');
  writeFileSync(file, SCRIPT);
  const source = pacSourceOf(file)!;
  const first = await fetchPac(source, undefined, deps);
  t.equal(first.kind === 'script' && first.text, SCRIPT);
  const validators = first.kind === 'script' ? first.validators : undefined;
  t.same(await fetchPac(source, validators, deps), { kind: 'unchanged' });
  writeFileSync(file, SCRIPT.replace('DIRECT', 'PROXY p:1'));
  const past = statSync(file).mtimeMs / 1000 + 5;
  utimesSync(file, past, past);
  const changed = await fetchPac(source, validators, deps);
  t.match(changed.kind === 'script' && changed.text, /PROXY p:1/);
  await t.rejects(fetchPac(pacSourceOf(path.join(dir, 'missing.pac'))!, undefined, deps), {
    code: 'CPX_ERR_PAC_LOAD',
    message: /cannot read .*missing.pac: ENOENT/,
  });
  await t.rejects(
    fetchPac(source, undefined, {
      ...deps,
      stat: async () => ({ mtimeMs: 1, size: MAX_PAC_BYTES + 1 }),
    }),
    { message: /larger than/ },
  );
});

t.test('data: URLs load once and never change', async (t) => {
  const source = pacSourceOf(`data:,${encodeURIComponent(SCRIPT)}`)!;
  t.same(await fetchPac(source, undefined, deps), { kind: 'script', text: SCRIPT, validators: {} });
  t.same(await fetchPac(source, {}, deps), { kind: 'unchanged' });
});
