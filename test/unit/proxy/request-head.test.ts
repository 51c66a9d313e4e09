import t, { type Test } from 'tap';
import {
  clientKeepsAlive,
  headerValues,
  requestFraming,
  scanRequestHead,
  type HeadScan,
  type RequestHead,
} from '../../../src/proxy/request-head.js';

const MAX = 8192;

/** Scans `text` (one byte per char, so obs-text can be written as \xNN). */
function scan(text: string, max = MAX): HeadScan {
  return scanRequestHead(Buffer.from(text, 'latin1'), max);
}

function complete(t: Test, text: string, label: string): RequestHead | undefined {
  const result = scan(text);
  t.equal(result.kind, 'complete', `${label}: complete`);
  return result.kind === 'complete' ? result.head : undefined;
}

function assertInvalid(t: Test, input: string | Buffer, why: RegExp, label: string): void {
  const result = typeof input === 'string' ? scan(input) : scanRequestHead(input, MAX);
  t.equal(result.kind, 'invalid', `${label}: invalid`);
  if (result.kind === 'invalid') t.match(result.reason, why, `${label}: reason`);
}

t.test('valid request heads', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, string, string, '1.0' | '1.1']> = [
    [
      'GET absolute-form',
      'GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n',
      'GET',
      'http://example.com/a?b=c',
      '1.1',
    ],
    [
      'CONNECT authority-form',
      'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
      'CONNECT',
      'example.com:443',
      '1.1',
    ],
    ['OPTIONS asterisk-form', 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n', 'OPTIONS', '*', '1.1'],
    ['origin-form, HTTP/1.0', 'POST /x HTTP/1.0\r\n\r\n', 'POST', '/x', '1.0'],
    ['method case kept', 'get http://a/ HTTP/1.1\r\n\r\n', 'get', 'http://a/', '1.1'],
    [
      'extension method',
      "M-SEARCH!#$%&'*+.^_`|~ * HTTP/1.1\r\n\r\n",
      "M-SEARCH!#$%&'*+.^_`|~",
      '*',
      '1.1',
    ],
  ];
  for (const [label, text, method, target, version] of cases) {
    const head = complete(t, text, label);
    t.equal(head?.method, method, `${label}: method`);
    t.equal(head?.target, target, `${label}: target`);
    t.equal(head?.version, version, `${label}: version`);
    t.equal(head?.headBytes, Buffer.byteLength(text, 'latin1'), `${label}: headBytes`);
  }
});

t.test('headers keep names as sent and trim only OWS from values', async (t) => {
  const text =
    'GET http://a/ HTTP/1.1\r\n' +
    'Host: a\r\n' +
    'X-Tabs:\t \tv1\t \r\n' +
    'x-lower:v2\r\n' +
    'Empty:\r\n' +
    'Blank:   \r\n' +
    'Inner: a  b\tc\r\n' +
    'Latin: caf\xe9 \xff\r\n' +
    'Nbsp: \xa0x\xa0\r\n' +
    'Host: second\r\n\r\n';
  const head = complete(t, text, 'mixed headers');
  t.same(head?.rawHeaders, [
    'Host',
    'a',
    'X-Tabs',
    'v1',
    'x-lower',
    'v2',
    'Empty',
    '',
    'Blank',
    '',
    'Inner',
    'a  b\tc',
    'Latin',
    'caf\u00e9 \u00ff',
    'Nbsp',
    '\u00a0x\u00a0',
    'Host',
    'second',
  ]);
});

t.test('many headers', async (t) => {
  const lines = Array.from({ length: 300 }, (_, i) => `X-H${i}: v${i}\r\n`).join('');
  const head = complete(t, `GET http://a/ HTTP/1.1\r\n${lines}\r\n`, '300 headers');
  t.equal(head?.rawHeaders.length, 600);
  t.equal(head?.rawHeaders[598], 'X-H299');
  t.equal(head?.rawHeaders[599], 'v299');
});

t.test('headBytes stops at the end of the head when a body or next request follows', async (t) => {
  const first = 'POST http://a/ HTTP/1.1\r\nContent-Length: 4\r\n\r\n';
  const head = complete(t, `${first}body`, 'body follows');
  t.equal(head?.headBytes, first.length);
  const second = 'GET http://b/ HTTP/1.1\r\n\r\n';
  const pipelined = complete(t, `${second}${second}GET http://c/`, 'pipelined');
  t.equal(pipelined?.headBytes, second.length);
  t.equal(pipelined?.target, 'http://b/');
});

