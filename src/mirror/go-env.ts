/**
 * What `corproxy env --go` offers and `corproxy doctor` checks for the mirror: the go
 * environment that uses it (GOPROXY to the loopback URL, ending in `,direct` so private
 * modules and anything the mirror cannot serve still work), and live probes of the cache,
 * each module proxy and each checksum database over corproxy's route.
 */
import type { Config } from '../config/types.js';
import { toFailure } from './errors.js';
import { fetchUrl } from './fetch.js';
import type { Mirror } from './handler.js';

/** The URL of the mirror on a listener (IPv6 in brackets). */
export function mirrorUrl(listener: { host: string; port: number }): string {
  const host = listener.host.includes(':') ? `[${listener.host}]` : listener.host;
  return `http://${host}:${listener.port}/mod/`;
}

/**
 * go environment variables for the mirror on `listener` (prefer the dedicated
 * `mirror.listen` address when there is one); {} when the mirror is off.
 */
export function mirrorGoEnv(
  config: Config,
  listener: { host: string; port: number },
): Record<string, string> {
  if (!config.mirror.enabled) return {};
  const at = config.mirror.listen[0] ?? listener;
  const env: Record<string, string> = { GOPROXY: `${mirrorUrl(at)},direct` };
  // Private modules then skip the mirror (and the public checksum database) entirely.
  if (config.mirror.private.length > 0) env.GOPRIVATE = config.mirror.private.join(',');
  return env;
}

export interface MirrorCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

const PROBE_LIMITS = { timeoutMs: 15_000, maxBytes: 1 << 20 };

/** Any HTTP answer proves route and trust; a sumdb must also serve its signed `/latest`. */
async function probe(
  mirror: Mirror,
  name: string,
  url: string,
  needOk: boolean,
): Promise<MirrorCheck> {
  try {
    const res = await fetchUrl(url, PROBE_LIMITS, mirror.fetchDeps);
    const ok = !needOk || res.status === 200;
    return { name, ok, detail: `GET ${url}: ${res.status}` };
  } catch (err) {
    const f = toFailure(err);
    return { name, ok: false, detail: `${f.message} [${f.code}]` };
  }
}

/** The doctor's checks of the mirror, in order. */
export async function checkMirror(mirror: Mirror): Promise<MirrorCheck[]> {
  const s = mirror.settings;
  if (!s.enabled) return [{ name: 'mirror', ok: true, detail: 'off (mirror.enabled: false)' }];
  const cache = await mirror.cache();
  const checks: MirrorCheck[] = [
    {
      name: 'mirror cache',
      ok: cache !== undefined,
      detail: cache
        ? `${cache.stats().entries} entries, ${cache.stats().bytes} of ${cache.stats().maxBytes} bytes`
        : 'the cache directory cannot be used (see the daemon log)',
    },
  ];
  for (const e of s.upstream)
    checks.push(await probe(mirror, `module proxy ${e.url}`, `${e.url}/`, false));
  if (s.privateProxy !== '') {
    checks.push(await probe(mirror, `private module proxy`, `${s.privateProxy}/`, false));
  }
  for (const db of s.sumdb) {
    checks.push(await probe(mirror, `checksum database ${db.name}`, `${db.url}/latest`, true));
  }
  return checks;
}
