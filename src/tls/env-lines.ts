/**
 * The lines `corproxy env` prints for a developer to paste (DESIGN.md §7): the proxy
 * variables in both cases, the CA bundle for tools that replace their roots, corp-ca.pem
 * for Node (which adds), and the Go caveats. Pure: paths and URLs come in, lines go out.
 * Never suggests switching Go's checksum database or TLS verification off.
 */
import { CorproxyError } from '../errors.js';

export const SHELLS = ['sh', 'fish', 'powershell', 'cmd'] as const;
export type Shell = (typeof SHELLS)[number];

export interface EnvInput {
  /** corproxy's listener as a proxy URL, e.g. `http://127.0.0.1:3129`. */
  readonly proxyUrl: string;
  /** ca-bundle.pem, when `corproxy trust` has written it. */
  readonly bundle?: string;
  /** corp-ca.pem, when it holds at least one approved CA. */
  readonly corporate?: string;
  /** corproxy's module mirror (`http://127.0.0.1:3129/mod/`), when it is enabled. */
  readonly mirrorUrl?: string;
}

/** Tools that read a complete replacement root list (research §3.2). */
const BUNDLE_VARS = ['SSL_CERT_FILE', 'GIT_SSL_CAINFO', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'];

/** Values go out quoted; control characters cannot be quoted in every shell, so refuse them. */
function checkValue(value: string, shell: Shell): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\x00-\x1f\x7f]/.test(value) || (shell === 'cmd' && /["%]/.test(value));
  if (bad) {
    throw new CorproxyError(
      'CPX_ERR_USAGE',
      `cannot write ${JSON.stringify(value)} safely for ${shell}; choose a state directory without such characters`,
    );
  }
}

/** One word, quoted so the shell passes it through literally. */
export function quote(value: string, shell: Shell): string {
  checkValue(value, shell);
  switch (shell) {
    case 'sh':
      return `'${value.replace(/'/g, `'\\''`)}'`;
    case 'fish':
      return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
    case 'powershell':
      return `'${value.replace(/'/g, "''")}'`;
    case 'cmd':
      return `"${value}"`;
  }
}

/** `NAME=value` in the shell's own syntax. */
export function assignment(name: string, value: string, shell: Shell): string {
  switch (shell) {
    case 'sh':
      return `export ${name}=${quote(value, shell)}`;
    case 'fish':
      return `set -gx ${name} ${quote(value, shell)}`;
    case 'powershell':
      return `$env:${name} = ${quote(value, shell)}`;
    case 'cmd':
      checkValue(value, shell);
      return `set "${name}=${value}"`;
  }
}

export function comment(text: string, shell: Shell): string {
  return shell === 'cmd' ? `REM ${text}` : `# ${text}`;
}

/** The proxy variables; cmd runs only on Windows, where names ignore case, so once. */
function proxyLines(input: EnvInput, shell: Shell): string[] {
  const names = ['HTTPS_PROXY', 'HTTP_PROXY'];
  const both = shell === 'cmd' ? names : names.flatMap((n) => [n, n.toLowerCase()]);
  const lines = both.map((n) => assignment(n, input.proxyUrl, shell));
  if (shell === 'cmd')
    lines.push(comment('Windows variable names ignore case: one line each.', shell));
  return lines;
}

function caLines(input: EnvInput, shell: Shell): string[] {
  if (input.bundle === undefined) {
    return [
      comment('No CA bundle yet. Run "corproxy detect"; if TLS is intercepted, run', shell),
      comment('"corproxy trust", then "corproxy env" again for the certificate lines.', shell),
    ];
  }
  const bundle = input.bundle;
  const lines = BUNDLE_VARS.map((n) => assignment(n, bundle, shell));
  if (input.corporate !== undefined) {
    lines.push(assignment('NODE_EXTRA_CA_CERTS', input.corporate, shell));
  } else {
    lines.push(
      comment('No corporate CA is approved, so NODE_EXTRA_CA_CERTS is not needed.', shell),
    );
  }
  return lines;
}

/** The Go/OS caveats (research §3.1), as comments. */
export function caveats(shell: Shell): string[] {
  return [
    'Go on Linux reads SSL_CERT_FILE in every version (and still reads /etc/ssl/certs',
    'unless SSL_CERT_DIR is set). Go on macOS and Windows before 1.27 ignores SSL_CERT_FILE',
    'and asks the OS certificate store: the corporate CA must be installed there (IT usually',
    'does). From Go 1.27, setting SSL_CERT_FILE on macOS and Windows replaces the OS store',
    'with the file, which is why ca-bundle.pem also holds the public roots.',
    'SSL_CERT_FILE, GIT_SSL_CAINFO, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE replace the default',
    'roots: point them at the complete ca-bundle.pem, never at corp-ca.pem alone.',
    "Keep Go's checksum database and TLS verification on: the bundle fixes certificate",
    'errors, and module integrity never depends on the network path.',
  ].map((line) => comment(line, shell));
}

/** Everything `corproxy env --shell SHELL` prints. */
export function envLines(input: EnvInput, shell: Shell): string[] {
  return [
    comment(`corproxy env for ${shell}: paste into your shell or its profile.`, shell),
    ...proxyLines(input, shell),
    ...caLines(input, shell),
    ...caveats(shell),
  ];
}

/**
 * The `go env -w` lines of `--go`. `go env -w` stores only Go's own variables and refuses
 * HTTPS_PROXY and SSL_CERT_FILE ("go: unknown go command variable"), so those stay in the
 * shell; what Go itself can hold is where modules come from.
 */
export function goEnvLines(input: EnvInput, shell: Shell): string[] {
  const head = [
    "go env -w writes Go's own settings file; it refuses HTTPS_PROXY and SSL_CERT_FILE",
    '("unknown go command variable"), so keep the lines above in your shell profile too.',
  ];
  const goproxy =
    input.mirrorUrl === undefined
      ? {
          value: 'https://proxy.golang.org,direct',
          why: [
            "Go's default module proxy, reached through HTTPS_PROXY above (corproxy routes it).",
          ],
        }
      : {
          value: `${input.mirrorUrl},direct`,
          why: [
            "corproxy's module mirror: plain HTTP on loopback, so Go needs no certificate step;",
            'every module is still checked against the checksum database.',
          ],
        };
  return [
    ...head.map((l) => comment(l, shell)),
    `go env -w ${quote(`GOPROXY=${goproxy.value}`, shell)}`,
    ...goproxy.why.map((l) => comment(l, shell)),
  ];
}

/** The shell to print for when --shell is not given. */
export function defaultShell(
  platform: NodeJS.Platform,
  env: Readonly<Record<string, string | undefined>>,
): Shell {
  const shell = env.SHELL ?? '';
  if (/(^|[\\/])fish$/.test(shell)) return 'fish';
  // Windows sets no SHELL (Git Bash and MSYS do); PowerShell is its default terminal shell.
  return platform === 'win32' && shell === '' ? 'powershell' : 'sh';
}
