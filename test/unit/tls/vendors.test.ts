import t from 'tap';
import forge from 'node-forge';
import { X509Certificate } from 'node:crypto';
import {
  defaultCatalogue,
  isUntrustedResign,
  labelVendor,
  loadCatalogue,
  matchVendor,
  namesAreUntrustedResign,
  parseCatalogue,
  type ChainNames,
} from '../../../src/tls/vendors.js';
import { makeCa, makeLeaf } from '../../support/pki.js';

const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
const x = (pem: string): X509Certificate => new X509Certificate(pem);
const names = (n: Partial<ChainNames>): ChainNames => ({
  issuerCN: [],
  issuerO: [],
  subjectCN: [],
  subjectO: [],
  ...n,
});

t.test('the shipped catalogue', async (t) => {
  const cat = defaultCatalogue();
  t.equal(defaultCatalogue(), cat, 'read once');
  const vendors = new Set(cat.map((e) => e.vendor));
  for (const v of [
    'Zscaler',
    'Netskope',
    'Cisco Umbrella',
    'Fortinet',
    'Palo Alto Networks',
    'Blue Coat / Symantec ProxySG',
    'Cloudflare Gateway',
    'Forcepoint',
    'Skyhigh / McAfee Web Gateway',
    'Sophos',
    'Trend Micro',
    'Check Point',
    'Kaspersky',
    'ESET',
    'Avast / AVG',
    'squid',
    'mitmproxy',
    'Charles Proxy',
    'Fiddler',
    'Burp Suite',
  ]) {
    t.ok(vendors.has(v), v);
  }
  t.ok(
    cat.every((e) => e.notes.length > 20),
    'every row explains itself',
  );
});

t.test('labels from issuer names', async (t) => {
  const cat = defaultCatalogue();
  const table: Array<[string, Partial<ChainNames>]> = [
    ['Zscaler', { issuerCN: ['Zscaler Intermediate Root CA (zscalertwo.net)'] }],
    ['Zscaler', { issuerO: ['Zscaler Inc.'] }],
    ['Netskope', { issuerCN: ['ca.acme.goskope.com'], issuerO: ['Acme Corp'] }],
    ['Netskope', { issuerCN: ['caadmin.netskope.com'] }],
    ['Cisco Umbrella', { issuerCN: ['Cisco Umbrella Secondary SubCA ams-SG'] }],
    ['Fortinet', { issuerCN: ['FortiGate CA'] }],
    ['Fortinet', { issuerCN: ['Fortinet_CA_SSL'] }],
    ['Fortinet', { issuerO: ['Fortinet Ltd.'] }],
    ['Palo Alto Networks', { issuerCN: ['Forward-Trust-CA'] }],
    ['Blue Coat / Symantec ProxySG', { issuerO: ['Blue Coat Systems'] }],
    ['Cloudflare Gateway', { issuerCN: ['Gateway CA - Cloudflare Managed G1 1a2b3c'] }],
    ['Cloudflare Gateway', { issuerCN: ['Cloudflare for Teams ECC Certificate Authority'] }],
    ['Forcepoint', { issuerCN: ['Forcepoint Cloud CA'] }],
    ['Forcepoint', { issuerO: ['Websense, Inc.'] }],
    ['Skyhigh / McAfee Web Gateway', { issuerCN: ['McAfee Web Gateway'] }],
    ['Sophos', { issuerCN: ['Sophos SSL CA_C1234'] }],
    ['Trend Micro', { issuerCN: ['IWSS.TREND'] }],
    ['Check Point', { issuerO: ['Check Point Software'] }],
    ['Kaspersky', { issuerCN: ['Kaspersky Anti-Virus Personal Root Certificate'] }],
    ['ESET', { issuerCN: ['ESET SSL Filter CA'] }],
    ['Avast / AVG', { issuerCN: ['avast! Web/Mail Shield Root'] }],
    ['squid', { issuerCN: ['Squid Proxy CA'] }],
    ['mitmproxy', { issuerCN: ['mitmproxy'] }],
    ['Charles Proxy', { issuerCN: ['Charles Proxy CA (1 Jan 2025, host)'] }],
    ['Fiddler', { issuerCN: ['DO_NOT_TRUST_FiddlerRoot'] }],
    ['Burp Suite', { issuerCN: ['PortSwigger CA'] }],
  ];
  for (const [vendor, n] of table) t.equal(matchVendor(names(n), cat), vendor, vendor);
  const publicNames: Array<Partial<ChainNames>> = [
    { issuerCN: ['Sectigo ECC Domain Validation Secure Server CA'], issuerO: ['Sectigo Limited'] },
    { issuerCN: ['Cloudflare Inc ECC CA-3'], issuerO: ['Cloudflare, Inc.'] },
    { issuerCN: ['WR2'], issuerO: ['Google Trust Services'] },
    { issuerCN: ['mitmproxy-like but not'] },
  ];
  for (const n of publicNames) t.equal(matchVendor(names(n), cat), undefined, 'no label');
  const subjectOnly = parseCatalogue([
    { vendor: 'Acme', match: { subjectCN: '^Acme Inspection' }, notes: '' },
  ]);
  t.equal(matchVendor(names({ subjectCN: ['Acme Inspection Root'] }), subjectOnly), 'Acme');
});

