/**
 * Windows Internet Settings (the "LAN settings" dialog) as printed by
 * `reg query "HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"`:
 * ProxyEnable, ProxyServer (`host:port` or `http=a:1;https=b:2;socks=c:3`),
 * ProxyOverride (`;`-separated, `<local>` = plain host names) and AutoConfigURL. Pure.
 */
import { hostPort, type SystemProxy } from './types.js';

export const WINDOWS_SOURCE = 'Windows Internet Settings';
export const REG_KEY = 'HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Internet Settings';

export interface RegValue {
  readonly type: string;
  readonly data: string;
}

/**
 * The values of the first key in `reg query` output: lines of four-space-separated
 * `name`, `REG_TYPE`, `data` under the key's path; subkey lines end the listing.
 */
export function parseRegQuery(text: string): Map<string, RegValue> {
  const values = new Map<string, RegValue>();
  let inKey = false;
  for (const line of text.split(/\r?\n/)) {
    if (/^HKEY_/i.test(line)) {
      if (inKey) break;
      inKey = true;
      continue;
    }
    const m = /^ {4}(.+?) {4}(REG_[A-Z0-9_]+)(?: {4}(.*))?$/.exec(line);
    if (inKey && m !== null) values.set(m[1]!.toLowerCase(), { type: m[2]!, data: m[3] ?? '' });
  }
  return values;
}

/** REG_DWORD data is printed as hex (`0x1`). */
function dword(v: RegValue | undefined): number {
  if (v === undefined) return 0;
  return v.data.startsWith('0x') ? parseInt(v.data.slice(2), 16) : Number(v.data);
}

/** `host[:port]`, optionally with a scheme the dialog tolerates (`http://host:port`). */
function proxyAddress(text: string): string | undefined {
  const bare = text
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(bare);
  if (m === null) return undefined;
  return hostPort(m[1]!, m[2] === undefined ? 80 : Number(m[2]));
}

/**
 * ProxyServer: one address for every scheme, or `scheme=address` pairs. The https=
 * proxy comes first (CONNECT tunnels are what corproxy mostly carries), then http=.
 */
function proxiesOf(server: string, notes: string[]): string[] {
  const parts = server
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const out: string[] = [];
  const add = (text: string): void => {
    const addr = proxyAddress(text);
    if (addr === undefined) notes.push(`ProxyServer entry "${text}" is not host:port; ignored`);
    else if (!out.includes(addr)) out.push(addr);
  };
  const pairs = new Map<string, string>();
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) add(part);
    else pairs.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1));
  }
  for (const scheme of ['https', 'http']) {
    const addr = pairs.get(scheme);
    if (addr !== undefined) add(addr);
  }
  for (const scheme of pairs.keys()) {
    if (scheme !== 'http' && scheme !== 'https') {
      notes.push(`ProxyServer ${scheme}= proxy not imported (corproxy uses HTTP proxies only)`);
    }
  }
  return out;
}

export function windowsProxy(values: Map<string, RegValue>): SystemProxy {
  const notes: string[] = [];
  const enabled = dword(values.get('proxyenable')) !== 0;
  const server = values.get('proxyserver')?.data ?? '';
  const proxies = enabled ? proxiesOf(server, notes) : [];
  if (!enabled && server.trim() !== '')
    notes.push('ProxyServer is set but ProxyEnable is 0; not imported');
  const overrides = (values.get('proxyoverride')?.data ?? '')
    .split(/[;\s]+/)
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const pac = values.get('autoconfigurl')?.data.trim();
  if (dword(values.get('autodetect')) !== 0) {
    notes.push('"Automatically detect settings" (WPAD) is on; corproxy does not do WPAD discovery');
  }
  return {
    source: WINDOWS_SOURCE,
    proxies,
    bypass: enabled ? overrides.filter((o) => o.toLowerCase() !== '<local>') : [],
    bypassPlainNames: enabled && overrides.some((o) => o.toLowerCase() === '<local>'),
    ...(pac ? { pac } : {}),
    notes,
  };
}
