/**
 * Downloads through CONNECT tunnels arrive byte for byte while the remote side reads
 * into shared and reused buffers (src/proxy/relay-reads.ts): a client that stalls makes
 * corproxy's writes queue, which is exactly when a reused buffer could be overwritten.
 *
 *   client --CONNECT--> corproxy --(direct)-------------------> bulk origin
 *   client --CONNECT--> corproxy --CONNECT--> fake upstream ---> bulk origin
 */
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import t from 'tap';
import { relayReadStats } from '../../src/proxy/relay-reads.js';
import { startCorproxy } from '../support/corproxy.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { listen } from '../support/net.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Sends `payload` to every connection (after `cutAfter` bytes it resets instead). */
async function startBulkOrigin(t: Teardown, payload: Buffer, cutAfter?: number): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    if (cutAfter === undefined) {
      socket.end(payload);
      return;
    }
    socket.write(payload.subarray(0, cutAfter), () => socket.resetAndDestroy());
  });
  return listen(t, server);
}

interface Download {
  readonly status: string;
  readonly body: Buffer;
  readonly ended: boolean;
}

/**
 * CONNECT to `target` and read the tunnel to its end. `stalls` are byte counts at which
 * the client stops reading for `stallMs`, so that corproxy's writes to it queue.
 */
function download(
  port: number,
  target: string,
  stalls: readonly number[] = [],
  stallMs = 150,
): Promise<Download> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let head: string | undefined;
    let pending = Buffer.alloc(0);
    let got = 0;
    let nextStall = 0;
    let ended = false;
    const timer = setTimeout(() => socket.destroy(new Error('download took over 20 s')), 20_000);
    socket.on('connect', () =>
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`),
    );
    socket.on('data', (chunk: Buffer) => {
      if (head === undefined) {
        pending = Buffer.concat([pending, chunk]);
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = pending.subarray(0, end).toString('latin1');
        chunk = pending.subarray(end + 4);
      }
      chunks.push(chunk);
      got += chunk.length;
      if (nextStall < stalls.length && got >= stalls[nextStall]!) {
        nextStall += 1;
        socket.pause();
        setTimeout(() => socket.resume(), stallMs);
      }
    });
    socket.on('end', () => {
      ended = true;
      socket.end();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (head === undefined) reject(new Error('no reply head'));
      else resolve({ status: head.split('\r\n')[0]!, body: Buffer.concat(chunks), ended });
    });
  });
}

const MiB = 1024 * 1024;

t.test('a download that stalls twice arrives intact, and its buffer is given back', async (t) => {
  const payload = randomBytes(24 * MiB);
  const port = await startBulkOrigin(t, payload);
  const proxy = await startCorproxy(t, { hosts: ['bulk.example.test=127.0.0.1'] });
  const before = relayReadStats();
  const got = await download(proxy.port, `bulk.example.test:${port}`, [2 * MiB, 9 * MiB]);
  t.match(got.status, /^HTTP\/1\.1 200 /);
  t.equal(got.body.length, payload.length);
  t.equal(sha(got.body), sha(payload), 'every byte in order');
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec!.bytesDown, payload.length);
  const after = relayReadStats();
  t.ok(after.bulkTaken > before.bulkTaken, 'the download moved to a bulk buffer');
  t.equal(after.bulkInUse, before.bulkInUse, 'which was given back when the tunnel ended');
});

t.test('through an upstream whose reply head carries the first bytes', async (t) => {
  const payload = randomBytes(12 * MiB);
  const port = await startBulkOrigin(t, payload);
  const up = await startFakeUpstream(t, 'early');
  up.resolve.set('bulk.example.test', port);
  const proxy = await startCorproxy(t, { upstream: [up.url] });
  const before = relayReadStats();
  const got = await download(proxy.port, `bulk.example.test:${port}`, [1 * MiB]);
  t.match(got.status, /^HTTP\/1\.1 200 /);
  t.equal(sha(got.body), sha(payload), 'every byte in order');
  const [rec] = await proxy.waitForRecords(1);
  t.match(rec, { route: 'upstream', bytesDown: payload.length });
  t.ok(relayReadStats().bulkTaken > before.bulkTaken, 'the download moved to a bulk buffer');
});

t.test('tunnels reading at once share the scratch buffer without mixing bytes', async (t) => {
  const payloads = [randomBytes(8 * MiB), randomBytes(8 * MiB), randomBytes(3 * MiB)];
  const ports = await Promise.all(payloads.map((p) => startBulkOrigin(t, p)));
  const proxy = await startCorproxy(t);
  const before = relayReadStats();
  const got = await Promise.all([
    download(proxy.port, `127.0.0.1:${ports[0]}`, [MiB, 3 * MiB, 5 * MiB], 80),
    download(proxy.port, `127.0.0.1:${ports[1]}`),
    download(proxy.port, `127.0.0.1:${ports[2]}`, [64 * 1024], 300),
  ]);
  got.forEach((g, i) => t.equal(sha(g.body), sha(payloads[i]!), `tunnel ${i} intact`));
  await proxy.waitForRecords(3);
  t.equal(relayReadStats().bulkInUse, before.bulkInUse, 'every bulk buffer given back');
});

t.test('an origin that resets mid-download closes the tunnel and keeps no buffer', async (t) => {
  const payload = randomBytes(6 * MiB);
  const port = await startBulkOrigin(t, payload, 4 * MiB);
  const proxy = await startCorproxy(t);
  const before = relayReadStats();
  const got = await download(proxy.port, `127.0.0.1:${port}`, [MiB]);
  t.ok(got.body.length <= 4 * MiB, 'nothing past the reset');
  t.ok(
    payload.subarray(0, got.body.length).equals(got.body),
    'what arrived is the start of the payload',
  );
  const [rec] = await proxy.waitForRecords(1);
  t.equal(rec!.method, 'CONNECT');
  t.equal(relayReadStats().bulkInUse, before.bulkInUse, 'no bulk buffer kept');
});
