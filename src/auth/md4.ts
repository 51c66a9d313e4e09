/**
 * MD4 (RFC 1320), needed only for the NT hash of NTLM (MS-NLMP §3.3.1: NTOWF is MD4 of the
 * UTF-16LE password). Node 20's OpenSSL 3 moved MD4 to the legacy provider, so
 * `crypto.createHash('md4')` throws on most installations: this is a small pure version.
 * Not for anything but NTLM; MD4 is broken as a general-purpose hash.
 */

/** RFC 1320 §3.4 round 1/2/3 auxiliary functions. */
function f(x: number, y: number, z: number): number {
  return (x & y) | (~x & z);
}

function g(x: number, y: number, z: number): number {
  return (x & y) | (x & z) | (y & z);
}

function h(x: number, y: number, z: number): number {
  return x ^ y ^ z;
}

function rotl(x: number, s: number): number {
  return (x << s) | (x >>> (32 - s));
}

/** Word order of rounds 2 and 3 (RFC 1320 §3.4). */
const ROUND2 = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15];
const ROUND3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];
const SHIFTS = [
  [3, 7, 11, 19],
  [3, 5, 9, 13],
  [3, 9, 11, 15],
] as const;

/** RFC 1320 §3.1-3.2: append 0x80, zeros to 56 mod 64, then the bit length (64-bit LE). */
function pad(message: Buffer): Buffer {
  const total = Math.ceil((message.length + 9) / 64) * 64;
  const out = Buffer.alloc(total);
  message.copy(out);
  out[message.length] = 0x80;
  const bits = message.length * 8;
  out.writeUInt32LE(bits >>> 0, total - 8);
  out.writeUInt32LE(Math.floor(bits / 2 ** 32) >>> 0, total - 4);
  return out;
}

/** Processes one 64-byte block (RFC 1320 §3.4) into the state [A, B, C, D]. */
function block(state: Uint32Array, x: Uint32Array): void {
  let [a, b, c, d] = [state[0]!, state[1]!, state[2]!, state[3]!];
  const rounds: ReadonlyArray<readonly [(x: number, y: number, z: number) => number, number]> = [
    [f, 0],
    [g, 0x5a827999],
    [h, 0x6ed9eba1],
  ];
  rounds.forEach(([fn, k], r) => {
    const order = r === 0 ? undefined : r === 1 ? ROUND2 : ROUND3;
    const shifts = SHIFTS[r]!;
    for (let i = 0; i < 16; i += 1) {
      const word = x[order === undefined ? i : order[i]!]!;
      const t = rotl((a + fn(b, c, d) + word + k) | 0, shifts[i % 4]!);
      [a, b, c, d] = [d, t, b, c];
    }
  });
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/** The 16-byte MD4 digest of `message`. */
export function md4(message: Buffer): Buffer {
  const padded = pad(message);
  // RFC 1320 §3.3: A..D initial words, little-endian.
  const state = new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
  const words = new Uint32Array(16);
  for (let offset = 0; offset < padded.length; offset += 64) {
    for (let i = 0; i < 16; i += 1) words[i] = padded.readUInt32LE(offset + i * 4);
    block(state, words);
  }
  const out = Buffer.alloc(16);
  state.forEach((word, i) => out.writeUInt32LE(word >>> 0, i * 4));
  return out;
}
