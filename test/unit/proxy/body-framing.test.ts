import t, { type Test } from 'tap';
import {
  ChunkedError,
  ChunkedScanner,
  responseFraming,
  serverKeepsAlive,
  type ResponseFraming,
} from '../../../src/proxy/body-framing.js';

type Pairs = ReadonlyArray<readonly [string, string]>;

t.test('responseFraming follows RFC 9112 §6.3 for responses', async (t) => {
  const chunkedAndLength: Pairs = [
    ['transfer-encoding', 'chunked'],
    ['content-length', '10'],
  ];
  const cases: ReadonlyArray<readonly [string, string, number, Pairs, object]> = [
    ['HEAD with length', 'HEAD', 200, [['content-length', '10']], { kind: 'none' }],
    ['HEAD with chunked', 'HEAD', 200, [['transfer-encoding', 'chunked']], { kind: 'none' }],
    ['100', 'GET', 100, [], { kind: 'none' }],
    ['101', 'GET', 101, [['content-length', '5']], { kind: 'none' }],
    ['199', 'GET', 199, [], { kind: 'none' }],
    ['204 with chunked', 'GET', 204, [['transfer-encoding', 'chunked']], { kind: 'none' }],
    ['304 with length', 'GET', 304, [['content-length', '10']], { kind: 'none' }],
    ['205 is not special', 'GET', 205, [['content-length', '0']], { kind: 'length', length: 0 }],
    ['2xx to CONNECT', 'CONNECT', 200, [], { kind: 'invalid', reason: /tunnel/ }],
    ['407 to CONNECT', 'CONNECT', 407, [['content-length', '3']], { kind: 'length', length: 3 }],
    ['chunked', 'GET', 200, [['transfer-encoding', 'chunked']], { kind: 'chunked' }],
    ['chunked any case', 'GET', 200, [['transfer-encoding', 'CHUNKED']], { kind: 'chunked' }],
    ['gzip, chunked', 'POST', 200, [['transfer-encoding', 'gzip, chunked']], { kind: 'chunked' }],
    [
      'chunked with empty elements',
      'GET',
      200,
      [['transfer-encoding', 'chunked, ']],
      { kind: 'chunked' },
    ],
    ['TE wins over CL', 'GET', 200, chunkedAndLength, { kind: 'chunked' }],
    ['TE gzip only', 'GET', 200, [['transfer-encoding', 'gzip']], { kind: 'close' }],
    [
      'TE chunked not final',
      'GET',
      200,
      [['transfer-encoding', 'chunked, gzip']],
      { kind: 'close' },
    ],
    ['TE empty', 'GET', 200, [['transfer-encoding', '']], { kind: 'close' }],
    [
      'TE gzip and CL',
      'GET',
      200,
      [
        ['transfer-encoding', 'gzip'],
        ['content-length', '10'],
      ],
      { kind: 'close' },
    ],
    ['CL', 'GET', 200, [['content-length', '10']], { kind: 'length', length: 10 }],
    ['CL 0', 'GET', 500, [['content-length', '0']], { kind: 'length', length: 0 }],
    ['CL same list', 'GET', 200, [['content-length', '10, 10']], { kind: 'length', length: 10 }],
    [
      'CL same repeated',
      'GET',
      200,
      [
        ['content-length', '10'],
        ['content-length', '10'],
      ],
      { kind: 'length', length: 10 },
    ],
    [
      'CL differs',
      'GET',
      200,
      [['content-length', '10, 11']],
      { kind: 'invalid', reason: /Content-Length/ },
    ],
    ['CL not digits', 'GET', 200, [['content-length', 'ten']], { kind: 'invalid' }],
    ['CL negative', 'GET', 200, [['content-length', '-1']], { kind: 'invalid' }],
    ['CL empty', 'GET', 200, [['content-length', '']], { kind: 'invalid' }],
    ['CL over 2**53-1', 'GET', 200, [['content-length', '9007199254740992']], { kind: 'invalid' }],
    ['CL name as sent', 'GET', 200, [['Content-Length', '4']], { kind: 'length', length: 4 }],
    ['neither', 'GET', 200, [['content-type', 'text/plain']], { kind: 'close' }],
  ];
  for (const [label, method, status, headers, expected] of cases) {
    t.match(responseFraming(method, status, headers), expected, label);
  }
});

