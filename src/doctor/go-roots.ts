/**
 * The roots Go would verify TLS with on this machine (crypto/x509 root_unix.go): the file
 * named by SSL_CERT_FILE, else the first of Go's CA files that exists; plus every file in
 * the directories of SSL_CERT_DIR (colon-separated), else Go's default directories. On
 * macOS and Windows Go asks the OS store, which corproxy cannot read: Node's Mozilla roots
 * stand in for it and the report says so. The caller passes the environment.
 */
import { X509Certificate } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { parsePem } from '../tls/chain.js';
import { GO_LINUX_CERT_FILES } from '../tls/system-roots.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Go's Linux certificate directories (root_linux.go certDirectories). */
export const GO_LINUX_CERT_DIRS: readonly string[] = Object.freeze([
  '/etc/ssl/certs',
  '/etc/pki/tls/certs',
]);

/** A CA bundle is well under this; a larger file is not one. */
const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Go reads every file of a directory; a sane one holds a few hundred. */
const MAX_DIR_FILES = 4096;

/** One CA file (or directory) as Go would read it. */
export interface RootFile {
  readonly path: string;
  /** 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'default' (Go's own list), 'git'. */
  readonly from: string;
  readonly certs: readonly X509Certificate[];
  /** PEM blocks that did not parse. */
  readonly bad: number;
  /** Why it could not be read (ENOENT, EACCES, ...). */
  readonly error?: string;
}

/** Everything Go would trust, and where it came from. */
export interface GoRoots {
  readonly platform: NodeJS.Platform;
  /** The file Go reads (SSL_CERT_FILE or the first default that exists). */
  readonly file?: RootFile;
  readonly dirs: readonly RootFile[];
  /** Every root Go would trust, de-duplicated. */
  readonly certs: readonly X509Certificate[];
  /** True when the OS store was stood in for by Mozilla's roots. */
  readonly approximated: boolean;
}

/** The file reads go-roots needs; tests pass their own. */
export interface RootsFs {
  readonly readFile: (path: string) => Promise<string>;
  readonly readDir: (path: string) => Promise<string[]>;
}

/** The real file system, with a size bound on each file. */
export const nodeRootsFs: RootsFs = {
  readFile: async (path) => {
    const info = await stat(path);
    if (info.size > MAX_FILE_BYTES) {
      throw Object.assign(new Error(`larger than ${MAX_FILE_BYTES} bytes`), { code: 'EFBIG' });
    }
    return readFile(path, 'utf8');
  },
  readDir: (path) => readdir(path),
};

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message ?? String(err);
}

/** Reads one PEM file; never throws. */
export async function readRootFile(path: string, from: string, fs: RootsFs): Promise<RootFile> {
  try {
    const { certs, bad } = parsePem(await fs.readFile(path));
    return { path, from, certs, bad };
  } catch (err) {
    return { path, from, certs: [], bad: 0, error: errorCode(err) };
  }
}

/** Every readable certificate file of a directory, as Go's readUniqueDirectoryEntries. */
async function readDir(path: string, from: string, fs: RootsFs): Promise<RootFile> {
  let names: string[];
  try {
    names = (await fs.readDir(path)).slice(0, MAX_DIR_FILES);
  } catch (err) {
    return { path, from, certs: [], bad: 0, error: errorCode(err) };
  }
  const certs: X509Certificate[] = [];
  let bad = 0;
  for (const name of names) {
    const file = await readRootFile(join(path, name), from, fs);
    certs.push(...file.certs);
    bad += file.bad;
  }
  return { path, from, certs, bad };
}

function dedupe(certs: readonly X509Certificate[]): X509Certificate[] {
  const seen = new Map<string, X509Certificate>();
  for (const c of certs) if (!seen.has(c.fingerprint256)) seen.set(c.fingerprint256, c);
  return [...seen.values()];
}

async function firstFile(env: Env, fs: RootsFs): Promise<RootFile | undefined> {
  const named = env.SSL_CERT_FILE;
  if (named !== undefined && named !== '') return readRootFile(named, 'SSL_CERT_FILE', fs);
  for (const path of GO_LINUX_CERT_FILES) {
    const file = await readRootFile(path, 'default', fs);
    if (file.error === undefined) return file;
  }
  return undefined;
}

/** The roots Go would use, read through `fs`. */
export async function readGoRoots(
  env: Env,
  platform: NodeJS.Platform,
  fs: RootsFs = nodeRootsFs,
  nodeRoots: readonly string[] = rootCertificates,
): Promise<GoRoots> {
  if (platform === 'darwin' || platform === 'win32') {
    const file = env.SSL_CERT_FILE
      ? await readRootFile(env.SSL_CERT_FILE, 'SSL_CERT_FILE', fs)
      : undefined;
    const mozilla = parsePem(nodeRoots.join('\n')).certs;
    return {
      platform,
      ...(file && { file }),
      dirs: [],
      certs: dedupe([...mozilla, ...(file?.certs ?? [])]),
      approximated: true,
    };
  }
  const file = await firstFile(env, fs);
  const dirValue = env.SSL_CERT_DIR;
  const named = dirValue !== undefined && dirValue !== '';
  const dirPaths = named ? dirValue.split(':').filter((d) => d !== '') : GO_LINUX_CERT_DIRS;
  const dirs: RootFile[] = [];
  for (const d of dirPaths) {
    const dir = await readDir(d, named ? 'SSL_CERT_DIR' : 'default', fs);
    // Missing default directories are normal; a named one is reported.
    if (named || dir.error === undefined) dirs.push(dir);
  }
  const all = [...(file?.certs ?? []), ...dirs.flatMap((d) => d.certs)];
  return { platform, ...(file && { file }), dirs, certs: dedupe(all), approximated: false };
}

/** Whether `fingerprint` (SHA-256, colon hex) is among `certs`. */
export function holds(certs: readonly X509Certificate[], fingerprint: string): boolean {
  return certs.some((c) => c.fingerprint256 === fingerprint);
}
