/**
 * The daemon's own messages for humans (started, listening, reload, errors), on stderr.
 * Under systemd stderr is a journald stream: journald adds the timestamp itself and reads
 * the priority from an sd-daemon(3) `<N>` prefix, so that form carries no timestamp.
 * Connection records never come here; they go to the connection log.
 */

import { compileRedactor, redactUrl } from './redact.js';

/** Leveled one-line messages. */
export interface DaemonLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  debug(msg: string): void;
}

export type DaemonLogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface DaemonLogOptions {
  /** Default process.stderr. */
  readonly stream?: NodeJS.WritableStream;
  /** sd-daemon priority prefixes instead of timestamps; the caller checks JOURNAL_STREAM. */
  readonly journald?: boolean;
  /** Messages less severe than this are dropped; default info. */
  readonly level?: DaemonLogLevel;
  readonly clock?: () => Date;
  /** Strings masked as `***` wherever they appear (upstream passwords). */
  readonly secrets?: readonly string[];
}

const SEVERITY: Readonly<Record<DaemonLogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

/** sd-daemon(3): LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
const PRIORITY: Readonly<Record<DaemonLogLevel, string>> = {
  error: '<3>',
  warn: '<4>',
  info: '<6>',
  debug: '<7>',
};

/**
 * One physical line per message: journald would give a continuation line no priority,
 * and a plain reader would lose the timestamp. Other control characters (say, an escape
 * sequence in a reason phrase a remote server sent), C0, DEL and C1, become `?`.
 */
export function singleLine(msg: string): string {
  return msg
    .replace(/\s*(?:\r\n|\r|\n)\s*/g, ' | ')
    .replace(/[^\t\x20-\x7e\xa0-\uffff]/g, '?')
    .replace(/^( \| )+|( \| )+$/g, '');
}

/** Streams we already guard, so repeated createDaemonLog calls add one listener only. */
const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * A closed stderr (EPIPE when journald restarts) must not crash the daemon through an
 * unhandled 'error' event; there is nowhere left to report it.
 */
function guard(stream: NodeJS.WritableStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => undefined);
}

/** Builds the daemon log; every option has a default. */
export function createDaemonLog(opts: DaemonLogOptions = {}): DaemonLog {
  const stream = opts.stream ?? process.stderr;
  const threshold = SEVERITY[opts.level ?? 'info'];
  const clock = opts.clock ?? (() => new Date());
  const redact = compileRedactor(opts.secrets ?? []);
  guard(stream);
  const emit = (level: DaemonLogLevel, msg: string): void => {
    if (SEVERITY[level] > threshold) return;
    const text = singleLine(redactUrl(redact(msg)));
    const line = opts.journald
      ? `${PRIORITY[level]}${text}\n`
      : `${clock().toISOString()} corproxy ${level}: ${text}\n`;
    stream.write(line);
  };
  return {
    info: (msg) => emit('info', msg),
    warn: (msg) => emit('warn', msg),
    error: (msg) => emit('error', msg),
    debug: (msg) => emit('debug', msg),
  };
}
