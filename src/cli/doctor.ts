/**
 * `corproxy doctor [MODULE|URL...]`: layer-by-layer diagnosis of the Go module download
 * path (src/doctor/): the environment as Go reads it, corproxy itself, DNS, TCP, CONNECT,
 * TLS and the module proxy protocol, each PASS / WARN / FAIL with evidence and a fix.
 * Runs with or without a daemon. Exit 0 only when nothing FAILs; otherwise the exit code
 * of the first failure's error code (69 for an unreachable or refusing upstream, 78 for a
 * bad configuration, 1 for the rest).
 */
import os from 'node:os';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { envSnapshot, loadConfig, parseConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import {
  CorproxyError,
  ERROR_CODES,
  EXIT,
  isCorproxyError,
  toExitCode,
  type ErrorCode,
} from '../errors.js';
import { runDoctor, type DoctorDeps } from '../doctor/runner.js';
import { renderReport, reportJson } from '../doctor/render.js';
import { parseDoctorArgs } from '../doctor/targets.js';
import { firstFailure, type DoctorReport } from '../doctor/types.js';
import { configFlags, routeOptions, type RouteArgs } from './detect.js';

/** The command-line arguments of `corproxy doctor`. */
export interface DoctorArgs extends RouteArgs {
  readonly targets?: readonly string[];
  readonly json?: boolean;
}

/** The world of the command: doctor's own deps plus config loading and output. */
export interface DoctorCliDeps extends Omit<DoctorDeps, 'config' | 'configError'> {
  readonly loadConfig: (flags: RouteArgs) => Config;
  /** The built-in defaults, used when the configuration cannot be loaded. */
  readonly fallbackConfig: () => Config;
  readonly print: (text: string) => void;
  /** stdout is a terminal: colours on (unless NO_COLOR is set). */
  readonly tty: boolean;
}

/** The report and the exit code the command ends with. */
export interface DoctorOutcome {
  readonly report: DoctorReport;
  readonly exitCode: number;
}

const CONFIG_CODES = new Set(['CPX_ERR_CONFIG_INVALID', 'CPX_ERR_CONFIG_READ']);
const KNOWN = new Set<string>(ERROR_CODES.map(([code]) => code));

/** 0 when nothing failed; else the exit code of the first failure's error code, or 1. */
export function exitCodeOf(report: DoctorReport): number {
  const first = firstFailure(report.checks);
  if (first === undefined) return EXIT.OK;
  if (first.code !== undefined && KNOWN.has(first.code)) {
    return toExitCode(new CorproxyError(first.code as ErrorCode, first.summary));
  }
  return EXIT.FAILURE;
}

function load(
  args: DoctorArgs,
  deps: DoctorCliDeps,
): { config: Config; configError?: CorproxyError } {
  try {
    return { config: deps.loadConfig(configFlags(args)) };
  } catch (err) {
    if (!isCorproxyError(err) || !CONFIG_CODES.has(err.code)) throw err;
    return { config: deps.fallbackConfig(), configError: err };
  }
}

/** Runs doctor, prints the report, returns it with the exit code. */
export async function runDoctorCommand(
  args: DoctorArgs,
  deps: DoctorCliDeps,
): Promise<DoctorOutcome> {
  const targets = parseDoctorArgs(args.targets ?? []);
  const { config, configError } = load(args, deps);
  const report = await runDoctor(targets, { ...deps, config, ...(configError && { configError }) });
  if (args.json === true) {
    deps.print(`${JSON.stringify(reportJson(report), null, 2)}\n`);
  } else {
    const color = deps.tty && (deps.env.NO_COLOR ?? '') === '';
    deps.print(`${renderReport(report, { color }).join('\n')}\n`);
  }
  return { report, exitCode: exitCodeOf(report) };
}

/** The real world: process environment, stdout, config files. */
export function defaultDoctorDeps(): DoctorCliDeps {
  const env = envSnapshot();
  return {
    env,
    platform: process.platform,
    loadConfig: (flags) => loadConfig(flags),
    fallbackConfig: () =>
      parseConfig({ env: {}, flags: {}, platform: process.platform, homedir: os.homedir() }),
    print: (text) => void process.stdout.write(text),
    tty: process.stdout.isTTY === true,
  };
}

/** The yargs command; main.ts registers it. */
export const doctorCommand = {
  command: 'doctor [targets..]',
  describe: 'diagnose the Go module download path layer by layer, with a fix per failure',
  builder: (y: Argv) =>
    routeOptions(y)
      .positional('targets', {
        type: 'string',
        array: true,
        describe: 'MODULE paths or http(s):// URLs (default: golang.org/x/text)',
      })
      .option('json', { type: 'boolean', describe: 'print the checks as JSON' }),
  handler: async (argv: ArgumentsCamelCase<DoctorArgs>) => {
    const { exitCode } = await runDoctorCommand(argv, defaultDoctorDeps());
    process.exitCode = exitCode;
  },
};
