import t from 'tap';
import type { Classification, Verdict } from '../../../src/tls/classify.js';
import {
  ProbeCache,
  keyString,
  type ProbeKey,
  type ProbeOutcome,
} from '../../../src/tls/probe-cache.js';

const TTLS = { cleanMs: 1000, interceptedMs: 5000, failureMs: 100 };
const KEY: ProbeKey = {
  route: 'upstream',
  upstreamId: 'proxy.test:3128',
  host: 'a.test',
  port: 443,
};

/** The CA field of a classification: a described certificate, or a name (leaf only). */
function caOf(ca: { subject: string; sha256?: string }): Classification['ca'] {
  if (ca.sha256 === undefined) return { subject: ca.subject, nameOnly: true };
  const when = new Date(0).toISOString();
  return {
    subject: ca.subject,
    issuer: ca.subject,
    sha256: ca.sha256,
    notBefore: when,
    notAfter: when,
    keyType: 'RSA 2048',
    isCa: true,
    selfSigned: true,
  };
}

function verdict(v: Verdict, ca?: { subject: string; sha256?: string }): ProbeOutcome {
  const classification: Classification = {
    verdict: v,
    reason: `${v} reason`,
    chain: [],
    ...(ca ? { ca: caOf(ca) } : {}),
    evidence: { publicRootVerify: 'none', sanMatch: false, sctCount: null, hints: [] },
  };
  return { classification, sni: 'a.test' };
}

function setup(opts: { maxConcurrent?: number; maxQueued?: number; maxEntries?: number } = {}) {
  let now = 1_000_000;
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const cache = new ProbeCache({
    ttls: () => TTLS,
    now: () => now,
    warn: (message, fields) => warnings.push({ message, ...(fields ? { fields } : {}) }),
    ...opts,
  });
  return { cache, warnings, advance: (ms: number) => (now += ms), now: () => now };
}

