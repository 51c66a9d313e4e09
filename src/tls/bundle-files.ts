/**
 * The bundle files in the state dir (certs/README.md): where they live, reading back what
 * `corproxy trust` approved, the /status summary, and writing all three atomically.
 * ca-bundle.pem may live elsewhere (trust.bundle, --bundle); corp-ca.pem and
 * manifest.json, the record of approvals, always stay in the state dir.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { buildBundle, writeFileAtomic, type BundleManifest, type CorporateCa } from './bundle.js';
import { parsePem, toPem } from './chain.js';
import { readSystemRoots, type SystemRoots } from './system-roots.js';

/** Where the bundle files live: the state dir, the bundle itself possibly elsewhere. */
export interface BundlePaths {
  readonly bundle: string;
  readonly corporate: string;
  readonly manifest: string;
}

export function bundlePaths(
  config: Pick<Config, 'stateDir' | 'trust'>,
  bundleOverride?: string,
): BundlePaths {
  const dir = config.stateDir;
  return {
    bundle: bundleOverride || config.trust.bundle || join(dir, 'ca-bundle.pem'),
    corporate: join(dir, 'corp-ca.pem'),
    manifest: join(dir, 'manifest.json'),
  };
}

/** What corproxy needs back from manifest.json. */
export interface StoredManifest {
  readonly generatedAt?: string;
  readonly bundle?: string;
  readonly entries: ReadonlyArray<{
    readonly sha256: string;
    readonly subject?: string;
    readonly source?: string;
    readonly approvedAt?: string;
    readonly corporate?: boolean;
  }>;
}

/** Reads manifest.json loosely; undefined when it is missing or not corproxy's. */
export function parseManifest(text: string | undefined): StoredManifest | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    const doc = JSON.parse(text) as Partial<StoredManifest> | null;
    if (doc === null || typeof doc !== 'object' || !Array.isArray(doc.entries)) return undefined;
    const entries = doc.entries.filter((e) => typeof e?.sha256 === 'string');
    return { ...doc, entries };
  } catch {
    return undefined;
  }
}

/** The approved CAs: PEMs from corp-ca.pem, approval time and source from the manifest. */
export function readCorporate(
  corpPem: string,
  manifest: StoredManifest | undefined,
): CorporateCa[] {
  const meta = new Map((manifest?.entries ?? []).map((e) => [e.sha256, e] as const));
  return parsePem(corpPem).certs.map((cert) => {
    const m = meta.get(cert.fingerprint256);
    return {
      pem: toPem(cert),
      source: m?.source ?? 'corp-ca.pem',
      approvedAt: m?.approvedAt ?? new Date(0).toISOString(),
    };
  });
}

/** The bundle section of the daemon's /status. */
export interface BundleStatus {
  readonly path: string;
  readonly present: boolean;
  readonly approved: ReadonlyArray<{ readonly sha256: string; readonly subject?: string }>;
  readonly preApproved: readonly string[];
  readonly generatedAt?: string;
  readonly ageSeconds?: number;
}

export function bundleStatus(
  config: Pick<Config, 'stateDir' | 'trust'>,
  manifestText: string | undefined,
  nowMs: number,
): BundleStatus {
  const manifest = parseManifest(manifestText);
  const generated = manifest?.generatedAt ? Date.parse(manifest.generatedAt) : NaN;
  return {
    path: manifest?.bundle ?? bundlePaths(config).bundle,
    present: manifest !== undefined,
    approved: (manifest?.entries ?? [])
      .filter((e) => e.corporate === true)
      .map((e) => ({ sha256: e.sha256, ...(e.subject ? { subject: e.subject } : {}) })),
    preApproved: config.trust.fingerprints,
    ...(Number.isNaN(generated)
      ? {}
      : {
          generatedAt: manifest?.generatedAt,
          ageSeconds: Math.max(0, Math.round((nowMs - generated) / 1000)),
        }),
  };
}

/** What trust starts from: the approved CAs and the manifest, both possibly absent. */
export async function readApproved(
  paths: BundlePaths,
  read: (path: string) => Promise<string> = (p) => readFile(p, 'utf8'),
): Promise<{ corporate: CorporateCa[]; manifest: StoredManifest | undefined }> {
  const orEmpty = (p: string): Promise<string> =>
    read(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw new CorproxyError(
        'CPX_ERR_STATE_DIR',
        `cannot read ${p} (${err.code ?? err.message})`,
        {
          cause: err,
        },
      );
    });
  const manifest = parseManifest(await orEmpty(paths.manifest));
  return { corporate: readCorporate(await orEmpty(paths.corporate), manifest), manifest };
}

export interface WriteDeps {
  /** SSL_CERT_FILE as the user set it (only src/config reads the environment). */
  readonly sslCertFile?: string;
  readonly systemRoots?: (sslCertFile: string | undefined) => Promise<SystemRoots>;
  readonly write?: typeof writeFileAtomic;
  readonly now: Date;
}

export interface WrittenBundle {
  readonly manifest: BundleManifest;
  readonly warnings: readonly string[];
  /** False when every file already held exactly this content. */
  readonly changed: boolean;
}

/**
 * The roots Go trusts by default here. SSL_CERT_FILE pointing at our own bundle (after
 * `corproxy env`) is ignored, or removed CAs would come back through it.
 */
export async function baseRoots(
  paths: BundlePaths,
  deps: Pick<WriteDeps, 'sslCertFile' | 'systemRoots'>,
): Promise<SystemRoots> {
  const own = deps.sslCertFile !== undefined && resolve(deps.sslCertFile) === resolve(paths.bundle);
  const read = deps.systemRoots ?? ((f) => readSystemRoots({ sslCertFile: f }));
  const roots = await read(own ? undefined : deps.sslCertFile);
  if (!own) return roots;
  const note = "SSL_CERT_FILE is corproxy's own bundle; Go's default CA files were read instead";
  return { ...roots, warnings: [...roots.warnings, note] };
}

/**
 * Rebuilds and writes the three files. The manifest keeps its old generatedAt when
 * nothing else changed, so a repeated run writes identical bytes.
 */
export async function writeBundleFiles(
  paths: BundlePaths,
  corporate: readonly CorporateCa[],
  previous: StoredManifest | undefined,
  deps: WriteDeps,
): Promise<WrittenBundle> {
  const base = await baseRoots(paths, deps);
  const bundle = buildBundle({ baseRoots: base.roots, corporate, now: deps.now });
  const body = { ...bundle.manifest, bundle: paths.bundle };
  const same =
    previous?.generatedAt !== undefined &&
    JSON.stringify({ ...body, generatedAt: previous.generatedAt }) === JSON.stringify(previous);
  const manifest = same
    ? { ...body, generatedAt: previous?.generatedAt ?? body.generatedAt }
    : body;
  const write = deps.write ?? writeFileAtomic;
  for (const dir of new Set([dirname(paths.bundle), dirname(paths.manifest)])) {
    await mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
      throw new CorproxyError(
        'CPX_ERR_BUNDLE_WRITE',
        `cannot create ${dir} (${err.code ?? err.message})`,
        {
          cause: err,
        },
      );
    });
  }
  await write(paths.bundle, bundle.pem, 0o644);
  await write(paths.corporate, bundle.corpPem, 0o644);
  await write(paths.manifest, `${JSON.stringify(manifest, null, 2)}\n`, 0o644);
  return { manifest, warnings: base.warnings, changed: !same };
}