t.test('invalid request lines', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['missing version', 'GET http://a/\r\n\r\n', /malformed request line/],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\n\r\n', /malformed request line/],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', /malformed request line/],
    ['lower-case http', 'GET / http/1.1\r\n\r\n', /malformed request line/],
    ['double space after method', 'GET  / HTTP/1.1\r\n\r\n', /malformed request line/],
    ['trailing space', 'GET / HTTP/1.1 \r\n\r\n', /malformed request line/],
    ['space in target', 'GET /a b HTTP/1.1\r\n\r\n', /malformed request line/],
    ['HTAB as separator', 'GET\t/ HTTP/1.1\r\n\r\n', /malformed request line/],
    ['empty method', ' / HTTP/1.1\r\n\r\n', /malformed request line/],
    ['method not a token', 'GE(T / HTTP/1.1\r\n\r\n', /malformed request line/],
    ['non-ASCII in target', 'GET /\xe9 HTTP/1.1\r\n\r\n', /malformed request line/],
    ['DEL in target', 'GET /\x7f HTTP/1.1\r\n\r\n', /malformed request line/],
    ['NUL in request line', 'GET /\0 HTTP/1.1\r\n\r\n', /NUL in request line/],
    ['bare CR in request line', 'GET /\r HTTP/1.1\r\n\r\n', /bare CR in request line/],
    ['bare LF in request line', 'GET / HTTP/1.1\nHost: a\r\n\r\n', /bare LF in request line/],
    ['leading empty line', '\r\nGET / HTTP/1.1\r\n\r\n', /empty line before/],
    ['only an empty line', '\r\n\r\n', /empty line before/],
  ];
  for (const [label, text, why] of cases) assertInvalid(t, text, why, label);
});

t.test('invalid header sections', async (t) => {
  const line = 'GET http://a/ HTTP/1.1\r\n';
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['obs-fold with SP', 'A: b\r\n c\r\n', /obsolete line folding/],
    ['obs-fold with HTAB', 'A: b\r\n\tc\r\n', /obsolete line folding/],
    ['space before colon', 'Host : a\r\n', /whitespace before the colon/],
    ['tab before colon', 'Host\t: a\r\n', /whitespace before the colon/],
    ['no colon', 'Host a\r\n', /without a colon/],
    ['empty name', ': a\r\n', /empty header name/],
    ['name not a token', 'X(y): a\r\n', /not a token/],
    ['non-ASCII name', 'X\xe9: a\r\n', /not a token/],
    ['NUL in value', 'A: b\0c\r\n', /NUL in header section/],
    ['bare CR in value', 'A: b\rc\r\n', /bare CR in header section/],
    ['bare LF in header section', 'A: b\nC: d\r\n', /bare LF in header section/],
    ['other CTL in value', 'A: b\x01c\r\n', /control character in a header value/],
    ['DEL in value', 'A: b\x7f\r\n', /control character in a header value/],
  ];
  for (const [label, headers, why] of cases) assertInvalid(t, `${line}${headers}\r\n`, why, label);
});

t.test('bare LF line endings are invalid without waiting for more bytes', async (t) => {
  assertInvalid(t, 'GET / HTTP/1.1\nHost: a\n\n', /not an HTTP\/1.x request line/, 'all LF');
  assertInvalid(t, 'GET / HTTP/1.1\n', /not an HTTP\/1.x request line/, 'LF after request line');
});

t.test('non-HTTP bytes are invalid as soon as they are clearly broken', async (t) => {
  const tlsHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]);
  assertInvalid(t, tlsHello, /not an HTTP\/1.x request line/, 'TLS ClientHello');
  assertInvalid(t, tlsHello.subarray(0, 1), /not an HTTP\/1.x request line/, 'first TLS byte');
  assertInvalid(t, 'SSH-2.0-OpenSSH_9.6\r\n', /malformed request line/, 'complete bad line');
  assertInvalid(t, 'FOO BAR\r\nHost: a\r\n', /malformed request line/, 'bad line, no end yet');
  assertInvalid(t, 'GET / HTTX', /not an HTTP\/1.x request line/, 'bad version prefix');
  assertInvalid(t, 'GET / HTTP/1.1 ', /not an HTTP\/1.x request line/, 'space after version');
  assertInvalid(t, 'GET  /', /not an HTTP\/1.x request line/, 'double space');
  assertInvalid(t, '\r', /not an HTTP\/1.x request line/, 'leading CR');
});

