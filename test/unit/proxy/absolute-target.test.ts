import t from 'tap';
import { parseAbsoluteTarget, parseAbsoluteTargetByUrl } from '../../../src/proxy/http1.js';
import { outcome, sameOutcomes } from '../../support/outcome.js';
import { pick, prng } from '../../support/prng.js';

const SCHEMES = ['http://', 'http://', 'http://', 'HTTP://', 'https://', 'http:/', ''];
const HOST_PARTS = ['a', 'b', 'x1', 'z-', '-', '.', '1', '0', '255', '0x7f', 'xn--', 'Q', 'ü', '_'];
const PORTS = ['', '', '', ':80', ':8080', ':080', ':0', ':1', ':65535', ':65536', ':', ':99999'];
const PATH_CHARS = [
  ...'/////aZ09-._~!$&()*+,;=:@%?#\'"\\ |^`{}<>',
  '%2e',
  '%2E',
  '/.',
  '/..',
  '%20',
  '?',
  '\t',
];

function target(next: () => number): string {
  let host = '';
  for (let n = 1 + Math.floor(next() * 5); n > 0; n--) host += pick(next, HOST_PARTS);
  let path = next() < 0.1 ? '' : '/';
  for (let n = Math.floor(next() * 8); n > 0; n--) path += pick(next, PATH_CHARS);
  return `${pick(next, SCHEMES)}${host}${pick(next, PORTS)}${path}`;
}

t.test('the plain split answers exactly as the URL parser on generated targets', async (t) => {
  const next = prng(7);
  const seen = sameOutcomes(
    t,
    () => target(next),
    20000,
    parseAbsoluteTarget,
    parseAbsoluteTargetByUrl,
  );
  if (seen === undefined) return;
  let plainShaped = 0;
  for (const [raw, fast] of seen) {
    if (/^http:\/\/[a-z]/.test(raw) && (fast as { ok?: unknown }).ok !== undefined) plainShaped++;
  }
  // The generator must reach the split's shape often, or the comparison proves little.
  t.ok(plainShaped > 1000, `${plainShaped} accepted plain-shaped targets compared`);
  t.ok(seen.size > 10000, `${seen.size} distinct targets`);
});

t.test('edge cases of the plain shape', async (t) => {
  const cases = [
    'http://example.com/p?',
    'http://example.com/p?q',
    'http://example.com/a/./b',
    'http://example.com/a/%2e%2E/b',
    'http://example.com/.well-known/x',
    'http://example.com:80/',
    'http://example.com:0080/',
    'http://example.com:65535/',
    'http://example.com:65536/',
    'http://1.2.3/',
    'http://127.0.0.1/',
    'http://a1.0x7f/',
    'http://xn--nxasmq6b.com/',
    'http://xn--zz/',
    'http://a-.example/',
    `http://${'a'.repeat(64)}.example/`,
    `http://${'a'.repeat(63)}.example/`,
    `http://${'a.'.repeat(125)}abc/`,
    `http://${'a.'.repeat(126)}ab/`,
    'http://a.b-c.d1/x%2Fy%41?%2e',
    'http://ab/%2',
    'http://ab:/',
    'http://ab:01/',
    "http://example.com/it's?it's",
    'http://example.com/a\\b',
    'http://example.com/p#f',
    'http://example.com/a|b^c',
  ];
  for (const raw of cases) {
    t.same(outcome(parseAbsoluteTarget, raw), outcome(parseAbsoluteTargetByUrl, raw), raw);
  }
});
