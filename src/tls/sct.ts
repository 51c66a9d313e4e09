/**
 * Embedded Signed Certificate Timestamps (RFC 6962 §3.3). Publicly trusted leaves carry
 * them; interception CAs never do (browsers exempt locally installed CAs from CT), so their
 * absence is the second interception signal after "not anchored in public roots".
 * Presence is counted, signatures are not verified (that needs the CT log list).
 */
import forge from 'node-forge';
import { findExtension, primitive } from './cert-extensions.js';

/** RFC 6962 §3.3: the X.509v3 extension holding the SCT list. */
export const SCT_LIST_OID = '1.3.6.1.4.1.11129.2.4.2';

/** One SCT as far as corproxy reads it. */
export interface Sct {
  readonly version: number;
  /** SHA-256 of the log's public key, base64 (as CT log lists print it). */
  readonly logId: string;
  /** Milliseconds since the epoch, as logged. */
  readonly timestamp: number;
}

/** The parsed extension; `malformed` when the extension exists but its list is unreadable. */
export interface SctList {
  readonly count: number;
  readonly scts: readonly Sct[];
  readonly malformed: boolean;
}

/** version(1) + log_id(32) + timestamp(8) + extensions length(2) + hash(1) + sig alg(1) + sig length(2) */
const MIN_SCT_BYTES = 47;

/** The embedded SCTs of a certificate, or null when it has none (or cannot be read). */
export function parseEmbeddedScts(der: Buffer): SctList | null {
  const ext = findExtension(der, SCT_LIST_OID);
  if (!ext) return null;
  // extnValue holds a second DER OCTET STRING wrapping the TLS-encoded list.
  const inner = primitive(ext.value, forge.asn1.Type.OCTETSTRING);
  const scts = inner === undefined ? undefined : parseSctList(inner);
  if (scts === undefined) return { count: 0, scts: [], malformed: true };
  return { count: scts.length, scts, malformed: false };
}

/** opaque SerializedSCT<1..2^16-1>; SignedCertificateTimestampList = SerializedSCT<1..2^16-1> */
function parseSctList(list: Buffer): Sct[] | undefined {
  if (list.length < 2 || list.readUInt16BE(0) !== list.length - 2) return undefined;
  const out: Sct[] = [];
  let offset = 2;
  while (offset < list.length) {
    if (offset + 2 > list.length) return undefined;
    const len = list.readUInt16BE(offset);
    const end = offset + 2 + len;
    if (len < MIN_SCT_BYTES || end > list.length) return undefined;
    out.push(readSct(list.subarray(offset + 2, end)));
    offset = end;
  }
  return out.length > 0 ? out : undefined;
}

function readSct(sct: Buffer): Sct {
  return {
    version: sct[0] ?? 0,
    logId: sct.subarray(1, 33).toString('base64'),
    timestamp: Number(sct.readBigUInt64BE(33)),
  };
}
