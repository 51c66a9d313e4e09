import net from 'node:net';
import t from 'tap';
import {
  drainBody,
  framing,
  keepsAlive,
  MAX_DRAIN_BYTES,
  SocketReader,
} from '../../../src/auth/reply.js';
import type { ResponseHead } from '../../../src/proxy/http1.js';
import { listen } from '../../support/net.js';

function head(headers: Array<[string, string]>, status = 407): ResponseHead {
  return { status, reason: '', headers, rest: Buffer.alloc(0) };
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A connected pair: `server` is what the test writes, `reader` reads the client side. */
async function pair(
  t: Teardown,
  timeoutMs = 1000,
): Promise<{ server: net.Socket; client: net.Socket; reader: SocketReader }> {
  let server!: net.Socket;
  const got = new Promise<void>((resolve) => {
    const srv = net.createServer({ allowHalfOpen: true }, (s) => {
      server = s;
      s.on('error', () => undefined);
      resolve();
    });
    void listen(t, srv).then((port) => {
      const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      client.on('error', () => undefined);
      clientP(client);
    });
  });
  let clientP!: (c: net.Socket) => void;
  const client = await new Promise<net.Socket>((resolve) => (clientP = resolve));
  await got;
  t.teardown(() => {
    client.destroy();
    server.destroy();
  });
  return {
    server,
    client,
    reader: new SocketReader(client, { who: 'up.test:1', timeoutMs, maxHeaderSize: 4096 }),
  };
}

t.test('framing and keep-alive of a 407', async (t) => {
  t.same(framing(head([['content-length', '12']])), { kind: 'length', length: 12 });
  t.same(
    framing(head([['content-length', '5, 5']])),
    { kind: 'length', length: 5 },
    'repeated same value',
  );
  t.same(framing(head([['content-length', '5, 6']])), { kind: 'close' }, 'conflicting values');
  t.same(framing(head([['content-length', '-1']])), { kind: 'close' });
  t.same(framing(head([['transfer-encoding', 'gzip, chunked']])), { kind: 'chunked' });
  t.same(framing(head([['transfer-encoding', 'gzip']])), { kind: 'close' });
  t.same(
    framing(
      head([
        ['transfer-encoding', 'chunked'],
        ['content-length', '3'],
      ]),
    ),
    { kind: 'chunked' },
    'TE wins (RFC 9112 §6.3)',
  );
  t.same(framing(head([])), { kind: 'close' });
  t.ok(keepsAlive(head([])));
  t.ok(keepsAlive(head([['connection', 'keep-alive']])));
  t.notOk(keepsAlive(head([['connection', 'Keep-Alive, Close']])));
  t.notOk(keepsAlive(head([['proxy-connection', 'close']])));
});

t.test('drainBody by Content-Length leaves the next reply in place', async (t) => {
  const { server, reader } = await pair(t);
  server.write('HTTP/1.1 407 x\r\nContent-Length: 5\r\n\r\nab');
  const h = await reader.head('CONNECT');
  server.write('cdeHTTP/1.1 200 OK\r\n\r\ntunnel');
  t.ok(await drainBody(reader, h, 'CONNECT'));
  const next = await reader.head('CONNECT');
  t.equal(next.status, 200);
  t.equal(reader.detach().toString(), 'tunnel');
});

t.test('drainBody: chunked with extensions and trailers', async (t) => {
  const { server, reader } = await pair(t);
  server.write(
    'HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Trailer: y\r\n\r\nNEXT',
  );
  const h = await reader.head('CONNECT');
  t.ok(await drainBody(reader, h, 'CONNECT'));
  t.equal(reader.detach().toString(), 'NEXT');
});

t.test('drainBody: no reuse when closing, unframed, oversized or malformed', async (t) => {
  const cases: Array<[string, string]> = [
    ['Connection: close', 'HTTP/1.1 407 x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'],
    ['no framing', 'HTTP/1.1 407 x\r\n\r\n'],
    ['oversized length', `HTTP/1.1 407 x\r\nContent-Length: ${MAX_DRAIN_BYTES + 1}\r\n\r\n`],
    ['bad chunk size', 'HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    [
      'oversized chunks',
      `HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\n${(MAX_DRAIN_BYTES + 1).toString(16)}\r\n`,
    ],
  ];
  for (const [name, reply] of cases) {
    const { server, reader } = await pair(t);
    server.write(reply);
    const h = await reader.head('CONNECT');
    t.notOk(await drainBody(reader, h, 'CONNECT'), name);
  }
});

t.test('drainBody: the upstream closes inside the body or the trailers', async (t) => {
  for (const body of [
    'HTTP/1.1 407 x\r\nContent-Length: 9\r\n\r\nabc',
    'HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n',
    'HTTP/1.1 407 x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab',
  ]) {
    const { server, reader } = await pair(t);
    server.end(body);
    const h = await reader.head('CONNECT');
    t.notOk(await drainBody(reader, h, 'CONNECT'), JSON.stringify(body.slice(-12)));
    t.ok(reader.atEnd);
  }
});

t.test('SocketReader: closed, failed, timed out, not HTTP', async (t) => {
  const a = await pair(t);
  a.server.end();
  await t.rejects(a.reader.head('CONNECT'), {
    code: 'CPX_ERR_UPSTREAM_PROTOCOL',
    message: 'upstream up.test:1 closed the connection before answering CONNECT',
  });
  const b = await pair(t, 100);
  await t.rejects(b.reader.head('HEAD'), {
    code: 'CPX_ERR_UPSTREAM_TIMEOUT',
    message: 'upstream up.test:1 did not answer HEAD within 100 ms',
  });
  const c = await pair(t);
  c.server.write('SSH-2.0-x\r\n');
  await t.rejects(c.reader.head('CONNECT'), {
    code: 'CPX_ERR_UPSTREAM_PROTOCOL',
    message: /not HTTP/,
  });
  const d = await pair(t);
  d.client.emit('error', Object.assign(new Error('reset'), { code: 'ECONNRESET' }));
  await t.rejects(d.reader.head('CONNECT'), {
    code: 'CPX_ERR_UPSTREAM_UNREACHABLE',
    message: /connection reset/,
  });
});

t.test('after detach the socket delivers later bytes to a new data listener', async (t) => {
  const { server, client, reader } = await pair(t);
  server.write('HTTP/1.1 200 OK\r\n\r\nfirst');
  await reader.head('CONNECT');
  const rest = reader.detach();
  let received = '';
  client.on('data', (d: Buffer) => (received += d.toString()));
  server.write('later');
  await readUntilText(() => rest.toString() + received, 'firstlater');
  t.equal(rest.toString() + received, 'firstlater', 'no byte lost or duplicated');
});

/** Polls (bounded) until `text()` equals `want`. */
async function readUntilText(text: () => string, want: string): Promise<void> {
  for (let i = 0; i < 50 && text() !== want; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
