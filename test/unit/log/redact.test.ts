import t from 'tap';
import {
  MASK,
  compileRedactor,
  redactHeaders,
  redactText,
  redactUrl,
  secretsOf,
} from '../../../src/log/redact.js';
import type { UpstreamProxy } from '../../../src/config/types.js';

t.test('redactUrl', async (t) => {
  const cases: [string, string][] = [
    ['http://alice:s3cret@proxy.corp:3128', 'http://***:***@proxy.corp:3128'],
    ['https://alice:s3cret@proxy.corp:3128/', 'https://***:***@proxy.corp:3128/'],
    ['http://alice@proxy.corp:3128', 'http://***@proxy.corp:3128'],
    ['http://alice:@proxy.corp', 'http://***:***@proxy.corp'],
    ['http://:pw@proxy.corp', 'http://***:***@proxy.corp'],
    // Percent-encoded characters stay inside the masked part.
    ['http://dom%5Cuser:p%40ss@proxy.corp:8080', 'http://***:***@proxy.corp:8080'],
    // An unencoded @ in the password: the URL parser disagrees, the mask still covers it.
    ['http://alice:p@ss@proxy.corp:3128', 'http://***:***@proxy.corp:3128'],
    // Unparseable (bad port): masked anyway.
    ['http://alice:s3cret@proxy.corp:99999999', 'http://***:***@proxy.corp:99999999'],
    ['http://alice:s3cret@[bad', 'http://***:***@[bad'],
    // No scheme.
    ['alice:s3cret@proxy.corp:3128', '***:***@proxy.corp:3128'],
    ['proxy=alice:s3cret@proxy.corp:3128', 'proxy=***:***@proxy.corp:3128'],
    ['dial "alice:s3cret@proxy.corp:3128" failed', 'dial "***:***@proxy.corp:3128" failed'],
    // Left alone, byte for byte (no trailing slash added, no case change).
    ['http://proxy.corp:3128', 'http://proxy.corp:3128'],
    ['HTTP://Proxy.Corp:3128', 'HTTP://Proxy.Corp:3128'],
    ['', ''],
    ['not a url at all', 'not a url at all'],
    [
      'https://proxy.golang.org/github.com/x/y/@v/list',
      'https://proxy.golang.org/github.com/x/y/@v/list',
    ],
    ['https://registry.npmjs.org/@scope%2fpkg', 'https://registry.npmjs.org/@scope%2fpkg'],
    // Looks like user:pass@ after a `=`: masked, erring on the safe side.
    ['http://host/path?q=a:b@c', 'http://host/path?q=***:***@c'],
    ['mail user@example.com', 'mail user@example.com'],
    // Two URLs in one message: both masked.
    [
      'tried http://a:1@p1:1 then http://b:2@p2:2',
      'tried http://***:***@p1:1 then http://***:***@p2:2',
    ],
  ];
  for (const [input, want] of cases) t.equal(redactUrl(input), want, input);
});

t.test('redactHeaders masks credentials only, whatever the case of the name', async (t) => {
  const input = {
    'Proxy-Authorization': 'Basic YWxpY2U6czNjcmV0',
    authorization: 'Bearer tok',
    COOKIE: 'a=b',
    'set-cookie': ['a=1', 'b=2'],
    host: 'example.test',
    'x-empty': undefined,
    'proxy-authenticate': 'Basic realm="corp"',
  };
  const out = redactHeaders(input);
  t.same(out, {
    'Proxy-Authorization': MASK,
    authorization: MASK,
    COOKIE: MASK,
    'set-cookie': [MASK, MASK],
    host: 'example.test',
    'x-empty': undefined,
    'proxy-authenticate': 'Basic realm="corp"',
  });
  t.equal(input.authorization, 'Bearer tok', 'input not modified');
  t.not(out, input, 'a copy');
});

t.test('redactText', async (t) => {
  const basic = Buffer.from('alice:s3cret').toString('base64');
  const cases: [string, string[], string][] = [
    ['password s3cret here', ['s3cret'], 'password *** here'],
    ['s3cret s3cret', ['s3cret'], '*** ***'],
    ['nothing', ['s3cret'], 'nothing'],
    ['keep s3cret', [], 'keep s3cret'],
    ['keep s3cret', [''], 'keep s3cret'],
    // Percent-encoded form.
    ['url http://alice:p%40ss%2Fw@proxy', ['p@ss/w'], 'url http://alice:***@proxy'],
    // base64 of a user:pass pair (a Basic token) and the pair itself.
    [`Proxy-Authorization: Basic ${basic}`, ['alice:s3cret'], 'Proxy-Authorization: Basic ***'],
    ['creds alice:s3cret!', ['alice:s3cret'], 'creds ***!'],
    ['creds alice%3As3cret', ['alice:s3cret'], 'creds ***'],
    // Longest first: the pair is masked whole, not as "alice:***".
    ['alice:s3cret', ['s3cret', 'alice:s3cret'], '***'],
    // Regular-expression characters are literal.
    ['a.b*c+d matches only itself: axbbbcd', ['a.b*c+d'], '*** matches only itself: axbbbcd'],
    ['(x|y) and x', ['(x|y)'], '*** and x'],
    ['dollar $& stays', ['$&'], 'dollar *** stays'],
  ];
  for (const [text, secrets, want] of cases) {
    t.equal(redactText(text, secrets), want, `${text} / ${JSON.stringify(secrets)}`);
  }
});

t.test('compileRedactor without secrets is the identity', async (t) => {
  const id = compileRedactor([]);
  t.equal(id('a:b@c s3cret'), 'a:b@c s3cret');
});

t.test('secretsOf lists each password and user:password pair', async (t) => {
  const base = { protocol: 'http:', host: 'p', port: 1, display: 'x', id: 'p:1' } as const;
  const upstreams: UpstreamProxy[] = [
    { ...base, username: 'alice', password: 's3cret' },
    { ...base, username: 'bob' },
    { ...base },
    { ...base, password: 'only' },
  ];
  t.same(secretsOf(upstreams), ['s3cret', 'alice:s3cret', 'only']);
});
