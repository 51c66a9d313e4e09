import t from 'tap';
import { fieldLineProblem, scanRequestHead, trimOws } from '../../../src/proxy/request-head.js';
import { prng } from '../../support/prng.js';

// Token characters, separators, whitespace, controls and obs-text, as latin1 octets.
const PIECES = [
  ...'aZ09-!~_:',
  ':',
  ':',
  ' ',
  '\t',
  '\r',
  '\n',
  '\0',
  '\x7f',
  '\x01',
  '"',
  '(',
  '\xe9',
];

/**
 * The head's fast check (one expression per field line) must accept exactly the lines the
 * detailed checks find nothing wrong with, and a refused line must get their reason.
 */
t.test('field lines: the one-expression check agrees with fieldLineProblem', async (t) => {
  const next = prng(5);
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 20000; i++) {
    let line = '';
    for (let n = 1 + Math.floor(next() * 7); n > 0; n--) {
      line += PIECES[Math.floor(next() * PIECES.length)]!;
    }
    if (line.includes('\r\n')) continue;
    const scan = scanRequestHead(
      Buffer.from(`GET / HTTP/1.1\r\n${line}\r\n\r\n`, 'latin1'),
      1 << 16,
    );
    const problem = fieldLineProblem(line);
    const colon = line.indexOf(':');
    const expected =
      problem === undefined
        ? { kind: 'complete', rawHeaders: [line.slice(0, colon), trimOws(line.slice(colon + 1))] }
        : { kind: 'invalid', reason: problem };
    const got =
      scan.kind === 'complete'
        ? { kind: scan.kind, rawHeaders: scan.head.rawHeaders }
        : { kind: scan.kind, reason: scan.kind === 'invalid' ? scan.reason : undefined };
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      t.same(got, expected, JSON.stringify(line));
      return;
    }
    if (problem === undefined) accepted++;
    else refused++;
  }
  t.ok(accepted > 500, `${accepted} lines accepted alike`);
  t.ok(refused > 5000, `${refused} lines refused for the same reason`);
});
