/**
 * The `listen` and `allow` keys: addresses corproxy binds and the client networks it
 * accepts, with the rule that a non-loopback listen address needs an allow list.
 */

import net from 'node:net';
import { fail, get, type Context, type Origin } from './layers.js';
import type { ListenAddress } from './types.js';
import { list, unique } from './values.js';

const loopbacks = new net.BlockList();
loopbacks.addSubnet('127.0.0.0', 8, 'ipv4');
loopbacks.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the name localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').split('%')[0] ?? '';
  const family = net.isIP(bare);
  if (family === 0) return bare.toLowerCase() === 'localhost';
  return loopbacks.check(bare, family === 6 ? 'ipv6' : 'ipv4');
}

function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const BOTH_LOOPBACKS = ['127.0.0.1', '::1'];

/** `PORT`, `ADDR:PORT`, `[IPv6]:PORT` or `localhost:PORT`; names other than localhost are refused. */
function parseListenItem(key: string, item: string, origin: Origin): ListenAddress[] {
  if (/^\d+$/.test(item)) return loopbackPair(key, item, origin);
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(item);
  const m = v6 ?? /^([^:[\]]+):(\d+)$/.exec(item);
  if (!m) {
    fail(
      key,
      origin,
      `${JSON.stringify(item)} is not ADDR:PORT, [IPv6]:PORT or PORT (e.g. 127.0.0.1:3129)`,
    );
  }
  const host = (m[1] ?? '').toLowerCase();
  if (host === 'localhost') return loopbackPair(key, m[2] ?? '', origin);
  if (net.isIP(host) !== (v6 ? 6 : 4)) {
    fail(
      key,
      origin,
      `${JSON.stringify(host)} is not an IP address; listen takes IP literals or localhost`,
    );
  }
  return [{ host, port: port(key, m[2] ?? '', origin) }];
}

function loopbackPair(key: string, portText: string, origin: Origin): ListenAddress[] {
  const p = port(key, portText, origin);
  return BOTH_LOOPBACKS.map((host) => ({ host, port: p }));
}

function port(key: string, digits: string, origin: Origin): number {
  const n = Number(digits);
  if (!(n >= 0 && n <= 65535)) fail(key, origin, `port ${digits} is outside 0-65535`);
  return n;
}

export function compileListen(ctx: Context): ListenAddress[] {
  const s = get(ctx, 'listen');
  const out = new Map<string, ListenAddress>();
  list('listen', s).forEach((item, i) => {
    for (const a of parseListenItem(`listen[${i}]`, item, s.origin)) out.set(formatAddress(a), a);
  });
  if (out.size === 0) fail('listen', s.origin, 'is empty; give at least one ADDR:PORT or PORT');
  return [...out.values()];
}

export function compileAllow(ctx: Context): string[] {
  const s = get(ctx, 'allow');
  return unique(
    list('allow', s).map((item, i) => {
      const [addr = '', prefix, extra] = item.split('/');
      const family = net.isIP(addr);
      const max = family === 6 ? 128 : 32;
      const okPrefix = prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= max);
      if (family === 0 || !okPrefix || extra !== undefined) {
        fail(
          `allow[${i}]`,
          s.origin,
          `${JSON.stringify(item)} is not an IP address or CIDR (e.g. 10.1.0.0/16)`,
        );
      }
      return item.toLowerCase();
    }),
  );
}

/** DESIGN §4: corproxy must never become an open proxy by accident. */
export function requireAllowForOpenListen(
  ctx: Context,
  listen: ListenAddress[],
  allow: string[],
): void {
  const open = listen.find((a) => !isLoopback(a.host));
  if (open === undefined || allow.length > 0) return;
  fail(
    'listen',
    get(ctx, 'listen').origin,
    `${formatAddress(open)} is not a loopback address and no allow list is set; corproxy refuses ` +
      'to run as an open proxy: name the client networks that may connect with ' +
      'allow: [10.1.0.0/16] in the config file, CORPROXY_ALLOW or --allow',
  );
}
