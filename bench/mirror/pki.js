/**
 * The benchmark's own PKI, minted in-process with node-forge: a root CA standing for the
 * public roots of the module proxy, and a TLS leaf for the module proxy's `.test` name.
 * RSA 2048 as real public CAs still issue; forge cannot make EC keys.
 */
import forge from 'node-forge';

function keypair() {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function serialNumber() {
  // Positive (leading nibble below 8) and unique per run.
  return `1${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
}

function issue({ cn, keys, issuer, extensions }) {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  const subject = [{ name: 'commonName', value: cn }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.setExtensions([...extensions, { name: 'subjectKeyIdentifier' }]);
  cert.sign(issuer ? issuer.key : keys.privateKey, forge.md.sha256.create());
  return {
    cert,
    key: keys.privateKey,
    certPem: forge.pki.certificateToPem(cert),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

/** A self-signed root CA. */
export function makeCa(cn) {
  return issue({
    cn,
    keys: keypair(),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
}

/** A server leaf for one DNS name, signed by `ca`. */
export function makeLeaf(ca, name) {
  return issue({
    cn: name,
    keys: keypair(),
    issuer: ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: name }] },
    ],
  });
}
