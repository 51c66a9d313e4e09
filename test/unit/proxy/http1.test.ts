import t, { type Test } from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  basicAuthorization,
  formatAuthority,
  formatConnectRequest,
  offeredSchemes,
  parseAbsoluteTarget,
  parseConnectTarget,
  ResponseHeadReader,
  stripHopByHop,
  type ResponseHead,
} from '../../../src/proxy/http1.js';
import { prng } from '../../support/prng.js';

/** Runs fn and returns what it threw (undefined when it returned). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts fn throws a CorproxyError with `code` whose message matches `why`. */
function assertCorproxyError(
  t: Test,
  fn: () => unknown,
  code: string,
  why: RegExp,
  label: string,
  known: { todo?: string } = {},
): void {
  const err = thrown(fn);
  t.ok(err instanceof CorproxyError, `${label}: throws CorproxyError`, known);
  if (!(err instanceof CorproxyError)) return;
  t.equal(err.code, code, `${label}: code`, known);
  t.match(err.message, why, `${label}: message names the problem`, known);
}

/**
 * Known bugs, reported to the lead: these assertions run and state the correct
 * behaviour, marked TODO so they show in the output without failing the suite.
 */
const FIXED_BUG = (_what: string): Record<string, never> => ({});

// A 253-character name built from 63-character labels: the longest DNS name (RFC 1035).
const LABEL63 = 'a'.repeat(63);
const NAME253 = `${LABEL63}.${LABEL63}.${LABEL63}.${'b'.repeat(61)}`;

t.test('parseConnectTarget accepts and normalises valid targets', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, number]> = [
    ['example.com:443', 'example.com', 443],
    ['proxy.golang.org:443', 'proxy.golang.org', 443],
    ['localhost:1', 'localhost', 1],
    ['host:65535', 'host', 65535],
    ['goproxy.example.test:29443', 'goproxy.example.test', 29443],
    ['a-b.c-d.example:8080', 'a-b.c-d.example', 8080],
    // Underscores occur in real internal names (SRV-style and Windows hosts).
    ['_dmarc.example.com:443', '_dmarc.example.com', 443],
    ['123.example:443', '123.example', 443],
    // Upper case is folded: DNS names are case-insensitive (RFC 4343).
    ['EXAMPLE.COM:443', 'example.com', 443],
    ['Git.Corp.Example:22', 'git.corp.example', 22],
    // One trailing dot (fully qualified) is dropped.
    ['example.com.:443', 'example.com', 443],
    // IDNA names become punycode A-labels (RFC 5891).
    ['bücher.de:443', 'xn--bcher-kva.de', 443],
    ['BÜCHER.de:443', 'xn--bcher-kva.de', 443],
    ['münchen.corp.example:8443', 'xn--mnchen-3ya.corp.example', 8443],
    ['xn--bcher-kva.de:443', 'xn--bcher-kva.de', 443],
    // IPv4 literals.
    ['1.2.3.4:80', '1.2.3.4', 80],
    ['127.0.0.1:3129', '127.0.0.1', 3129],
    ['255.255.255.255:1', '255.255.255.255', 1],
    // Bracketed IPv6, brackets removed, hex folded to lower case.
    ['[::1]:443', '::1', 443],
    ['[2001:db8::1]:8443', '2001:db8::1', 8443],
    ['[2001:DB8::AB]:443', '2001:db8::ab', 443],
    ['[::ffff:192.0.2.1]:443', '::ffff:192.0.2.1', 443],
    // Leading zeros in the port are still a decimal number of at most five digits.
    ['example.com:0443', 'example.com', 443],
    [`${LABEL63}.example:443`, `${LABEL63}.example`, 443],
    [`${NAME253}:443`, NAME253, 443],
    [`${NAME253}.:443`, NAME253, 443],
  ];
  for (const [raw, host, port] of cases) {
    t.same(parseConnectTarget(raw), { host, port }, raw);
  }
});

