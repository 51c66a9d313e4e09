/**
 * `corproxy doctor` against real loopback servers: every layer's PASS and each FAIL class.
 *
 *   doctor (in process) --CONNECT--> fake upstream (ok/407/refuse/hang/garbage, NTLM,
 *          |                         or an intercepting proxy) --> GOPROXY test server
 *          +--direct (hosts map)------------------------------------> (200/404/410/500)
 *
 * Go's roots are the test "public" CA only (SSL_CERT_FILE, SSL_CERT_DIR empty), which is
 * also declared public to the interception verdict (probe.extraPublicRoots).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { runDoctorCommand, type DoctorCliDeps } from '../../src/cli/doctor.js';
import type { Config } from '../../src/config/types.js';
import { CorproxyError } from '../../src/errors.js';
import { runDoctor, type DoctorDeps } from '../../src/doctor/runner.js';
import { parseDoctorArgs } from '../../src/doctor/targets.js';
import { firstFailure, type DoctorReport } from '../../src/doctor/types.js';
import { startCorproxy, testConfig } from '../support/corproxy.js';
import { makeInterceptorPki, startFakeInterceptor } from '../support/fake-interceptor.js';
import { startFakeNtlmUpstream } from '../support/fake-ntlm-upstream.js';
import { startFakeUpstream, type UpstreamMode } from '../support/fake-upstream.js';
import { makeCa } from '../support/pki.js';
import { originLeaf } from '../support/tls-origin.js';

const GOPROXY_HOST = 'goproxy.example.test';
const SUM_HOST = 'sum.example.test';
const MODULE = 'example.test/hello';
const publicCa = makeCa({ cn: 'Public Test Root', org: 'Public Test CA' });
const leaf = originLeaf(publicCa, [GOPROXY_HOST, SUM_HOST], 2);

/** Status overrides per first path segment (`a`, `b`, `sum`); absent = serve the content. */
const statuses = new Map<string, number>();
const served: string[] = [];
let port = 0;

function content(rest: string): string | undefined {
  if (rest === `${MODULE}/@v/list`) return 'v0.9.0\nv1.0.0\n';
  if (rest === `${MODULE}/@latest`) return '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}';
  if (rest === `lookup/${MODULE}@v1.0.0`) return `1\n${MODULE} v1.0.0 h1:x=\n`;
  return undefined;
}

t.before(async () => {
  const server = createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    served.push(path);
    const [, prefix = '', ...rest] = path.split('/');
    const body = content(rest.join('/'));
    const status = statuses.get(prefix) ?? (body === undefined ? 404 : 200);
    res
      .writeHead(status, { 'Content-Type': 'text/plain' })
      .end(status === 200 ? body : `status ${status}\n`);
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => void sockets.add(s).size);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
});

t.beforeEach(() => {
  statuses.clear();
  served.length = 0;
});

const HOSTS = [`${GOPROXY_HOST}=127.0.0.1`, `${SUM_HOST}=127.0.0.1`];
const proxyUrl = 'http://127.0.0.1:3129';

/** Go's view: proxy variables at corproxy, the test GOPROXY and sumdb, only the test root. */
function goEnv(dir: string, over: Record<string, string> = {}): Record<string, string> {
  const empty = join(dir, 'empty-certs');
  mkdirSync(empty, { recursive: true });
  const file = join(dir, 'public.pem');
  writeFileSync(file, publicCa.certPem);
  return {
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    GOPROXY: `https://${GOPROXY_HOST}:${port}/a`,
    GOSUMDB: `${SUM_HOST}+01234567+AAAA https://${SUM_HOST}:${port}/sum`,
    SSL_CERT_FILE: file,
    SSL_CERT_DIR: empty,
    ...over,
  };
}

