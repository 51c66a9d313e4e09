/**
 * PAC routing end to end on loopback: a PAC server, fake corporate upstreams, origins,
 * and corproxy with `pac`. Upstreams "leave the network" through an injected connect
 * that never completes (a dropped SYN), or by closing their listener.
 */
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { startCorproxy, testConfig, type TestProxy } from '../support/corproxy.js';
import { startFakeUpstream, type FakeUpstream } from '../support/fake-upstream.js';
import { connect, parseHead, rawExchange, readUntil } from '../support/net.js';
import { startEchoOrigin, startHttpOrigin } from '../support/origins.js';

interface PacServer {
  readonly port: number;
  body: string;
  requests: number;
  /** Stops listening (the PAC server is unreachable) or starts again on the same port. */
  setUp(up: boolean): Promise<void>;
}

async function startPacServer(t: Test, body: string): Promise<PacServer> {
  let server: http.Server | undefined;
  const pac: PacServer = {
    port: 0,
    body,
    requests: 0,
    setUp: async (up) => {
      if (!up) {
        const s = server;
        server = undefined;
        if (s) await new Promise<void>((resolve) => s.close(() => resolve()).closeAllConnections());
        return;
      }
      const s = http.createServer((_req, res) => {
        pac.requests += 1;
        res.writeHead(200, { 'Content-Type': 'application/x-ns-proxy-autoconfig' }).end(pac.body);
      });
      await new Promise<void>((resolve) => s.listen(pac.port, '127.0.0.1', resolve));
      server = s;
      Object.assign(pac, { port: (s.address() as net.AddressInfo).port });
    },
  };
  await pac.setUp(true);
  t.teardown(() => pac.setUp(false));
  return pac;
}

/** net.connect, except to ports in `down`: those sockets never connect (SYN dropped). */
function switchableConnect(down: Set<number>) {
  const hanging = new Set<net.Socket>();
  const connect = (opts: net.NetConnectOpts): net.Socket => {
    if (down.has((opts as net.TcpNetConnectOpts).port)) {
      const s = new net.Socket();
      hanging.add(s);
      return s;
    }
    return net.connect(opts);
  };
  return { connect, hanging };
}

const pacFor = (a: FakeUpstream, b?: FakeUpstream): string => `
function FindProxyForURL(url, host) {
  if (host === "direct.test") return "DIRECT";
  if (dnsDomainIs(host, ".b.test")) return "PROXY b.proxy.test:${b?.port ?? 1}; DIRECT";
  return "PROXY a.proxy.test:${a.port}";
}`;

const HOSTS = [
  'a.proxy.test=127.0.0.1',
  'b.proxy.test=127.0.0.1',
  'pac.test=127.0.0.1',
  'direct.test=127.0.0.1',
];

async function tunnel(
  proxy: TestProxy,
  authority: string,
): Promise<{ status: number; reason: string; ms: number }> {
  const started = Date.now();
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`,
  );
  const head = parseHead(text);
  if (head.status === 200) {
    socket.write('ping');
    await readUntil(socket, (s) => s.includes('ping'), 3000);
  }
  socket.destroy();
  return { status: head.status, reason: head.reason, ms: Date.now() - started };
}

async function until(what: () => boolean, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!what() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return what();
}

t.test(
  'the PAC answer routes each target: proxy, DIRECT, second proxy; rule in the log',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const a = await startFakeUpstream(t);
    const b = await startFakeUpstream(t);
    a.resolve.set('www.example.test', origin.port);
    b.resolve.set('x.b.test', origin.port);
    const pac = await startPacServer(t, pacFor(a, b));
    const proxy = await startCorproxy(t, {
      pac: `http://pac.test:${pac.port}/proxy.pac`,
      hosts: HOSTS,
    });
    t.equal((await tunnel(proxy, `www.example.test:${origin.port}`)).status, 200);
    t.equal((await tunnel(proxy, `direct.test:${origin.port}`)).status, 200);
    t.equal((await tunnel(proxy, `x.b.test:${origin.port}`)).status, 200);
    const records = await proxy.waitForRecords(3);
    t.same(
      records.map((r) => [r.route, r.rule, r.upstream]),
      [
        ['upstream', `pac: PROXY a.proxy.test:${a.port}`, `http://a.proxy.test:${a.port}`],
        ['direct', 'pac: DIRECT', undefined],
        ['upstream', `pac: PROXY b.proxy.test:${b.port}; DIRECT`, `http://b.proxy.test:${b.port}`],
      ],
    );
    t.same(
      a.seen.map((s) => s.url),
      [`www.example.test:${origin.port}`],
    );
    t.equal(pac.requests, 1, 'fetched once, then cached');
  },
);