t.test('parseConnectTarget rejects bad targets with CPX_ERR_BAD_TARGET', async (t) => {
  const cases: ReadonlyArray<readonly [string | undefined, RegExp]> = [
    [undefined, /CONNECT needs host:port/],
    ['', /CONNECT needs host:port/],
    // Port problems.
    ['example.com', /port is missing/],
    ['[::1]', /port is missing/],
    ['example.com:', /port is not a number/],
    ['[::1]:', /port is not a number/],
    ['example.com:0', /port 0 is outside 1-65535/],
    ['example.com:00000', /port 0 is outside 1-65535/],
    ['example.com:65536', /port 65536 is outside 1-65535/],
    ['example.com:99999', /port 99999 is outside 1-65535/],
    ['example.com:100000', /port is not a number/],
    ['example.com:https', /port is not a number/],
    ['example.com:44x', /port is not a number/],
    ['example.com:+443', /port is not a number/],
    ['example.com:-1', /port is not a number/],
    ['example.com: 443', /port is not a number/],
    ['example.com:4.4', /port is not a number/],
    // IPv6 without brackets is ambiguous with host:port.
    ['::1:443', /IPv6 addresses must be in brackets/],
    ['2001:db8::1:443', /IPv6 addresses must be in brackets/],
    ['a:b:c', /IPv6 addresses must be in brackets/],
    // Brackets.
    ['[::1', /unclosed "\["/],
    ['[::1]443', /junk after IPv6 address/],
    ['[::1]x:443', /junk after IPv6 address/],
    ['[::1]]:443', /junk after IPv6 address/],
    ['[1.2.3.4]:443', /bracketed host is not an IPv6 address/],
    ['[example.com]:443', /bracketed host is not an IPv6 address/],
    ['[]:443', /bracketed host is not an IPv6 address/],
    ['[::g]:443', /bracketed host is not an IPv6 address/],
    // Host problems.
    [':443', /host is empty/],
    ['.:443', /host is not a valid name/],
    ['..:443', /host is not a valid name/],
    ['a..b:443', /host is not a valid name/],
    ['.example.com:443', /host is not a valid name/],
    ['example.com..:443', /host is not a valid name/],
    ['-a.example:443', /host is not a valid name/],
    ['a-.example:443', /host is not a valid name/],
    ['exa mple.com:443', /host is not a valid name/],
    ['ex@mple.com:443', /host is not a valid name/],
    ['ex*mple.com:443', /host is not a valid name/],
    ['ex\u0000mple.com:443', /host is not a valid name/],
    // URL syntax is not part of a host name (RFC 9112 §3.2.3 authority-form).
    ['ex/ample.com:443', /host is not a valid name/],
    ['example.com#x:443', /host is not a valid name/],
    ['example.com?x:443', /host is not a valid name/],
    ['ex%41mple.com:443', /host is not a valid name/],
    ['a\\b.com:443', /host is not a valid name/],
    [`${'ä'.repeat(64)}.de:443`, /host is not a valid name/],
    [`${'a'.repeat(64)}.example:443`, /host is not a valid name/],
    [`${NAME253}b:443`, /host is not a valid name/],
    [`${'a.'.repeat(127)}ab:443`, /host is not a valid name/],
  ];
  for (const [raw, why] of cases) {
    assertCorproxyError(
      t,
      () => parseConnectTarget(raw),
      'CPX_ERR_BAD_TARGET',
      why,
      JSON.stringify(raw),
    );
  }
});

t.test('a bad target message quotes the target, cut at 100 characters', async (t) => {
  const err = thrown(() => parseConnectTarget('exa mple.com:443'));
  t.match((err as Error).message, /^bad request target "exa mple\.com:443": /);
  // A valid 241-character name with a bad port: the quote stops after 100 characters.
  const long = `${'x.'.repeat(120)}y:0`;
  const msg = (thrown(() => parseConnectTarget(long)) as Error).message;
  t.ok(msg.includes(`"${'x.'.repeat(50)}..."`), 'shows the first 100 characters');
  t.notOk(msg.includes('x.'.repeat(51)), 'not more');
  t.match(msg, /port 0 is outside/);
});

