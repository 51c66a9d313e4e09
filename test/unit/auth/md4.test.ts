import t from 'tap';
import { md4 } from '../../../src/auth/md4.js';

// RFC 1320 Appendix A.5, the MD4 test suite.
const RFC1320: ReadonlyArray<readonly [string, string]> = [
  ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
  ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
  ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
  ['message digest', 'd9130a8164549fe818874806e1c7014b'],
  ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
  [
    'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789',
    '043f8582f241db351ce627e153e7f0e4',
  ],
  [
    '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
    'e33b4ddc9c38f2199c3e7b164fcc0536',
  ],
];

t.test('RFC 1320 test suite', async (t) => {
  for (const [input, digest] of RFC1320) {
    t.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest, JSON.stringify(input));
  }
});

t.test('NT hash of "Password" (MS-NLMP §4.2.2.1.2)', async (t) => {
  t.equal(
    md4(Buffer.from('Password', 'utf16le')).toString('hex'),
    'a4f49c406510bdcab6824ee7c30fd852',
  );
});

// Around the padding boundaries (56 and 64 bytes): digests of n times "a", from an
// independent implementation (`openssl dgst -md4 -provider legacy`).
const BOUNDARIES: ReadonlyArray<readonly [number, string]> = [
  [55, 'c889c81dd86c4d2e025778944ea02881'],
  [56, 'd5f9a9e9257077a5f08b0b92f348b0ad'],
  [63, '7ea3da77432d44c323671097d1348fc8'],
  [64, '52f5076fabd22680234a3fa9f9dc5732'],
  [65, '330e377bf231f3cacfecc2c182fe7e5b'],
  [119, 'e65dd227ccef97fa1d34d70189120f76'],
  [120, 'b03ddbd470b47c013e0c7ab2ddd763db'],
];

t.test('padding boundaries', async (t) => {
  for (const [n, digest] of BOUNDARIES) {
    t.equal(md4(Buffer.alloc(n, 0x61)).toString('hex'), digest, `${n} bytes`);
  }
});

t.test('does not modify its input', async (t) => {
  const input = Buffer.from('abc');
  md4(input);
  t.equal(input.toString(), 'abc');
});
