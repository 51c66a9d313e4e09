import t from 'tap';
import { parseStatusDocument, type StatusDocument } from '../../../src/inspect/status-document.js';
import { renderStatus } from '../../../src/inspect/status-render.js';

const FULL = {
  name: 'corproxy',
  version: '0.1.0',
  pid: 4242,
  startedAt: '2026-11-21T05:30:00.000Z',
  uptimeSeconds: 7512,
  listen: ['127.0.0.1:3129', '[::1]:3129'],
  upstreams: [
    {
      url: 'http://proxy.corp.example:8080',
      healthy: false,
      badUntil: '2026-11-21T07:35:00.000Z',
      lastError: 'connection refused',
    },
    { url: 'http://***:***@backup.corp.example:3128', healthy: true },
  ],
  fallback: 'none',
  pac: {
    source: 'http://wpad.corp.example/proxy.pac',
    state: 'ok',
    loadedAt: '2026-11-21T05:30:01.000Z',
    failures: 0,
  },
  network: { state: 'on', since: '2026-11-21T05:30:00.000Z', reason: 'start', epoch: 0 },
  direct: ['.corp.example', '10.0.0.0/8'],
  directModules: ['github.com/corp/*'],
  openConnections: 3,
  openTunnels: 2,
  totals: { connections: 1234, errors: 5, bytesUp: 1200000, bytesDown: 45600000 },
  errors: { CPX_ERR_UPSTREAM_AUTH: 2, CPX_ERR_TARGET_DNS: 3 },
  configSources: ['defaults', '/home/u/.config/corproxy/config.yaml', 'environment'],
  stateDir: '/home/u/.local/state/corproxy',
  logFile: '/home/u/.local/state/corproxy/connections.log',
  interception: [
    {
      host: 'proxy.golang.org',
      port: 443,
      route: 'upstream',
      upstream: 'proxy.corp.example:8080',
      verdict: 'intercepted',
      vendor: 'Zscaler',
    },
    { host: 'github.com', port: 443, route: 'direct', verdict: 'clean' },
  ],
  bundle: {
    path: '/home/u/.local/state/corproxy/ca-bundle.pem',
    present: true,
    approved: [{ sha256: 'AB:CD:EF:01:23:45:67:89:AB:CD', subject: 'CN=Corp Root CA' }],
    preApproved: [],
    ageSeconds: 90000,
  },
  mirror: { cached: 12 },
};

