/**
 * Layer 1, certificates and git: SSL_CERT_FILE and SSL_CERT_DIR as Go reads them (does the
 * file exist, parse, hold the approved corporate CA?), and git's http.proxy and
 * http.sslCAInfo, which matter when go fetches a module directly from its VCS. Pure: the
 * files were read by the caller (go-roots.ts).
 */
import type { Endpoint } from '../inspect/endpoint.js';
import { isCorproxyAddress } from '../inspect/endpoint.js';
import { exportLine } from './env-proxy.js';
import { holds, type GoRoots, type RootFile } from './go-roots.js';
import { urlTarget } from './targets.js';
import { check, type Check } from './types.js';

/** A corporate CA `corproxy trust` approved (or an administrator pre-approved). */
export interface ApprovedCa {
  readonly sha256: string;
  readonly subject?: string;
}

export interface CertEnvInput {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly roots: GoRoots;
  readonly approved: readonly ApprovedCa[];
  /** corproxy's ca-bundle.pem and whether it exists. */
  readonly bundle: { readonly path: string; readonly present: boolean };
}

function caName(ca: ApprovedCa): string {
  return ca.subject ?? ca.sha256;
}

/** The command that makes Go trust the approved CAs: the bundle, else `corproxy trust`. */
function trustCommands(input: CertEnvInput, envName: string): string[] {
  if (input.bundle.present) return [exportLine([[envName, input.bundle.path]])];
  return ['corproxy trust', exportLine([[envName, input.bundle.path]])];
}

/** Approved CAs missing from `certs`. */
function missing(input: CertEnvInput, certs: RootFile['certs']): ApprovedCa[] {
  return input.approved.filter((ca) => !holds(certs, ca.sha256));
}

function fileProblem(file: RootFile): string | undefined {
  if (file.error !== undefined) return `cannot read ${file.path} (${file.error})`;
  if (file.certs.length === 0) return `${file.path} holds no certificate Go can parse`;
  return undefined;
}

function platformNote(roots: GoRoots): string[] {
  if (!roots.approximated) return [];
  return [
    `on ${roots.platform} Go before 1.27 asks the OS certificate store and ignores SSL_CERT_FILE; ` +
      'corproxy cannot read that store, so Mozilla’s roots stand in for it here',
  ];
}

/** SSL_CERT_FILE: exists, parses, holds the approved CA (with SSL_CERT_DIR's help). */
export function sslCertFileCheck(input: CertEnvInput): Check {
  const { roots } = input;
  const value = input.env.SSL_CERT_FILE ?? '';
  const file = roots.file;
  const evidence = [
    `SSL_CERT_FILE=${value}`,
    ...(file
      ? [
          `${file.path}: ${file.certs.length} certificate(s)${file.bad > 0 ? `, ${file.bad} unparseable` : ''}`,
        ]
      : []),
    `Go trusts ${roots.certs.length} root(s) in all`,
    ...platformNote(roots),
  ];
  const fix = `point SSL_CERT_FILE at corproxy's bundle (${input.bundle.path})`;
  if (value !== '' && file !== undefined) {
    const problem = fileProblem(file);
    if (problem !== undefined) {
      return check('env', 'SSL_CERT_FILE', 'fail', problem, {
        evidence,
        fix,
        commands: trustCommands(input, 'SSL_CERT_FILE'),
      });
    }
  }
  const absent = missing(input, roots.certs);
  if (absent.length > 0) {
    const what = value === '' ? 'unset, and Go’s default roots lack' : `${value} lacks`;
    return check(
      'env',
      'SSL_CERT_FILE',
      'warn',
      `${what} the approved corporate CA ${absent.map(caName).join(', ')}`,
      {
        evidence,
        fix,
        commands: trustCommands(input, 'SSL_CERT_FILE'),
      },
    );
  }
  const held =
    input.approved.length > 0
      ? `; holds the approved CA ${input.approved.map(caName).join(', ')}`
      : '';
  const base =
    value === ''
      ? `unset: Go reads ${file?.path ?? 'no CA file'}`
      : `${file?.certs.length ?? 0} certificate(s)`;
  return check('env', 'SSL_CERT_FILE', 'pass', `${base}${held}`, { evidence });
}

