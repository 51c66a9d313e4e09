/**
 * Reads X.509 v3 extensions (RFC 5280 §4.1, §4.2) from certificate DER. Node 20's
 * X509Certificate exposes none of them (its `keyUsage` is really the EKU list), so the
 * DER is walked with node-forge's ASN.1 reader, which, unlike forge's certificate
 * parser, works for EC certificates too.
 */
import forge from 'node-forge';

/** One certificate extension: its OID, the critical flag and the extnValue contents. */
export interface CertExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Buffer;
}

const { Class, Type } = forge.asn1;

interface DerOptions {
  readonly strict: boolean;
  readonly parseAllBytes: boolean;
  readonly decodeBitStrings: boolean;
}

// The typings declare only the boolean form; forge also takes an options object, and
// decodeBitStrings must be off so BIT STRING contents are never mistaken for ASN.1.
const fromDer = forge.asn1.fromDer as unknown as (
  bytes: string,
  options: DerOptions,
) => forge.asn1.Asn1;

/** Strict DER parse of a whole buffer; throws on malformed input. */
function parseDer(der: Buffer): forge.asn1.Asn1 {
  return fromDer(der.toString('binary'), {
    strict: true,
    parseAllBytes: true,
    decodeBitStrings: false,
  });
}

/** Node's certificates are at most a few KiB; anything far larger is not worth parsing. */
const MAX_CERT_BYTES = 64 * 1024;

/** The extensions of a certificate, or undefined when the DER cannot be read. */
export function readExtensions(der: Buffer): CertExtension[] | undefined {
  if (der.length > MAX_CERT_BYTES) return undefined;
  try {
    const cert = parseDer(der);
    const tbs = children(cert)?.[0];
    const explicit3 = children(tbs)?.find(
      (c) => c.tagClass === Class.CONTEXT_SPECIFIC && c.type === 3,
    );
    if (explicit3 === undefined) return [];
    const list = children(children(explicit3)?.[0]) ?? [];
    return list.map(toExtension).filter((e): e is CertExtension => e !== undefined);
  } catch {
    return undefined;
  }
}

/** The extension with `oid`, undefined when absent; null when the DER is unreadable. */
export function findExtension(der: Buffer, oid: string): CertExtension | undefined | null {
  const all = readExtensions(der);
  if (all === undefined) return null;
  return all.find((e) => e.oid === oid);
}

/**
 * Whether keyUsage (RFC 5280 §4.2.1.3) allows keyCertSign; undefined when the extension is
 * absent, which RFC 5280 permits for CAs (the real Zscaler root has none).
 */
export function allowsKeyCertSign(der: Buffer): boolean | undefined {
  const ext = findExtension(der, '2.5.29.15');
  if (!ext) return undefined;
  const bits = primitive(ext.value, Type.BITSTRING);
  // BIT STRING contents: unused-bit count, then bits MSB first; keyCertSign is bit 5.
  if (bits === undefined || bits.length < 2) return false;
  return ((bits[1] ?? 0) & 0x04) !== 0;
}

/** basicConstraints (RFC 5280 §4.2.1.9): critical flag and cA; undefined when absent. */
export function readBasicConstraints(der: Buffer): { critical: boolean; ca: boolean } | undefined {
  const ext = findExtension(der, '2.5.29.19');
  if (!ext) return undefined;
  let ca = false;
  try {
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    const first = children(parseDer(ext.value))?.[0];
    ca = first?.type === Type.BOOLEAN && first.value === '\xff';
  } catch {
    ca = false;
  }
  return { critical: ext.critical, ca };
}

/** Whether basicConstraints is marked critical; Python >= 3.13 strict mode requires it. */
export function basicConstraintsCritical(der: Buffer): boolean | undefined {
  return readBasicConstraints(der)?.critical;
}

/** The contents of a single primitive DER value of `type`, or undefined. */
export function primitive(der: Buffer, type: number): Buffer | undefined {
  try {
    const node = parseDer(der);
    if (node.tagClass !== Class.UNIVERSAL || node.type !== type) return undefined;
    return typeof node.value === 'string' ? Buffer.from(node.value, 'binary') : undefined;
  } catch {
    return undefined;
  }
}

function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] | undefined {
  return node !== undefined && Array.isArray(node.value) ? node.value : undefined;
}

/** Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } */
function toExtension(node: forge.asn1.Asn1): CertExtension | undefined {
  const parts = children(node);
  const oid = parts?.[0];
  const value = parts?.[parts.length - 1];
  if (parts === undefined || parts.length < 2 || oid === undefined || value === undefined) {
    return undefined;
  }
  if (oid.type !== Type.OID || value.type !== Type.OCTETSTRING) return undefined;
  if (typeof oid.value !== 'string' || typeof value.value !== 'string') return undefined;
  const flag = parts.length === 3 ? parts[1] : undefined;
  const critical = flag?.type === Type.BOOLEAN && flag.value === '\xff';
  return {
    oid: forge.asn1.derToOid(oid.value),
    critical,
    value: Buffer.from(value.value, 'binary'),
  };
}
