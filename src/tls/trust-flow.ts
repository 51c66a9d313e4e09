/**
 * The decisions of `corproxy trust` (DESIGN.md §7, research §2.2-2.4), free of sockets and
 * files: where the intercepting CA is (the chain on the wire, then the OS bundle and the
 * files the user named, then AIA through the same route, as a candidate only), whether it
 * may be trusted (candidate.ts, with a signature check on every link of the path), who
 * approved it (a person on a terminal, --yes with the fingerprint, or trust.fingerprints),
 * and what the corporate set becomes.
 */
import type { X509Certificate } from 'node:crypto';
import { CorproxyError } from '../errors.js';
import { validateCandidate, type CandidateResult } from './candidate.js';
import { isSelfSigned, oneLineDn, orderChain, parsePem, toPem, verifiesIssued } from './chain.js';
import type { Classification } from './classify.js';
import type { CorporateCa } from './bundle.js';
import type { VendorEntry } from './vendors.js';

/** A certificate and where it came from: `wire:HOST`, `system:PATH`, `file:PATH`, `aia:URL`. */
export interface SourcedCert {
  readonly cert: X509Certificate;
  readonly source: string;
}

/** One probed host: its label (`host:port`), the chain as sent, and the verdict. */
export interface Observation {
  readonly host: string;
  readonly chain: readonly X509Certificate[];
  readonly classification: Classification;
}

export interface CandidateInput {
  readonly observations: readonly Observation[];
  /** Certificates from --ca files: when given, only these may be approved. */
  readonly userCerts: readonly SourcedCert[];
  /** The OS bundle Go reads (SSL_CERT_FILE or its search list). */
  readonly systemCerts: readonly SourcedCert[];
  /** Mozilla's roots: a candidate among them is refused (nothing to fix). */
  readonly publicRoots: readonly X509Certificate[];
  readonly now: Date;
  readonly catalogue?: readonly VendorEntry[];
  /** The issuer via the certificate's AIA caIssuers URL, fetched over the same route. */
  readonly fetchIssuer?: (cert: X509Certificate) => Promise<readonly SourcedCert[]>;
}

export interface Candidate {
  readonly cert: X509Certificate;
  readonly source: string;
  /** `host:port` labels whose chain this CA anchors. */
  readonly hosts: readonly string[];
  readonly vendor?: string;
  readonly result: CandidateResult;
  readonly notes: readonly string[];
}

export interface CandidateReport {
  readonly candidates: readonly Candidate[];
  /** Hosts that offered nothing to trust, with the reason. */
  readonly skipped: readonly string[];
  /** Certificates refused outright (e.g. a leaf given with --ca). */
  readonly refusals: readonly CorproxyError[];
}

/** A path longer than this is not a real PKI. */
const MAX_PATH = 8;

/** Finds and validates the CA behind every intercepted observation. */
export async function findCandidates(input: CandidateInput): Promise<CandidateReport> {
  const skipped: string[] = [];
  const found = new Map<string, Candidate>();
  const paths: X509Certificate[][] = [];
  for (const obs of input.observations) {
    if (obs.classification.verdict !== 'intercepted') {
      skipped.push(`${obs.host}: ${obs.classification.verdict}: ${obs.classification.reason}`);
      continue;
    }
    const { path, sources } = await extendPath(obs, input);
    paths.push(path);
    const top = path[path.length - 1] as X509Certificate;
    if (path.length < 2) {
      skipped.push(leafOnlyMessage(obs, input));
      continue;
    }
    const fp = top.fingerprint256;
    const known = found.get(fp);
    if (known !== undefined) {
      found.set(fp, { ...known, hosts: [...known.hosts, obs.host] });
      continue;
    }
    const source = sources.get(fp) ?? `wire:${obs.host}`;
    const result = validateCandidate(top, path, input.publicRoots, input.now, input.catalogue);
    const vendor = obs.classification.vendor;
    const notes = notesFor(top, source);
    found.set(fp, {
      cert: top,
      source,
      hosts: [obs.host],
      result,
      notes,
      ...(vendor ? { vendor } : {}),
    });
  }
  return restrictToUserCerts([...found.values()], skipped, paths, input);
}

