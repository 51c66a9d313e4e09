/**
 * macOS proxy settings as printed by `scutil --proxy`: a `<dictionary> { ... }` of
 * `Key : value` lines, nested `<array>` and `<dictionary>` blocks. Pure.
 */
import { hostPort, type SystemProxy } from './types.js';

export const MACOS_SOURCE = 'macOS scutil --proxy';

export type ScValue = string | ScValue[] | { [key: string]: ScValue };

/** Parses the dictionary printout; arrays come back as JS arrays in index order. */
export function parseScutil(text: string): Record<string, ScValue> {
  const root: Record<string, ScValue> = {};
  const stack: Array<{ node: Record<string, ScValue>; array: boolean }> = [];
  let current: { node: Record<string, ScValue>; array: boolean } | undefined;
  const finish = (c: { node: Record<string, ScValue>; array: boolean }): ScValue =>
    c.array
      ? Object.entries(c.node)
          .sort((a, b) => Number(a[0]) - Number(b[0]))
          .map(([, v]) => v)
      : c.node;
  const pendingKeys: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (line === '}') {
      const done = current;
      current = stack.pop();
      const key = pendingKeys.pop();
      if (done !== undefined && current !== undefined && key !== undefined)
        current.node[key] = finish(done);
      continue;
    }
    const m = /^(.+?) : (.*)$/.exec(line);
    if (current === undefined) {
      if (/^<dictionary> \{$/.test(line)) current = { node: root, array: false };
      continue;
    }
    if (m === null) continue;
    const [, key, value] = m as unknown as [string, string, string];
    const open = /^<(dictionary|array)> \{$/.exec(value);
    if (open !== null) {
      stack.push(current);
      pendingKeys.push(key);
      current = { node: {}, array: open[1] === 'array' };
    } else {
      current.node[key] = value;
    }
  }
  return root;
}

function on(d: Record<string, ScValue>, key: string): boolean {
  return d[key] === '1';
}

function text(d: Record<string, ScValue>, key: string): string {
  const v = d[key];
  return typeof v === 'string' ? v.trim() : '';
}

export function macosProxy(d: Record<string, ScValue>): SystemProxy {
  const notes: string[] = [];
  const proxies: string[] = [];
  for (const kind of ['HTTPS', 'HTTP']) {
    if (!on(d, `${kind}Enable`)) continue;
    const addr = hostPort(text(d, `${kind}Proxy`), Number(text(d, `${kind}Port`) || '80'));
    if (addr === undefined)
      notes.push(`${kind} proxy is enabled but has no valid host and port; ignored`);
    else if (!proxies.includes(addr)) proxies.push(addr);
  }
  if (on(d, 'SOCKSEnable'))
    notes.push('SOCKS proxy not imported (corproxy uses HTTP proxies only)');
  if (on(d, 'ProxyAutoDiscoveryEnable')) {
    notes.push('"Auto Proxy Discovery" (WPAD) is on; corproxy does not do WPAD discovery');
  }
  const exceptions = d.ExceptionsList;
  const pac = on(d, 'ProxyAutoConfigEnable') ? text(d, 'ProxyAutoConfigURLString') : '';
  return {
    source: MACOS_SOURCE,
    proxies,
    bypass: Array.isArray(exceptions)
      ? exceptions.filter((e): e is string => typeof e === 'string')
      : [],
    bypassPlainNames: on(d, 'ExcludeSimpleHostnames'),
    ...(pac !== '' ? { pac } : {}),
    notes,
  };
}