t.test('parseConnectTarget rejects URL syntax in non-ASCII names', async (t) => {
  // Today "bü/cher.de:443" becomes host "xn--b-eha": domainToASCII parses a URL host and
  // drops everything from "/", "#", "?" on, and percent-decodes.
  const known = FIXED_BUG('non-ASCII hosts are parsed as URL hosts');
  for (const raw of ['bü/cher.de:443', 'bücher.de#x:443', 'bü?x.de:443', 'bü%41.de:443']) {
    const why = /host is not a valid name/;
    assertCorproxyError(t, () => parseConnectTarget(raw), 'CPX_ERR_BAD_TARGET', why, raw, known);
  }
});

t.test('parseAbsoluteTarget accepts http URIs', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, number, string]> = [
    ['http://example.com/', 'example.com', 80, '/'],
    ['http://example.com', 'example.com', 80, '/'],
    ['http://example.com/a/b?x=1&y=%20', 'example.com', 80, '/a/b?x=1&y=%20'],
    ['http://example.com/?', 'example.com', 80, '/'],
    ['http://example.com:8080/x', 'example.com', 8080, '/x'],
    ['http://example.com:80/x', 'example.com', 80, '/x'],
    ['http://example.com/p#frag', 'example.com', 80, '/p'],
    ['http://EXAMPLE.com/Path', 'example.com', 80, '/Path'],
    ['HTTP://example.com/', 'example.com', 80, '/'],
    ['http://bücher.de/', 'xn--bcher-kva.de', 80, '/'],
    ['http://[::1]:8081/p?q', '::1', 8081, '/p?q'],
    ['http://[2001:DB8::1]/', '2001:db8::1', 80, '/'],
    ['http://192.0.2.7:3000/metrics', '192.0.2.7', 3000, '/metrics'],
    ['http://example.com/a b', 'example.com', 80, '/a%20b'],
  ];
  for (const [raw, host, port, path] of cases) {
    t.same(parseAbsoluteTarget(raw), { host, port, path }, raw);
  }
});

t.test('parseAbsoluteTarget rejects what it cannot forward', async (t) => {
  const cases: ReadonlyArray<readonly [string, RegExp]> = [
    ['https://example.com/', /https:\/\/ URIs must be requested with CONNECT/],
    ['HTTPS://example.com:443/x', /must be requested with CONNECT/],
    ['ftp://example.com/file', /scheme ftp: is not supported/],
    ['ws://example.com/', /scheme ws: is not supported/],
    ['file:///etc/passwd', /scheme file: is not supported/],
    ['http://user:pass@example.com/', /credentials in the request URI are not forwarded/],
    ['http://user@example.com/', /credentials in the request URI are not forwarded/],
    ['http://:pass@example.com/', /credentials in the request URI are not forwarded/],
    ['garbage', /not an absolute URI/],
    ['', /not an absolute URI/],
    ['/relative/path', /not an absolute URI/],
    ['example.com:80', /scheme example\.com: is not supported/],
    ['http://', /not an absolute URI/],
    ['http://exa mple.com/', /not an absolute URI/],
    ['http://example.com:65536/', /not an absolute URI/],
    ['http://[::1/', /not an absolute URI/],
    ['http://a..b/', /host is not a valid name/],
    [`http://${'a'.repeat(64)}.example/`, /host is not a valid name/],
  ];
  for (const [raw, why] of cases) {
    assertCorproxyError(t, () => parseAbsoluteTarget(raw), 'CPX_ERR_BAD_TARGET', why, raw);
  }
});

t.test('parseAbsoluteTarget rejects port 0 like parseConnectTarget does', async (t) => {
  assertCorproxyError(
    t,
    () => parseAbsoluteTarget('http://example.com:0/'),
    'CPX_ERR_BAD_TARGET',
    /port 0 is outside 1-65535/,
    'port 0',
    FIXED_BUG('http://example.com:0/ gives port 0'),
  );
});

t.test('formatAuthority brackets IPv6 only', async (t) => {
  t.equal(formatAuthority({ host: 'example.com', port: 443 }), 'example.com:443');
  t.equal(formatAuthority({ host: '10.0.0.1', port: 80 }), '10.0.0.1:80');
  t.equal(formatAuthority({ host: '2001:db8::1', port: 443 }), '[2001:db8::1]:443');
});

