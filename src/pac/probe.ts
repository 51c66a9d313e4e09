/**
 * The background reachability probe used while off the corporate network: a TCP connect
 * to each remembered proxy, closed at once (no TLS: a certificate problem still means
 * the proxy is there), plus a conditional re-fetch of the PAC URL. Nothing is sent
 * through the proxies.
 */
import { dial, type DialDeps } from '../proxy/dial.js';
import type { ProbeResult, ProbeTarget } from './network.js';

export interface ProbeDeps {
  readonly dialDeps: DialDeps;
  readonly hosts: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Re-fetches the PAC URL; resolves true when its server answered. Absent without a PAC URL. */
  readonly refreshPac?: () => Promise<boolean>;
}

/** Proxies probed per round, most recently used first. */
export const MAX_PROBED = 4;

async function reachable(target: ProbeTarget, deps: ProbeDeps): Promise<boolean> {
  try {
    const socket = await dial(
      {
        host: target.host,
        port: target.port,
        timeoutMs: deps.timeoutMs,
        keepAliveMs: deps.timeoutMs,
        hosts: deps.hosts,
        side: 'upstream',
      },
      deps.dialDeps,
    );
    socket.destroy();
    return true;
  } catch {
    return false;
  }
}

export async function probeNetwork(
  targets: readonly ProbeTarget[],
  deps: ProbeDeps,
): Promise<ProbeResult> {
  const picked = targets.slice(0, MAX_PROBED);
  const [proxies, pac] = await Promise.all([
    picked.length === 0
      ? Promise.resolve(undefined)
      : Promise.all(picked.map((t) => reachable(t, deps))).then((r) => r.some(Boolean)),
    deps.refreshPac === undefined ? Promise.resolve(undefined) : deps.refreshPac(),
  ]);
  return { proxies, pac };
}
