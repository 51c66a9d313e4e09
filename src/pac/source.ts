/**
 * Where a PAC script comes from (an http(s) URL, a file, or a `data:` URL) and how its
 * bytes become text. Pure: the fetching lives in fetch.ts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type PacSource =
  | { readonly kind: 'url'; readonly url: string; readonly display: string }
  | { readonly kind: 'file'; readonly path: string; readonly display: string }
  | { readonly kind: 'data'; readonly text: string; readonly display: string };

/** What a `pac` value looks like before any path resolution. */
export type PacLocationKind = 'url' | 'data' | 'file-url' | 'path' | 'unsupported';

export function pacLocationKind(value: string): PacLocationKind {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return 'url';
  if (scheme === 'data') return 'data';
  if (scheme === 'file') return 'file-url';
  // A Windows drive letter (C:\x) looks like a one-letter scheme.
  if (scheme === undefined || /^[a-z]:[\\/]/i.test(value)) return 'path';
  return 'unsupported';
}

/** The URL without user info, query or fragment: safe for logs and /status. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    const auth = url.username !== '' || url.password !== '' ? '***@' : '';
    const rest = url.search !== '' || url.hash !== '' ? '?…' : '';
    return `${url.protocol}//${auth}${url.host}${url.pathname}${rest}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** `file:` URLs become paths; the caller has already made paths absolute. */
export function fileUrlToPath(value: string, platform: NodeJS.Platform): string {
  const p = fileURLToPath(value, { windows: platform === 'win32' } as never);
  return platform === 'win32' ? path.win32.normalize(p) : path.posix.normalize(p);
}

/** Decodes an RFC 2397 `data:` URL to text; throws Error on a malformed one. */
export function decodeDataUrl(value: string): string {
  const comma = value.indexOf(',');
  if (!/^data:/i.test(value) || comma < 0) {
    throw new Error('a data: URL needs the form data:[<type>][;base64],<script>');
  }
  const meta = value
    .slice(5, comma)
    .split(';')
    .map((p) => p.trim().toLowerCase());
  const payload = value.slice(comma + 1);
  if (meta.includes('base64')) {
    const clean = decodeURIComponent(payload).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean))
      throw new Error('the base64 payload is not base64');
    return decodePacBody(Buffer.from(clean, 'base64'), charsetOf(meta));
  }
  return decodePacBody(Buffer.from(decodeURIComponent(payload), 'utf8'), 'utf-8');
}

function charsetOf(params: readonly string[]): string | undefined {
  for (const p of params) {
    const m = /^charset=["']?([^"';\s]+)/i.exec(p);
    if (m) return m[1]!.toLowerCase();
  }
  return undefined;
}

/** The charset parameter of a Content-Type header, lower-cased. */
export function charsetOfContentType(contentType: string | undefined): string | undefined {
  return contentType === undefined
    ? undefined
    : charsetOf(
        contentType
          .split(';')
          .slice(1)
          .map((p) => p.trim()),
      );
}

function swapBytes(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return out.swap16();
}

/**
 * PAC files in the wild come as UTF-8, UTF-16 (with a BOM, from Windows editors) and
 * Latin-1: a BOM wins, then a declared charset, then UTF-8 if the bytes are valid UTF-8,
 * else Latin-1 (a script is never refused for its encoding).
 */
export function decodePacBody(bytes: Buffer, charset?: string): string {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return bytes.subarray(3).toString('utf8');
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff)
    return swapBytes(bytes.subarray(2)).toString('utf16le');
  if (charset === 'utf-16le' || charset === 'utf-16') return bytes.toString('utf16le');
  if (charset === 'utf-16be') return swapBytes(bytes).toString('utf16le');
  if (charset !== undefined && /^(iso-8859-1|latin1|windows-1252|us-ascii)$/.test(charset)) {
    return bytes.toString('latin1');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

/** The PacSource for a validated `pac` config value ('' means none). */
export function pacSourceOf(value: string): PacSource | undefined {
  if (value === '') return undefined;
  const kind = pacLocationKind(value);
  if (kind === 'url') return { kind: 'url', url: value, display: redactUrl(value) };
  if (kind === 'data') {
    return {
      kind: 'data',
      text: decodeDataUrl(value),
      display: `data: URL (${value.length} chars)`,
    };
  }
  return { kind: 'file', path: value, display: value };
}
