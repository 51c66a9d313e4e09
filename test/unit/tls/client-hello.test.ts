import t from 'tap';
import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  CLIENT_HELLO_MAX_BYTES,
  readClientHello,
  type ClientHelloResult,
} from '../../../src/tls/client-hello.js';
import { prng } from '../../support/prng.js';

/** Captures the first TLS record Node's client writes to a loopback socket. */
async function captureHello(servername?: string): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ClientHello within 5 s')), 5000);
      server.once('connection', (sock) => {
        let buf = Buffer.alloc(0);
        sock.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (buf.length >= 5 && buf.length >= 5 + buf.readUInt16BE(3)) {
            clearTimeout(timer);
            sock.destroy();
            resolve(buf.subarray(0, 5 + buf.readUInt16BE(3)));
          }
        });
      });
      const client = tls.connect({
        host: '127.0.0.1',
        port,
        ...(servername === undefined ? {} : { servername }),
        rejectUnauthorized: false,
      });
      client.on('error', () => client.destroy());
    });
  } finally {
    server.close();
  }
}

/** Splits one handshake message into TLS records of at most `size` bytes each. */
function rerecord(handshake: Buffer, size: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < handshake.length; i += size) {
    const part = handshake.subarray(i, i + size);
    out.push(Buffer.from([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff]), part);
  }
  return Buffer.concat(out);
}

const vec = (lenBytes: 1 | 2 | 3, body: Buffer): Buffer => {
  const len = Buffer.alloc(lenBytes);
  len.writeUIntBE(body.length, 0, lenBytes);
  return Buffer.concat([len, body]);
};

interface HelloParts {
  sessionId?: Buffer;
  suites?: Buffer;
  compression?: Buffer;
  /** Raw extensions block (without its length), or null for none at all. */
  extensions?: Buffer | null;
  version?: number;
}

/** A hand-built ClientHello handshake message (RFC 8446 §4.1.2). */
function buildHello(p: HelloParts = {}): Buffer {
  const body = Buffer.concat([
    Buffer.from([p.version ?? 0x03, 0x03]),
    Buffer.alloc(32, 7),
    vec(1, p.sessionId ?? Buffer.alloc(0)),
    vec(2, p.suites ?? Buffer.from([0x13, 0x01])),
    vec(1, p.compression ?? Buffer.from([0])),
    p.extensions === null ? Buffer.alloc(0) : vec(2, p.extensions ?? Buffer.alloc(0)),
  ]);
  return Buffer.concat([Buffer.from([0x01]), vec(3, body)]);
}

function sniExtension(name: string | Buffer, nameType = 0): Buffer {
  const entry = Buffer.concat([Buffer.from([nameType]), vec(2, Buffer.from(name))]);
  return Buffer.concat([Buffer.from([0, 0]), vec(2, vec(2, entry))]);
}

const KINDS = new Set(['tls', 'not-tls', 'need-more']);

t.test('a real ClientHello from node:tls', async (t) => {
  const hello = await captureHello('goproxy.example.test');
  t.same(readClientHello(hello), { kind: 'tls', sni: 'goproxy.example.test' });
  const upper = await captureHello('GoProxy.Example.TEST');
  t.same(readClientHello(upper), { kind: 'tls', sni: 'goproxy.example.test' }, 'lower-cased');
  const bare = await captureHello();
  t.same(readClientHello(bare), { kind: 'tls' }, 'an IP host sends no SNI');
  t.same(readClientHello(Buffer.concat([hello, Buffer.from('junk after')])).kind, 'tls');

  t.test('every split point of the record asks for more', async (t) => {
    for (let i = 0; i < hello.length; i++) {
      const r = readClientHello(hello.subarray(0, i));
      if (r.kind !== 'need-more') t.fail(`prefix ${i} gave ${r.kind}`);
    }
    t.pass(`${hello.length} prefixes`);
  });

  t.test('the handshake fragmented over several records is reassembled', async (t) => {
    const handshake = hello.subarray(5);
    for (const size of [1, 2, 7, 100, 512]) {
      const records = rerecord(handshake, size);
      t.same(
        readClientHello(records),
        { kind: 'tls', sni: 'goproxy.example.test' },
        `size ${size}`,
      );
      for (let i = 0; i < records.length; i += size === 1 ? 13 : 1) {
        const r = readClientHello(records.subarray(0, i));
        if (r.kind !== 'need-more') t.fail(`size ${size} prefix ${i} gave ${r.kind}`);
      }
    }
  });
});

