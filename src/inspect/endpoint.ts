/**
 * A daemon listen address as `status` and `explain` handle it: `127.0.0.1:3129` or
 * `[::1]:3129` in text, host and port in code; and whether an address is corproxy's. Pure.
 */
import type { Config } from '../config/types.js';
import type { StatusDocument } from './status-document.js';

export interface Endpoint {
  /** IP literal or name, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export function formatEndpoint(e: Endpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** `127.0.0.1:3129` / `[::1]:3129` as the status file and /status write them. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  return port > 0 && port <= 65535 ? { host: m[1] as string, port } : undefined;
}

/** corproxy's own addresses: configured listeners and those the daemon reports. */
export function corproxyEndpoints(config: Config, daemon?: StatusDocument): Endpoint[] {
  const reported = (daemon?.listen ?? []).map(parseEndpoint);
  return [...config.listen, ...reported].filter(
    (e): e is Endpoint => e !== undefined && e.port !== 0,
  );
}

function isLocalName(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Whether host:port reaches one of corproxy's listeners (loopback names are one host). */
export function isCorproxyAddress(host: string, port: number, own: readonly Endpoint[]): boolean {
  const h = host.toLowerCase();
  return own.some(
    (e) =>
      e.port === port &&
      (e.host === h ||
        (isLocalName(h) && (isLocalName(e.host) || e.host === '0.0.0.0' || e.host === '::'))),
  );
}
