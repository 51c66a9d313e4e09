import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import {
  allowsKeyCertSign,
  basicConstraintsCritical,
  findExtension,
  primitive,
  readBasicConstraints,
  readExtensions,
} from '../../../src/tls/cert-extensions.js';
import { makeCa, makeLeaf } from '../../support/pki.js';

const ca = makeCa({ cn: 'Extensions Test CA' });
const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const der = (pem: string): Buffer => new X509Certificate(pem).raw;

/** A bare certificate with exactly the given extensions (forge format). */
function bare(extensions: object[]): Buffer {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 86_400_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'bare' }]);
  cert.setIssuer([{ name: 'commonName', value: 'bare' }]);
  cert.setExtensions(extensions);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return der(forge.pki.certificateToPem(cert));
}

t.test('unreadable DER', async (t) => {
  t.equal(findExtension(Buffer.from('not a certificate'), '2.5.29.19'), null);
  t.equal(readExtensions(Buffer.from([0x30, 0x03, 0x02])), undefined);
  t.equal(readExtensions(Buffer.alloc(70_000, 0x30)), undefined, 'oversized input refused');
  t.same(readExtensions(Buffer.from([0x30, 0x04, 0x30, 0x02, 0x05, 0x00])), [], 'no [3] block');
});

t.test('keyUsage and basicConstraints', async (t) => {
  const caDer = der(ca.certPem);
  const leafDer = der(makeLeaf(ca, ['ku.example.test'], { keys }).certPem);
  const none = bare([]);
  t.equal(allowsKeyCertSign(caDer), true);
  t.equal(allowsKeyCertSign(leafDer), false);
  t.equal(allowsKeyCertSign(none), undefined, 'absent keyUsage is allowed for CAs (RFC 5280)');
  t.equal(allowsKeyCertSign(bare([{ name: 'keyUsage', cRLSign: true }])), false);
  t.equal(basicConstraintsCritical(caDer), true);
  t.equal(basicConstraintsCritical(bare([{ name: 'basicConstraints', cA: true }])), false);
  t.equal(basicConstraintsCritical(none), undefined);
  t.same(readBasicConstraints(caDer), { critical: true, ca: true });
  t.same(readBasicConstraints(leafDer), { critical: false, ca: false });
  t.same(
    readBasicConstraints(bare([{ id: '2.5.29.19', value: 'junk' }])),
    { critical: false, ca: false },
    'unreadable value',
  );
  const exts = readExtensions(caDer) ?? [];
  t.ok(exts.some((e) => e.oid === '2.5.29.19' && e.critical));
});

t.test('primitive values', async (t) => {
  t.same(primitive(Buffer.from([0x04, 0x02, 0xab, 0xcd]), 4), Buffer.from([0xab, 0xcd]));
  t.equal(primitive(Buffer.from([0x04, 0x02, 0xab, 0xcd]), 3), undefined, 'wrong type');
  t.equal(primitive(Buffer.from([0x30, 0x00]), 0x10), undefined, 'constructed');
  t.equal(primitive(Buffer.from([0x04, 0x05, 0x00]), 4), undefined, 'truncated');
  t.equal(primitive(Buffer.from([0x84, 0x01, 0x00]), 4), undefined, 'context class');
});