t.test(
  'direct rules win over the PAC; PAC proxies get no credentials unless configured',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const a = await startFakeUpstream(t, 'close');
    const b = await startFakeUpstream(t);
    b.resolve.set('x.b.test', origin.port);
    const pac = await startPacServer(
      t,
      `function FindProxyForURL(url, host) { return "PROXY a.proxy.test:${a.port}; PROXY b.proxy.test:${b.port}"; }`,
    );
    const proxy = await startCorproxy(t, {
      pac: `http://pac.test:${pac.port}/proxy.pac`,
      hosts: [...HOSTS, 'direct-rule.test=127.0.0.1'],
      direct: ['direct-rule.test'],
      upstream: [`http://alice:s3cret@a.proxy.test:${a.port}`],
    });
    t.equal((await tunnel(proxy, `direct-rule.test:${origin.port}`)).status, 200);
    t.equal((await tunnel(proxy, `x.b.test:${origin.port}`)).status, 200);
    t.equal(a.seen.length, 1, 'the configured PAC proxy was tried first');
    t.ok(b.seen.length > 0);
    t.ok(
      b.seen.every((s) => s.proxyAuthorization === undefined),
      'the ad-hoc PAC proxy never sees the configured credentials',
    );
    const [first, second] = await proxy.waitForRecords(2);
    t.equal(first?.rule, 'direct "direct-rule.test"');
    t.equal(first?.route, 'direct');
    t.equal(second?.upstream, `http://b.proxy.test:${b.port}`);
  },
);

t.test('plain HTTP requests follow the PAC too', async (t) => {
  const origin = await startHttpOrigin(t);
  const a = await startFakeUpstream(t);
  a.resolve.set('web.test', origin.port);
  const pac = await startPacServer(t, pacFor(a));
  const proxy = await startCorproxy(t, {
    pac: `http://pac.test:${pac.port}/proxy.pac`,
    hosts: HOSTS,
  });
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port: proxy.port,
          path: `http://web.test:${origin.port}/page?q=1`,
          agent: false,
        },
        resolve,
      )
      .on('error', reject);
  });
  res.resume();
  t.equal(res.statusCode, 200);
  t.equal(a.seen[0]?.url, `http://web.test:${origin.port}/page?q=1`);
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec?.rule, `pac: PROXY a.proxy.test:${a.port}`);
  t.equal(rec?.route, 'upstream');
});

t.test(
  'a failing DIRECT falls through to the next entry; every entry failing names each',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const b = await startFakeUpstream(t);
    const dead = net.createServer();
    const closedPort = await new Promise<number>((resolve) =>
      dead.listen(0, '127.0.0.1', () => resolve((dead.address() as net.AddressInfo).port)),
    );
    await new Promise<void>((resolve) => dead.close(() => resolve()));
    b.resolve.set('moved.test', origin.port);
    const pac = await startPacServer(
      t,
      `function FindProxyForURL(url, host) {
      if (host === "moved.test") return "DIRECT; PROXY b.proxy.test:${b.port}";
      return "PROXY a.proxy.test:${closedPort}; PROXY b.proxy.test:${closedPort + 0}; HTTPS a.proxy.test:${closedPort}";
    }`,
    );
    const proxy = await startCorproxy(t, {
      pac: `http://pac.test:${pac.port}/proxy.pac`,
      hosts: [...HOSTS, 'moved.test=127.0.0.1'],
    });
    t.equal(
      (await tunnel(proxy, `moved.test:${closedPort}`)).status,
      200,
      'DIRECT refused, then the proxy',
    );
    const [rec] = await proxy.waitForRecords(1);
    t.equal(rec?.route, 'upstream');
    const failed = await tunnel(proxy, `www.example.test:443`);
    t.equal(failed.status, 502);
    t.match(
      failed.reason,
      new RegExp(
        `no upstream reachable for www.example.test:443: upstream a.proxy.test:${closedPort}: connection refused; upstream b.proxy.test:${closedPort}: connection refused`,
      ),
    );
    t.notOk(
      proxy.server.state.network.isOff(),
      'b answered a moment ago on another port: not off the network',
    );
  },
);

