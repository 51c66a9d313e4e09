/**
 * The vocabulary of `corproxy doctor`: seven layers checked in order, each check a
 * PASS / WARN / FAIL (or SKIP when an earlier layer already failed for the same hop) with
 * evidence, a `fix:` line and the commands to paste. Pure.
 */

export type Status = 'pass' | 'warn' | 'fail' | 'skip';

/** The layers in the order a request from `go` crosses them. */
export const LAYERS = Object.freeze([
  { n: 1, id: 'env', title: 'environment as Go reads it' },
  { n: 2, id: 'corproxy', title: 'corproxy itself' },
  { n: 3, id: 'dns', title: 'DNS' },
  { n: 4, id: 'tcp', title: 'TCP' },
  { n: 5, id: 'connect', title: 'CONNECT through the upstream' },
  { n: 6, id: 'tls', title: 'TLS and the CA bundle Go uses' },
  { n: 7, id: 'goproxy', title: 'module proxy protocol' },
] as const);

/** `env`, `corproxy`, `dns`, `tcp`, `connect`, `tls`, `goproxy`. */
export type LayerId = (typeof LAYERS)[number]['id'];

/** One row of the report. */
export interface Check {
  readonly layer: LayerId;
  /** Short name of what was checked, e.g. `CONNECT proxy.golang.org:443`. */
  readonly name: string;
  readonly status: Status;
  /** One line: what was found. */
  readonly summary: string;
  /** What the verdict rests on: values read, answers received, timings. */
  readonly evidence: readonly string[];
  /** One line: what to do about a WARN or FAIL. */
  readonly fix?: string;
  /** Commands to paste, exactly. */
  readonly commands?: readonly string[];
  /** The CorproxyError code behind a failure, when there was one. */
  readonly code?: string;
}

export interface CheckExtras {
  readonly evidence?: readonly string[];
  readonly fix?: string;
  readonly commands?: readonly string[];
  readonly code?: string;
}

/** Builds a check; empty extras are left out so JSON output stays small. */
export function check(
  layer: LayerId,
  name: string,
  status: Status,
  summary: string,
  extras: CheckExtras = {},
): Check {
  return {
    layer,
    name,
    status,
    summary,
    evidence: extras.evidence ?? [],
    ...(extras.fix !== undefined && { fix: extras.fix }),
    ...(extras.commands !== undefined &&
      extras.commands.length > 0 && {
        commands: extras.commands,
      }),
    ...(extras.code !== undefined && { code: extras.code }),
  };
}

/** The layer number (1-7) of a layer id. */
export function layerNumber(id: LayerId): number {
  return LAYERS.find((l) => l.id === id)?.n ?? 0;
}

/** The layer's title, for the summary line. */
export function layerTitle(id: LayerId): string {
  return LAYERS.find((l) => l.id === id)?.title ?? id;
}

/** Everything one doctor run found, in layer order. */
export interface DoctorReport {
  /** The modules checked in layer 7, and the URLs named on the command line. */
  readonly modules: readonly string[];
  readonly urls: readonly string[];
  /** GOPROXY and GOSUMDB as Go reads them, and where they came from. */
  readonly goproxy: string;
  readonly gosumdb: string;
  readonly goSettingsFrom: string;
  /** Whether a running daemon answered /status. */
  readonly daemonRunning: boolean;
  readonly checks: readonly Check[];
}

/** The first FAIL in layer order (checks are already in order). */
export function firstFailure(checks: readonly Check[]): Check | undefined {
  return checks.find((c) => c.status === 'fail');
}

/** Commands of the failing checks, then of the warnings, each once. */
export function commandsToPaste(checks: readonly Check[]): string[] {
  const ordered = [
    ...checks.filter((c) => c.status === 'fail'),
    ...checks.filter((c) => c.status === 'warn'),
  ];
  return [...new Set(ordered.flatMap((c) => c.commands ?? []))];
}