t.test('formatConnectRequest', async (t) => {
  t.equal(
    formatConnectRequest({ host: 'example.com', port: 443 }),
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
    'without credentials there is no Proxy-Authorization',
  );
  t.equal(
    formatConnectRequest({ host: 'example.com', port: 443 }, 'Basic YTpi'),
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n' +
      'Proxy-Authorization: Basic YTpi\r\n\r\n',
  );
  t.equal(
    formatConnectRequest({ host: '::1', port: 8443 }, 'Basic YTpi'),
    'CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: Basic YTpi\r\n\r\n',
    'IPv6 authority in brackets in the request line and Host',
  );
  const parsed = parseConnectTarget('BÜCHER.de:443');
  t.match(formatConnectRequest(parsed), /^CONNECT xn--bcher-kva\.de:443 HTTP\/1\.1\r\n/);
  // The request parses back with our own reader's rules: one head, no body.
  const text = formatConnectRequest({ host: 'h.example', port: 1 }, 'Basic eDp5');
  t.equal(text.indexOf('\r\n\r\n'), text.length - 4, 'the head ends exactly once, at the end');
});

t.test('basicAuthorization encodes user:password as UTF-8 base64', async (t) => {
  // RFC 7617 §2 and §2.1 examples.
  t.equal(basicAuthorization('Aladdin', 'open sesame'), 'Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  t.equal(basicAuthorization('test', '123\u00a3'), 'Basic dGVzdDoxMjPCow==');
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['alice', 'p@ss'],
    ['alice', 'a:b:c'],
    ['alice', 'x&y=z'],
    ['alice', '100%25%'],
    ['alice', '@:&%'],
    ['CORP\\alice', 'pässwörd'],
    ['ユーザー', 'パスワード'],
    ['alice', '😀 emoji'],
    ['alice', ''],
    ['', ''],
  ];
  for (const [user, pass] of cases) {
    const value = basicAuthorization(user, pass);
    t.match(value, /^Basic [A-Za-z0-9+/]*={0,2}$/, `${user}:${pass} is one base64 token`);
    const decoded = Buffer.from(value.slice('Basic '.length), 'base64');
    t.same(decoded, Buffer.from(`${user}:${pass}`, 'utf8'), `${user}:${pass} round-trips`);
  }
  // Not latin1: the £ must be the two UTF-8 bytes C2 A3.
  const pound = Buffer.from(basicAuthorization('u', '£').slice(6), 'base64');
  t.same([...pound], [0x75, 0x3a, 0xc2, 0xa3]);
});

const HEAD =
  'HTTP/1.1 200 Connection established\r\nVia: 1.1 corp-proxy\r\nX-Empty:\r\n' +
  'Proxy-Agent:  Squid/6  \r\n\r\n';
// Tunnel bytes that themselves contain a blank line and non-ASCII bytes.
const TUNNEL = Buffer.concat([
  Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0x00]),
  Buffer.from('HTTP/1.1 404 Not Found\r\n\r\n'),
]);
const REPLY = Buffer.concat([Buffer.from(HEAD, 'latin1'), TUNNEL]);

function assertHead(t: Test, head: ResponseHead, label: string): void {
  t.equal(head.status, 200, `${label}: status`);
  t.equal(head.reason, 'Connection established', `${label}: reason`);
  t.same(
    head.headers,
    [
      ['via', '1.1 corp-proxy'],
      ['x-empty', ''],
      ['proxy-agent', 'Squid/6'],
    ],
    `${label}: headers`,
  );
}

/** Feeds chunks until a head appears; returns it with the chunks never fed. */
function feedAll(
  reader: ResponseHeadReader,
  chunks: readonly Buffer[],
): { head: ResponseHead | undefined; unfed: Buffer } {
  for (let i = 0; i < chunks.length; i++) {
    const head = reader.feed(chunks[i]!);
    if (head !== undefined) return { head, unfed: Buffer.concat(chunks.slice(i + 1)) };
  }
  return { head: undefined, unfed: Buffer.alloc(0) };
}

