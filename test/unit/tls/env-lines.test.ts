import t from 'tap';
import {
  SHELLS,
  defaultShell,
  envLines,
  goEnvLines,
  quote,
  type EnvInput,
  type Shell,
} from '../../../src/tls/env-lines.js';

const PROXY = 'http://127.0.0.1:3129';
const FULL: EnvInput = {
  proxyUrl: PROXY,
  bundle: '/home/dev/.local/state/corproxy/ca-bundle.pem',
  corporate: '/home/dev/.local/state/corproxy/corp-ca.pem',
};
const B = FULL.bundle as string;
const C = FULL.corporate as string;

/** The lines that are not comments. */
const commands = (lines: string[], shell: Shell): string[] =>
  lines.filter((l) => !l.startsWith(shell === 'cmd' ? 'REM ' : '# '));

t.test('sh', async (t) => {
  t.same(commands(envLines(FULL, 'sh'), 'sh'), [
    `export HTTPS_PROXY='${PROXY}'`,
    `export https_proxy='${PROXY}'`,
    `export HTTP_PROXY='${PROXY}'`,
    `export http_proxy='${PROXY}'`,
    `export SSL_CERT_FILE='${B}'`,
    `export GIT_SSL_CAINFO='${B}'`,
    `export REQUESTS_CA_BUNDLE='${B}'`,
    `export CURL_CA_BUNDLE='${B}'`,
    `export NODE_EXTRA_CA_CERTS='${C}'`,
  ]);
});

t.test('fish', async (t) => {
  t.same(commands(envLines(FULL, 'fish'), 'fish'), [
    `set -gx HTTPS_PROXY '${PROXY}'`,
    `set -gx https_proxy '${PROXY}'`,
    `set -gx HTTP_PROXY '${PROXY}'`,
    `set -gx http_proxy '${PROXY}'`,
    `set -gx SSL_CERT_FILE '${B}'`,
    `set -gx GIT_SSL_CAINFO '${B}'`,
    `set -gx REQUESTS_CA_BUNDLE '${B}'`,
    `set -gx CURL_CA_BUNDLE '${B}'`,
    `set -gx NODE_EXTRA_CA_CERTS '${C}'`,
  ]);
});

t.test('powershell (both cases: pwsh on Linux and macOS has case-sensitive names)', async (t) => {
  const win = {
    proxyUrl: PROXY,
    bundle: 'C:\\Users\\dev\\AppData\\Local\\corproxy\\ca-bundle.pem',
    corporate: 'C:\\Users\\dev\\AppData\\Local\\corproxy\\corp-ca.pem',
  };
  t.same(commands(envLines(win, 'powershell'), 'powershell'), [
    `$env:HTTPS_PROXY = '${PROXY}'`,
    `$env:https_proxy = '${PROXY}'`,
    `$env:HTTP_PROXY = '${PROXY}'`,
    `$env:http_proxy = '${PROXY}'`,
    `$env:SSL_CERT_FILE = '${win.bundle}'`,
    `$env:GIT_SSL_CAINFO = '${win.bundle}'`,
    `$env:REQUESTS_CA_BUNDLE = '${win.bundle}'`,
    `$env:CURL_CA_BUNDLE = '${win.bundle}'`,
    `$env:NODE_EXTRA_CA_CERTS = '${win.corporate}'`,
  ]);
});

t.test('cmd (Windows only: names ignore case, so one line each)', async (t) => {
  const win = {
    proxyUrl: PROXY,
    bundle: 'C:\\Users\\dev\\AppData\\Local\\corproxy\\ca-bundle.pem',
    corporate: 'C:\\Users\\dev\\AppData\\Local\\corproxy\\corp-ca.pem',
  };
  const lines = envLines(win, 'cmd');
  t.same(commands(lines, 'cmd'), [
    `set "HTTPS_PROXY=${PROXY}"`,
    `set "HTTP_PROXY=${PROXY}"`,
    `set "SSL_CERT_FILE=${win.bundle}"`,
    `set "GIT_SSL_CAINFO=${win.bundle}"`,
    `set "REQUESTS_CA_BUNDLE=${win.bundle}"`,
    `set "CURL_CA_BUNDLE=${win.bundle}"`,
    `set "NODE_EXTRA_CA_CERTS=${win.corporate}"`,
  ]);
  t.ok(lines.some((l) => /^REM .*ignore case/.test(l)));
  t.ok(
    lines.every((l) => !l.startsWith('#')),
    'cmd comments use REM',
  );
});

