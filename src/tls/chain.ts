/**
 * Certificate chain helpers over node:crypto X509Certificate, the only API corproxy uses
 * for trust questions (node-forge cannot read EC keys). Pure: no I/O, no clock.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';

/** What corproxy prints and logs about one certificate. */
export interface CertDescription {
  /** One-line DN, attributes as Node prints them (RFC 4514 escapes kept), e.g. `CN=x, O=y`. */
  readonly subject: string;
  readonly issuer: string;
  /** The subject's common name, unescaped, when it has one. */
  readonly subjectCN?: string;
  /** Upper-case hex with colons, as X509Certificate.fingerprint256. */
  readonly sha256: string;
  /** ISO 8601. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** 'RSA 2048', 'EC P-256', 'Ed25519', ... */
  readonly keyType: string;
  readonly isCa: boolean;
  readonly selfSigned: boolean;
}

/** Splits a DN as Node prints it (one `KEY=value` per line) into unescaped pairs. */
export function parseDn(dn: string): Array<readonly [string, string]> {
  const out: Array<readonly [string, string]> = [];
  for (const line of dn.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out.push([line.slice(0, eq).trim(), unescapeDnValue(line.slice(eq + 1))]);
  }
  return out;
}

/** RFC 4514 §2.4 escapes as OpenSSL writes them: `\,` for specials, `\0A` for controls. */
function unescapeDnValue(value: string): string {
  return value.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_m, esc: string) =>
    esc.length === 2 ? String.fromCharCode(parseInt(esc, 16)) : esc,
  );
}

/** The first value of attribute `key` (e.g. 'CN', 'O') in a Node DN string. */
export function dnAttr(dn: string, key: string): string | undefined {
  const upper = key.toUpperCase();
  return parseDn(dn).find(([k]) => k.toUpperCase() === upper)?.[1];
}

/** A Node DN on one line, for messages and comment lines. */
export function oneLineDn(dn: string): string {
  return dn
    .split('\n')
    .filter((l) => l.length > 0)
    .join(', ');
}

const CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/** A short human description of the certificate's public key. */
export function keyType(cert: X509Certificate): string {
  const key = cert.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'ec': {
      const curve = details.namedCurve ?? '?';
      return `EC ${CURVES[curve] ?? curve}`;
    }
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  }
}

/** Names and signature both check out: `checkIssued` alone does not verify the signature. */
export function verifiesIssued(child: X509Certificate, parent: X509Certificate): boolean {
  try {
    return child.checkIssued(parent) && child.verify(parent.publicKey);
  } catch {
    return false;
  }
}

/** Self-issued and self-signed (a mitmproxy leaf signed with its own key is neither). */
export function isSelfSigned(cert: X509Certificate): boolean {
  return verifiesIssued(cert, cert);
}

/** Date of an X509Certificate validity string ('Mar  1 00:00:00 2025 GMT'). */
export function validityDate(text: string): Date {
  return new Date(text);
}

/** The certificate as corproxy reports it. */
export function describe(cert: X509Certificate): CertDescription {
  const cn = dnAttr(cert.subject, 'CN');
  return {
    subject: oneLineDn(cert.subject),
    issuer: oneLineDn(cert.issuer),
    ...(cn === undefined ? {} : { subjectCN: cn }),
    sha256: cert.fingerprint256,
    notBefore: isoOrRaw(cert.validFrom),
    notAfter: isoOrRaw(cert.validTo),
    keyType: keyType(cert),
    isCa: cert.ca,
    selfSigned: isSelfSigned(cert),
  };
}

function isoOrRaw(text: string): string {
  const d = validityDate(text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString();
}

/** Whether `now` lies inside the certificate's validity period (RFC 5280 §4.1.2.5). */
export function isValidAt(cert: X509Certificate, now: Date): boolean {
  const from = validityDate(cert.validFrom).getTime();
  const to = validityDate(cert.validTo).getTime();
  return now.getTime() >= from && now.getTime() <= to;
}

/**
 * Leaf first, then each issuer found among `certs` by name and signature, until a
 * self-signed cert or no issuer; duplicates (by fingerprint) and unrelated certs dropped.
 * The leaf is the first cert that issued none of the others.
 */
export function orderChain(certs: readonly X509Certificate[]): X509Certificate[] {
  const unique = dedupe(certs);
  const leaf =
    unique.find((c) => !unique.some((o) => o !== c && verifiesIssued(o, c))) ?? unique[0];
  if (leaf === undefined) return [];
  const out = [leaf];
  const seen = new Set([leaf.fingerprint256]);
  let current = leaf;
  while (!isSelfSigned(current)) {
    const parent = unique.find((c) => !seen.has(c.fingerprint256) && verifiesIssued(current, c));
    if (parent === undefined) break;
    out.push(parent);
    seen.add(parent.fingerprint256);
    current = parent;
  }
  return out;
}

/** The certificates in their first-seen order, each fingerprint once. */
export function dedupe(certs: readonly X509Certificate[]): X509Certificate[] {
  const seen = new Set<string>();
  return certs.filter((c) => {
    if (seen.has(c.fingerprint256)) return false;
    seen.add(c.fingerprint256);
    return true;
  });
}

/**
 * Whether the leaf names `host` the way Go checks it: SAN only (Go ignores the CN since
 * 1.15), IP literals against iPAddress SANs.
 */
export function hostMatches(leaf: X509Certificate, host: string): boolean {
  const name = host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (name.length === 0) return false;
  if (isIP(name) !== 0) return leaf.checkIP(name) !== undefined;
  return leaf.checkHost(name, { subject: 'never' }) !== undefined;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Every PEM certificate block in `text`, in order. */
export function splitPem(text: string): string[] {
  return text.match(PEM_BLOCK) ?? [];
}

/** Parses each PEM block; blocks Node cannot read are returned as `bad` instead. */
export function parsePem(text: string): { certs: X509Certificate[]; bad: number } {
  const certs: X509Certificate[] = [];
  let bad = 0;
  for (const block of splitPem(text)) {
    try {
      certs.push(new X509Certificate(block));
    } catch {
      bad += 1;
    }
  }
  return { certs, bad };
}

/** Canonical PEM (64-column base64) of a certificate's DER. */
export function toPem(cert: X509Certificate): string {
  const b64 = cert.raw.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