t.test('serverKeepsAlive', async (t) => {
  const length: ResponseFraming = { kind: 'length', length: 1 };
  const close: ResponseFraming = { kind: 'close' };
  const bad: ResponseFraming = { kind: 'invalid', reason: 'x' };
  const cases: ReadonlyArray<readonly [string, '1.0' | '1.1', Pairs, ResponseFraming, boolean]> = [
    ['1.1 length', '1.1', [], length, true],
    ['1.1 chunked', '1.1', [], { kind: 'chunked' }, true],
    ['1.1 none', '1.1', [], { kind: 'none' }, true],
    ['1.1 close framing', '1.1', [], close, false],
    ['1.1 invalid framing', '1.1', [], bad, false],
    ['1.1 Connection: close', '1.1', [['connection', 'close']], length, false],
    ['1.1 close in a list', '1.1', [['connection', 'Keep-Alive, CLOSE']], length, false],
    [
      '1.1 close in second field',
      '1.1',
      [
        ['connection', 'x'],
        ['connection', 'close'],
      ],
      length,
      false,
    ],
    ['1.1 other token', '1.1', [['connection', 'upgrade']], length, true],
    ['1.0 default', '1.0', [], length, false],
    ['1.0 keep-alive', '1.0', [['connection', 'keep-alive']], length, true],
    ['1.0 keep-alive, close framing', '1.0', [['connection', 'keep-alive']], close, false],
    ['1.0 keep-alive and close', '1.0', [['connection', 'keep-alive, close']], length, false],
  ];
  for (const [label, version, headers, framing, expected] of cases) {
    t.equal(serverKeepsAlive(version, headers, framing), expected, label);
  }
});

const LIMITS = { maxLineBytes: 64, maxTrailerBytes: 128 };

/** Bytes that look like framing, to show that chunk data is skipped rather than parsed. */
function data(n: number): string {
  const pattern = '0\r\n\r\nZ;\n\r';
  return pattern.repeat(Math.ceil(n / pattern.length)).slice(0, n);
}

/** A chunk written with the size in hex as given (so case and leading zeros can vary). */
function chunk(hex: string, ext = ''): string {
  return `${hex}${ext}\r\n${data(parseInt(hex, 16))}\r\n`;
}

const VALID_BODIES: ReadonlyArray<readonly [string, string]> = [
  ['only the last chunk', '0\r\n\r\n'],
  ['one chunk', `${chunk('5')}0\r\n\r\n`],
  ['hex lower and upper', `${chunk('a')}${chunk('B')}${chunk('1f4')}${chunk('3E8')}0\r\n\r\n`],
  ['leading zeros', `${chunk('0005')}000\r\n\r\n`],
  [
    'extensions',
    `${chunk('3', ';name=value')}${chunk('4', ';a;b="q;u\\"o\\\\te"')}` +
      `${chunk('2', ' \t;x=\xe9')}0;last=1\r\n\r\n`,
  ],
  ['trailers', `${chunk('3')}0\r\nExpires: never\r\nX-Trailer:\tv a l\xff\r\nEmpty:\r\n\r\n`],
  ['large sizes', `${chunk('FFF')}${chunk('fff')}${chunk('1000')}0\r\n\r\n`],
];

const EXTRA = 'HTTP/1.1 200 OK\r\n\r\n';

/** Pushes `pieces` in order; returns the total used and whether the body ended. */
function feed(scanner: ChunkedScanner, pieces: readonly Buffer[]): { used: number; done: boolean } {
  let used = 0;
  let done = false;
  for (const piece of pieces) {
    const result = scanner.push(piece);
    used += result.used;
    done = result.done;
  }
  return { used, done };
}

function bytePieces(buf: Buffer): Buffer[] {
  return Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));
}

t.test('ChunkedScanner finds the end of valid bodies at every split point', async (t) => {
  for (const [label, text] of VALID_BODIES) {
    const body = Buffer.from(text, 'latin1');
    const input = Buffer.concat([body, Buffer.from(EXTRA)]);
    const whole = new ChunkedScanner(LIMITS).push(input);
    t.same(whole, { used: body.length, done: true }, `${label}: one push stops at the body end`);
    let mismatches = 0;
    for (let i = 0; i <= input.length; i++) {
      const scanner = new ChunkedScanner(LIMITS);
      const first = scanner.push(input.subarray(0, i));
      const second = scanner.push(input.subarray(i));
      const ok =
        first.used === Math.min(i, body.length) &&
        first.done === i >= body.length &&
        first.used + second.used === body.length &&
        second.done &&
        scanner.done;
      if (!ok) mismatches += 1;
    }
    t.equal(mismatches, 0, `${label}: every split point agrees`);
    const scanner = new ChunkedScanner(LIMITS);
    t.same(
      feed(scanner, bytePieces(body)),
      { used: body.length, done: true },
      `${label}: 1-byte pieces`,
    );
  }
});

