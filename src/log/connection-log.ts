/**
 * The connection log (DESIGN.md §8): one JSON line per closed connection, plus warnings,
 * in one file rotated by size (rotating-file.ts). With rotating-file.ts, the only winston
 * importer of corproxy.
 */

import { closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { LogConfig } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import type { ConnectionRecord } from '../events.js';
import { JSON_SAFE, recordLine } from './record-line.js';
import { compileRedactor, redactUrl, secretSpellings } from './redact.js';
import { MESSAGE, RotatingFile, toError } from './rotating-file.js';

/** Sink for closed connections and notable events; never blocks the caller. */
export interface ConnectionLog {
  write(record: ConnectionRecord): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Resolves once every line written before it is on disk and the file is closed. */
  close(): Promise<void>;
}

export interface ConnectionLogDeps {
  /** Strings that must never reach the file (passwords, `user:pass`); see redact.ts. */
  readonly secrets?: readonly string[];
  readonly clock?: () => Date;
  /** Write or rotation failures; the log keeps going. Defaults to a line on stderr. */
  readonly onError?: (err: Error) => void;
}

/**
 * Creates the directory (0700: the log names hosts a user visited) and checks that the
 * file can be appended to, so a bad `log.file` fails at start, not silently later.
 */
function prepareFile(file: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // Opening a FIFO for writing would block until a reader appears: look first.
    const existing = statSync(file, { throwIfNoEntry: false });
    if (existing && !existing.isFile()) throw new Error('not a regular file');
    closeSync(openSync(file, 'a', 0o600));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? toError(err).message;
    throw new CorproxyError('CPX_ERR_LOG_IO', `log.file: cannot write ${file}: ${reason}`, {
      cause: err,
    });
  }
}

/** JSON.stringify replacer: every string value loses secrets and URL credentials. */
function redactingReplacer(secrets: readonly string[]): (key: string, value: unknown) => unknown {
  const redact = compileRedactor(secrets);
  // URL userinfo first: masking `user:pass` as a secret first would leave `http://***@`,
  // which no longer shows that a password was there.
  return (_key, value) => (typeof value === 'string' ? redact(redactUrl(value)) : value);
}

/**
 * The JSON text of a line with every string value redacted. JSON.stringify with a
 * replacer function takes V8's slow serializer, about twice the cost of a plain one for
 * every record (bench/README.md, W5). So the line is serialized plainly, and again with
 * the replacer only when the text could hold something to mask: an `@` (URL userinfo,
 * see redact.ts) or a spelling of a secret. The test is exact when every spelling is
 * written by JSON.stringify as it is; with any other secret the replacer always runs.
 */
function lineSerializer(secrets: readonly string[]): Serializer {
  const replacer = redactingReplacer(secrets);
  const forms = secretSpellings(secrets);
  if (!forms.every((f) => JSON_SAFE.test(f))) return (line) => JSON.stringify(line(), replacer);
  return (line, plain) => {
    const text = plain ?? JSON.stringify(line());
    return text.includes('@') || forms.some((f) => text.includes(f))
      ? JSON.stringify(line(), replacer)
      : text;
  };
}

/**
 * Serializes a line given as a function (built only when needed) and, when the caller
 * has it, as its plain JSON text (record-line.ts).
 */
type Serializer = (line: () => object, plain?: string) => string;

function withLevel(record: ConnectionRecord): object {
  return Object.assign<object, ConnectionRecord>({ time: record.time, level: 'info' }, record);
}

/** Warning fields may hold anything; keep the line valid JSON whatever they are. */
function safeValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

const noopLog: ConnectionLog = Object.freeze({
  write: () => undefined,
  warn: () => undefined,
  close: async () => undefined,
});

function defaultOnError(err: Error): void {
  process.stderr.write(`corproxy: connection log: ${err.message}\n`);
}

/** Opens the connection log of `cfg`; `cfg.file === ''` gives a log that writes nothing. */
export function openConnectionLog(cfg: LogConfig, deps: ConnectionLogDeps = {}): ConnectionLog {
  if (cfg.file === '') return noopLog;
  prepareFile(cfg.file);
  const report = deps.onError ?? defaultOnError;
  const onError = (err: Error): void => {
    try {
      report(err);
    } catch {
      // A failing reporter must not stop the log (or reject its write loop).
    }
  };
  const clock = deps.clock ?? (() => new Date());
  const transport = new RotatingFile({
    file: cfg.file,
    maxSize: Math.max(0, cfg.maxSizeBytes),
    maxFiles: Math.max(0, cfg.maxFiles),
    onError,
  });
  const logger = winston.createLogger({
    // log.level governs daemon messages (docs/configuration.md); this file keeps every
    // record and warning, and `log.file: off` is the way to silence it.
    level: 'info',
    // The line is finished before it reaches winston: no timestamps, colours or splat.
    format: winston.format((info) => info)(),
    transports: [transport],
    exitOnError: false,
  });
  logger.on('error', (err: unknown) => onError(toError(err)));
  const serialize = lineSerializer(deps.secrets ?? []);
  let closing: Promise<void> | undefined;

  const emit = (level: 'info' | 'warn', line: () => object, plain?: string): void => {
    let text: string;
    try {
      text = serialize(line, plain);
    } catch (err) {
      onError(toError(err));
      return;
    }
    // A record is a finished line for the file: it goes to the transport directly. Through
    // the logger (a Transform stream piped to the transport) it took two stream writes per
    // connection, about 3 % of the daemon's CPU per tunnel (bench/README.md, third round).
    // Warnings keep the logger's path; lines carry their own time, so order between the
    // two does not matter.
    if (level === 'info') transport.line(text);
    else logger.log({ level, message: '', [MESSAGE]: text });
  };

  return {
    write(record) {
      if (closing) return;
      // The copy (time and level first; nested objects shared) is made only when a line
      // needs redacting; otherwise the text is written field by field.
      emit('info', () => withLevel(record), recordLine(record));
    },
    warn(message, fields = {}) {
      if (closing) return;
      const line: Record<string, unknown> = {
        time: clock().toISOString(),
        level: 'warn',
        event: 'warning',
        message,
      };
      for (const [k, v] of Object.entries(fields)) {
        if (k !== 'time' && k !== 'level' && k !== 'message') line[k] = safeValue(v);
      }
      emit('warn', () => line);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        // The logger's own 'finish' fires before its transports have flushed.
        transport.once('finish', () => resolve());
        logger.end();
      });
      return closing;
    },
  };
}