function configFor(dir: string, upstream: string[], file: object = {}): Config {
  const roots = join(dir, 'public.pem');
  writeFileSync(roots, publicCa.certPem);
  return testConfig(
    { listen: ['127.0.0.1:3129'], upstream, hosts: HOSTS, stateDir: join(dir, 'state') },
    {},
    {
      probe: { extraPublicRoots: roots, timeout: '3s', watch: [] },
      limits: { connectTimeout: '1s' },
      ...file,
    },
  );
}

/** A daemon answering /status on the address HTTPS_PROXY names (its upstream health only). */
const running = {
  ok: true,
  endpoint: { host: '127.0.0.1', port: 3129 },
  text: '{}',
  doc: { name: 'corproxy', version: 'test', pid: 1, listen: ['127.0.0.1:3129'], upstreams: [] },
} as const;
const stopped = {
  ok: false,
  error: new CorproxyError('CPX_ERR_DAEMON_DOWN', 'not running (test)'),
} as const;

function deps(
  config: Config,
  env: Record<string, string>,
  over: Partial<DoctorDeps> = {},
): DoctorDeps {
  return {
    env,
    platform: 'linux',
    config,
    askDaemon: () => Promise.resolve(running),
    goEnv: () => Promise.resolve(undefined),
    gitConfig: () => Promise.resolve(undefined),
    ...over,
  };
}

const run = (d: DoctorDeps, args: string[] = [MODULE]): Promise<DoctorReport> =>
  runDoctor(parseDoctorArgs(args), d);

function row(r: DoctorReport, name: string) {
  const found = r.checks.find((c) => c.name === name || c.name.startsWith(name));
  if (found === undefined)
    throw new Error(`no check ${name}: ${r.checks.map((c) => c.name).join(' | ')}`);
  return found;
}

const at = (host: string): string => `${host}:${port}`;

async function upstream(t: { teardown(fn: () => unknown): void }, mode: UpstreamMode = 'ok') {
  const up = await startFakeUpstream(t, mode);
  up.credentials = { user: 'dev', password: 'pw' };
  return up;
}

t.test('every layer passes through an authenticating upstream', async (t) => {
  const dir = t.testdir();
  const up = await upstream(t);
  const r = await run(deps(configFor(dir, [`http://dev:pw@127.0.0.1:${up.port}`]), goEnv(dir)));
  t.equal(firstFailure(r.checks), undefined, 'nothing fails');
  t.match(row(r, `Go route to ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /via corproxy \(HTTPS_PROXY\)/,
  });
  t.match(row(r, 'GOPROXY'), { status: 'pass' });
  t.match(row(r, 'SSL_CERT_FILE'), { status: 'pass' });
  t.match(row(r, 'daemon'), { status: 'pass' });
  t.match(row(r, `route ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    evidence: ['rule: default: upstream list'],
  });
  t.match(row(r, 'DNS upstream 127.0.0.1'), { status: 'pass', summary: /IP literal/ });
  t.match(row(r, `DNS target ${GOPROXY_HOST}`), {
    status: 'skip',
    summary: /resolved by the upstream/,
  });
  t.match(row(r, `TCP upstream 127.0.0.1:${up.port}`), { status: 'pass' });
  t.match(row(r, `CONNECT ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /authenticated with Basic/,
  });
  t.match(row(r, `TLS ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /^clean; Go's roots verify/,
  });
  t.match(row(r, `${MODULE}/@v/list`), { status: 'pass', summary: '2 version(s), newest v1.0.0' });
  t.match(row(r, `${MODULE}/@latest`), { status: 'pass', summary: 'Version v1.0.0' });
  t.match(row(r, `checksum database for ${MODULE}`), { status: 'pass' });
  t.ok(served.includes(`/sum/lookup/${MODULE}@v1.0.0`), 'sumdb lookup by version');
  t.ok(
    up.seen.some((s) => s.url === at(SUM_HOST)),
    'the sumdb went through the upstream too',
  );
});

