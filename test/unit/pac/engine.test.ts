import { readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { ENGINE_LIMITS, PacEngine, type EngineDeps } from '../../../src/pac/engine.js';
import { decodePacBody } from '../../../src/pac/source.js';

const fixture = (name: string): string =>
  decodePacBody(readFileSync(new URL(`../../fixtures/pac/${name}`, import.meta.url)));

interface Fake extends EngineDeps {
  readonly lookups: string[];
  readonly alerts: string[];
  time: number;
}

function fakeDeps(names: Record<string, string>, myIp = '192.0.2.10'): Fake {
  const deps: Fake = {
    lookups: [],
    alerts: [],
    time: 1_000_000,
    lookup4: async (host) => {
      deps.lookups.push(host);
      return names[host] ?? null;
    },
    myIp: () => myIp,
    alert: (m) => deps.alerts.push(m),
    now: () => deps.time,
  };
  return deps;
}

async function compile(
  t: Test,
  name: string,
  deps: EngineDeps,
  limits = ENGINE_LIMITS,
): Promise<PacEngine> {
  const engine = await PacEngine.compile(fixture(name), name, deps, limits);
  t.teardown(() => engine.dispose());
  return engine;
}

t.test(
  'a corporate PAC file: plain names, domains, shExpMatch, isInNet, myIpAddress',
  async (t) => {
    const deps = fakeDeps({
      'git.corp.example': '10.4.5.6',
      'lab.example': '192.168.7.7',
      'www.example.org': '203.0.113.9',
    });
    const pac = await compile(t, 'corp.pac', deps);
    t.equal(await pac.answer('https://wiki/', 'wiki'), 'DIRECT');
    t.equal(await pac.answer('https://hr.intranet.example/', 'hr.intranet.example'), 'DIRECT');
    t.equal(
      await pac.answer('https://ci.build.example/', 'CI.build.example'),
      'PROXY legacy-proxy.example:3128',
    );
    t.equal(
      await pac.answer('http://legacy.example/x', 'legacy.example'),
      'PROXY legacy-proxy.example:3128',
    );
    t.equal(
      await pac.answer('https://git.corp.example/', 'git.corp.example'),
      'DIRECT',
      'isInNet on a resolved name',
    );
    t.equal(
      await pac.answer('https://lab.example/', 'lab.example'),
      'DIRECT',
      'isInNet resolving by itself',
    );
    t.equal(
      await pac.answer('https://www.example.org/', 'www.example.org'),
      'PROXY proxy-a.example:8080; HTTPS proxy-b.example:8443; DIRECT',
    );
    t.equal(
      await pac.answer('https://nowhere.example/', 'nowhere.example'),
      'PROXY proxy-a.example:8080; HTTPS proxy-b.example:8443; DIRECT',
      'an unresolvable name is in no net',
    );
    const office = await compile(t, 'corp.pac', fakeDeps({}, '172.20.1.1'));
    t.equal(
      await office.answer('https://www.example.org/', 'www.example.org'),
      'PROXY office-proxy.example:8080; DIRECT',
    );
  },
);

t.test('DNS answers are cached for their lifetime and forgotten on clearDns', async (t) => {
  const deps = fakeDeps({ 'git.corp.example': '10.4.5.6' });
  const pac = await compile(t, 'corp.pac', deps);
  await pac.answer('https://git.corp.example/', 'git.corp.example');
  await pac.answer('https://git.corp.example/', 'git.corp.example');
  t.same(deps.lookups, ['git.corp.example'], 'resolved once: the re-run uses the cache');
  deps.time += ENGINE_LIMITS.dnsTtlMs + 1;
  await pac.answer('https://git.corp.example/', 'git.corp.example');
  t.equal(deps.lookups.length, 2, 'expired answers are looked up again');
  pac.clearDns();
  await pac.answer('https://git.corp.example/', 'git.corp.example');
  t.equal(deps.lookups.length, 3);
});

t.test('the DNS cache is bounded', async (t) => {
  const deps = fakeDeps({});
  const pac = await compile(t, 'corp.pac', deps, { ...ENGINE_LIMITS, dnsMaxEntries: 2 });
  for (const host of ['a.example', 'b.example', 'c.example', 'a.example']) {
    await pac.answer(`https://${host}/`, host);
  }
  t.same(
    deps.lookups,
    ['a.example', 'b.example', 'c.example', 'a.example'],
    'the oldest entry was evicted',
  );
});

t.test('lookups per answer are bounded', async (t) => {
  const deps = fakeDeps({});
  const pac = await compile(t, 'many-lookups.pac', deps, { ...ENGINE_LIMITS, maxLookups: 5 });
  await t.rejects(pac.answer('https://x.example/', 'x.example'), {
    code: 'CPX_ERR_PAC_EVAL',
    message: /resolved more than 5 names/,
    details: { pac: 'run' },
  });
  t.equal(deps.lookups.length, 5);
  const found = await compile(t, 'many-lookups.pac', fakeDeps({ 'n2.example': '10.0.0.2' }));
  t.equal(await found.answer('https://x.example/', 'x.example'), 'PROXY found.example:8002');
});

t.test('a runaway script is interrupted and the engine stays usable', async (t) => {
  const pac = await compile(t, 'loop.pac', fakeDeps({}), { ...ENGINE_LIMITS, runBudgetMs: 100 });
  const started = Date.now();
  await t.rejects(pac.answer('https://spin.example/', 'spin.example'), { message: /interrupted/ });
  t.ok(Date.now() - started < 5000, 'bounded by the run budget');
  t.equal(await pac.answer('https://fine.example/', 'fine.example'), 'DIRECT');
});

t.test('scripts that throw or return a non-string', async (t) => {
  const pac = await compile(t, 'throws.pac', fakeDeps({}));
  await t.rejects(pac.answer('https://bad.example/', 'bad.example'), {
    code: 'CPX_ERR_PAC_EVAL',
    message: /FindProxyForURL failed for bad.example \(Error: no rule for bad.example\)/,
  });
  await t.rejects(pac.answer('https://number.example/', 'number.example'), {
    message: /returned number, not a string/,
  });
  t.equal(await pac.answer('https://ok.example/', 'ok.example'), 'PROXY ok.example:8080');
  await t.rejects(pac.answer('not a url', 'x'), { code: 'CPX_ERR_PAC_EVAL' });
});

t.test('scripts that do not compile', async (t) => {
  for (const name of ['syntax-error.pac', 'no-function.pac']) {
    await t.rejects(PacEngine.compile(fixture(name), name, fakeDeps({})), {
      code: 'CPX_ERR_PAC_EVAL',
      message: new RegExp(`script from ${name} does not define a usable FindProxyForURL`),
      details: { pac: 'compile' },
    });
  }
  await t.rejects(
    PacEngine.compile('while (true) {}', 'top-level-loop.pac', fakeDeps({}), {
      ...ENGINE_LIMITS,
      runBudgetMs: 100,
    }),
    { message: /interrupted/ },
  );
});

t.test('the sandbox exposes nothing of Node; alert goes to the daemon log', async (t) => {
  const pac = await compile(t, 'sandbox.pac', fakeDeps({}));
  t.equal(
    await pac.answer('https://x.example/', 'x.example'),
    'DIRECT; undefined,undefined,undefined,undefined',
  );
  const deps = fakeDeps({});
  const alerting = await PacEngine.compile(
    'function FindProxyForURL(u, h) { alert("asked " + h); return "DIRECT"; }',
    'alert.pac',
    deps,
  );
  t.teardown(() => alerting.dispose());
  await alerting.answer('https://y.example/', 'y.example');
  t.same(deps.alerts, ['asked y.example']);
});

t.test('a disposed engine refuses new answers; dispose waits for answers in flight', async (t) => {
  let release: (v: string | null) => void = () => undefined;
  const deps = fakeDeps({});
  const slow: EngineDeps = {
    ...deps,
    lookup4: () => new Promise((resolve) => (release = resolve)),
  };
  const pac = await PacEngine.compile(fixture('corp.pac'), 'corp.pac', slow);
  const pending = pac.answer('https://slow.example/', 'slow.example');
  await new Promise((r) => setImmediate(r));
  pac.dispose();
  release('10.0.0.1');
  t.equal(await pending, 'DIRECT', 'the answer in flight completes');
  await t.rejects(pac.answer('https://x.example/', 'x.example'), {
    message: /replaced or stopped/,
  });
  pac.dispose();
});

t.test('encodings of PAC files on disk', async (t) => {
  const utf16 = await compile(t, 'utf16le-bom.pac', fakeDeps({}));
  t.equal(await utf16.answer('https://x/', 'x'), 'PROXY utf16.example:8080');
  const latin1 = await compile(t, 'latin1.pac', fakeDeps({}));
  t.equal(await latin1.answer('https://x/', 'x'), 'PROXY latin1.example:8080');
});
