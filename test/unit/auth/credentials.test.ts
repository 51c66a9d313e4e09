import t from 'tap';
import {
  CredentialStore,
  defaultKeyring,
  displayUser,
  keyringAccount,
  ntlmIdentity,
  type Credentials,
} from '../../../src/auth/credentials.js';
import { ntHash } from '../../../src/auth/ntlm-v2.js';
import {
  checkPrivate,
  parseCredentialsFile,
  readCredentialsFile,
  type FileStat,
} from '../../../src/config/credentials-file.js';
import type { UpstreamProxy } from '../../../src/config/types.js';

const HASH = '8846f7eaee8fb117ad06bdd830b7586c';
const FILE = '/home/dev/.config/corproxy/credentials.yaml';

function proxy(over: Partial<UpstreamProxy> = {}): UpstreamProxy {
  return {
    protocol: 'http:',
    host: 'proxy.test',
    port: 8080,
    display: 'http://proxy.test:8080',
    id: 'proxy.test:8080',
    ...over,
  };
}

/** A file system of one credentials file, whose text and mode tests change. */
function fakeFs(text: string, mode = 0o100600) {
  const state = { text, mode, mtimeMs: 1, reads: 0 };
  return {
    state,
    deps: {
      platform: 'linux' as const,
      stat: (): FileStat => ({ mode: state.mode, mtimeMs: state.mtimeMs, size: state.text.length }),
      readFile: () => {
        state.reads += 1;
        return state.text;
      },
    },
  };
}

t.test('parseCredentialsFile', async (t) => {
  const map = parseCredentialsFile(
    [
      'Proxy.Test:8080:',
      '  user: CORP\\alice',
      '  password: "p@ss: word"',
      '"[fd00::1]:3128":',
      '  user: bob',
      `  ntHash: ${HASH.toUpperCase()}`,
      '  domain: CORP',
    ].join('\n'),
    FILE,
  );
  t.same(map.get('proxy.test:8080'), { user: 'CORP\\alice', password: 'p@ss: word' });
  t.same(map.get('[fd00::1]:3128'), { user: 'bob', ntHash: HASH, domain: 'CORP' });
  t.equal(parseCredentialsFile('', FILE).size, 0, 'an empty file');
  t.equal(parseCredentialsFile('# nothing\n', FILE).size, 0);
});

const SECRET = 'Hunter2-secret';

const BAD: ReadonlyArray<readonly [string, string, string, RegExp]> = [
  [
    'syntax',
    `p.test:1:\n  password: "${SECRET}\n  user: [`,
    'CPX_ERR_CONFIG_READ',
    /credentials\.yaml:\d+:\d+: YAML syntax error$/,
  ],
  [
    'duplicate key',
    `p.test:1: {user: a, password: x}\np.test:1: {user: b, password: y}`,
    'CPX_ERR_CONFIG_READ',
    /YAML syntax error/,
  ],
  [
    'same id twice',
    `P.test:1: {user: a, password: x}\np.test:1: {user: b, password: y}`,
    'CPX_ERR_CONFIG_INVALID',
    /p\.test:1 is listed twice/,
  ],
  ['a list', '- a\n- b', 'CPX_ERR_CONFIG_INVALID', /must be a mapping of upstream host:port/],
  [
    'no port',
    'proxy.test: {user: a, password: x}',
    'CPX_ERR_CONFIG_INVALID',
    /"proxy\.test" is not an upstream host:port/,
  ],
  [
    'entry not a mapping',
    'p.test:1: x',
    'CPX_ERR_CONFIG_INVALID',
    /p\.test:1: must be a mapping with user and password/,
  ],
  [
    'unknown key',
    'p.test:1: {user: a, password: x, realm: r}',
    'CPX_ERR_CONFIG_INVALID',
    /p\.test:1\.realm: unknown key/,
  ],
  [
    'no user',
    `p.test:1: {password: ${SECRET}}`,
    'CPX_ERR_CONFIG_INVALID',
    /p\.test:1\.user: is required/,
  ],
  [
    'number password',
    'p.test:1: {user: a, password: 1234}',
    'CPX_ERR_CONFIG_INVALID',
    /p\.test:1\.password: must be a string; quote it/,
  ],
  [
    'both secrets',
    `p.test:1: {user: a, password: x, ntHash: ${HASH}}`,
    'CPX_ERR_CONFIG_INVALID',
    /give exactly one of password and ntHash/,
  ],
  [
    'no secret',
    'p.test:1: {user: a}',
    'CPX_ERR_CONFIG_INVALID',
    /give exactly one of password and ntHash/,
  ],
  [
    'bad hash',
    `p.test:1: {user: a, ntHash: ${SECRET}}`,
    'CPX_ERR_CONFIG_INVALID',
    /ntHash: is not an NT hash/,
  ],
];