t.test('ChunkedScanner finds back-to-back bodies across seeded random splits', async (t) => {
  let seed = 12345;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const bodies = VALID_BODIES.map(([, text]) => Buffer.from(text, 'latin1'));
  const stream = Buffer.concat(bodies);
  const expectedEnds = bodies.map((_, i) =>
    bodies.slice(0, i + 1).reduce((n, b) => n + b.length, 0),
  );
  let failures = 0;
  for (let round = 0; round < 100; round++) {
    const ends: number[] = [];
    let scanner = new ChunkedScanner(LIMITS);
    for (let at = 0; at < stream.length;) {
      const piece = stream.subarray(at, at + 1 + random(64));
      for (let offset = 0; offset < piece.length;) {
        const { used, done } = scanner.push(piece.subarray(offset));
        offset += used;
        if (done) {
          ends.push(at + offset);
          scanner = new ChunkedScanner(LIMITS);
        }
      }
      at += piece.length;
    }
    if (ends.join() !== expectedEnds.join()) failures += 1;
  }
  t.equal(failures, 0, '100 random splittings find every body end');
});

t.test('ChunkedScanner before and after the end', async (t) => {
  const scanner = new ChunkedScanner(LIMITS);
  t.same(scanner.push(Buffer.alloc(0)), { used: 0, done: false }, 'empty push');
  t.equal(scanner.done, false, 'not done at start');
  const start = Buffer.from('5\r\nhel');
  t.same(scanner.push(start), { used: start.length, done: false }, 'inside chunk data');
  t.equal(scanner.done, false, 'not done inside data');
  const end = Buffer.from('lo\r\n0\r\n\r\n');
  const next = Buffer.concat([end, Buffer.from('GET')]);
  t.same(scanner.push(next), { used: end.length, done: true }, 'end found, next bytes left');
  t.equal(scanner.done, true, 'done getter');
  t.same(scanner.push(Buffer.from('more')), { used: 0, done: true }, 'nothing used after the end');
});

t.test('ChunkedScanner accepts the largest chunk size and skips its data', async (t) => {
  const scanner = new ChunkedScanner(LIMITS);
  const head = scanner.push(Buffer.from('1FFFFFFFFFFFFF\r\n'));
  t.same(head, { used: 16, done: false }, '2**53-1 is a valid size');
  const big = Buffer.alloc(8 * 1024 * 1024, 0x0a);
  t.same(scanner.push(big), { used: big.length, done: false }, 'data, even LF bytes, is skipped');
});

function scanError(pieces: readonly Buffer[], limits = LIMITS): ChunkedError | undefined {
  const scanner = new ChunkedScanner(limits);
  try {
    for (const piece of pieces) scanner.push(piece);
  } catch (err) {
    if (err instanceof ChunkedError) return err;
    throw err;
  }
  return undefined;
}

function assertMalformed(t: Test, label: string, text: string, why: RegExp, limits = LIMITS): void {
  const input = Buffer.from(text, 'latin1');
  const whole = scanError([input], limits);
  t.ok(whole instanceof ChunkedError, `${label}: throws ChunkedError`);
  t.match(whole?.reason, why, `${label}: reason`);
  t.match(whole?.message, /malformed chunked body/, `${label}: message`);
  const reasons = new Set<string | undefined>();
  for (let i = 0; i <= input.length; i++) {
    reasons.add(scanError([input.subarray(0, i), input.subarray(i)], limits)?.reason);
  }
  reasons.add(scanError(bytePieces(input), limits)?.reason);
  t.same([...reasons], [whole?.reason], `${label}: same error at every split point`);
}

