/**
 * A minimal zip writer (PKWARE APPNOTE 6.3.x, no zip64, no encryption) for Go module zips
 * served by the test module proxy. Go's module zip reader checks every entry's CRC-32, so
 * the checksum is real.
 */
import { deflateRawSync } from 'node:zlib';

export interface ZipEntry {
  /** Path inside the archive, `/`-separated. */
  readonly name: string;
  readonly data: Buffer | string;
}

export type ZipMethod = 'store' | 'deflate';

const METHOD_CODE: Readonly<Record<ZipMethod, number>> = { store: 0, deflate: 8 };

/** General purpose flag bit 11: names are UTF-8. */
const FLAG_UTF8 = 0x0800;
/** 2020-01-01 00:00:00 in MS-DOS date/time, fixed so archives are reproducible. */
const DOS_TIME = 0;
const DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1;
/** "Version needed to extract" 2.0: deflate. */
const VERSION = 20;

let crcTable: Uint32Array | undefined;

/** The reflected CRC-32 table for polynomial 0xEDB88320 (the zip and gzip CRC). */
function table(): Uint32Array {
  if (crcTable) return crcTable;
  crcTable = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable[n] = c >>> 0;
  }
  return crcTable;
}

export function crc32(data: Buffer): number {
  const tbl = table();
  let c = 0xffffffff;
  for (const byte of data) c = (tbl[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Written {
  readonly name: Buffer;
  readonly crc: number;
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly offset: number;
}

function localHeader(w: Written): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(VERSION, 4);
  h.writeUInt16LE(FLAG_UTF8, 6);
  h.writeUInt16LE(w.method, 8);
  h.writeUInt16LE(DOS_TIME, 10);
  h.writeUInt16LE(DOS_DATE, 12);
  h.writeUInt32LE(w.crc, 14);
  h.writeUInt32LE(w.compressedSize, 18);
  h.writeUInt32LE(w.size, 22);
  h.writeUInt16LE(w.name.length, 26);
  h.writeUInt16LE(0, 28);
  return Buffer.concat([h, w.name]);
}

function centralHeader(w: Written): Buffer {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(VERSION, 4);
  h.writeUInt16LE(VERSION, 6);
  h.writeUInt16LE(FLAG_UTF8, 8);
  h.writeUInt16LE(w.method, 10);
  h.writeUInt16LE(DOS_TIME, 12);
  h.writeUInt16LE(DOS_DATE, 14);
  h.writeUInt32LE(w.crc, 16);
  h.writeUInt32LE(w.compressedSize, 20);
  h.writeUInt32LE(w.size, 24);
  h.writeUInt16LE(w.name.length, 28);
  // Extra length, comment length, disk number, internal and external attributes: all 0.
  h.writeUInt32LE(w.offset, 42);
  return Buffer.concat([h, w.name]);
}

function endOfCentralDirectory(count: number, size: number, offset: number): Buffer {
  const h = Buffer.alloc(22);
  h.writeUInt32LE(0x06054b50, 0);
  h.writeUInt16LE(count, 8);
  h.writeUInt16LE(count, 10);
  h.writeUInt32LE(size, 12);
  h.writeUInt32LE(offset, 16);
  return h;
}

/** Builds a zip archive holding `entries` in order. */
export function makeZip(entries: readonly ZipEntry[], method: ZipMethod = 'deflate'): Buffer {
  const parts: Buffer[] = [];
  const written: Written[] = [];
  let offset = 0;
  for (const entry of entries) {
    const data = Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data, 'utf8');
    const body = method === 'deflate' ? deflateRawSync(data) : data;
    const w: Written = {
      name: Buffer.from(entry.name, 'utf8'),
      crc: crc32(data),
      method: METHOD_CODE[method],
      compressedSize: body.length,
      size: data.length,
      offset,
    };
    const local = localHeader(w);
    parts.push(local, body);
    written.push(w);
    offset += local.length + body.length;
  }
  const central = Buffer.concat(written.map(centralHeader));
  parts.push(central, endOfCentralDirectory(written.length, central.length, offset));
  return Buffer.concat(parts);
}