t.test('ResponseHeadReader: every two-chunk split of a reply with tunnel bytes', async (t) => {
  let checked = 0;
  for (let cut = 0; cut <= REPLY.length; cut++) {
    const reader = new ResponseHeadReader(8192, 'proxy.corp:8080');
    const { head, unfed } = feedAll(reader, [REPLY.subarray(0, cut), REPLY.subarray(cut)]);
    if (head === undefined) {
      t.fail(`cut ${cut}: no head`);
      continue;
    }
    // Bytes after the head are either in rest or still unfed; none lost, none duplicated.
    const tunnel = Buffer.concat([head.rest, unfed]);
    if (!tunnel.equals(TUNNEL) || head.status !== 200 || head.headers.length !== 3) {
      t.fail(`cut ${cut}: wrong head or tunnel bytes`);
      continue;
    }
    checked++;
  }
  t.equal(checked, REPLY.length + 1, 'every split point gives the head and exact tunnel bytes');
  const whole = new ResponseHeadReader(8192, 'p').feed(REPLY);
  t.ok(whole, 'one chunk');
  assertHead(t, whole!, 'one chunk');
  t.ok(whole!.rest.equals(TUNNEL), 'rest is exactly the bytes after the head');
});

t.test('ResponseHeadReader: every three-chunk split', async (t) => {
  let checked = 0;
  let total = 0;
  for (let a = 0; a <= REPLY.length; a += 3) {
    for (let b = a; b <= REPLY.length; b += 2) {
      total++;
      const reader = new ResponseHeadReader(8192, 'p');
      const chunks = [REPLY.subarray(0, a), REPLY.subarray(a, b), REPLY.subarray(b)];
      const { head, unfed } = feedAll(reader, chunks);
      if (head && Buffer.concat([head.rest, unfed]).equals(TUNNEL)) checked++;
    }
  }
  t.ok(total > 500, `${total} splits tried`);
  t.equal(checked, total);
});

t.test('ResponseHeadReader: byte by byte, with rest empty at the exact end', async (t) => {
  const reader = new ResponseHeadReader(8192, 'p');
  const bytes = Buffer.from(HEAD, 'latin1');
  let head: ResponseHead | undefined;
  for (let i = 0; i < bytes.length; i++) {
    head = reader.feed(bytes.subarray(i, i + 1));
    if (head !== undefined) {
      t.equal(i, bytes.length - 1, 'the head completes on its last byte');
      break;
    }
  }
  t.ok(head);
  assertHead(t, head!, 'byte by byte');
  t.equal(head!.rest.length, 0);
});

t.test('ResponseHeadReader: status lines', async (t) => {
  const ok: ReadonlyArray<readonly [string, number, string]> = [
    ['HTTP/1.1 200 OK', 200, 'OK'],
    ['HTTP/1.0 200 Connection established', 200, 'Connection established'],
    ['HTTP/1.1 200', 200, ''],
    ['HTTP/1.1 200 ', 200, ''],
    ['HTTP/1.1 407 Proxy Authentication Required', 407, 'Proxy Authentication Required'],
    ['HTTP/1.1 503 Service Unavailable ', 503, 'Service Unavailable'],
    ['HTTP/1.1 502 caf\u00e9', 502, 'caf\u00e9'],
  ];
  for (const [line, status, reason] of ok) {
    const head = new ResponseHeadReader(1024, 'p').feed(Buffer.from(`${line}\r\n\r\n`, 'latin1'));
    t.equal(head?.status, status, `${line}: status`);
    t.equal(head?.reason, reason, `${line}: reason`);
    t.same(head?.headers, [], `${line}: no headers`);
  }
  const bad = [
    'HTTP/2 200 OK',
    'HTTP/1.2 200 OK',
    'HTTP/1.1 20 OK',
    'HTTP/1.1 2000 OK',
    'HTTP/1.1 OK',
    'HTTP/1.1  200 OK',
    'HTTP/1.1',
    'HTTP/ 200 OK',
    'HTTP/1.1 abc OK',
  ];
  for (const line of bad) {
    assertCorproxyError(
      t,
      () => new ResponseHeadReader(1024, 'proxy.corp:3128').feed(Buffer.from(`${line}\r\n\r\n`)),
      'CPX_ERR_UPSTREAM_PROTOCOL',
      /^upstream proxy\.corp:3128 sent a malformed status line$/,
      line,
    );
  }
});

