/**
 * NTLMv2 (MS-NLMP §3.3.2): the response key from the NT hash, the NTLMv2 and LMv2
 * challenge responses, and the MIC over the three messages (§3.1.5.1.2). Pure, with the
 * client challenge and clock passed in, so the spec's worked example (§4.2.4) is a test.
 */
import { createHmac } from 'node:crypto';
import { md4 } from './md4.js';
import {
  AV,
  agreedFlags,
  authenticateMessage,
  encodeAvPairs,
  NEGOTIATE_FLAGS,
  setMic,
  type AvPair,
  type ChallengeMessage,
} from './ntlm.js';

export function hmacMd5(key: Buffer, ...data: Buffer[]): Buffer {
  const mac = createHmac('md5', key);
  for (const d of data) mac.update(d);
  return mac.digest();
}

/** NTOWFv1 (MS-NLMP §3.3.1): MD4 of the UTF-16LE password, the "NT hash". */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** NTOWFv2 = LMOWFv2 (MS-NLMP §3.3.2): the user name upper-cased, the domain as given. */
export function ntowfv2(hash: Buffer, user: string, domain: string): Buffer {
  return hmacMd5(hash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** Milliseconds between 1601-01-01 (FILETIME epoch) and 1970-01-01. */
const FILETIME_EPOCH_MS = 11_644_473_600_000n;

/** A FILETIME (100 ns units since 1601, little-endian 8 bytes) for a Unix time in ms. */
export function filetime(unixMs: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE((BigInt(Math.floor(unixMs)) + FILETIME_EPOCH_MS) * 10_000n);
  return out;
}

export interface V2Input {
  /** NTOWFv2 of the user. */
  readonly responseKey: Buffer;
  readonly serverChallenge: Buffer;
  readonly clientChallenge: Buffer;
  /** FILETIME for the blob. */
  readonly time: Buffer;
  /** The AV pairs echoed in the blob ("ServerName"), already encoded with MsvAvEOL. */
  readonly targetInfo: Buffer;
}

export interface V2Responses {
  readonly ntProofStr: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly lmChallengeResponse: Buffer;
  readonly sessionBaseKey: Buffer;
}

/** ComputeResponse for NTLMv2 (MS-NLMP §3.3.2). */
export function v2Responses(i: V2Input): V2Responses {
  // temp = Responserversion, HiResponserversion, Z(6), Time, ClientChallenge, Z(4), ServerName, Z(4)
  const temp = Buffer.concat([
    Buffer.from([1, 1]),
    Buffer.alloc(6),
    i.time,
    i.clientChallenge,
    Buffer.alloc(4),
    i.targetInfo,
    Buffer.alloc(4),
  ]);
  const ntProofStr = hmacMd5(i.responseKey, i.serverChallenge, temp);
  return {
    ntProofStr,
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse: Buffer.concat([
      hmacMd5(i.responseKey, i.serverChallenge, i.clientChallenge),
      i.clientChallenge,
    ]),
    sessionBaseKey: hmacMd5(i.responseKey, ntProofStr),
  };
}

export interface NtlmIdentity {
  readonly user: string;
  readonly domain: string;
  readonly workstation: string;
  /** NTOWFv1 (from the password, or configured directly). */
  readonly ntHash: Buffer;
}

export interface AuthenticateInput {
  readonly identity: NtlmIdentity;
  readonly negotiate: Buffer;
  readonly challengeBytes: Buffer;
  readonly challenge: ChallengeMessage;
  readonly clientChallenge: Buffer;
  /** Unix ms, used only when the server sent no MsvAvTimestamp. */
  readonly now: number;
}

/** MsvAvFlags with bit 0x2 set: "the AUTHENTICATE_MESSAGE carries a MIC" (§2.2.2.1). */
function withMicFlag(pairs: readonly AvPair[]): AvPair[] {
  const old = pairs.find((p) => p.id === AV.FLAGS);
  const value = Buffer.alloc(4);
  value.writeUInt32LE(((old?.value.length === 4 ? old.value.readUInt32LE(0) : 0) | 0x2) >>> 0);
  return [...pairs.filter((p) => p.id !== AV.FLAGS), { id: AV.FLAGS, value }];
}

/**
 * The AUTHENTICATE_MESSAGE for a challenge (MS-NLMP §3.1.5.1.2). When the server sent a
 * timestamp, its time is used, LmChallengeResponse is Z(24) and a MIC is added, as the
 * spec asks; otherwise the local clock and an LMv2 response are used.
 */
export function authenticate(input: AuthenticateInput): Buffer {
  const { identity, challenge } = input;
  const stamped = challenge.timestamp !== undefined;
  const pairs = stamped ? withMicFlag(challenge.targetInfo) : challenge.targetInfo;
  const responseKey = ntowfv2(identity.ntHash, identity.user, identity.domain);
  const r = v2Responses({
    responseKey,
    serverChallenge: challenge.serverChallenge,
    clientChallenge: input.clientChallenge,
    time: challenge.timestamp ?? filetime(input.now),
    targetInfo: pairs.length === 0 ? Buffer.alloc(0) : encodeAvPairs(pairs),
  });
  const message = authenticateMessage({
    flags: agreedFlags(NEGOTIATE_FLAGS, challenge.flags),
    lmResponse: stamped ? Buffer.alloc(24) : r.lmChallengeResponse,
    ntResponse: r.ntChallengeResponse,
    domain: identity.domain,
    user: identity.user,
    workstation: identity.workstation,
    withMic: stamped,
  });
  if (!stamped) return message;
  // Without KEY_EXCH the exported session key is the session base key (§3.4.5.1).
  const mic = hmacMd5(r.sessionBaseKey, input.negotiate, input.challengeBytes, message);
  return setMic(message, mic);
}