t.test('layer 1: unparseable proxy, NO_PROXY bypass, case mismatch', async (t) => {
  const dir = t.testdir();
  const up = await upstream(t);
  const config = configFor(dir, [`http://dev:pw@127.0.0.1:${up.port}`]);
  const bad = await run(
    deps(config, goEnv(dir, { HTTPS_PROXY: '127.0.0.1:3l29', https_proxy: proxyUrl })),
  );
  t.match(firstFailure(bad.checks), {
    layer: 'env',
    name: `Go route to ${at(GOPROXY_HOST)}`,
    summary: /does not parse.*silently/,
  });
  t.match(row(bad, 'proxy variables'), { status: 'warn' });
  const np = await run(deps(config, goEnv(dir, { NO_PROXY: `other.test,${GOPROXY_HOST}` })));
  const c = row(np, `Go route to ${at(GOPROXY_HOST)}`);
  t.match(c, { status: 'fail', summary: new RegExp(`NO_PROXY entry "${GOPROXY_HOST}"`) });
  t.same(c.commands, ["export NO_PROXY='other.test'"]);
  const none = await run(deps(config, goEnv(dir, { HTTPS_PROXY: '', https_proxy: '' })));
  t.match(firstFailure(none.checks), { summary: /directly, not through corproxy/ });
});

t.test('layer 2: a running daemon, and a stopped one Go depends on', async (t) => {
  const dir = t.testdir();
  const up = await upstream(t);
  const daemon = await startCorproxy(t, { upstream: [`http://dev:pw@127.0.0.1:${up.port}`] });
  const url = `http://127.0.0.1:${daemon.port}`;
  const config = testConfig(
    {
      listen: [`127.0.0.1:${daemon.port}`],
      upstream: [`http://dev:pw@127.0.0.1:${up.port}`],
      hosts: HOSTS,
      stateDir: join(dir, 's'),
    },
    {},
    { probe: { timeout: '3s', watch: [] } },
  );
  const env = goEnv(dir, { HTTPS_PROXY: url, https_proxy: url });
  const d = deps(config, env);
  const live = await run({ ...d, askDaemon: undefined } as DoctorDeps);
  t.match(row(live, 'daemon'), { status: 'pass', summary: /answers on 127\.0\.0\.1/ });
  t.match(row(live, 'upstream http://dev:***@'), { status: 'pass', summary: 'healthy' });
  const dead = await run({ ...d, askDaemon: () => Promise.resolve(stopped) });
  t.match(firstFailure(dead.checks), {
    layer: 'corproxy',
    name: 'daemon',
    commands: ['corproxy serve'],
  });
  const elsewhere = goEnv(dir, { HTTPS_PROXY: '', https_proxy: '', NO_PROXY: '*' });
  const unused = await run(deps(config, elsewhere, { askDaemon: () => Promise.resolve(stopped) }));
  t.match(row(unused, 'daemon'), { status: 'warn', summary: /Go is not pointed at it/ });
});

t.test('layer 3: a DNS failure through the injected resolver', async (t) => {
  const dir = t.testdir();
  const up = await upstream(t);
  const asked: string[] = [];
  const lookup: NonNullable<NonNullable<DoctorDeps['dialDeps']>['lookup']> = (name, _o, cb) => {
    asked.push(name);
    if (name === 'proxy.corp.test') return cb(null, [{ address: '127.0.0.1', family: 4 }]);
    cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), '');
  };
  const good = await run(
    deps(configFor(dir, [`http://dev:pw@proxy.corp.test:${up.port}`]), goEnv(dir), {
      dialDeps: { lookup },
    }),
  );
  t.match(row(good, 'DNS upstream proxy.corp.test'), {
    status: 'pass',
    summary: /127\.0\.0\.1 \(resolver/,
  });
  t.match(row(good, `CONNECT ${at(GOPROXY_HOST)}`), { status: 'pass' });
  const bad = await run(
    deps(configFor(dir, [`http://dev:pw@gone.corp.test:${up.port}`]), goEnv(dir), {
      dialDeps: { lookup },
    }),
  );
  t.match(firstFailure(bad.checks), {
    layer: 'dns',
    summary: 'gone.corp.test does not resolve (ENOTFOUND)',
    code: 'CPX_ERR_UPSTREAM_DNS',
  });
  t.match(row(bad, 'TCP upstream'), { status: 'skip' });
  t.match(row(bad, `TLS ${at(GOPROXY_HOST)}`), { status: 'skip', summary: /layer 4/ });
  t.match(row(bad, `${MODULE}/@v/list`), { status: 'skip' });
  t.ok(asked.includes('gone.corp.test'), 'the injected resolver was asked');
});

