/**
 * `corproxy trust [HOST...] [--ca FILE] [--fingerprint SHA256] [--yes] [--remove SHA256]`
 * (DESIGN.md §7): probes the hosts over corproxy's route, finds the intercepting CA, shows
 * it, asks a person (or takes --yes with the fingerprint, or trust.fingerprints), then
 * writes ca-bundle.pem, corp-ca.pem and manifest.json atomically. Idempotent.
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { Config } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { formatAuthority } from '../proxy/http1.js';
import type { CorporateCa } from '../tls/bundle.js';
import {
  baseRoots,
  bundlePaths,
  readApproved,
  writeBundleFiles,
  type BundlePaths,
  type StoredManifest,
} from '../tls/bundle-files.js';
import { describe, parsePem } from '../tls/chain.js';
import { aiaFetcher, type AiaDeps, type RouteContext } from '../tls/route-probe.js';
import type { SystemRoots } from '../tls/system-roots.js';
import {
  approveCandidates,
  findCandidates,
  nextCorporate,
  normalizeFingerprint,
  type Approval,
  type Candidate,
  type SourcedCert,
} from '../tls/trust-flow.js';
import {
  defaultProbeDeps,
  probeTargets,
  rootsFor,
  routeOptions,
  targetsFor,
  withRouteContext,
  type ProbeCliDeps,
  type RouteArgs,
} from './detect.js';

export interface TrustArgs extends RouteArgs {
  readonly targets?: readonly string[];
  readonly ca?: readonly string[];
  readonly fingerprint?: readonly string[];
  readonly yes?: boolean;
  readonly remove?: string;
  readonly bundle?: string;
}

export interface TrustDeps extends ProbeCliDeps {
  /** stdin is a terminal, so a person can answer the question. */
  readonly interactive: boolean;
  readonly confirm: (question: string) => Promise<boolean>;
  readonly readFile?: (path: string) => Promise<Buffer>;
  readonly systemRoots?: (sslCertFile: string | undefined) => Promise<SystemRoots>;
  readonly aia?: AiaDeps;
  readonly now?: () => Date;
}

export interface TrustOutcome {
  readonly paths: BundlePaths;
  readonly approvals: readonly Approval[];
  /** Whether the three files were (re)written. */
  readonly written: boolean;
}

function usage(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_USAGE', message);
}

function fingerprintsOf(values: readonly string[] | undefined, flag: string): string[] {
  return (values ?? []).map((v) => {
    const fp = normalizeFingerprint(v);
    if (fp === undefined) throw usage(`${flag} ${v} is not a SHA-256 fingerprint (64 hex digits)`);
    return fp;
  });
}

/** The certificates of the --ca files, PEM or DER. */
async function readCaFiles(files: readonly string[], deps: TrustDeps): Promise<SourcedCert[]> {
  const read = deps.readFile ?? ((p: string) => readFile(p));
  const out: SourcedCert[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await read(file);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw usage(`--ca ${file}: cannot read it (${why})`);
    }
    const pem = parsePem(bytes.toString('latin1')).certs;
    const certs = pem.length > 0 ? pem : derCert(bytes);
    if (certs.length === 0) throw usage(`--ca ${file}: holds no certificate (PEM or DER)`);
    out.push(...certs.map((cert) => ({ cert, source: `file:${resolve(file)}` })));
  }
  return out;
}

function derCert(bytes: Buffer): X509Certificate[] {
  try {
    return [new X509Certificate(bytes)];
  } catch {
    return [];
  }
}

/** What `show` prints before any question: everything needed to compare out of band. */
export function candidateLines(c: Candidate): string[] {
  const d = c.result.ok ? c.result.cert : describe(c.cert);
  const lines = [
    `Candidate CA for ${c.hosts.join(', ')}${c.vendor ? ` (${c.vendor})` : ''}`,
    `  subject   ${d.subject}`,
    `  issuer    ${d.issuer}`,
    `  sha256    ${d.sha256}`,
    `  valid     ${d.notBefore} to ${d.notAfter}`,
    `  key       ${d.keyType}`,
    `  found     ${c.source}`,
  ];
  if (c.result.ok) {
    lines.push(
      `  anchor    ${c.result.anchor}`,
      '  checks    a CA; valid now; not a public root; not a gateway "untrusted" CA;',
      '            signature verified on every link from the leaf up to it',
      ...c.result.warnings.map((w) => `  warning   ${w}`),
    );
  } else {
    lines.push(`  refused   ${c.result.error.message}`);
  }
  return [...lines, ...c.notes.map((n) => `  note      ${n}`)];
}

