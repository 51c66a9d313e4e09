/**
 * What doctor reads before it checks anything: the roots Go would use, the corporate CAs
 * `corproxy trust` approved, corproxy's bundle, git's settings and CA file, corproxy's
 * own addresses, and whether Go's settings point at corproxy at all.
 */
import { rootCertificates } from 'node:tls';
import type { Config } from '../config/types.js';
import { parsePem } from '../tls/chain.js';
import { formatEndpoint, isCorproxyAddress, type Endpoint } from '../inspect/endpoint.js';
import { goProxyFor } from '../inspect/go-proxy-env.js';
import { bundlePaths } from '../tls/bundle-files.js';
import type { ApprovedCa, CertEnvInput } from './env-certs.js';
import {
  readGoRoots,
  readRootFile,
  type GoRoots,
  type RootFile,
  type RootsFs,
} from './go-roots.js';
import type { ProxyList } from './go-settings.js';
import { goContacts, urlTarget, type GoHost } from './targets.js';

type Env = Readonly<Record<string, string | undefined>>;

/** corproxy's proxy URL for fix lines: a loopback listener, IPv4 first. */
export function proxyUrlOf(own: readonly Endpoint[]): string {
  const pick =
    own.find((e) => e.host.startsWith('127.')) ?? own.find((e) => e.host === '::1') ?? own[0];
  if (pick === undefined) return 'http://127.0.0.1:3129';
  const host = pick.host === '0.0.0.0' ? '127.0.0.1' : pick.host === '::' ? '::1' : pick.host;
  return `http://${formatEndpoint({ host, port: pick.port })}`;
}

/** The approved corporate CAs: corp-ca.pem, plus fingerprints pre-approved in the config. */
export async function approvedCas(config: Config, fs: RootsFs): Promise<ApprovedCa[]> {
  const file = await readRootFile(bundlePaths(config).corporate, 'corp-ca.pem', fs);
  const fromFile = file.certs.map((c) => ({
    sha256: c.fingerprint256,
    subject: c.subject.replace(/\n/g, ', '),
  }));
  const extra = config.trust.fingerprints
    .filter((f) => !fromFile.some((a) => a.sha256 === f))
    .map((sha256) => ({ sha256 }));
  return [...fromFile, ...extra];
}

export interface Seen {
  readonly roots: GoRoots;
  /** What corproxy's mirror verifies with: the bundle, else Node's roots (mirror/trust.ts). */
  readonly mirrorRoots: GoRoots;
  readonly certInput: CertEnvInput;
  /** git's http.* settings; undefined without git. */
  readonly git?: Readonly<Record<string, string>>;
  /** The CA file git uses (GIT_SSL_CAINFO, else http.sslCAInfo), when one is named. */
  readonly gitCa?: RootFile;
}

export interface ObserveDeps {
  readonly env: Env;
  readonly platform: NodeJS.Platform;
  readonly config: Config;
  readonly fs: RootsFs;
  readonly nodeRoots?: readonly string[];
  readonly gitConfig: (env: Env) => Promise<Record<string, string> | undefined>;
}

/** Reads roots, approvals, bundle and git; never throws for a missing file. */
export async function observe(deps: ObserveDeps): Promise<Seen> {
  const roots = await readGoRoots(deps.env, deps.platform, deps.fs, deps.nodeRoots);
  const paths = bundlePaths(deps.config);
  const bundleFile = await readRootFile(paths.bundle, 'bundle', deps.fs);
  const certInput: CertEnvInput = {
    env: deps.env,
    roots,
    approved: await approvedCas(deps.config, deps.fs),
    bundle: { path: paths.bundle, present: bundleFile.certs.length > 0 },
  };
  const git = await deps.gitConfig(deps.env);
  const fromEnv = deps.env.GIT_SSL_CAINFO ?? '';
  const caPath = fromEnv !== '' ? fromEnv : (git?.['http.sslcainfo'] ?? '');
  const from = fromEnv !== '' ? 'GIT_SSL_CAINFO' : 'http.sslCAInfo';
  const gitCa =
    git !== undefined && caPath !== '' ? await readRootFile(caPath, from, deps.fs) : undefined;
  const mirrorRoots: GoRoots = {
    platform: deps.platform,
    ...(bundleFile.certs.length > 0 && { file: bundleFile }),
    dirs: [],
    certs:
      bundleFile.certs.length > 0
        ? bundleFile.certs
        : parsePem((deps.nodeRoots ?? rootCertificates).join('\n')).certs,
    approximated: false,
  };
  return { roots, mirrorRoots, certInput, ...(git && { git }), ...(gitCa && { gitCa }) };
}

/** GOPROXY entries that are corproxy's own mirror. */
export function mirrorEntries(list: ProxyList, own: readonly Endpoint[]): string[] {
  return list.entries.flatMap((e) => {
    if (e.kind !== 'url') return [];
    const t = urlTarget(e.url);
    return t && isCorproxyAddress(t.target.host, t.target.port, own) ? [e.url] : [];
  });
}

/** Whether Go sends any of `hosts` to one of corproxy's addresses. */
export function goSendsToCorproxy(
  hosts: readonly GoHost[],
  env: Env,
  own: readonly Endpoint[],
): boolean {
  return hosts.some((h) => {
    if (h.loopback || !goContacts(h)) return false;
    const { host, port } = h.target;
    const go = goProxyFor({ scheme: h.scheme, host, rawHost: host, port }, env);
    const m = /^[a-z0-9+.-]+:\/\/\[?([^\]]*?)\]?:(\d+)$/.exec(go.proxyKey ?? '');
    return go.proxied && m !== null && isCorproxyAddress(m[1] as string, Number(m[2]), own);
  });
}