t.test('bytes that are not a TLS ClientHello', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['HTTP request', Buffer.from('GET / HTTP/1.1\r\n')],
    ['SSH banner', Buffer.from('SSH-2.0-OpenSSH\r\n')],
    ['major version 2', Buffer.from([0x16, 0x02, 0x00])],
    ['record version 0x0309', Buffer.from([0x16, 0x03, 0x09])],
    ['empty record', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00, 0x01])],
    ['record over 2^14', Buffer.from([0x16, 0x03, 0x01, 0x40, 0x01, 0x01])],
    ['ServerHello', rerecord(Buffer.from([0x02, 0, 0, 2, 3, 3]), 100)],
    [
      'second record not TLS',
      Buffer.concat([rerecord(buildHello().subarray(0, 3), 3), Buffer.from([0x16, 0x02, 0, 0, 1])]),
    ],
    [
      'alert before hello completes',
      Buffer.concat([
        rerecord(buildHello().subarray(0, 10), 10),
        Buffer.from([0x15, 3, 1, 0, 2, 2, 40]),
      ]),
    ],
    [
      'alert before the handshake header',
      Buffer.concat([rerecord(Buffer.from([1, 0]), 2), Buffer.from([0x15, 3, 1, 0, 2, 2, 40])]),
    ],
    ['hello version 2', rerecord(buildHello({ version: 2 }), 4096)],
    ['session id of 33 bytes', rerecord(buildHello({ sessionId: Buffer.alloc(33) }), 4096)],
    ['odd cipher suite length', rerecord(buildHello({ suites: Buffer.from([0x13]) }), 4096)],
    ['no compression methods', rerecord(buildHello({ compression: Buffer.alloc(0) }), 4096)],
    [
      'truncated extension',
      rerecord(buildHello({ extensions: Buffer.from([0, 0, 0, 9, 1]) }), 4096),
    ],
    [
      'truncated server name list',
      rerecord(buildHello({ extensions: Buffer.from([0, 0, 0, 1, 0]) }), 4096),
    ],
    [
      'truncated server name entry',
      rerecord(
        buildHello({
          extensions: Buffer.concat([
            Buffer.from([0, 0]),
            vec(2, vec(2, Buffer.from([0, 0, 9, 0x61]))),
          ]),
        }),
        4096,
      ),
    ],
  ];
  for (const [name, bytes] of cases) t.same(readClientHello(bytes), { kind: 'not-tls' }, name);
  const declaredTooLong = Buffer.concat([
    Buffer.from([0x16, 3, 1]),
    vec(2, Buffer.from([1, 0, 0, 50, 3, 3])),
  ]);
  t.same(readClientHello(declaredTooLong), { kind: 'need-more' }, 'short record waits for more');
  const badExtLen = buildHello({ extensions: null });
  const withGarbageTail = Buffer.concat([badExtLen, Buffer.from([9])]);
  withGarbageTail.writeUIntBE(withGarbageTail.length - 4, 1, 3);
  t.same(
    readClientHello(rerecord(withGarbageTail, 4096)),
    { kind: 'not-tls' },
    'bad extensions vector',
  );
});

