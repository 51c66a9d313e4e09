/**
 * Reads of a tunnel's remote socket into buffers corproxy chooses (net's `onread`), so
 * that a download moves in large reads from one reused buffer instead of a fresh 64 KiB
 * allocation per read.
 *
 * Why (bench/README.md, fourth round): with Node's own reads every chunk is a new
 * malloc'd buffer, freed when collected. glibc gives such memory back to the kernel when
 * the top of its heap is free, and takes it again on the next read, so a bulk download
 * page-faulted on every page it relayed (217 faults per MB, measured) in some runs and
 * not in others. Reading up to 1 MiB at a time into a kept buffer makes the relay's
 * system calls fewer and larger and takes the faults away: W1 through a bare relay went
 * from 1,170 to 2,150–2,310 MB/s.
 *
 * A socket starts in stream mode: each read lands in one scratch buffer that the whole
 * process shares and is copied out and pushed into the socket's Readable, exactly as
 * Node would (the upstream handshake reads with 'readable' and read()). Once the tunnel
 * relays (`relayTo`), reads go to the relay's sink instead; short reads are still copied
 * out of the scratch buffer, and a read that fills it moves the socket to a bulk buffer
 * of its own. A view of the bulk buffer is handed to the sink only when it is at least
 * the receiver's high-water mark long. Node's write() then returns true only when the
 * kernel took the whole view during the call; otherwise it returns false, the relay
 * stops reading, and nothing reads into the buffer again before 'drain' says the view
 * has left it. Shorter reads are copied (a short write may stay queued while write()
 * returns true), and give the bulk buffer back.
 *
 * Memory: an idle tunnel holds no buffer of its own (W4). A bulk buffer is touched only
 * as far as reads fill it, and returns to a small spare list when the tunnel ends or its
 * reads turn short.
 */
import type net from 'node:net';

const SCRATCH_BYTES = 64 * 1024;
const BULK_BYTES = 1024 * 1024;
/** Bulk buffers kept for the next download: their touched pages stay resident. */
const SPARE_LIMIT = 4;

const scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
const spare: Buffer[] = [];
let bulkInUse = 0;
let bulkTaken = 0;

/** Takes the bytes a relay read: false stops reading until the socket is resumed. */
export type RelaySink = (socket: net.Socket, chunk: Buffer) => boolean;

const READS = Symbol('corproxy.relayReads');
type ReadingSocket = net.Socket & { [READS]?: RelayReads };

class RelayReads {
  socket: net.Socket | undefined = undefined;
  sink: RelaySink | undefined = undefined;
  /** Reads shorter than this are copied (the receiver's high-water mark). */
  copyBelow = 0;
  bulk: Buffer | undefined = undefined;
  last = 0;
  readonly options: net.OnReadOpts = {
    buffer: () => this.next(),
    callback: (n, buf) => this.read(n, buf as Buffer),
  };

  read(n: number, buf: Buffer): boolean {
    this.last = n;
    const socket = this.socket!;
    if (this.sink === undefined) return socket.push(copyOut(buf, n));
    if (buf === scratch || n < this.copyBelow) return this.sink(socket, copyOut(buf, n));
    // At least a high-water mark long, the view makes write() return true only if the
    // kernel took all of it at once; otherwise false, and no read comes before 'drain'.
    return this.sink(socket, buf.subarray(0, n));
  }

  /** The buffer for the next read (Node asks after every read). */
  next(): Buffer {
    if (this.sink === undefined) return scratch;
    if (this.bulk === undefined) {
      if (this.last < SCRATCH_BYTES) return scratch;
      this.bulk = spare.pop() ?? Buffer.allocUnsafeSlow(BULK_BYTES);
      bulkInUse += 1;
      bulkTaken += 1;
      return this.bulk;
    }
    // The last read was copied, so nothing refers to the bulk buffer.
    if (this.last < this.copyBelow) this.dropBulk();
    return this.bulk ?? scratch;
  }

  dropBulk(): void {
    if (this.bulk === undefined) return;
    if (spare.length < SPARE_LIMIT) spare.push(this.bulk);
    this.bulk = undefined;
    bulkInUse -= 1;
  }
}

/**
 * The first `n` bytes of `buf` in a buffer of their own. Buffer.copyBytesFrom takes
 * about five times as long for a short read (0.48 against 0.1 µs for 64 bytes, measured
 * on Node 20); a small allocUnsafe comes from Node's shared pool.
 */
function copyOut(buf: Buffer, n: number): Buffer {
  const copy = Buffer.allocUnsafe(n);
  buf.copy(copy, 0, 0, n);
  return copy;
}

/** `onread` options for net.connect, and the call that ties them to the new socket. */
export function relayReadOptions(): {
  readonly onread: net.OnReadOpts;
  bind(socket: net.Socket): void;
} {
  const reads = new RelayReads();
  return {
    onread: reads.options,
    bind(socket) {
      reads.socket = socket;
      (socket as ReadingSocket)[READS] = reads;
    },
  };
}

/**
 * From now on `socket`'s reads go to `sink` (false pauses the socket, as for 'data'),
 * for bytes bound for `receiver`. Bytes already in the socket's Readable still come as
 * 'data'. False for a socket not made with relayReadOptions(): use 'data' alone.
 */
export function relayTo(socket: net.Socket, receiver: net.Socket, sink: RelaySink): boolean {
  const reads = (socket as ReadingSocket)[READS];
  if (reads === undefined) return false;
  reads.copyBelow = receiver.writableHighWaterMark;
  reads.sink = sink;
  return true;
}

/**
 * Gives back the socket's bulk buffer. Only once both ends of the tunnel have closed:
 * until then a write of the receiver may still refer to it.
 */
export function releaseReads(socket: net.Socket): void {
  (socket as ReadingSocket)[READS]?.dropBulk();
}

/** For tests: bulk buffers held by sockets now, handed out so far, and spares kept. */
export function relayReadStats(): {
  readonly bulkInUse: number;
  readonly bulkTaken: number;
  readonly spare: number;
} {
  return { bulkInUse, bulkTaken, spare: spare.length };
}
