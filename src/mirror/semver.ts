/**
 * The parts of Go's semantic versions (golang.org/x/mod/semver) the mirror needs: validity,
 * the canonical form, ordering, and module.CanonicalVersion's `+incompatible` rule. A
 * canonical version names one immutable artifact; anything else (`master`, `v1.2`) is a
 * query whose answer can change.
 */

interface Parsed {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
  /** Including the leading `-`, or ''. */
  readonly prerelease: string;
  /** Including the leading `+`, or ''. */
  readonly build: string;
}

const NUM = '0|[1-9][0-9]*';
const IDENT = '[0-9A-Za-z-]+';
const SEMVER = new RegExp(
  `^v(${NUM})(?:\\.(${NUM})(?:\\.(${NUM})(-${IDENT}(?:\\.${IDENT})*)?(\\+${IDENT}(?:\\.${IDENT})*)?)?)?$`,
);

function parse(v: string): Parsed | undefined {
  const m = SEMVER.exec(v);
  if (m === null) return undefined;
  const prerelease = m[4] ?? '';
  // Numeric prerelease identifiers must not have leading zeros (semver 2.0.0 §9).
  if (
    prerelease
      .slice(1)
      .split('.')
      .some((id) => /^0[0-9]+$/.test(id))
  )
    return undefined;
  return {
    major: m[1] ?? '0',
    minor: m[2] ?? '0',
    patch: m[3] ?? '0',
    prerelease,
    build: m[5] ?? '',
  };
}

/** semver.IsValid. */
export function isValid(v: string): boolean {
  return parse(v) !== undefined;
}

/** semver.Canonical: vMAJOR.MINOR.PATCH[-pre], build metadata dropped; '' when invalid. */
export function canonical(v: string): string {
  const p = parse(v);
  return p === undefined ? '' : `v${p.major}.${p.minor}.${p.patch}${p.prerelease}`;
}

/**
 * True when `v` is what module.CanonicalVersion returns for it: the canonical form, or the
 * canonical form plus `+incompatible`. Such a version names immutable content.
 */
export function isCanonicalModuleVersion(v: string): boolean {
  const c = canonical(v);
  return c !== '' && (v === c || v === `${c}+incompatible`);
}

/** semver.Prerelease != ''. */
export function isPrerelease(v: string): boolean {
  return (parse(v)?.prerelease ?? '') !== '';
}

function compareNumber(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareIdent(a: string, b: string): number {
  const an = /^[0-9]+$/.test(a);
  const bn = /^[0-9]+$/.test(b);
  if (an && bn) return compareNumber(a, b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semver §11: a version without prerelease ranks above one with it. */
function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const x = a.slice(1).split('.');
  const y = b.slice(1).split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareIdent(x[i] ?? '', y[i] ?? '');
    if (c !== 0) return c;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** semver.Compare: an invalid version ranks below every valid one (and equals another). */
export function compare(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  if (x === undefined || y === undefined) return x === y ? 0 : x === undefined ? -1 : 1;
  return (
    compareNumber(x.major, y.major) ||
    compareNumber(x.minor, y.minor) ||
    compareNumber(x.patch, y.patch) ||
    comparePrerelease(x.prerelease, y.prerelease)
  );
}