/** SSL_CERT_DIR, when set: every directory readable. */
export function sslCertDirCheck(input: CertEnvInput): Check | undefined {
  const value = input.env.SSL_CERT_DIR ?? '';
  if (value === '') return undefined;
  const dirs = input.roots.dirs;
  const evidence = [
    `SSL_CERT_DIR=${value}`,
    ...dirs.map((d) => `${d.path}: ${d.error ?? `${d.certs.length} certificate(s)`}`),
  ];
  const broken = dirs.filter((d) => d.error !== undefined);
  if (broken.length > 0) {
    return check(
      'env',
      'SSL_CERT_DIR',
      'warn',
      `cannot read ${broken.map((d) => d.path).join(', ')}`,
      {
        evidence,
        fix: 'name existing directories, or unset SSL_CERT_DIR',
      },
    );
  }
  return check(
    'env',
    'SSL_CERT_DIR',
    'pass',
    `${dirs.reduce((n, d) => n + d.certs.length, 0)} certificate(s) in ${dirs.length} director${dirs.length === 1 ? 'y' : 'ies'}`,
    { evidence },
  );
}

export interface GitInput {
  /** `git config` values; undefined when git is not installed. */
  readonly config?: Readonly<Record<string, string>>;
  /** The file http.sslCAInfo (or GIT_SSL_CAINFO) names, read by the caller. */
  readonly caFile?: RootFile;
  readonly own: readonly Endpoint[];
  readonly proxyUrl: string;
}

/** git's http.proxy: unset (git then reads the environment like curl) or corproxy. */
export function gitProxyCheck(git: GitInput): Check | undefined {
  if (git.config === undefined) return undefined;
  const value = git.config['http.proxy'] ?? '';
  if (value === '')
    return check('env', 'git http.proxy', 'pass', 'unset: git reads https_proxy like curl', {});
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  const t = urlTarget(text.replace(/\/\/[^@/]*@/, '//'));
  const evidence = [`http.proxy=${value.replace(/\/\/[^@/]*@/, '//***@')}`];
  if (t !== undefined && isCorproxyAddress(t.target.host, t.target.port, git.own)) {
    return check('env', 'git http.proxy', 'pass', 'corproxy', { evidence });
  }
  return check(
    'env',
    'git http.proxy',
    'warn',
    'git uses another proxy than corproxy (http.proxy wins over the environment)',
    {
      evidence,
      fix: 'point git at corproxy, which knows the upstream and its credentials',
      commands: [`git config --global http.proxy ${git.proxyUrl}`],
    },
  );
}

/** git's CA file (GIT_SSL_CAINFO, else http.sslCAInfo): exists, parses, holds the CA. */
export function gitCaCheck(git: GitInput, input: CertEnvInput): Check | undefined {
  if (git.config === undefined) return undefined;
  const file = git.caFile;
  if (file === undefined) {
    return check('env', 'git http.sslCAInfo', 'pass', 'unset: git uses the system CA store', {});
  }
  const evidence = [`${file.from}=${file.path}`, `${file.certs.length} certificate(s)`];
  const commands = [`git config --global http.sslCAInfo ${input.bundle.path}`];
  const problem = fileProblem(file);
  if (problem !== undefined) {
    return check('env', 'git http.sslCAInfo', 'fail', problem, {
      evidence,
      fix: 'point it at corproxy’s bundle',
      commands,
    });
  }
  const absent = missing(input, file.certs);
  if (absent.length > 0) {
    return check(
      'env',
      'git http.sslCAInfo',
      'warn',
      `lacks the approved corporate CA ${absent.map(caName).join(', ')}`,
      {
        evidence,
        fix: 'point it at corproxy’s bundle',
        commands,
      },
    );
  }
  return check('env', 'git http.sslCAInfo', 'pass', `${file.certs.length} certificate(s)`, {
    evidence,
  });
}
