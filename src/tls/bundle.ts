/**
 * The CA bundle corproxy writes (DESIGN.md §7, certs/README.md): `ca-bundle.pem` (the roots
 * Go trusts by default here + Mozilla's + approved corporate CAs), `corp-ca.pem` (the
 * corporate CAs alone, for additive tools such as NODE_EXTRA_CA_CERTS) and
 * `manifest.json`. Building is pure; the I/O lives in atomic-write.ts and system-roots.ts.
 */
import type { X509Certificate } from 'node:crypto';
import { dnAttr, oneLineDn, parsePem, toPem, validityDate } from './chain.js';

export { validateCandidate, type CandidateResult } from './candidate.js';
export { writeFileAtomic, type AtomicWriteDeps } from './atomic-write.js';
export { readSystemRoots, GO_LINUX_CERT_FILES, type SystemRoots } from './system-roots.js';

/** File names inside the bundle directory. */
export const BUNDLE_FILES = Object.freeze({
  bundle: 'ca-bundle.pem',
  corporate: 'corp-ca.pem',
  manifest: 'manifest.json',
});

/** Certificates from one place, e.g. `system:/etc/ssl/certs/ca-certificates.crt` or `mozilla`. */
export interface RootSource {
  readonly pem: string;
  readonly source: string;
}

/** A corporate CA the user (or an administrator's fingerprint list) approved. */
export interface CorporateCa extends RootSource {
  /** ISO 8601 time of approval. */
  readonly approvedAt: string;
}

export interface BundleInput {
  readonly baseRoots: readonly RootSource[];
  readonly corporate: readonly CorporateCa[];
  readonly now: Date;
}

export interface ManifestEntry {
  readonly sha256: string;
  readonly subject: string;
  readonly notAfter: string;
  readonly source: string;
  readonly corporate: boolean;
  readonly approvedAt?: string;
  /** Base sources that also held this corporate CA (it was already in the OS store). */
  readonly alsoIn?: readonly string[];
}

export interface DroppedEntry {
  readonly source: string;
  readonly reason: 'expired' | 'unreadable';
  readonly subject?: string;
  readonly sha256?: string;
}

export interface BundleManifest {
  readonly schemaVersion: 1;
  readonly generatedAt: string;
  readonly counts: {
    readonly total: number;
    readonly corporate: number;
    readonly duplicates: number;
    readonly dropped: number;
  };
  readonly entries: readonly ManifestEntry[];
  readonly dropped: readonly DroppedEntry[];
}

export interface Bundle {
  readonly pem: string;
  readonly corpPem: string;
  readonly manifest: BundleManifest;
}

interface Entry {
  readonly cert: X509Certificate;
  readonly source: string;
  readonly approvedAt?: string;
  readonly alsoIn: string[];
}

/**
 * Builds the three files' contents: de-duplicated by SHA-256, expired certificates dropped,
 * base roots sorted by name then fingerprint so rewrites are byte-identical, corporate CAs
 * last in approval order, each certificate preceded by a `# name sha256=... source=...` line
 * (PEM readers skip text outside BEGIN/END lines).
 */
export function buildBundle(input: BundleInput): Bundle {
  const dropped: DroppedEntry[] = [];
  let duplicates = 0;
  const base = new Map<string, Entry>();
  for (const src of input.baseRoots) {
    for (const cert of usable(src, input.now, dropped)) {
      if (base.has(cert.fingerprint256)) duplicates += 1;
      else base.set(cert.fingerprint256, { cert, source: src.source, alsoIn: [] });
    }
  }
  const corporate = new Map<string, Entry>();
  for (const src of input.corporate) {
    for (const cert of usable(src, input.now, dropped)) {
      const fp = cert.fingerprint256;
      if (corporate.has(fp)) {
        duplicates += 1;
        continue;
      }
      const inBase = base.get(fp);
      if (inBase !== undefined) base.delete(fp);
      const alsoIn = inBase === undefined ? [] : [inBase.source];
      corporate.set(fp, { cert, source: src.source, approvedAt: src.approvedAt, alsoIn });
    }
  }
  const baseSorted = [...base.values()].sort(byNameThenFingerprint);
  const corp = [...corporate.values()];
  const all = [...baseSorted, ...corp];
  return {
    pem: all.map(block).join(''),
    corpPem: corp.map(block).join(''),
    manifest: {
      schemaVersion: 1,
      generatedAt: input.now.toISOString(),
      counts: { total: all.length, corporate: corp.length, duplicates, dropped: dropped.length },
      entries: all.map((e) => manifestEntry(e, corporate.has(e.cert.fingerprint256))),
      dropped,
    },
  };
}

/** The certificates of one source that are readable and not expired; the rest are recorded. */
function usable(src: RootSource, now: Date, dropped: DroppedEntry[]): X509Certificate[] {
  const { certs, bad } = parsePem(src.pem);
  for (let i = 0; i < bad; i++) dropped.push({ source: src.source, reason: 'unreadable' });
  return certs.filter((cert) => {
    // Only expiry drops a root; a not-yet-valid one is left for the verifier to judge.
    if (validityDate(cert.validTo).getTime() >= now.getTime()) return true;
    dropped.push({
      source: src.source,
      reason: 'expired',
      subject: oneLineDn(cert.subject),
      sha256: cert.fingerprint256,
    });
    return false;
  });
}

function label(cert: X509Certificate): string {
  return commentSafe(dnAttr(cert.subject, 'CN') ?? oneLineDn(cert.subject)) || '(no subject)';
}

/** A comment line must stay one line and must never look like a PEM boundary. */
function commentSafe(text: string): string {
  return text.replace(/\p{Cc}/gu, ' ').replace(/-{5,}/g, '-');
}

function byNameThenFingerprint(a: Entry, b: Entry): number {
  const la = label(a.cert).toLowerCase();
  const lb = label(b.cert).toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a.cert.fingerprint256 < b.cert.fingerprint256 ? -1 : 1;
}

function block(e: Entry): string {
  return `# ${label(e.cert)} sha256=${e.cert.fingerprint256} source=${commentSafe(e.source)}\n${toPem(e.cert)}`;
}

function manifestEntry(e: Entry, corporate: boolean): ManifestEntry {
  return {
    sha256: e.cert.fingerprint256,
    subject: oneLineDn(e.cert.subject),
    notAfter: validityDate(e.cert.validTo).toISOString(),
    source: e.source,
    corporate,
    ...(e.approvedAt === undefined ? {} : { approvedAt: e.approvedAt }),
    ...(e.alsoIn.length === 0 ? {} : { alsoIn: e.alsoIn }),
  };
}
