/**
 * `corproxy service install|uninstall|status [--user|--system]`: resolves paths and flags
 * into a ServiceRequest and hands it to src/service/install.ts with the real executor.
 * Every failure leaves as CorproxyError (CPX_ERR_SERVICE unless more specific); main.ts
 * turns it into the exit code.
 */

import { homedir } from 'node:os';
import { posix, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';

import { defaultStateDir, envSnapshot, type ListenAddress } from '../config/index.js';
import { CorproxyError, isCorproxyError } from '../errors.js';
import { createExecutor } from '../service/executor.js';
import { isProcessAlive } from '../service/instance-lock.js';
import {
  installService,
  serviceStatus,
  uninstallService,
  type ServiceDeps,
  type ServiceRequest,
} from '../service/install.js';
import { nodeServiceFs } from '../service/plan.js';
import { formatStatus } from '../service/status.js';
import { DEFAULT_LISTEN } from '../service/units.js';

export const SERVICE_ACTIONS = ['install', 'uninstall', 'status'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export interface ServiceArgs {
  action: ServiceAction;
  user?: boolean;
  system?: boolean;
  dryRun?: boolean;
  force?: boolean;
  socket?: boolean;
  unitDir?: string;
  stateDir?: string;
  config?: string;
  listen?: string[];
  account?: string;
  json?: boolean;
}

/** The machine facts the command needs; tests pass their own. */
export interface ServiceHost {
  readonly platform: NodeJS.Platform;
  readonly uid: number | undefined;
  readonly home: string;
  readonly cwd: string;
  /** XDG_CONFIG_HOME, XDG_STATE_HOME, LOCALAPPDATA, USERDOMAIN, USERNAME. */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly nodePath: string;
  readonly scriptPath: string;
}

/** The bin's own dist/main.js, next to this file's directory once built. */
function ownScriptPath(): string {
  return fileURLToPath(new URL('../main.js', import.meta.url));
}

/** This process's facts; the environment comes from src/config, its only reader. */
export function currentHost(): ServiceHost {
  const { XDG_CONFIG_HOME, XDG_STATE_HOME, LOCALAPPDATA, USERDOMAIN, USERNAME } = envSnapshot();
  return {
    platform: process.platform,
    uid: process.getuid?.(),
    home: homedir(),
    cwd: process.cwd(),
    env: { XDG_CONFIG_HOME, XDG_STATE_HOME, LOCALAPPDATA, USERDOMAIN, USERNAME },
    nodePath: process.execPath,
    scriptPath: ownScriptPath(),
  };
}

function usage(message: string): never {
  throw new CorproxyError('CPX_ERR_USAGE', message);
}

/** `127.0.0.1:3129` or `[::1]:3129`; the socket unit validates the address itself. */
export function parseListenFlag(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(text);
  if (m === null) usage(`--listen ${text}: expected IPv4:PORT or [IPv6]:PORT`);
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/** XDG base directories count only when absolute (XDG Base Directory Specification). */
function xdg(value: string | undefined, fallback: string): string {
  return value !== undefined && posix.isAbsolute(value) ? value : fallback;
}

/** The daemon's own default (src/config), except that the system service uses /var/lib. */
function serviceStateDir(host: ServiceHost, system: boolean): string {
  if (system && host.platform !== 'win32') return '/var/lib/corproxy';
  return defaultStateDir(host.platform, host.env, host.home);
}

function defaultUnitDir(host: ServiceHost, system: boolean): string {
  if (system) return '/etc/systemd/system';
  return posix.join(
    xdg(host.env.XDG_CONFIG_HOME, posix.join(host.home, '.config')),
    'systemd',
    'user',
  );
}

function windowsUser(host: ServiceHost): string {
  const { USERDOMAIN, USERNAME } = host.env;
  return USERDOMAIN && USERNAME ? `${USERDOMAIN}\\${USERNAME}` : (USERNAME ?? '');
}

/** Pure: flags plus host facts → the request install.ts works from. */
export function resolveServiceRequest(args: ServiceArgs, host: ServiceHost): ServiceRequest {
  if (args.user === true && args.system === true) usage('choose one of --user and --system');
  if (args.listen !== undefined && args.socket === false) {
    usage('--listen sets the socket unit; with --no-socket, set `listen` in the config file');
  }
  const system = args.system === true || (args.account !== undefined && args.user !== true);
  const paths = host.platform === 'win32' ? win32 : posix;
  const abs = (p: string): string => paths.resolve(host.cwd, p);
  return {
    scope: system ? 'system' : 'user',
    dryRun: args.dryRun === true,
    force: args.force === true,
    socket: args.socket !== false,
    unitDir: args.unitDir === undefined ? defaultUnitDir(host, system) : abs(args.unitDir),
    sysusersDir: '/etc/sysusers.d',
    stateDir: args.stateDir === undefined ? serviceStateDir(host, system) : abs(args.stateDir),
    nodePath: host.nodePath,
    scriptPath: host.scriptPath,
    configPath: args.config === undefined ? undefined : abs(args.config),
    listen: args.listen === undefined ? DEFAULT_LISTEN : args.listen.map(parseListenFlag),
    account: args.account,
    windowsUser: windowsUser(host),
  };
}

export function defaultServiceDeps(host: ServiceHost): ServiceDeps {
  return {
    platform: host.platform,
    uid: host.uid,
    executor: createExecutor(),
    fs: nodeServiceFs,
    now: () => new Date(),
    isAlive: isProcessAlive,
    print: (line) => void process.stdout.write(`${line}\n`),
  };
}

/** Runs one action; anything that is not already a CorproxyError becomes CPX_ERR_SERVICE. */
export async function runService(
  args: ServiceArgs,
  host: ServiceHost,
  deps: ServiceDeps,
): Promise<void> {
  try {
    const req = resolveServiceRequest(args, host);
    if (args.action === 'install') await installService(req, deps);
    else if (args.action === 'uninstall') await uninstallService(req, deps);
    else {
      const report = await serviceStatus(req, deps);
      const lines = args.json === true ? [JSON.stringify(report, null, 2)] : formatStatus(report);
      for (const line of lines) deps.print(line);
    }
  } catch (err) {
    if (isCorproxyError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new CorproxyError('CPX_ERR_SERVICE', `service ${args.action} failed: ${message}`, {
      cause: err,
    });
  }
}

function builder(y: Argv): Argv<ServiceArgs> {
  return y
    .positional('action', { choices: SERVICE_ACTIONS, demandOption: true, describe: 'what to do' })
    .option('user', {
      type: 'boolean',
      describe: 'per-user unit (systemctl --user) or logon task; the default',
    })
    .option('system', {
      type: 'boolean',
      describe: 'system unit, or a Windows boot task (needs --account)',
    })
    .conflicts('user', 'system')
    .option('dry-run', {
      type: 'boolean',
      describe: 'print every file and command, change nothing',
    })
    .option('force', {
      type: 'boolean',
      describe: 'overwrite or remove files corproxy did not write',
    })
    .option('socket', {
      type: 'boolean',
      default: true,
      describe: 'install corproxy.socket (--no-socket to skip)',
    })
    .option('unit-dir', { type: 'string', describe: 'where the unit files go' })
    .option('state-dir', {
      type: 'string',
      describe:
        'where the install record is kept and status is read (the --user daemon uses it too)',
    })
    .option('config', { type: 'string', describe: 'config file the service passes to serve' })
    .option('listen', {
      type: 'string',
      array: true,
      describe: 'socket unit address, IP:PORT (repeatable)',
    })
    .option('account', { type: 'string', describe: 'Windows: account of the --system boot task' })
    .option('json', {
      type: 'boolean',
      describe: 'status as JSON',
    }) as unknown as Argv<ServiceArgs>;
}

export const serviceCommand: CommandModule<object, ServiceArgs> = {
  command: 'service <action>',
  describe: 'install, uninstall or show corproxy as a systemd service or Windows task',
  builder,
  handler: async (argv: ArgumentsCamelCase<ServiceArgs>) => {
    const host = currentHost();
    await runService(argv, host, defaultServiceDeps(host));
  },
};
