/**
 * Pure compilation of the configuration: built-in defaults < YAML file < environment <
 * flags, validated key by key and deep-frozen. Every error is CPX_ERR_CONFIG_INVALID with a
 * message that starts with the key path and ends with where the value came from; upstream
 * passwords never appear in a message.
 */

import net from 'node:net';
import { CorproxyError } from '../errors.js';
import { compileModuleGlob, parseModuleGlobList } from '../route/module-glob.js';
import { compileNoProxyPattern, parseNoProxyList } from '../route/no-proxy.js';
import type { Config, Limits, LogConfig, ProbeConfig, TrustConfig } from './types.js';
import { DEFAULTS, deepFreeze, defaultStateDir, pathFor } from './defaults.js';
import { BUILT_IN, fail, flatten, get, isMapping, type ConfigInputs } from './layers.js';
import { readEnvLayer, readFileLayer, readFlagLayer } from './layers.js';
import type { Context, Origin, Sourced } from './layers.js';
import { compileAllow, compileListen, requireAllowForOpenListen } from './listen.js';
import { compileMirror } from './mirror.js';
import { compilePac, readImportedLayer } from './pac.js';
import { compileUpstreams } from './upstream.js';
import { bool, durationMs, envAny, filePath, list, oneOf } from './values.js';
import { positiveInt, read, sizeBytes, text, unique } from './values.js';

export type { ConfigInputs, Flags } from './layers.js';

/** Compiles and deep-freezes the configuration; throws CPX_ERR_CONFIG_INVALID. */
export function parseConfig(inputs: ConfigInputs): Config {
  const fileLayer = readFileLayer(inputs.file, inputs.filePath);
  const envLayer = readEnvLayer(inputs.env);
  const flagLayer = readFlagLayer(inputs.flags);
  const systemLayer = readImportedLayer(inputs.flags.imported);
  const values = new Map([
    ...flatten(DEFAULTS, BUILT_IN),
    ...systemLayer,
    ...fileLayer,
    ...envLayer,
    ...flagLayer,
  ]);
  const ctx: Context = {
    values,
    env: inputs.env,
    path: pathFor(inputs.platform),
    homedir: inputs.homedir,
    cwd: inputs.cwd,
    usedEnv: envLayer.size > 0,
  };
  const config = compile(ctx, inputs);
  const sources = ['defaults'];
  if (systemLayer.size > 0)
    sources.push(`system proxy settings (${inputs.flags.imported?.source})`);
  if (inputs.filePath !== undefined && inputs.file !== undefined) sources.push(inputs.filePath);
  if (ctx.usedEnv) sources.push('environment');
  if (flagLayer.size > 0) sources.push('flags');
  return deepFreeze({ ...config, sources });
}

function compile(ctx: Context, inputs: ConfigInputs): Omit<Config, 'sources'> {
  const listen = compileListen(ctx);
  const allow = compileAllow(ctx);
  requireAllowForOpenListen(ctx, listen, allow);
  const directFromGoEnv = bool('directFromGoEnv', get(ctx, 'directFromGoEnv'));
  const stateDir = statePath(ctx, inputs);
  const routing = compileDirect(ctx, directFromGoEnv);
  return {
    listen,
    allow,
    upstreams: compileUpstreams(ctx, listen),
    fallback: oneOf('fallback', get(ctx, 'fallback'), ['direct', 'none'] as const),
    pac: compilePac(get(ctx, 'pac'), (k, v) => filePath(ctx, k, v, false), inputs.platform),
    fromSystem: bool('fromSystem', get(ctx, 'fromSystem')),
    ...routing,
    directFromGoEnv,
    hosts: compileHosts(get(ctx, 'hosts')),
    stateDir,
    log: compileLog(ctx, stateDir),
    limits: compileLimits(ctx),
    probe: compileProbe(ctx),
    trust: compileTrust(ctx),
    mirror: compileMirror(
      { get: (key) => get(ctx, key), fail, bool, list, text, durationMs, sizeBytes },
      routing.directModules,
    ),
  };
}

// ---------------------------------------------------------------- routing, paths, sections

/** Runs a route compiler, re-labelling its CPX_ERR_CONFIG_INVALID with key path and origin. */
function checked(key: string, origin: Origin, pattern: string, compiler: Compiler): string {
  try {
    return compiler(pattern).pattern;
  } catch (err) {
    if (err instanceof CorproxyError && err.code === 'CPX_ERR_CONFIG_INVALID') {
      return fail(key, origin, err.message);
    }
    throw err;
  }
}

type Compiler = (pattern: string) => { readonly pattern: string };

function compileDirect(ctx: Context, fromGoEnv: boolean): Pick<Config, 'direct' | 'directModules'> {
  const s = get(ctx, 'direct');
  const direct = list('direct', s).map((p, i) =>
    checked(`direct[${i}]`, s.origin, p, compileNoProxyPattern),
  );
  if (!fromGoEnv) return { direct: unique(direct), directModules: [] };
  const noProxy = envAny(ctx.env, 'NO_PROXY', 'no_proxy');
  const noProxyOrigin: Origin = { kind: 'env', name: noProxy?.[0] ?? '' };
  for (const p of parseNoProxyList(noProxy?.[1] ?? '')) {
    direct.push(checked('direct', noProxyOrigin, p, compileNoProxyPattern));
  }
  // cmd/go: GONOPROXY defaults to GOPRIVATE when it is unset or empty.
  const modules = envAny(ctx.env, 'GONOPROXY') ?? envAny(ctx.env, 'GOPRIVATE');
  const modulesOrigin: Origin = { kind: 'env', name: modules?.[0] ?? '' };
  const directModules = parseModuleGlobList(modules?.[1] ?? '').map((g) =>
    checked('directModules', modulesOrigin, g, compileModuleGlob),
  );
  if (noProxy !== undefined || modules !== undefined) ctx.usedEnv = true;
  return { direct: unique(direct), directModules: unique(directModules) };
}

