import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import type { FetchResult, Validators } from '../../../src/pac/fetch.js';
import {
  PacRuntime,
  RUNTIME_TIMINGS,
  type CompiledPac,
  type RuntimeDeps,
} from '../../../src/pac/runtime.js';
import { pacSourceOf, type PacSource } from '../../../src/pac/source.js';

type Step = FetchResult | CorproxyError;

const netFail = (): CorproxyError =>
  new CorproxyError('CPX_ERR_PAC_LOAD', 'pac: cannot fetch: ECONNREFUSED', {
    details: { pac: 'load', network: true },
  });
const httpFail = (): CorproxyError =>
  new CorproxyError('CPX_ERR_PAC_LOAD', 'pac: answered HTTP 500', {
    details: { pac: 'load', network: false },
  });
const script = (text: string, validators: Validators = { etag: `"${text}"` }): FetchResult => ({
  kind: 'script',
  text,
  validators,
});

interface Harness {
  readonly runtime: PacRuntime;
  readonly steps: Step[];
  readonly asked: Array<Validators | undefined>;
  readonly timers: number[];
  readonly warnings: string[];
  readonly reach: Array<[number, boolean]>;
  readonly compiled: Array<CompiledPac & { disposed: boolean; dnsCleared: number; text: string }>;
  fire(): Promise<void>;
}

function harness(source: PacSource, steps: Step[], epoch = () => 7): Harness {
  const timers: number[] = [];
  let pending: (() => void) | undefined;
  const h: Omit<Harness, 'runtime' | 'fire'> = {
    steps,
    asked: [],
    timers,
    warnings: [],
    reach: [],
    compiled: [],
  };
  const deps: RuntimeDeps = {
    now: () => 1_700_000_000_000,
    fetch: async (_src, previous) => {
      h.asked.push(previous);
      const next = steps.shift();
      if (next === undefined) throw new Error('no more steps');
      if (next instanceof CorproxyError) throw next;
      return next;
    },
    compile: async (text) => {
      if (text.includes('broken')) {
        throw new CorproxyError('CPX_ERR_PAC_EVAL', 'pac: does not compile', {
          details: { pac: 'compile' },
        });
      }
      const c = {
        text,
        disposed: false,
        dnsCleared: 0,
        answer: async (url: string, host: string) => {
          if (host === 'throw.example') throw new CorproxyError('CPX_ERR_PAC_EVAL', 'pac: threw');
          return `${text} ${host} ${url}`;
        },
        clearDns: () => {
          c.dnsCleared += 1;
        },
        dispose: () => {
          c.disposed = true;
        },
      };
      h.compiled.push(c);
      return c;
    },
    warn: (m) => h.warnings.push(m),
    reachability: (e, ok) => h.reach.push([e, ok]),
    epoch,
    setTimer: (fn, ms) => {
      timers.push(ms);
      pending = fn;
      return () => {
        pending = undefined;
      };
    },
  };
  const runtime = new PacRuntime(source, deps);
  return {
    ...h,
    runtime,
    fire: async () => {
      const fn = pending;
      pending = undefined;
      fn?.();
      await runtime.refresh();
    },
  } as Harness;
}

const URL_SOURCE = pacSourceOf('http://wpad.example/proxy.pac')!;

t.test('first load: requests wait for it, then answers come from the script', async (t) => {
  const h = harness(URL_SOURCE, [script('S1')]);
  t.equal(h.runtime.status().state, 'loading');
  t.same(await h.runtime.decide('https://a/', 'a'), { ok: true, answer: 'S1 a https://a/' });
  t.equal(await h.runtime.pacAnswerFor('https://b/', 'b'), 'S1 b https://b/');
  const st = h.runtime.status();
  t.equal(st.state, 'ok');
  t.equal(st.source, 'http://wpad.example/proxy.pac');
  t.equal(st.bytes, 2);
  t.match(st.sha256, /^[0-9a-f]{64}$/);
  t.same(h.timers, [RUNTIME_TIMINGS.urlRefreshMs]);
  t.same(h.reach, [[7, true]]);
  t.equal(h.asked.length, 1, 'start() is idempotent');
});

t.test(
  're-fetch: unchanged keeps the script; a new script replaces and frees the old',
  async (t) => {
    const h = harness(URL_SOURCE, [script('S1'), { kind: 'unchanged' }, script('S2')]);
    await h.runtime.start();
    await h.fire();
    t.same(h.asked[1], { etag: '"S1"' }, 'conditional: the validators of the script in force');
    t.equal(h.compiled.length, 1);
    await h.fire();
    t.equal(h.compiled.length, 2);
    t.equal(h.compiled[0]!.disposed, true);
    t.equal(await h.runtime.pacAnswerFor('https://a/', 'a'), 'S2 a https://a/');
  },
);

