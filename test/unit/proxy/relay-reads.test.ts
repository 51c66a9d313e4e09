/**
 * relay-reads.ts without sockets: Node's `onread` contract is driven by hand (ask for a
 * buffer, fill some of it, call back), against a stand-in socket that records pushes.
 */
import type net from 'node:net';
import t from 'tap';
import {
  relayReadOptions,
  relayReadStats,
  relayTo,
  releaseReads,
} from '../../../src/proxy/relay-reads.js';

interface Harness {
  readonly socket: net.Socket;
  readonly pushed: Buffer[];
  readonly sunk: Buffer[];
  /** What the sink answers (false: the receiver is behind). */
  sinkAnswer: boolean;
  /** Sink calls that named another socket than the one read. */
  strangers: number;
  /** Node's side: the next buffer to read into, then `n` bytes of `fill` read into it. */
  read(n: number, fill: number): { buffer: Buffer; more: boolean };
  relay(highWaterMark?: number): boolean;
}

function harness(): Harness {
  const pushed: Buffer[] = [];
  const sunk: Buffer[] = [];
  const socket = {
    push: (chunk: Buffer) => {
      pushed.push(chunk);
      return pushed.length < 3;
    },
  } as unknown as net.Socket;
  const { onread, bind } = relayReadOptions();
  const gen = onread.buffer as () => Buffer;
  let current = gen();
  bind(socket);
  const h: Harness = {
    socket,
    pushed,
    sunk,
    sinkAnswer: true,
    strangers: 0,
    read(n, fill) {
      const buffer = current;
      buffer.fill(fill, 0, n);
      const more = onread.callback(n, buffer) !== false;
      current = gen();
      return { buffer, more };
    },
    relay(highWaterMark = 16 * 1024) {
      const receiver = { writableHighWaterMark: highWaterMark } as net.Socket;
      return relayTo(socket, receiver, (from, chunk) => {
        if (from !== socket) h.strangers += 1;
        sunk.push(chunk);
        return h.sinkAnswer;
      });
    },
  };
  return h;
}

const sameMemory = (a: Buffer, b: Buffer): boolean => a.buffer === b.buffer;

t.test('before the relay, reads are copied and pushed, as Node would', async (t) => {
  const h = harness();
  const first = h.read(100, 1);
  t.equal(h.pushed.length, 1);
  t.same([...h.pushed[0]!], new Array(100).fill(1));
  t.notOk(sameMemory(h.pushed[0]!, first.buffer), 'the pushed bytes are a copy');
  t.ok(first.more, 'push() wanting more keeps reading');
  const second = h.read(65536, 2);
  t.equal(second.buffer, first.buffer, 'one scratch buffer serves every read');
  t.equal(h.pushed[1]!.length, 65536);
  const third = h.read(10, 3);
  t.notOk(third.more, "push()'s false stops reading");
  t.equal(relayReadStats().bulkInUse, 0, 'no bulk buffer without a relay');
});

t.test('a relay copies short reads and moves to a bulk buffer after a full one', async (t) => {
  const h = harness();
  const before = relayReadStats().bulkInUse;
  t.ok(h.relay());
  const scratch = h.read(1000, 7).buffer;
  t.equal(h.sunk[0]!.length, 1000);
  t.notOk(sameMemory(h.sunk[0]!, scratch), 'a read into the shared scratch is copied');
  h.read(scratch.length, 8);
  t.notOk(sameMemory(h.sunk[1]!, scratch), 'a full scratch read is copied too');
  t.equal(relayReadStats().bulkInUse, before + 1, 'and the next read gets a bulk buffer');

  const big = h.read(300_000, 9);
  t.not(big.buffer, scratch);
  t.ok(big.buffer.length >= 1024 * 1024, 'the bulk buffer reads up to 1 MiB');
  t.ok(sameMemory(h.sunk[2]!, big.buffer), 'a long read is handed over as a view');
  t.equal(h.sunk[2]!.length, 300_000);
  t.ok(h.sunk[2]!.every((b) => b === 9));

  h.sinkAnswer = false;
  const again = h.read(20_000, 10);
  t.equal(again.buffer, big.buffer, 'the same bulk buffer is read into again');
  t.notOk(again.more, "the sink's false stops reading");

  h.sinkAnswer = true;
  const short = h.read(500, 11);
  t.equal(short.buffer, big.buffer);
  t.notOk(sameMemory(h.sunk[4]!, big.buffer), 'a read under the high-water mark is copied');
  t.equal(relayReadStats().bulkInUse, before, 'and gives the bulk buffer back');
  const next = h.read(10, 12);
  t.equal(next.buffer, scratch, 'the reads after that are back in the scratch buffer');
  t.equal(h.sunk.length, 6);
  t.equal(h.strangers, 0, 'the sink hears which socket read');
});

t.test('the high-water mark of the receiver decides what is copied', async (t) => {
  const h = harness();
  h.relay(128 * 1024);
  h.read(65536, 1);
  const copied = h.read(100_000, 2);
  t.equal(h.sunk[1]!.length, 100_000);
  t.notOk(sameMemory(h.sunk[1]!, copied.buffer), 'shorter than the mark: a copy');
  h.read(65536, 3);
  const viewed = h.read(200_000, 4);
  t.ok(sameMemory(h.sunk[3]!, viewed.buffer), 'at least the mark: a view');
  releaseReads(h.socket);
});

t.test('releaseReads gives the bulk buffer back to the spares for the next tunnel', async (t) => {
  const h = harness();
  h.relay();
  h.read(65536, 1);
  const bulk = h.read(70_000, 2).buffer;
  const inUse = relayReadStats().bulkInUse;
  releaseReads(h.socket);
  t.equal(relayReadStats().bulkInUse, inUse - 1);
  releaseReads(h.socket);
  t.equal(relayReadStats().bulkInUse, inUse - 1, 'twice is harmless');
  const other = harness();
  other.relay();
  other.read(65536, 3);
  t.equal(other.read(70_000, 4).buffer, bulk, 'a spare is reused before a new one is made');
  releaseReads(other.socket);
});

t.test('a socket not made with relayReadOptions stays on plain reads', async (t) => {
  const plain = {} as net.Socket;
  t.notOk(relayTo(plain, { writableHighWaterMark: 1 } as net.Socket, () => true));
  releaseReads(plain);
  t.pass('releasing it does nothing');
});