t.test('ResponseHeadReader: malformed header lines', async (t) => {
  for (const line of ['no colon here', ': empty name', ' folded continuation', ' ']) {
    const text = `HTTP/1.1 200 OK\r\nVia: x\r\n${line}\r\nX: y\r\n\r\n`;
    assertCorproxyError(
      t,
      () => new ResponseHeadReader(1024, 'p:1').feed(Buffer.from(text)),
      'CPX_ERR_UPSTREAM_PROTOCOL',
      /^upstream p:1 sent a malformed header line$/,
      JSON.stringify(line),
    );
  }
});

t.test('ResponseHeadReader: a reply that is not HTTP', async (t) => {
  const cases = [
    'SSH-2.0-OpenSSH_9.6\r\n',
    '<html>\r\n\r\n',
    'http/1.1 200 OK\r\n\r\n',
    '\r\n\r\nHTTP/1.1 200 OK\r\n\r\n',
  ];
  for (const text of cases) {
    assertCorproxyError(
      t,
      () => new ResponseHeadReader(1024, 'p:1').feed(Buffer.from(text)),
      'CPX_ERR_UPSTREAM_PROTOCOL',
      /^upstream p:1 sent a reply that is not HTTP$/,
      JSON.stringify(text),
    );
  }
  // A TLS alert from an https:// upstream spoken to in plain text.
  assertCorproxyError(
    t,
    () => new ResponseHeadReader(1024, 'p:1').feed(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02])),
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /not HTTP/,
    'TLS alert',
  );
  // Detected as soon as five bytes are in, split over chunks, before any CRLFCRLF.
  const reader = new ResponseHeadReader(1024, 'p:1');
  t.equal(reader.feed(Buffer.from('HTT')), undefined, 'a prefix of HTTP/ waits');
  assertCorproxyError(
    t,
    () => reader.feed(Buffer.from('X/1.1')),
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /not HTTP/,
    'split',
  );
  const short = new ResponseHeadReader(1024, 'p:1');
  t.equal(short.feed(Buffer.from('SSH')), undefined, 'fewer than five bytes cannot be judged');
});

t.test('ResponseHeadReader: oversized head', async (t) => {
  const reader = new ResponseHeadReader(64, 'proxy.corp:8080');
  t.equal(reader.feed(Buffer.from('HTTP/1.1 200 OK\r\n')), undefined);
  t.equal(reader.feed(Buffer.from(`X-Pad: ${'a'.repeat(30)}\r\n`)), undefined, '56 bytes');
  assertCorproxyError(
    t,
    () => reader.feed(Buffer.from(`X-More: ${'b'.repeat(20)}\r\n`)),
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /^upstream proxy\.corp:8080 sent an oversized reply head$/,
    'over 64 bytes without a blank line',
  );
  // At exactly the limit it keeps waiting.
  const edge = new ResponseHeadReader(20, 'p');
  t.equal(edge.feed(Buffer.from(`HTTP/1.1 200 ${'x'.repeat(7)}`)), undefined, '20 bytes');
  assertCorproxyError(
    t,
    () => edge.feed(Buffer.from('y')),
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /oversized/,
    '21 bytes',
  );
});

t.test('ResponseHeadReader: a head over the limit is refused however it is chunked', async (t) => {
  const big = Buffer.from(`HTTP/1.1 200 OK\r\nX-Pad: ${'a'.repeat(200)}\r\n\r\n`);
  assertCorproxyError(
    t,
    () => new ResponseHeadReader(64, 'p').feed(big),
    'CPX_ERR_UPSTREAM_PROTOCOL',
    /oversized/,
    'one chunk of 230 bytes, limit 64',
    FIXED_BUG('the limit is only checked while no CRLFCRLF has arrived'),
  );
});

