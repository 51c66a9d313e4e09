/**
 * Layer 6, TLS: the interception verdict for a host, probed over corproxy's route with
 * public roots passed explicitly (src/tls/route-probe.ts), and whether the roots Go would
 * use (go-roots.ts) anchor the chain that was presented: any certificate of the chain in
 * Go's pool, or issued by one in it, as crypto/x509 accepts. Pure apart from the
 * signature checks on certificates already in hand.
 */
import type { X509Certificate } from 'node:crypto';
import { orderChain, verifiesIssued } from '../tls/chain.js';
import type { RoutedProbe } from '../tls/route-probe.js';
import type { ApprovedCa } from './env-certs.js';
import { exportLine } from './env-proxy.js';
import type { GoRoots } from './go-roots.js';
import { check, type Check } from './types.js';

/** The root of Go's pool that anchors `chain`, if any. */
export function goAnchor(
  chain: readonly X509Certificate[],
  roots: readonly X509Certificate[],
): X509Certificate | undefined {
  const byFp = new Map(roots.map((r) => [r.fingerprint256, r] as const));
  for (const cert of orderChain(chain)) {
    const same = byFp.get(cert.fingerprint256);
    if (same !== undefined) return same;
    const issuer = roots.find((r) => r.subject === cert.issuer && verifiesIssued(cert, r));
    if (issuer !== undefined) return issuer;
  }
  return undefined;
}

export interface TlsInput {
  readonly label: string;
  /** Whose roots `roots` are: go's, or corproxy's mirror's (the bundle). */
  readonly whose: 'Go' | 'the mirror';
  readonly probe: RoutedProbe;
  readonly roots: GoRoots;
  readonly approved: readonly ApprovedCa[];
  readonly bundle: { readonly path: string; readonly present: boolean };
}

function rootsLine(roots: GoRoots, whose: TlsInput['whose']): string {
  const file = roots.file
    ? `${roots.file.from === 'SSL_CERT_FILE' ? 'SSL_CERT_FILE=' : ''}${roots.file.path}`
    : 'no CA file';
  const dirs = roots.dirs.map((d) => d.path).join(':');
  const store = roots.approximated ? ' (OS store approximated by Mozilla’s roots)' : '';
  return `${whose === 'Go' ? "Go's" : "the mirror's"} roots: ${file}${dirs !== '' ? ` + ${dirs}` : ''}, ${roots.certs.length} certificate(s)${store}`;
}

function evidenceOf(input: TlsInput): string[] {
  const { probe, classification: c, route } = input.probe;
  const via = route.upstream !== undefined ? `upstream ${route.upstream}` : route.kind;
  return [
    `route: ${via} (${route.rule})`,
    `verdict: ${c.verdict}${c.vendor ? ` (${c.vendor})` : ''}: ${c.reason}`,
    ...c.chain.map((d, i) => `chain[${i}]: ${d.subject} ← ${d.issuer}`),
    ...(c.ca
      ? [`CA: ${c.ca.subject}${c.ca.sha256 ? ` sha256 ${c.ca.sha256}` : ' (not sent)'}`]
      : []),
    ...(probe.tlsVersion ? [`${probe.tlsVersion}${probe.alpn ? `, ALPN ${probe.alpn}` : ''}`] : []),
    rootsLine(input.roots, input.whose),
  ];
}

const X509 = 'x509: certificate signed by unknown authority';

function untrusted(input: TlsInput, evidence: string[]): Check {
  const { classification: c } = input.probe;
  const name = `TLS ${input.label}`;
  const bundle = exportLine([['SSL_CERT_FILE', input.bundle.path]]);
  const approved =
    c.ca?.sha256 !== undefined && input.approved.some((a) => a.sha256 === c.ca?.sha256);
  if (input.whose === 'the mirror') {
    const ca = c.ca?.subject ?? c.chain.at(-1)?.issuer ?? 'its CA';
    const summary = `the mirror's roots do not hold the CA of this ${c.verdict} chain (${ca}): ${X509}`;
    return check('tls', name, 'fail', summary, {
      evidence,
      fix: 'the mirror verifies with corproxy’s bundle (Node’s roots until there is one): approve the CA with corproxy trust',
      commands: [`corproxy trust ${input.label}`],
    });
  }
  if (c.verdict !== 'intercepted' && c.verdict !== 'suspicious') {
    return check('tls', name, 'fail', `clean chain, but Go's roots lack its public root: ${X509}`, {
      evidence,
      fix: 'SSL_CERT_FILE replaces Go’s roots: point it at corproxy’s bundle (system + Mozilla + corporate roots)',
      commands: input.bundle.present ? [bundle] : ['unset SSL_CERT_FILE'],
    });
  }
  const who = `${c.ca?.subject ?? 'an unknown CA'}${c.vendor ? ` (${c.vendor})` : ''}`;
  const how = c.verdict === 'intercepted' ? 'intercepted by' : 'signed by';
  const summary = `${how} ${who}; Go's roots do not hold it: ${X509}`;
  if (approved && input.bundle.present) {
    return check('tls', name, 'fail', summary, {
      evidence,
      fix: 'the CA is approved: point Go at corproxy’s bundle',
      commands: [bundle],
    });
  }
  return check('tls', name, 'fail', summary, {
    evidence,
    fix: 'approve the corporate CA with corproxy trust, then point Go at the bundle it writes',
    commands: [`corproxy trust ${input.label}`, bundle],
  });
}

/** The check for one probed host. */
export function tlsCheck(input: TlsInput): Check {
  const { probe, classification: c } = input.probe;
  const name = `TLS ${input.label}`;
  const evidence = evidenceOf(input);
  switch (c.verdict) {
    case 'probe-failed':
      return check('tls', name, 'fail', c.reason, {
        evidence: [
          ...evidence,
          ...(probe.handshakeError
            ? [`${probe.handshakeError.code}: ${probe.handshakeError.message}`]
            : []),
        ],
        fix: 'the TLS handshake did not complete over corproxy’s route; see the error above',
        code: 'CPX_ERR_TLS_PROBE',
      });
    case 'blocked':
      return check('tls', name, 'fail', c.reason, {
        evidence,
        fix: 'the gateway blocks this host (policy, or it does not speak TLS there): ask the proxy administrators',
      });
    case 'upstream-cert-error':
      return check('tls', name, 'fail', c.reason, {
        evidence,
        fix: 'the gateway rejected the origin’s own certificate: do not trust this chain; ask the proxy administrators',
      });
    default:
      break;
  }
  const anchor = goAnchor(probe.chain, input.roots.certs);
  if (anchor === undefined) return untrusted(input, evidence);
  const anchorLine = `anchored by ${anchor.subject.replace(/\n/g, ', ')}`;
  if (c.verdict === 'suspicious') {
    return check('tls', name, 'warn', c.reason, {
      evidence: [...evidence, anchorLine],
      fix: 'run corproxy detect for the full chain; Go accepts it',
    });
  }
  const what =
    c.verdict === 'intercepted'
      ? `intercepted by ${c.ca?.subject ?? '?'}${c.vendor ? ` (${c.vendor})` : ''}`
      : 'clean';
  return check(
    'tls',
    name,
    'pass',
    `${what}; ${input.whose === 'Go' ? "Go's" : "the mirror's"} roots verify the chain`,
    {
      evidence: [...evidence, anchorLine],
    },
  );
}

/** A host not probed because an earlier layer failed for it. */
export function tlsSkipped(label: string, why: string): Check {
  return check('tls', `TLS ${label}`, 'skip', why, {});
}
