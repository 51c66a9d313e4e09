/**
 * The one sentence per verdict that `detect`, `doctor` and the log show. Each names what
 * was seen and what the developer can do about it.
 */

/** The facts a reason sentence may quote. */
export type ReasonFacts =
  | { readonly kind: 'proxy-auth'; readonly status: number }
  | { readonly kind: 'connect-refused'; readonly status: number }
  | { readonly kind: 'not-tls'; readonly code: string }
  | { readonly kind: 'handshake-aborted'; readonly code: string }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string }
  | { readonly kind: 'no-certificate' }
  | ChainFacts;

/** Facts about a chain that was received. */
export interface ChainFacts {
  readonly kind:
    | 'clean'
    | 'private-pki'
    | 'public-no-sct'
    | 'intercepted'
    | 'unknown-issuer-with-sct'
    | 'untrusted-resign'
    | 'leaf-validity'
    | 'chain-validity'
    | 'host-mismatch'
    | 'rejected';
  /** Subject of the CA candidate (or the leaf issuer's name). */
  readonly ca: string;
  /** 'ok' or Node's verification error code. */
  readonly code: string;
  readonly sctCount: number;
  readonly notAfter: string;
  readonly vendor?: string;
}

/** The reason sentence for `host`. */
export function reasonFor(host: string, f: ReasonFacts): string {
  switch (f.kind) {
    case 'proxy-auth':
      return `${host}: the proxy asked for credentials (407) on the probe's CONNECT; check the upstream username and password, then probe again.`;
    case 'connect-refused':
      return `${host}: the proxy refused CONNECT with status ${f.status}, so its policy blocks this host; ask for it to be allowed or route it direct.`;
    case 'not-tls':
      return `${host}: the route answered with something other than TLS (${f.code}), typically a gateway block page; open the URL in a browser to read it.`;
    case 'handshake-aborted':
      return `${host}: the TLS handshake was cut off (${f.code}), as gateways do for hosts they block or cannot reach; ask for the host to be allowed or check that it is up.`;
    case 'failed':
      return `${host}: the probe did not complete (${f.code}: ${oneLine(f.message)}); nothing is known about interception yet, run "corproxy doctor" to find the failing layer.`;
    case 'no-certificate':
      return `${host}: the handshake completed without a server certificate; probe again, and report the route if it persists.`;
    default:
      return chainReason(host, f);
  }
}

function chainReason(host: string, f: ChainFacts): string {
  const by = f.vendor ? `${f.vendor} ("${f.ca}")` : `"${f.ca}"`;
  switch (f.kind) {
    case 'clean':
      return `${host}: the chain verifies against public roots, names the host and carries ${f.sctCount} SCT(s): not intercepted.`;
    case 'private-pki':
      return `${host}: the chain is anchored in a root listed in probe.extraPublicRoots (private PKI), so it is not treated as interception.`;
    case 'public-no-sct':
      return `${host}: the chain verifies against public roots but the leaf has no embedded SCTs, which public CAs add; compare the issuer ${by} with the site's usual one, and list it in probe.extraPublicRoots if it is your private PKI.`;
    case 'intercepted':
      return `${host}: TLS is intercepted: the certificate comes from ${by}, which public roots do not trust (${f.code}); run "corproxy trust ${host}" to review and approve that CA.`;
    case 'unknown-issuer-with-sct':
      return `${host}: the chain does not verify against public roots (${f.code}) yet the leaf carries SCTs, as when the origin sends an incomplete chain; do not trust ${by}, check the origin's chain instead.`;
    case 'untrusted-resign':
      return `${host}: the gateway re-signed this site with its "untrusted" CA ${by} because the origin's own certificate failed its check; never trust that CA, report the origin's certificate instead.`;
    case 'leaf-validity':
      return `${host}: the leaf certificate is outside its validity period (not after ${f.notAfter}); the site or gateway must renew it, trusting a CA cannot fix this.`;
    case 'chain-validity':
      return `${host}: a certificate in the chain is expired or not yet valid (${f.code}); check the clock, then report the chain to the site or gateway owner.`;
    case 'host-mismatch':
      return `${host}: the certificate does not name ${host} in its subjectAltName (Go ignores the CN), so trusting its CA ${by} would not help; report it to the site or gateway owner.`;
    case 'rejected':
      return `${host}: the chain was rejected (${f.code}) for a reason trusting a CA cannot fix; report it to the site or gateway owner.`;
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 160 ? `${flat.slice(0, 157)}...` : flat;
}