t.test('layer 4: nothing listens on the upstream port', async (t) => {
  const dir = t.testdir();
  const r = await run(deps(configFor(dir, ['http://127.0.0.1:1']), goEnv(dir)));
  t.match(firstFailure(r.checks), {
    layer: 'tcp',
    name: 'TCP upstream 127.0.0.1:1',
    code: 'CPX_ERR_UPSTREAM_UNREACHABLE',
  });
  t.match(row(r, 'DNS upstream 127.0.0.1'), { status: 'pass' });
  t.match(row(r, `CONNECT ${at(GOPROXY_HOST)}`), { status: 'skip' });
});

t.test('layer 5: 407 with schemes, wrong password, refusal, hang, garbage', async (t) => {
  const dir = t.testdir();
  const cases: Array<[UpstreamMode, string, RegExp, string]> = [
    ['407', '', /requires authentication \(407; offers NTLM, Basic\)/, 'CPX_ERR_UPSTREAM_AUTH'],
    ['ok', 'dev:wrong@', /rejected the credentials of user "dev"/, 'CPX_ERR_UPSTREAM_AUTH'],
    [
      'refuse',
      'dev:pw@',
      /refused CONNECT .* \(403 Forbidden by policy\)/,
      'CPX_ERR_UPSTREAM_REFUSED',
    ],
    ['hang', 'dev:pw@', /did not answer|timed out|no answer/, 'CPX_ERR_UPSTREAM_TIMEOUT'],
    ['garbage', 'dev:pw@', /./, 'CPX_ERR_UPSTREAM_PROTOCOL'],
  ];
  for (const [mode, auth, summary, code] of cases) {
    const up = await upstream(t, mode);
    up.schemes = ['NTLM', 'Basic realm="corp"'];
    const r = await run(deps(configFor(dir, [`http://${auth}127.0.0.1:${up.port}`]), goEnv(dir)));
    t.match(firstFailure(r.checks), { layer: 'connect', summary, code }, mode);
    t.match(row(r, `TLS ${at(GOPROXY_HOST)}`), { status: 'skip' }, `${mode}: TLS skipped`);
  }
});

