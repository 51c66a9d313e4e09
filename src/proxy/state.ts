/**
 * The daemon's shared state, handed to every handler. The config and the compiled
 * routes are replaced as a whole on reload; a connection keeps what it started with.
 * So is the bad-proxy list when the network changes (src/pac/network.ts): attempts that
 * started before the change mark proxies bad on the old list, which nobody reads any more.
 */
import type { Mirror } from '../mirror/index.js';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import type { Config } from '../config/types.js';
import type { ConnectionRecord, RouteKind, TlsSummary } from '../events.js';
import { Metrics } from '../metrics.js';
import { interfacesFingerprint } from '../pac/helpers.js';
import { createPacRuntime, type PacRuntime } from '../pac/index.js';
import { NetworkMonitor, type NetworkChange } from '../pac/network.js';
import { probeNetwork } from '../pac/probe.js';
import { compileRoutes, type Routes } from '../route/router.js';
import { BadProxyList } from './bad-proxies.js';
import type { DialDeps } from './dial.js';
import type { Target } from './http1.js';

/** What the daemon writes connection records and warnings to (src/log/connection-log.ts). */
export interface RecordSink {
  write(record: ConnectionRecord): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface Hooks {
  /** The first bytes a client sent into a tunnel (interception probing starts here). */
  onTunnelClientBytes?(
    target: Target,
    route: RouteKind,
    upstreamId: string | undefined,
    chunk: Buffer,
  ): void;
  /** The interception verdict known for a tunnel's route and target, for its log record. */
  tlsFor?(target: Target, route: RouteKind, upstreamId: string | undefined): TlsSummary | undefined;
  /** Extra sections for /status (interception verdicts, bundle state). */
  statusExtras?(): Record<string, unknown>;
}

export class ServerState {
  config: Config;
  routes: Routes;
  badProxies: BadProxyList;
  readonly metrics = new Metrics();
  readonly instanceToken = `corproxy-${randomBytes(4).toString('hex')}`;
  readonly startedAt: number;
  /** host:port strings of the bound listeners, filled in by the server. */
  readonly listening: Array<{ host: string; port: number }> = [];
  hooks: Hooks = {};
  /** The Go module mirror under /mod/, when mirror.enabled (src/proxy/mirror-route.ts). */
  mirror: Mirror | undefined;
  /** The corporate PAC script, when `pac` is configured. */
  pac: PacRuntime | undefined;
  /** Whether the corporate network is reachable (off-network fallback). */
  readonly network: NetworkMonitor;
  private lastId = 0;
  private allowList: net.BlockList;

  constructor(
    config: Config,
    readonly sink: RecordSink,
    readonly dialDeps: DialDeps,
    readonly clock: () => number,
    readonly version: string,
  ) {
    this.config = config;
    this.routes = compileConfigRoutes(config);
    this.badProxies = new BadProxyList(config.limits.badProxyMs, clock);
    this.allowList = compileAllow(config.allow);
    this.startedAt = clock();
    this.network = new NetworkMonitor({
      now: clock,
      probe: (targets) =>
        probeNetwork(targets, {
          dialDeps: this.dialDeps,
          hosts: this.config.hosts,
          timeoutMs: Math.min(this.config.limits.connectTimeoutMs, 5000),
          ...(this.pac?.source.kind === 'url' ? { refreshPac: () => this.pac!.refresh() } : {}),
        }),
      interfaces: () => interfacesFingerprint(os.networkInterfaces()),
      onChange: (change) => this.networkChanged(change),
    });
    this.network.start();
    this.pac = this.startPac(config);
  }

  /** Stops the PAC refresh and the network loop (serve's shutdown, test teardown). */
  stopBackground(): void {
    this.network.stop();
    this.pac?.stop();
  }

  private startPac(config: Config): PacRuntime | undefined {
    const runtime = createPacRuntime(config, {
      dialDeps: this.dialDeps,
      now: this.clock,
      warn: (message) => this.sink.warn(message),
      reachability: (epoch, reachable, reason) => this.network.pacResult(epoch, reachable, reason),
      epoch: () => this.network.epoch,
    });
    void runtime?.start();
    return runtime;
  }

  private networkChanged(change: NetworkChange): void {
    if (change.state === 'on') {
      // One assignment: every attempt from now on sees the empty list (alpaca#183).
      this.badProxies = new BadProxyList(this.config.limits.badProxyMs, this.clock);
      this.pac?.networkChanged();
    }
    const what =
      change.state === 'off'
        ? `off the corporate network (${change.reason}); fallback: ${this.config.fallback}`
        : `corporate network reachable (${change.reason}); bad-proxy list cleared`;
    this.sink.warn(what, { network: change.state, epoch: change.epoch });
  }

  nextId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  /** Swaps in a new config; the bad-proxy list survives unless its hold time changed. */
  reload(config: Config): void {
    if (config.pac !== this.config.pac) {
      this.pac?.stop();
      this.pac = this.startPac(config);
    }
    this.routes = compileConfigRoutes(config);
    this.allowList = compileAllow(config.allow);
    if (config.limits.badProxyMs !== this.config.limits.badProxyMs) {
      this.badProxies = new BadProxyList(config.limits.badProxyMs, this.clock);
    }
    this.config = config;
  }

  /** Loopback clients are always allowed; others only inside `allow`. */
  clientAllowed(address: string | undefined): boolean {
    if (address === undefined) return false;
    const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (isLoopback(plain)) return true;
    return this.allowList.check(plain, net.isIP(plain) === 6 ? 'ipv6' : 'ipv4');
  }

  /** A CONNECT or request to one of our own listeners would loop (508). */
  isSelf(target: Target): boolean {
    return this.listening.some(
      (l) =>
        l.port === target.port &&
        (l.host === target.host ||
          target.host === 'localhost' ||
          isLoopback(target.host) ||
          l.host === '0.0.0.0' ||
          l.host === '::'),
    );
  }
}

export function isLoopback(host: string): boolean {
  return host === '::1' || (net.isIP(host) === 4 && host.startsWith('127.'));
}

function compileConfigRoutes(config: Config): Routes {
  return compileRoutes({
    direct: config.direct,
    directModules: config.directModules,
    hasUpstreams: config.upstreams.length > 0,
    hasPac: config.pac !== '',
  });
}

function compileAllow(allow: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of allow) {
    const [addr, bits] = entry.split('/');
    const type = net.isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}
