/**
 * The "why" lines of `corproxy explain`: why curl's answer differs from Go's, and when
 * Go would bypass corproxy or use another proxy. Pure.
 */
import type { CorproxyRoute, ToolAnswer } from './explain.js';
import { formatEndpoint, type Endpoint } from './endpoint.js';
import type { ExplainTarget } from './explain-target.js';

export interface NotesInput {
  readonly target: ExplainTarget;
  readonly corproxy: CorproxyRoute;
  readonly go: ToolAnswer;
  readonly curl: ToolAnswer;
  readonly curlDiffers: boolean;
  readonly own: readonly Endpoint[];
}

/** Why curl does not match an entry that Go matches. */
function curlMissesEntry(entry: string, target: ExplainTarget): string {
  if (entry === '*') return 'curl honours "*" only as the whole no_proxy value, not as one entry';
  if (entry.startsWith('*.')) {
    return `curl has no "*." wildcard: "${entry}" never matches; write "${entry.slice(1)}" for both tools`;
  }
  if (entry.includes('/')) return `curl matches CIDR entries such as "${entry}" only from 7.86`;
  if (/^\[.*\]:\d+$|^[^:]+:\d+$/.test(entry)) {
    return `curl ignores the port in "${entry}", so the entry never matches for curl`;
  }
  if (/[^\x20-\x7e]/.test(entry)) return `curl compares "${entry}" byte for byte, without IDNA`;
  return `curl does not match "${entry}" against ${target.host}`;
}

/** Why curl matches an entry that Go does not. */
function curlOnlyEntry(entry: string, target: ExplainTarget, go: ToolAnswer): string {
  const bare = entry.replace(/^\./, '').replace(/\.$/, '').toLowerCase();
  if (entry.startsWith('.') && bare === target.host) {
    return `curl's "${entry}" also matches ${bare} itself; Go's matches subdomains only (write "${bare}" for both)`;
  }
  if (go.code === 'no-variable' || go.code === 'unparseable') {
    return `${go.noProxy?.name ?? 'NO_PROXY'} does not matter to Go here: it has no usable proxy`;
  }
  return `curl matches "${entry}" where Go does not`;
}

function variableNotes(go: ToolAnswer, curl: ToolAnswer, target: ExplainTarget): string[] {
  const notes: string[] = [];
  const g = go.variable?.name;
  const c = curl.variable?.name;
  if (c === 'all_proxy' || c === 'ALL_PROXY') {
    notes.push(`curl falls back to ${c}; Go has no ALL_PROXY`);
  } else if (target.scheme === 'http' && g === 'HTTP_PROXY' && c !== 'http_proxy') {
    notes.push(
      'curl ignores uppercase HTTP_PROXY (a CGI request header can set it); set http_proxy too',
    );
  } else if (
    g !== undefined &&
    c !== undefined &&
    g !== c &&
    go.variable?.value !== curl.variable?.value
  ) {
    notes.push(`Go reads ${g} first, curl reads ${c} first, and their values differ`);
  }
  if (go.noProxy && curl.noProxy && go.noProxy.name !== curl.noProxy.name) {
    if (go.noProxy.value !== curl.noProxy.value) {
      notes.push(
        `Go reads ${go.noProxy.name}, curl reads ${curl.noProxy.name}, and their values differ`,
      );
    }
  }
  return notes;
}

function proxyNotes(go: ToolAnswer, curl: ToolAnswer): string[] {
  if (!go.proxied || !curl.proxied || go.proxyKey === curl.proxyKey) return [];
  const goPort = go.proxyKey?.split(':').pop();
  const curlPort = curl.proxyKey?.split(':').pop();
  if (go.variable?.value === curl.variable?.value && goPort !== curlPort) {
    return [
      `the proxy value has no port: Go uses ${goPort}, curl uses ${curlPort}; write the port`,
    ];
  }
  return [];
}

function matchNotes(go: ToolAnswer, curl: ToolAnswer, target: ExplainTarget): string[] {
  const notes: string[] = [];
  if (go.code === 'loopback' && curl.proxied) {
    notes.push('curl proxies localhost and loopback addresses unless no_proxy lists them');
  }
  if (go.code === 'no-proxy' && curl.code !== 'no-proxy' && go.noProxyEntry !== undefined) {
    notes.push(curlMissesEntry(go.noProxyEntry, target));
  }
  if (curl.code === 'no-proxy' && go.code === 'proxy' && curl.noProxyEntry !== undefined) {
    notes.push(curlOnlyEntry(curl.noProxyEntry, target, go));
  }
  if (go.code === 'unparseable' && curl.proxied && curl.variable?.value === go.variable?.value) {
    notes.push('Go drops a proxy value it cannot parse and connects directly; curl uses it');
  }
  return notes;
}

function corproxyNotes(input: NotesInput): string[] {
  const { go, corproxy, own } = input;
  const listener = own[0] ? `http://${formatEndpoint(own[0])}` : undefined;
  const fix = listener
    ? `; point ${input.target.scheme === 'https' ? 'HTTPS_PROXY' : 'HTTP_PROXY'} at ${listener}`
    : '';
  if (corproxy.kind === 'loop') return [];
  if (!go.proxied && !go.fails && go.code !== 'loopback' && go.code !== 'no-proxy') {
    return [`Go connects directly and bypasses corproxy${fix}`];
  }
  if (go.proxied && !go.viaCorproxy) return [`Go uses ${go.proxy}, which is not corproxy${fix}`];
  if (go.code === 'no-proxy' && corproxy.kind === 'upstream') {
    return [
      'Go goes direct for this host while corproxy would use the upstream: direct may not reach it',
    ];
  }
  return [];
}

/** Every note, curl's first. */
export function explainDifferences(input: NotesInput): string[] {
  const { go, curl, target } = input;
  const curlNotes = input.curlDiffers
    ? [...variableNotes(go, curl, target), ...matchNotes(go, curl, target), ...proxyNotes(go, curl)]
    : [];
  const notes = [...new Set(curlNotes), ...corproxyNotes(input)];
  return [...notes, ...go.notes.map((n) => `Go: ${n}`), ...curl.notes.map((n) => `curl: ${n}`)];
}
