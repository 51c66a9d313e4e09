/**
 * The human form of `corproxy status`: a compact block of labelled lines from the
 * daemon's /status document. Sections the daemon adds through hooks (interception
 * verdicts, bundle state, later ones) are shown too: the known shapes as tables, anything
 * else as one line of JSON. Pure.
 */
import { formatBytes, formatDuration, printable, shortIso, truncateEnd } from './format.js';
import type { StatusDocument, UpstreamHealth } from './status-document.js';

const LABEL = 12;
const WIDTH = 80;
const INDENT = ' '.repeat(LABEL);

/** Fields rendered by name; any other top-level key is an extra section. */
const KNOWN = new Set([
  'name',
  'version',
  'pid',
  'startedAt',
  'uptimeSeconds',
  'listen',
  'upstreams',
  'fallback',
  'direct',
  'directModules',
  'openConnections',
  'openTunnels',
  'totals',
  'errors',
  'configSources',
  'stateDir',
  'logFile',
  'interception',
  'bundle',
  'pac',
  'network',
]);

function labelled(label: string, lines: readonly string[]): string[] {
  return lines.map((line, i) =>
    truncateEnd(`${i === 0 ? label.padEnd(LABEL) : INDENT}${printable(line)}`, WIDTH),
  );
}

function list(items: readonly string[] | undefined, empty: string): string {
  return items && items.length > 0 ? items.join(', ') : empty;
}

/** A healthy upstream is one line; a bad one gets a second line with its last error. */
function upstreamLines(u: UpstreamHealth, i: number): string[] {
  if (u.healthy) return [`${i + 1}. ${u.url}  healthy`];
  const until = u.badUntil ? ` until ${shortIso(u.badUntil)}` : '';
  const line = `${i + 1}. ${u.url}  BAD${until}`;
  return u.lastError ? [line, `   ${u.lastError}`] : [line];
}

function headline(doc: StatusDocument): string {
  const parts = [`corproxy ${doc.version}`];
  if (doc.pid !== undefined) parts.push(`pid ${doc.pid}`);
  if (typeof doc.uptimeSeconds === 'number') {
    const since = doc.startedAt ? ` (since ${shortIso(doc.startedAt)})` : '';
    const up = doc.uptimeSeconds < 1 ? '0s' : formatDuration(doc.uptimeSeconds * 1000);
    parts.push(`up ${up}${since}`);
  }
  return truncateEnd(printable(parts.join(', ')), WIDTH);
}

function traffic(doc: StatusDocument): string[] {
  const out: string[] = [];
  out.push(
    ...labelled('open', [
      `${doc.openConnections ?? 0} connections, ${doc.openTunnels ?? 0} tunnels`,
    ]),
  );
  const t = doc.totals;
  if (t) {
    const bytes = `${formatBytes(t.bytesUp)} up, ${formatBytes(t.bytesDown)} down`;
    out.push(...labelled('totals', [`${t.connections} connections, ${t.errors} errors, ${bytes}`]));
  }
  const errors = Object.entries(doc.errors ?? {}).sort((a, b) => b[1] - a[1]);
  if (errors.length > 0) {
    out.push(
      ...labelled(
        'errors',
        errors.map(([code, n]) => `${code} ${n}`),
      ),
    );
  }
  return out;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** One interception entry: `host:port  verdict (vendor) via route`. */
function verdictLine(host: string, v: unknown): string {
  if (typeof v === 'string') return `${host}  ${v}`;
  if (!isObject(v)) return `${host}  ${JSON.stringify(v)}`;
  const vendor = str(v.vendor) ? ` (${str(v.vendor)})` : '';
  const via = str(v.route) ? ` via ${str(v.route)}` : '';
  return `${host}  ${str(v.verdict) ?? '?'}${vendor}${via}`;
}

/** `interception`: an array of {host, port, verdict, ...} or an object keyed by host. */
function interceptionLines(value: unknown): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return ['no host probed yet'];
    return value.map((v) => {
      const host = isObject(v) ? [v.host, v.port].filter((x) => x !== undefined).join(':') : '';
      return verdictLine(host || '?', v);
    });
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    return entries.length === 0
      ? ['no host probed yet']
      : entries.map(([h, v]) => verdictLine(h, v));
  }
  return [JSON.stringify(value)];
}