const HOST_NAME = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/;

function compileHosts(s: Sourced): Record<string, string> {
  const pairs: Array<readonly [string, string, unknown]> = isMapping(s.value)
    ? Object.entries(s.value).map(([name, addr]) => [`hosts.${name}`, name, addr] as const)
    : list('hosts', s).map((item, i) => {
        const eq = item.indexOf('=');
        if (eq < 0)
          fail(
            `hosts[${i}]`,
            s.origin,
            `${JSON.stringify(item)} is not NAME=ADDR (e.g. git.corp.test=10.0.0.5)`,
          );
        return [`hosts[${i}]`, item.slice(0, eq), item.slice(eq + 1)] as const;
      });
  return Object.fromEntries(
    pairs.map(([key, name, addr]) => {
      const host = name.trim().toLowerCase().replace(/\.$/, '');
      if (!HOST_NAME.test(host)) fail(key, s.origin, `${JSON.stringify(name)} is not a host name`);
      const ip = typeof addr === 'string' ? addr.trim().replace(/^\[(.*)\]$/, '$1') : '';
      if (net.isIP(ip) === 0) {
        fail(
          key,
          s.origin,
          `${JSON.stringify(addr)} is not an IP address; hosts maps names to IP literals`,
        );
      }
      return [host, ip.toLowerCase()];
    }),
  );
}

function statePath(ctx: Context, inputs: ConfigInputs): string {
  const s = ctx.values.get('stateDir');
  if (s === undefined) return defaultStateDir(inputs.platform, ctx.env, ctx.homedir);
  return filePath(ctx, 'stateDir', s, false);
}

function compileLog(ctx: Context, stateDir: string): LogConfig {
  const s = ctx.values.get('log.file');
  const off = s !== undefined && ['', 'off'].includes(String(s.value).trim().toLowerCase());
  const file =
    s === undefined
      ? ctx.path.join(stateDir, 'connections.log')
      : off
        ? ''
        : filePath(ctx, 'log.file', s, true);
  return {
    file,
    level: read(ctx, 'log.level', (k, v) =>
      oneOf(k, v, ['error', 'warn', 'info', 'debug'] as const),
    ),
    maxSizeBytes: read(ctx, 'log.maxSize', sizeBytes),
    maxFiles: read(ctx, 'log.maxFiles', positiveInt),
  };
}

function compileLimits(ctx: Context): Limits {
  return {
    headerTimeoutMs: read(ctx, 'limits.headerTimeout', durationMs),
    connectTimeoutMs: read(ctx, 'limits.connectTimeout', durationMs),
    idleTimeoutMs: read(ctx, 'limits.idleTimeout', durationMs),
    keepAliveMs: read(ctx, 'limits.keepAlive', durationMs),
    maxConnections: read(ctx, 'limits.maxConnections', positiveInt),
    maxHeaderSize: read(ctx, 'limits.maxHeaderSize', sizeBytes),
    drainTimeoutMs: read(ctx, 'limits.drainTimeout', durationMs),
    badProxyMs: read(ctx, 'limits.badProxyTime', durationMs),
  };
}

function compileProbe(ctx: Context): ProbeConfig {
  const watch = get(ctx, 'probe.watch');
  return {
    enabled: read(ctx, 'probe.enabled', bool),
    watch: unique(
      list('probe.watch', watch).map((item, i) => {
        const [host = '', p] = item.toLowerCase().split(':');
        const okPort = p === undefined || (/^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 65535);
        if (!HOST_NAME.test(host) || !okPort) {
          fail(
            `probe.watch[${i}]`,
            watch.origin,
            `${JSON.stringify(item)} is not HOST or HOST:PORT`,
          );
        }
        return item.toLowerCase();
      }),
    ),
    cleanTtlMs: read(ctx, 'probe.cleanTtl', durationMs),
    interceptedTtlMs: read(ctx, 'probe.interceptedTtl', durationMs),
    failureTtlMs: read(ctx, 'probe.failureTtl', durationMs),
    extraPublicRoots: read(ctx, 'probe.extraPublicRoots', (k, v) => filePath(ctx, k, v, true)),
    timeoutMs: read(ctx, 'probe.timeout', durationMs),
  };
}

/** Fingerprints as upper-case hex pairs joined by colons, the form `openssl x509 -fingerprint` prints. */
function fingerprint(key: string, item: string, origin: Origin): string {
  const hex = item
    .replace(/^sha256[:=]/i, '')
    .replace(/[:\s]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    fail(
      key,
      origin,
      `${JSON.stringify(item)} is not a SHA-256 fingerprint (64 hex digits, colons optional)`,
    );
  }
  return (hex.match(/../g) ?? []).join(':');
}

function compileTrust(ctx: Context): TrustConfig {
  const s = get(ctx, 'trust.fingerprints');
  return {
    fingerprints: unique(
      list('trust.fingerprints', s).map((f, i) =>
        fingerprint(`trust.fingerprints[${i}]`, f, s.origin),
      ),
    ),
    bundle: read(ctx, 'trust.bundle', (k, v) => filePath(ctx, k, v, true)),
  };
}
