/** Layer 2, corproxy itself: the daemon's /status, the config, routes, the mirror. */
import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  configCheck,
  daemonCheck,
  mirrorCheck,
  routeCheck,
  upstreamHealthChecks,
  type DaemonInput,
} from '../../../src/doctor/layer-daemon.js';
import type { DaemonAnswer } from '../../../src/inspect/daemon-client.js';
import { testConfig } from '../../support/corproxy.js';

const config = testConfig({
  upstream: ['http://dev:pw@proxy.corp.test:8080'],
  direct: ['corp.test'],
});
const up: DaemonAnswer = {
  ok: true,
  endpoint: { host: '127.0.0.1', port: 3129 },
  text: '{}',
  doc: {
    name: 'corproxy',
    version: '1.2.3',
    pid: 42,
    uptimeSeconds: 7,
    listen: ['127.0.0.1:3129'],
    upstreams: [
      { url: 'http://dev:***@proxy.corp.test:8080', healthy: true },
      {
        url: 'http://b.test:1',
        healthy: false,
        badUntil: '2030-01-01T00:00:00.000Z',
        lastError: 'refused',
      },
    ],
  },
};
const down: DaemonAnswer = {
  ok: false,
  error: new CorproxyError('CPX_ERR_DAEMON_DOWN', '127.0.0.1:3129: connection refused'),
};
const input = (daemon: DaemonAnswer, over: Partial<DaemonInput> = {}): DaemonInput => ({
  daemon,
  config,
  goUsesCorproxy: true,
  ...over,
});

t.test('the daemon', async (t) => {
  t.match(daemonCheck(input(up)), {
    status: 'pass',
    summary: 'corproxy 1.2.3 answers on 127.0.0.1:3129',
    evidence: ['pid 42, up 7s; listening on 127.0.0.1:3129', /in this process/],
  });
  t.match(daemonCheck(input(down)), {
    status: 'fail',
    code: 'CPX_ERR_DAEMON_DOWN',
    commands: ['corproxy serve'],
    evidence: [/connection refused/],
  });
  t.match(daemonCheck(input(down, { goUsesCorproxy: false })), {
    status: 'warn',
    summary: /Go is not pointed at it either/,
  });
});

t.test('the config', async (t) => {
  t.match(configCheck(input(up)), {
    status: 'pass',
    summary: '1 upstream(s)',
    evidence: [
      /^sources: defaults/,
      'upstream: http://dev:***@proxy.corp.test:8080; fallback: none',
      'direct rules: 1',
      /mirror: off/,
    ],
  });
  t.notMatch(JSON.stringify(configCheck(input(up))), /:pw@/);
  t.match(configCheck(input(up, { config: testConfig({}) })), {
    summary: 'no upstream: corproxy connects directly',
  });
  const bad = new CorproxyError(
    'CPX_ERR_CONFIG_READ',
    '/etc/corproxy/config.yaml:3:1: bad indentation (YAML syntax)',
  );
  t.match(configCheck(input(up, { configError: bad })), {
    status: 'fail',
    code: 'CPX_ERR_CONFIG_READ',
    summary: /bad indentation/,
  });
});

t.test("the daemon's upstream health", async (t) => {
  t.same(upstreamHealthChecks(input(down)), []);
  t.match(upstreamHealthChecks(input(up)), [
    { status: 'pass', name: 'upstream http://dev:***@proxy.corp.test:8080 (daemon)' },
    {
      status: 'warn',
      summary: 'on the bad-proxy list until 2030-01-01T00:00:00.000Z',
      evidence: ['last error: refused'],
    },
  ]);
});

t.test('routes and the mirror', async (t) => {
  const proxy = config.upstreams[0]!;
  const plan = {
    hops: [{ kind: 'upstream' as const, id: proxy.id, proxy }],
    rule: 'default: upstream list',
    fallbackDirect: true,
  };
  t.match(routeCheck({ label: 'a.test:443', plan }), {
    status: 'pass',
    summary: 'http://dev:***@proxy.corp.test:8080, then direct (fallback)',
    evidence: ['rule: default: upstream list'],
  });
  const err = new CorproxyError(
    'CPX_ERR_NO_ROUTE',
    'the PAC answer "SOCKS x:1" names no proxy corproxy can use',
  );
  t.match(routeCheck({ label: 'a.test:443', error: err }), {
    status: 'fail',
    code: 'CPX_ERR_NO_ROUTE',
  });
  t.equal(mirrorCheck(config, []), undefined);
  t.match(mirrorCheck(config, ['http://127.0.0.1:3129/mod']), {
    status: 'fail',
    summary: /mirror\.enabled is false/,
  });
  const on = testConfig({}, { CORPROXY_MIRROR: 'true' });
  t.match(mirrorCheck(on, ['http://127.0.0.1:3129/mod']), {
    status: 'pass',
    summary: 'enabled; upstream https://proxy.golang.org',
  });
});
