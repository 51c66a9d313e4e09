/** Layer 7: the module proxy protocol and the checksum database, over a scripted GET. */
import t from 'tap';
import { goSettings, parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import {
  moduleChecks,
  pickVersion,
  sumdbBase,
  sumdbCheck,
  tryProxies,
  type Fetched,
  type Get,
} from '../../../src/doctor/layer-module.js';

function scripted(answers: Record<string, number | string | Fetched>): {
  get: Get;
  asked: string[];
} {
  const asked: string[] = [];
  const get: Get = (url) => {
    asked.push(url);
    const a = answers[url] ?? 404;
    if (typeof a === 'number') return Promise.resolve({ status: a, body: '', ms: 1 });
    if (typeof a === 'string') return Promise.resolve({ status: 200, body: a, ms: 1 });
    return Promise.resolve(a);
  };
  return { get, asked };
}

const A = 'https://a.test';
const B = 'https://b.test';
const M = 'golang.org/x/text';

t.test('TryProxies: 404/410 fall through on ",", any error on "|"', async (t) => {
  const cases: Array<[string, Record<string, number | string | Fetched>, string, number]> = [
    [`${A},${B}`, { [`${A}/p`]: 404, [`${B}/p`]: 'x' }, 'ok', 2],
    [`${A},${B}`, { [`${A}/p`]: 410, [`${B}/p`]: 410 }, 'notfound', 2],
    [`${A},${B}`, { [`${A}/p`]: 500, [`${B}/p`]: 'x' }, 'error', 1],
    [`${A}|${B}`, { [`${A}/p`]: 500, [`${B}/p`]: 'x' }, 'ok', 2],
    [
      `${A}|${B}`,
      {
        [`${A}/p`]: { error: 'TLS failed', code: 'CPX_ERR_MIRROR_UPSTREAM', ms: 1 },
        [`${B}/p`]: 404,
      },
      'error',
      2,
    ],
    [`${A},direct`, { [`${A}/p`]: 404 }, 'direct', 1],
    ['off', {}, 'off', 0],
    [`${A},${B}`, { [`${A}/p`]: { skipped: 'TLS failed for a.test:443 (layer 6)' } }, 'skipped', 1],
  ];
  for (const [list, answers, result, gets] of cases) {
    const s = scripted(answers);
    const walk = await tryProxies(parseGoproxyList(list), 'p', s.get);
    t.equal(walk.result, result, `${list} ${JSON.stringify(answers)}`);
    t.equal(s.asked.length, gets, 'requests sent');
  }
  const err = await tryProxies(
    parseGoproxyList(`${A}|${B}`),
    'p',
    scripted({ [`${A}/p`]: 502, [`${B}/p`]: 404 }).get,
  );
  t.equal(
    err.failure,
    `reading ${A}/p: 502 Bad Gateway`,
    'an error ranks above a later 404, as in go',
  );
});

t.test('versions', async (t) => {
  t.equal(pickVersion('v1.2.0\nv1.10.0\nv1.11.0-rc.1\nbad\n'), 'v1.10.0');
  t.equal(pickVersion('v2.0.0-beta.1\n'), 'v2.0.0-beta.1');
  t.equal(pickVersion(''), undefined);
});

const settings = (env: Record<string, string> = {}) => goSettings(undefined, env);

t.test('@v/list and @latest', async (t) => {
  const list = parseGoproxyList(A);
  const ok = await moduleChecks(
    M,
    settings(),
    list,
    scripted({
      [`${A}/${M}/@v/list`]: 'v0.3.0\nv0.14.0\n',
      [`${A}/${M}/@latest`]: '{"Version":"v0.14.0"}',
    }).get,
  );
  t.match(ok.checks, [
    { status: 'pass', summary: '2 version(s), newest v0.14.0' },
    { status: 'pass', summary: 'Version v0.14.0' },
  ]);
  t.equal(ok.version, 'v0.14.0');
  const noLatest = await moduleChecks(
    M,
    settings(),
    list,
    scripted({ [`${A}/${M}/@v/list`]: 'v0.1.0\n' }).get,
  );
  t.match(noLatest.checks[1], { status: 'pass', summary: /not served; go uses @v\/list/ });
  const broken = await moduleChecks(
    M,
    settings(),
    list,
    scripted({ [`${A}/${M}/@v/list`]: 'v0.1.0\n', [`${A}/${M}/@latest`]: 500 }).get,
  );
  t.match(broken.checks[1], { status: 'warn' }, '@latest matters only without versions');
  const empty = await moduleChecks(
    M,
    settings(),
    list,
    scripted({ [`${A}/${M}/@v/list`]: '', [`${A}/${M}/@latest`]: 500 }).get,
  );
  t.match(empty.checks, [
    { status: 'pass', summary: '0 version(s)' },
    { status: 'fail', summary: /500 Internal Server Error/ },
  ]);
  const missing = await moduleChecks(M, settings(), list, scripted({}).get);
  t.match(missing.checks[0], {
    status: 'fail',
    summary: /^not found: reading .*: 404 Not Found/,
    fix: /GOPRIVATE/,
  });
  const direct = await moduleChecks(
    M,
    settings(),
    parseGoproxyList(`${A},direct`),
    scripted({}).get,
  );
  t.match(direct.checks[0], { status: 'warn', summary: /falls back to direct/ });
  t.match(
    (await moduleChecks(M, settings(), parseGoproxyList('off'), scripted({}).get)).checks[0],
    { status: 'fail', summary: /GOPROXY=off/ },
  );
  const upper = scripted({});
  await moduleChecks('github.com/Azure/go-x', settings(), list, upper.get);
  t.equal(upper.asked[0], `${A}/github.com/!azure/go-x/@v/list`, 'case-encoded path');
});

t.test('private modules and a broken GOPROXY are skipped', async (t) => {
  const s = scripted({});
  const priv = await moduleChecks(
    'git.corp.test/lib',
    settings({ GOPRIVATE: '*.corp.test' }),
    parseGoproxyList(A),
    s.get,
  );
  t.match(priv.checks, [
    { status: 'skip', summary: /GONOPROXY\/GOPRIVATE "\*\.corp\.test"/ },
    { status: 'skip' },
  ]);
  t.same(s.asked, [], 'nothing sent for a private module');
  const bad = await moduleChecks(M, settings(), parseGoproxyList(','), s.get);
  t.match(bad.checks[0], { status: 'skip', summary: /GOPROXY is invalid/ });
});

t.test('checksum database: where go reads it', async (t) => {
  const db = { name: 'sum.golang.org', direct: 'https://sum.golang.org' };
  t.match(
    await sumdbBase({ ...db, explicit: 'https://db.test' }, parseGoproxyList(A), scripted({}).get),
    { base: 'https://db.test' },
  );
  const supported = await sumdbBase(
    db,
    parseGoproxyList(`${A},${B}`),
    scripted({
      [`${A}/sumdb/sum.golang.org/supported`]: 404,
      [`${B}/sumdb/sum.golang.org/supported`]: '',
    }).get,
  );
  t.equal(supported.base, `${B}/sumdb/sum.golang.org`);
  t.equal(
    (await sumdbBase(db, parseGoproxyList(`${A},direct`), scripted({}).get)).base,
    'https://sum.golang.org',
  );
  const broken = await sumdbBase(
    db,
    parseGoproxyList(A),
    scripted({ [`${A}/sumdb/sum.golang.org/supported`]: 503 }).get,
  );
  t.match(broken, { failure: /503 Service Unavailable/ });
  t.notOk('base' in broken);
});

t.test('checksum database: lookup or /latest', async (t) => {
  const sumdb = parseGosumdb('sum.golang.org');
  const list = parseGoproxyList(A);
  const s = scripted({
    [`${A}/sumdb/sum.golang.org/supported`]: '',
    [`${A}/sumdb/sum.golang.org/lookup/${M}@v0.14.0`]: 'ok',
  });
  t.match(await sumdbCheck(M, 'v0.14.0', settings(), sumdb, list, s.get), {
    status: 'pass',
    summary: 'sum.golang.org answers /lookup',
  });
  const latest = scripted({
    [`${A}/sumdb/sum.golang.org/supported`]: '',
    [`${A}/sumdb/sum.golang.org/latest`]: 'tree',
  });
  t.match(await sumdbCheck(M, undefined, settings(), sumdb, list, latest.get), {
    status: 'pass',
    summary: /answers \/latest/,
  });
  const gone = await sumdbCheck(
    M,
    'v1.0.0',
    settings(),
    sumdb,
    parseGoproxyList('direct'),
    scripted({ [`https://sum.golang.org/lookup/${M}@v1.0.0`]: 410 }).get,
  );
  t.match(gone, {
    status: 'fail',
    summary: /verifying golang\.org\/x\/text: .*410 Gone/,
    fix: /private module, add it to GOPRIVATE/,
  });
  t.notMatch(`${gone.fix} ${gone.commands ?? ''}`, /GONOSUMDB|GOSUMDB=off|insecure/);
  const down = await sumdbCheck(
    M,
    'v1.0.0',
    settings(),
    sumdb,
    parseGoproxyList('direct'),
    scripted({
      [`https://sum.golang.org/lookup/${M}@v1.0.0`]: {
        error: 'connect timed out',
        code: 'CPX_ERR_UPSTREAM_TIMEOUT',
        ms: 1,
      },
    }).get,
  );
  t.match(down, { status: 'fail', code: 'CPX_ERR_UPSTREAM_TIMEOUT', fix: /layers 3-6/ });
  t.match(
    await sumdbCheck(
      M,
      'v1',
      settings(),
      sumdb,
      list,
      scripted({ [`${A}/sumdb/sum.golang.org/supported`]: 500 }).get,
    ),
    { status: 'fail', summary: /checksum database unavailable/ },
  );
  t.match(await sumdbCheck(M, 'v1', settings(), parseGosumdb('off'), list, s.get), {
    status: 'skip',
    summary: /GOSUMDB=off/,
  });
  t.match(await sumdbCheck(M, 'v1', settings(), sumdb, parseGoproxyList(','), s.get), {
    status: 'skip',
    summary: /GOPROXY is invalid/,
  });
  t.match(await sumdbCheck(M, 'v1', settings(), parseGosumdb('a b c'), list, s.get), {
    status: 'skip',
    summary: /invalid/,
  });
  t.match(await sumdbCheck(M, 'v1', settings({ GONOSUMDB: 'golang.org' }), sumdb, list, s.get), {
    status: 'skip',
    summary: /does not verify it/,
  });
  const skipped = scripted({
    [`${A}/sumdb/sum.golang.org/supported`]: { skipped: 'TLS failed for a.test:443 (layer 6)' },
  });
  t.match(await sumdbCheck(M, 'v1', settings(), sumdb, list, skipped.get), {
    status: 'skip',
    summary: /layer 6/,
  });
  const bad = scripted({
    [`${A}/sumdb/sum.golang.org/supported`]: '',
    [`${A}/sumdb/sum.golang.org/latest`]: 'tree',
  });
  await sumdbCheck(M, 'not-a-version!', settings(), sumdb, list, bad.get);
  t.equal(bad.asked.at(-1), `${A}/sumdb/sum.golang.org/latest`, 'an unusable version asks /latest');
});
