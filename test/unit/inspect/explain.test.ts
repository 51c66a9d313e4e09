import os from 'node:os';
import t from 'tap';
import { parseConfig, type Flags } from '../../../src/config/index.js';
import type { Config } from '../../../src/config/types.js';
import { explain, isCorproxyAddress } from '../../../src/inspect/explain.js';
import { renderExplanation } from '../../../src/inspect/explain-render.js';
import { parseExplainTarget } from '../../../src/inspect/explain-target.js';
import type { Env } from '../../../src/inspect/proxy-answer.js';
import type { StatusDocument } from '../../../src/inspect/status-document.js';

function config(flags: Flags = {}): Config {
  return parseConfig({
    flags: { log: 'off', stateDir: os.tmpdir(), ...flags },
    env: {},
    platform: 'linux',
    homedir: os.tmpdir(),
  });
}

const UPSTREAMS = ['http://up1.example.test:8080', 'http://up2.example.test:3128'];
const CORPROXY = 'http://127.0.0.1:3129';

function run(
  arg: string,
  env: Env,
  cfg = config(),
  extra: { daemon?: StatusDocument; pacAnswer?: string } = {},
) {
  return explain({ target: parseExplainTarget(arg), config: cfg, env, ...extra });
}

function daemon(upstreams: StatusDocument['upstreams']): StatusDocument {
  return { name: 'corproxy', version: 't', listen: ['127.0.0.1:41000'], upstreams };
}

t.test('corproxy: direct rules, upstream list, no upstream, loop', async (t) => {
  const cfg = config({ direct: ['*.corp.example'], upstream: UPSTREAMS });
  t.match(run('git.corp.example', {}, cfg).corproxy, {
    kind: 'direct',
    rule: 'direct "*.corp.example"',
    mode: 'tunnel',
    upstreams: [],
  });
  const up = run('proxy.golang.org', {}, cfg).corproxy;
  t.match(up, {
    kind: 'upstream',
    rule: 'default: upstream list',
    healthKnown: false,
    fallback: 'none',
  });
  t.strictSame(up.upstreams, [{ url: UPSTREAMS[0] }, { url: UPSTREAMS[1] }]);
  t.match(run('http://deb.example/x', {}).corproxy, {
    kind: 'direct',
    rule: 'default: no upstream configured',
    mode: 'forward',
  });
  t.match(run('127.0.0.1:3129', {}).corproxy, { kind: 'loop' });
  t.match(run('localhost:3129', {}).corproxy, { kind: 'loop' });
  t.match(run('127.0.0.1:3130', {}).corproxy, { kind: 'direct' });
  const reported = run('127.0.0.1:41000', {}, cfg, { daemon: daemon([]) });
  t.match(reported.corproxy, { kind: 'loop' }, 'addresses the daemon reports count too');
});

t.test('corproxy: upstream health from the daemon puts bad ones last', async (t) => {
  const cfg = config({ upstream: UPSTREAMS, fallback: 'direct' });
  const doc = daemon([
    {
      url: UPSTREAMS[0] as string,
      healthy: false,
      badUntil: '2026-11-21T07:35:00.000Z',
      lastError: 'connection refused',
    },
    { url: UPSTREAMS[1] as string, healthy: true },
  ]);
  const r = run('proxy.golang.org', {}, cfg, { daemon: doc }).corproxy;
  t.match(r, { healthKnown: true, fallback: 'direct' });
  t.match(r.upstreams, [
    { url: UPSTREAMS[1], healthy: true },
    { url: UPSTREAMS[0], healthy: false, lastError: 'connection refused' },
  ]);
  const text = renderExplanation(run('proxy.golang.org', {}, cfg, { daemon: doc })).join('\n');
  t.match(text, /1\. http:\/\/up2\.example\.test:3128 {2}healthy/);
  t.match(
    text,
    /2\. http:\/\/up1\.example\.test:8080 {2}bad until 2026-11-21T07:35:00Z: connection refused \(tried last\)/,
  );
  t.match(text, /if every upstream fails: direct connection/);
});

