/**
 * Checks a corporate CA candidate before `corproxy trust` shows it for approval (research
 * §2.3): a CA, not a leaf; valid now; not already public; not a gateway's "untrusted"
 * re-sign CA; and it must really sign a link of the chain the probe observed.
 */
import type { X509Certificate } from 'node:crypto';
import { CorproxyError } from '../errors.js';
import {
  allowsKeyCertSign,
  basicConstraintsCritical,
  readBasicConstraints,
} from './cert-extensions.js';
import {
  describe,
  isSelfSigned,
  isValidAt,
  oneLineDn,
  orderChain,
  validityDate,
  verifiesIssued,
  type CertDescription,
} from './chain.js';
import { isUntrustedResign, type VendorEntry } from './vendors.js';

/** The outcome of validateCandidate: approved for display, or refused with the reason. */
export type CandidateResult =
  | {
      readonly ok: true;
      readonly cert: CertDescription;
      /** 'intermediate' works in Go (any pool cert anchors) but breaks on rotation. */
      readonly anchor: 'root' | 'intermediate';
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly error: CorproxyError };

const DAY_MS = 86_400_000;

/** Validates `candidate` against the chain observed for a host (leaf first). */
export function validateCandidate(
  candidate: X509Certificate,
  observedChain: readonly X509Certificate[],
  publicRoots: readonly X509Certificate[],
  now: Date,
  catalogue?: readonly VendorEntry[],
): CandidateResult {
  const refusal = firstRefusal(candidate, observedChain, publicRoots, now, catalogue);
  if (refusal !== undefined) {
    const name = `"${oneLineDn(candidate.subject)}" (sha256 ${candidate.fingerprint256})`;
    return {
      ok: false,
      error: new CorproxyError('CPX_ERR_TRUST_REJECTED', `${name} ${refusal}`, {
        details: { sha256: candidate.fingerprint256 },
      }),
    };
  }
  const anchor = isSelfSigned(candidate) ? 'root' : 'intermediate';
  return { ok: true, cert: describe(candidate), anchor, warnings: warningsFor(candidate, now) };
}

type Check = () => string | undefined;

function firstRefusal(
  candidate: X509Certificate,
  observed: readonly X509Certificate[],
  publicRoots: readonly X509Certificate[],
  now: Date,
  catalogue: readonly VendorEntry[] | undefined,
): string | undefined {
  const fp = candidate.fingerprint256;
  const chain = orderChain(observed);
  const checks: Check[] = [
    () => (observed[0]?.fingerprint256 === fp ? 'is the server leaf itself, not a CA' : undefined),
    () => (candidate.ca ? undefined : notCaReason(candidate)),
    () => (isValidAt(candidate, now) ? undefined : `is not valid now (${candidate.validTo})`),
    () =>
      publicRoots.some((r) => r.fingerprint256 === fp)
        ? 'is already a public root: there is no interception to fix'
        : undefined,
    () => {
      const root = publicRoots.find((r) => verifiesIssued(candidate, r));
      return root ? `is issued by the public root "${oneLineDn(root.subject)}"` : undefined;
    },
    () =>
      isUntrustedResign([candidate], catalogue) || isUntrustedResign(observed, catalogue)
        ? "is (or sits under) the gateway's CA for untrusted origins; trusting it would hide attacks"
        : undefined,
    () => (signsLink(candidate, chain) ? undefined : 'signs no certificate of the observed chain'),
    () => preferRoot(candidate, chain),
  ];
  for (const check of checks) {
    const refusal = check();
    if (refusal !== undefined) return refusal;
  }
  return undefined;
}

/** OpenSSL refuses CA status to a CA:TRUE certificate whose keyUsage lacks keyCertSign. */
function notCaReason(candidate: X509Certificate): string {
  if (readBasicConstraints(candidate.raw)?.ca && allowsKeyCertSign(candidate.raw) === false) {
    return 'has a keyUsage without keyCertSign, so it cannot sign certificates';
  }
  return 'is not a CA (basicConstraints CA:TRUE is missing)';
}

/** Whether some certificate of the leaf's verified path was signed by `candidate`. */
function signsLink(candidate: X509Certificate, chain: readonly X509Certificate[]): boolean {
  return chain.some(
    (c) => c.fingerprint256 !== candidate.fingerprint256 && verifiesIssued(c, candidate),
  );
}

/** An intermediate may anchor only when the chain shows no root above it. */
function preferRoot(
  candidate: X509Certificate,
  chain: readonly X509Certificate[],
): string | undefined {
  if (isSelfSigned(candidate)) return undefined;
  const top = chain[chain.length - 1];
  if (top === undefined || !isSelfSigned(top) || top.fingerprint256 === candidate.fingerprint256) {
    return undefined;
  }
  return `is an intermediate, but the chain presents its root "${oneLineDn(top.subject)}" (sha256 ${top.fingerprint256}); approve the root instead`;
}

function warningsFor(candidate: X509Certificate, now: Date): string[] {
  const warnings: string[] = [];
  if (!isSelfSigned(candidate)) {
    warnings.push(
      'this is an intermediate, not a root: trusting it works until the gateway rotates it',
    );
  }
  const left = validityDate(candidate.validTo).getTime() - now.getTime();
  if (left < 30 * DAY_MS) {
    warnings.push(`it expires in ${Math.max(0, Math.floor(left / DAY_MS))} day(s)`);
  }
  if (basicConstraintsCritical(candidate.raw) === false) {
    warnings.push(
      'its basicConstraints is not critical: Python >= 3.13 strict verification rejects it',
    );
  }
  return warnings;
}
