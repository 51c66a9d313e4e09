/**
 * GOPRIVATE / GONOPROXY module-path globs. Go matches them with path.Match against the
 * leading path elements of a module path (golang.org/x/mod module.MatchPrefixPatterns);
 * for routing a connection only the first element, the host, matters.
 *
 * `matchPath` is a port of Go's path.Match, reusable wherever a module path is matched.
 * Characters are Unicode code points, as Go's runes (patterns here are ASCII in practice).
 */
import { CorproxyError } from '../errors.js';
import { viewHost, type DirectRule } from './no-proxy.js';

/** A run of single-character terms, optionally preceded by a `*`. */
interface Chunk {
  readonly star: boolean;
  readonly text: string;
}

const FAIL = -1;
const BAD = -2;

function malformed(glob: string, why: string): CorproxyError {
  return new CorproxyError('CPX_ERR_CONFIG_INVALID', `module glob "${glob}": ${why}`, {
    details: { pattern: glob },
  });
}

/** Go's scanChunk: leading stars, then everything up to the next `*` outside `[...]`. */
function scanChunks(pattern: string): Chunk[] {
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < pattern.length) {
    let star = false;
    while (pattern[i] === '*') {
      star = true;
      i++;
    }
    let j = i;
    let inRange = false;
    for (; j < pattern.length; j++) {
      const c = pattern[j];
      if (c === '\\') j++;
      else if (c === '[') inRange = true;
      else if (c === ']') inRange = false;
      else if (c === '*' && !inRange) break;
    }
    chunks.push({ star, text: pattern.slice(i, Math.min(j, pattern.length)) });
    i = j;
  }
  return chunks;
}

function width(s: string, i: number): number {
  return (s.codePointAt(i) as number) > 0xffff ? 2 : 1;
}

/** Go's getEsc: one possibly escaped class character; null when malformed. */
function classChar(chunk: string, j: number): { readonly r: number; readonly next: number } | null {
  const c = chunk[j];
  if (c === undefined || c === '-' || c === ']') return null;
  let k = j;
  if (c === '\\' && ++k >= chunk.length) return null;
  const next = k + width(chunk, k);
  return next < chunk.length ? { r: chunk.codePointAt(k) as number, next } : null;
}

/** Matches `[...]` starting at chunk[j] against code point r; returns [next j, matched]. */
function matchClass(chunk: string, j: number, r: number): [number, boolean] | null {
  let k = j + 1;
  const negated = chunk[k] === '^';
  if (negated) k++;
  let matched = false;
  for (let n = 0; !(chunk[k] === ']' && n > 0); n++) {
    const lo = classChar(chunk, k);
    if (lo === null) return null;
    let hi = lo;
    if (chunk[lo.next] === '-') {
      const h = classChar(chunk, lo.next + 1);
      if (h === null) return null;
      hi = h;
    }
    if (lo.r <= r && r <= hi.r) matched = true;
    k = hi.next;
  }
  return [k + 1, matched !== negated];
}

/**
 * Go's matchChunk: matches chunk at name[from]. Returns the index after the match, FAIL,
 * or BAD for a malformed chunk (checked even after a mismatch, as Go does).
 */
function matchChunk(chunk: string, name: string, from: number): number {
  let failed = false;
  let i = from;
  let j = 0;
  while (j < chunk.length) {
    if (i >= name.length) failed = true;
    const c = chunk[j];
    if (c === '[') {
      const r = failed ? -1 : (name.codePointAt(i) as number);
      if (!failed) i += width(name, i);
      const cls = matchClass(chunk, j, r);
      if (cls === null) return BAD;
      [j] = cls;
      if (!cls[1]) failed = true;
    } else if (c === '?') {
      if (!failed && name[i] === '/') failed = true;
      if (!failed) i += width(name, i);
      j++;
    } else {
      if (c === '\\' && ++j >= chunk.length) return BAD;
      if (!failed && chunk[j] !== name[i]) failed = true;
      i++;
      j++;
    }
  }
  return failed ? FAIL : i;
}

/** The body of Go's path.Match over pre-scanned, already validated chunks. */
function matchChunks(chunks: readonly Chunk[], name: string): boolean {
  let pos = 0;
  next: for (let k = 0; k < chunks.length; k++) {
    const { star, text } = chunks[k] as Chunk;
    const last = k === chunks.length - 1;
    // Trailing * matches the rest of the name unless it has a `/`.
    if (star && text === '') return name.indexOf('/', pos) < 0;
    const at = matchChunk(text, name, pos);
    if (at >= 0 && (at === name.length || !last)) {
      pos = at;
      continue;
    }
    // A star may skip characters, but never a `/`.
    for (let i = pos; star && i < name.length && name[i] !== '/'; i++) {
      const after = matchChunk(text, name, i + 1);
      if (after < 0 || (last && after < name.length)) continue;
      pos = after;
      continue next;
    }
    return false;
  }
  return pos === name.length;
}

/** Scans and validates a path.Match pattern; throws for what Go calls ErrBadPattern. */
function compilePattern(pattern: string, glob: string): Chunk[] {
  const chunks = scanChunks(pattern);
  if (chunks.some((c) => matchChunk(c.text, '', 0) === BAD)) {
    throw malformed(glob, 'syntax error in pattern (check "[...]" classes and "\\" escapes)');
  }
  return chunks;
}

/**
 * Go's path.Match: `*` = any run of non-`/` characters, `?` = one non-`/` character,
 * `[...]` classes with ranges and `^`, `\` escapes. Throws CPX_ERR_CONFIG_INVALID for a
 * malformed pattern, where Go returns ErrBadPattern.
 */
export function matchPath(pattern: string, name: string): boolean {
  return matchChunks(compilePattern(pattern, pattern), name);
}

/**
 * Splits GOPRIVATE/GONOPROXY like module.MatchPrefixPatterns: on commas, one trailing `/`
 * dropped, empties skipped. Go does not trim spaces, so neither does this.
 */
export function parseModuleGlobList(value: string): string[] {
  return value
    .split(',')
    .map((g) => (g.endsWith('/') ? g.slice(0, -1) : g))
    .filter((g) => g !== '');
}

/**
 * Compiles a module-path glob into a host rule on its first path element: `*.corp.example`
 * sends every corp.example subdomain direct; `github.com/corp/*` sends all of github.com
 * direct (a connection carries a host, not a module path).
 */
export function compileModuleGlob(glob: string): DirectRule {
  const trimmed = glob.endsWith('/') ? glob.slice(0, -1) : glob;
  if (trimmed === '') throw malformed(glob, 'empty glob');
  if (/\s/.test(trimmed)) {
    throw malformed(
      glob,
      'contains whitespace; Go does not trim GOPRIVATE entries, so it never matches',
    );
  }
  // A glob Go cannot parse makes nothing private, so it must not route anything either.
  compilePattern(trimmed, glob);
  const host = trimmed.split('/')[0] as string;
  if (host === '') throw malformed(glob, 'starts with "/"; module paths start with a host');
  // Host names are case-insensitive; module paths are written in lower case.
  const chunks = compilePattern(host.toLowerCase(), glob);
  return Object.freeze({
    pattern: glob,
    rule: `GOPRIVATE "${glob}"`,
    matches: (target: string) => matchChunks(chunks, viewHost(target).name),
  });
}