t.test('labels on real chains', async (t) => {
  const z = makeCa({ cn: 'Zscaler Root CA', org: 'Zscaler Inc.', keys });
  const leaf = makeLeaf(z, ['github.com'], { keys });
  t.equal(labelVendor([x(leaf.certPem), x(z.certPem)]), 'Zscaler');
  t.equal(labelVendor([x(leaf.certPem)]), 'Zscaler', 'leaf alone: its issuer name');
  const corp = makeCa({ cn: 'Example Corp Root', keys });
  t.equal(labelVendor([x(makeLeaf(corp, ['a.test'], { keys }).certPem)]), undefined);
});

t.test('untrusted re-sign CAs', async (t) => {
  const cat = defaultCatalogue();
  const resign = (cn: string): boolean => namesAreUntrustedResign(names({ issuerCN: [cn] }), cat);
  t.equal(resign('Not trusted by "Corp Inspection Root"'), true, 'squid');
  t.equal(resign('Fortinet_CA_Untrusted'), true);
  t.equal(resign('Forward-Untrust-CA'), true, 'Palo Alto');
  t.equal(resign('Example Untrusted Origins CA'), true, 'generic');
  t.equal(resign('Corp Inspection Root'), false);
  t.equal(resign('DO_NOT_TRUST_FiddlerRoot'), false, 'Fiddler root is not an untrusted re-sign');
  t.equal(
    namesAreUntrustedResign(names({ subjectO: ['Forward Untrust Ltd'] }), cat),
    true,
    'subject O of a CA',
  );
  const trap = makeCa({ cn: 'Not trusted by "Corp Root"', keys });
  const leaf = makeLeaf(trap, ['untrusted.example.test'], { keys });
  t.equal(isUntrustedResign([x(leaf.certPem)]), true);
  const fine = makeCa({ cn: 'Corp Root', keys });
  const fineLeaf = makeLeaf(fine, ['untrusted.example.test'], { keys });
  t.equal(isUntrustedResign([x(fineLeaf.certPem), x(fine.certPem)]), false, 'leaf names ignored');
});

t.test('catalogue validation', async (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{}, /not a JSON array/],
    [[1], /row 0 is not an object/],
    [[{ match: { issuerCN: 'x' }, notes: '' }], /row 0: vendor/],
    [[{ vendor: 'V', match: { issuerCN: 'x' } }], /notes/],
    [[{ vendor: 'V', notes: '' }], /match/],
    [[{ vendor: 'V', match: { issuer: 'x' }, notes: '' }], /unknown match\.issuer/],
    [[{ vendor: 'V', match: {}, notes: '' }], /empty match/],
    [[{ vendor: 'V', match: { issuerCN: '(' }, notes: '' }], /match\.issuerCN/],
    [[{ vendor: 'V', match: { issuerCN: 3 }, notes: '' }], /not a regex/],
    [[{ vendor: 'V', match: { issuerCN: 'x' }, untrusted: '[', notes: '' }], /untrusted/],
  ];
  for (const [json, re] of bad) {
    t.throws(() => parseCatalogue(json), { code: 'CPX_ERR_INTERNAL', message: re }, String(re));
  }
  const ok = parseCatalogue([
    { vendor: 'V', match: { issuerO: '^v$' }, untrusted: 'u', notes: '' },
  ]);
  t.equal(ok[0]?.match.issuerO?.test('V'), true, 'case-insensitive');
});

t.test('loading the catalogue', async (t) => {
  const url = new URL('file:///nowhere/vendors.json');
  t.throws(
    () =>
      loadCatalogue({
        url,
        read: () => {
          throw new Error('ENOENT');
        },
      }),
    { code: 'CPX_ERR_INTERNAL', message: /cannot read/ },
  );
  t.throws(() => loadCatalogue({ url, read: () => '{not json' }), {
    code: 'CPX_ERR_INTERNAL',
    message: /vendors\.json/,
  });
  t.throws(() => loadCatalogue({ url, read: () => '[{}]' }), { code: 'CPX_ERR_INTERNAL' });
  const cat = loadCatalogue({
    url,
    read: () => '[{"vendor":"V","match":{"issuerCN":"v"},"notes":"n"}]',
  });
  t.equal(cat.length, 1);
});
