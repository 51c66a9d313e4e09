/**
 * "Is the corporate network reachable?" One small state machine fed by what connections
 * see (proxy connect failures and successes, PAC fetch results) and by a background
 * probe, so that off the corporate network every request can go straight to the
 * fallback instead of each waiting out a connect timeout (proxydetox#448).
 *
 * Races after a network change (alpaca#8, #127, #183) are avoided with an epoch: every
 * attempt captures the epoch when it starts, and failures reported under an older epoch
 * are ignored; the bad-proxy list is replaced as a whole when the network comes back.
 * Pure apart from the timer in start(); the clock and the probe are injected.
 */

export interface ProbeTarget {
  /** host:port, as the bad-proxy list keys it. */
  readonly id: string;
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
}

/** What a background probe found; undefined = nothing of that kind to probe. */
export interface ProbeResult {
  readonly proxies: boolean | undefined;
  readonly pac: boolean | undefined;
}

export interface NetworkChange {
  readonly state: 'on' | 'off';
  readonly epoch: number;
  readonly reason: string;
}

export interface MonitorDeps {
  readonly now: () => number;
  /** Tries the given proxies (and the PAC server); must settle in bounded time. */
  readonly probe: (targets: readonly ProbeTarget[]) => Promise<ProbeResult>;
  /** Fingerprint of the machine's addresses; a change means a new network. */
  readonly interfaces?: () => string;
  readonly onChange: (change: NetworkChange) => void;
}

export interface MonitorOptions {
  /** Proxy results older than this are forgotten. */
  readonly windowMs: number;
  /** How often the background loop runs (probe while off, interface check always). */
  readonly tickMs: number;
  /** Proxies remembered for probing. */
  readonly maxKnown: number;
}

export const MONITOR_DEFAULTS: MonitorOptions = Object.freeze({
  windowMs: 60_000,
  tickMs: 5_000,
  maxKnown: 16,
});

interface Health {
  readonly target: ProbeTarget;
  /** The latest outcome and when it was seen. */
  last: 'failure' | 'success' | 'unknown';
  at: number;
  reason?: string;
}

export interface NetworkStatus {
  readonly state: 'on' | 'off';
  readonly since: number;
  readonly reason: string;
  readonly epoch: number;
  readonly probing: boolean;
  readonly lastProbeAt?: number;
}

