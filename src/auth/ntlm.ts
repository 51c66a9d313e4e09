/**
 * NTLM messages (MS-NLMP §2.2.1): the NEGOTIATE_MESSAGE corproxy sends, the
 * CHALLENGE_MESSAGE it reads back, and the AUTHENTICATE_MESSAGE carrying the NTLMv2
 * response (computed in ntlm-v2.ts). Pure: buffers in, buffers out. Only NTLMv2 is spoken;
 * LM and NTLMv1 responses are never produced (MS-NLMP §3.3.1 is long obsolete).
 */
import { CorproxyError } from '../errors.js';

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

/** NegotiateFlags bits (MS-NLMP §2.2.2.5) that corproxy uses or reads. */
export const FLAGS = Object.freeze({
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  NTLM: 0x00000200,
  ALWAYS_SIGN: 0x00008000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  N56: 0x80000000,
});

/**
 * What corproxy asks for. No SIGN/SEAL/KEY_EXCH: proxy authentication only proves the
 * identity; no message is signed or sealed afterwards, so no session key is exchanged.
 */
export const NEGOTIATE_FLAGS =
  (FLAGS.UNICODE |
    FLAGS.OEM |
    FLAGS.REQUEST_TARGET |
    FLAGS.NTLM |
    FLAGS.ALWAYS_SIGN |
    FLAGS.EXTENDED_SESSIONSECURITY |
    FLAGS.N128 |
    FLAGS.N56) >>>
  0;

/** AV_PAIR ids (MS-NLMP §2.2.2.1). */
export const AV = Object.freeze({
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  FLAGS: 6,
  TIMESTAMP: 7,
});

export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

export interface ChallengeMessage {
  readonly flags: number;
  readonly serverChallenge: Buffer;
  readonly targetName: string;
  /** TargetInfo AV pairs, in order, without the terminating MsvAvEOL. */
  readonly targetInfo: readonly AvPair[];
  /** MsvAvTimestamp (FILETIME, 8 bytes little-endian) when the server sent one. */
  readonly timestamp: Buffer | undefined;
}

function malformed(why: string): CorproxyError {
  return new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', `sent a malformed NTLM challenge: ${why}`);
}

/** Type 1 (MS-NLMP §2.2.1.1): flags only, empty domain and workstation fields. */
export function negotiateMessage(flags: number = NEGOTIATE_FLAGS): Buffer {
  const out = Buffer.alloc(32);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(1, 8);
  out.writeUInt32LE(flags >>> 0, 12);
  // DomainNameFields and WorkstationFields stay zero: the OEM_*_SUPPLIED flags are unset.
  return out;
}

/** A (length, maxLength, offset) field; throws when it points outside `buf`. */
function field(buf: Buffer, at: number, name: string): Buffer {
  const length = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > buf.length) throw malformed(`${name} points past the message end`);
  return buf.subarray(offset, offset + length);
}

function optionalField(buf: Buffer, at: number): Buffer {
  try {
    return field(buf, at, 'TargetNameFields');
  } catch {
    return Buffer.alloc(0);
  }
}

/** Parses TargetInfo into AV pairs; it must end with MsvAvEOL (MS-NLMP §2.2.2.1). */
export function parseAvPairs(info: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  while (at + 4 <= info.length) {
    const id = info.readUInt16LE(at);
    const length = info.readUInt16LE(at + 2);
    if (id === AV.EOL) return pairs;
    if (at + 4 + length > info.length) throw malformed('a target info entry is truncated');
    pairs.push({ id, value: Buffer.from(info.subarray(at + 4, at + 4 + length)) });
    at += 4 + length;
  }
  throw malformed('target info does not end with MsvAvEOL');
}

/** AV pairs back to bytes, terminated by MsvAvEOL. */
export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts = pairs.flatMap((p) => {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(p.id, 0);
    head.writeUInt16LE(p.value.length, 2);
    return [head, p.value];
  });
  return Buffer.concat([...parts, Buffer.alloc(4)]);
}

