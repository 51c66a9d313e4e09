/**
 * CONNECT targets: the one-pass split of plain `name:port` (plain-target.ts) must give
 * exactly what splitHostPort gives, the same target or the same error.
 */
import t from 'tap';
import { parseConnectTarget, splitHostPort } from '../../../src/proxy/http1.js';
import { splitPlainAuthority } from '../../../src/proxy/plain-target.js';
import { outcome, sameOutcomes } from '../../support/outcome.js';
import { pick, prng } from '../../support/prng.js';

// Plain name pieces most of the time, so that many draws take the one-pass split.
const PLAIN_PARTS = ['a', 'b', 'x1', 'z-', 'q.', 'ex.', '.', '0', '255'];
const ODD_PARTS = ['-', 'xn--', 'Q', 'ü', '_', ':', '[', ']', '::1', ' ', '%', '/', '..'];
const GOOD_PORTS = [':443', ':8080', ':1', ':65535'];
const ODD_PORTS = [':080', ':0', ':65536', ':', ':99999', ':12a', '', ':443 '];

function authority(next: () => number): string {
  let host = '';
  for (let n = 1 + Math.floor(next() * 5); n > 0; n--) {
    host += pick(next, next() < 0.85 ? PLAIN_PARTS : ODD_PARTS);
  }
  return `${host}${pick(next, next() < 0.7 ? GOOD_PORTS : ODD_PORTS)}`;
}

t.test('the plain split answers exactly as splitHostPort on generated authorities', async (t) => {
  const next = prng(11);
  const seen = sameOutcomes(t, () => authority(next), 20000, parseConnectTarget, splitHostPort);
  if (seen === undefined) return;
  let split = 0;
  for (const raw of seen.keys()) if (splitPlainAuthority(raw) !== undefined) split++;
  // The generator must reach the split's shape often, or the comparison proves little.
  t.ok(split > 1000, `${split} of ${seen.size} distinct authorities took the plain split`);
  t.ok(seen.size > 10000, `${seen.size} distinct authorities`);
});

t.test('edge cases of the plain authority', async (t) => {
  const cases = [
    'example.com:443',
    'example.com:0443',
    'example.com:0',
    'example.com:65535',
    'example.com:65536',
    'example.com:',
    'example.com',
    'example.com.:443',
    'Example.com:443',
    '1.2.3.4:443',
    '1.2.3:443',
    'a1.0x7f:443',
    'xn--nxasmq6b.com:443',
    'a-.example:443',
    '-a.example:443',
    'a_b.example:443',
    `${'a'.repeat(63)}.example:443`,
    `${'a'.repeat(64)}.example:443`,
    `${'a.'.repeat(125)}abc:443`,
    `${'a.'.repeat(126)}ab:443`,
    '[::1]:443',
    'a..b:443',
  ];
  for (const raw of cases)
    t.same(outcome(parseConnectTarget, raw), outcome(splitHostPort, raw), raw);
  t.same(splitPlainAuthority('example.com:443'), { host: 'example.com', port: 443 });
  t.equal(splitPlainAuthority('example.com:0443'), undefined, 'a leading zero goes the long way');
  t.equal(splitPlainAuthority('1.2.3.4:443'), undefined, 'IPv4 goes the long way');
});