t.test('quoting keeps every value literal', async (t) => {
  const odd = "/srv/it's $HOME `x` \\ dir";
  t.equal(quote(odd, 'sh'), `'/srv/it'\\''s $HOME \`x\` \\ dir'`);
  t.equal(quote(odd, 'fish'), `'/srv/it\\'s $HOME \`x\` \\\\ dir'`);
  t.equal(quote(odd, 'powershell'), `'/srv/it''s $HOME \`x\` \\ dir'`);
  t.equal(quote('C:\\a b', 'cmd'), '"C:\\a b"');
  for (const shell of SHELLS) {
    t.throws(() => quote('a\nb', shell), { code: 'CPX_ERR_USAGE' }, `${shell}: newline refused`);
  }
  t.throws(() => envLines({ ...FULL, bundle: 'C:\\100%\\b.pem' }, 'cmd'), {
    code: 'CPX_ERR_USAGE',
    message: /for cmd/,
  });
  t.throws(() => quote('a"b', 'cmd'), { code: 'CPX_ERR_USAGE' });
});

t.test('no bundle yet: proxy lines only, and how to get one', async (t) => {
  for (const shell of SHELLS) {
    const lines = envLines({ proxyUrl: PROXY }, shell);
    const run = commands(lines, shell).join('\n');
    t.notMatch(run, /SSL_CERT_FILE|GIT_SSL_CAINFO|CURL_CA_BUNDLE|NODE_EXTRA_CA_CERTS/, shell);
    t.match(lines.join('\n'), /corproxy trust/);
    t.match(run, /HTTPS_PROXY/);
  }
});

t.test('a bundle without approved corporate CA: no NODE_EXTRA_CA_CERTS', async (t) => {
  const lines = envLines({ proxyUrl: PROXY, bundle: B }, 'sh');
  t.notOk(commands(lines, 'sh').some((l) => l.includes('NODE_EXTRA_CA_CERTS')));
  t.ok(lines.some((l) => /No corporate CA is approved/.test(l)));
  t.ok(commands(lines, 'sh').includes(`export SSL_CERT_FILE='${B}'`));
});

t.test('the Go caveats are stated, and nothing turns verification off', async (t) => {
  for (const shell of SHELLS) {
    for (const input of [FULL, { proxyUrl: PROXY }, { ...FULL, mirrorUrl: `${PROXY}/mod/` }]) {
      const text = [...envLines(input, shell), ...goEnvLines(input, shell)].join('\n');
      t.match(text, /macOS and Windows before 1\.27 ignores SSL_CERT_FILE/, shell);
      t.match(
        text,
        /From Go 1\.27, setting SSL_CERT_FILE on macOS and Windows replaces the OS store/,
      );
      t.notMatch(text, /GOSUMDB\s*=\s*off|GONOSUMDB|GOINSECURE|-insecure|GOFLAGS/i, shell);
    }
  }
});

t.test('--go: go env -w lines', async (t) => {
  t.same(commands(goEnvLines(FULL, 'sh'), 'sh'), [
    `go env -w 'GOPROXY=https://proxy.golang.org,direct'`,
  ]);
  const mirror = { ...FULL, mirrorUrl: `${PROXY}/mod/` };
  t.same(commands(goEnvLines(mirror, 'powershell'), 'powershell'), [
    `go env -w 'GOPROXY=${PROXY}/mod/,direct'`,
  ]);
  t.same(commands(goEnvLines(mirror, 'cmd'), 'cmd'), [`go env -w "GOPROXY=${PROXY}/mod/,direct"`]);
  const text = goEnvLines(FULL, 'fish').join('\n');
  t.match(text, /refuses HTTPS_PROXY and SSL_CERT_FILE/, 'says why the proxy is not a go env line');
  t.notMatch(commands(goEnvLines(FULL, 'fish'), 'fish').join('\n'), /HTTPS_PROXY|SSL_CERT_FILE/);
});

t.test('the default shell', async (t) => {
  t.equal(defaultShell('linux', { SHELL: '/bin/bash' }), 'sh');
  t.equal(defaultShell('linux', {}), 'sh');
  t.equal(defaultShell('darwin', { SHELL: '/opt/homebrew/bin/fish' }), 'fish');
  t.equal(defaultShell('win32', {}), 'powershell');
  t.equal(defaultShell('win32', { SHELL: '/usr/bin/bash' }), 'sh', 'Git Bash');
});
