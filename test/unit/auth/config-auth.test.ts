/**
 * The `auth` settings of upstreams (src/config/auth.ts) through the real parseConfig.
 */
import t from 'tap';
import { AUTH_SCHEMES, authOf, domainOfUser, normalizeNtHash } from '../../../src/config/auth.js';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';
import type { Config, UpstreamProxy } from '../../../src/config/types.js';

function parse(over: Partial<ConfigInputs> = {}): Config {
  return parseConfig({ env: {}, flags: {}, platform: 'linux', homedir: '/home/dev', ...over });
}

function only(c: Config): UpstreamProxy {
  if (c.upstreams.length !== 1) throw new Error(`expected one upstream, got ${c.upstreams.length}`);
  return c.upstreams[0]!;
}

const HASH = '8846f7eaee8fb117ad06bdd830b7586c';
const file = (auth: unknown, extra: Record<string, unknown> = {}): Partial<ConfigInputs> => ({
  file: { upstream: [{ url: 'http://alice@proxy.test:8080', auth, ...extra }] },
  filePath: '/etc/corproxy/config.yaml',
});

t.test('no auth settings: no auth field, defaults through authOf', async (t) => {
  const u = only(parse({ flags: { upstream: ['http://a:b@proxy.test:1'] } }));
  t.equal(u.auth, undefined);
  t.same(authOf(u), { schemes: AUTH_SCHEMES });
  t.same(AUTH_SCHEMES, ['negotiate', 'ntlm', 'basic']);
});

t.test('every auth key is read and validated', async (t) => {
  const u = only(
    parse(
      file({
        schemes: ['Basic', 'ntlm'],
        domain: 'CORP',
        workstation: 'WS01',
        ntHash: HASH.toUpperCase(),
        credentialsFile: 'creds.yaml',
        keyring: false,
      }),
    ),
  );
  t.same(u.auth, {
    schemes: ['ntlm', 'basic'],
    domain: 'CORP',
    workstation: 'WS01',
    ntHash: HASH,
    credentialsFile: '/etc/corproxy/creds.yaml',
    keyring: false,
  });
  t.ok(Object.isFrozen(u.auth), 'frozen with the rest');
  t.same(only(parse(file({ schemes: 'ntlm, basic' }))).auth?.schemes, ['ntlm', 'basic']);
  t.same(
    only(parse(file({ credentialsFile: '~/c.yaml' }))).auth?.credentialsFile,
    '/home/dev/c.yaml',
  );
  t.equal(only(parse(file({ domain: null }))).auth, undefined, 'null keys set nothing');
});

t.test('pwdump LM:NT form is accepted', async (t) => {
  t.equal(normalizeNtHash(`aad3b435b51404eeaad3b435b51404ee:${HASH}`), HASH);
  t.equal(normalizeNtHash('xyz'), undefined);
  t.equal(normalizeNtHash(` ${HASH.toUpperCase()} `), HASH);
});

t.test('domainOfUser', async (t) => {
  t.equal(domainOfUser('CORP\\alice'), 'CORP');
  t.equal(domainOfUser('alice'), undefined);
  t.equal(domainOfUser('\\alice'), undefined);
  t.equal(domainOfUser(undefined), undefined);
});

t.test('environment variables fill gaps for every upstream', async (t) => {
  const env = {
    CORPROXY_UPSTREAM_DOMAIN: 'CORP',
    CORPROXY_UPSTREAM_NTHASH: HASH,
    CORPROXY_UPSTREAM_AUTH: 'ntlm',
    CORPROXY_CREDENTIALS_FILE: '/run/secrets/corproxy.yaml',
  };
  const c = parse({ env, flags: { upstream: ['http://alice@a.test:1'] } });
  t.same(only(c).auth, {
    schemes: ['ntlm'],
    domain: 'CORP',
    ntHash: HASH,
    credentialsFile: '/run/secrets/corproxy.yaml',
  });
  t.same(c.sources, ['defaults', 'environment', 'flags']);
  const mine = parse({
    env: { CORPROXY_UPSTREAM_DOMAIN: 'CORP', CORPROXY_UPSTREAM_AUTH: 'basic' },
    ...file({ domain: 'MINE', schemes: ['ntlm'] }),
    flags: { upstream: ['http://bob@b.test:2'] },
  });
  t.same(
    mine.upstreams.map((u) => [u.id, u.auth?.domain, u.auth?.schemes]),
    [['b.test:2', 'CORP', ['basic']]],
    'flags replace the file list; env fills the flag upstream',
  );
  const both = parse({
    env: { CORPROXY_UPSTREAM_DOMAIN: 'CORP' },
    file: {
      upstream: [
        { url: 'http://a@a.test:1', auth: { domain: 'OWN' } },
        'http://b@b.test:2',
        'http://DOM%5Cc@c.test:3',
      ],
    },
  });
  t.same(
    both.upstreams.map((u) => u.auth?.domain),
    ['OWN', 'CORP', undefined],
    'configured and DOMAIN\\user domains win',
  );
});

