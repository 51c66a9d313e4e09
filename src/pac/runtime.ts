/**
 * The live PAC script of a running daemon: first load on start (requests arriving
 * meanwhile wait for it, once), conditional re-fetch on a schedule, retry with backoff
 * after a failure, the last good script kept when a re-fetch fails or a new script does
 * not compile, and every fetch outcome reported as a reachability hint.
 */
import { createHash } from 'node:crypto';
import { asCorproxyError, CorproxyError } from '../errors.js';
import { isNetworkFailure, type FetchResult, type Validators } from './fetch.js';
import type { PacSource } from './source.js';

/** What runtime needs of a compiled script (engine.ts PacEngine). */
export interface CompiledPac {
  answer(url: string, host: string): Promise<string>;
  clearDns(): void;
  dispose(): void;
}

export interface RuntimeDeps {
  readonly now: () => number;
  readonly fetch: (source: PacSource, previous: Validators | undefined) => Promise<FetchResult>;
  readonly compile: (text: string, name: string) => Promise<CompiledPac>;
  readonly warn: (message: string) => void;
  /** Every fetch outcome: reachable = the PAC server answered (any HTTP status). */
  readonly reachability?: (epoch: number, reachable: boolean, reason: string) => void;
  /** The network epoch a fetch starts in (network.ts). */
  readonly epoch?: () => number;
  readonly setTimer?: (fn: () => void, ms: number) => () => void;
}

export interface RuntimeTimings {
  /** Between successful checks: URL re-fetch (conditional) or file stat. */
  readonly urlRefreshMs: number;
  readonly fileRefreshMs: number;
  readonly retryMinMs: number;
  readonly retryMaxMs: number;
}

export const RUNTIME_TIMINGS: RuntimeTimings = Object.freeze({
  urlRefreshMs: 5 * 60_000,
  fileRefreshMs: 5_000,
  retryMinMs: 2_000,
  retryMaxMs: 60_000,
});

export type PacState = 'loading' | 'ok' | 'stale' | 'unavailable' | 'stopped';

export interface PacStatus {
  readonly source: string;
  readonly state: PacState;
  readonly loadedAt?: string;
  readonly checkedAt?: string;
  readonly sha256?: string;
  readonly bytes?: number;
  readonly lastError?: string;
  readonly failures: number;
}

/** The outcome of asking the script about one URL. */
export type PacDecision =
  | { readonly ok: true; readonly answer: string }
  | { readonly ok: false; readonly error: CorproxyError };

function defaultTimer(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

export class PacRuntime {
  private script: CompiledPac | undefined;
  private validators: Validators | undefined;
  private inflight: Promise<boolean> | undefined;
  private firstLoad: Promise<boolean> | undefined;
  private cancelTimer: (() => void) | undefined;
  private stopped = false;
  private failures = 0;
  private lastError: string | undefined;
  private loadedAt: number | undefined;
  private checkedAt: number | undefined;
  private digest: { sha256: string; bytes: number } | undefined;

  constructor(
    readonly source: PacSource,
    private readonly deps: RuntimeDeps,
    private timings: RuntimeTimings = RUNTIME_TIMINGS,
  ) {}

  /** Changes the timings (tests); takes effect at the next schedule. */
  tune(timings: Partial<RuntimeTimings>): void {
    this.timings = { ...this.timings, ...timings };
  }

  /** Starts the first load (idempotent); later calls return the same promise. */
  start(): Promise<boolean> {
    this.firstLoad ??= this.refresh();
    return this.firstLoad;
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.script?.dispose();
    this.script = undefined;
  }

  /** Fetches now (single flight); resolves true when the PAC source answered. */
  refresh(): Promise<boolean> {
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** The network changed: forget DNS answers and look at the script again now. */
  networkChanged(): void {
    this.script?.clearDns();
    if (this.firstLoad !== undefined && !this.stopped) void this.refresh();
  }

  /** FindProxyForURL's raw answer, or undefined when no script is available. */
  async pacAnswerFor(url: string, host: string): Promise<string | undefined> {
    const decision = await this.decide(url, host);
    return decision.ok ? decision.answer : undefined;
  }

  async decide(url: string, host: string): Promise<PacDecision> {
    await this.start();
    const script = this.script;
    if (script === undefined) {
      return {
        ok: false,
        error: new CorproxyError(
          'CPX_ERR_PAC_LOAD',
          `pac: no PAC script loaded from ${this.source.display} (${this.lastError ?? 'not loaded yet'})`,
          { details: { pac: 'load' } },
        ),
      };
    }
    try {
      return { ok: true, answer: await script.answer(url, host) };
    } catch (err) {
      return { ok: false, error: asCorproxyError(err) };
    }
  }

  status(): PacStatus {
    const iso = (t: number | undefined): string | undefined =>
      t === undefined ? undefined : new Date(t).toISOString();
    const state: PacState = this.stopped
      ? 'stopped'
      : this.firstLoad === undefined || (this.script === undefined && this.failures === 0)
        ? 'loading'
        : this.script === undefined
          ? 'unavailable'
          : this.failures > 0
            ? 'stale'
            : 'ok';
    return {
      source: this.source.display,
      state,
      ...(this.loadedAt === undefined ? {} : { loadedAt: iso(this.loadedAt)! }),
      ...(this.checkedAt === undefined ? {} : { checkedAt: iso(this.checkedAt)! }),
      ...(this.digest ?? {}),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
      failures: this.failures,
    };
  }

  private async load(): Promise<boolean> {
    const epoch = this.deps.epoch?.() ?? 0;
    let reachable = true;
    try {
      const result = await this.deps.fetch(this.source, this.validators);
      this.checkedAt = this.deps.now();
      if (result.kind === 'script') await this.install(result.text, result.validators);
      this.failures = 0;
      this.lastError = undefined;
    } catch (err) {
      reachable = !isNetworkFailure(err);
      this.failures += 1;
      this.lastError = asCorproxyError(err).message;
      this.deps.warn(this.lastError);
    }
    if (this.source.kind === 'url') {
      this.deps.reachability?.(epoch, reachable, this.lastError ?? 'answered');
    }
    this.schedule();
    return reachable;
  }

  /** A script that does not compile leaves the previous one in force (and counts as a failure). */
  private async install(text: string, validators: Validators): Promise<void> {
    const next = await this.deps.compile(text, this.source.display);
    if (this.stopped) {
      next.dispose();
      return;
    }
    this.script?.dispose();
    this.script = next;
    this.validators = validators;
    this.loadedAt = this.deps.now();
    this.digest = {
      sha256: createHash('sha256').update(text).digest('hex'),
      bytes: Buffer.byteLength(text),
    };
  }

  private schedule(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.stopped || this.source.kind === 'data') return;
    const { urlRefreshMs, fileRefreshMs, retryMinMs, retryMaxMs } = this.timings;
    const delay =
      this.failures > 0
        ? Math.min(retryMaxMs, retryMinMs * 2 ** Math.min(this.failures - 1, 20))
        : this.source.kind === 'url'
          ? urlRefreshMs
          : fileRefreshMs;
    this.cancelTimer = (this.deps.setTimer ?? defaultTimer)(() => void this.refresh(), delay);
  }
}