const VALID = Buffer.from('HTTP/1.1 200 Connection established\r\nVia: 1.1 p\r\n\r\nTUNNEL');
const PIECES = ['HTTP/1.1 ', '200', ' OK', '\r\n', '\r', '\n', ':', ' ', 'X', '\x00', '\xff'];

/** One fuzz input: random bytes, a mutated valid reply, or a soup of HTTP-ish pieces. */
function randomReply(rand: () => number): Buffer {
  const pick = (n: number): number => Math.floor(rand() * n);
  const mode = pick(3);
  if (mode === 0) return Buffer.from(Array.from({ length: pick(80) }, () => pick(256)));
  if (mode === 1) {
    const bytes = Buffer.from(VALID.subarray(0, VALID.length - pick(20)));
    for (let k = pick(4); k > 0; k--) bytes[pick(bytes.length)] = pick(256);
    return bytes;
  }
  const parts = [Buffer.from('HTTP/1.0 ')];
  for (let n = pick(30); n > 0; n--)
    parts.push(Buffer.from(PIECES[pick(PIECES.length)]!, 'latin1'));
  if (rand() < 0.5) parts.push(Buffer.from('\r\n\r\n'));
  return Buffer.concat(parts);
}

t.test('ResponseHeadReader fuzz: a head, undefined, or CorproxyError only', async (t) => {
  const rand = prng(0xc0ffee);
  const outcomes = { head: 0, pending: 0, error: 0 };
  const strays: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const bytes = randomReply(rand);
    const reader = new ResponseHeadReader(16 + Math.floor(rand() * 200), 'fuzz');
    let at = 0;
    let done = false;
    while (!done && at <= bytes.length) {
      const size = 1 + Math.floor(rand() * 12);
      const chunk = bytes.subarray(at, at + size);
      at += size;
      try {
        const head = reader.feed(chunk);
        if (head !== undefined) {
          const valid =
            Number.isInteger(head.status) &&
            head.status >= 100 &&
            head.status <= 999 &&
            Buffer.isBuffer(head.rest) &&
            head.headers.every(([k]) => k !== '' && k === k.toLowerCase());
          if (!valid) strays.push(`iteration ${i}: implausible head`);
          outcomes.head++;
          done = true;
        }
      } catch (err) {
        const fine = err instanceof CorproxyError && err.code === 'CPX_ERR_UPSTREAM_PROTOCOL';
        if (!fine) strays.push(`iteration ${i}: ${String(err)}`);
        outcomes.error++;
        done = true;
      }
    }
    if (!done) outcomes.pending++;
  }
  t.same(strays, [], 'no other exception type, no implausible head');
  // The generator reaches all three outcomes, so the loop tests something.
  t.ok(outcomes.head > 50, `heads: ${outcomes.head}`);
  t.ok(outcomes.error > 50, `errors: ${outcomes.error}`);
  t.ok(outcomes.pending > 20, `pending: ${outcomes.pending}`);
});

t.test('offeredSchemes', async (t) => {
  const pa = (value: string): [string, string] => ['proxy-authenticate', value];
  const cases: ReadonlyArray<readonly [ReadonlyArray<readonly [string, string]>, string[]]> = [
    [[], []],
    [[pa('Basic realm="a"')], ['Basic']],
    [[pa('Basic')], ['Basic']],
    [[pa('NTLM')], ['NTLM']],
    [[pa('Negotiate YII=')], ['Negotiate']],
    [[pa('Negotiate, NTLM')], ['Negotiate', 'NTLM']],
    [
      [pa('Negotiate'), pa('NTLM'), pa('Basic realm="corp"')],
      ['Negotiate', 'NTLM', 'Basic'],
    ],
    [[pa('Basic realm="a", charset="UTF-8"')], ['Basic']],
    [[pa('Digest realm="corp", qop="auth,auth-int", nonce="x", algorithm=MD5')], ['Digest']],
    // RFC 9110 §11.6.1's example: two challenges in one field, the second after params.
    [
      [pa('Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"')],
      ['Newauth', 'Basic'],
    ],
    [[pa('Bearer, Basic realm="x"')], ['Bearer', 'Basic']],
    // Duplicates are reported once, in first-seen order.
    [
      [pa('Basic realm="a"'), pa('Basic realm="b"'), pa('NTLM, Basic')],
      ['Basic', 'NTLM'],
    ],
    // Only Proxy-Authenticate counts (the reader lower-cases names).
    [[['www-authenticate', 'Basic realm="origin"'], pa('NTLM')], ['NTLM']],
    [
      [
        ['via', 'Negotiate x'],
        ['x-proxy-authenticate', 'Basic'],
      ],
      [],
    ],
    [[pa(''), pa(' , ,')], []],
    [[pa('  Basic  realm="x"')], ['Basic']],
  ];
  for (const [headers, want] of cases) {
    t.same(offeredSchemes(headers), want, JSON.stringify(headers));
  }
});

