/** What a person reads: table, details, summary line, commands; and the JSON. */
import t from 'tap';
import { renderReport, reportJson, summaryLine } from '../../../src/doctor/render.js';
import { check, commandsToPaste, type DoctorReport } from '../../../src/doctor/types.js';

const checks = [
  check('env', 'GOPROXY', 'pass', '1 module proxy'),
  check('env', 'proxy variables: Go vs curl/git', 'warn', 'they differ', {
    fix: 'set both',
    commands: ['export A=1', 'export B=2'],
  }),
  check(
    'connect',
    'CONNECT proxy.golang.org:443',
    'fail',
    'upstream p:1 requires authentication (407; offers NTLM)',
    {
      evidence: ['via http://p:1: CPX_ERR_UPSTREAM_AUTH (2 ms)'],
      fix: 'give corproxy a user',
      commands: ['export B=2', 'read x'],
      code: 'CPX_ERR_UPSTREAM_AUTH',
    },
  ),
  check(
    'tls',
    'TLS proxy.golang.org:443',
    'skip',
    'CONNECT failed for proxy.golang.org:443 (layer 5)',
  ),
  check('goproxy', 'golang.org/x/text/@v/list', 'fail', 'a second failure\u001b[2J'),
];
const report: DoctorReport = {
  modules: ['golang.org/x/text'],
  urls: [],
  goproxy: 'https://proxy.golang.org,direct',
  gosumdb: 'sum.golang.org',
  goSettingsFrom: 'go env',
  daemonRunning: false,
  checks,
};

t.test('the table, the details of WARN and FAIL, the summary, the commands', async (t) => {
  const lines = renderReport(report, { color: false });
  t.equal(
    lines[0],
    'corproxy doctor: golang.org/x/text; GOPROXY=https://proxy.golang.org,direct (from go env); daemon not running',
  );
  t.equal(lines[2], '# LAYER    CHECK                                  RESULT DETAIL');
  t.equal(lines[3], '1 env      GOPROXY                                PASS   1 module proxy');
  t.equal(
    lines[5],
    '5 connect  CONNECT proxy.golang.org:443           FAIL   upstream p:1 requires authentication (407; offers NTLM)',
  );
  t.equal(
    lines[6],
    '6 tls      TLS proxy.golang.org:443               SKIP   CONNECT failed for proxy.golang.org:443 (layer 5)',
  );
  const text = lines.join('\n');
  t.match(
    text,
    '[5] CONNECT proxy.golang.org:443: FAIL\n    upstream p:1 requires authentication (407; offers NTLM)\n    · via http://p:1: CPX_ERR_UPSTREAM_AUTH (2 ms)\n    fix: give corproxy a user',
  );
  t.notMatch(text, /\[6\]/, 'no details for a skip');
  t.notOk(text.includes('\u001b'), 'no escape codes, not even from a hostile server');
  t.match(
    text,
    /^FAIL at layer 5 \(CONNECT through the upstream\): CONNECT proxy\.golang\.org:443: upstream p:1 requires authentication \(407; offers NTLM\) — fix: give corproxy a user \(1 passed, 1 warning\(s\), 2 failed, 1 skipped\)$/m,
  );
  t.match(
    text,
    /Commands to paste:\n {2}export B=2\n {2}read x\n {2}export A=1$/,
    'failures first, each once',
  );
});

t.test('colours only when asked, without shifting the columns', async (t) => {
  const lines = renderReport(report, { color: true });
  t.equal(
    lines[3],
    '1 env      GOPROXY                                \u001b[32mPASS\u001b[0m   1 module proxy',
  );
  t.ok(lines[5]?.includes('\u001b[31mFAIL\u001b[0m   upstream'));
  t.ok(lines[6]?.includes('\u001b[2mSKIP\u001b[0m'));
});

t.test('nothing failed', async (t) => {
  t.equal(
    summaryLine([checks[0]!, checks[1]!]),
    'OK: nothing failed (1 passed, 1 warning(s), 0 failed, 0 skipped)',
  );
  const ok = renderReport({ ...report, checks: [checks[0]!] }, { color: false });
  t.notMatch(ok.join('\n'), /Commands to paste/);
  t.same(commandsToPaste([checks[0]!]), []);
});

t.test('--json', async (t) => {
  const doc = reportJson(report);
  t.match(doc, {
    ok: false,
    firstFailure: {
      layer: 5,
      layerId: 'connect',
      title: 'CONNECT through the upstream',
      check: 'CONNECT proxy.golang.org:443',
      fix: 'give corproxy a user',
      code: 'CPX_ERR_UPSTREAM_AUTH',
    },
    counts: { pass: 1, warn: 1, fail: 2, skip: 1 },
    commands: ['export B=2', 'read x', 'export A=1'],
    daemonRunning: false,
  });
  t.match((doc.checks as unknown[])[0], {
    layer: 1,
    layerId: 'env',
    name: 'GOPROXY',
    status: 'pass',
    evidence: [],
  });
  t.match(reportJson({ ...report, checks: [checks[0]!] }), { ok: true, firstFailure: null });
  t.same(JSON.parse(JSON.stringify(doc)), doc, 'plain JSON');
});
