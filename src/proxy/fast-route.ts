/**
 * Where a fast-path request goes (decided before any I/O by fast-forward.ts) and the
 * errors that name its next hop, worded and coded as the slow path (forward.ts) words
 * and codes them, so that a client and the log cannot tell which path failed.
 */
import { CorproxyError } from '../errors.js';
import { dialError } from './dial.js';
import type { Hop } from './forward-common.js';
import { formatAuthority, type AbsoluteTarget } from './http1.js';

export interface FastRoute {
  readonly target: AbsoluteTarget;
  readonly hop: Hop;
  readonly rule: string;
  /** The pool key of the next hop (fast-pool.ts). */
  readonly key: string;
}

/** What Node's HTTP client reports for a server that closed before its reply. */
function hangUp(): NodeJS.ErrnoException {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

export class HopErrors {
  readonly side: 'target' | 'upstream';
  /** host:port of the origin or upstream, as ResponseHeadReader and dialError name it. */
  readonly who: string;

  constructor(route: FastRoute) {
    const { hop } = route;
    this.side = hop.kind === 'upstream' ? 'upstream' : 'target';
    this.who = hop.kind === 'upstream' ? hop.proxy.id : formatAuthority(route.target);
  }

  private label(): string {
    return this.side === 'upstream' ? `upstream ${this.who}` : this.who;
  }

  /** A reply that breaks HTTP/1.1. */
  protocol(what: string): CorproxyError {
    const code = this.side === 'upstream' ? 'CPX_ERR_UPSTREAM_PROTOCOL' : 'CPX_ERR_TARGET_PROTOCOL';
    return new CorproxyError(code, `${this.label()} ${what}`);
  }

  /** limits.idleTimeoutMs passed without a reply head (as forward.ts send()) or body bytes. */
  timeout(ms: number, waitingFor: 'response' | 'data'): CorproxyError {
    const code = this.side === 'upstream' ? 'CPX_ERR_UPSTREAM_TIMEOUT' : 'CPX_ERR_TARGET_TIMEOUT';
    return new CorproxyError(code, `${this.label()}: no ${waitingFor} within ${ms} ms`);
  }

  /** The connection broke with `err`, or (undefined) the server closed it before replying. */
  lost(err: unknown): CorproxyError {
    return dialError(err ?? hangUp(), this.side, this.who);
  }
}
