/**
 * Layer 5, CONNECT through the upstream: corproxy's own CONNECT (with that upstream's
 * credentials and the Negotiate > NTLM > Basic exchange) to each host, over the hops of
 * its route in order, failing over exactly where the daemon does. Reports the status,
 * a 407 with the schemes offered, refusals, and the scheme that got through.
 */
import { WIRE_NAME, type AuthScheme } from '../auth/schemes.js';
import type { UpstreamProxy } from '../config/types.js';
import { asCorproxyError, type CorproxyError } from '../errors.js';
import type { DialDeps } from '../proxy/dial.js';
import type { Target } from '../proxy/http1.js';
import { connectThrough, isFailoverError, type UpstreamOptions } from '../proxy/upstream.js';
import { check, type Check } from './types.js';

export interface ConnectAttempt {
  readonly upstream: UpstreamProxy;
  readonly ms: number;
  /** The scheme that got through ('none': no authentication was asked). */
  readonly scheme?: string;
  readonly error?: CorproxyError;
}

export interface ConnectDeps {
  readonly options: UpstreamOptions;
  readonly dialDeps: DialDeps;
  readonly now: () => number;
  readonly connect?: typeof connectThrough;
}

/** CONNECTs over `proxies` in order until one succeeds or fails for good. */
export async function connectProbe(
  target: Target,
  proxies: readonly UpstreamProxy[],
  deps: ConnectDeps,
): Promise<ConnectAttempt[]> {
  const connect = deps.connect ?? connectThrough;
  const attempts: ConnectAttempt[] = [];
  for (const upstream of proxies) {
    const started = deps.now();
    try {
      const { socket, scheme } = await connect(upstream, target, deps.options, deps.dialDeps);
      socket.destroy();
      attempts.push({
        upstream,
        ms: deps.now() - started,
        ...(scheme !== undefined && { scheme }),
      });
      return attempts;
    } catch (err) {
      const error = asCorproxyError(err);
      attempts.push({ upstream, ms: deps.now() - started, error });
      // The daemon fails over only when the upstream itself is unusable.
      if (!isFailoverError(error)) return attempts;
    }
  }
  return attempts;
}

const CREDENTIAL_COMMANDS = [
  'export CORPROXY_UPSTREAM_USER="$USER"',
  'read -rs CORPROXY_UPSTREAM_PASSWORD && export CORPROXY_UPSTREAM_PASSWORD',
];

function authFix(e: CorproxyError, upstream: UpstreamProxy): { fix: string; commands?: string[] } {
  if (/rejected/.test(e.message)) {
    return {
      fix: `correct the credentials corproxy sends to ${upstream.id} (upstream URL, CORPROXY_UPSTREAM_PASSWORD or the credentials file; docs/authentication.md), then restart corproxy`,
    };
  }
  if (upstream.username === undefined) {
    return {
      fix: `give corproxy a user and password for ${upstream.id}, then restart it`,
      commands: CREDENTIAL_COMMANDS,
    };
  }
  return {
    fix: `${upstream.id} wants a scheme corproxy cannot answer; see docs/authentication.md`,
  };
}

function refusedFix(status: unknown, label: string): string {
  if (status === 403) {
    return `the corporate proxy's policy refuses ${label}: ask its administrators to allow it, or add a direct rule if the host is internal`;
  }
  if (status === 502 || status === 503 || status === 504) {
    return `the upstream could not reach ${label} itself (its DNS or connect failed): check the name, or ask its administrators`;
  }
  return `the upstream refuses CONNECT to ${label}; if the port is not 443, ask for it to be allowed`;
}

function fixFor(
  e: CorproxyError,
  upstream: UpstreamProxy,
  label: string,
): { fix: string; commands?: string[] } {
  switch (e.code) {
    case 'CPX_ERR_UPSTREAM_AUTH':
      return authFix(e, upstream);
    case 'CPX_ERR_UPSTREAM_REFUSED':
      return { fix: refusedFix(e.details?.status, label) };
    case 'CPX_ERR_UPSTREAM_TIMEOUT':
      return {
        fix: `${upstream.id} accepts connections but does not answer CONNECT: is that the proxy port?`,
      };
    case 'CPX_ERR_UPSTREAM_PROTOCOL':
      return {
        fix: `${upstream.id} does not speak HTTP proxy: check the upstream port (and http:// vs https://)`,
      };
    case 'CPX_ERR_UPSTREAM_TLS':
      return {
        fix: `TLS to the https:// upstream ${upstream.id} failed: use http:// if the proxy port is plain`,
      };
    default:
      return { fix: 'see docs/errors.md for the code' };
  }
}

function attemptLine(a: ConnectAttempt): string {
  const how = a.error ? `${a.error.code}: ${a.error.message}` : `200, auth: ${a.scheme ?? 'none'}`;
  return `via ${a.upstream.display}: ${how} (${a.ms} ms)`;
}

/** The check for one host; `fallbackDirect` turns a final failure into a warning. */
export function connectCheck(
  label: string,
  attempts: readonly ConnectAttempt[],
  fallbackDirect: boolean,
): Check {
  const name = `CONNECT ${label}`;
  const evidence = attempts.map(attemptLine);
  const last = attempts.at(-1);
  if (last === undefined) return check('connect', name, 'skip', 'no upstream to try', {});
  if (last.error === undefined) {
    const wire = WIRE_NAME[last.scheme as AuthScheme] as string | undefined;
    const auth = wire === undefined ? 'no authentication asked' : `authenticated with ${wire}`;
    return check('connect', name, 'pass', `200 from ${last.upstream.id}; ${auth}`, { evidence });
  }
  const status = fallbackDirect && isFailoverError(last.error) ? 'warn' : 'fail';
  const { fix, commands } = fixFor(last.error, last.upstream, label);
  const lead = status === 'warn' ? 'every upstream failed; corproxy falls back to direct: ' : '';
  return check('connect', name, status, `${lead}${last.error.message}`, {
    evidence,
    fix,
    ...(commands && { commands }),
    code: last.error.code,
  });
}

/** A host that was not tried: its route goes direct, or no upstream could be reached. */
export function connectSkipped(label: string, why: string): Check {
  return check('connect', `CONNECT ${label}`, 'skip', why, {});
}
