/**
 * `corproxy log`: reads the connection log (rotated files too) as a table, a per-host
 * summary or JSON lines, filtered by --since, --host and --errors; --follow tails it
 * across rotation. Malformed lines are counted on stderr and skipped, never fatal.
 */
import path from 'node:path';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { Config } from '../config/types.js';
import { CorproxyError, EXIT } from '../errors.js';
import type { ConnectionRecord } from '../events.js';
import { followLog } from '../inspect/log-follow.js';
import {
  compileHostPattern,
  matchesFilter,
  parseSince,
  type LogFilter,
} from '../inspect/log-filter.js';
import { summarize } from '../inspect/log-summary.js';
import {
  createRecordPrinter,
  recordHeader,
  recordTable,
  summaryTable,
  type TableOptions,
} from '../inspect/log-table.js';
import { loadInspectConfig } from '../inspect/load-config.js';
import { readLogFiles, type MalformedLine } from '../log/read-log.js';
import { readStatusFile, type DaemonStatus } from '../service/instance-lock.js';

export interface LogArgs {
  readonly config?: string;
  readonly stateDir?: string;
  readonly file?: string;
  readonly follow?: boolean;
  readonly since?: string;
  readonly host?: string;
  readonly errors?: boolean;
  readonly summary?: boolean;
  readonly json?: boolean;
  readonly utc?: boolean;
}

export interface LogDeps {
  readonly config: Config;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly now?: () => number;
  /** Terminal width (80 when unknown). */
  readonly columns?: number;
  /** The daemon's status file, which names the log file it writes. */
  readonly readStatus?: (stateDir: string) => DaemonStatus | undefined;
  /** Ends --follow (SIGINT in the bin). */
  readonly signal?: AbortSignal;
  readonly followIntervalMs?: number;
}

type Malformed = MalformedLine & { readonly file: string };

/** How many malformed line numbers the warning names. */
const SHOWN_MALFORMED = 5;

function usage(message: string): CorproxyError {
  return new CorproxyError('CPX_ERR_USAGE', message);
}

/** --file, else the file the running daemon publishes, else the config's log.file. */
export function logFileOf(args: LogArgs, deps: LogDeps): string {
  if (args.file !== undefined && args.file !== '') return path.resolve(args.file);
  let published: string | undefined;
  try {
    published = (deps.readStatus ?? readStatusFile)(deps.config.stateDir)?.logFile;
  } catch {
    // A damaged status file only loses the hint; the config still names the log.
  }
  const file = published || deps.config.log.file;
  if (file === '') {
    throw usage('the connection log is off (log.file: off); set log.file or pass --file FILE');
  }
  return file;
}

export function filterOf(args: LogArgs, now: number): LogFilter {
  return {
    ...(args.since !== undefined && { since: parseSince(args.since, now) }),
    ...(args.host !== undefined && { host: compileHostPattern(args.host) }),
    ...(args.errors === true && { errorsOnly: true }),
  };
}

/** One stderr line: how many lines were skipped and where the first ones are. */
export function malformedWarning(malformed: readonly Malformed[]): string | undefined {
  if (malformed.length === 0) return undefined;
  const where = malformed
    .slice(0, SHOWN_MALFORMED)
    .map((m) => `${path.basename(m.file)}:${m.line}`)
    .join(', ');
  const more = malformed.length > SHOWN_MALFORMED ? ', …' : '';
  const noun = malformed.length === 1 ? 'line is' : 'lines are';
  return `corproxy: warning: ${malformed.length} malformed log ${noun} skipped (${where}${more})\n`;
}

function tableOptions(args: LogArgs, deps: LogDeps): TableOptions {
  return { width: deps.columns ?? 80, utc: args.utc === true };
}

function printBatch(records: readonly ConnectionRecord[], args: LogArgs, deps: LogDeps): void {
  const opts = tableOptions(args, deps);
  let lines: string[];
  if (args.summary === true) {
    const rows = summarize(records);
    lines = args.json === true ? rows.map((r) => JSON.stringify(r)) : summaryTable(rows, opts);
  } else {
    lines = args.json === true ? records.map((r) => JSON.stringify(r)) : recordTable(records, opts);
  }
  deps.out(`${lines.join('\n')}\n`);
}

