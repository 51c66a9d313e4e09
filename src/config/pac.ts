/**
 * The `pac` and `fromSystem` keys, and the layer of values imported from the operating
 * system's proxy settings (`--from-system`), which sits just above the built-in defaults:
 * anything set in the file, the environment or a flag wins over it.
 */
import { decodeDataUrl, fileUrlToPath, pacLocationKind } from '../pac/source.js';
import type { Origin, Sourced } from './layers.js';
import { fail } from './layers.js';

/** Config values read from the OS proxy settings (src/system-proxy), by key. */
export interface ImportedSettings {
  /** Where they came from, e.g. `Windows Internet Settings`; named in errors. */
  readonly source: string;
  readonly upstream?: readonly string[];
  readonly direct?: readonly string[];
  readonly pac?: string;
}

/** The imported values as a config layer (empty when nothing was imported). */
export function readImportedLayer(imported: ImportedSettings | undefined): Map<string, Sourced> {
  const out = new Map<string, Sourced>();
  if (imported === undefined) return out;
  const origin: Origin = { kind: 'system', name: imported.source };
  if (imported.upstream !== undefined && imported.upstream.length > 0) {
    out.set('upstream', { value: [...imported.upstream], origin });
  }
  if (imported.direct !== undefined && imported.direct.length > 0) {
    out.set('direct', { value: [...imported.direct], origin });
  }
  if (imported.pac !== undefined && imported.pac !== '')
    out.set('pac', { value: imported.pac, origin });
  return out;
}

const NONE = ['', 'none', 'off'];

/**
 * Validates `pac`: an http(s):// URL, a data: URL, a file: URL or a file path (made
 * absolute with `resolvePath`, like every other path key); '' means no PAC.
 */
export function compilePac(
  s: Sourced,
  resolvePath: (key: string, s: Sourced) => string,
  platform: NodeJS.Platform,
): string {
  if (typeof s.value !== 'string') fail('pac', s.origin, `must be a string, got ${typeof s.value}`);
  const raw = s.value.trim();
  if (NONE.includes(raw.toLowerCase())) return '';
  switch (pacLocationKind(raw)) {
    case 'url':
      return checkedUrl(raw, s.origin);
    case 'data':
      try {
        decodeDataUrl(raw);
      } catch (err) {
        fail('pac', s.origin, `is not a valid data: URL: ${(err as Error).message}`);
      }
      return raw;
    case 'file-url':
      try {
        return fileUrlToPath(raw, platform);
      } catch {
        return fail('pac', s.origin, `${JSON.stringify(raw)} is not a valid file: URL`);
      }
    case 'path':
      return resolvePath('pac', { value: raw, origin: s.origin });
    default:
      return fail(
        'pac',
        s.origin,
        `${JSON.stringify(raw.split(':')[0])}: URLs are not supported; ` +
          'give an http:// or https:// URL, a file path or a data: URL',
      );
  }
}

/** The URL text is never echoed: it may carry credentials. */
function checkedUrl(raw: string, origin: Origin): string {
  try {
    new URL(raw);
  } catch {
    fail('pac', origin, 'is not a valid URL; expected e.g. http://wpad.corp.example/proxy.pac');
  }
  return raw;
}