/** Removes one approved CA and rewrites the files. */
async function runRemove(
  args: TrustArgs,
  paths: BundlePaths,
  approved: { corporate: CorporateCa[]; manifest: StoredManifest | undefined },
  ctx: { deps: TrustDeps; env: Readonly<Record<string, string | undefined>>; now: Date },
): Promise<TrustOutcome> {
  const selecting =
    (args.targets?.length ?? 0) + (args.ca?.length ?? 0) + (args.fingerprint?.length ?? 0);
  if (selecting > 0 || args.yes === true) {
    throw usage('--remove takes no hosts, --ca, --fingerprint or --yes');
  }
  const [fp] = fingerprintsOf([args.remove ?? ''], '--remove');
  const corporate = nextCorporate(approved.corporate, [], ctx.now, fp);
  await write(paths, corporate, approved.manifest, ctx);
  ctx.deps.print(`removed ${fp}; ${corporate.length} corporate CA(s) left in ${paths.corporate}`);
  return { paths, approvals: [], written: true };
}

async function write(
  paths: BundlePaths,
  corporate: readonly CorporateCa[],
  previous: StoredManifest | undefined,
  ctx: { deps: TrustDeps; env: Readonly<Record<string, string | undefined>>; now: Date },
): Promise<void> {
  const written = await writeBundleFiles(paths, corporate, previous, {
    now: ctx.now,
    ...(ctx.env.SSL_CERT_FILE ? { sslCertFile: ctx.env.SSL_CERT_FILE } : {}),
    ...(ctx.deps.systemRoots ? { systemRoots: ctx.deps.systemRoots } : {}),
  });
  for (const w of written.warnings) ctx.deps.print(`warning: ${w}`);
  const { total, corporate: corp } = written.manifest.counts;
  ctx.deps.print(
    `${written.changed ? 'wrote' : 'unchanged'}: ${paths.bundle} (${total} certificates, ${corp} corporate), ${paths.corporate}, ${paths.manifest}`,
  );
}

/** Probes, finds and validates the candidates (AIA over the same route). */
async function candidatesFor(
  args: TrustArgs,
  config: Config,
  paths: BundlePaths,
  ctx: { deps: TrustDeps; env: Readonly<Record<string, string | undefined>>; now: Date },
) {
  const { deps, env, now } = ctx;
  const userCerts = await readCaFiles(args.ca ?? [], deps);
  const targets = targetsFor(args.targets ?? [], config, env);
  if (targets.length === 0) throw usage('nothing to probe: name a host or set probe.watch');
  const roots = rootsFor(config, deps.nodeRoots);
  const base = await baseRoots(paths, {
    ...(env.SSL_CERT_FILE ? { sslCertFile: env.SSL_CERT_FILE } : {}),
    ...(deps.systemRoots ? { systemRoots: deps.systemRoots } : {}),
  });
  const systemCerts = base.roots
    .filter((r) => r.source !== 'mozilla')
    .flatMap((r) => parsePem(r.pem).certs.map((cert) => ({ cert, source: r.source })));
  return withRouteContext(config, deps, async (route: RouteContext) => {
    const probes = await probeTargets(route, targets, deps);
    const report = await findCandidates({
      observations: probes.map((p) => ({
        host: formatAuthority(p.probe),
        chain: p.probe.chain,
        classification: p.classification,
      })),
      userCerts,
      systemCerts,
      publicRoots: roots.mozilla,
      now,
      fetchIssuer: aiaFetcher(route, config.probe.timeoutMs, deps.aia),
    });
    const allFailed = probes.every((p) => p.classification.verdict === 'probe-failed');
    return { report, allFailed };
  });
}

