/**
 * Test PKI minted in-process with node-forge (RSA only: forge cannot handle EC keys).
 * Nothing here is used by corproxy itself; trust decisions in src/ use node:crypto.
 */
import forge from 'node-forge';
import { isIP } from 'node:net';

export interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: forge.pki.Certificate;
  readonly key: forge.pki.rsa.PrivateKey;
}

export interface CertOptions {
  /** Subject common name. */
  readonly cn: string;
  /** Subject organisation. */
  readonly org?: string;
  /** Days valid from one day ago; negative makes an expired certificate. */
  readonly days?: number;
  /** Extra certificate extensions (forge format). */
  readonly extensions?: object[];
  /** Reuse this key instead of generating one (mitmproxy-style leaf-key-equals-CA-key). */
  readonly keys?: forge.pki.rsa.KeyPair;
}

let serial = 1;

function nextSerial(): string {
  serial += 1;
  return (Date.now().toString(16) + serial.toString(16).padStart(4, '0')).replace(/^[89a-f]/, '1');
}

function keypair(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function build(opts: CertOptions, issuer: Issued | undefined, extensions: object[]): Issued {
  const keys = opts.keys ?? keypair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = nextSerial();
  const days = opts.days ?? 365;
  const now = Date.now();
  if (days >= 0) {
    cert.validity.notBefore = new Date(now - 86_400_000);
    cert.validity.notAfter = new Date(now + days * 86_400_000);
  } else {
    cert.validity.notBefore = new Date(now + (days - 30) * 86_400_000);
    cert.validity.notAfter = new Date(now + days * 86_400_000);
  }
  const attrs: forge.pki.CertificateField[] = [{ name: 'commonName', value: opts.cn }];
  if (opts.org !== undefined) attrs.push({ name: 'organizationName', value: opts.org });
  cert.setSubject(attrs);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : attrs);
  cert.setExtensions([
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    // keyIdentifier:true would take the subject's own key id; the issuer's is wanted.
    ...(issuer ? [{ name: 'authorityKeyIdentifier', keyIdentifier: keyIdOf(issuer.cert) }] : []),
    ...(opts.extensions ?? []),
  ]);
  const signer = issuer ?? { cert, key: keys.privateKey };
  cert.sign(signer.key, forge.md.sha256.create());
  return {
    cert,
    key: keys.privateKey,
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

function keyIdOf(cert: forge.pki.Certificate): string {
  return (cert.generateSubjectKeyIdentifier() as unknown as { getBytes(): string }).getBytes();
}

/** A self-signed CA (root). */
export function makeCa(opts: CertOptions): Issued {
  return build(opts, undefined, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
}

/** An intermediate CA signed by `issuer`. */
export function makeIntermediate(issuer: Issued, opts: CertOptions): Issued {
  return build(opts, issuer, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
}

/** A TLS server leaf for `names` (DNS names or IP literals) signed by `issuer`. */
export function makeLeaf(
  issuer: Issued,
  names: readonly string[],
  opts: Partial<CertOptions> = {},
): Issued {
  const altNames = names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n }));
  return build({ cn: names[0] ?? 'leaf', ...opts }, issuer, [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
}