t.test("corproxy: the running daemon's rules win over the config's", async (t) => {
  const cfg = config({ direct: ['*.config.example'], upstream: UPSTREAMS });
  const doc: StatusDocument = {
    ...daemon([{ url: 'http://alice:***@daemon-up.example.test:8080', healthy: true }]),
    direct: ['*.daemon.example'],
    directModules: ['github.com/corp/*'],
    fallback: 'direct',
    pac: null,
  };
  t.match(run('a.daemon.example', {}, cfg, { daemon: doc }).corproxy, {
    kind: 'direct',
    rule: 'direct "*.daemon.example"',
  });
  t.match(run('github.com', {}, cfg, { daemon: doc }).corproxy, {
    kind: 'direct',
    rule: 'GOPRIVATE "github.com/corp/*"',
  });
  const up = run('a.config.example', {}, cfg, { daemon: doc }).corproxy;
  t.match(up, {
    kind: 'upstream',
    fallback: 'direct',
    upstreams: [{ url: 'http://alice:***@daemon-up.example.test:8080', healthy: true }],
  });
  const pacDoc = { ...doc, pac: { source: 'http://wpad.example.test/wpad.dat', state: 'ok' } };
  const viaPac = run('proxy.golang.org', {}, cfg, {
    daemon: pacDoc,
    pacAnswer: 'PROXY daemon-up.example.test:8080',
  });
  t.match(
    viaPac.corproxy.upstreams,
    [{ url: 'http://alice:***@daemon-up.example.test:8080', healthy: true }],
    'a PAC entry naming a daemon upstream is that upstream',
  );
  t.notMatch(renderExplanation(viaPac).join('\n'), /rules from the config/);
  t.match(
    renderExplanation(run('a.config.example', {}, cfg)).join('\n'),
    /rules from the config; the daemon did not answer/,
  );
});

