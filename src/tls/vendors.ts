/**
 * The interception vendor catalogue (certs/vendors.json): labels for an already detected
 * interception and the gateways' "untrusted origin" re-sign CAs. Labelling only: a name
 * match never makes a chain trusted or intercepted (customers often bring their own CA).
 */
import type { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CorproxyError } from '../errors.js';
import { parseDn } from './chain.js';

/** The name fields a catalogue entry can match, each a case-insensitive regex. */
export interface VendorMatch {
  readonly issuerCN?: RegExp;
  readonly issuerO?: RegExp;
  readonly subjectCN?: RegExp;
}

/** One compiled catalogue row. */
export interface VendorEntry {
  readonly vendor: string;
  readonly match: VendorMatch;
  /** The vendor's CA for origins that failed its own check: never to be trusted. */
  readonly untrusted?: RegExp;
  readonly notes: string;
}

/** The names of a chain the catalogue is matched against. */
export interface ChainNames {
  /** CN and O of every certificate's issuer. */
  readonly issuerCN: readonly string[];
  readonly issuerO: readonly string[];
  /** CN and O of every CA (or self-signed) certificate's subject. */
  readonly subjectCN: readonly string[];
  readonly subjectO: readonly string[];
}

/**
 * Re-sign CAs for origins the gateway could not verify, whatever the vendor: squid's
 * `Not trusted by "<CA CN>"`, Fortinet_CA_Untrusted, Palo Alto Forward-Untrust, ...
 */
const GENERIC_UNTRUSTED = [/^Not trusted by /i, /untrust/i];

const MATCH_KEYS = ['issuerCN', 'issuerO', 'subjectCN'] as const;

/** Validates and compiles the JSON catalogue; throws CPX_ERR_INTERNAL naming the bad row. */
export function parseCatalogue(json: unknown): VendorEntry[] {
  if (!Array.isArray(json)) throw catalogueError('the catalogue is not a JSON array');
  return json.map((row: unknown, i) => parseRow(row, i));
}

function parseRow(row: unknown, i: number): VendorEntry {
  if (typeof row !== 'object' || row === null) throw catalogueError(`row ${i} is not an object`);
  const r = row as Record<string, unknown>;
  if (typeof r.vendor !== 'string' || r.vendor === '') throw catalogueError(`row ${i}: vendor`);
  if (typeof r.notes !== 'string') throw catalogueError(`row ${i} (${r.vendor}): notes`);
  if (typeof r.match !== 'object' || r.match === null) {
    throw catalogueError(`row ${i} (${r.vendor}): match`);
  }
  const m = r.match as Record<string, unknown>;
  const unknownKey = Object.keys(m).find((k) => !(MATCH_KEYS as readonly string[]).includes(k));
  if (unknownKey !== undefined) throw catalogueError(`row ${i}: unknown match.${unknownKey}`);
  const match: Record<string, RegExp> = {};
  for (const key of MATCH_KEYS) {
    if (m[key] !== undefined) match[key] = compile(m[key], `row ${i} match.${key}`);
  }
  if (Object.keys(match).length === 0) throw catalogueError(`row ${i}: empty match`);
  return {
    vendor: r.vendor,
    match,
    ...(r.untrusted === undefined ? {} : { untrusted: compile(r.untrusted, `row ${i} untrusted`) }),
    notes: r.notes,
  };
}

function compile(pattern: unknown, where: string): RegExp {
  if (typeof pattern !== 'string' || pattern === '') throw catalogueError(`${where}: not a regex`);
  try {
    return new RegExp(pattern, 'i');
  } catch (err) {
    throw catalogueError(`${where}: ${(err as Error).message}`);
  }
}

function catalogueError(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_INTERNAL', `certs/vendors.json: ${message}`);
}

/** Where the catalogue lives relative to this module, in src/tls/ and in dist/tls/ alike. */
export const CATALOGUE_URL = new URL('../../certs/vendors.json', import.meta.url);

/** Reads and compiles a catalogue file (the shipped one by default). */
export function loadCatalogue(
  deps: { readonly url?: URL; readonly read?: (url: URL) => string } = {},
): VendorEntry[] {
  const url = deps.url ?? CATALOGUE_URL;
  const read = deps.read ?? ((u: URL) => readFileSync(u, 'utf8'));
  let text: string;
  try {
    text = read(url);
  } catch (err) {
    throw new CorproxyError('CPX_ERR_INTERNAL', `cannot read ${url.pathname}`, { cause: err });
  }
  try {
    return parseCatalogue(JSON.parse(text));
  } catch (err) {
    if (err instanceof CorproxyError) throw err;
    throw catalogueError((err as Error).message);
  }
}

let shipped: VendorEntry[] | undefined;

/** The shipped catalogue, read once. */
export function defaultCatalogue(): VendorEntry[] {
  shipped ??= loadCatalogue();
  return shipped;
}

/** Collects the names the catalogue is matched against. */
export function chainNames(chain: readonly X509Certificate[]): ChainNames {
  const names = { issuerCN: [], issuerO: [], subjectCN: [], subjectO: [] } as {
    issuerCN: string[];
    issuerO: string[];
    subjectCN: string[];
    subjectO: string[];
  };
  for (const cert of chain) {
    addDn(cert.issuer, names.issuerCN, names.issuerO);
    if (cert.ca || cert.subject === cert.issuer)
      addDn(cert.subject, names.subjectCN, names.subjectO);
  }
  return names;
}

function addDn(dn: string, cns: string[], os: string[]): void {
  for (const [k, v] of parseDn(dn)) {
    if (k === 'CN') cns.push(v);
    else if (k === 'O') os.push(v);
  }
}

/** The first catalogue vendor whose patterns match any of the names. */
export function matchVendor(
  names: ChainNames,
  catalogue: readonly VendorEntry[],
): string | undefined {
  const hit = (re: RegExp | undefined, values: readonly string[]): boolean =>
    re !== undefined && values.some((v) => re.test(v));
  return catalogue.find(
    (e) =>
      hit(e.match.issuerCN, names.issuerCN) ||
      hit(e.match.issuerO, names.issuerO) ||
      hit(e.match.subjectCN, names.subjectCN),
  )?.vendor;
}

/** The vendor label for a chain (leaf first), if any CA name is known. */
export function labelVendor(
  chain: readonly X509Certificate[],
  catalogue: readonly VendorEntry[] = defaultCatalogue(),
): string | undefined {
  return matchVendor(chainNames(chain), catalogue);
}

/** Whether the names show a gateway's "untrusted origin" re-sign CA (§2.4 of the research). */
export function namesAreUntrustedResign(
  names: ChainNames,
  catalogue: readonly VendorEntry[],
): boolean {
  const patterns = [
    ...GENERIC_UNTRUSTED,
    ...catalogue.flatMap((e) => (e.untrusted ? [e.untrusted] : [])),
  ];
  const values = [...names.issuerCN, ...names.issuerO, ...names.subjectCN, ...names.subjectO];
  return values.some((v) => patterns.some((re) => re.test(v)));
}

/**
 * Whether the chain was re-signed by a gateway's "untrusted" CA: the gateway rejected the
 * origin's own certificate, so trusting this CA would hide a real attack.
 */
export function isUntrustedResign(
  chain: readonly X509Certificate[],
  catalogue: readonly VendorEntry[] = defaultCatalogue(),
): boolean {
  return namesAreUntrustedResign(chainNames(chain), catalogue);
}