t.test('every proper prefix of a valid request is incomplete', async (t) => {
  for (const text of [
    'GET http://example.com/path?q=1 HTTP/1.1\r\nHost: example.com\r\nX: y\r\n\r\n',
    'OPTIONS * HTTP/1.0\r\n\r\n',
  ]) {
    const bytes = Buffer.from(text, 'latin1');
    const kinds = new Set<string>();
    for (let n = 0; n < bytes.length; n++)
      kinds.add(scanRequestHead(bytes.subarray(0, n), MAX).kind);
    t.same([...kinds], ['incomplete'], `prefixes of ${JSON.stringify(text.slice(0, 12))}`);
    t.equal(scanRequestHead(bytes, MAX).kind, 'complete', 'whole head is complete');
  }
});

t.test('maxHeaderSize boundaries', async (t) => {
  const max = 256;
  const prefix = 'GET http://a/ HTTP/1.1\r\nX-Pad: ';
  const pad = (n: number): string => 'p'.repeat(n - prefix.length - 4);
  const exact = `${prefix}${pad(max)}\r\n\r\n`;
  t.equal(exact.length, max, 'fixture is exactly max bytes');
  const atMax = scan(exact, max);
  t.equal(atMax.kind, 'complete', 'head of exactly maxHeaderSize bytes is complete');
  if (atMax.kind === 'complete') t.equal(atMax.head.headBytes, max);
  t.equal(scan(`${exact}trailing body`, max).kind, 'complete', 'bytes after the head are ignored');

  const oneMore = `${prefix}${pad(max + 1)}\r\n\r\n`;
  t.equal(oneMore.length, max + 1);
  t.equal(scan(oneMore, max).kind, 'too-large', 'head of maxHeaderSize + 1 bytes is too large');
  t.equal(scan(oneMore.slice(0, max), max).kind, 'incomplete', 'first max bytes: still incomplete');
  t.equal(scan(oneMore.slice(0, max + 1), max).kind, 'too-large', 'max + 1 bytes, no end');
  t.equal(scan(`${prefix}${'p'.repeat(4 * max)}`, max).kind, 'too-large', 'far past max');
  // An end that lies past maxHeaderSize is not looked at, even when it has arrived.
  t.equal(scan(`${prefix}${'p'.repeat(max)}\r\n\r\n`, max).kind, 'too-large', 'end past max');
});

t.test('headerValues is case-insensitive and keeps order', async (t) => {
  const raw = ['Host', 'a', 'X-A', '1', 'x-a', '2', 'Other', 'z', 'X-A', '3'];
  t.same(headerValues(raw, 'x-a'), ['1', '2', '3']);
  t.same(headerValues(raw, 'HOST'), ['a']);
  t.same(headerValues(raw, 'missing'), []);
});