async function follow(
  file: string,
  filter: LogFilter,
  args: LogArgs,
  deps: LogDeps,
): Promise<void> {
  const opts = tableOptions(args, deps);
  const print = createRecordPrinter(opts);
  if (args.json !== true) deps.out(`${recordHeader(opts)}\n`);
  const signal = deps.signal ?? new AbortController().signal;
  await followLog(
    {
      file,
      signal,
      history: filter.since !== undefined,
      ...(deps.followIntervalMs !== undefined && { intervalMs: deps.followIntervalMs }),
    },
    {
      record: (r) => {
        if (!matchesFilter(r, filter)) return;
        deps.out(`${(args.json === true ? [JSON.stringify(r)] : print(r)).join('\n')}\n`);
      },
      malformed: (m) => deps.err(malformedWarning([m]) ?? ''),
    },
  );
}

/** Reads (or follows) the log and prints what the filters keep. */
export async function runLog(args: LogArgs, deps: LogDeps): Promise<void> {
  if (args.follow === true && args.summary === true) {
    throw usage('--follow and --summary do not combine; run --summary on its own');
  }
  const filter = filterOf(args, (deps.now ?? Date.now)());
  const file = logFileOf(args, deps);
  if (args.follow === true) return follow(file, filter, args, deps);
  const log = await readLogFiles(file);
  const warning = malformedWarning(log.malformed);
  if (warning !== undefined) deps.err(warning);
  const records = log.records.filter((r) => matchesFilter(r, filter));
  if (records.length === 0) {
    const read =
      log.files.length === 0
        ? `${file} does not exist yet`
        : `read ${log.files.length} file(s) of ${file}`;
    deps.err(`corproxy: no matching connections (${read})\n`);
    return;
  }
  printBatch(records, args, deps);
}

function builder(y: Argv): Argv<LogArgs> {
  return y
    .option('follow', {
      alias: 'f',
      type: 'boolean',
      describe: 'keep printing new connections (Ctrl-C stops)',
    })
    .option('since', { type: 'string', describe: 'only since a time: 10m, 2h, 1d or ISO 8601' })
    .option('host', {
      type: 'string',
      describe: 'only targets whose host matches a glob (*.corp.example)',
    })
    .option('errors', { type: 'boolean', describe: 'only failed connections' })
    .option('summary', {
      type: 'boolean',
      describe: 'one line per host: counts, bytes, p50/p95 connect time, TLS verdict',
    })
    .option('json', { type: 'boolean', describe: 'JSON lines instead of a table' })
    .option('utc', { type: 'boolean', describe: 'show times in UTC instead of local time' })
    .option('file', {
      type: 'string',
      describe: "the log file to read (default: the daemon's log.file)",
    })
    .option('state-dir', {
      type: 'string',
      describe: "the daemon's state directory",
    }) as unknown as Argv<LogArgs>;
}

export const logCommand = {
  command: 'log',
  describe: 'read the connection log: table, per-host summary or JSON; --follow tails it',
  builder,
  handler: async (argv: ArgumentsCamelCase<LogArgs>) => {
    const config = loadInspectConfig(argv);
    const stop = new AbortController();
    const onSigint = (): void => stop.abort();
    process.once('SIGINT', onSigint);
    // `corproxy log | head` closes the pipe early: that ends the command, it is no error.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      stop.abort();
      if (err.code === 'EPIPE') process.exit(EXIT.OK);
      process.stderr.write(`corproxy: cannot write the output: ${err.code ?? err.message}\n`);
      process.exit(EXIT.OSERR);
    });
    try {
      await runLog(argv, {
        config,
        out: (text) => void process.stdout.write(text),
        err: (text) => void process.stderr.write(text),
        ...(process.stdout.columns !== undefined && { columns: process.stdout.columns }),
        signal: stop.signal,
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