function doc(extra: Record<string, unknown> = {}): StatusDocument {
  const parsed = parseStatusDocument(JSON.stringify({ ...FULL, ...extra }));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

t.test('parseStatusDocument keeps what it knows and refuses what is not corproxy', async (t) => {
  const d = doc({
    upstreams: [{ url: 'http://a:1', healthy: true }, { nope: 1 }, 'x'],
    listen: ['a:1', 2],
  });
  t.equal(d.upstreams.length, 1, 'malformed upstream entries dropped');
  t.strictSame(d.listen, ['a:1']);
  t.equal(parseStatusDocument('<html>'), 'the answer is not JSON');
  t.equal(
    parseStatusDocument('{"name":"squid"}'),
    'the answer is JSON but not a corproxy status document',
  );
  t.equal(parseStatusDocument('[]'), 'the answer is JSON but not a corproxy status document');
  t.equal(
    parseStatusDocument('{"name":"corproxy"}'),
    'the answer is JSON but not a corproxy status document',
  );
  const minimal = parseStatusDocument('{"name":"corproxy","version":"9"}');
  t.match(minimal, { version: '9', listen: [], upstreams: [] });
});

t.test('the block names every section in 80 columns', async (t) => {
  const lines = renderStatus(doc());
  const text = lines.join('\n');
  for (const line of lines) t.ok(Array.from(line).length <= 80, line);
  t.equal(lines[0], 'corproxy 0.1.0, pid 4242, up 2h05m (since 2026-11-21T05:30:00Z)');
  t.match(text, /^listen {6}127\.0\.0\.1:3129, \[::1\]:3129$/m);
  t.match(
    text,
    /^upstreams {3}1\. http:\/\/proxy\.corp\.example:8080 {2}BAD until 2026-11-21T07:35:00Z$/m,
  );
  t.match(text, /^ {15}connection refused$/m);
  t.match(text, /^ {12}2\. http:\/\/\*\*\*:\*\*\*@backup\.corp\.example:3128 {2}healthy$/m);
  t.match(text, /^fallback {4}none$/m);
  t.match(
    text,
    /^direct {6}\.corp\.example, 10\.0\.0\.0\/8\n {12}GOPRIVATE globs: github\.com\/corp\/\*$/m,
  );
  t.match(text, /^open {8}3 connections, 2 tunnels$/m);
  t.match(text, /^totals {6}1234 connections, 5 errors, 1\.1M up, 43M down$/m);
  t.match(
    text,
    /^errors {6}CPX_ERR_TARGET_DNS 3\n {12}CPX_ERR_UPSTREAM_AUTH 2$/m,
    'most frequent first',
  );
  t.match(text, /^tls {9}proxy\.golang\.org:443 {2}intercepted \(Zscaler\) via upstream$/m);
  t.match(text, /^ {12}github\.com:443 {2}clean via direct$/m);
  t.match(
    text,
    /^bundle {6}\/home\/u\/\.local\/state\/corproxy\/ca-bundle\.pem\n {12}1 corporate CA, written 1d01h ago$/m,
  );
  t.match(text, /^ {12}CN=Corp Root CA AB:CD:EF:01:23:45:67:89$/m);
  t.match(
    text,
    /^pac {9}http:\/\/wpad\.corp\.example\/proxy\.pac {2}ok, loaded 2026-11-21T05:30:01Z$/m,
  );
  t.match(text, /^network {5}on the corporate network since 2026-11-21T05:30:00Z \(start\)$/m);
  t.match(text, /^mirror {6}cached: 12$/m, 'unknown sections as key: value');
  t.match(text, /^config {6}defaults, \/home\/u\/\.config\/corproxy\/config\.yaml, environment$/m);
  t.match(text, /^log {9}\/home\/u\/\.local\/state\/corproxy\/connections\.log$/m);
});

t.test('missing and empty sections read sensibly', async (t) => {
  const text = renderStatus(
    doc({
      upstreams: [],
      pac: null,
      errors: {},
      interception: [],
      bundle: { path: '/x', present: false, approved: [], preApproved: [] },
      logFile: '',
      mirror: 'on',
    }),
  ).join('\n');
  t.match(text, /^upstreams {3}none \(every target direct\)$/m);
  t.notMatch(text, /^pac/m);
  t.notMatch(text, /^errors/m);
  t.match(text, /^tls {9}no host probed yet$/m);
  t.match(text, /^bundle {6}not written yet: run `corproxy trust`/m);
  t.match(text, /^log {9}off$/m);
  t.match(text, /^mirror {6}"on"$/m);
  const bare = renderStatus(
    doc({
      pid: undefined,
      uptimeSeconds: undefined,
      totals: undefined,
      interception: undefined,
      bundle: undefined,
      network: undefined,
      configSources: undefined,
      logFile: undefined,
      stateDir: undefined,
      mirror: undefined,
    }),
  );
  t.equal(bare[0], 'corproxy 0.1.0');
  t.ok(bare.includes('config      built-in defaults'));
  t.notOk(bare.some((l) => l.startsWith('log')));
  const keyed = renderStatus(
    doc({ interception: { 'a.test': 'clean', 'b.test': { verdict: 'blocked' } } }),
  ).join('\n');
  t.match(keyed, /a\.test {2}clean\n {12}b\.test {2}blocked/);
});

t.test('hostile strings cannot drive the terminal', async (t) => {
  const lines = renderStatus(
    doc({ version: '1\x1b[2J', upstreams: [{ url: 'http://a\x07:1', healthy: true }] }),
  );
  const all = lines.join('');
  t.notOk(all.includes('\x1b') || all.includes('\x07'), 'no ESC, no BEL');
  t.match(lines[0], /^corproxy 1\?\[2J/);
});