t.test('ChunkedScanner rejects malformed bodies', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['non-hex size', 'g\r\n', /not hexadecimal/],
    ['junk after size', '5x\r\nhello\r\n', /not hexadecimal/],
    ['0x prefix', '0x5\r\n', /not hexadecimal/],
    ['negative size', '-5\r\n', /not hexadecimal/],
    ['space before size', ' 5\r\n', /missing chunk size/],
    ['empty size line', '\r\n', /missing chunk size/],
    ['extension without size', ';a=b\r\n', /missing chunk size/],
    ['size 2**53', '20000000000000\r\n', /over 2\*\*53-1/],
    ['size far too large', 'FFFFFFFFFFFFFFFFFFFF\r\n', /over 2\*\*53-1/],
    ['whitespace before CRLF', '5 \r\nhello\r\n', /whitespace after chunk size/],
    ['whitespace then junk', '5 x\r\n', /whitespace after chunk size/],
    ['data too long', '5\r\nhelloX\r\n0\r\n\r\n', /not followed by CRLF/],
    ['data then LF only', '5\r\nhello\n0\r\n\r\n', /not followed by CRLF/],
    ['data then CR only', '5\r\nhello\rX', /not followed by CRLF/],
    ['bare LF after size', '5\nhello\r\n', /bare LF in chunk-size line/],
    ['bare LF after extension', '5;a=b\nhello\r\n', /bare LF in chunk-size line/],
    ['bare CR after size', '5\rhello', /bare CR in chunk-size line/],
    ['bare LF for the final line', '0\r\n\n', /bare LF in trailer section/],
    ['bare CR for the final line', '0\r\n\rX', /bare CR after trailer section/],
    ['bare LF in a trailer', '0\r\nX: y\n\r\n', /bare LF in trailer section/],
    ['bare CR in a trailer', '0\r\nX: y\rZ\r\n\r\n', /bare CR in trailer section/],
    ['NUL in an extension', '5;a\0b\r\nhello\r\n', /control character in chunk-size line/],
    ['DEL in an extension', '5;a\x7f\r\nhello\r\n', /control character in chunk-size line/],
    ['CTL in a trailer value', '0\r\nX: a\x01b\r\n\r\n', /control character in trailer section/],
    ['obs-fold in trailers', '0\r\nX: a\r\n b\r\n\r\n', /obsolete line folding/],
    ['trailer without colon', '0\r\nX\r\n\r\n', /malformed trailer field name/],
    ['space in trailer name', '0\r\nX y: z\r\n\r\n', /malformed trailer field name/],
    ['empty trailer name', '0\r\n: z\r\n\r\n', /malformed trailer field name/],
  ];
  for (const [label, text, why] of cases) assertMalformed(t, label, text, why);
});

t.test('ChunkedScanner limits', async (t) => {
  const limits = { maxLineBytes: 16, maxTrailerBytes: 20 };
  const line16 = `5;${'e'.repeat(14)}`;
  const body = Buffer.from(`${line16}\r\nhello\r\n0\r\n${'T: '.padEnd(18, 'v')}\r\n\r\n`);
  t.same(new ChunkedScanner(limits).push(body), { used: body.length, done: true }, 'at the limits');
  assertMalformed(t, 'size line over the limit', `${line16}e\r\n`, /longer than 16 bytes/, limits);
  assertMalformed(
    t,
    'zeros over the limit',
    `${'0'.repeat(17)}5\r\n`,
    /longer than 16 bytes/,
    limits,
  );
  const trailer21 = `0\r\n${'T: '.padEnd(19, 'v')}\r\n\r\n`;
  assertMalformed(t, 'trailer over the limit', trailer21, /larger than 20 bytes/, limits);
  const twoTrailers = `0\r\nA: 12345678\r\nB: 1234\r\n\r\n`;
  assertMalformed(t, 'trailers add up', twoTrailers, /larger than 20 bytes/, limits);
});

t.test('ChunkedScanner keeps failing after an error', async (t) => {
  const thrownBy = (fn: () => unknown): unknown => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    return undefined;
  };
  const scanner = new ChunkedScanner(LIMITS);
  const first = thrownBy(() => scanner.push(Buffer.from('5\r\nhello\r\nz')));
  t.ok(first instanceof ChunkedError, 'push throws ChunkedError');
  t.match(first, { reason: 'chunk size is not hexadecimal', name: 'ChunkedError' }, 'reason');
  const again = thrownBy(() => scanner.push(Buffer.from('0\r\n\r\n')));
  t.equal(again, first, 'a valid ending after the error throws the same error');
  t.equal(scanner.done, false, 'never done after an error');
});
