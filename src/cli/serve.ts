/**
 * `corproxy serve`: load the config (with the OS proxy settings under --from-system),
 * take the state dir's single-instance lock, start the listeners (or those systemd
 * passed), write the connection log, reload on SIGHUP (a bad config is rejected and the
 * old one kept), drain on SIGTERM/SIGINT.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { envSnapshot, loadConfig, type Flags } from '../config/index.js';
import type { Config } from '../config/types.js';
import { asCorproxyError } from '../errors.js';
import { openConnectionLog } from '../log/connection-log.js';
import { createDaemonLog, type DaemonLog } from '../log/daemon-log.js';
import { secretsOf } from '../log/redact.js';
import { startServer, type RunningServer } from '../proxy/server.js';
import { acquireInstanceLock, writeStatusFile } from '../service/instance-lock.js';
import { parseListenFds } from '../service/listen-fds.js';
import { startDaemonProbes } from '../tls/daemon-probe.js';
import { importSystemProxy } from '../system-proxy/import.js';
import { VERSION } from '../version.js';

export interface ServeArgs extends Flags {
  readonly config?: string;
}

export function serveOptions<T>(y: Argv<T>): Argv<T & ServeArgs> {
  return y
    .option('listen', {
      type: 'string',
      array: true,
      describe: 'ADDR:PORT or PORT to listen on (repeatable)',
    })
    .option('upstream', {
      type: 'string',
      array: true,
      describe: 'upstream proxy URL, tried in order (repeatable)',
    })
    .option('direct', {
      type: 'string',
      array: true,
      describe: 'NO_PROXY-syntax patterns routed direct (repeatable, comma-separated)',
    })
    .option('hosts', {
      type: 'string',
      array: true,
      describe: 'NAME=ADDR resolution override (repeatable)',
    })
    .option('allow', {
      type: 'string',
      array: true,
      describe: 'client CIDRs allowed besides loopback (repeatable)',
    })
    .option('fallback', {
      type: 'string',
      choices: ['direct', 'none'],
      describe: 'when every upstream fails',
    })
    .option('direct-from-go-env', {
      type: 'boolean',
      describe: 'also route GOPRIVATE/GONOPROXY/NO_PROXY hosts direct',
    })
    .option('pac', {
      type: 'string',
      describe: 'PAC script: http(s):// URL, file path or data: URL ("none" disables)',
    })
    .option('from-system', {
      type: 'boolean',
      describe: 'import upstream, direct and pac from the OS proxy settings',
    })
    .option('log', { type: 'string', describe: 'connection log file ("off" disables)' })
    .option('state-dir', {
      type: 'string',
      describe: 'directory for the log, bundle and state',
    }) as unknown as Argv<T & ServeArgs>;
}

function hostPort(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function publishStatus(config: Config, server: RunningServer, socketActivated: boolean): void {
  writeStatusFile(config.stateDir, {
    pid: process.pid,
    started: new Date(server.state.startedAt).toISOString(),
    version: VERSION,
    listen: server.addresses.map(hostPort),
    upstreams: config.upstreams.map((u) => u.display),
    logFile: config.log.file,
    socketActivated,
  });
}

/**
 * The config, with the OS proxy settings as the layer under the file when fromSystem is
 * on (docs/pac.md); notes name the settings that could not be imported.
 */
export async function loadServeConfig(
  args: ServeArgs,
  notes: (line: string) => void,
  deps: { load?: typeof loadConfig; importSystem?: typeof importSystemProxy } = {},
): Promise<Config> {
  const load = deps.load ?? loadConfig;
  const config = load(args);
  if (!config.fromSystem) return config;
  const imported = await (deps.importSystem ?? importSystemProxy)();
  for (const note of imported.notes) notes(`--from-system: ${note}`);
  return load({ ...args, imported: imported.settings });
}

/** Handles SIGHUP: a config that fails to load leaves the running one in force. */
function reloader(
  args: ServeArgs,
  server: RunningServer,
  daemonLog: DaemonLog,
  fds: boolean,
): () => void {
  return () => {
    loadServeConfig(args, (note) => daemonLog.warn(note))
      .then((next) => {
        server.reload(next);
        publishStatus(next, server, fds);
        daemonLog.info(`configuration reloaded (${next.sources.join(', ')})`);
      })
      .catch((err: unknown) => {
        daemonLog.error(
          `reload rejected, keeping the running configuration: ${asCorproxyError(err).message}`,
        );
      });
  };
}

export async function runServe(args: ServeArgs): Promise<void> {
  const env = envSnapshot();
  const fds = parseListenFds(env, process.pid).map((f) => f.fd);
  const notes: string[] = [];
  const config = await loadServeConfig(args, (note) => notes.push(note));
  const lock = acquireInstanceLock(config.stateDir);
  process.once('exit', () => lock.release());
  const secrets = secretsOf(config.upstreams);
  const daemonLog = createDaemonLog({
    journald: env.JOURNAL_STREAM !== undefined,
    level: config.log.level,
    secrets,
  });
  const log = openConnectionLog(config.log, {
    secrets,
    onError: (err) => daemonLog.error(`connection log: ${err.message}`),
  });
  const server = await startServer({ config, sink: log, version: VERSION, listenFds: fds });
  // Interception probes; a changed CA is warned about in the connection and daemon logs.
  const probes = startDaemonProbes(server.state, {
    warn: (message, fields) => {
      log.warn(message, fields);
      daemonLog.warn(message);
    },
  });
  server.state.hooks = probes.hooks;
  for (const note of notes) daemonLog.warn(note);
  publishStatus(config, server, fds.length > 0);
  for (const a of server.addresses)
    process.stderr.write(`corproxy listening on http://${hostPort(a)}\n`);
  const upstreams = config.upstreams.map((u) => u.display).join(', ') || 'none (direct)';
  daemonLog.info(
    `corproxy ${VERSION} started; upstreams: ${upstreams}; log: ${config.log.file || 'off'}`,
  );
  process.on('SIGHUP', reloader(args, server, daemonLog, fds.length > 0));
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      daemonLog.info(
        `${signal}: draining connections (up to ${server.state.config.limits.drainTimeoutMs} ms)`,
      );
      probes.stop();
      void server
        .close(server.state.config.limits.drainTimeoutMs)
        .then(() => server.state.stopBackground())
        .then(() => log.close())
        .then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  lock.release();
}

export const serveCommand = {
  command: 'serve',
  describe: 'run the proxy daemon',
  builder: serveOptions,
  handler: (args: ArgumentsCamelCase<ServeArgs>) => runServe(args),
};