const SECRET = 'Sup3r-s3cret';

const ERRORS: ReadonlyArray<readonly [string, Partial<ConfigInputs>, RegExp]> = [
  [
    'auth not a mapping',
    file('ntlm'),
    /^upstream\[0\]\.auth: must be a mapping with keys schemes, domain/,
  ],
  ['unknown key', file({ realm: 'x' }), /^upstream\[0\]\.auth\.realm: unknown key \(known keys: /],
  [
    'bad scheme',
    file({ schemes: ['digest'] }),
    /^upstream\[0\]\.auth\.schemes: "digest" is not one of negotiate, ntlm, basic; in config file/,
  ],
  ['empty schemes', file({ schemes: [] }), /^upstream\[0\]\.auth\.schemes: is empty/],
  ['domain not a string', file({ domain: 5 }), /^upstream\[0\]\.auth\.domain: must be a string/],
  [
    'domain with backslash',
    file({ domain: 'A\\B' }),
    /must not hold control characters or a backslash/,
  ],
  [
    'bad nt hash',
    file({ ntHash: SECRET }),
    /^upstream\[0\]\.auth\.ntHash: is not an NT hash \(32 hex digits\)/,
  ],
  [
    'keyring not boolean',
    file({ keyring: 'maybe' }),
    /^upstream\[0\]\.auth\.keyring: "maybe" is not a boolean/,
  ],
  [
    'domain contradicts DOMAIN\\user',
    { file: { upstream: [{ url: 'http://A%5Cu@p.test:1', auth: { domain: 'B' } }] } },
    /^upstream\[0\]\.auth\.domain: contradicts the domain of user "A\\u"; keep one/,
  ],
  [
    'ntHash and password',
    { file: { upstream: [{ url: `http://u:${SECRET}@p.test:1`, auth: { ntHash: HASH } }] } },
    /^upstream\[0\]\.auth\.ntHash: is set as well as a password; keep one/,
  ],
  [
    'ntHash without user',
    { file: { upstream: [{ url: 'http://p.test:1', auth: { ntHash: HASH } }] } },
    /^upstream\[0\]\.auth\.ntHash: needs a user name/,
  ],
  [
    'keyring without user',
    { file: { upstream: [{ url: 'http://p.test:1', auth: { keyring: true } }] } },
    /^upstream\[0\]\.auth\.keyring: needs a user name/,
  ],
  [
    'keyring and password',
    { file: { upstream: [{ url: `http://u:${SECRET}@p.test:1`, auth: { keyring: true } }] } },
    /^upstream\[0\]\.auth\.keyring: is on but a password or ntHash is configured/,
  ],
  [
    'NTHASH env unused',
    {
      env: { CORPROXY_UPSTREAM_NTHASH: HASH },
      flags: { upstream: [`http://u:${SECRET}@p.test:1`] },
    },
    /^upstream: is set but fills no gap in any upstream; unset it; from environment variable CORPROXY_UPSTREAM_NTHASH$/,
  ],
  [
    'DOMAIN env unused',
    { env: { CORPROXY_UPSTREAM_DOMAIN: 'CORP' }, flags: { upstream: ['http://p.test:1'] } },
    /from environment variable CORPROXY_UPSTREAM_DOMAIN$/,
  ],
  [
    'AUTH env without upstreams',
    { env: { CORPROXY_UPSTREAM_AUTH: 'ntlm' } },
    /from environment variable CORPROXY_UPSTREAM_AUTH$/,
  ],
  [
    'bad NTHASH env',
    { env: { CORPROXY_UPSTREAM_NTHASH: SECRET }, flags: { upstream: ['http://u@p.test:1'] } },
    /^upstream: is not an NT hash \(32 hex digits\); from environment variable CORPROXY_UPSTREAM_NTHASH$/,
  ],
  [
    'bad AUTH env',
    { env: { CORPROXY_UPSTREAM_AUTH: 'kerberos' }, flags: { upstream: ['http://p.test:1'] } },
    /"kerberos" is not one of negotiate, ntlm, basic; from environment variable CORPROXY_UPSTREAM_AUTH$/,
  ],
  [
    'relative CREDENTIALS_FILE env',
    { env: { CORPROXY_CREDENTIALS_FILE: 'c.yaml' }, flags: { upstream: ['http://p.test:1'] } },
    /is relative; give an absolute path; from environment variable CORPROXY_CREDENTIALS_FILE$/,
  ],
];

t.test('auth errors name the key path and origin, never the secret', async (t) => {
  for (const [name, inputs, message] of ERRORS) {
    t.throws(() => parse(inputs), { code: 'CPX_ERR_CONFIG_INVALID', message }, name);
    try {
      parse(inputs);
    } catch (err) {
      t.notMatch((err as Error).message, SECRET, `${name}: no secret`);
    }
  }
});

t.test('with an NT hash and no password, display shows no ***', async (t) => {
  const u = only(parse(file({ ntHash: HASH })));
  t.equal(u.display, 'http://alice@proxy.test:8080');
  t.notMatch(u.display, HASH);
});