t.test('offeredSchemes ignores commas inside quoted strings and space before "="', async (t) => {
  const pa = (value: string): [string, string] => ['proxy-authenticate', value];
  // RFC 9110 §11.2: auth-param = token BWS "=" BWS ( token / quoted-string ).
  const known = FIXED_BUG('splits on every comma, even inside quotes');
  t.same(offeredSchemes([pa('Basic realm="Corp, Inc proxy"')]), ['Basic'], 'quoted', known);
  t.same(
    offeredSchemes([pa('Basic realm = "corp", charset = "UTF-8"')]),
    ['Basic'],
    'BWS around =',
    known,
  );
});

// RFC 9110 §7.6.1 fields plus the proxy-specific ones a proxy must not forward.
const HOP_FIELDS = [
  'Connection',
  'Keep-Alive',
  'Proxy-Connection',
  'Proxy-Authenticate',
  'Proxy-Authorization',
  'TE',
  'Trailer',
  'Transfer-Encoding',
  'Upgrade',
];

t.test('stripHopByHop removes every hop-by-hop field in any case', async (t) => {
  for (const field of HOP_FIELDS) {
    for (const name of [field, field.toLowerCase(), field.toUpperCase()]) {
      const out = stripHopByHop(['Host', 'example.com', name, 'x', 'Accept', '*/*']);
      t.same(
        out,
        [
          ['Host', 'example.com'],
          ['Accept', '*/*'],
        ],
        name,
      );
    }
  }
  const all = HOP_FIELDS.flatMap((f) => [f, 'v']);
  t.same(stripHopByHop(all), [], 'a list of only hop-by-hop fields becomes empty');
});

t.test('stripHopByHop removes fields named in Connection', async (t) => {
  const raw = [
    'Host',
    'example.com',
    'X-Trace',
    'abc',
    'Connection',
    'keep-alive, X-Trace ,  X-Secret',
    'x-secret',
    's',
    'CONNECTION',
    'X-Other',
    'X-OTHER',
    'o',
    'Cookie',
    'a=1',
  ];
  t.same(stripHopByHop(raw), [
    ['Host', 'example.com'],
    ['Cookie', 'a=1'],
  ]);
  // "close" names no field; empty items are harmless.
  t.same(stripHopByHop(['Connection', 'close,,', 'Accept', '*/*']), [['Accept', '*/*']]);
});

t.test('stripHopByHop keeps end-to-end fields, their case, values and order', async (t) => {
  const raw = [
    'Host',
    'example.com',
    'user-agent',
    'Go-http-client/1.1',
    'Accept',
    'text/html',
    'X-Dup',
    '1',
    'Accept',
    'application/json',
    'x-dup',
    '2',
    'Content-Length',
    '5',
    'Authorization',
    'Bearer origin-token',
  ];
  t.same(stripHopByHop(raw), [
    ['Host', 'example.com'],
    ['user-agent', 'Go-http-client/1.1'],
    ['Accept', 'text/html'],
    ['X-Dup', '1'],
    ['Accept', 'application/json'],
    ['x-dup', '2'],
    ['Content-Length', '5'],
    ['Authorization', 'Bearer origin-token'],
  ]);
  t.same(stripHopByHop([]), []);
  t.same(
    stripHopByHop(['Host', 'h', 'Dangling']),
    [['Host', 'h']],
    'an odd trailing name is dropped',
  );
});
