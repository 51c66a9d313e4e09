/**
 * A small zip writer (PKWARE APPNOTE 6.3: deflate, no zip64) for the generated module
 * zips. Go checks every entry's CRC-32 when it extracts a module, so the checksums are real.
 */
import { deflateRawSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** 1 January 2020, 00:00, in MS-DOS date format: fixed so the zips are reproducible. */
const DOS_DATE = (40 << 9) | (1 << 5) | 1;
const UTF8_NAMES = 0x0800;
const DEFLATE = 8;

function header(size, fields) {
  const h = Buffer.alloc(size);
  for (const [offset, bytes, value] of fields) {
    if (bytes === 2) h.writeUInt16LE(value, offset);
    else h.writeUInt32LE(value, offset);
  }
  return h;
}

/**
 * The fields local and central headers share, from "version needed" on; they sit at offset
 * 4 of a local header and at offset 6 of a central one.
 */
function shared(at, e) {
  return [
    [at, 2, 20], // version needed to extract: 2.0 (deflate)
    [at + 2, 2, UTF8_NAMES],
    [at + 4, 2, DEFLATE],
    [at + 6, 2, 0], // time 00:00
    [at + 8, 2, DOS_DATE],
    [at + 10, 4, e.crc],
    [at + 14, 4, e.body.length],
    [at + 18, 4, e.size],
    [at + 22, 2, e.name.length],
  ];
}

/** The archive of `entries` ({ name, data }), in order. */
export function makeZip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const raw = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
    const e = { name: Buffer.from(name, 'utf8'), body: deflateRawSync(raw), crc: crc32(raw) };
    e.size = raw.length;
    const local = header(30, [[0, 4, 0x04034b50], ...shared(4, e)]);
    const dir = header(46, [[0, 4, 0x02014b50], [4, 2, 20], ...shared(6, e), [42, 4, offset]]);
    parts.push(local, e.name, e.body);
    central.push(dir, e.name);
    offset += local.length + e.name.length + e.body.length;
  }
  const dir = Buffer.concat(central);
  const end = header(22, [
    [0, 4, 0x06054b50],
    [8, 2, entries.length],
    [10, 2, entries.length],
    [12, 4, dir.length],
    [16, 4, offset],
  ]);
  return Buffer.concat([...parts, dir, end]);
}