/** Runs trust; prints as it goes; throws CorproxyError for every refusal. */
export async function runTrust(args: TrustArgs, deps: TrustDeps): Promise<TrustOutcome> {
  const config = deps.loadConfig(args);
  const paths = bundlePaths(config, args.bundle === undefined ? undefined : resolve(args.bundle));
  const ctx = { deps, env: deps.env, now: deps.now?.() ?? new Date() };
  const approved = await readApproved(paths);
  if (args.remove !== undefined) return runRemove(args, paths, approved, ctx);
  const wanted = fingerprintsOf(args.fingerprint, '--fingerprint');
  if (args.yes === true && wanted.length === 0) {
    throw usage('--yes needs --fingerprint SHA256: compare the fingerprint out of band first');
  }
  const { report, allFailed } = await candidatesFor(args, config, paths, ctx);
  for (const line of report.skipped) deps.print(`skipped: ${line}`);
  const refused = report.candidates.filter((c) => !c.result.ok);
  for (const c of refused) deps.print(candidateLines(c).join('\n'));
  const named = refused.find((c) => wanted.includes(c.cert.fingerprint256));
  if (named !== undefined && !named.result.ok) throw named.result.error;
  const valid = report.candidates.filter((c) => c.result.ok);
  if (valid.length === 0) {
    const first =
      report.refusals[0] ?? refused.map((c) => (c.result.ok ? undefined : c.result.error))[0];
    if (first !== undefined) throw first;
    if (allFailed)
      throw new CorproxyError(
        'CPX_ERR_TLS_PROBE',
        'no probe completed; run "corproxy detect" for details',
      );
    if ((args.ca?.length ?? 0) > 0 || wanted.length > 0) {
      throw new CorproxyError(
        'CPX_ERR_TRUST_REJECTED',
        'no intercepted chain to check the CA against; nothing written',
      );
    }
    deps.print('nothing to trust: no probed host is intercepted; nothing written');
    return { paths, approvals: [], written: false };
  }
  const approvals = await approveCandidates(
    valid,
    {
      fingerprints: wanted,
      preApproved: config.trust.fingerprints,
      yes: args.yes === true,
      interactive: deps.interactive,
      alreadyApproved: new Set(
        approved.corporate.flatMap((c) => parsePem(c.pem).certs.map((x) => x.fingerprint256)),
      ),
    },
    {
      show: (c) => deps.print(candidateLines(c).join('\n')),
      print: deps.print,
      confirm: deps.confirm,
    },
  );
  if (approvals.length === 0) {
    throw new CorproxyError('CPX_ERR_TRUST_REJECTED', 'no CA was approved; nothing written');
  }
  for (const a of approvals) deps.print(`approved (${a.how}): ${a.candidate.cert.fingerprint256}`);
  const corporate = nextCorporate(approved.corporate, approvals, ctx.now);
  await write(paths, corporate, approved.manifest, ctx);
  deps.print('next: run "corproxy env" and paste its lines (SSL_CERT_FILE and friends)');
  return { paths, approvals, written: true };
}

/** Asks on the terminal; the question goes to stderr so stdout stays the report. */
async function askTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export const trustCommand = {
  command: 'trust [targets..]',
  describe: 'find, check and approve the intercepting corporate CA; write the CA bundle',
  builder: (y: Argv) =>
    routeOptions(y)
      .positional('targets', {
        type: 'string',
        array: true,
        describe: 'HOST[:PORT] to probe (default: probe.watch + GOPROXY hosts)',
      })
      .option('ca', {
        type: 'string',
        array: true,
        describe: 'PEM/DER file holding the CA (repeatable)',
      })
      .option('fingerprint', {
        type: 'string',
        array: true,
        describe: 'SHA-256 of the CA to approve',
      })
      .option('yes', { type: 'boolean', describe: 'approve without asking (needs --fingerprint)' })
      .option('remove', { type: 'string', describe: 'SHA-256 of an approved CA to take out' })
      .option('bundle', {
        type: 'string',
        describe: 'write ca-bundle.pem here instead (trust.bundle)',
      }),
  handler: async (argv: ArgumentsCamelCase<TrustArgs>) => {
    await runTrust(argv, {
      ...defaultProbeDeps(),
      interactive: process.stdin.isTTY === true,
      confirm: askTerminal,
    });
  },
};
