/**
 * The server side of NTLM for tests: builds CHALLENGE_MESSAGEs and checks an
 * AUTHENTICATE_MESSAGE's NTLMv2 response (and MIC) against a known password, so a wrong
 * password is detected (squid's ntlm_fake_auth accepts any password). Written from
 * MS-NLMP §2.2.1 and §3.3.2, independently of the client's encoder where it matters: the
 * proof is recomputed from the raw blob the client sent.
 */
import { createHmac } from 'node:crypto';
import { md4 } from '../../src/auth/md4.js';

export interface ParsedAuthenticate {
  readonly flags: number;
  readonly lmResponse: Buffer;
  readonly ntResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  /** Present when the header is long enough to hold one (payload starts at 88 or later). */
  readonly mic: Buffer | undefined;
}

function field(buf: Buffer, at: number): Buffer {
  const length = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (offset + length > buf.length) throw new Error(`field at ${at} points past the end`);
  return buf.subarray(offset, offset + length);
}

/** MS-NLMP §2.2.1.3. Throws a plain Error on anything malformed. */
export function parseAuthenticateMessage(buf: Buffer): ParsedAuthenticate {
  if (buf.length < 64 || buf.toString('latin1', 0, 8) !== 'NTLMSSP\0') {
    throw new Error('not an NTLMSSP message');
  }
  if (buf.readUInt32LE(8) !== 3) throw new Error(`message type ${buf.readUInt32LE(8)}, not 3`);
  const flags = buf.readUInt32LE(60);
  const encoding = (flags & 1) !== 0 ? 'utf16le' : 'latin1';
  const firstPayload = Math.min(
    ...[12, 20, 28, 36, 44]
      .filter((at) => buf.readUInt16LE(at) > 0)
      .map((at) => buf.readUInt32LE(at + 4)),
  );
  return {
    flags,
    lmResponse: field(buf, 12),
    ntResponse: field(buf, 20),
    domain: field(buf, 28).toString(encoding),
    user: field(buf, 36).toString(encoding),
    workstation: field(buf, 44).toString(encoding),
    mic: firstPayload >= 88 ? Buffer.from(buf.subarray(72, 88)) : undefined,
  };
}

export interface ChallengeOptions {
  readonly serverChallenge: Buffer;
  readonly targetName?: string;
  /** Adds an MsvAvTimestamp with this FILETIME. */
  readonly timestamp?: Buffer;
  readonly flags?: number;
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** MS-NLMP §2.2.1.2 with NbDomainName, NbComputerName and optionally a timestamp. */
export function challengeMessage(o: ChallengeOptions): Buffer {
  const name = Buffer.from(o.targetName ?? 'CORP', 'utf16le');
  const info = Buffer.concat([
    avPair(2, Buffer.from(o.targetName ?? 'CORP', 'utf16le')),
    avPair(1, Buffer.from('PROXY', 'utf16le')),
    ...(o.timestamp ? [avPair(7, o.timestamp)] : []),
    Buffer.alloc(4),
  ]);
  const head = Buffer.alloc(56);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(name.length, 12);
  head.writeUInt16LE(name.length, 14);
  head.writeUInt32LE(56, 16);
  head.writeUInt32LE((o.flags ?? 0xe28a8235) >>> 0, 20);
  o.serverChallenge.copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(56 + name.length, 44);
  return Buffer.concat([head, name, info]);
}

function hmac(key: Buffer, ...data: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

export interface Verdict {
  readonly ok: boolean;
  readonly why: string;
}

/**
 * Checks the NTLMv2 proof (and the MIC when the client flagged one) for `password`.
 * The user is matched case-insensitively, the domain exactly, as a domain controller does.
 */
export function verifyAuthenticate(
  a: ParsedAuthenticate,
  expected: { user: string; domain: string; password: string },
  serverChallenge: Buffer,
  transcript?: { negotiate: Buffer; challenge: Buffer; authenticate: Buffer },
): Verdict {
  if (a.user.toUpperCase() !== expected.user.toUpperCase()) return { ok: false, why: 'user' };
  if (a.domain !== expected.domain) return { ok: false, why: 'domain' };
  if (a.ntResponse.length < 48) return { ok: false, why: 'not an NTLMv2 response' };
  const key = hmac(
    md4(Buffer.from(expected.password, 'utf16le')),
    Buffer.from(a.user.toUpperCase() + a.domain, 'utf16le'),
  );
  const blob = a.ntResponse.subarray(16);
  const proof = hmac(key, serverChallenge, blob);
  if (!proof.equals(a.ntResponse.subarray(0, 16))) return { ok: false, why: 'NTLMv2 proof' };
  if (a.mic !== undefined && transcript !== undefined && !a.mic.equals(Buffer.alloc(16))) {
    const zeroed = Buffer.from(transcript.authenticate);
    zeroed.fill(0, 72, 88);
    const mic = hmac(hmac(key, proof), transcript.negotiate, transcript.challenge, zeroed);
    if (!mic.equals(a.mic)) return { ok: false, why: 'MIC' };
  }
  return { ok: true, why: 'ok' };
}