export class NetworkMonitor {
  epoch = 0;
  private state: 'on' | 'off' = 'on';
  private since: number;
  private reason = 'no failure seen';
  private readonly health = new Map<string, Health>();
  private pacDown: string | undefined;
  private probing = false;
  private lastProbeAt: number | undefined;
  private fingerprint: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: MonitorDeps,
    private options: MonitorOptions = MONITOR_DEFAULTS,
  ) {
    this.since = deps.now();
    this.fingerprint = this.readInterfaces();
  }

  /** Changes the timings (tests use short ones); restarts the loop if it runs. */
  tune(options: Partial<MonitorOptions>): void {
    this.options = { ...this.options, ...options };
    if (this.timer !== undefined) {
      this.stop();
      this.start();
    }
  }

  isOff(): boolean {
    return this.state === 'off';
  }

  status(): NetworkStatus {
    return {
      state: this.state,
      since: this.since,
      reason: this.reason,
      epoch: this.epoch,
      probing: this.probing,
      ...(this.lastProbeAt === undefined ? {} : { lastProbeAt: this.lastProbeAt }),
    };
  }

  /** A proxy answered (any HTTP reply counts: it is reachable). */
  proxyReachable(target: ProbeTarget): void {
    const h = this.remember(target);
    h.last = 'success';
    h.at = this.deps.now();
    if (this.state === 'off') this.backOn(`upstream ${target.id} answered`);
  }

  /** A proxy failed at the connection level during an attempt started in `epoch`. */
  proxyFailed(epoch: number, target: ProbeTarget, reason: string): void {
    if (epoch !== this.epoch) return;
    const h = this.remember(target);
    h.last = 'failure';
    h.at = this.deps.now();
    h.reason = reason;
  }

  /**
   * An attempt started in `epoch` found every proxy it could use failing. Only then is
   * the network judged: one dead proxy among several is the bad-proxy list's business.
   */
  attemptFailed(epoch: number): void {
    if (epoch !== this.epoch) return;
    this.recompute();
  }

  /** The PAC server could (not) be reached by a fetch started in `epoch`. */
  pacResult(epoch: number, reachable: boolean, reason: string): void {
    if (epoch !== this.epoch) return;
    if (reachable) {
      this.pacDown = undefined;
      if (this.state === 'off' && !this.allProxiesFailed()) this.backOn('PAC server answered');
      return;
    }
    this.pacDown = reason;
    this.recompute();
  }

  /** One step of the background loop: notice new networks, probe while off. */
  async tick(): Promise<void> {
    const fingerprint = this.readInterfaces();
    if (fingerprint !== undefined && this.fingerprint === undefined) this.fingerprint = fingerprint;
    else if (fingerprint !== undefined && fingerprint !== this.fingerprint) {
      this.fingerprint = fingerprint;
      this.newNetwork();
    }
    if (this.state === 'off') await this.probeOnce();
  }

  /**
   * The interfaces' fingerprint, or undefined when they cannot be read now: with every
   * file descriptor in use, os.networkInterfaces() throws EMFILE, and that must cost one
   * tick, not the daemon (it runs in a timer, where a throw is fatal).
   */
  private readInterfaces(): string | undefined {
    try {
      return this.deps.interfaces?.();
    } catch {
      return undefined;
    }
  }

  start(): void {
    if (this.timer !== undefined) return;
    // A probe that throws (no fd left for its socket, say) is a probe that did not reach
    // the network; in a timer, an unhandled rejection would end the daemon.
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.options.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private remember(target: ProbeTarget): Health {
    let h = this.health.get(target.id);
    if (h === undefined) {
      h = { target, last: 'unknown', at: this.deps.now() };
      if (this.health.size >= this.options.maxKnown) {
        const oldest = this.health.keys().next().value;
        if (oldest !== undefined) this.health.delete(oldest);
      }
    } else {
      this.health.delete(target.id);
    }
    this.health.set(target.id, h);
    return h;
  }

  private recent(): Health[] {
    const cutoff = this.deps.now() - this.options.windowMs;
    return [...this.health.values()].filter((h) => h.last !== 'unknown' && h.at >= cutoff);
  }

  private allProxiesFailed(): boolean {
    const recent = this.recent();
    return recent.length > 0 && recent.every((h) => h.last === 'failure');
  }

  /** Off is sticky: only a success, a probe or a new network turns it back on. */
  private recompute(): void {
    if (this.state === 'off') return;
    if (this.pacDown !== undefined) return this.goOff(`PAC server unreachable: ${this.pacDown}`);
    if (this.allProxiesFailed()) {
      const ids = this.recent().map((h) => `${h.target.id} (${h.reason ?? 'failed'})`);
      this.goOff(`every upstream failed: ${ids.join(', ')}`);
    }
  }

  private goOff(reason: string): void {
    this.state = 'off';
    this.since = this.deps.now();
    this.reason = reason;
    this.deps.onChange({ state: 'off', epoch: this.epoch, reason });
  }

  private backOn(reason: string): void {
    this.epoch += 1;
    this.state = 'on';
    this.since = this.deps.now();
    this.reason = reason;
    this.pacDown = undefined;
    for (const h of this.health.values()) {
      if (h.last === 'failure') h.last = 'unknown';
      delete h.reason;
    }
    this.deps.onChange({ state: 'on', epoch: this.epoch, reason });
  }

  /** New addresses: old failures say nothing about this network. */
  private newNetwork(): void {
    if (this.state === 'off') {
      this.reason = `${this.reason}; network interfaces changed, probing`;
      return;
    }
    this.backOn('network interfaces changed');
  }

  private async probeOnce(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const epoch = this.epoch;
    try {
      const targets = [...this.health.values()].map((h) => h.target).reverse();
      const found = await this.deps.probe(targets);
      this.lastProbeAt = this.deps.now();
      const anything = found.proxies !== undefined || found.pac !== undefined;
      const ok = anything && (found.proxies ?? true) && (found.pac ?? true);
      if (ok && this.state === 'off' && epoch === this.epoch)
        this.backOn('background probe reached the corporate network');
    } finally {
      this.probing = false;
    }
  }
}