t.test('corproxy: a PAC script decides what no direct rule matched', async (t) => {
  const cfg = config({
    upstream: UPSTREAMS,
    pac: 'http://pac.example.test/proxy.pac',
    direct: ['*.corp.example'],
  });
  const doc = daemon([{ url: UPSTREAMS[0] as string, healthy: false }]);
  const answer =
    'PROXY up1.example.test:8080; SOCKS s.example.test:1080; PROXY other.example.test; DIRECT';
  const r = run('proxy.golang.org', {}, cfg, { daemon: doc, pacAnswer: answer }).corproxy;
  t.match(r, {
    kind: 'upstream',
    rule: 'pac: PROXY up1.example.test:8080; PROXY other.example.test:80; DIRECT',
  });
  t.match(r.pac, { answer, skipped: ['SOCKS s.example.test:1080'] });
  t.match(
    r.upstreams.map((s) => s.url),
    ['http://other.example.test:80', 'DIRECT', UPSTREAMS[0]],
  );
  t.match(
    renderExplanation(run('proxy.golang.org', {}, cfg, { pacAnswer: answer })).join('\n'),
    /PAC entries corproxy cannot use: SOCKS s\.example\.test:1080/,
  );
  t.match(
    run('git.corp.example', {}, cfg, { pacAnswer: answer }).corproxy,
    { kind: 'direct', rule: 'direct "*.corp.example"' },
    'direct rules first',
  );
  t.match(run('proxy.golang.org', {}, cfg).corproxy, {
    kind: 'upstream',
    rule: /^upstream list \(the PAC script gave no answer/,
  });
  const noUp = config({ pac: 'http://pac.example.test/proxy.pac', fallback: 'direct' });
  t.match(run('proxy.golang.org', {}, noUp).corproxy, {
    kind: 'direct',
    rule: /^fallback: direct/,
  });
  const none = config({ pac: 'http://pac.example.test/proxy.pac' });
  t.match(run('proxy.golang.org', {}, none).corproxy, {
    kind: 'upstream',
    rule: /^no route: /,
    upstreams: [],
  });
});

t.test('Go through corproxy and curl the same: no notes', async (t) => {
  const e = run('proxy.golang.org', { HTTPS_PROXY: CORPROXY, https_proxy: CORPROXY });
  t.match(e.go, { proxied: true, viaCorproxy: true });
  t.match(e.curl, { proxied: true, viaCorproxy: true });
  t.equal(e.curlDiffers, false);
  t.strictSame(e.notes, []);
  const text = renderExplanation(e);
  t.match(text[0], /^target {4}https:\/\/proxy\.golang\.org\/$/);
  t.ok(
    text.some((l) =>
      /^go {8}proxied via http:\/\/127\.0\.0\.1:3129 \(from HTTPS_PROXY\) = corproxy$/.test(l),
    ),
    text.join('\n'),
  );
  t.ok(text.includes('curl      same as Go'));
  t.ok(text.every((l) => !l.startsWith('notes')));
});

t.test('where curl differs, the notes say why', async (t) => {
  const cases: Array<[string, Env, RegExp]> = [
    [
      'proxy.golang.org',
      { HTTPS_PROXY: CORPROXY, https_proxy: 'http://other.example.test:1' },
      /Go reads HTTPS_PROXY first, curl reads https_proxy first/,
    ],
    [
      'git.corp.example',
      { HTTPS_PROXY: CORPROXY, https_proxy: CORPROXY, NO_PROXY: '*.corp.example' },
      /curl has no "\*\." wildcard: "\*\.corp\.example" never matches; write "\.corp\.example"/,
    ],
    [
      'git.corp.example',
      { HTTPS_PROXY: CORPROXY, NO_PROXY: 'git.corp.example:443' },
      /curl ignores the port in "git\.corp\.example:443"/,
    ],
    [
      'git.corp.example',
      { HTTPS_PROXY: CORPROXY, NO_PROXY: 'a.example,*' },
      /"\*" only as the whole no_proxy value/,
    ],
    ['localhost:8080', { HTTPS_PROXY: CORPROXY }, /curl proxies localhost and loopback/],
    [
      'proxy.golang.org',
      { ALL_PROXY: CORPROXY },
      /curl falls back to ALL_PROXY; Go has no ALL_PROXY/,
    ],
    ['http://deb.example/', { HTTP_PROXY: CORPROXY }, /curl ignores uppercase HTTP_PROXY/],
    [
      'proxy.golang.org',
      { HTTPS_PROXY: 'proxy.example.test' },
      /no port: Go uses 80, curl uses 1080/,
    ],
    [
      'corp.example',
      { HTTPS_PROXY: CORPROXY, NO_PROXY: '.corp.example' },
      /curl's "\.corp\.example" also matches corp\.example itself/,
    ],
    [
      'proxy.golang.org',
      { HTTPS_PROXY: 'proxy corp:8080', https_proxy: CORPROXY },
      /Go reads HTTPS_PROXY first, curl reads https_proxy first/,
    ],
    [
      'proxy.golang.org',
      { HTTPS_PROXY: 'http://proxy.example.test:8080/%zz' },
      /Go drops a proxy value it cannot parse and connects directly; curl uses it/,
    ],
    [
      'proxy.golang.org',
      { HTTPS_PROXY: CORPROXY, NO_PROXY: 'a.example', no_proxy: 'proxy.golang.org' },
      /Go reads NO_PROXY, curl reads no_proxy, and their values differ/,
    ],
  ];
  for (const [arg, env, note] of cases) {
    const e = run(arg, env);
    t.equal(e.curlDiffers, true, `${arg} ${JSON.stringify(env)}`);
    t.match(e.notes.join('\n'), note, `${arg} ${JSON.stringify(env)}`);
    t.match(renderExplanation(e).join('\n'), /curl {6}DIFFERS, /);
  }
});

t.test('notes when Go bypasses corproxy or uses another proxy', async (t) => {
  const cfg = config({ upstream: UPSTREAMS, listen: ['127.0.0.1:3129'] });
  t.match(run('proxy.golang.org', {}, cfg).notes, [
    'Go connects directly and bypasses corproxy; point HTTPS_PROXY at http://127.0.0.1:3129',
  ]);
  t.match(run('http://deb.example/', {}, cfg).notes, [/point HTTP_PROXY at/]);
  t.match(run('proxy.golang.org', { HTTPS_PROXY: 'http://up1.example.test:8080' }, cfg).notes, [
    /Go uses http:\/\/up1\.example\.test:8080, which is not corproxy/,
  ]);
  const goDirect = run(
    'git.corp.example',
    { HTTPS_PROXY: CORPROXY, NO_PROXY: 'corp.example' },
    cfg,
  );
  t.match(goDirect.notes, [/Go goes direct for this host while corproxy would use the upstream/]);
  t.match(run('proxy.golang.org', { HTTPS_PROXY: '127.0.0.1:3129' }, cfg).notes, [
    'Go: HTTPS_PROXY has no scheme; Go reads it as http://127.0.0.1:3129',
  ]);
});

t.test('output never carries credentials', async (t) => {
  const e = run('https://bob:hunter2@proxy.golang.org/', {
    HTTPS_PROXY: 'http://alice:s3cret@proxy.example.test:8080',
    https_proxy: 'http://alice:s3cret@p2.example.test:1',
  });
  const all = `${JSON.stringify(e)}\n${renderExplanation(e).join('\n')}`;
  t.notMatch(all, /s3cret|alice|hunter2|bob/);
  t.match(all, /\*\*\*:\*\*\*@proxy\.example\.test/);
});

t.test('isCorproxyAddress treats loopback names as one host', async (t) => {
  const own = [
    { host: '127.0.0.1', port: 3129 },
    { host: '0.0.0.0', port: 8080 },
  ];
  t.ok(isCorproxyAddress('localhost', 3129, own));
  t.ok(isCorproxyAddress('127.0.0.5', 3129, own));
  t.ok(isCorproxyAddress('::1', 8080, own));
  t.notOk(isCorproxyAddress('127.0.0.1', 3130, own));
  t.notOk(isCorproxyAddress('proxy.example.test', 3129, own));
  t.ok(isCorproxyAddress('proxy.example.test', 3129, [{ host: 'proxy.example.test', port: 3129 }]));
});
