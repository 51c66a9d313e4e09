/**
 * Built-in defaults, in the same shape (and units) as the YAML config file, plus the
 * platform rules for the state directory and the config file search path. The defaults go
 * through the same parser as every other layer, so they are validated like user input.
 */

import path from 'node:path';

/** The port corproxy listens on unless told otherwise (HTTPS_PROXY=http://127.0.0.1:3129). */
export const DEFAULT_PORT = 3129;

/** Recursively freezes acyclic plain data (objects and arrays); returns its argument. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * Every config file key with its default. `null` means "computed at parse time":
 * `stateDir` from the platform, `log.file` as `<stateDir>/connections.log`. An empty
 * `upstream` list means "the daemon's own HTTPS_PROXY, unless it points at corproxy".
 */
export const DEFAULTS = deepFreeze({
  listen: [`127.0.0.1:${DEFAULT_PORT}`, `[::1]:${DEFAULT_PORT}`],
  allow: [] as string[],
  upstream: [] as string[],
  fallback: 'none',
  direct: [] as string[],
  directFromGoEnv: false,
  pac: '',
  fromSystem: false,
  hosts: {} as Record<string, string>,
  stateDir: null as string | null,
  log: {
    file: null as string | null,
    level: 'info',
    maxSize: '10MiB',
    maxFiles: 5,
  },
  limits: {
    headerTimeout: '30s',
    connectTimeout: '10s',
    idleTimeout: '10m',
    keepAlive: '30s',
    drainTimeout: '10s',
    badProxyTime: '5m',
    maxConnections: 4096,
    maxHeaderSize: '64KiB',
  },
  probe: {
    enabled: true,
    watch: ['proxy.golang.org', 'sum.golang.org', 'github.com'],
    cleanTtl: '30m',
    interceptedTtl: '6h',
    failureTtl: '1m',
    extraPublicRoots: '',
    timeout: '10s',
  },
  trust: {
    fingerprints: [] as string[],
    bundle: '',
  },
  mirror: {
    enabled: true,
    upstream: 'https://proxy.golang.org',
    sumdb: ['sum.golang.org https://sum.golang.org'],
    private: [] as string[],
    privateProxy: '',
    maxSize: '2GiB',
    mutableTtl: '60s',
    listen: [] as string[],
  },
});

/** Top-level keys whose value is a mapping of its own keys (all others hold one value). */
export const SECTIONS = Object.freeze(['log', 'limits', 'probe', 'trust', 'mirror'] as const);

/** Environment variables that set a config key (key path), documented in configuration.md. */
export const ENV_KEYS: Readonly<Record<string, string>> = Object.freeze({
  CORPROXY_LISTEN: 'listen',
  CORPROXY_ALLOW: 'allow',
  CORPROXY_UPSTREAM: 'upstream',
  CORPROXY_FALLBACK: 'fallback',
  CORPROXY_DIRECT: 'direct',
  CORPROXY_DIRECT_FROM_GO_ENV: 'directFromGoEnv',
  CORPROXY_HOSTS: 'hosts',
  CORPROXY_STATE_DIR: 'stateDir',
  CORPROXY_LOG: 'log.file',
  CORPROXY_LOG_LEVEL: 'log.level',
  CORPROXY_PROBE: 'probe.enabled',
  CORPROXY_PAC: 'pac',
  CORPROXY_FROM_SYSTEM: 'fromSystem',
  CORPROXY_MIRROR: 'mirror.enabled',
  CORPROXY_MIRROR_UPSTREAM: 'mirror.upstream',
});

/** Credentials for upstreams that name none (user) or have a user but no password. */
export const CREDENTIAL_ENV = Object.freeze({
  user: 'CORPROXY_UPSTREAM_USER',
  password: 'CORPROXY_UPSTREAM_PASSWORD',
});

/** Names the config file to read instead of the default search path. */
export const CONFIG_ENV = 'CORPROXY_CONFIG';

/** Path functions for the target platform, so Windows rules are testable on Linux. */
export function pathFor(platform: NodeJS.Platform): path.PlatformPath {
  return platform === 'win32' ? path.win32 : path.posix;
}

type Env = Readonly<Record<string, string | undefined>>;

/** XDG base directory spec: a relative value is invalid and must be ignored. */
function xdgDir(env: Env, name: string): string | undefined {
  const value = env[name];
  return value && path.posix.isAbsolute(value) ? value : undefined;
}

/** Where bundle, log and probe cache live when `stateDir` is not configured. */
export function defaultStateDir(platform: NodeJS.Platform, env: Env, homedir: string): string {
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || path.win32.join(homedir, 'AppData', 'Local');
    return path.win32.join(base, 'corproxy');
  }
  if (platform === 'darwin') {
    return path.posix.join(homedir, 'Library', 'Application Support', 'corproxy');
  }
  const base = xdgDir(env, 'XDG_STATE_HOME') ?? path.posix.join(homedir, '.local', 'state');
  return path.posix.join(base, 'corproxy');
}

/** Config files tried in order when neither --config nor CORPROXY_CONFIG names one. */
export function defaultConfigFiles(
  platform: NodeJS.Platform,
  env: Env,
  homedir: string,
): readonly string[] {
  if (platform === 'win32') {
    const base = env.APPDATA || path.win32.join(homedir, 'AppData', 'Roaming');
    return [path.win32.join(base, 'corproxy', 'config.yaml')];
  }
  const base = xdgDir(env, 'XDG_CONFIG_HOME') ?? path.posix.join(homedir, '.config');
  return [path.posix.join(base, 'corproxy', 'config.yaml'), '/etc/corproxy/config.yaml'];
}