/** The wire chain, then issuers from the --ca files, the OS bundle and AIA, each link verified. */
async function extendPath(
  obs: Observation,
  input: CandidateInput,
): Promise<{ path: X509Certificate[]; sources: Map<string, string> }> {
  const path = orderChain(obs.chain);
  const sources = new Map<string, string>(path.map((c) => [c.fingerprint256, `wire:${obs.host}`]));
  while (path.length > 0 && path.length < MAX_PATH) {
    const top = path[path.length - 1] as X509Certificate;
    if (isSelfSigned(top)) break;
    const parent =
      issuerIn(top, input.userCerts) ??
      issuerIn(top, input.systemCerts) ??
      issuerIn(top, (await input.fetchIssuer?.(top)) ?? []);
    if (parent === undefined || sources.has(parent.cert.fingerprint256)) break;
    path.push(parent.cert);
    sources.set(parent.cert.fingerprint256, parent.source);
  }
  return { path, sources };
}

/** The certificate of `pool` that issued `child`: names and signature both checked. */
function issuerIn(child: X509Certificate, pool: readonly SourcedCert[]): SourcedCert | undefined {
  return pool.find((p) => verifiesIssued(child, p.cert));
}

function leafOnlyMessage(obs: Observation, input: CandidateInput): string {
  const leaf = obs.chain[0];
  const issuer = leaf ? oneLineDn(leaf.issuer) : '?';
  const where = input.systemCerts[0]?.source.replace(/^system:/, '') ?? 'the OS bundle';
  return (
    `${obs.host}: only the leaf was sent and its issuer "${issuer}" is in neither ${where} ` +
    'nor the --ca files; get that CA certificate from your IT department and pass --ca FILE'
  );
}

function notesFor(cert: X509Certificate, source: string): string[] {
  const notes: string[] = [];
  if (!isSelfSigned(cert)) {
    notes.push(
      'only this intermediate was found, no root (not on the wire, not in the OS bundle or --ca files); ' +
        'Go accepts an intermediate as a trust anchor, so trusting it works until the gateway rotates it',
    );
  }
  if (source.startsWith('aia:')) {
    notes.push(
      'fetched from the AIA URL of the chain through the same route: a download proves nothing, compare the fingerprint out of band',
    );
  }
  if (source.startsWith('system:')) {
    notes.push(`already in the OS bundle (${source.slice(7)}), as IT usually installs it`);
  }
  return notes;
}

/**
 * With --ca files, only their certificates may be approved: the user named the CA. Every
 * named certificate that anchors no observed path is refused with the first rule it fails.
 */
function restrictToUserCerts(
  candidates: Candidate[],
  skipped: string[],
  paths: X509Certificate[][],
  input: CandidateInput,
): CandidateReport {
  if (input.userCerts.length === 0) return { candidates, skipped, refusals: [] };
  const named = new Set(input.userCerts.map((u) => u.cert.fingerprint256));
  const kept = candidates.filter((c) => named.has(c.cert.fingerprint256));
  const refusals: CorproxyError[] = [];
  for (const u of paths.length > 0 ? input.userCerts : []) {
    if (kept.some((c) => c.cert.fingerprint256 === u.cert.fingerprint256)) continue;
    const results = paths.map((p) =>
      validateCandidate(u.cert, p, input.publicRoots, input.now, input.catalogue),
    );
    const first = results[0];
    if (first !== undefined && !first.ok && results.every((r) => !r.ok)) {
      refusals.push(first.error);
    } else {
      skipped.push(`${u.source}: "${oneLineDn(u.cert.subject)}" is not the top of any path`);
    }
  }
  return { candidates: kept, skipped, refusals };
}

/** `AB:CD:...` (upper-case, colons), from any case, with or without colons or `sha256:`. */
export function normalizeFingerprint(text: string): string | undefined {
  const hex = text
    .trim()
    .replace(/^sha256[:=]/i, '')
    .replace(/[:\s]/g, '')
    .toUpperCase();
  return /^[0-9A-F]{64}$/.test(hex) ? (hex.match(/../g) ?? []).join(':') : undefined;
}

