/** Layers 3-5 over route plans: failover turns a dead upstream into a warning. */
import t from 'tap';
import type { UpstreamProxy } from '../../../src/config/types.js';
import {
  block,
  networkLayers,
  soften,
  type NetworkDeps,
  type PlannedHost,
} from '../../../src/doctor/network.js';
import { check } from '../../../src/doctor/types.js';
import type { RoutePlan } from '../../../src/pac/plan.js';
import type { LookupFn } from '../../../src/proxy/dial.js';
import { startFakeUpstream } from '../../support/fake-upstream.js';
import { testConfig } from '../../support/corproxy.js';
import { startEchoOrigin } from '../../support/origins.js';

const noName: LookupFn = (name, _o, cb) =>
  cb(Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), '');
const deps: NetworkDeps = {
  hosts: {},
  connectTimeoutMs: 500,
  keepAliveMs: 500,
  maxHeaderSize: 8192,
  dialDeps: { lookup: noName },
  now: Date.now,
};

function host(name: string, optional?: string): PlannedHost['host'] {
  return {
    target: { host: name, port: 443 },
    scheme: 'https',
    loopback: false,
    roles: ['GOPROXY entry'],
    ...(optional && { optional }),
  };
}
const viaUpstreams = (proxies: UpstreamProxy[], fallbackDirect = false): RoutePlan => ({
  hops: proxies.map((proxy) => ({ kind: 'upstream' as const, id: proxy.id, proxy })),
  rule: 'default: upstream list',
  fallbackDirect,
});
const named = (rows: { name: string; status: string }[]) =>
  rows.map((r) => `${r.status} ${r.name}`);

t.test('a dead upstream with a live one behind it is a warning', async (t) => {
  const live = await startFakeUpstream(t);
  live.resolve.set('a.test', (await startEchoOrigin(t)).port);
  const [dead, alive] = testConfig({
    upstream: ['http://127.0.0.1:1', `http://127.0.0.1:${live.port}`],
  }).upstreams as UpstreamProxy[];
  const blocked = new Map<string, string>();
  const rows = await networkLayers(
    [{ host: host('a.test'), plan: viaUpstreams([dead!, alive!]) }],
    deps,
    blocked,
  );
  t.same(named(rows), [
    'pass DNS upstream 127.0.0.1',
    'pass DNS upstream 127.0.0.1',
    'skip DNS target a.test',
    'warn TCP upstream 127.0.0.1:1',
    `pass TCP upstream 127.0.0.1:${live.port}`,
    'pass CONNECT a.test:443',
  ]);
  t.equal(blocked.size, 0);
});

t.test('the only upstream dead: a failure, and the host is blocked', async (t) => {
  const [dead] = testConfig({ upstream: ['http://127.0.0.1:1'] }).upstreams as UpstreamProxy[];
  const blocked = new Map<string, string>();
  const rows = await networkLayers(
    [
      { host: host('a.test'), plan: viaUpstreams([dead!]) },
      { host: host('b.test', 'maybe never contacted'), plan: viaUpstreams([dead!]) },
    ],
    deps,
    blocked,
  );
  t.match(
    rows.find((r) => r.name === 'TCP upstream 127.0.0.1:1'),
    { status: 'fail' },
  );
  t.match(
    rows.find((r) => r.name === 'CONNECT a.test:443'),
    { status: 'skip', summary: /no upstream on its route is reachable/ },
  );
  t.same([...blocked.keys()], ['a.test:443'], 'an optional host is never blocked');
  const fallback = await networkLayers(
    [{ host: host('a.test'), plan: viaUpstreams([dead!], true) }],
    deps,
    new Map(),
  );
  t.match(
    fallback.find((r) => r.name.startsWith('TCP')),
    { status: 'warn' },
    'fallback: direct keeps the host alive',
  );
});

t.test('direct routes resolve the target; no plan blocks the host', async (t) => {
  const blocked = new Map<string, string>();
  const direct: RoutePlan = {
    hops: [{ kind: 'direct', id: 'DIRECT' }],
    rule: 'direct "a.test"',
    fallbackDirect: false,
  };
  const rows = await networkLayers(
    [{ host: host('a.test'), plan: direct }, { host: host('b.test') }],
    deps,
    blocked,
  );
  t.same(named(rows), [
    'fail DNS target a.test',
    'skip TCP target a.test:443',
    'skip CONNECT a.test:443',
    'skip CONNECT b.test:443',
  ]);
  t.same(
    [...blocked.values()],
    [
      'connecting directly failed for a.test:443 (layer 3)',
      'routing failed for b.test:443 (layer 2)',
    ],
  );
  t.match(await networkLayers([], deps, blocked), [
    { status: 'skip', layer: 'dns' },
    { layer: 'tcp' },
    { layer: 'connect' },
  ]);
});

t.test('soften and block', async (t) => {
  const fail = check('tls', 'TLS x', 'fail', 'bad');
  t.match(soften(fail, host('x', 'why')), { status: 'warn', evidence: ['why'] });
  t.equal(soften(fail, host('x')), fail);
  const blocked = new Map<string, string>();
  block(blocked, 'x:1', 'dns', 'DNS');
  block(blocked, 'x:1', 'tls', 'TLS');
  t.same([...blocked.values()], ['DNS failed for x:1 (layer 3)'], 'the first failure is kept');
});
