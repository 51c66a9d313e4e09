/**
 * The heads the plain-HTTP fast path writes, as text for one socket write each: the
 * request sent on (the same fields as the slow path's, forward-common.ts) and the reply
 * heads relayed to the client. Header text is latin1 both ways, so every octet an origin
 * or client sent comes out as it went in. Pure.
 */
import { forwardHeaders } from './forward-common.js';
import { formatAuthority, stripHopByHop, type AbsoluteTarget, type ResponseHead } from './http1.js';
import type { RequestHead } from './request-head.js';
import type { ServerState } from './state.js';

/**
 * The request for the next hop: origin-form to an origin, absolute-form to an upstream
 * proxy (RFC 9112 §3.2.1-3.2.2); no Proxy-Authorization (the fast path only takes
 * upstreams that let corproxy through without one).
 */
export function requestText(
  state: ServerState,
  head: RequestHead,
  target: AbsoluteTarget,
  toProxy: boolean,
): string {
  const uri = toProxy ? `http://${formatAuthority(target)}${target.path}` : target.path;
  let text = `${head.method} ${uri} HTTP/1.1\r\n`;
  for (const [name, value] of forwardHeaders(state, head.rawHeaders, target)) {
    text += `${name}: ${value}\r\n`;
  }
  return `${text}\r\n`;
}

function flat(headers: ResponseHead['headers']): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) out.push(name, value);
  return out;
}

/** An interim (1xx) reply as the client gets it: hop-by-hop fields removed. */
export function interimText(head: ResponseHead): string {
  let text = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  for (const [name, value] of stripHopByHop(flat(head.headers))) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

export interface FinalHeadOptions {
  readonly instanceToken: string;
  /**
   * The body is relayed as it came (chunked, or until the server closes): its
   * Transfer-Encoding and Trailer fields describe those bytes and stay.
   */
  readonly verbatimCoding: boolean;
  /** The client connection closes after this response. */
  readonly close: boolean;
}

/**
 * The final reply head for the client: the origin's fields minus hop-by-hop ones (RFC 9110
 * §7.6.1), our Via (RFC 9110 §7.6.3) as the slow path adds it, and Connection: close when
 * the connection ends after the body (RFC 9112 §9.6).
 */
export function finalText(head: ResponseHead, options: FinalHeadOptions): string {
  let text = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
  for (const [name, value] of stripHopByHop(flat(head.headers))) text += `${name}: ${value}\r\n`;
  if (options.verbatimCoding) {
    for (const [name, value] of head.headers) {
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding' || lower === 'trailer') text += `${name}: ${value}\r\n`;
    }
  }
  text += `Via: 1.1 ${options.instanceToken}\r\n`;
  if (options.close) text += 'Connection: close\r\n';
  return `${text}\r\n`;
}
