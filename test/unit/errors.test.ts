import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import t from 'tap';
import {
  asCorproxyError,
  CorproxyError,
  ERROR_CODES,
  EXIT,
  formatHttpReply,
  isCorproxyError,
  sanitizeReason,
  statusOf,
  toExitCode,
  toHttpReply,
  type ErrorCode,
  type HttpReply,
} from '../../src/errors.js';
import { prng } from '../support/prng.js';

const DOC = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const CODES = ERROR_CODES.map(([code]) => code);
const SPEC = new Map(ERROR_CODES);

/** The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, text] of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(text!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The `## CPX_ERR_X` sections of the doc: code → text up to the next `## `. */
function sections(markdown: string): Array<[string, string]> {
  const parts = markdown.split(/^## /m).slice(1);
  return parts
    .map((p): [string, string] => [p.slice(0, p.indexOf('\n')).trim(), p])
    .filter(([heading]) => heading.startsWith('CPX_ERR_'));
}

/** A printable-ASCII label for a test name (TAP lines must stay one line). */
function show(text: string): string {
  return JSON.stringify(text).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

t.test('ERROR_CODES is well formed', async (t) => {
  t.ok(CODES.length >= 30, `${CODES.length} codes`);
  t.equal(new Set(CODES).size, CODES.length, 'no duplicates');
  const exits = new Set<number>(Object.values(EXIT));
  for (const [code, spec] of ERROR_CODES) {
    t.match(code, /^CPX_ERR_[A-Z0-9_]+$/, code);
    t.ok(STATUS_CODES[spec.status] !== undefined, `${code}: ${spec.status} is an HTTP status`);
    t.ok(spec.status >= 400 && spec.status <= 599, `${code}: an error status`);
    t.ok(exits.has(spec.exit) && spec.exit !== EXIT.OK, `${code}: exit ${spec.exit} is in EXIT`);
    t.ok(spec.summary.length > 0 && !/[\r\n]/.test(spec.summary), `${code}: one-line summary`);
  }
  t.ok(Object.isFrozen(ERROR_CODES) && Object.isFrozen(EXIT), 'frozen');
  // sysexits(3) values: service managers and scripts depend on them.
  t.same(EXIT, {
    OK: 0,
    FAILURE: 1,
    USAGE: 2,
    UNAVAILABLE: 69,
    SOFTWARE: 70,
    OSERR: 71,
    CONFIG: 78,
  });
});

t.test('docs/errors.md has one section per code, in declaration order', async (t) => {
  const documented = sections(DOC).map(([code]) => code);
  t.same(documented, CODES, 'headings match ERROR_CODES exactly and in order');
  const mentioned = new Set(DOC.match(/CPX_ERR_[A-Z0-9_]+/g) ?? []);
  const unknown = [...mentioned].filter((c) => !SPEC.has(c as ErrorCode));
  t.same(unknown, [], 'the doc names no code that does not exist');
});

t.test('each section states the status and exit code of its code', async (t) => {
  for (const [code, text] of sections(DOC)) {
    const spec = SPEC.get(code as ErrorCode);
    if (spec === undefined) {
      t.fail(`${code} is not a code`);
      continue;
    }
    const status = /^- \*\*HTTP status:\*\* (\d{3}) (.+)$/m.exec(text);
    t.equal(Number(status?.[1]), spec.status, `${code}: HTTP status`);
    t.equal(status?.[2], STATUS_CODES[spec.status], `${code}: standard status text`);
    const exit = /^- \*\*Exit code:\*\* (\d+)$/m.exec(text);
    t.equal(Number(exit?.[1]), spec.exit, `${code}: exit code`);
    t.match(text, /\*\*What it means\.\*\* \S/, `${code}: says what it means`);
    t.match(text, /\*\*What to do\.\*\* \S/, `${code}: says what to do`);
  }
});

t.test('the doc intro covers the header, the reason phrase and the exit codes', async (t) => {
  const intro = DOC.slice(0, DOC.indexOf('\n## CPX_ERR_'));
  t.match(intro, /X-Corproxy-Error/);
  t.match(intro, /reason phrase/);
  t.match(intro, /`go`/);
  const rows = new Map(
    [...intro.matchAll(/^\| (\d+) \| ([A-Z]+) \| .+ \|$/gm)].map((m) => [m[2], Number(m[1])]),
  );
  t.same(Object.fromEntries(rows), { ...EXIT }, 'the exit code table lists EXIT exactly');
  // The example reply in the intro is what toHttpReply + formatHttpReply produce.
  const example = /```http\n([\s\S]*?)```/.exec(intro)?.[1];
  const message =
    'upstream proxy.corp.example:8080 requires authentication (407; offers Negotiate, NTLM, Basic)';
  const wire = formatHttpReply(toHttpReply(new CorproxyError('CPX_ERR_UPSTREAM_AUTH', message)));
  t.equal(example, wire.replace(/\r\n/g, '\n'), 'the example reply is byte-exact');
});

t.test('every anchor the reply body links to is a heading of the doc', async (t) => {
  const have = anchors(DOC);
  for (const code of CODES) {
    const body = toHttpReply(new CorproxyError(code, 'x')).body;
    const link = /See docs\/errors\.md#(\S+)\n$/.exec(body)?.[1];
    t.equal(link, code.toLowerCase(), `${code}: link`);
    t.ok(link !== undefined && have.has(link), `${code}: #${link} exists`);
  }
  for (const [, link] of DOC.matchAll(/errors\.md#([\w-]+)/g)) {
    t.ok(have.has(link!), `the doc's own link #${link} exists`);
  }
  t.equal(slug('CPX_ERR_BAD_TARGET'), 'cpx_err_bad_target', 'slug keeps underscores');
});

t.test('toHttpReply maps every code to its status, header and body', async (t) => {
  for (const [code, spec] of ERROR_CODES) {
    const reply = toHttpReply(new CorproxyError(code, `failed for ${code}`));
    t.equal(reply.status, spec.status, `${code}: status`);
    t.equal(statusOf(code), spec.status, `${code}: statusOf`);
    t.equal(reply.reason, `corproxy: failed for ${code}`, `${code}: reason`);
    t.same(
      reply.headers,
      {
        'X-Corproxy-Error': code,
        'Content-Type': 'text/plain; charset=utf-8',
        Connection: 'close',
      },
      `${code}: headers`,
    );
    t.equal(
      reply.body,
      `corproxy: failed for ${code}\n${code}: ${spec.summary}\nSee docs/errors.md#${code.toLowerCase()}\n`,
      `${code}: body`,
    );
  }
  // The statuses DESIGN.md §5 promises for the main families.
  t.equal(statusOf('CPX_ERR_BAD_TARGET'), 400);
  t.equal(statusOf('CPX_ERR_POLICY_DENIED'), 403);
  t.equal(statusOf('CPX_ERR_UPSTREAM_AUTH'), 502);
  t.equal(statusOf('CPX_ERR_UPSTREAM_TIMEOUT'), 504);
  t.equal(statusOf('CPX_ERR_TARGET_TIMEOUT'), 504);
  t.equal(statusOf('CPX_ERR_LOOP'), 508);
});

/** Reason-phrase characters RFC 9112 §4 allows, minus obs-text (corproxy sends ASCII). */
const REASON_CHARS = /^[\t\x20-\x7e]*$/;

t.test('the reason phrase is one safe line whatever the message holds', async (t) => {
  const messages = [
    'line one\nline two',
    'crlf\r\nX-Injected: yes\r\n\r\n<html>',
    'bare cr\rhere',
    'nul\u0000 and del\u007f and esc\u001b[31m',
    'unicode line sep\u2028and para\u2029sep',
    'next line\u0085here',
    'tabs\tand   spaces',
    'ünïcödé 中文 😀',
    '\r\n',
    '\u0000',
  ];
  for (const message of messages) {
    const reply = toHttpReply(new CorproxyError('CPX_ERR_UPSTREAM_REFUSED', message));
    const label = show(message);
    t.ok(reply.reason.startsWith('corproxy:'), `${label}: starts with corproxy:`);
    t.notMatch(reply.reason, /[\r\n]/, `${label}: no CR or LF`);
    t.match(reply.reason, REASON_CHARS, `${label}: only HTAB, SP and VCHAR`);
    t.notMatch(reply.reason, /\s{2}|^\s|\s$/, `${label}: collapsed and trimmed`);
    const statusLine = formatHttpReply(reply).split('\r\n')[0];
    t.equal(statusLine, `HTTP/1.1 502 ${reply.reason}`, `${label}: one status line`);
  }
  t.equal(
    toHttpReply(new CorproxyError('CPX_ERR_LOOP', 'a\r\nb')).reason,
    'corproxy: a b',
    'a line break becomes one space',
  );
});

t.test('the reason starts with "corproxy: " even for an empty message', async (t) => {
  const known = {};
  for (const message of ['', '   ', '\r\n']) {
    const reply = toHttpReply(new CorproxyError('CPX_ERR_INTERNAL', message));
    t.ok(reply.reason.startsWith('corproxy: '), JSON.stringify(message), known);
  }
});

t.test('random messages never break the reason phrase', async (t) => {
  const rand = prng(20260101);
  const bad: string[] = [];
  for (let i = 0; i < 500; i++) {
    const length = Math.floor(rand() * 400);
    let message = '';
    for (let j = 0; j < length; j++) {
      // Mostly ASCII including controls, sometimes any BMP code unit (lone surrogates too).
      const code = rand() < 0.8 ? Math.floor(rand() * 128) : Math.floor(rand() * 0x10000);
      message += String.fromCharCode(code);
    }
    const reason = toHttpReply(new CorproxyError('CPX_ERR_TARGET_DNS', message)).reason;
    if (!REASON_CHARS.test(reason) || reason.length > 300 || !reason.startsWith('corproxy:')) {
      bad.push(show(message));
    }
  }
  t.same(bad, []);
});

t.test('sanitizeReason caps the length at 300 characters', async (t) => {
  t.equal(sanitizeReason('x'.repeat(300)), 'x'.repeat(300), '300 kept');
  t.equal(sanitizeReason('x'.repeat(301)), `${'x'.repeat(297)}...`, '301 cut');
  t.equal(sanitizeReason('x'.repeat(10_000)).length, 300, 'long input');
  t.equal(sanitizeReason(`${'x'.repeat(299)}\n\n\n`), 'x'.repeat(299), 'cut after trimming');
  t.equal(sanitizeReason(`a${' '.repeat(500)}b`), 'a b', 'collapsing comes first');
  t.equal(sanitizeReason(''), '');
  t.equal(sanitizeReason('  \t padded \t '), 'padded');
  t.equal(sanitizeReason('caf\u00e9'), 'caf', 'non-ASCII becomes a space, then trimmed');
  t.equal(sanitizeReason('a\u00e9b'), 'a b');
  const long = toHttpReply(new CorproxyError('CPX_ERR_NO_ROUTE', 'y'.repeat(1000))).reason;
  t.equal(long.length, 300);
  t.ok(long.startsWith('corproxy: yyy') && long.endsWith('...'));
});

/** Splits a serialised reply into status line, header map and body bytes. */
function parseWire(wire: string): {
  statusLine: string;
  headers: Map<string, string>;
  body: Buffer;
} {
  const bytes = Buffer.from(wire, 'utf8');
  const end = bytes.indexOf('\r\n\r\n');
  const lines = bytes.subarray(0, end).toString('utf8').split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { statusLine: lines[0]!, headers, body: bytes.subarray(end + 4) };
}

t.test('formatHttpReply counts Content-Length in bytes', async (t) => {
  const bodies = ['', 'plain\n', 'ünïcödé\n', '中文 😀\n', '\u0000\r\n\r\nnot a second head\n'];
  for (const body of bodies) {
    const reply: HttpReply = {
      status: 502,
      reason: 'corproxy: test',
      headers: { 'X-Corproxy-Error': 'CPX_ERR_INTERNAL', Connection: 'close' },
      body,
    };
    const wire = parseWire(formatHttpReply(reply));
    const label = show(body);
    t.equal(wire.statusLine, 'HTTP/1.1 502 corproxy: test', `${label}: status line`);
    t.equal(wire.headers.get('x-corproxy-error'), 'CPX_ERR_INTERNAL', `${label}: header`);
    t.equal(
      Number(wire.headers.get('content-length')),
      Buffer.byteLength(body),
      `${label}: length`,
    );
    t.equal(wire.body.length, Buffer.byteLength(body), `${label}: exactly that many bytes follow`);
    t.equal(wire.body.toString('utf8'), body, `${label}: body intact`);
  }
  const full = parseWire(formatHttpReply(toHttpReply(new CorproxyError('CPX_ERR_LOOP', 'x'))));
  t.equal(full.statusLine, 'HTTP/1.1 508 corproxy: x');
  t.equal(full.headers.get('connection'), 'close');
  t.equal(Number(full.headers.get('content-length')), full.body.length);
  t.equal(full.headers.size, 4, 'three headers from the reply plus Content-Length');
});

t.test('toExitCode', async (t) => {
  for (const [code, spec] of ERROR_CODES) {
    t.equal(toExitCode(new CorproxyError(code, 'x')), spec.exit, code);
  }
  t.equal(toExitCode(new CorproxyError('CPX_ERR_CONFIG_INVALID', 'listen: bad')), 78);
  t.equal(toExitCode(new CorproxyError('CPX_ERR_CONFIG_READ', 'no such file')), 78);
  t.equal(toExitCode(new CorproxyError('CPX_ERR_USAGE', 'unknown option')), 2);
  t.equal(toExitCode(new CorproxyError('CPX_ERR_UPSTREAM_DNS', 'x')), 69);
  t.equal(toExitCode(new CorproxyError('CPX_ERR_LISTEN', 'EADDRINUSE')), 71);
  const foreign: unknown[] = [
    new Error('boom'),
    new TypeError('x is undefined'),
    Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
    'a string',
    42,
    undefined,
    null,
    { message: 'plain object' },
    Symbol('s'),
  ];
  for (const value of foreign) {
    t.equal(toExitCode(value), 70, `${String(value)}: internal`);
    const reply = toHttpReply(value);
    t.equal(reply.status, 500, `${String(value)}: 500`);
    t.equal(reply.headers['X-Corproxy-Error'], 'CPX_ERR_INTERNAL', `${String(value)}: code`);
  }
  t.equal(toHttpReply(new Error('boom')).reason, 'corproxy: boom', 'the message survives');
});

t.test('toHttpReply never throws, even for values String() cannot convert', async (t) => {
  const known = {};
  const odd: unknown[] = [
    Object.create(null),
    {
      toString() {
        throw new Error('no');
      },
    },
  ];
  for (const value of odd) {
    const err = thrown(() => toHttpReply(value));
    t.equal(err, undefined, 'no exception', known);
    const code = thrown(() => toExitCode(value));
    t.equal(code, undefined, 'toExitCode: no exception', known);
  }
});

t.test('CorproxyError and asCorproxyError', async (t) => {
  const cause = new Error('ECONNRESET');
  const err = new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', 'closed', {
    cause,
    details: { status: 0 },
  });
  t.ok(err instanceof Error);
  t.equal(err.name, 'CorproxyError');
  t.equal(err.code, 'CPX_ERR_UPSTREAM_PROTOCOL');
  t.equal(err.message, 'closed');
  t.equal(err.cause, cause);
  t.same(err.details, { status: 0 });
  const bare = new CorproxyError('CPX_ERR_INTERNAL', 'x');
  t.notOk('cause' in bare, 'no cause property when none is given');
  t.equal(bare.details, undefined);
  t.ok(isCorproxyError(err));
  t.notOk(isCorproxyError(cause));
  t.notOk(isCorproxyError({ code: 'CPX_ERR_INTERNAL', message: 'duck' }), 'no duck typing');
  t.equal(asCorproxyError(err), err, 'a CorproxyError is returned as is');
  const wrapped = asCorproxyError(cause);
  t.equal(wrapped.code, 'CPX_ERR_INTERNAL');
  t.equal(wrapped.message, 'ECONNRESET');
  t.equal(wrapped.cause, cause, 'the original is kept as cause');
  t.equal(asCorproxyError('text').message, 'text');
  t.equal(asCorproxyError(undefined).message, 'undefined');
});
