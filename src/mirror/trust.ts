/**
 * The roots the mirror trusts for module proxies and checksum databases: the approved CA
 * bundle that `corproxy trust` writes (`ca-bundle.pem`: the system roots plus approved
 * corporate CAs), re-read when it changes; Node's built-in roots while there is none.
 */
import * as fsp from 'node:fs/promises';
import tls from 'node:tls';

export interface TrustDeps {
  readonly stat?: (file: string) => Promise<{ readonly mtimeMs: number; readonly size: number }>;
  readonly readFile?: (file: string) => Promise<string>;
  readonly fallback?: readonly string[];
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM file into its certificates. */
export function splitPem(text: string): string[] {
  return text.match(PEM) ?? [];
}

/**
 * Returns a loader for the roots in `bundleFile`, cached until the file's size or mtime
 * changes. A missing, unreadable or empty bundle falls back to Node's roots.
 */
export function bundleLoader(bundleFile: string, deps: TrustDeps = {}): () => Promise<string[]> {
  const stat = deps.stat ?? ((f: string) => fsp.stat(f));
  const readFile = deps.readFile ?? ((f: string) => fsp.readFile(f, 'utf8'));
  const fallback = [...(deps.fallback ?? tls.rootCertificates)];
  let cached: { stamp: string; roots: string[] } | undefined;
  return async () => {
    let stamp: string;
    try {
      const st = await stat(bundleFile);
      stamp = `${st.mtimeMs}:${st.size}`;
    } catch {
      return fallback;
    }
    if (cached?.stamp === stamp) return cached.roots;
    const roots = splitPem(await readFile(bundleFile).catch(() => ''));
    cached = { stamp, roots: roots.length > 0 ? roots : fallback };
    return cached.roots;
  };
}
