import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import { parseEmbeddedScts, SCT_LIST_OID } from '../../../src/tls/sct.js';
import { makeCa, makeLeaf } from '../../support/pki.js';
import { fakeScts, originLeaf, sctExtension, sctListBytes } from '../../support/tls-origin.js';
import { makeEcChain, opensslText, skipWithoutOpenssl } from '../../fixtures/chains/ec-chain.js';

const ca = makeCa({ cn: 'SCT Test CA' });
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

/** An extension whose extnValue contents are `raw` (no inner OCTET STRING added). */
const rawExt = (raw: Buffer): object => ({
  id: SCT_LIST_OID,
  value: raw.toString('binary'),
});

t.test('a leaf with two embedded SCTs', async (t) => {
  const leaf = der(originLeaf(ca, ['sct.example.test'], 2).certPem);
  const scts = parseEmbeddedScts(leaf);
  t.equal(scts?.count, 2);
  t.equal(scts?.malformed, false);
  t.same(
    scts?.scts.map((s) => s.logId),
    [Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')],
  );
  t.same(
    scts?.scts.map((s) => s.timestamp),
    fakeScts(2).map((s) => s.timestamp),
  );
  t.equal(scts?.scts[0]?.version, 0);
});

t.test('a leaf without the extension', async (t) => {
  t.equal(parseEmbeddedScts(der(makeLeaf(ca, ['plain.example.test'], { keys }).certPem)), null);
  t.equal(parseEmbeddedScts(Buffer.from('not a certificate')), null, 'unreadable DER');
});

t.test('malformed SCT extensions count as none', async (t) => {
  const good = sctListBytes(fakeScts(1));
  const wrongTotal = Buffer.from(good);
  wrongTotal.writeUInt16BE(good.length, 0);
  const shortSct = Buffer.from([0, 4, 0, 2, 1, 2]);
  const overrun = Buffer.from([0, 4, 0, 60, 1, 2]);
  const cases: Array<[string, object]> = [
    ['list length disagrees', sctExtension(wrongTotal)],
    ['empty list', sctExtension(Buffer.from([0, 0]))],
    ['SCT shorter than its fields', sctExtension(shortSct)],
    ['SCT longer than the list', sctExtension(overrun)],
    ['one byte', sctExtension(Buffer.from([0]))],
    ['no inner OCTET STRING', rawExt(good)],
  ];
  for (const [name, ext] of cases) {
    t.same(parseEmbeddedScts(bare([ext])), { count: 0, scts: [], malformed: true }, name);
  }
});

t.test(
  'an EC leaf made by openssl, cross-checked with openssl -text',
  { skip: skipWithoutOpenssl() },
  async (t) => {
    const list = sctListBytes(fakeScts(3));
    const inner = Buffer.concat([
      Buffer.from([0x04, 0x82, list.length >> 8, list.length & 0xff]),
      list,
    ]);
    const chain = makeEcChain((fn) => t.teardown(fn), inner.toString('hex'));
    const parsed = parseEmbeddedScts(der(chain.leafWithSctPem));
    t.equal(parsed?.count, 3);
    t.equal(parseEmbeddedScts(der(chain.leafPem)), null);
    const text = opensslText(chain.leafWithSctPem);
    t.match(text, /CT Precertificate SCTs/);
    const logIdHex =
      Buffer.alloc(32, 3).toString('hex').toUpperCase().match(/../g)?.join(':') ?? '';
    t.ok(text.replace(/[\s]/g, '').includes(logIdHex), 'openssl shows the same third log id');
    t.equal(parsed?.scts[2]?.logId, Buffer.alloc(32, 3).toString('base64'));
  },
);
