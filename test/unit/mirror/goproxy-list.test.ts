import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  bestFailure,
  fallsThrough,
  formatGoproxyList,
  outcomeOfStatus,
  parseGoproxyList,
} from '../../../src/mirror/goproxy-list.js';

t.test('parses entries and separators as cmd/go does', async (t) => {
  t.same(parseGoproxyList('https://proxy.golang.org'), [
    { url: 'https://proxy.golang.org', fallBackOnError: false },
  ]);
  t.same(parseGoproxyList(' goproxy.corp.test:8443/go/ |https://a.test, ,http://b.test:81'), [
    { url: 'https://goproxy.corp.test:8443/go', fallBackOnError: true },
    { url: 'https://a.test', fallBackOnError: false },
    { url: 'http://b.test:81', fallBackOnError: false },
  ]);
  const list = parseGoproxyList('https://a.test|https://b.test,https://c.test');
  t.equal(formatGoproxyList(list), 'https://a.test|https://b.test,https://c.test');
});

t.test('direct, off and other entries corproxy cannot use are refused clearly', async (t) => {
  for (const value of ['direct', 'https://a.test,direct', 'off']) {
    t.throws(() => parseGoproxyList(value), { code: 'CPX_ERR_CONFIG_INVALID' }, value);
  }
  t.throws(() => parseGoproxyList('https://a.test,direct'), /end of go's GOPROXY/);
  t.throws(() => parseGoproxyList('file:///srv/goproxy'), /only https:\/\/ and http:\/\//);
  t.throws(() => parseGoproxyList('https://u:p@a.test'), /without credentials/);
  t.throws(() => parseGoproxyList('https://a.test/?x=1'), /without credentials, query/);
  t.throws(() => parseGoproxyList('https://[bad'), /is not a URL/);
  t.throws(() => parseGoproxyList(' , '), /empty/);
  try {
    parseGoproxyList('direct');
  } catch (err) {
    t.ok(err instanceof CorproxyError);
  }
});

t.test('fallthrough: `,` only on 404/410, `|` on any error', async (t) => {
  t.equal(outcomeOfStatus(200), 'ok');
  t.equal(outcomeOfStatus(404), 'not-found');
  t.equal(outcomeOfStatus(410), 'not-found');
  for (const s of [400, 403, 500, 502, 301]) t.equal(outcomeOfStatus(s), 'error', String(s));
  const comma = { url: 'https://a.test', fallBackOnError: false };
  const pipe = { url: 'https://a.test', fallBackOnError: true };
  t.ok(fallsThrough(comma, 'not-found'));
  t.notOk(fallsThrough(comma, 'error'));
  t.ok(fallsThrough(pipe, 'not-found'));
  t.ok(fallsThrough(pipe, 'error'));
});

t.test('the reported failure is the last error, else the last not-found', async (t) => {
  t.equal(bestFailure(['not-found', 'not-found']), 1);
  t.equal(bestFailure(['error', 'not-found']), 0);
  t.equal(bestFailure(['not-found', 'error', 'not-found']), 1);
  t.equal(bestFailure(['error', 'error']), 1);
});
