/**
 * `corproxy serve`: load the config, start the listeners, write the connection log,
 * reload on SIGHUP (a bad config is rejected and the old one kept), drain on SIGTERM.
 */
import type { Argv, ArgumentsCamelCase } from 'yargs';
import { envSnapshot, loadConfig, type Flags } from '../config/index.js';
import type { Config } from '../config/types.js';
import { asCorproxyError } from '../errors.js';
import { openConnectionLog, type ConnectionLog } from '../log/connection-log.js';
import { createDaemonLog, type DaemonLog } from '../log/daemon-log.js';
import { startServer, type RunningServer } from '../proxy/server.js';
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
    .option('log', { type: 'string', describe: 'connection log file ("off" disables)' })
    .option('state-dir', {
      type: 'string',
      describe: 'directory for the log, bundle and state',
    }) as unknown as Argv<T & ServeArgs>;
}

function secretsOf(config: Config): string[] {
  return config.upstreams.flatMap((u) => (u.password ? [u.password] : []));
}

/** Handles SIGHUP: a config that fails to load leaves the running one in force. */
function reloader(args: ServeArgs, server: RunningServer, daemonLog: DaemonLog): () => void {
  return () => {
    try {
      const next = loadConfig(args);
      server.reload(next);
      daemonLog.info(`configuration reloaded (${next.sources.join(', ')})`);
    } catch (err) {
      daemonLog.error(
        `reload rejected, keeping the running configuration: ${asCorproxyError(err).message}`,
      );
    }
  };
}

export async function runServe(args: ServeArgs): Promise<void> {
  const env = envSnapshot();
  const config = loadConfig(args);
  const daemonLog = createDaemonLog({
    journald: env.JOURNAL_STREAM !== undefined,
    level: config.log.level,
  });
  const log: ConnectionLog = openConnectionLog(config.log, { secrets: secretsOf(config) });
  const server = await startServer({ config, sink: log, version: VERSION });
  for (const a of server.addresses) {
    const host = a.host.includes(':') ? `[${a.host}]` : a.host;
    process.stderr.write(`corproxy listening on http://${host}:${a.port}\n`);
  }
  const upstreams = config.upstreams.map((u) => u.display).join(', ') || 'none (direct)';
  daemonLog.info(
    `corproxy ${VERSION} started; upstreams: ${upstreams}; log: ${config.log.file || 'off'}`,
  );
  process.on('SIGHUP', reloader(args, server, daemonLog));
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      daemonLog.info(`${signal}: draining connections (up to ${config.limits.drainTimeoutMs} ms)`);
      void server
        .close()
        .then(() => log.close())
        .then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export const serveCommand = {
  command: 'serve',
  describe: 'run the proxy daemon',
  builder: serveOptions,
  handler: (args: ArgumentsCamelCase<ServeArgs>) => runServe(args),
};