t.test('requestFraming follows RFC 9112 §6.3 for requests', async (t) => {
  const cases: ReadonlyArray<readonly [string, string[], object]> = [
    ['neither', ['Host', 'a'], { kind: 'none' }],
    ['Content-Length 0', ['Content-Length', '0'], { kind: 'length', length: 0 }],
    ['Content-Length 42', ['content-length', '42'], { kind: 'length', length: 42 }],
    ['leading zeros', ['Content-Length', '007'], { kind: 'length', length: 7 }],
    ['same list', ['Content-Length', '5, 5,5'], { kind: 'length', length: 5 }],
    [
      'same repeated',
      ['Content-Length', '5', 'CONTENT-LENGTH', '5'],
      { kind: 'length', length: 5 },
    ],
    [
      'max safe',
      ['Content-Length', `${Number.MAX_SAFE_INTEGER}`],
      { kind: 'length', length: Number.MAX_SAFE_INTEGER },
    ],
    ['different list', ['Content-Length', '5, 6'], { kind: 'invalid', reason: /Content-Length/ }],
    ['different repeated', ['Content-Length', '5', 'Content-Length', '6'], { kind: 'invalid' }],
    ['spelled differently', ['Content-Length', '5, 05'], { kind: 'invalid' }],
    ['empty element', ['Content-Length', '5,,5'], { kind: 'invalid' }],
    ['empty', ['Content-Length', ''], { kind: 'invalid' }],
    ['negative', ['Content-Length', '-1'], { kind: 'invalid' }],
    ['plus sign', ['Content-Length', '+1'], { kind: 'invalid' }],
    ['exponent', ['Content-Length', '1e3'], { kind: 'invalid' }],
    ['hex', ['Content-Length', '0x10'], { kind: 'invalid' }],
    ['fraction', ['Content-Length', '1.5'], { kind: 'invalid' }],
    ['inner space', ['Content-Length', '1 2'], { kind: 'invalid' }],
    ['over 2**53-1', ['Content-Length', '9007199254740992'], { kind: 'invalid' }],
    ['chunked', ['Transfer-Encoding', 'chunked'], { kind: 'chunked' }],
    ['chunked any case', ['transfer-encoding', 'ChUnKeD'], { kind: 'chunked' }],
    ['gzip, chunked', ['Transfer-Encoding', 'gzip, chunked'], { kind: 'chunked' }],
    [
      'repeated TE',
      ['Transfer-Encoding', 'gzip', 'Transfer-Encoding', 'chunked'],
      { kind: 'chunked' },
    ],
    [
      'final not chunked',
      ['Transfer-Encoding', 'chunked, gzip'],
      { kind: 'invalid', reason: /does not end in chunked/ },
    ],
    [
      'only gzip',
      ['Transfer-Encoding', 'gzip'],
      { kind: 'invalid', reason: /does not end in chunked/ },
    ],
    [
      'chunked twice',
      ['Transfer-Encoding', 'chunked, chunked'],
      { kind: 'invalid', reason: /twice/ },
    ],
    ['empty TE', ['Transfer-Encoding', ''], { kind: 'invalid', reason: /malformed/ }],
    [
      'empty TE element',
      ['Transfer-Encoding', 'gzip,,chunked'],
      { kind: 'invalid', reason: /malformed/ },
    ],
    [
      'TE parameter',
      ['Transfer-Encoding', 'chunked;q=1'],
      { kind: 'invalid', reason: /malformed/ },
    ],
    [
      'TE and CL',
      ['Transfer-Encoding', 'chunked', 'Content-Length', '5'],
      { kind: 'invalid', reason: /both Transfer-Encoding and Content-Length/ },
    ],
  ];
  for (const [label, raw, expected] of cases) t.match(requestFraming(raw), expected, label);
  t.match(
    requestFraming(['Transfer-Encoding', 'chunked'], '1.0'),
    { kind: 'invalid', reason: /HTTP\/1.0/ },
    'TE in HTTP/1.0',
  );
  t.same(
    requestFraming(['Content-Length', '3'], '1.0'),
    { kind: 'length', length: 3 },
    'CL in HTTP/1.0',
  );
});

t.test('clientKeepsAlive', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, boolean]> = [
    ['1.1 default', 'HTTP/1.1\r\n', true],
    ['1.1 close', 'HTTP/1.1\r\nConnection: close\r\n', false],
    ['1.1 close any case, in a list', 'HTTP/1.1\r\nconnection: TE, Close\r\n', false],
    ['1.1 close in second field', 'HTTP/1.1\r\nConnection: te\r\nConnection: close\r\n', false],
    ['1.1 keep-alive', 'HTTP/1.1\r\nConnection: keep-alive\r\n', true],
    ['1.1 closed is not close', 'HTTP/1.1\r\nConnection: closed\r\n', true],
    ['1.0 default', 'HTTP/1.0\r\n', false],
    ['1.0 keep-alive', 'HTTP/1.0\r\nConnection: Keep-Alive\r\n', true],
    ['1.0 keep-alive in a list', 'HTTP/1.0\r\nConnection: foo ,keep-alive\r\n', true],
    ['1.0 keep-alive and close', 'HTTP/1.0\r\nConnection: keep-alive, close\r\n', false],
    ['1.0 other token', 'HTTP/1.0\r\nConnection: upgrade\r\n', false],
  ];
  for (const [label, rest, expected] of cases) {
    const head = complete(t, `GET http://a/ ${rest}\r\n`, label);
    if (head !== undefined) t.equal(clientKeepsAlive(head), expected, label);
  }
});
