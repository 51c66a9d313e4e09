/**
 * Layer 4, TCP: a plain connect to each upstream on the route (or to the target itself
 * when the route is direct) with corproxy's dialer, `hosts` map, resolver and connect
 * timeout; the socket is closed at once. TLS to an https:// upstream is part of layer 5.
 */
import { CorproxyError, asCorproxyError } from '../errors.js';
import { dial, type DialDeps } from '../proxy/dial.js';
import { formatAuthority, type Target } from '../proxy/http1.js';
import { check, type Check, type Status } from './types.js';

export interface TcpFact {
  readonly target: Target;
  readonly side: 'upstream' | 'target';
  readonly ms: number;
  readonly error?: CorproxyError;
}

export interface TcpDeps {
  readonly hosts: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly dialDeps: DialDeps;
  readonly now: () => number;
}

/** Connects and closes; never throws. */
export async function tcpProbe(
  target: Target,
  side: TcpFact['side'],
  deps: TcpDeps,
): Promise<TcpFact> {
  const started = deps.now();
  try {
    const socket = await dial(
      {
        ...target,
        timeoutMs: deps.timeoutMs,
        keepAliveMs: deps.timeoutMs,
        hosts: deps.hosts,
        side,
      },
      deps.dialDeps,
    );
    socket.destroy();
    return { target, side, ms: deps.now() - started };
  } catch (err) {
    return { target, side, ms: deps.now() - started, error: asCorproxyError(err) };
  }
}

function fixFor(code: string, side: TcpFact['side']): string {
  const who = side === 'upstream' ? 'the upstream proxy' : 'the target';
  switch (code) {
    case 'CPX_ERR_UPSTREAM_TIMEOUT':
    case 'CPX_ERR_TARGET_TIMEOUT':
      return `nothing answers: a firewall drops the packets, or ${who} is down (VPN connected?)`;
    case 'CPX_ERR_UPSTREAM_UNREACHABLE':
    case 'CPX_ERR_TARGET_REFUSED':
      return `nothing listens there: check the host and port of ${who}`;
    case 'CPX_ERR_TARGET_UNREACHABLE':
      return 'no network route: check the network connection and VPN';
    default:
      return `check the address of ${who}`;
  }
}

/** The check for one connect; `failStatus` is warn when another hop can serve. */
export function tcpCheck(fact: TcpFact, label: string, failStatus: Status = 'fail'): Check {
  const name = `TCP ${fact.side} ${label}`;
  if (fact.error === undefined) {
    return check(
      'tcp',
      name,
      'pass',
      `connected to ${formatAuthority(fact.target)} in ${fact.ms} ms`,
      {},
    );
  }
  return check('tcp', name, failStatus, fact.error.message, {
    evidence: [`after ${fact.ms} ms`],
    fix: fixFor(fact.error.code, fact.side),
    code: fact.error.code,
  });
}

/** A hop that was not dialled because its name did not resolve. */
export function tcpSkipped(side: TcpFact['side'], label: string, why: string): Check {
  return check('tcp', `TCP ${side} ${label}`, 'skip', why, {});
}