t.test('/proxy.pac and /status', async (t) => {
  const a = await startFakeUpstream(t);
  const pac = await startPacServer(t, pacFor(a));
  const proxy = await startCorproxy(t, {
    pac: `http://u:pw@pac.test:${pac.port}/proxy.pac`,
    hosts: HOSTS,
  });
  await proxy.server.state.pac?.start();
  const get = async (path: string): Promise<{ type: string; body: string }> => {
    const socket = await connect(proxy.port);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
    const text = await readUntil(socket, () => false);
    socket.destroy();
    const head = parseHead(text);
    return { type: head.headers['content-type'] ?? '', body: head.body };
  };
  const wrapper = await get('/proxy.pac');
  t.equal(wrapper.type, 'application/x-ns-proxy-autoconfig');
  t.match(wrapper.body, `return "PROXY 127.0.0.1:${proxy.port}";`);
  const status = JSON.parse((await get('/status')).body) as Record<string, Record<string, unknown>>;
  t.match(status.pac, {
    source: `http://***@pac.test:${pac.port}/proxy.pac`,
    state: 'ok',
    failures: 0,
  });
  t.notMatch(JSON.stringify(status), /u:pw/);
  t.match(status.network, { state: 'on', epoch: 0, probing: false });
  t.match((await get('/metrics')).body, /^corproxy_corporate_network_reachable 1$/m);
  proxy.server.state.network.pacResult(0, false, 'test: unreachable');
  t.match((await get('/metrics')).body, /^corproxy_corporate_network_reachable 0$/m);
  t.match((await get('/nope')).body, /\/proxy\.pac/);
});

t.test('without a PAC script: the upstream list, else fallback direct, else 502', async (t) => {
  const origin = await startEchoOrigin(t);
  const a = await startFakeUpstream(t);
  a.resolve.set('www.example.test', origin.port);
  const gone = 'http://pac.test:1/proxy.pac';
  const withList = await startCorproxy(t, {
    pac: gone,
    hosts: HOSTS,
    upstream: [`http://a.proxy.test:${a.port}`],
  });
  t.equal((await tunnel(withList, `www.example.test:${origin.port}`)).status, 200);
  t.match(
    (await withList.waitForRecords(1))[0]?.rule,
    /^upstream list \(pac: no PAC script loaded/,
  );
  const withFallback = await startCorproxy(t, {
    pac: gone,
    hosts: [...HOSTS, 'www.example.test=127.0.0.1'],
    fallback: 'direct',
  });
  t.equal((await tunnel(withFallback, `www.example.test:${origin.port}`)).status, 200);
  t.match((await withFallback.waitForRecords(1))[0]?.rule, /^fallback: direct/);
  const strict = await startCorproxy(t, { pac: gone, hosts: HOSTS });
  const refused = await tunnel(strict, `www.example.test:${origin.port}`);
  t.equal(refused.status, 502);
  t.match(refused.reason, /no PAC script loaded .* no upstream configured and fallback is none/);
});

t.test(
  'off the corporate network: no per-request timeout, and back when the proxy returns',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const a = await startFakeUpstream(t);
    a.resolve.set('www.example.test', origin.port);
    const down = new Set<number>([a.port]);
    const { connect: dialConnect } = switchableConnect(down);
    const proxy = await startCorproxy(
      t,
      {
        upstream: [`http://a.proxy.test:${a.port}`],
        fallback: 'direct',
        hosts: [...HOSTS, 'www.example.test=127.0.0.1'],
      },
      { dialDeps: { connect: dialConnect }, file: { limits: { connectTimeout: '400ms' } } },
    );
    proxy.server.state.network.tune({ tickMs: 100 });
    const first = await tunnel(proxy, `www.example.test:${origin.port}`);
    t.equal(first.status, 200);
    t.ok(first.ms >= 350, `the first request waited for the connect timeout (${first.ms} ms)`);
    t.ok(proxy.server.state.network.isOff(), 'every upstream failed: off the corporate network');
    const fast = await Promise.all(
      [1, 2, 3].map(() => tunnel(proxy, `www.example.test:${origin.port}`)),
    );
    t.ok(
      fast.every((r) => r.status === 200 && r.ms < 300),
      `then direct at once (${fast.map((r) => r.ms).join(', ')} ms)`,
    );
    const records = await proxy.waitForRecords(4);
    t.match(records[0]?.rule, /^fallback: direct \(every upstream failed\)/);
    t.match(
      records[1]?.rule,
      /^fallback: direct \(off the corporate network: every upstream failed/,
    );
    t.equal(a.seen.length, 0);
    t.ok(proxy.warnings.some((w) => /^off the corporate network/.test(w)));

    down.clear();
    t.ok(
      await until(() => !proxy.server.state.network.isOff()),
      'the background probe saw the proxy again',
    );
    t.same(proxy.server.state.badProxies.snapshot(), [], 'the bad-proxy list was cleared');
    const back = await tunnel(proxy, `www.example.test:${origin.port}`);
    t.equal(back.status, 200);
    t.equal(a.seen.length, 1, 'through the upstream again');
    t.ok(proxy.warnings.some((w) => /^corporate network reachable/.test(w)));
  },
);

t.test(
  'a failure from before the network came back does not poison the new bad-proxy list',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const a = await startFakeUpstream(t);
    a.resolve.set('www.example.test', origin.port);
    const down = new Set<number>([a.port]);
    const { connect: dialConnect } = switchableConnect(down);
    const proxy = await startCorproxy(
      t,
      { upstream: [`http://a.proxy.test:${a.port}`], hosts: HOSTS },
      { dialDeps: { connect: dialConnect }, file: { limits: { connectTimeout: '1500ms' } } },
    );
    const state = proxy.server.state;
    state.network.tune({ tickMs: 300 });
    // Off: the PAC-less list failed once (fallback none still tries it; the state is off).
    state.network.proxyFailed(
      0,
      { id: `a.proxy.test:${a.port}`, protocol: 'http:', host: 'a.proxy.test', port: a.port },
      'x',
    );
    state.network.attemptFailed(0);
    t.ok(state.network.isOff());
    const stale = tunnel(proxy, `www.example.test:${origin.port}`);
    // Back before the first probe (300 ms) and long before the old attempt times out.
    await new Promise((r) => setTimeout(r, 100));
    down.clear();
    t.ok(await until(() => !state.network.isOff()), 'back on while the old attempt still waits');
    const old = await stale;
    t.equal(old.status, 504, 'the old attempt timed out');
    t.same(state.badProxies.snapshot(), [], 'its failure went to the old list');
    t.notOk(state.network.isOff(), 'and did not turn the network off again');
    t.equal((await tunnel(proxy, `www.example.test:${origin.port}`)).status, 200);
  },
);

