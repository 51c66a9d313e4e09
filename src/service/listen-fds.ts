/**
 * systemd socket activation, the receiving side (sd_listen_fds(3)): which inherited file
 * descriptors are listening sockets meant for this process. Pure: the caller passes the
 * environment and its own PID; the daemon then calls `net.Server.listen({ fd })` per entry.
 */

import { CorproxyError } from '../errors.js';

/** The first passed descriptor; 0-2 are stdio (SD_LISTEN_FDS_START in sd-daemon.h). */
export const SD_LISTEN_FDS_START = 3;

/** Variables the daemon should drop after reading them, so child processes do not see them. */
export const LISTEN_ENV_KEYS: readonly string[] = Object.freeze([
  'LISTEN_PID',
  'LISTEN_FDS',
  'LISTEN_FDNAMES',
]);

/** A sanity bound: far above any real socket unit, low enough to keep every loop short. */
const MAX_LISTEN_FDS = 256;

/** One inherited listening socket. */
export interface InheritedFd {
  readonly fd: number;
  /** From LISTEN_FDNAMES (FileDescriptorName=); 'unknown' when systemd sent no names. */
  readonly name: string;
}

/** The environment subset this module reads. */
export type ListenEnv = Readonly<Record<string, string | undefined>>;

function parseCount(text: string, key: string): number {
  if (!/^\d+$/.test(text)) {
    throw new CorproxyError('CPX_ERR_LISTEN', `${key}=${text} is not a whole number`);
  }
  return Number(text);
}

function parseNames(raw: string | undefined, count: number): string[] {
  if (raw === undefined) return Array.from({ length: count }, () => 'unknown');
  // sd_listen_fds_with_names(3): one name per descriptor, separated by ':'.
  const names = raw.split(':');
  if (names.length !== count) {
    throw new CorproxyError(
      'CPX_ERR_LISTEN',
      `LISTEN_FDNAMES has ${names.length} names for LISTEN_FDS=${count} sockets`,
    );
  }
  return names;
}

/**
 * Returns the sockets systemd passed to `pid`, or [] when none were passed to it.
 * LISTEN_PID guards against a child inheriting the variables of its parent: descriptors
 * are only ours when it names our PID. Malformed values throw CPX_ERR_LISTEN rather than
 * silently listening on the configured addresses, which the socket unit already holds.
 */
export function parseListenFds(env: ListenEnv, pid: number): InheritedFd[] {
  const listenPid = env.LISTEN_PID;
  if (listenPid === undefined || listenPid === '') return [];
  if (parseCount(listenPid, 'LISTEN_PID') !== pid) return [];
  const rawCount = env.LISTEN_FDS;
  if (rawCount === undefined || rawCount === '') return [];
  const count = parseCount(rawCount, 'LISTEN_FDS');
  if (count === 0) return [];
  if (count > MAX_LISTEN_FDS) {
    throw new CorproxyError(
      'CPX_ERR_LISTEN',
      `LISTEN_FDS=${count} exceeds ${MAX_LISTEN_FDS}; check the socket unit`,
    );
  }
  const names = parseNames(env.LISTEN_FDNAMES, count);
  return names.map((name, i) => ({ fd: SD_LISTEN_FDS_START + i, name }));
}