t.test('TLS without a usable server name', async (t) => {
  const cases: Array<[string, Buffer]> = [
    ['no extensions at all', buildHello({ extensions: null })],
    ['extensions without SNI', buildHello({ extensions: Buffer.from([0, 10, 0, 2, 0, 0x1d]) })],
    [
      'empty server name list',
      buildHello({
        extensions: Buffer.concat([Buffer.from([0, 0]), vec(2, vec(2, Buffer.alloc(0)))]),
      }),
    ],
    ['name type 1 only', buildHello({ extensions: sniExtension('a.test', 1) })],
    ['spaces in name', buildHello({ extensions: sniExtension('bad host.test') })],
    ['empty name', buildHello({ extensions: sniExtension('') })],
    ['trailing dot', buildHello({ extensions: sniExtension('a.test.') })],
    ['non-ASCII', buildHello({ extensions: sniExtension(Buffer.from('dömain.test', 'utf8')) })],
    ['name of 254 bytes', buildHello({ extensions: sniExtension(`${'a'.repeat(250)}.com`) })],
  ];
  for (const [name, hs] of cases)
    t.same(readClientHello(rerecord(hs, 4096)), { kind: 'tls' }, name);
  t.same(
    readClientHello(rerecord(buildHello({ extensions: sniExtension('x_y-1.Example.test') }), 4096)),
    { kind: 'tls', sni: 'x_y-1.example.test' },
  );
});

t.test('the 16 KiB cap', async (t) => {
  const big = buildHello({
    extensions: Buffer.concat([
      Buffer.from([0xff, 0x01]),
      vec(2, Buffer.alloc(CLIENT_HELLO_MAX_BYTES)),
    ]),
  });
  const first = rerecord(big, 16384).subarray(0, 64);
  t.same(readClientHello(first), { kind: 'tls' }, 'declared larger than the cap: final at once');
  const hs = buildHello({
    extensions: Buffer.concat([
      Buffer.from([0xff, 0x01]),
      vec(2, Buffer.alloc(4000)),
      sniExtension('late.test'),
    ]),
  });
  const tiny = rerecord(hs, 1); // six bytes on the wire per handshake byte
  t.ok(tiny.length > CLIENT_HELLO_MAX_BYTES);
  t.same(readClientHello(tiny.subarray(0, CLIENT_HELLO_MAX_BYTES - 1)), { kind: 'need-more' });
  t.same(readClientHello(tiny.subarray(0, CLIENT_HELLO_MAX_BYTES)), { kind: 'tls' }, 'cap reached');
  t.same(readClientHello(tiny), { kind: 'tls' }, 'bytes past the cap are not read');
  t.same(readClientHello(rerecord(hs, 16384)), { kind: 'tls', sni: 'late.test' });
});

function check(t: { fail(msg: string): unknown }, r: ClientHelloResult, label: string): void {
  if (!KINDS.has(r.kind)) t.fail(`${label}: kind ${r.kind}`);
  if (r.kind === 'tls' && r.sni !== undefined && !/^[a-z0-9_.-]+$/.test(r.sni)) {
    t.fail(`${label}: sni ${JSON.stringify(r.sni)}`);
  }
}

t.test('random bytes and mutated hellos never throw', async (t) => {
  const rand = prng(0xc0ffee);
  const hello = await captureHello('fuzz.example.test');
  const byte = (): number => Math.floor(rand() * 256);
  for (let i = 0; i < 3000; i++) {
    const len = Math.floor(rand() * 700);
    const buf = Buffer.from(Array.from({ length: len }, byte));
    if (rand() < 0.5 && len >= 3) buf.set([0x16, 0x03, Math.floor(rand() * 5)]);
    check(t, readClientHello(buf), `random #${i}`);
  }
  for (let i = 0; i < 3000; i++) {
    const buf = Buffer.from(hello.subarray(0, Math.floor(rand() * (hello.length + 1))));
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips && buf.length > 0; f++) buf[Math.floor(rand() * buf.length)] = byte();
    check(t, readClientHello(buf), `mutation #${i}`);
  }
  t.pass('6000 inputs');
});
