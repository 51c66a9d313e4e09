/**
 * Layers 3-5 over corproxy's route plans, in this process: DNS of every upstream on a
 * plan (and of targets routed direct), TCP to them, then CONNECT to each host. An
 * upstream that fails is a FAIL only when some host has no other hop left (otherwise
 * corproxy fails over: WARN). A host whose route is dead is marked blocked, so layers 6
 * and 7 skip it instead of repeating the same failure.
 */
import type { UpstreamProxy } from '../config/types.js';
import type { CorproxyError } from '../errors.js';
import type { RoutePlan } from '../pac/plan.js';
import type { DialDeps } from '../proxy/dial.js';
import type { connectThrough } from '../proxy/upstream.js';
import { connectCheck, connectProbe, connectSkipped } from './layer-connect.js';
import { dnsCheck, resolveName, resolvedUpstreamCheck, type DnsFact } from './layer-dns.js';
import { tcpCheck, tcpProbe, tcpSkipped, type TcpFact } from './layer-tcp.js';
import { hostLabel, type GoHost } from './targets.js';
import { check, layerNumber, type Check, type LayerId } from './types.js';

/** A host go contacts, with corproxy's plan for it (none when planning failed). */
export interface PlannedHost {
  readonly host: GoHost;
  readonly plan?: RoutePlan;
  /** Why no plan could be made (a PAC answer naming nothing usable, say). */
  readonly error?: CorproxyError;
}

export interface NetworkDeps {
  readonly hosts: Readonly<Record<string, string>>;
  readonly connectTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly maxHeaderSize: number;
  readonly dialDeps: DialDeps;
  readonly now: () => number;
  readonly connect?: typeof connectThrough;
}

/** A failure on a host go may never contact is a warning, and blocks nothing. */
export function soften(row: Check, host: GoHost): Check {
  if (row.status !== 'fail' || host.optional === undefined) return row;
  return { ...row, status: 'warn', evidence: [...row.evidence, host.optional] };
}

/** host:port → why later layers skip it. */
export type Blocked = Map<string, string>;

/** Marks a host that later layers skip, keeping the first reason. */
export function block(blocked: Blocked, label: string, layer: LayerId, what: string): void {
  if (!blocked.has(label))
    blocked.set(label, `${what} failed for ${label} (layer ${layerNumber(layer)})`);
}

function upstreamsOf(planned: readonly PlannedHost[]): UpstreamProxy[] {
  const seen = new Map<string, UpstreamProxy>();
  for (const p of planned) {
    for (const hop of p.plan?.hops ?? [])
      if (hop.kind === 'upstream' && !seen.has(hop.id)) seen.set(hop.id, hop.proxy);
  }
  return [...seen.values()];
}

const firstIsDirect = (p: PlannedHost): boolean => p.plan?.hops[0]?.kind === 'direct';

interface Facts {
  readonly upDns: Map<string, DnsFact>;
  readonly upTcp: Map<string, TcpFact>;
  readonly targetDns: Map<string, DnsFact>;
  readonly targetTcp: Map<string, TcpFact>;
}

async function gather(planned: readonly PlannedHost[], deps: NetworkDeps): Promise<Facts> {
  const dnsDeps = {
    hosts: deps.hosts,
    timeoutMs: deps.connectTimeoutMs,
    now: deps.now,
    ...(deps.dialDeps.lookup && { lookup: deps.dialDeps.lookup }),
  };
  const tcpDeps = {
    hosts: deps.hosts,
    timeoutMs: deps.connectTimeoutMs,
    dialDeps: deps.dialDeps,
    now: deps.now,
  };
  const facts: Facts = {
    upDns: new Map(),
    upTcp: new Map(),
    targetDns: new Map(),
    targetTcp: new Map(),
  };
  for (const u of upstreamsOf(planned)) {
    const dns = await resolveName(u.host, dnsDeps);
    facts.upDns.set(u.id, dns);
    if (dns.error === undefined)
      facts.upTcp.set(u.id, await tcpProbe({ host: u.host, port: u.port }, 'upstream', tcpDeps));
  }
  for (const p of planned.filter(firstIsDirect)) {
    const label = hostLabel(p.host);
    const dns = await resolveName(p.host.target.host, dnsDeps);
    facts.targetDns.set(label, dns);
    if (dns.error === undefined)
      facts.targetTcp.set(label, await tcpProbe(p.host.target, 'target', tcpDeps));
  }
  return facts;
}

function upOk(facts: Facts, id: string): boolean {
  return facts.upDns.get(id)?.error === undefined && facts.upTcp.get(id)?.error === undefined;
}

/** Some hop of the plan is alive (or corproxy would fall back to direct). */
function alive(p: PlannedHost, facts: Facts): boolean {
  const label = hostLabel(p.host);
  const directOk =
    facts.targetDns.get(label)?.error === undefined &&
    facts.targetTcp.get(label)?.error === undefined;
  return (
    (p.plan?.fallbackDirect ?? false) ||
    (p.plan?.hops ?? []).some((h) => (h.kind === 'direct' ? directOk : upOk(facts, h.id)))
  );
}

