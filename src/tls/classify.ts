/**
 * The interception verdict for one probed host (DESIGN.md §6). Pure: the probe collects,
 * this decides. Primary signal: does the chain verify against public roots passed
 * explicitly (never NODE_EXTRA_CA_CERTS)? Secondary: does the leaf carry embedded SCTs
 * (RFC 6962 §3.3; locally installed CAs are exempt from CT, so interceptors have none)?
 * Vendor names only label, they never decide.
 */
import type { X509Certificate } from 'node:crypto';
import {
  describe,
  hostMatches,
  isValidAt,
  oneLineDn,
  orderChain,
  verifiesIssued,
  type CertDescription,
} from './chain.js';
import { reasonFor, type ChainFacts, type ReasonFacts } from './classify-reasons.js';
import { parseEmbeddedScts } from './sct.js';
import { isUntrustedResign, labelVendor, type VendorEntry } from './vendors.js';

export type Verdict =
  'clean' | 'intercepted' | 'suspicious' | 'upstream-cert-error' | 'blocked' | 'probe-failed';

/** What a probe saw; every field is data, nothing is read from the environment. */
export interface ClassifyInput {
  readonly host: string;
  /** The certificates as presented on the wire, leaf first. */
  readonly chain: readonly X509Certificate[];
  /** Node's verdict against `publicRoots` (+ `extraPublicRoots`) only. */
  readonly authorized: boolean;
  /** Node's `authorizationError` code, e.g. 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'. */
  readonly authorizationError?: string;
  readonly publicRoots: readonly X509Certificate[];
  /** Private-PKI roots the administrator declared public (probe.extraPublicRoots). */
  readonly extraPublicRoots?: readonly X509Certificate[];
  readonly handshakeError?: { readonly code: string; readonly message: string };
  /** The CONNECT reply status when it was not 2xx. */
  readonly connectStatus?: number;
  readonly alpn?: string;
  readonly tlsVersion?: string;
  /** Defaults to the current time. */
  readonly now?: Date;
  /** Defaults to certs/vendors.json. */
  readonly catalogue?: readonly VendorEntry[];
}

/** The CA to show when only the leaf was sent: its issuer's name, no certificate. */
export interface IssuerName {
  readonly subject: string;
  readonly sha256?: undefined;
  readonly nameOnly: true;
}

export interface Evidence {
  /** 'ok' or Node's verification error code. */
  readonly publicRootVerify: string;
  /** The leaf's SAN names the host (CN ignored, as Go does). */
  readonly sanMatch: boolean;
  /** Embedded SCTs in the leaf; null when the extension is absent. */
  readonly sctCount: number | null;
  /** Secondary observations that never decide, e.g. a leaf signed with its own key. */
  readonly hints: readonly string[];
}

export interface Classification {
  readonly verdict: Verdict;
  /** One sentence a developer can act on. */
  readonly reason: string;
  readonly chain: readonly CertDescription[];
  readonly vendor?: string;
  /** The intercepting CA candidate: the top CA on the wire, else the leaf issuer's name. */
  readonly ca?: CertDescription | IssuerName;
  readonly evidence: Evidence;
}

/** Node/OpenSSL codes meaning "the issuer is not among the roots we passed". */
export const UNKNOWN_ISSUER_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
]);

const VALIDITY_CODES: ReadonlySet<string> = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Errors before a certificate was seen that mean "the route refuses this host". */
const BLOCK_CODES: ReadonlySet<string> = new Set([
  'CPX_ERR_UPSTREAM_REFUSED',
  'CPX_ERR_POLICY_DENIED',
  'ECONNRESET',
  'EPIPE',
  'EPROTO',
]);

/** Decides the verdict for one probe. */
export function classify(input: ClassifyInput): Classification {
  const early = classifyWithoutChain(input);
  if (early !== undefined) return early;
  return classifyChain(input);
}

function bare(input: ClassifyInput, verdict: Verdict, facts: ReasonFacts): Classification {
  return {
    verdict,
    reason: reasonFor(input.host, facts),
    chain: [],
    evidence: { publicRootVerify: 'none', sanMatch: false, sctCount: null, hints: [] },
  };
}

function classifyWithoutChain(input: ClassifyInput): Classification | undefined {
  const status = input.connectStatus;
  if (status !== undefined && (status < 200 || status > 299)) {
    if (status === 407) return bare(input, 'probe-failed', { kind: 'proxy-auth', status });
    return bare(input, 'blocked', { kind: 'connect-refused', status });
  }
  const err = input.handshakeError;
  if (err !== undefined) {
    if (err.code.startsWith('ERR_SSL_') && /WRONG_VERSION|PACKET_LENGTH|HTTP/.test(err.code)) {
      return bare(input, 'blocked', { kind: 'not-tls', code: err.code });
    }
    if (err.code.startsWith('ERR_SSL_') || BLOCK_CODES.has(err.code)) {
      return bare(input, 'blocked', { kind: 'handshake-aborted', code: err.code });
    }
    return bare(input, 'probe-failed', { kind: 'failed', code: err.code, message: err.message });
  }
  if (input.chain.length === 0) {
    return bare(input, 'probe-failed', { kind: 'no-certificate' });
  }
  return undefined;
}