t.test(
  'an unreachable PAC server means off-network; its return means on, with the script',
  async (t) => {
    const origin = await startEchoOrigin(t);
    const a = await startFakeUpstream(t);
    a.resolve.set('www.example.test', origin.port);
    const pac = await startPacServer(t, pacFor(a));
    await pac.setUp(false);
    const proxy = await startCorproxy(t, {
      pac: `http://pac.test:${pac.port}/proxy.pac`,
      hosts: [...HOSTS, 'www.example.test=127.0.0.1'],
      fallback: 'direct',
    });
    proxy.server.state.network.tune({ tickMs: 100 });
    await proxy.server.state.pac?.start();
    const offline = await tunnel(proxy, `www.example.test:${origin.port}`);
    t.equal(offline.status, 200);
    t.ok(proxy.server.state.network.isOff());
    t.match(proxy.server.state.network.status().reason, /PAC server unreachable: .*ECONNREFUSED/);
    await pac.setUp(true);
    t.ok(await until(() => !proxy.server.state.network.isOff()), 'the probe fetched the PAC again');
    t.ok(await until(() => proxy.server.state.pac?.status().state === 'ok'));
    t.equal((await tunnel(proxy, `www.example.test:${origin.port}`)).status, 200);
    t.equal(a.seen.length, 1, 'the PAC routes through the upstream now');
    const records = await proxy.waitForRecords(2);
    t.match(
      records[0]?.rule,
      /^fallback: direct \(off the corporate network: PAC server unreachable/,
    );
    t.equal(records[1]?.rule, `pac: PROXY a.proxy.test:${a.port}`);
  },
);

t.test('reload swaps the PAC source', async (t) => {
  const origin = await startEchoOrigin(t);
  const a = await startFakeUpstream(t);
  a.resolve.set('www.example.test', origin.port);
  const pac = await startPacServer(t, pacFor(a));
  const proxy = await startCorproxy(t, { hosts: [...HOSTS, 'www.example.test=127.0.0.1'] });
  t.equal(proxy.server.state.pac, undefined);
  proxy.server.reload(
    testConfig({
      pac: `http://pac.test:${pac.port}/p.pac`,
      hosts: [...HOSTS, 'www.example.test=127.0.0.1'],
    }),
  );
  t.equal((await tunnel(proxy, `www.example.test:${origin.port}`)).status, 200);
  t.equal(a.seen.length, 1);
  const before = proxy.server.state.pac;
  proxy.server.reload(testConfig({ hosts: [...HOSTS, 'www.example.test=127.0.0.1'] }));
  t.equal(proxy.server.state.pac, undefined);
  t.equal(before?.status().state, 'stopped', 'the old runtime was stopped');
  t.equal((await tunnel(proxy, `www.example.test:${origin.port}`)).status, 200);
  t.equal(a.seen.length, 1, 'direct without the PAC');
});
