/**
 * What a client tool (Go's net/http, curl) does with one URL given the proxy environment
 * variables: the shared answer type of go-proxy-env.ts and curl-proxy-env.ts. Pure.
 */
import { redactUrl } from '../log/redact.js';

export type Env = Readonly<Record<string, string | undefined>>;

/** The URL a tool is asked to fetch. */
export interface ProxyTarget {
  readonly scheme: 'http' | 'https';
  /** Lower-case host (punycode), IPv6 without brackets. */
  readonly host: string;
  /** The host exactly as the user wrote it (Go compares `localhost` before lower-casing). */
  readonly rawHost: string;
  readonly port: number;
}

/** Why the tool connects the way it does. */
export type AnswerCode = 'proxy' | 'no-variable' | 'unparseable' | 'loopback' | 'no-proxy' | 'cgi';

/** One environment variable as a tool read it (value redacted). */
export interface EnvRead {
  readonly name: string;
  readonly value: string;
}

export interface ProxyAnswer {
  readonly tool: 'go' | 'curl';
  /** True when the request goes to a proxy; false for a direct connection or a failure. */
  readonly proxied: boolean;
  /** True when the tool refuses the request instead of connecting at all. */
  readonly fails: boolean;
  readonly code: AnswerCode;
  /** One sentence, e.g. `NO_PROXY entry ".corp.example" matches`. */
  readonly reason: string;
  /** The proxy URL the tool would use (credentials masked). */
  readonly proxy?: string;
  /** `scheme://host:port` with the tool's default port, to compare two tools. */
  readonly proxyKey?: string;
  /** The proxy variable the answer came from, when one was set. */
  readonly variable?: EnvRead;
  /** The NO_PROXY variable the tool read, when one was set. */
  readonly noProxy?: EnvRead;
  /** The NO_PROXY entry that sent the request direct. */
  readonly noProxyEntry?: string;
  /** Remarks worth showing (ignored NO_PROXY entries, unsupported schemes, versions). */
  readonly notes: readonly string[];
}

/** The first of `names` with a non-empty value (Go's getEnvAny; curl_getenv skips '' too). */
export function pickEnv(env: Env, names: readonly string[]): EnvRead | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

/** The variable with its value redacted, for output. */
export function shown(read: EnvRead): EnvRead {
  return { name: read.name, value: redactUrl(read.value) };
}

/** `NAME=value` with credentials masked. */
export function showVar(read: EnvRead): string {
  return `${read.name}=${redactUrl(read.value)}`;
}

/** The comparison key of a proxy: `scheme://host:port`, host lower-cased, brackets kept. */
export function proxyKey(scheme: string, hostname: string, port: number): string {
  const host = hostname.includes(':') ? `[${hostname}]` : hostname;
  return `${scheme.toLowerCase()}://${host.toLowerCase()}:${port}`;
}
