/**
 * Recognises a TLS ClientHello at the start of a tunnel and reads its SNI (RFC 6066 §3),
 * so the daemon can probe the host the client really talks to. Pure and bounded: it never
 * throws, whatever bytes a client sends, and never asks for more than
 * CLIENT_HELLO_MAX_BYTES.
 */

/** What the first client bytes of a tunnel look like. */
export type ClientHelloResult =
  | { readonly kind: 'tls'; readonly sni?: string }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'need-more' };

/**
 * The most a caller needs to buffer: with this many bytes the answer is final, and a larger
 * ClientHello is reported as TLS without SNI.
 */
export const CLIENT_HELLO_MAX_BYTES = 16 * 1024;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
/** RFC 8446 §5.1: a plaintext record fragment is at most 2^14 bytes. */
const MAX_RECORD = 16 * 1024;
const EXT_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;

const NEED_MORE = Object.freeze({ kind: 'need-more' as const });
const NOT_TLS = Object.freeze({ kind: 'not-tls' as const });
const TLS_NO_SNI = Object.freeze({ kind: 'tls' as const });

/**
 * Classifies the bytes a client sent first. Call again with more bytes while it answers
 * 'need-more'. A ClientHello may be split over several handshake records (RFC 8446 §5.1)
 * and those records over several TCP reads; both are reassembled here.
 */
export function readClientHello(buf: Buffer): ClientHelloResult {
  const header = checkFirstRecordHeader(buf);
  if (header !== undefined) return header;
  const window = buf.subarray(0, CLIENT_HELLO_MAX_BYTES);
  // Past the cap the answer must be final: it is TLS, but the name stays unknown.
  const more = window.length < CLIENT_HELLO_MAX_BYTES ? NEED_MORE : TLS_NO_SNI;
  const body = reassembleHandshake(window);
  if (body === 'not-tls') return NOT_TLS;
  if (body.length < 4) return body.complete ? NOT_TLS : more;
  if (body.bytes[0] !== HANDSHAKE_CLIENT_HELLO) return NOT_TLS;
  const msgLen = readUint24(body.bytes, 1);
  if (msgLen + 4 + RECORD_HEADER > CLIENT_HELLO_MAX_BYTES) return TLS_NO_SNI;
  if (body.length < 4 + msgLen) return body.complete ? NOT_TLS : more;
  return parseClientHelloBody(body.bytes.subarray(4, 4 + msgLen));
}

/** Checks the first record header alone, so garbage is rejected after 3 bytes. */
function checkFirstRecordHeader(buf: Buffer): ClientHelloResult | undefined {
  if (buf.length < 1) return NEED_MORE;
  if (buf[0] !== CONTENT_HANDSHAKE) return NOT_TLS;
  if (buf.length < 2) return NEED_MORE;
  if (buf[1] !== 0x03) return NOT_TLS;
  if (buf.length < 3) return NEED_MORE;
  // Record versions 0x0300-0x0304; ClientHello records usually say 0x0301 (RFC 8446 §5.1).
  if ((buf[2] ?? 0xff) > 0x04) return NOT_TLS;
  return undefined;
}

interface Handshake {
  readonly bytes: Buffer;
  readonly length: number;
  /** True when a non-handshake record follows, so no more handshake bytes can come. */
  readonly complete: boolean;
}

/** Concatenates the payloads of consecutive handshake records present in `buf`. */
function reassembleHandshake(buf: Buffer): Handshake | 'not-tls' {
  const parts: Buffer[] = [];
  let offset = 0;
  let complete = false;
  while (offset + RECORD_HEADER <= buf.length) {
    if (buf[offset] !== CONTENT_HANDSHAKE) {
      complete = true;
      break;
    }
    if (buf[offset + 1] !== 0x03) return 'not-tls';
    const len = buf.readUInt16BE(offset + 3);
    if (len === 0 || len > MAX_RECORD) return 'not-tls';
    const end = Math.min(offset + RECORD_HEADER + len, buf.length);
    parts.push(buf.subarray(offset + RECORD_HEADER, end));
    offset += RECORD_HEADER + len;
  }
  const bytes = Buffer.concat(parts);
  return { bytes, length: bytes.length, complete };
}

/** A bounds-checked reader: every read past the end yields undefined instead of throwing. */
class Reader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  skip(n: number): boolean {
    if (n > this.remaining) return false;
    this.offset += n;
    return true;
  }

  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.buf[this.offset++];
  }

  u16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  bytes(n: number): Buffer | undefined {
    if (n > this.remaining) return undefined;
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A length-prefixed vector (RFC 8446 §3.4) with a 1- or 2-byte length. */
  vector(lenBytes: 1 | 2): Buffer | undefined {
    const n = lenBytes === 1 ? this.u8() : this.u16();
    return n === undefined ? undefined : this.bytes(n);
  }
}

/** RFC 8446 §4.1.2 ClientHello; older versions share the same prefix. */
function parseClientHelloBody(body: Buffer): ClientHelloResult {
  const r = new Reader(body);
  if (r.u8() !== 0x03) return NOT_TLS;
  if (!r.skip(1 + 32)) return NOT_TLS; // legacy_version minor + random
  const sessionId = r.vector(1);
  const suites = r.vector(2);
  const compression = r.vector(1);
  if (sessionId === undefined || sessionId.length > 32) return NOT_TLS;
  if (suites === undefined || suites.length < 2 || suites.length % 2 !== 0) return NOT_TLS;
  if (compression === undefined || compression.length < 1) return NOT_TLS;
  if (r.remaining === 0) return TLS_NO_SNI; // no extensions at all (SSL 3.0 style)
  const extensions = r.vector(2);
  if (extensions === undefined) return NOT_TLS;
  return findServerName(extensions);
}

function findServerName(extensions: Buffer): ClientHelloResult {
  const r = new Reader(extensions);
  while (r.remaining > 0) {
    const type = r.u16();
    const data = r.vector(2);
    if (type === undefined || data === undefined) return NOT_TLS;
    if (type === EXT_SERVER_NAME) return readServerNameList(data);
  }
  return TLS_NO_SNI;
}

/** RFC 6066 §3: ServerNameList; the first host_name entry wins. */
function readServerNameList(data: Buffer): ClientHelloResult {
  const outer = new Reader(data);
  const list = outer.vector(2);
  if (list === undefined) return NOT_TLS;
  const r = new Reader(list);
  while (r.remaining > 0) {
    const nameType = r.u8();
    const name = r.vector(2);
    if (nameType === undefined || name === undefined) return NOT_TLS;
    if (nameType === NAME_TYPE_HOST) {
      const host = asHostName(name);
      return host === undefined ? TLS_NO_SNI : { kind: 'tls', sni: host };
    }
  }
  return TLS_NO_SNI;
}

/** RFC 6066 §3: ASCII, no trailing dot; anything else is ignored rather than trusted. */
function asHostName(name: Buffer): string | undefined {
  if (name.length === 0 || name.length > 253) return undefined;
  const text = name.toString('latin1');
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(text)) return undefined;
  return text.toLowerCase();
}

function readUint24(buf: Buffer, offset: number): number {
  return ((buf[offset] ?? 0) << 16) | ((buf[offset + 1] ?? 0) << 8) | (buf[offset + 2] ?? 0);
}
