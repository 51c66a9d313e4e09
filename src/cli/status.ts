/**
 * `corproxy status`: asks the running daemon for `/status` and prints it as a compact
 * block, or the raw JSON with --json. The daemon is found through the status file in the
 * state dir, else the configured listeners. Not running: CPX_ERR_DAEMON_DOWN (exit 69)
 * with the command that starts it.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import type { Config } from '../config/types.js';
import { askDaemon, type DaemonDeps } from '../inspect/daemon-client.js';
import { renderStatus } from '../inspect/status-render.js';
import { loadInspectConfig } from '../inspect/load-config.js';

export interface StatusArgs {
  readonly config?: string;
  readonly stateDir?: string;
  readonly json?: boolean;
}

export interface StatusDeps extends DaemonDeps {
  readonly config: Config;
  /** Where the output goes (process.stdout in the bin). */
  readonly out: (text: string) => void;
}

/** Prints the daemon's status; throws CPX_ERR_DAEMON_DOWN when it does not answer. */
export async function runStatus(args: StatusArgs, deps: StatusDeps): Promise<void> {
  const answer = await askDaemon(deps.config, deps);
  if (!answer.ok) throw answer.error;
  if (args.json === true) {
    deps.out(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
  } else {
    deps.out(`${renderStatus(answer.doc).join('\n')}\n`);
  }
}

function builder(y: Argv): Argv<StatusArgs> {
  return y
    .option('json', { type: 'boolean', describe: "print the daemon's /status document as is" })
    .option('state-dir', {
      type: 'string',
      describe: "the daemon's state directory (where it publishes its listen addresses)",
    }) as unknown as Argv<StatusArgs>;
}

export const statusCommand = {
  command: 'status',
  describe: "show the running daemon's state (upstreams, tunnels, totals, verdicts)",
  builder,
  handler: async (argv: ArgumentsCamelCase<StatusArgs>) => {
    const config = loadInspectConfig(argv);
    await runStatus(argv, { config, out: (text) => void process.stdout.write(text) });
  },
};