t.test('bad credentials files: clear errors that never quote the secret', async (t) => {
  for (const [name, text, code, message] of BAD) {
    try {
      parseCredentialsFile(text, FILE);
      t.fail(`${name}: no error`);
    } catch (err) {
      t.match(err, { code, message }, name);
      t.notMatch((err as Error).message, SECRET, `${name}: no secret`);
      t.match((err as Error).message, `credentials file ${FILE}`, `${name}: names the file`);
    }
  }
});

t.test('mode: group or other access is refused on POSIX, not on Windows', async (t) => {
  const st = (mode: number): FileStat => ({ mode, mtimeMs: 0, size: 0 });
  t.doesNotThrow(() => checkPrivate(FILE, st(0o100600), { platform: 'linux' }));
  t.doesNotThrow(() => checkPrivate(FILE, st(0o100400), { platform: 'linux' }));
  for (const mode of [0o100640, 0o100604, 0o100620, 0o100610]) {
    t.throws(() => checkPrivate(FILE, st(mode), { platform: 'linux' }), {
      code: 'CPX_ERR_CONFIG_INVALID',
      message: new RegExp(`mode 0${(mode & 0o777).toString(8)}\\); run chmod 600 `),
    });
  }
  t.doesNotThrow(() => checkPrivate(FILE, st(0o100666), { platform: 'win32' }));
});

t.test('readCredentialsFile: missing or unreadable file', async (t) => {
  const enoent = Object.assign(new Error('nope'), { code: 'ENOENT' });
  t.throws(
    () =>
      readCredentialsFile(FILE, {
        stat: () => {
          throw enoent;
        },
        platform: 'linux',
      }),
    {
      code: 'CPX_ERR_CONFIG_READ',
      message: /cannot stat it \(ENOENT\); create it or fix auth\.credentialsFile/,
    },
  );
  const eacces = Object.assign(new Error('nope'), { code: 'EACCES' });
  t.throws(
    () =>
      readCredentialsFile(FILE, {
        stat: () => ({ mode: 0o600, mtimeMs: 0, size: 0 }),
        readFile: () => {
          throw eacces;
        },
        platform: 'linux',
      }),
    { code: 'CPX_ERR_CONFIG_READ', message: /cannot read it \(EACCES\); check its permissions/ },
  );
});

t.test('CredentialStore: configuration first', async (t) => {
  const store = new CredentialStore();
  t.equal(await store.resolve(proxy()), undefined, 'none configured');
  t.equal(await store.resolve(proxy({ username: 'u' })), undefined, 'a user alone is not enough');
  t.same(await store.resolve(proxy({ username: 'u', password: 'p' })), {
    user: 'u',
    password: 'p',
    domain: '',
    workstation: '',
    source: 'config',
  });
  const hashed = await store.resolve(
    proxy({
      username: 'u',
      auth: { schemes: ['ntlm'], ntHash: HASH, domain: 'D', workstation: 'W' },
    }),
  );
  t.same(hashed?.ntHash?.toString('hex'), HASH);
  t.match(hashed, { domain: 'D', workstation: 'W', source: 'config' });
});

