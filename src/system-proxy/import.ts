/**
 * `--from-system`: runs the platform's settings command (`reg query` on Windows,
 * `scutil --proxy` on macOS, `gsettings` elsewhere) through an injectable runner, parses
 * its output and translates it into config values. The command is the only I/O.
 */
import { execFile } from 'node:child_process';
import { CorproxyError } from '../errors.js';
import { GSETTINGS_ARGS, gnomeProxy, parseGsettings } from './gnome.js';
import { macosProxy, parseScutil } from './macos.js';
import { translate, type Translation } from './translate.js';
import type { SystemProxy } from './types.js';
import { parseRegQuery, REG_KEY, windowsProxy } from './windows.js';

/** Runs a command and resolves with its standard output; rejects when it cannot run or fails. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

export const COMMAND_TIMEOUT_MS = 10_000;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { timeout: COMMAND_TIMEOUT_MS, windowsHide: true, maxBuffer: 4 * 1024 * 1024 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });

interface Reader {
  readonly command: string;
  readonly args: readonly string[];
  readonly parse: (stdout: string) => SystemProxy;
}

/** Which command holds the proxy settings on a platform. */
export function readerFor(platform: NodeJS.Platform): Reader {
  if (platform === 'win32') {
    return {
      command: 'reg',
      args: ['query', REG_KEY],
      parse: (s) => windowsProxy(parseRegQuery(s)),
    };
  }
  if (platform === 'darwin') {
    return { command: 'scutil', args: ['--proxy'], parse: (s) => macosProxy(parseScutil(s)) };
  }
  return {
    command: 'gsettings',
    args: GSETTINGS_ARGS,
    parse: (s) => gnomeProxy(parseGsettings(s)),
  };
}

export interface ImportDeps {
  readonly platform?: NodeJS.Platform;
  readonly run?: CommandRunner;
}

/** Reads and translates the OS proxy settings; throws CPX_ERR_CONFIG_READ when the command fails. */
export async function importSystemProxy(deps: ImportDeps = {}): Promise<Translation> {
  const reader = readerFor(deps.platform ?? process.platform);
  const run = deps.run ?? runCommand;
  let stdout: string;
  try {
    stdout = await run(reader.command, reader.args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? `${reader.command} is not installed` : (e.message.split('\n')[0] ?? '');
    throw new CorproxyError(
      'CPX_ERR_CONFIG_READ',
      `--from-system: cannot read the system proxy settings with ${reader.command} ${reader.args.join(' ')}: ${why}`,
      { cause: err },
    );
  }
  return translate(reader.parse(stdout));
}