/** Type 2 (MS-NLMP §2.2.1.2), as the upstream sent it. */
export function parseChallengeMessage(buf: Buffer): ChallengeMessage {
  if (buf.length < 32) throw malformed(`only ${buf.length} bytes`);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw malformed('no NTLMSSP signature');
  if (buf.readUInt32LE(8) !== 2) throw malformed(`message type ${buf.readUInt32LE(8)}, not 2`);
  const flags = buf.readUInt32LE(20);
  const unicode = (flags & FLAGS.UNICODE) !== 0;
  // TargetInfo is only there with NEGOTIATE_TARGET_INFO (§2.2.1.2); without it, bytes 40-47
  // may already be payload (squid's ntlm_fake_auth puts its target name there).
  const withInfo = (flags & FLAGS.TARGET_INFO) !== 0 && buf.length >= 48;
  const info = withInfo ? field(buf, 40, 'TargetInfoFields') : Buffer.alloc(0);
  // The target name is informational: a bad field (ntlm_fake_auth sends a garbage
  // offset) is ignored rather than fatal.
  const name = optionalField(buf, 12);
  const targetInfo = info.length === 0 ? [] : parseAvPairs(info);
  const stamp = targetInfo.find((p) => p.id === AV.TIMESTAMP)?.value;
  if (stamp !== undefined && stamp.length !== 8) throw malformed('MsvAvTimestamp is not 8 bytes');
  return {
    flags,
    serverChallenge: Buffer.from(buf.subarray(24, 32)),
    targetName: name.toString(unicode ? 'utf16le' : 'latin1'),
    targetInfo,
    timestamp: stamp,
  };
}

export interface AuthenticateFields {
  /** The flags of the exchange: ours intersected with the server's. */
  readonly flags: number;
  readonly lmResponse: Buffer;
  readonly ntResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  /** When set, a zeroed Version and MIC (16 bytes) precede the payload (MS-NLMP §2.2.1.3). */
  readonly withMic: boolean;
}

/** Offset of the MIC inside an AUTHENTICATE_MESSAGE that carries one. */
export const MIC_OFFSET = 72;

/** Type 3 (MS-NLMP §2.2.1.3); the MIC, when present, is zero until `setMic`. */
export function authenticateMessage(a: AuthenticateFields): Buffer {
  const encoding = (a.flags & FLAGS.UNICODE) !== 0 ? 'utf16le' : 'latin1';
  const payloads = [
    a.lmResponse,
    a.ntResponse,
    Buffer.from(a.domain, encoding),
    Buffer.from(a.user, encoding),
    Buffer.from(a.workstation, encoding),
    Buffer.alloc(0), // EncryptedRandomSessionKey: no KEY_EXCH
  ];
  const headerLength = a.withMic ? MIC_OFFSET + 16 : 64;
  const header = Buffer.alloc(headerLength);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(3, 8);
  let offset = headerLength;
  payloads.forEach((p, i) => {
    if (p.length > 0xffff) throw new CorproxyError('CPX_ERR_CONFIG_INVALID', 'NTLM field too long');
    header.writeUInt16LE(p.length, 12 + i * 8);
    header.writeUInt16LE(p.length, 14 + i * 8);
    header.writeUInt32LE(offset, 16 + i * 8);
    offset += p.length;
  });
  header.writeUInt32LE(a.flags >>> 0, 60);
  return Buffer.concat([header, ...payloads]);
}

/** Writes the 16-byte MIC into a message built with `withMic`. */
export function setMic(message: Buffer, mic: Buffer): Buffer {
  const out = Buffer.from(message);
  mic.copy(out, MIC_OFFSET, 0, 16);
  return out;
}

/**
 * The flags of the AUTHENTICATE_MESSAGE: what both sides support, with exactly one
 * character set (Unicode when the server offers it, MS-NLMP §3.1.5.1.2).
 */
export function agreedFlags(ours: number, theirs: number): number {
  let flags = ours & theirs;
  if ((flags & FLAGS.UNICODE) !== 0) flags &= ~FLAGS.OEM;
  else flags |= FLAGS.OEM;
  return flags >>> 0;
}