t.test('CredentialStore: credentials file, re-read when it changes', async (t) => {
  const fs = fakeFs('proxy.test:8080:\n  user: CORP\\alice\n  password: one\n');
  const store = new CredentialStore({ file: fs.deps });
  const p = proxy({ auth: { schemes: ['ntlm'], credentialsFile: FILE } });
  t.match(await store.resolve(p), {
    user: 'CORP\\alice',
    password: 'one',
    source: `credentials file ${FILE}`,
  });
  await store.resolve(p);
  t.equal(fs.state.reads, 1, 'cached while unchanged');
  fs.state.text = 'proxy.test:8080:\n  user: CORP\\alice\n  password: two!\n';
  fs.state.mtimeMs = 2;
  t.match(await store.resolve(p), { password: 'two!' }, 'a new password without restart');
  t.equal(
    await store.resolve(proxy({ port: 1, id: 'proxy.test:1', auth: p.auth })),
    undefined,
    'no entry for another upstream',
  );
  fs.state.mode = 0o100644;
  await t.rejects(
    store.resolve(p),
    { code: 'CPX_ERR_CONFIG_INVALID', message: /mode 0644/ },
    'mode checked on each use',
  );
  fs.state.mode = 0o100600;
  await t.rejects(store.resolve({ ...p, username: 'bob' }), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message: /proxy\.test:8080 is for user "CORP\\alice" but the upstream names user "bob"/,
  });
  t.match(
    await store.resolve({ ...p, username: 'CORP\\alice' }),
    { password: 'two!' },
    'same user is fine',
  );
  const withDomain = fakeFs(`proxy.test:8080: {user: alice, ntHash: ${HASH}, domain: FILEDOM}`);
  const s2 = new CredentialStore({ file: withDomain.deps });
  t.match(await s2.resolve(p), { domain: 'FILEDOM' });
  t.match(
    await s2.resolve({ ...p, auth: { ...p.auth!, domain: 'CFG' } }),
    { domain: 'CFG' },
    'config domain wins',
  );
});

t.test('CredentialStore: OS keyring', async (t) => {
  const asked: string[] = [];
  const store = new CredentialStore({
    keyring: async (service, account) => {
      asked.push(`${service} ${account}`);
      return account.startsWith('alice@') ? 'from-keyring' : undefined;
    },
  });
  const p = proxy({ username: 'alice', auth: { schemes: ['ntlm'], keyring: true } });
  t.match(await store.resolve(p), { user: 'alice', password: 'from-keyring', source: 'keyring' });
  t.same(asked, ['corproxy alice@proxy.test:8080']);
  await t.rejects(store.resolve({ ...p, username: 'bob' }), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
    message:
      /the OS keyring has no password for service "corproxy", account "bob@proxy\.test:8080"/,
  });
  t.equal(keyringAccount('a', p), 'a@proxy.test:8080');
});

t.test('the default keyring lookup names the missing optional package', async (t) => {
  await t.rejects(defaultKeyring('corproxy', 'a@b:1'), {
    code: 'CPX_ERR_CONFIG_INVALID',
    message:
      /auth\.keyring is on but the optional package @napi-rs\/keyring cannot be loaded; run npm install @napi-rs\/keyring/,
  });
});

t.test('ntlmIdentity splits DOMAIN\\user; UPNs stay whole', async (t) => {
  const c = (user: string, domain = ''): Credentials => ({
    user,
    password: 'Password',
    domain,
    workstation: 'W',
    source: 'config',
  });
  t.match(ntlmIdentity(c('CORP\\alice')), { user: 'alice', domain: 'CORP', workstation: 'W' });
  t.match(ntlmIdentity(c('CORP\\alice', 'OTHER')), { user: 'alice', domain: 'OTHER' });
  t.match(ntlmIdentity(c('alice@corp.example')), { user: 'alice@corp.example', domain: '' });
  t.equal(ntlmIdentity(c('a')).ntHash.toString('hex'), ntHash('Password').toString('hex'));
  const hashed = { ...c('a'), password: undefined, ntHash: Buffer.from(HASH, 'hex') };
  t.equal(ntlmIdentity(hashed).ntHash.toString('hex'), HASH);
  t.equal(displayUser(c('CORP\\alice')), 'CORP\\alice');
  t.equal(displayUser(c('alice', 'CORP')), 'CORP\\alice');
  t.equal(displayUser(c('alice')), 'alice');
});
