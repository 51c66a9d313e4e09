/**
 * Module paths and versions in GOPROXY URLs (`go help goproxy`), ported from the rules of
 * golang.org/x/mod/module: EscapePath / UnescapePath, EscapeVersion / UnescapeVersion,
 * CheckPath and the path-element checks behind them. Upper-case letters travel as `!` plus
 * the lower-case letter, so paths that differ only in case stay distinct on
 * case-insensitive file systems. A path that Go would refuse is refused here too, before
 * anything is sent upstream or written to the cache.
 */

type PathKind = 'module' | 'file';

const BAD_WINDOWS_NAMES = new Set([
  'CON',
  'PRN',
  'AUX',
  'NUL',
  ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`),
]);

/** modPathOK: ASCII letters, digits and `- . _ ~`. */
function modPathChar(c: string): boolean {
  return /^[A-Za-z0-9._~-]$/.test(c);
}

/** fileNameOK for ASCII: letters, digits and `!#$%&()+,-.=@[]^_{}~` and space. */
function fileNameChar(c: string): boolean {
  return /^[A-Za-z0-9!#$%&()+,\-.=@[\]^_{}~ ]$/.test(c);
}

/** Go's checkElem: the reason an element is invalid, or undefined. */
function checkElem(elem: string, kind: PathKind): string | undefined {
  if (elem === '') return 'empty path element';
  if (/^\.+$/.test(elem)) return `invalid path element "${elem}"`;
  if (elem.startsWith('.') && kind === 'module') return 'leading dot in path element';
  if (elem.endsWith('.')) return 'trailing dot in path element';
  for (const c of elem) {
    if (!(kind === 'module' ? modPathChar(c) : fileNameChar(c))) {
      return `invalid char ${JSON.stringify(c)}`;
    }
  }
  const short = elem.split('.')[0] ?? '';
  if (BAD_WINDOWS_NAMES.has(short.toUpperCase())) {
    return `"${short}" disallowed as path element component on Windows`;
  }
  // Windows short names (PROGRA~1) are refused in module paths, not in file names.
  if (kind === 'module' && /~[0-9]+$/.test(short)) {
    return 'trailing tilde and digits in path element';
  }
  return undefined;
}

/** Go's checkPath for module paths. */
function checkPathElems(path: string): string | undefined {
  if (path === '') return 'empty string';
  if (path.startsWith('-')) return 'leading dash';
  if (path.includes('//')) return 'double slash';
  if (path.endsWith('/')) return 'trailing slash';
  for (const elem of path.split('/')) {
    const why = checkElem(elem, 'module');
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Go's splitGopkgIn: gopkg.in paths must end in `.vN` (or `.vN-unstable`). */
function gopkgInOk(path: string): boolean {
  return /\.v(0|[1-9][0-9]*)(-unstable)?$/.test(path);
}

/** Go's SplitPathVersion `ok`: a trailing `/vN` must have N >= 2 and no dot or leading zero. */
function majorSuffixOk(path: string): boolean {
  if (path.startsWith('gopkg.in/')) return gopkgInOk(path);
  const m = /\/v([0-9.]*)$/.exec(path);
  if (m === null || m[1] === '' || m.index === 0) return true;
  const digits = m[1] ?? '';
  return !digits.includes('.') && !digits.startsWith('0') && digits !== '1';
}

/** Go's module.CheckPath: the reason `path` is not a valid module path, or undefined. */
export function checkModulePath(path: string): string | undefined {
  const elems = checkPathElems(path);
  if (elems !== undefined) return elems;
  const first = path.split('/')[0] ?? '';
  if (!first.includes('.')) return 'missing dot in first path element';
  if (!/^[a-z0-9.-]+$/.test(first)) return 'invalid char in first path element (lower case only)';
  if (!majorSuffixOk(path)) return 'invalid version suffix';
  return undefined;
}

/** The reason `version` cannot be a version in a proxy URL (Go: checkElem for file names). */
export function checkVersionText(version: string): string | undefined {
  return checkElem(version, 'file');
}

/** Go's escapeString: upper case → `!` + lower case. Input must be ASCII without `!`. */
function escapeString(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** Go's unescapeString; undefined for upper case, `!` not before a-z, or non-ASCII. */
function unescapeString(escaped: string): string | undefined {
  if ([...escaped].some((c) => (c.codePointAt(0) ?? 0) >= 0x80)) return undefined;
  if (/[A-Z]/.test(escaped) || /!(?![a-z])/.test(escaped)) return undefined;
  return escaped.replace(/!([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** module.EscapePath; throws for a path that fails CheckPath. */
export function escapePath(path: string): string {
  const why = checkModulePath(path);
  if (why !== undefined) throw new TypeError(`invalid module path "${path}": ${why}`);
  return escapeString(path);
}

/** module.EscapeVersion; throws for a version Go would refuse. */
export function escapeVersion(version: string): string {
  const why = version.includes('!') ? 'invalid char "!"' : checkVersionText(version);
  if (why !== undefined) throw new TypeError(`invalid version "${version}": ${why}`);
  return escapeString(version);
}

export type Unescaped = { readonly ok: true; readonly value: string } | { ok: false; why: string };

/** module.UnescapePath: the module path, or why the escaped form is invalid. */
export function unescapePath(escaped: string): Unescaped {
  const value = unescapeString(escaped);
  if (value === undefined) return { ok: false, why: `invalid escaped module path "${escaped}"` };
  const why = checkModulePath(value);
  return why === undefined
    ? { ok: true, value }
    : { ok: false, why: `invalid module path "${value}": ${why}` };
}

/** module.UnescapeVersion: the version, or why the escaped form is invalid. */
export function unescapeVersion(escaped: string): Unescaped {
  const value = unescapeString(escaped);
  if (value === undefined) return { ok: false, why: `invalid escaped version "${escaped}"` };
  const why = checkVersionText(value);
  return why === undefined
    ? { ok: true, value }
    : { ok: false, why: `invalid escaped version "${value}": ${why}` };
}