export interface ApprovalOptions {
  /** --fingerprint values, normalized. */
  readonly fingerprints: readonly string[];
  /** trust.fingerprints: pre-approved by an administrator. */
  readonly preApproved: readonly string[];
  readonly yes: boolean;
  /** stdin and stdout are a terminal, so a person can answer. */
  readonly interactive: boolean;
  /** Fingerprints already in corp-ca.pem. */
  readonly alreadyApproved: ReadonlySet<string>;
}

export interface TrustIo {
  /** Shows a candidate (subject, SHA-256, checks, warnings) before any decision. */
  show(candidate: Candidate): void;
  print(line: string): void;
  confirm(question: string): Promise<boolean>;
}

export type ApprovalKind = 'already' | 'pre-approved' | 'flag' | 'confirmed';

export interface Approval {
  readonly candidate: Candidate;
  readonly how: ApprovalKind;
}

/** Decides, candidate by candidate, who approves it; refuses to guess without a person. */
export async function approveCandidates(
  candidates: readonly Candidate[],
  opts: ApprovalOptions,
  io: TrustIo,
): Promise<Approval[]> {
  if (opts.yes && opts.fingerprints.length === 0) {
    throw usage('--yes needs --fingerprint SHA256: compare it out of band first');
  }
  const valid = candidates.filter((c) => c.result.ok);
  const missing = opts.fingerprints.filter((f) => !valid.some((c) => c.cert.fingerprint256 === f));
  if (missing.length > 0) {
    const offered = valid.map((c) => c.cert.fingerprint256).join(', ') || 'none';
    throw new CorproxyError(
      'CPX_ERR_TRUST_REJECTED',
      `no acceptable candidate CA has sha256 ${missing.join(', ')} (candidates: ${offered})`,
    );
  }
  const chosen =
    opts.fingerprints.length > 0
      ? valid.filter((c) => opts.fingerprints.includes(c.cert.fingerprint256))
      : valid;
  const out: Approval[] = [];
  for (const c of chosen) {
    io.show(c);
    const how = await decide(c, opts, io);
    if (how !== undefined) out.push({ candidate: c, how });
  }
  return out;
}

async function decide(
  c: Candidate,
  opts: ApprovalOptions,
  io: TrustIo,
): Promise<ApprovalKind | undefined> {
  const fp = c.cert.fingerprint256;
  if (opts.alreadyApproved.has(fp)) return 'already';
  if (opts.preApproved.includes(fp)) return 'pre-approved';
  if (opts.yes && opts.fingerprints.includes(fp)) return 'flag';
  if (!opts.interactive) {
    throw usage(
      `not a terminal, so nobody can confirm; compare ${fp} with the fingerprint your IT department publishes, then run again with --yes --fingerprint ${fp}`,
    );
  }
  const ok = await io.confirm(
    `Trust "${oneLineDn(c.cert.subject)}" (sha256 ${fp}) for TLS? Compare the fingerprint out of band first. [y/N] `,
  );
  if (!ok) io.print(`not approved: ${fp}`);
  return ok ? 'confirmed' : undefined;
}

function usage(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_USAGE', message);
}

/** The corporate set after approvals (appended, in order) and an optional removal. */
export function nextCorporate(
  existing: readonly CorporateCa[],
  approvals: readonly Approval[],
  now: Date,
  remove?: string,
): CorporateCa[] {
  const fpOf = (pem: string): string | undefined => parsePem(pem).certs[0]?.fingerprint256;
  let out = [...existing];
  if (remove !== undefined) {
    const kept = out.filter((c) => fpOf(c.pem) !== remove);
    if (kept.length === out.length) {
      const approved = out.map((c) => fpOf(c.pem)).join(', ') || 'none';
      throw usage(`no approved CA has sha256 ${remove} (approved: ${approved})`);
    }
    out = kept;
  }
  const have = new Set(out.map((c) => fpOf(c.pem)));
  for (const a of approvals) {
    if (have.has(a.candidate.cert.fingerprint256)) continue;
    have.add(a.candidate.cert.fingerprint256);
    const source = `trust:${a.candidate.hosts.join(',')} ${a.candidate.source}`;
    out.push({ pem: toPem(a.candidate.cert), source, approvedAt: now.toISOString() });
  }
  return out;
}