/** FAIL when some host that uses `id` has nothing else left; WARN otherwise. */
function severity(planned: readonly PlannedHost[], facts: Facts, id: string): 'fail' | 'warn' {
  const users = planned.filter(
    (p) => p.host.optional === undefined && p.plan?.hops.some((h) => h.id === id),
  );
  return users.some((p) => !alive(p, facts)) ? 'fail' : 'warn';
}

function dnsAndTcp(planned: readonly PlannedHost[], facts: Facts): { dns: Check[]; tcp: Check[] } {
  const dns: Check[] = [];
  const tcp: Check[] = [];
  for (const u of upstreamsOf(planned)) {
    const sev = severity(planned, facts, u.id);
    const d = facts.upDns.get(u.id) as DnsFact;
    dns.push(dnsCheck(d, 'upstream', sev));
    const t = facts.upTcp.get(u.id);
    tcp.push(
      t
        ? tcpCheck(t, u.id, sev)
        : tcpSkipped('upstream', u.id, `${u.host} does not resolve (layer 3)`),
    );
  }
  for (const p of planned) {
    const label = hostLabel(p.host);
    const d = facts.targetDns.get(label);
    if (d === undefined) {
      const first = p.plan?.hops.find((h) => h.kind === 'upstream');
      if (first?.kind === 'upstream')
        dns.push(resolvedUpstreamCheck(p.host.target.host, first.proxy.id));
      continue;
    }
    dns.push(soften(dnsCheck(d, 'target'), p.host));
    const t = facts.targetTcp.get(label);
    const why = `${d.name} does not resolve (layer 3)`;
    tcp.push(t ? soften(tcpCheck(t, label), p.host) : tcpSkipped('target', label, why));
  }
  return { dns, tcp };
}

async function connectRows(
  planned: readonly PlannedHost[],
  facts: Facts,
  deps: NetworkDeps,
  blocked: Blocked,
): Promise<Check[]> {
  const rows: Check[] = [];
  const options = {
    connectTimeoutMs: deps.connectTimeoutMs,
    keepAliveMs: deps.keepAliveMs,
    maxHeaderSize: deps.maxHeaderSize,
    hosts: deps.hosts,
  };
  for (const p of planned) {
    const label = hostLabel(p.host);
    // Layer 7 still tries a host go may never contact, and says what go really does.
    const stop = (layer: LayerId, what: string): void =>
      p.host.optional === undefined ? block(blocked, label, layer, what) : undefined;
    if (p.plan === undefined) {
      stop('corproxy', 'routing');
      rows.push(connectSkipped(label, 'no route (layer 2)'));
      continue;
    }
    if (firstIsDirect(p)) {
      if (!alive(p, facts)) {
        stop(facts.targetDns.get(label)?.error ? 'dns' : 'tcp', 'connecting directly');
      }
      rows.push(connectSkipped(label, `direct route (${p.plan.rule}): no CONNECT`));
      continue;
    }
    const usable = p.plan.hops.flatMap((h) =>
      h.kind === 'upstream' && upOk(facts, h.id) ? [h.proxy] : [],
    );
    if (usable.length === 0) {
      stop('tcp', 'reaching the upstream');
      rows.push(connectSkipped(label, 'no upstream on its route is reachable (layers 3-4)'));
      continue;
    }
    const attempts = await connectProbe(p.host.target, usable, {
      options,
      dialDeps: deps.dialDeps,
      now: deps.now,
      ...(deps.connect && { connect: deps.connect }),
    });
    let row = soften(connectCheck(label, attempts, p.plan.fallbackDirect), p.host);
    if (
      row.status === 'fail' &&
      p.host.scheme === 'http' &&
      row.code === 'CPX_ERR_UPSTREAM_REFUSED'
    ) {
      // Plain-HTTP requests are forwarded in absolute form, never tunnelled: a refused
      // CONNECT to port 80 says little about them.
      row = {
        ...row,
        status: 'warn',
        evidence: [...row.evidence, 'corproxy forwards plain-HTTP requests without CONNECT'],
      };
    }
    if (row.status === 'fail') stop('connect', 'CONNECT');
    rows.push(row);
  }
  return rows;
}

/** Layers 3, 4 and 5, in order; `blocked` collects the hosts later layers must skip. */
export async function networkLayers(
  planned: readonly PlannedHost[],
  deps: NetworkDeps,
  blocked: Blocked,
): Promise<Check[]> {
  if (planned.length === 0) {
    const none = 'go contacts no host through corproxy (loopback only)';
    return [
      check('dns', 'DNS', 'skip', none),
      check('tcp', 'TCP', 'skip', none),
      check('connect', 'CONNECT', 'skip', none),
    ];
  }
  const facts = await gather(planned, deps);
  const { dns, tcp } = dnsAndTcp(planned, facts);
  return [...dns, ...tcp, ...(await connectRows(planned, facts, deps, blocked))];
}
