/**
 * What a person reads first: a compact table of every check, then the evidence and fix of
 * each WARN and FAIL, a summary line naming the first failing layer and its fix, and the
 * commands to paste. Colours only on a terminal. `--json` gets the same data. Pure.
 */
import { formatRow, printable, type Column } from '../inspect/format.js';
import {
  commandsToPaste,
  firstFailure,
  layerNumber,
  layerTitle,
  type Check,
  type DoctorReport,
  type Status,
} from './types.js';

export interface RenderOptions {
  /** ANSI colours (stdout is a terminal and NO_COLOR is unset). */
  readonly color: boolean;
  /** Width of the detail column. */
  readonly detailWidth?: number;
}

const LABEL: Readonly<Record<Status, string>> = {
  pass: 'PASS',
  warn: 'WARN',
  fail: 'FAIL',
  skip: 'SKIP',
};
const COLOUR: Readonly<Record<Status, string>> = { pass: '32', warn: '33', fail: '31', skip: '2' };

function paint(text: string, status: Status, on: boolean): string {
  return on ? `\u001b[${COLOUR[status]}m${text}\u001b[0m` : text;
}

function counts(checks: readonly Check[]): Record<Status, number> {
  const out: Record<Status, number> = { pass: 0, warn: 0, fail: 0, skip: 0 };
  for (const c of checks) out[c.status] += 1;
  return out;
}

const COLUMNS: readonly Column[] = [
  { width: 1, align: 'right' },
  { width: 8, align: 'left' },
  { width: 38, align: 'left' },
  { width: 6, align: 'left' },
];

/** Where the RESULT cell starts: the widths and separating spaces before it. */
const RESULT_AT = COLUMNS.slice(0, 3).reduce((n, c) => n + c.width + 1, 0);

function tableLines(checks: readonly Check[], opts: RenderOptions): string[] {
  const cols = [...COLUMNS, { width: opts.detailWidth ?? 60, align: 'left' } as Column];
  const head = formatRow(['#', 'LAYER', 'CHECK', 'RESULT', 'DETAIL'], cols);
  const rows = checks.map((c) => {
    const cells = [String(layerNumber(c.layer)), c.layer, printable(c.name), LABEL[c.status]];
    const line = formatRow([...cells, printable(c.summary)], cols);
    // Colour after padding, so escape codes never count as width.
    const label = paint(LABEL[c.status], c.status, opts.color);
    return `${line.slice(0, RESULT_AT)}${label}${line.slice(RESULT_AT + 4)}`;
  });
  return [head, ...rows];
}

function detailLines(c: Check, opts: RenderOptions): string[] {
  const title = `[${layerNumber(c.layer)}] ${printable(c.name)}: ${paint(LABEL[c.status], c.status, opts.color)}`;
  return [
    title,
    `    ${printable(c.summary)}`,
    ...c.evidence.map((e) => `    · ${printable(e)}`),
    ...(c.fix !== undefined ? [`    fix: ${printable(c.fix)}`] : []),
  ];
}

/** The one line naming the first failing layer and its fix (or that nothing failed). */
export function summaryLine(checks: readonly Check[]): string {
  const first = firstFailure(checks);
  const n = counts(checks);
  const tally = `${n.pass} passed, ${n.warn} warning(s), ${n.fail} failed, ${n.skip} skipped`;
  if (first === undefined) return `OK: nothing failed (${tally})`;
  const fix = first.fix !== undefined ? ` — fix: ${first.fix}` : '';
  return `FAIL at layer ${layerNumber(first.layer)} (${layerTitle(first.layer)}): ${first.name}: ${first.summary}${fix} (${tally})`;
}

/** The whole human report. */
export function renderReport(report: DoctorReport, opts: RenderOptions): string[] {
  const what = [...report.modules, ...report.urls].join(', ');
  const daemon = report.daemonRunning ? 'daemon running' : 'daemon not running';
  const lines = [
    `corproxy doctor: ${what}; GOPROXY=${report.goproxy} (from ${report.goSettingsFrom}); ${daemon}`,
    '',
    ...tableLines(report.checks, opts),
  ];
  const notable = report.checks.filter((c) => c.status === 'fail' || c.status === 'warn');
  if (notable.length > 0) lines.push('', ...notable.flatMap((c) => detailLines(c, opts)));
  lines.push('', printable(summaryLine(report.checks)));
  const commands = commandsToPaste(report.checks);
  if (commands.length > 0) lines.push('', 'Commands to paste:', ...commands.map((c) => `  ${c}`));
  return lines;
}

/** The `--json` document. */
export function reportJson(report: DoctorReport): Record<string, unknown> {
  const first = firstFailure(report.checks);
  return {
    ok: first === undefined,
    firstFailure:
      first === undefined
        ? null
        : {
            layer: layerNumber(first.layer),
            layerId: first.layer,
            title: layerTitle(first.layer),
            check: first.name,
            summary: first.summary,
            fix: first.fix ?? null,
            code: first.code ?? null,
          },
    counts: counts(report.checks),
    modules: report.modules,
    urls: report.urls,
    goproxy: report.goproxy,
    gosumdb: report.gosumdb,
    goSettingsFrom: report.goSettingsFrom,
    daemonRunning: report.daemonRunning,
    checks: report.checks.map(({ layer, ...rest }) => ({
      layer: layerNumber(layer),
      layerId: layer,
      ...rest,
    })),
    commands: commandsToPaste(report.checks),
  };
}
