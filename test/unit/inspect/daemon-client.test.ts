import os from 'node:os';
import t from 'tap';
import { parseConfig } from '../../../src/config/index.js';
import {
  askDaemon,
  daemonDown,
  daemonEndpoints,
  fetchStatus,
  type HttpGet,
} from '../../../src/inspect/daemon-client.js';
import { formatEndpoint, parseEndpoint } from '../../../src/inspect/endpoint.js';
import type { DaemonStatus } from '../../../src/service/instance-lock.js';

function config(listen: string[]) {
  return parseConfig({
    flags: { listen, allow: ['10.0.0.0/8'], log: 'off', stateDir: os.tmpdir() },
    env: {},
    platform: 'linux',
    homedir: os.tmpdir(),
  });
}

const published = (listen: string[]): DaemonStatus => ({
  pid: 4242,
  started: '2026-11-21T07:00:00.000Z',
  version: 't',
  listen,
});

const DOC = JSON.stringify({
  name: 'corproxy',
  version: '1.2.3',
  listen: ['127.0.0.1:3129'],
  upstreams: [],
});

t.test('parseEndpoint and formatEndpoint round-trip the status file forms', async (t) => {
  t.strictSame(parseEndpoint('127.0.0.1:3129'), { host: '127.0.0.1', port: 3129 });
  t.strictSame(parseEndpoint('[::1]:3129'), { host: '::1', port: 3129 });
  t.strictSame(parseEndpoint('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['::1:3129', '127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '[x]:1', '']) {
    t.equal(parseEndpoint(bad), undefined, bad);
  }
  t.equal(formatEndpoint({ host: '::1', port: 1 }), '[::1]:1');
  t.equal(formatEndpoint({ host: '10.0.0.1', port: 2 }), '10.0.0.1:2');
});

t.test('daemonEndpoints: status file first, loopback first, wildcards via loopback', async (t) => {
  const cfg = config(['0.0.0.0:3129', '[::1]:3129']);
  const eps = daemonEndpoints(cfg, published(['10.1.2.3:4000', '127.0.0.1:4000']));
  t.strictSame(eps.map(formatEndpoint), [
    '127.0.0.1:4000',
    '127.0.0.1:3129',
    '[::1]:3129',
    '10.1.2.3:4000',
  ]);
  t.strictSame(daemonEndpoints(config(['127.0.0.1:0']), undefined), [], 'port 0 is no address');
  t.strictSame(
    daemonEndpoints(config(['[::]:3129']), published(['junk', '[::1]:3129'])).map(formatEndpoint),
    ['[::1]:3129'],
    'deduplicated',
  );
});

t.test('fetchStatus takes the first corproxy answer and says what the others were', async (t) => {
  const seen: string[] = [];
  const get: HttpGet = async (e, path, timeoutMs) => {
    seen.push(`${formatEndpoint(e)}${path}@${timeoutMs}`);
    if (e.port === 1) throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    if (e.port === 2) return { status: 404, body: 'nope' };
    if (e.port === 3) return { status: 200, body: '{"name":"squid"}' };
    if (e.port === 4) throw new Error('no answer within 5 ms');
    return { status: 200, body: DOC };
  };
  const eps = [1, 2, 3, 4, 5].map((port) => ({ host: '127.0.0.1', port }));
  const res = await fetchStatus(eps, get, 5);
  t.match(res, { ok: true, endpoint: { port: 5 }, text: DOC, doc: { version: '1.2.3' } });
  t.equal(seen.length, 5);
  t.equal(seen[0], '127.0.0.1:1/status@5');
  const down = await fetchStatus(eps.slice(0, 4), get, 5);
  t.notOk(down.ok);
  if (!down.ok) {
    t.strictSame(
      down.attempts.map((a) => a.problem),
      [
        'connection refused',
        'answered, but not as corproxy (HTTP 404)',
        'answered, but not as corproxy (the answer is JSON but not a corproxy status document)',
        'no answer within 5 ms',
      ],
    );
  }
});

t.test('daemonDown: one line, what was tried, why, and the command that starts it', async (t) => {
  const e = daemonDown([{ endpoint: { host: '::1', port: 3129 }, problem: 'connection refused' }], {
    published: published(['[::1]:3129']),
    publishedAlive: false,
    statusFileProblem: 'x/status.json is not valid JSON; delete it',
  });
  t.equal(e.code, 'CPX_ERR_DAEMON_DOWN');
  t.equal(
    e.message,
    'the corproxy daemon is not running or not reachable: [::1]:3129: connection refused ' +
      '(the status file names PID 4242, which is not running; x/status.json is not valid JSON; delete it); ' +
      'start it with `corproxy serve` (or `systemctl --user start corproxy`)',
  );
  t.match(
    daemonDown([], {}).message,
    /no listen address is known \(no status file in the state dir, and the config listens on port 0\)/,
  );
  t.notMatch(
    daemonDown([], { published: published([]), publishedAlive: true }).message,
    /not running;/,
  );
});

t.test('askDaemon reads the status file and reports a damaged one', async (t) => {
  const ok = await askDaemon(config(['127.0.0.1:0']), {
    readStatus: () => published(['127.0.0.1:4000']),
    get: async () => ({ status: 200, body: DOC }),
  });
  t.match(ok, { ok: true, endpoint: { port: 4000 } });
  const bad = await askDaemon(config(['127.0.0.1:0']), {
    readStatus: () => {
      throw new Error('status.json is not valid JSON; delete it');
    },
    get: async () => ({ status: 200, body: DOC }),
  });
  t.notOk(bad.ok);
  if (!bad.ok)
    t.match(bad.error.message, /no listen address is known \(status\.json is not valid JSON/);
  const stale = await askDaemon(config(['127.0.0.1:0']), {
    readStatus: () => published(['127.0.0.1:4000']),
    isAlive: (pid) => pid !== 4242,
    get: async () => {
      throw Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    },
  });
  if (!stale.ok) t.match(stale.error.message, /names PID 4242, which is not running/);
  else t.fail('should be down');
});