/** `bundle`: where it is, how many corporate CAs it adds, how old it is. */
function bundleLines(value: unknown): string[] {
  if (!isObject(value) || typeof value.present !== 'boolean') return [objectLine(value)];
  if (!value.present) return ['not written yet: run `corproxy trust` behind an intercepting proxy'];
  const approved = Array.isArray(value.approved) ? value.approved : [];
  const age =
    typeof value.ageSeconds === 'number'
      ? `, written ${formatDuration(value.ageSeconds * 1000)} ago`
      : '';
  const cas = `${approved.length} corporate CA${approved.length === 1 ? '' : 's'}`;
  const subjects = approved.map((a) =>
    isObject(a) ? `${str(a.subject) ?? '?'} ${String(a.sha256 ?? '').slice(0, 23)}` : '?',
  );
  return [str(value.path) ?? '?', `${cas}${age}`, ...subjects];
}

/** `pac`: the script's source and state; null when no PAC is configured. */
function pacLines(value: unknown): string[] {
  if (!isObject(value)) return [];
  const loaded = str(value.loadedAt) ? `, loaded ${shortIso(str(value.loadedAt) ?? '')}` : '';
  const error = str(value.lastError) ? `: ${str(value.lastError)}` : '';
  return [`${str(value.source) ?? '?'}  ${str(value.state) ?? '?'}${loaded}${error}`];
}

/** `network`: on or off the corporate network, since when and why. */
function networkLines(value: unknown): string[] {
  if (!isObject(value)) return [];
  const since = str(value.since) ? ` since ${shortIso(str(value.since) ?? '')}` : '';
  const reason = str(value.reason) ? ` (${str(value.reason)})` : '';
  return [`${str(value.state) ?? '?'} the corporate network${since}${reason}`];
}

/** Any other section: `key: value` pairs on one line. */
function objectLine(value: unknown): string {
  if (!isObject(value)) return JSON.stringify(value);
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

function extras(doc: StatusDocument): string[] {
  const out: string[] = [];
  if (doc.interception !== undefined) {
    out.push(...labelled('tls', interceptionLines(doc.interception)));
  }
  if (doc.bundle !== undefined) out.push(...labelled('bundle', bundleLines(doc.bundle)));
  out.push(...labelled('pac', pacLines(doc.pac)));
  out.push(...labelled('network', networkLines(doc.network)));
  for (const [key, value] of Object.entries(doc)) {
    if (!KNOWN.has(key)) out.push(...labelled(key, [objectLine(value)]));
  }
  return out;
}

/** The status block, one string per line, none wider than 80 columns. */
export function renderStatus(doc: StatusDocument): string[] {
  const upstreams =
    doc.upstreams.length > 0
      ? doc.upstreams.flatMap(upstreamLines)
      : ['none (every target direct)'];
  const direct = list(doc.direct, 'none');
  const modules = doc.directModules?.length
    ? [`GOPRIVATE globs: ${doc.directModules.join(', ')}`]
    : [];
  return [
    headline(doc),
    ...labelled('listen', [list(doc.listen, '?')]),
    ...labelled('upstreams', upstreams),
    ...labelled('fallback', [doc.fallback ?? '?']),
    ...labelled('direct', [direct, ...modules]),
    ...traffic(doc),
    ...extras(doc),
    ...labelled('config', [list(doc.configSources, 'built-in defaults')]),
    ...(doc.stateDir !== undefined ? labelled('state', [doc.stateDir]) : []),
    ...(doc.logFile !== undefined ? labelled('log', [doc.logFile || 'off']) : []),
  ];
}
