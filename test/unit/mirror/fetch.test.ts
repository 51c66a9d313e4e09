import { createServer as createHttps } from 'node:https';
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import { fetchUrl, type FetchDeps } from '../../../src/mirror/fetch.js';
import { MirrorError } from '../../../src/mirror/errors.js';
import { makeCa, makeLeaf } from '../../support/pki.js';

const ca = makeCa({ cn: 'corproxy mirror fetch test root' });
const otherCa = makeCa({ cn: 'some other root' });
const leaf = makeLeaf(ca, ['origin.example.test', '127.0.0.1']);

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(
  t: { teardown(fn: () => unknown): void },
  handler: Handler,
  tls = true,
): Promise<number> {
  const server = tls
    ? createHttps({ cert: leaf.certPem, key: leaf.keyPem }, handler)
    : createHttp(handler);
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** openStream that dials loopback whatever the name, recording what it was asked. */
function deps(opened: string[] = [], roots = [ca.certPem]): FetchDeps {
  return {
    openStream: (host, port) =>
      new Promise((resolve, reject) => {
        opened.push(`${host}:${port}`);
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      }),
    ca: async () => roots,
    userAgent: 'corproxy-test',
  };
}

const LIMITS = { timeoutMs: 5_000, maxBytes: 1 << 20 };

t.test('GET over TLS verified with the injected roots, through openStream', async (t) => {
  let seen: IncomingMessage | undefined;
  const port = await listen(t, (req, res) => {
    seen = req;
    res.end('v1.0.0\n');
  });
  const opened: string[] = [];
  const res = await fetchUrl(`https://origin.example.test:${port}/m/@v/list`, LIMITS, deps(opened));
  t.equal(res.status, 200);
  t.equal(res.body.toString(), 'v1.0.0\n');
  t.same(opened, [`origin.example.test:${port}`], 'the stream was opened by name');
  t.equal(seen?.headers.host, `origin.example.test:${port}`);
  t.equal(seen?.headers['user-agent'], 'corproxy-test');
  t.equal(seen?.url, '/m/@v/list');
  const byIp = await fetchUrl(`https://127.0.0.1:${port}/x`, LIMITS, deps());
  t.equal(byIp.status, 200, 'IP literals are verified against the IP SAN');
});

t.test('plain http:// (a private proxy on the corporate network)', async (t) => {
  const port = await listen(t, (_req, res) => res.writeHead(404).end('gone'), false);
  const res = await fetchUrl(`http://athens.corp.test:${port}/x`, LIMITS, deps());
  t.equal(res.status, 404);
  t.equal(res.body.toString(), 'gone');
});

t.test('an origin signed by an unapproved CA fails with a hint', async (t) => {
  const port = await listen(t, (_req, res) => res.end('x'));
  const err = await fetchUrl(
    `https://origin.example.test:${port}/x`,
    LIMITS,
    deps([], [otherCa.certPem]),
  ).catch((e: unknown) => e);
  t.ok(err instanceof MirrorError);
  t.match(err, { code: 'CPX_ERR_MIRROR_UPSTREAM', message: /TLS failed.*corproxy trust/ });
  const wrongName = await fetchUrl(`https://wrong.example.test:${port}/x`, LIMITS, deps()).catch(
    (e: unknown) => e,
  );
  t.match(wrongName, { code: 'CPX_ERR_MIRROR_UPSTREAM', message: /TLS failed/ });
});

t.test('bodies over the limit are refused, declared or streamed', async (t) => {
  const port = await listen(t, (req, res) => {
    if (req.url === '/declared')
      res.writeHead(200, { 'Content-Length': '100' }).end('x'.repeat(100));
    else {
      res.writeHead(200);
      res.write('x'.repeat(60));
      res.end('y'.repeat(60));
    }
  });
  const small = { timeoutMs: 5_000, maxBytes: 50 };
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/declared`, small, deps()), {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
    message: /100 bytes exceeds the limit of 50/,
  });
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/chunked`, small, deps()), {
    message: /exceeds the limit of 50 bytes/,
  });
});

t.test('a stalled origin hits the deadline and its stream is closed', async (t) => {
  const held: ServerResponse[] = [];
  const port = await listen(t, (_req, res) => {
    res.writeHead(200);
    res.write('partial');
    held.push(res);
  });
  const started = Date.now();
  await t.rejects(
    fetchUrl(`https://127.0.0.1:${port}/slow`, { timeoutMs: 300, maxBytes: 100 }, deps()),
    {
      message: /no complete answer within 300 ms/,
    },
  );
  t.ok(Date.now() - started < 3_000, 'bounded');
  const slowOpen: FetchDeps = {
    ...deps(),
    openStream: (host, port) =>
      new Promise((resolve) => setTimeout(() => resolve(net.connect(port, '127.0.0.1')), 400)),
  };
  await t.rejects(
    fetchUrl(`https://127.0.0.1:${port}/x`, { timeoutMs: 100, maxBytes: 10 }, slowOpen),
    {
      message: /within 100 ms/,
    },
  );
  // The stream opened after the deadline is destroyed, not leaked (teardown would hang).
  await new Promise((r) => setTimeout(r, 500));
});

t.test('redirects: followed up to three hops, never to another scheme or downgraded', async (t) => {
  const port = await listen(t, (req, res) => {
    const n = Number((req.url ?? '').slice(1));
    if (req.url === '/http') res.writeHead(302, { Location: 'http://127.0.0.1:1/x' }).end();
    else if (req.url === '/ftp') res.writeHead(302, { Location: 'ftp://127.0.0.1/x' }).end();
    else if (n > 0) res.writeHead(302, { Location: `/${n - 1}` }).end();
    else res.end('arrived');
  });
  const res = await fetchUrl(`https://127.0.0.1:${port}/3`, LIMITS, deps());
  t.equal(res.body.toString(), 'arrived');
  t.equal(res.url, `https://127.0.0.1:${port}/0`);
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/4`, LIMITS, deps()), {
    message: /more than 3 redirects/,
  });
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/http`, LIMITS, deps()), {
    message: /refusing a redirect/,
  });
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/ftp`, LIMITS, deps()), {
    message: /refusing a redirect/,
  });
});

t.test('route errors from openStream pass through with their own code', async (t) => {
  const failing: FetchDeps = {
    ...deps(),
    openStream: async () => {
      throw new CorproxyError(
        'CPX_ERR_UPSTREAM_AUTH',
        'upstream 127.0.0.1:1 requires authentication (407)',
      );
    },
  };
  await t.rejects(fetchUrl('https://proxy.golang.org/x', LIMITS, failing), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
  });
});

t.test('a connection closed mid-response is an upstream failure', async (t) => {
  const port = await listen(t, (_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('short');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  await t.rejects(fetchUrl(`https://127.0.0.1:${port}/x`, LIMITS, deps()), {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
  });
  const raw = net.createServer((s) => s.end('not http at all\r\n\r\n'));
  await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
  t.teardown(() => raw.close());
  const rawPort = (raw.address() as AddressInfo).port;
  await t.rejects(fetchUrl(`http://127.0.0.1:${rawPort}/x`, LIMITS, deps()), {
    code: 'CPX_ERR_MIRROR_UPSTREAM',
    message: /request failed/,
  });
});