t.test('layer 5: the NTLM scheme that got through is reported', async (t) => {
  const dir = t.testdir();
  const up = await startFakeNtlmUpstream(t, { user: 'alice', domain: 'CORP', password: 'pw1' });
  const r = await run(
    deps(configFor(dir, [`http://CORP%5Calice:pw1@127.0.0.1:${up.port}`]), goEnv(dir)),
  );
  t.match(row(r, `CONNECT ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /authenticated with NTLM/,
  });
});

t.test('layer 6: interception, before and after Go trusts the corporate CA', async (t) => {
  const dir = t.testdir();
  const pki = makeInterceptorPki('Zscaler Root CA', 'Zscaler Inc.');
  const proxy = await startFakeInterceptor({
    resolve: { [GOPROXY_HOST]: '127.0.0.1', [SUM_HOST]: '127.0.0.1' },
    originCa: [publicCa.certPem],
    pki,
    chain: 'root',
  });
  t.teardown(() => proxy.close());
  const config = configFor(dir, [`http://127.0.0.1:${proxy.port}`]);
  const r = await run(deps(config, goEnv(dir)));
  const first = firstFailure(r.checks);
  t.match(first, {
    layer: 'tls',
    summary: /intercepted by CN=Zscaler Root CA.*\(Zscaler\).*unknown authority/,
  });
  t.match(first?.commands, [`corproxy trust ${at(GOPROXY_HOST)}`, /^export SSL_CERT_FILE=/]);
  const both = join(dir, 'both.pem');
  writeFileSync(both, publicCa.certPem + pki.root.certPem);
  const ok = await run(deps(config, goEnv(dir, { SSL_CERT_FILE: both })));
  t.match(row(ok, `TLS ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /^intercepted by CN=Zscaler Root CA/,
  });
  t.equal(firstFailure(ok.checks), undefined, 'with the CA trusted, nothing fails');

  const up = await upstream(t);
  const other = join(dir, 'other.pem');
  writeFileSync(other, makeCa({ cn: 'Unrelated Root' }).certPem);
  const lacking = await run(
    deps(
      configFor(dir, [`http://dev:pw@127.0.0.1:${up.port}`]),
      goEnv(dir, { SSL_CERT_FILE: other }),
    ),
  );
  t.match(firstFailure(lacking.checks), {
    layer: 'tls',
    summary: /clean chain, but Go's roots lack/,
  });
});

t.test('layer 7: 404 and 410 fall through on ",", 500 stops, "|" falls through', async (t) => {
  const dir = t.testdir();
  const config = configFor(dir, []);
  const list = (sep: string): Record<string, string> =>
    goEnv(dir, {
      GOPROXY: `https://${GOPROXY_HOST}:${port}/a${sep}https://${GOPROXY_HOST}:${port}/b`,
    });
  for (const status of [404, 410]) {
    statuses.set('a', status);
    const r = await run(deps(config, list(',')));
    t.match(
      row(r, `${MODULE}/@v/list`),
      { status: 'pass', evidence: [new RegExp(`/a/.*: ${status}`), /\/b\/.*: 200/] },
      `${status}`,
    );
  }
  statuses.set('a', 500);
  served.length = 0;
  const stop = await run(deps(config, list(',')));
  t.match(firstFailure(stop.checks), {
    layer: 'goproxy',
    summary: /\/a\/example\.test\/hello\/@v\/list: 500 Internal Server Error/,
  });
  t.notOk(
    served.some((p) => p.startsWith('/b/')),
    'go stops at the 500',
  );
  const pipe = await run(deps(config, list('|')));
  t.match(row(pipe, `${MODULE}/@v/list`), { status: 'pass' });
  statuses.set('sum', 410);
  const sum = await run(deps(config, list('|')));
  t.match(firstFailure(sum.checks), {
    name: `checksum database for ${MODULE}`,
    summary: /410 Gone/,
  });
  t.match(row(sum, `route ${at(GOPROXY_HOST)}`), { summary: 'direct' });
  t.match(row(sum, `DNS target ${GOPROXY_HOST}`), { status: 'pass', summary: /hosts map/ });
});

t.test(
  'the command: table, summary naming the first failing layer, commands, exit code',
  async (t) => {
    const dir = t.testdir();
    const up = await upstream(t, '407');
    const config = configFor(dir, [`http://127.0.0.1:${up.port}`]);
    const out: string[] = [];
    const cli: DoctorCliDeps = {
      ...deps(config, goEnv(dir)),
      loadConfig: () => config,
      fallbackConfig: () => config,
      print: (s) => void out.push(s),
      tty: false,
    };
    const { exitCode } = await runDoctorCommand({ targets: [MODULE] }, cli);
    t.equal(exitCode, 69, 'an upstream that wants credentials exits 69');
    const text = out.join('');
    t.match(text, /^# +LAYER +CHECK +RESULT DETAIL$/m);
    t.match(
      text,
      /^5 connect +CONNECT goproxy\.example\.test:\d+ +FAIL +upstream 127\.0\.0\.1:\d+ requires/m,
    );
    t.match(
      text,
      /^FAIL at layer 5 \(CONNECT through the upstream\): CONNECT .* — fix: give corproxy a user and password/m,
    );
    t.match(text, /Commands to paste:\n {2}export CORPROXY_UPSTREAM_USER="\$USER"/);
    t.notOk(text.includes('\u001b['), 'no colours off a terminal');
    out.length = 0;
    await runDoctorCommand({ targets: [MODULE] }, { ...cli, tty: true });
    t.ok(out.join('').includes('\u001b[31mFAIL\u001b[0m'), 'colours on a terminal');
  },
);

t.test('GOPROXY at corproxy’s mirror: its upstreams are checked with its roots', async (t) => {
  const dir = t.testdir();
  const up = await upstream(t);
  const state = join(dir, 'state');
  mkdirSync(state, { recursive: true });
  const mirror = {
    upstream: `https://${GOPROXY_HOST}:${port}/a`,
    sumdb: [`${SUM_HOST} https://${SUM_HOST}:${port}/sum`],
  };
  const flags = { upstream: [`http://dev:pw@127.0.0.1:${up.port}`], hosts: HOSTS, stateDir: state };
  const on = { CORPROXY_MIRROR: 'true' };
  const daemon = await startCorproxy(t, flags, { file: { mirror }, env: on });
  const config = testConfig({ ...flags, listen: [`127.0.0.1:${daemon.port}`] }, on, {
    mirror,
    probe: { watch: [], extraPublicRoots: join(dir, 'public.pem') },
    limits: { connectTimeout: '1s' },
  });
  const env = goEnv(dir, {
    HTTPS_PROXY: '',
    https_proxy: '',
    GOPROXY: `http://127.0.0.1:${daemon.port}/mod/`,
    GOSUMDB: `${SUM_HOST}+01234567+AAAA`,
  });
  const d = { ...deps(config, env), askDaemon: undefined };
  const untrusted = await run(d);
  t.match(firstFailure(untrusted.checks), {
    layer: 'tls',
    name: `TLS ${at(GOPROXY_HOST)}`,
    summary: /the mirror's roots/,
    commands: [`corproxy trust ${at(GOPROXY_HOST)}`],
  });
  t.match(row(untrusted, `${MODULE}/@v/list`), { status: 'fail' }, 'go sees the mirror fail too');
  writeFileSync(join(state, 'ca-bundle.pem'), publicCa.certPem);
  const r = await run(d);
  t.equal(firstFailure(r.checks), undefined, 'with the bundle, nothing fails');
  t.match(row(r, 'module mirror'), { status: 'pass' });
  t.match(row(r, `TLS ${at(GOPROXY_HOST)}`), {
    status: 'pass',
    summary: /the mirror's roots verify/,
  });
  t.match(row(r, `${MODULE}/@v/list`), {
    status: 'pass',
    evidence: [/\/mod\/example\.test\/hello\/@v\/list: 200/],
  });
  t.match(row(r, `checksum database for ${MODULE}`), {
    status: 'pass',
    evidence: [
      /supported: 200/,
      /serves the checksum database/,
      /\/mod\/sumdb\/sum\.example\.test\/lookup\//,
    ],
  });
  const sumConnect = row(r, `CONNECT ${SUM_HOST}:443`);
  t.equal(sumConnect.status, 'warn', 'go never dials the sumdb itself: a warning');
  t.ok(
    sumConnect.evidence.some((e) => /through a GOPROXY entry/.test(e)),
    'and why',
  );
  t.notOk(
    r.checks.some((c) => c.name.startsWith('Go route to') && c.name.includes(GOPROXY_HOST)),
    'go itself contacts only the mirror',
  );
});