t.test(
  'failures: the last good script stays (stale), retries back off, then recover',
  async (t) => {
    const h = harness(URL_SOURCE, [script('S1'), netFail(), httpFail(), netFail(), script('S1b')]);
    await h.runtime.start();
    await h.fire();
    await h.fire();
    await h.fire();
    t.same(h.timers, [RUNTIME_TIMINGS.urlRefreshMs, 2000, 4000, 8000]);
    const st = h.runtime.status();
    t.equal(st.state, 'stale');
    t.equal(st.failures, 3);
    t.match(st.lastError, /ECONNREFUSED/);
    t.equal(await h.runtime.pacAnswerFor('https://a/', 'a'), 'S1 a https://a/', 'still answering');
    t.same(
      h.reach,
      [
        [7, true],
        [7, false],
        [7, true],
        [7, false],
      ],
      'HTTP errors prove the server is reachable',
    );
    t.equal(h.warnings.length, 3);
    await h.fire();
    t.equal(h.runtime.status().state, 'ok');
    t.equal(h.runtime.status().lastError, undefined);
  },
);

t.test('the backoff is capped', async (t) => {
  const h = harness(URL_SOURCE, Array.from({ length: 9 }, netFail));
  await h.runtime.start();
  for (let i = 0; i < 8; i++) await h.fire();
  t.equal(h.timers.at(-1), RUNTIME_TIMINGS.retryMaxMs);
  t.equal(h.runtime.status().state, 'unavailable');
});

t.test('no script at all: decide says why; pacAnswerFor is undefined', async (t) => {
  const h = harness(URL_SOURCE, [netFail()]);
  const d = await h.runtime.decide('https://a/', 'a');
  t.equal(d.ok, false);
  t.match(
    !d.ok && d.error.message,
    /no PAC script loaded from http:\/\/wpad.example\/proxy.pac \(pac: cannot fetch: ECONNREFUSED\)/,
  );
  t.equal(await h.runtime.pacAnswerFor('https://a/', 'a'), undefined);
  t.equal(h.runtime.status().state, 'unavailable');
});

t.test('a new script that does not compile leaves the old one in force', async (t) => {
  const h = harness(URL_SOURCE, [script('S1'), script('broken'), script('broken')]);
  await h.runtime.start();
  await h.fire();
  t.equal(h.runtime.status().state, 'stale');
  t.match(h.runtime.status().lastError, /does not compile/);
  await h.fire();
  t.same(
    h.asked[2],
    { etag: '"S1"' },
    'the broken script is fetched again, not treated as current',
  );
  t.equal(await h.runtime.pacAnswerFor('https://a/', 'a'), 'S1 a https://a/');
  const d = await h.runtime.decide('https://throw.example/', 'throw.example');
  t.match(!d.ok && d.error.message, /threw/);
});

t.test(
  'file and data sources: file polls, data never refreshes and reports no reachability',
  async (t) => {
    const file = harness(pacSourceOf('/etc/proxy.pac')!, [script('F', { mtimeMs: 1, size: 1 })]);
    await file.runtime.start();
    t.same(file.timers, [RUNTIME_TIMINGS.fileRefreshMs]);
    t.same(file.reach, []);
    const data = harness(pacSourceOf('data:,x')!, [script('D', {})]);
    await data.runtime.start();
    t.same(data.timers, []);
  },
);

t.test(
  'network change: DNS forgotten, script checked at once; stop frees everything',
  async (t) => {
    const h = harness(URL_SOURCE, [script('S1'), { kind: 'unchanged' }]);
    h.runtime.networkChanged();
    t.equal(h.asked.length, 0, 'nothing to refresh before the first load');
    await h.runtime.start();
    h.runtime.networkChanged();
    await h.runtime.refresh();
    t.equal(h.compiled[0]!.dnsCleared, 1);
    t.equal(h.asked.length, 2);
    h.runtime.stop();
    t.equal(h.compiled[0]!.disposed, true);
    t.equal(h.runtime.status().state, 'stopped');
    h.runtime.networkChanged();
    t.equal(h.asked.length, 2, 'a stopped runtime does not fetch');
  },
);

t.test('a script arriving after stop is freed at once', async (t) => {
  let release: (r: FetchResult) => void = () => undefined;
  const h = harness(URL_SOURCE, []);
  const deps = h.runtime as unknown as { deps: RuntimeDeps };
  const original = deps.deps.fetch;
  (deps.deps as { fetch: RuntimeDeps['fetch'] }).fetch = () =>
    new Promise((resolve) => (release = resolve));
  const loading = h.runtime.start();
  h.runtime.stop();
  release(script('LATE'));
  await loading;
  t.equal(h.compiled[0]?.disposed, true);
  t.equal(h.timers.length, 0, 'nothing scheduled after stop');
  t.ok(original);
});

t.test('tune changes the schedule', async (t) => {
  const h = harness(URL_SOURCE, [script('S1')]);
  h.runtime.tune({ urlRefreshMs: 50 });
  await h.runtime.start();
  t.same(h.timers, [50]);
});
