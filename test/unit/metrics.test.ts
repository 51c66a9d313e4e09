import t from 'tap';
import type { ConnectionRecord } from '../../src/events.js';
import { Metrics, renderPrometheus, type Gauge } from '../../src/metrics.js';

function rec(over: Partial<ConnectionRecord> = {}): ConnectionRecord {
  return {
    time: '2026-01-01T00:00:00.000Z',
    id: 1,
    client: '127.0.0.1:50000',
    method: 'CONNECT',
    target: 'example.com:443',
    route: 'upstream',
    rule: 'default: upstream list',
    status: 200,
    outcome: 'ok',
    bytesUp: 0,
    bytesDown: 0,
    durationMs: 5,
    ...over,
  };
}

// ---------------------------------------------------------------------------------------
// A small validator for the Prometheus text exposition format 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): HELP/TYPE at most once per
// family and before its samples, one contiguous group per family, valid names, label
// values escaped with only \\, \" and \n, numeric values, no duplicate series.

interface Sample {
  readonly labels: Record<string, string>;
  readonly value: number;
}
interface Family {
  help?: string;
  type?: string;
  readonly samples: Sample[];
}
interface Exposition {
  readonly errors: string[];
  readonly families: Map<string, Family>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const VALUE = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|NaN|[+-]Inf)$/;

/** HELP docstrings escape only backslash and newline. */
function unescapeHelp(text: string): string | undefined {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      out += text[i];
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else return undefined;
  }
  return out;
}

/** Parses `{a="x",b="y"}` at the start of text; returns labels and the length consumed. */
function parseLabels(text: string): { labels: Record<string, string>; used: number } | string {
  const labels: Record<string, string> = {};
  let i = 1;
  while (text[i] !== '}') {
    const name = LABEL_NAME.exec(text.slice(i))?.[0];
    if (name === undefined) return `bad label name at ${JSON.stringify(text.slice(i))}`;
    if (name in labels) return `duplicate label ${name}`;
    i += name.length;
    if (text.slice(i, i + 2) !== '="') return `label ${name} lacks ="`;
    i += 2;
    let value = '';
    for (;;) {
      const c = text[i];
      if (c === undefined) return `unterminated value of label ${name}`;
      i++;
      if (c === '"') break;
      if (c !== '\\') {
        value += c;
        continue;
      }
      const e = text[i++];
      if (e === '\\') value += '\\';
      else if (e === '"') value += '"';
      else if (e === 'n') value += '\n';
      else return `bad escape \\${e ?? ''} in label ${name}`;
    }
    labels[name] = value;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') return `expected , or } after label ${name}`;
  }
  return { labels, used: i + 1 };
}

function sampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function parseExposition(text: string): Exposition {
  const errors: string[] = [];
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: string | undefined;
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { samples: [] }));
    return f;
  };
  const enter = (name: string, where: string): void => {
    if (name === current) return;
    if (current !== undefined) closed.add(current);
    if (closed.has(name)) errors.push(`${where}: family ${name} is split into two groups`);
    current = name;
  };
  if (!text.endsWith('\n')) errors.push('output does not end with a newline');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, n) => {
    const where = `line ${n + 1}`;
    if (line.trim() === '') return;
    const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
    if (meta) {
      const [, kind, name = '', rest = ''] = meta;
      if (METRIC_NAME.exec(name)?.[0] !== name) errors.push(`${where}: bad metric name ${name}`);
      enter(name, where);
      const f = family(name);
      if (f.samples.length > 0) errors.push(`${where}: ${kind} for ${name} after its samples`);
      if (kind === 'HELP') {
        if (f.help !== undefined) errors.push(`${where}: second HELP for ${name}`);
        const help = unescapeHelp(rest);
        if (help === undefined) errors.push(`${where}: bad escape in HELP for ${name}`);
        f.help = help ?? rest;
      } else {
        if (f.type !== undefined) errors.push(`${where}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) errors.push(`${where}: unknown type ${rest}`);
        f.type = rest;
      }
      return;
    }
    if (line.startsWith('#')) return;
    const name = METRIC_NAME.exec(line)?.[0];
    if (name === undefined) {
      errors.push(`${where}: not a sample: ${JSON.stringify(line)}`);
      return;
    }
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest);
      if (typeof parsed === 'string') {
        errors.push(`${where}: ${parsed}`);
        return;
      }
      labels = parsed.labels;
      rest = rest.slice(parsed.used);
    }
    const fields = rest.split(' ');
    if (fields[0] !== '' || fields.length < 2 || fields.length > 3 || !VALUE.test(fields[1]!)) {
      errors.push(`${where}: bad value part ${JSON.stringify(rest)}`);
      return;
    }
    enter(name, where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) errors.push(`${where}: duplicate series ${key}`);
    series.add(key);
    family(name).samples.push({ labels, value: sampleValue(fields[1]!) });
  });
  return { errors, families };
}

function valueOf(ex: Exposition, name: string, labels: Record<string, string> = {}): unknown {
  const want = JSON.stringify(Object.entries(labels).sort());
  return ex.families
    .get(name)
    ?.samples.find((s) => JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

t.test('the validator itself rejects broken expositions', async (t) => {
  const bad: ReadonlyArray<readonly [string, RegExp]> = [
    ['a 1', /newline/],
    ['# TYPE a gauge\n# TYPE a gauge\na 1\n', /second TYPE/],
    ['# HELP a x\n# HELP a y\na 1\n', /second HELP/],
    ['a 1\n# TYPE a gauge\n', /TYPE for a after its samples/],
    ['# TYPE a wobble\na 1\n', /unknown type/],
    ['a 1\nb 2\na{x="1"} 3\n', /split/],
    ['a{x="1"} 1\na{x="1"} 2\n', /duplicate series/],
    ['a{x="\\t"} 1\n', /bad escape/],
    ['a{x="1} 1\n', /unterminated|expected/],
    ['a{1x="1"} 1\n', /bad label name/],
    ['a{x="1",x="2"} 1\n', /duplicate label/],
    ['a one\n', /bad value/],
    ['9a 1\n', /not a sample/],
    ['# HELP a bad \\t escape\na 1\n', /bad escape in HELP/],
  ];
  for (const [text, why] of bad) {
    const { errors } = parseExposition(text);
    t.match(errors.join('\n'), why, JSON.stringify(text));
  }
  const good = parseExposition(
    '# HELP a A \\\\ \\n help.\n# TYPE a gauge\na{x="q\\"\\\\\\n"} +Inf\na{x=""} -1.5e3 1700000000\n',
  );
  t.same(good.errors, []);
  t.equal(good.families.get('a')?.help, 'A \\ \n help.');
  t.same(good.families.get('a')?.samples, [
    { labels: { x: 'q"\\\n' }, value: Infinity },
    { labels: { x: '' }, value: -1500 },
  ]);
});

t.test('record counts connections per kind, route and outcome', async (t) => {
  const m = new Metrics();
  m.record(rec());
  m.record(rec({ id: 2 }));
  m.record(rec({ route: 'direct' }));
  m.record(rec({ method: 'GET', route: 'direct' }));
  m.record(rec({ method: 'POST', route: 'upstream', outcome: 'timeout' }));
  m.record(rec({ method: 'GET', route: 'local' }));
  m.record(rec({ outcome: 'client-closed' }));
  t.same(
    Object.fromEntries(m.connections),
    {
      'connect|upstream|ok': 2,
      'connect|direct|ok': 1,
      'forward|direct|ok': 1,
      'forward|upstream|timeout': 1,
      'local|local|ok': 1,
      'connect|upstream|client-closed': 1,
    },
    'CONNECT is "connect", local-route requests "local", other methods "forward"',
  );
  t.same(Object.fromEntries(m.errors), {}, 'no error counted without an error');
});

t.test('record counts errors by code and sums bytes', async (t) => {
  const m = new Metrics();
  const auth = { code: 'CPX_ERR_UPSTREAM_AUTH', message: 'upstream p requires authentication' };
  m.record(rec({ outcome: 'error', status: 502, error: auth, bytesUp: 10, bytesDown: 0 }));
  m.record(rec({ outcome: 'error', status: 502, error: auth, bytesUp: 5, bytesDown: 7 }));
  const dns = { code: 'CPX_ERR_TARGET_DNS', message: 'no such host' };
  m.record(rec({ route: 'direct', outcome: 'error', status: 502, error: dns }));
  m.record(rec({ bytesUp: 1000, bytesDown: 250_000 }));
  t.same(Object.fromEntries(m.errors), { CPX_ERR_UPSTREAM_AUTH: 2, CPX_ERR_TARGET_DNS: 1 });
  t.same(Object.fromEntries(m.connections), {
    'connect|upstream|error': 2,
    'connect|direct|error': 1,
    'connect|upstream|ok': 1,
  });
  t.equal(m.bytesUp, 1015);
  t.equal(m.bytesDown, 250_007);
  t.same(m.totals(), { connections: 4, errors: 3, bytesUp: 1015, bytesDown: 250_007 });
  t.same(new Metrics().totals(), { connections: 0, errors: 0, bytesUp: 0, bytesDown: 0 });
});

t.test('renderPrometheus output is valid and carries the counts', async (t) => {
  const m = new Metrics();
  m.record(rec({ bytesUp: 3, bytesDown: 4 }));
  m.record(rec({ bytesUp: 3, bytesDown: 4 }));
  m.record(
    rec({ method: 'GET', route: 'direct', outcome: 'error', error: { code: 'X', message: '' } }),
  );
  m.openConnections = 7;
  m.openTunnels = 2;
  const text = renderPrometheus(m, [
    { name: 'corproxy_uptime_seconds', help: 'Seconds since start.', value: 42 },
    {
      name: 'corproxy_upstream_healthy',
      help: 'Health.',
      value: 1,
      labels: { upstream: 'a.corp:8080' },
    },
    {
      name: 'corproxy_upstream_healthy',
      help: 'Health.',
      value: 0,
      labels: { upstream: 'b.corp:8080' },
    },
  ]);
  const ex = parseExposition(text);
  t.same(ex.errors, [], 'no format errors');
  const types = Object.fromEntries([...ex.families].map(([name, f]) => [name, f.type]));
  t.same(types, {
    corproxy_connections_total: 'counter',
    corproxy_errors_total: 'counter',
    corproxy_bytes_total: 'counter',
    corproxy_open_connections: 'gauge',
    corproxy_open_tunnels: 'gauge',
    corproxy_uptime_seconds: 'gauge',
    corproxy_upstream_healthy: 'gauge',
  });
  for (const [name, f] of ex.families) t.ok(f.help && f.help.length > 0, `${name} has HELP`);
  const conn = { kind: 'connect', route: 'upstream', outcome: 'ok' };
  t.equal(valueOf(ex, 'corproxy_connections_total', conn), 2);
  const fwd = { kind: 'forward', route: 'direct', outcome: 'error' };
  t.equal(valueOf(ex, 'corproxy_connections_total', fwd), 1);
  t.equal(ex.families.get('corproxy_connections_total')?.samples.length, 2);
  t.equal(valueOf(ex, 'corproxy_errors_total', { code: 'X' }), 1);
  t.equal(valueOf(ex, 'corproxy_bytes_total', { direction: 'up' }), 6);
  t.equal(valueOf(ex, 'corproxy_bytes_total', { direction: 'down' }), 8);
  t.equal(valueOf(ex, 'corproxy_open_connections'), 7);
  t.equal(valueOf(ex, 'corproxy_open_tunnels'), 2);
  t.equal(valueOf(ex, 'corproxy_uptime_seconds'), 42);
  t.equal(valueOf(ex, 'corproxy_upstream_healthy', { upstream: 'a.corp:8080' }), 1);
  t.equal(valueOf(ex, 'corproxy_upstream_healthy', { upstream: 'b.corp:8080' }), 0);
  t.equal(text.match(/^# HELP corproxy_upstream_healthy /gm)?.length, 1, 'HELP once');
  t.equal(text.match(/^# TYPE corproxy_upstream_healthy /gm)?.length, 1, 'TYPE once');
});

t.test('renderPrometheus of empty metrics is valid with zeroes', async (t) => {
  const ex = parseExposition(renderPrometheus(new Metrics()));
  t.same(ex.errors, []);
  t.same(ex.families.get('corproxy_connections_total')?.samples, []);
  t.same(ex.families.get('corproxy_errors_total')?.samples, []);
  t.equal(valueOf(ex, 'corproxy_bytes_total', { direction: 'up' }), 0);
  t.equal(valueOf(ex, 'corproxy_open_tunnels'), 0);
});

t.test('label values escape backslash, double quote and newline', async (t) => {
  const nasty = [
    'C:\\corp\\proxy',
    'say "hi"',
    'two\nlines',
    '\\"\n',
    '\\n is not a newline',
    'trailing backslash\\',
    'ünïcödé ✓',
    '',
  ];
  const gauges: Gauge[] = nasty.map((v, i) => ({
    name: 'corproxy_test_label',
    help: 'Escaping test.',
    value: i,
    labels: { v },
  }));
  const m = new Metrics();
  m.errors.set('CPX_ERR_"odd"\\\ncode', 1);
  const text = renderPrometheus(m, gauges);
  const ex = parseExposition(text);
  t.same(ex.errors, [], 'still valid');
  t.same(
    ex.families.get('corproxy_test_label')?.samples.map((s) => s.labels.v),
    nasty,
    'every value parses back to the original',
  );
  t.equal(valueOf(ex, 'corproxy_errors_total', { code: 'CPX_ERR_"odd"\\\ncode' }), 1);
  t.notOk(/two\nlines/.test(text), 'no raw newline inside a label value');
});

t.test('renderPrometheus keeps one group per family for any gauge order', async (t) => {
  const g = (name: string, value: number, labels?: Record<string, string>): Gauge => ({
    name,
    help: `${name} help`,
    value,
    ...(labels ? { labels } : {}),
  });
  const text = renderPrometheus(new Metrics(), [
    g('corproxy_a', 1, { u: '1' }),
    g('corproxy_b', 2),
    g('corproxy_a', 3, { u: '2' }),
  ]);
  const ex = parseExposition(text);
  t.same(ex.errors, [], 'samples of corproxy_a are contiguous', {});
  t.equal(valueOf(ex, 'corproxy_a', { u: '2' }), 3, 'no sample lost');
});

t.test('renderPrometheus escapes HELP text', async (t) => {
  const help = 'Backslash \\ and\nnewline.';
  const text = renderPrometheus(new Metrics(), [{ name: 'corproxy_h', help, value: 1 }]);
  const ex = parseExposition(text);
  const known = {};
  t.same(ex.errors, [], 'valid', known);
  t.equal(ex.families.get('corproxy_h')?.help, help, 'parses back', known);
});

t.test('an extra gauge cannot redeclare a built-in family', async (t) => {
  const text = renderPrometheus(new Metrics(), [
    { name: 'corproxy_open_tunnels', help: 'Again.', value: 1 },
  ]);
  t.same(parseExposition(text).errors, [], 'valid', {});
});
