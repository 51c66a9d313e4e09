/**
 * The PAC engine: one QuickJS sandbox (WebAssembly, no Node APIs) per script version,
 * driven by pac-resolver, with a CPU budget per run, a memory cap and corproxy's own
 * DNS-backed helpers.
 *
 * DNS without async rewriting: the helpers read a cache; on a miss the run is abandoned,
 * the missing names are resolved, and the script runs again with the answers cached.
 * PAC scripts are functions of (url, host, DNS answers, clock), so the re-run is exact;
 * the number of lookups per answer is bounded.
 */
import { performance } from 'node:perf_hooks';
import { createPacResolver, type FindProxyForURL } from 'pac-resolver';
import { QuickJS } from 'quickjs-wasi';
import { CorproxyError } from '../errors.js';
import { pacHelpers } from './helpers.js';

export interface EngineDeps {
  /** IPv4 address of a name, or null; must settle within a bounded time. */
  readonly lookup4: (host: string) => Promise<string | null>;
  readonly myIp: () => string;
  readonly alert: (message: string) => void;
  /** Wall clock for DNS answer lifetimes (the CPU budget uses a monotonic clock). */
  readonly now: () => number;
}

export interface EngineLimits {
  /** CPU time one run of the script may take (also bounds the top-level code). */
  readonly runBudgetMs: number;
  readonly memoryBytes: number;
  /** Distinct names one answer may resolve. */
  readonly maxLookups: number;
  readonly dnsTtlMs: number;
  readonly dnsMaxEntries: number;
}

export const ENGINE_LIMITS: EngineLimits = Object.freeze({
  runBudgetMs: 1000,
  memoryBytes: 32 * 1024 * 1024,
  maxLookups: 16,
  dnsTtlMs: 60_000,
  dnsMaxEntries: 2048,
});

/** Errors of the script itself; `details.pac` tells compile from run. */
function pacError(stage: 'compile' | 'run', what: string, cause?: unknown): CorproxyError {
  const text = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause ?? '');
  return new CorproxyError(
    'CPX_ERR_PAC_EVAL',
    `pac: ${what}${text === '' ? '' : ` (${text.split('\n')[0]})`}`,
    { cause, details: { pac: stage } },
  );
}

/** A small TTL cache of IPv4 answers (null = does not resolve). */
class DnsCache {
  private readonly entries = new Map<string, { ip: string | null; until: number }>();

  constructor(
    private readonly limits: EngineLimits,
    private readonly now: () => number,
  ) {}

  get(host: string): string | null | undefined {
    const hit = this.entries.get(host);
    if (hit === undefined) return undefined;
    if (hit.until > this.now()) return hit.ip;
    this.entries.delete(host);
    return undefined;
  }

  set(host: string, ip: string | null): void {
    this.entries.delete(host);
    if (this.entries.size >= this.limits.dnsMaxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(host, { ip, until: this.now() + this.limits.dnsTtlMs });
  }

  clear(): void {
    this.entries.clear();
  }
}

/** When the current run must stop (performance.now() ms); 0 = no run in progress. */
interface Budget {
  deadline: number;
}

export class PacEngine {
  private missing: Set<string> | undefined;
  private inflight = 0;
  private disposeWhenIdle = false;
  private disposed = false;
  private findProxy: FindProxyForURL | undefined;
  private readonly dns: DnsCache;

  private constructor(
    private readonly budget: Budget,
    private readonly vm: QuickJS,
    private readonly deps: EngineDeps,
    private readonly limits: EngineLimits,
  ) {
    this.dns = new DnsCache(limits, deps.now);
  }

  /** Compiles a script; throws CPX_ERR_PAC_EVAL (details.pac = 'compile'). */
  static async compile(
    script: string,
    name: string,
    deps: EngineDeps,
    limits: EngineLimits = ENGINE_LIMITS,
  ): Promise<PacEngine> {
    const budget: Budget = { deadline: 0 };
    const vm = await QuickJS.create({
      memoryLimit: limits.memoryBytes,
      interruptHandler: () => budget.deadline > 0 && performance.now() > budget.deadline,
    });
    const engine = new PacEngine(budget, vm, deps, limits);
    budget.deadline = performance.now() + limits.runBudgetMs;
    try {
      const helpers = pacHelpers({
        resolve: (host) => engine.resolveCached(host),
        myIp: deps.myIp,
        alert: deps.alert,
      });
      engine.findProxy = createPacResolver(vm, script, { filename: name, sandbox: helpers });
    } catch (err) {
      vm.dispose();
      throw pacError(
        'compile',
        `the script from ${name} does not define a usable FindProxyForURL`,
        err,
      );
    } finally {
      budget.deadline = 0;
    }
    return engine;
  }

  private resolveCached(host: string): string | null {
    const hit = this.dns.get(host);
    if (hit !== undefined) return hit;
    if (this.missing === undefined) return null;
    this.missing.add(host);
    throw new Error(`corproxy: ${host} not resolved yet`);
  }

  /** Runs the script once; resolves to the missing names, or the result. */
  private async runOnce(
    url: string,
    host: string,
  ): Promise<{ missing: Set<string>; result?: unknown; error?: unknown }> {
    const missing = new Set<string>();
    this.missing = missing;
    this.budget.deadline = performance.now() + this.limits.runBudgetMs;
    let pending: Promise<string>;
    try {
      // The script runs to completion inside this call: every helper is synchronous.
      pending = this.findProxy!(url, host);
    } catch (error) {
      return { missing, error };
    } finally {
      this.missing = undefined;
      this.budget.deadline = 0;
    }
    try {
      return { missing, result: await pending };
    } catch (error) {
      return { missing, error };
    }
  }

  /** FindProxyForURL(url, host) as a string; throws CPX_ERR_PAC_EVAL (details.pac = 'run'). */
  async answer(url: string, host: string): Promise<string> {
    if (this.disposed) throw pacError('run', 'the PAC script was replaced or stopped');
    this.inflight += 1;
    try {
      let lookups = 0;
      for (;;) {
        const run = await this.runOnce(url, host);
        if (run.missing.size === 0) {
          if (run.error !== undefined)
            throw pacError('run', `FindProxyForURL failed for ${host}`, run.error);
          if (typeof run.result !== 'string') {
            throw pacError(
              'run',
              `FindProxyForURL returned ${typeof run.result}, not a string, for ${host}`,
            );
          }
          return run.result;
        }
        lookups += run.missing.size;
        if (lookups > this.limits.maxLookups) {
          throw pacError(
            'run',
            `FindProxyForURL resolved more than ${this.limits.maxLookups} names for ${host}`,
          );
        }
        await Promise.all(
          [...run.missing].map(async (name) => this.dns.set(name, await this.deps.lookup4(name))),
        );
      }
    } finally {
      this.inflight -= 1;
      if (this.disposeWhenIdle && this.inflight === 0) this.dispose();
    }
  }

  /** Forget DNS answers (the network changed). */
  clearDns(): void {
    this.dns.clear();
  }

  /** Frees the sandbox once no answer is being computed. */
  dispose(): void {
    if (this.inflight > 0) {
      this.disposeWhenIdle = true;
      return;
    }
    if (this.disposed) return;
    this.disposed = true;
    this.findProxy = undefined;
    this.vm.dispose();
  }
}
