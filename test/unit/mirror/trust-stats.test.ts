import { mkdtemp, rm, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { MirrorStats } from '../../../src/mirror/stats.js';
import { bundleLoader, splitPem } from '../../../src/mirror/trust.js';
import { makeCa } from '../../support/pki.js';

const a = makeCa({ cn: 'bundle root A' });
const b = makeCa({ cn: 'bundle root B' });

t.test('the approved bundle is read, re-read when it changes, else Node roots', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'corproxy-trust-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'ca-bundle.pem');
  const load = bundleLoader(file, { fallback: ['FALLBACK'] });
  t.same(await load(), ['FALLBACK'], 'no bundle yet');
  await writeFile(file, `# comment\n${a.certPem}\n${b.certPem}`);
  const roots = await load();
  t.equal(roots.length, 2);
  t.match(roots[0], /^-----BEGIN CERTIFICATE-----/);
  t.equal(await load(), roots, 'cached while unchanged');
  await writeFile(file, a.certPem);
  await utimes(file, new Date(), new Date(Date.now() + 5000));
  t.equal((await load()).length, 1, 're-read after a change');
  await writeFile(file, 'no certificates here');
  await utimes(file, new Date(), new Date(Date.now() + 10000));
  t.same(await load(), ['FALLBACK'], 'an empty bundle falls back');
  t.same(splitPem(''), []);
  const unreadable = bundleLoader(file, {
    fallback: ['F'],
    readFile: async () => {
      throw new Error('EACCES');
    },
  });
  t.same(await unreadable(), ['F'], 'an unreadable bundle falls back');
  t.ok((await bundleLoader(join(dir, 'missing.pem'))()).length > 10, "Node's roots by default");
});

t.test('stats: outcomes, hit ratio, upstream errors, gauges', async (t) => {
  const s = new MirrorStats();
  t.equal(s.hitRatio(), null);
  s.answered('miss', 200, 100);
  s.answered('hit', 200, 100);
  s.answered('hit', 200, 100);
  s.answered('stale', 200, 50);
  s.answered('bypass', 404, 10);
  s.answered('bypass', 502, 10);
  s.fetched();
  s.fetched('CPX_ERR_MIRROR_UPSTREAM');
  s.fetched('CPX_ERR_MIRROR_UPSTREAM');
  const cache = { entries: 3, bytes: 300, maxBytes: 1000, evictions: 1, corrupt: 0 };
  const st = s.status(cache);
  t.same(st.requests, { hit: 2, miss: 1, stale: 1, bypass: 1, error: 1 });
  t.equal(st.hitRatio, 0.75);
  t.equal(st.upstreamFetches, 3);
  t.same(st.upstreamErrors, { CPX_ERR_MIRROR_UPSTREAM: 2 });
  t.equal(st.bytesServed, 370);
  t.same(st.cache, cache);
  t.equal(s.status(undefined).cache, null);
  const gauges = s.gauges(cache);
  const value = (name: string, label?: string): number | undefined =>
    gauges.find(
      (g) =>
        g.name === name && (label === undefined || Object.values(g.labels ?? {}).includes(label)),
    )?.value;
  t.equal(value('corproxy_mirror_requests', 'hit'), 2);
  t.equal(value('corproxy_mirror_hit_ratio'), 0.75);
  t.equal(value('corproxy_mirror_upstream_errors', 'CPX_ERR_MIRROR_UPSTREAM'), 2);
  t.equal(value('corproxy_mirror_cache_bytes'), 300);
  t.equal(value('corproxy_mirror_cache_max_bytes'), 1000);
  t.notOk(s.gauges(undefined).some((g) => g.name === 'corproxy_mirror_cache_bytes'));
});
