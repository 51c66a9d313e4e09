/** Layers 6-7 plumbing: blocked hosts are skipped, GET failures become data. */
import t from 'tap';
import type { GoRoots } from '../../../src/doctor/go-roots.js';
import {
  makeGet,
  moduleLayer,
  tlsLayer,
  type DoctorRouteContext,
} from '../../../src/doctor/probes.js';
import { goSettings, parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import { goHosts } from '../../../src/doctor/targets.js';
import { CorproxyError } from '../../../src/errors.js';
import type { fetchUrl } from '../../../src/mirror/fetch.js';
import type { probeOverRoute } from '../../../src/tls/route-probe.js';

const roots: GoRoots = { platform: 'linux', dirs: [], certs: [], approximated: false };
const ctx = { config: { probe: { timeoutMs: 100 } } } as unknown as DoctorRouteContext;

t.test('makeGet: skipped, answered, failed', async (t) => {
  const blocked = new Map([['blocked.test:443', 'CONNECT failed for blocked.test:443 (layer 5)']]);
  const fetch = (async (url: string) => {
    if (url.includes('fails'))
      throw new CorproxyError('CPX_ERR_UPSTREAM_AUTH', 'upstream p:1 requires authentication');
    if (url.includes('odd')) throw 'not an error object';
    return { status: 200, headers: {}, body: Buffer.from('v1.0.0\n'), url };
  }) as unknown as typeof fetchUrl;
  const get = makeGet({ ctx, roots, blocked, timeoutMs: 100, now: () => 0, fetch });
  t.same(await get('https://blocked.test/x'), {
    skipped: 'CONNECT failed for blocked.test:443 (layer 5)',
  });
  t.same(await get('https://ok.test/x'), { status: 200, body: 'v1.0.0\n', ms: 0 });
  t.same(await get('https://fails.test/x'), {
    error: 'upstream p:1 requires authentication',
    ms: 0,
    code: 'CPX_ERR_UPSTREAM_AUTH',
  });
  t.same(await get('https://odd.test/x'), { error: 'not an error object', ms: 0 });
});

t.test('moduleLayer: modules, then URL arguments', async (t) => {
  const answers: Record<string, number> = {
    'https://u.test/ok': 200,
    'https://u.test/missing': 404,
    'https://u.test/broken': 500,
  };
  const get = (url: string) =>
    Promise.resolve(
      url.includes('skip')
        ? { skipped: 'layer 4' }
        : url.includes('err')
          ? { error: 'reset', ms: 1 }
          : { status: answers[url] ?? 404, body: '', ms: 1 },
    );
  const rows = await moduleLayer(
    {
      modules: [],
      urls: [
        'https://u.test/ok',
        'https://u.test/missing',
        'https://u.test/broken',
        'https://skip.test/',
        'https://err.test/',
      ],
      settings: goSettings(undefined, {}),
      list: parseGoproxyList('off'),
      sumdb: parseGosumdb('off'),
    },
    get,
  );
  t.same(
    rows.map((r) => r.status),
    ['pass', 'warn', 'fail', 'skip', 'fail'],
  );
  t.equal(rows[0]?.name, 'GET https://u.test/ok');
});

t.test('tlsLayer skips blocked hosts and has nothing to do without https hosts', async (t) => {
  const hosts = goHosts(
    parseGoproxyList('https://a.test,http://plain.test'),
    parseGosumdb('off'),
    [],
  );
  let probed = 0;
  const probe = (() => {
    probed += 1;
    throw new Error('not reached');
  }) as unknown as typeof probeOverRoute;
  const deps = {
    ctx,
    roots,
    mirrorRoots: roots,
    publicRoots: { pems: [], mozilla: [], extra: [] },
    approved: [],
    bundle: { path: '/b', present: false },
    probe,
  };
  const rows = await tlsLayer(
    hosts,
    deps,
    new Map([['a.test:443', 'DNS failed for a.test:443 (layer 3)']]),
  );
  t.match(rows, [
    { status: 'skip', name: 'TLS a.test:443', summary: 'DNS failed for a.test:443 (layer 3)' },
  ]);
  t.equal(probed, 0);
  t.match(await tlsLayer([], deps, new Map()), [{ status: 'skip', summary: /no https host/ }]);
});