/** A probe that resolves when told, counting its calls. */
function deferredProbe() {
  const pending: Array<(o: ProbeOutcome) => void> = [];
  let calls = 0;
  const probe = (): Promise<ProbeOutcome> => {
    calls += 1;
    return new Promise((resolve) => pending.push(resolve));
  };
  return { probe, pending, calls: () => calls };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('a burst for one key makes one probe and shares its verdict', async (t) => {
  const { cache } = setup();
  const d = deferredProbe();
  const all = Array.from({ length: 10 }, () => cache.request(KEY, d.probe));
  await tick();
  t.equal(d.calls(), 1, 'one probe');
  t.equal(cache.pending, 1);
  d.pending[0]?.(verdict('intercepted', { subject: 'CN=Corp', sha256: 'AA' }));
  const entries = await Promise.all(all);
  t.ok(
    entries.every((e) => e === entries[0]),
    'every caller gets the same entry',
  );
  t.equal(entries[0]?.classification.verdict, 'intercepted');
  t.equal(cache.pending, 0);
  t.equal(cache.peek(KEY), entries[0]);
});

t.test('TTL per verdict; a fresh verdict is served without probing', async (t) => {
  const cases: Array<[Verdict, number]> = [
    ['clean', TTLS.cleanMs],
    ['intercepted', TTLS.interceptedMs],
    ['suspicious', TTLS.cleanMs],
    ['blocked', TTLS.cleanMs],
    ['upstream-cert-error', TTLS.cleanMs],
    ['probe-failed', TTLS.failureMs],
  ];
  for (const [v, ttl] of cases) {
    const { cache, advance } = setup();
    let calls = 0;
    const probe = async (): Promise<ProbeOutcome> => {
      calls += 1;
      return verdict(v);
    };
    const first = await cache.request(KEY, probe);
    t.equal((first?.expiresAt ?? 0) - (first?.probedAt ?? 0), ttl, `${v}: ttl ${ttl}`);
    advance(ttl - 1);
    t.ok(cache.isFresh(KEY), `${v}: fresh just before expiry`);
    await cache.request(KEY, probe);
    t.equal(calls, 1, `${v}: served from the cache`);
    advance(1);
    t.notOk(cache.isFresh(KEY), `${v}: expired`);
    t.ok(cache.peek(KEY), `${v}: still readable once expired`);
    await cache.request(KEY, probe);
    t.equal(calls, 2, `${v}: probed again after expiry`);
  }
});

t.test('failures back off exponentially up to the clean TTL', async (t) => {
  const { cache, advance } = setup();
  const ttls: number[] = [];
  for (let i = 0; i < 6; i++) {
    const e = await cache.request(KEY, async () => verdict('probe-failed'));
    ttls.push((e?.expiresAt ?? 0) - (e?.probedAt ?? 0));
    t.equal(e?.failures, i + 1);
    advance(10_000);
  }
  t.same(ttls, [100, 200, 400, 800, 1000, 1000]);
  const ok = await cache.request(KEY, async () => verdict('clean'));
  t.equal(ok?.failures, 0, 'a success resets the count');
});

t.test('at most maxConcurrent probes run; the queue is bounded', async (t) => {
  const { cache } = setup({ maxConcurrent: 2, maxQueued: 2 });
  let running = 0;
  let peak = 0;
  const release: Array<() => void> = [];
  const probe = (): Promise<ProbeOutcome> => {
    running += 1;
    peak = Math.max(peak, running);
    return new Promise((resolve) =>
      release.push(() => {
        running -= 1;
        resolve(verdict('clean'));
      }),
    );
  };
  const keys = [1, 2, 3, 4, 5].map((p) => ({ ...KEY, port: p }));
  const results = keys.map((k) => cache.request(k, probe));
  t.equal(await results[4], undefined, 'the fifth is dropped: 2 running, 2 queued');
  await tick();
  t.equal(running, 2);
  for (let i = 0; i < 4 && release.length > 0; i++) {
    release.shift()?.();
    await tick();
    await tick();
  }
  const done = await Promise.all(results.slice(0, 4));
  t.equal(peak, 2, 'never more than 2 at once');
  t.ok(
    done.every((e) => e?.classification.verdict === 'clean'),
    'queued probes ran',
  );
  t.equal(cache.peek(keys[4] as ProbeKey), undefined, 'the dropped one cached nothing');
});

t.test('a change of intercepting CA is warned about', async (t) => {
  const { cache, warnings, advance } = setup();
  const caA = { subject: 'CN=Corp Root A', sha256: 'AA:AA' };
  const caB = { subject: 'CN=Corp Root B', sha256: 'BB:BB' };
  await cache.request(KEY, async () => verdict('clean'));
  advance(10_000);
  await cache.request(KEY, async () => verdict('intercepted', caA));
  t.same(warnings, [], 'clean then intercepted: no CA changed');
  advance(10_000);
  await cache.request(KEY, async () => verdict('intercepted', caA));
  t.same(warnings, [], 'same CA again: nothing');
  advance(10_000);
  await cache.request(KEY, async () => verdict('intercepted', caB));
  t.equal(warnings.length, 1);
  t.match(
    warnings[0]?.message,
    /a\.test:443 changed from "CN=Corp Root A" to "CN=Corp Root B" \(sha256 BB:BB\)/,
  );
  t.match(warnings[0]?.message, /corproxy trust a\.test:443/);
  t.match(warnings[0]?.fields, {
    event: 'tls-ca-changed',
    host: 'a.test',
    upstream: 'proxy.test:3128',
    previousCa: caA,
    ca: caB,
  });
  advance(10_000);
  await cache.request(KEY, async () => verdict('intercepted', { subject: 'CN=Leaf-only CA' }));
  t.equal(warnings.length, 2, 'a leaf-only chain is compared by the issuer name');
  t.notMatch(warnings[1]?.message, /sha256/);
  const other = { ...KEY, port: 8443 };
  await cache.request(other, async () => verdict('intercepted', caA));
  t.equal(warnings.length, 2, 'another key has its own history');
});

t.test('a probe that rejects caches nothing and can be retried', async (t) => {
  const { cache } = setup();
  const r = await cache.request(KEY, async () => {
    throw new Error('boom');
  });
  t.equal(r, undefined);
  t.equal(cache.peek(KEY), undefined);
  t.equal(cache.pending, 0);
  t.equal(
    (await cache.request(KEY, async () => verdict('clean')))?.classification.verdict,
    'clean',
  );
});

t.test('entries are bounded; the oldest go first; clear forgets all', async (t) => {
  const { cache } = setup({ maxEntries: 3 });
  for (const port of [1, 2, 3, 4])
    await cache.request({ ...KEY, port }, async () => verdict('clean'));
  t.same(
    cache.list().map((e) => e.key.port),
    [2, 3, 4],
  );
  cache.clear();
  t.same(cache.list(), []);
});

t.test('keys differ by route, upstream, host and port', async (t) => {
  const keys = new Set(
    [
      KEY,
      { ...KEY, route: 'direct' as const, upstreamId: undefined },
      { ...KEY, upstreamId: 'other:3128' },
      { ...KEY, host: 'b.test' },
      { ...KEY, port: 8443 },
    ].map(keyString),
  );
  t.equal(keys.size, 5);
});