function classifyChain(input: ClassifyInput): Classification {
  const leaf = input.chain[0] as X509Certificate;
  const now = input.now ?? new Date();
  const scts = parseEmbeddedScts(leaf.raw);
  const sctCount = scts === null ? null : scts.count;
  const sanMatch = hostMatches(leaf, input.host);
  const ca = caCandidate(input.chain, input.publicRoots);
  const code = input.authorized ? 'ok' : (input.authorizationError ?? 'UNKNOWN');
  const facts = {
    ca: ca.subject,
    code,
    sctCount: sctCount ?? 0,
    notAfter: describe(leaf).notAfter,
  };
  const decide = (verdict: Verdict, kind: ChainFacts['kind']): Classification => {
    const vendor = verdict === 'clean' ? undefined : labelVendor(input.chain, input.catalogue);
    return {
      verdict,
      reason: reasonFor(input.host, { ...facts, kind, ...(vendor ? { vendor } : {}) }),
      chain: input.chain.map(describe),
      ...(vendor === undefined ? {} : { vendor }),
      ...(verdict === 'clean' ? {} : { ca }),
      evidence: { publicRootVerify: code, sanMatch, sctCount, hints: hintsFor(input.chain) },
    };
  };
  if (isUntrustedResign(input.chain, input.catalogue))
    return decide('upstream-cert-error', 'untrusted-resign');
  if (!isValidAt(leaf, now)) return decide('upstream-cert-error', 'leaf-validity');
  if (input.authorized) {
    if (!sanMatch) return decide('upstream-cert-error', 'host-mismatch');
    if ((sctCount ?? 0) > 0) return decide('clean', 'clean');
    if (anchoredBy(input.chain, input.extraPublicRoots ?? []))
      return decide('clean', 'private-pki');
    return decide('suspicious', 'public-no-sct');
  }
  if (VALIDITY_CODES.has(code)) return decide('upstream-cert-error', 'chain-validity');
  if (!UNKNOWN_ISSUER_CODES.has(code)) return decide('upstream-cert-error', 'rejected');
  if (!sanMatch) return decide('upstream-cert-error', 'host-mismatch');
  if ((sctCount ?? 0) > 0) return decide('suspicious', 'unknown-issuer-with-sct');
  return decide('intercepted', 'intercepted');
}

/** Whether one of `roots` is in the chain or signed its top certificate. */
function anchoredBy(chain: readonly X509Certificate[], roots: readonly X509Certificate[]): boolean {
  const ordered = orderChain(chain);
  const top = ordered[ordered.length - 1];
  if (top === undefined) return false;
  const fps = new Set(ordered.map((c) => c.fingerprint256));
  return roots.some((r) => fps.has(r.fingerprint256) || verifiesIssued(top, r));
}

/**
 * The CA a user would be asked to trust: the highest CA certificate on the wire that links
 * to the leaf and is not already a public root; when only the leaf came, its issuer's name.
 */
export function caCandidate(
  chain: readonly X509Certificate[],
  publicRoots: readonly X509Certificate[],
): CertDescription | IssuerName {
  const publicFps = new Set(publicRoots.map((r) => r.fingerprint256));
  const ordered = orderChain(chain);
  const cas = ordered.slice(1).filter((c) => !publicFps.has(c.fingerprint256));
  const top = cas[cas.length - 1];
  if (top !== undefined) return describe(top);
  const last = ordered[ordered.length - 1] ?? (chain[0] as X509Certificate);
  return { subject: oneLineDn(last.issuer), nameOnly: true };
}

/** Observations that add confidence but never decide (research §1.1, S6). */
function hintsFor(chain: readonly X509Certificate[]): string[] {
  const hints: string[] = [];
  const leaf = chain[0] as X509Certificate;
  const ordered = orderChain(chain);
  const top = ordered[ordered.length - 1] as X509Certificate;
  if (chain.length === 1) hints.push('only the leaf was sent');
  else if (top.subject === top.issuer) hints.push('the root was sent on the wire');
  else hints.push('intermediates sent, root not sent');
  if (leaf.subject !== leaf.issuer && safeVerify(leaf)) {
    hints.push('the leaf is signed with its own key (the CA key is reused, mitmproxy-style)');
  }
  if (ordered.length < chain.length)
    hints.push('some presented certificates do not link to the leaf');
  return hints;
}

function safeVerify(leaf: X509Certificate): boolean {
  try {
    return leaf.verify(leaf.publicKey);
  } catch {
    return false;
  }
}
