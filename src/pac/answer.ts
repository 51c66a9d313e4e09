/**
 * Parsing what FindProxyForURL returns: `PROXY a:1; HTTPS b:443; DIRECT`. Pure. The
 * rules follow the browsers' PAC string handling: entries are separated by `;`, the
 * keyword is case-insensitive, a malformed entry is skipped, and an answer with no usable
 * entry at all means DIRECT.
 */

export type PacEntry =
  | { readonly kind: 'direct' }
  | {
      readonly kind: 'proxy';
      /** PROXY and HTTP speak plain HTTP to the proxy, HTTPS speaks TLS to it. */
      readonly protocol: 'http:' | 'https:';
      /** Host without IPv6 brackets, lower-cased. */
      readonly host: string;
      readonly port: number;
    };

export interface PacAnswer {
  readonly entries: readonly PacEntry[];
  /** Entries corproxy cannot use (SOCKS, QUIC, malformed), for the log and `explain`. */
  readonly skipped: readonly string[];
}

const DIRECT: PacEntry = Object.freeze({ kind: 'direct' });

const PROTOCOLS: Readonly<Record<string, { protocol: 'http:' | 'https:'; port: number }>> = {
  PROXY: { protocol: 'http:', port: 80 },
  HTTP: { protocol: 'http:', port: 80 },
  HTTPS: { protocol: 'https:', port: 443 },
};

/** `host`, `host:port`, `[v6]` or `[v6]:port`; undefined when malformed. */
function parseHostPort(
  text: string,
  defaultPort: number,
): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^\s:[\]/@]+))(?::(\d{1,5}))?$/i.exec(text);
  if (m === null) return undefined;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2] ?? '').toLowerCase(), port };
}

function parseEntry(element: string): PacEntry | undefined {
  const [keyword = '', ...rest] = element.split(/\s+/);
  const word = keyword.toUpperCase();
  if (word === 'DIRECT') return rest.length === 0 ? DIRECT : undefined;
  const spec = PROTOCOLS[word];
  if (spec === undefined || rest.length !== 1) return undefined;
  const where = parseHostPort(rest[0] ?? '', spec.port);
  return where === undefined ? undefined : { kind: 'proxy', protocol: spec.protocol, ...where };
}

function sameEntry(a: PacEntry, b: PacEntry): boolean {
  if (a.kind === 'direct' || b.kind === 'direct') return a.kind === b.kind;
  return a.protocol === b.protocol && a.host === b.host && a.port === b.port;
}

/** Parses a PAC result; anything that is not a string is treated as an empty answer. */
export function parsePacAnswer(result: unknown): PacAnswer {
  const text = typeof result === 'string' ? result : '';
  const entries: PacEntry[] = [];
  const skipped: string[] = [];
  for (const raw of text.split(';')) {
    const element = raw.trim();
    if (element === '') continue;
    const entry = parseEntry(element);
    if (entry === undefined) skipped.push(element);
    else if (!entries.some((e) => sameEntry(e, entry))) entries.push(entry);
  }
  // Browsers fall back to DIRECT only when nothing at all could be parsed; an answer of
  // only SOCKS proxies is not "nothing": it names proxies corproxy cannot speak to.
  if (entries.length === 0 && skipped.length === 0) entries.push(DIRECT);
  return { entries, skipped };
}

/** `host:port` with IPv6 brackets, the key of the bad-proxy list. */
export function entryId(entry: PacEntry): string {
  if (entry.kind === 'direct') return 'DIRECT';
  return entry.host.includes(':') ? `[${entry.host}]:${entry.port}` : `${entry.host}:${entry.port}`;
}

/** The answer in canonical PAC form, as `explain` and the connection log show it. */
export function formatPacAnswer(answer: PacAnswer): string {
  const parts = answer.entries.map((e) =>
    e.kind === 'direct' ? 'DIRECT' : `${e.protocol === 'https:' ? 'HTTPS' : 'PROXY'} ${entryId(e)}`,
  );
  return parts.join('; ');
}
