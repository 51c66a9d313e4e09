/**
 * GNOME proxy settings as printed by `gsettings list-recursively org.gnome.system.proxy`:
 * one `schema key value` line per key, values in GVariant text form (`'text'`,
 * `"it's"`, `8080`, `true`, `['a', 'b']`, `@as []`). Pure.
 */
import { hostPort, type SystemProxy } from './types.js';

export const GNOME_SOURCE = 'GNOME gsettings org.gnome.system.proxy';
export const GSETTINGS_ARGS = ['list-recursively', 'org.gnome.system.proxy'];

export type GValue = string | number | boolean | string[];

const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
};

/** Reads one quoted GVariant string at `text[start]`; returns it and the index after it. */
function readString(text: string, start: number): [string, number] {
  const quote = text[start];
  let out = '';
  let i = start + 1;
  while (i < text.length && text[i] !== quote) {
    if (text[i] === '\\' && i + 1 < text.length) {
      const next = text[i + 1]!;
      if (next === 'u' && /^[0-9a-f]{4}$/i.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
        continue;
      }
      out += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    out += text[i];
    i += 1;
  }
  return [out, i + 1];
}

/** Parses the value forms the proxy schema uses; anything else stays raw text. */
export function parseGValue(raw: string): GValue {
  const text = raw.trim().replace(/^@as\s+/, '');
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+$/.test(text)) return Number(text);
  if (text.startsWith("'") || text.startsWith('"')) return readString(text, 0)[0];
  if (text.startsWith('[')) {
    const items: string[] = [];
    let i = 1;
    while (i < text.length) {
      const c = text[i]!;
      if (c === "'" || c === '"') {
        const [value, next] = readString(text, i);
        items.push(value);
        i = next;
      } else {
        i += 1;
      }
    }
    return items;
  }
  return text;
}

/** `schema key value` lines → map of `schema key` → value. */
export function parseGsettings(text: string): Map<string, GValue> {
  const out = new Map<string, GValue>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^(\S+) (\S+) (.*)$/.exec(line);
    if (m !== null) out.set(`${m[1]} ${m[2]}`, parseGValue(m[3]!));
  }
  return out;
}

function str(values: Map<string, GValue>, key: string): string {
  const v = values.get(`org.gnome.system.proxy${key}`);
  return typeof v === 'string' ? v.trim() : '';
}

function num(values: Map<string, GValue>, key: string): number {
  const v = values.get(`org.gnome.system.proxy${key}`);
  return typeof v === 'number' ? v : 0;
}

export function gnomeProxy(values: Map<string, GValue>): SystemProxy {
  const notes: string[] = [];
  const mode = str(values, ' mode');
  const ignore = values.get('org.gnome.system.proxy ignore-hosts');
  const bypass = Array.isArray(ignore) ? ignore : [];
  const proxies: string[] = [];
  if (mode === 'manual') {
    for (const scheme of ['.https', '.http']) {
      const host = str(values, `${scheme} host`);
      if (host === '') continue;
      const addr = hostPort(host, num(values, `${scheme} port`));
      if (addr === undefined)
        notes.push(`${scheme.slice(1)} proxy ${host} has no valid port; ignored`);
      else if (!proxies.includes(addr)) proxies.push(addr);
    }
    if (str(values, '.socks host') !== '')
      notes.push('SOCKS proxy not imported (corproxy uses HTTP proxies only)');
    if (values.get('org.gnome.system.proxy.http use-authentication') === true) {
      notes.push(
        'proxy credentials are not imported; give them in the corproxy config (docs/configuration.md)',
      );
    }
  }
  const pac = mode === 'auto' ? str(values, ' autoconfig-url') : '';
  if (mode === 'auto' && pac === '') {
    notes.push('automatic mode without a configuration URL means WPAD, which corproxy does not do');
  }
  return {
    source: GNOME_SOURCE,
    proxies,
    bypass: mode === 'manual' ? bypass : [],
    bypassPlainNames: false,
    ...(pac !== '' ? { pac } : {}),
    notes,
  };
}
