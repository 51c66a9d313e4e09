/**
 * The compiled, frozen configuration every module receives. Only src/config/ builds it;
 * only src/config/ reads the environment. See docs/configuration.md.
 */
import type { UpstreamAuth } from './auth.js';
import type { MirrorConfig } from './mirror.js';

export type { GoproxyEntry, MirrorConfig, SumdbConfig } from './mirror.js';
export type { AuthScheme, UpstreamAuth } from './auth.js';

export interface ListenAddress {
  /** IP literal without brackets ('127.0.0.1', '::1'). */
  readonly host: string;
  /** 0 asks the OS for a free port (tests). */
  readonly port: number;
}

export interface UpstreamProxy {
  /** 'http:' (plain TCP to the proxy) or 'https:' (TLS to the proxy). */
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** Authentication settings beyond user/password (docs/authentication.md); absent = defaults. */
  readonly auth?: UpstreamAuth;
  /** Redacted URL for logs and messages: credentials never appear, `***` marks them. */
  readonly display: string;
  /** host:port, the key of the bad-proxy list. */
  readonly id: string;
}

export interface Limits {
  readonly headerTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly maxConnections: number;
  readonly maxHeaderSize: number;
  /** How long SIGTERM waits for open connections before closing them. */
  readonly drainTimeoutMs: number;
  /** How long a failing upstream stays on the bad-proxy list. */
  readonly badProxyMs: number;
}

export interface LogConfig {
  /** Connection log file (JSON lines); '' disables the file. */
  readonly file: string;
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly maxSizeBytes: number;
  readonly maxFiles: number;
}

export interface ProbeConfig {
  readonly enabled: boolean;
  readonly watch: readonly string[];
  readonly cleanTtlMs: number;
  readonly interceptedTtlMs: number;
  readonly failureTtlMs: number;
  /** PEM file of roots to treat as public (private PKIs that are not interception). */
  readonly extraPublicRoots: string;
  /** Budget for one probe: opening the route and the TLS handshake together. */
  readonly timeoutMs: number;
}

export interface TrustConfig {
  /** SHA-256 fingerprints (upper-case hex with colons) an administrator pre-approved. */
  readonly fingerprints: readonly string[];
  /** Where `trust` writes ca-bundle.pem; '' = state dir. */
  readonly bundle: string;
}

export interface Config {
  readonly listen: readonly ListenAddress[];
  /** Client CIDRs allowed to connect; empty = loopback only. */
  readonly allow: readonly string[];
  readonly upstreams: readonly UpstreamProxy[];
  readonly fallback: 'direct' | 'none';
  /** Go NO_PROXY-syntax patterns routed direct (already merged with Go env imports). */
  readonly direct: readonly string[];
  /** GOPRIVATE/GONOPROXY module globs imported when directFromGoEnv is on. */
  readonly directModules: readonly string[];
  readonly directFromGoEnv: boolean;
  /** PAC script: http(s) URL, data: URL or absolute file path; '' = none (docs/pac.md). */
  readonly pac: string;
  /** Read upstream, direct and pac from the OS proxy settings at start (docs/pac.md). */
  readonly fromSystem: boolean;
  /** name → address, like curl --resolve; used for direct connections. */
  readonly hosts: Readonly<Record<string, string>>;
  readonly stateDir: string;
  readonly log: LogConfig;
  readonly limits: Limits;
  readonly probe: ProbeConfig;
  readonly trust: TrustConfig;
  /** The Go module mirror under /mod/ (docs/mirror.md). */
  readonly mirror: MirrorConfig;
  /** Where the values came from, for `status` and `doctor` (paths only, no secrets). */
  readonly sources: readonly string[];
}
