/**
 * What every OS reader produces: the system proxy settings in one neutral shape, before
 * translation into corproxy config values (translate.ts).
 */

export interface SystemProxy {
  /** Where the settings came from, e.g. `Windows Internet Settings`. */
  readonly source: string;
  /** Manual proxies as `host:port`, in the order corproxy should try them. */
  readonly proxies: readonly string[];
  /** Bypass entries as the OS writes them (`*.corp.example`, `10.*`, `169.254/16`). */
  readonly bypass: readonly string[];
  /** "Bypass for local (plain) host names" (`<local>`, ExcludeSimpleHostnames). */
  readonly bypassPlainNames: boolean;
  /** PAC URL (automatic configuration script), when one is set. */
  readonly pac?: string;
  /** Settings corproxy cannot import (SOCKS, WPAD auto-detection, credentials). */
  readonly notes: readonly string[];
}

/** `host:port` with IPv6 literals bracketed; undefined for an empty host or a bad port. */
export function hostPort(host: string, port: number): string | undefined {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1');
  if (h === '' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}
