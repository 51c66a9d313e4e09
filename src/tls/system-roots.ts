/**
 * The roots Go trusts by default on Linux (crypto/x509 root_linux.go / root_unix.go):
 * SSL_CERT_FILE when set, else the first existing file of Go's list; plus Mozilla's roots
 * as bundled in this Node build (`tls.rootCertificates`). The caller passes SSL_CERT_FILE:
 * only src/config/ reads the environment.
 */
import { readFile, stat } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import type { RootSource } from './bundle.js';

/** Go's Linux CA file search order. */
export const GO_LINUX_CERT_FILES: readonly string[] = Object.freeze([
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Gentoo
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL 6
  '/etc/ssl/ca-bundle.pem', // OpenSUSE
  '/etc/pki/tls/cacert.pem', // OpenELEC
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // CentOS, RHEL 7
  '/etc/ssl/cert.pem', // Alpine
]);

/** A distro bundle holds a few hundred KiB; refuse to slurp anything absurd. */
const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;

export interface SystemRootsDeps {
  /** The value of SSL_CERT_FILE, when the user set it. */
  readonly sslCertFile?: string;
  readonly certFiles?: readonly string[];
  readonly readFile?: (path: string) => Promise<string>;
  readonly nodeRoots?: readonly string[];
}

export interface SystemRoots {
  /** Base roots for buildBundle: the system file first, then Mozilla's. */
  readonly roots: readonly RootSource[];
  /** The file Go would read, when one was found. */
  readonly systemFile?: string;
  readonly warnings: readonly string[];
}

/** Reads the base roots of the bundle. Never throws for a missing file: it warns. */
export async function readSystemRoots(deps: SystemRootsDeps = {}): Promise<SystemRoots> {
  const read = deps.readFile ?? readBounded;
  const mozilla = (deps.nodeRoots ?? rootCertificates).map((pem) => ({ pem, source: 'mozilla' }));
  const warnings: string[] = [];
  const files =
    deps.sslCertFile !== undefined && deps.sslCertFile !== ''
      ? [deps.sslCertFile]
      : (deps.certFiles ?? GO_LINUX_CERT_FILES);
  for (const path of files) {
    try {
      const pem = await read(path);
      return { roots: [{ pem, source: `system:${path}` }, ...mozilla], systemFile: path, warnings };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || deps.sslCertFile) {
        warnings.push(`cannot read ${path} (${code ?? (err as Error).message})`);
      }
    }
  }
  warnings.push(
    deps.sslCertFile
      ? `SSL_CERT_FILE=${deps.sslCertFile} is unreadable, so Go finds no roots in it; the bundle has Mozilla's roots only`
      : "no system CA file found in Go's search list; the bundle has Mozilla's roots only",
  );
  return { roots: mozilla, warnings };
}

async function readBounded(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_BUNDLE_BYTES) {
    throw Object.assign(new Error(`larger than ${MAX_BUNDLE_BYTES} bytes`), { code: 'EFBIG' });
  }
  return readFile(path, 'utf8');
}
