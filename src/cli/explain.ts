/**
 * `corproxy explain HOST[:PORT]|URL`: corproxy's route for the target and the rule that
 * made it (with upstream health when the daemon answers), what Go would do with the same
 * URL under the current environment, and where curl's reading differs.
 */
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { envSnapshot } from '../config/index.js';
import type { Config } from '../config/types.js';
import { askDaemon, type DaemonDeps } from '../inspect/daemon-client.js';
import { explain } from '../inspect/explain.js';
import { renderExplanation } from '../inspect/explain-render.js';
import { parseExplainTarget, type ExplainTarget } from '../inspect/explain-target.js';
import type { Env } from '../inspect/proxy-answer.js';
import { loadInspectConfig } from '../inspect/load-config.js';
import { pacAnswerOnce } from '../pac/index.js';
import { connectUrl } from '../pac/plan.js';

export interface ExplainArgs {
  readonly target: string;
  readonly config?: string;
  readonly stateDir?: string;
  readonly json?: boolean;
  /** Ask the running daemon for upstream health (default true; --no-daemon skips it). */
  readonly daemon?: boolean;
}

export interface ExplainDeps extends DaemonDeps {
  readonly config: Config;
  /** The environment Go and curl would see. */
  readonly env: Env;
  readonly out: (text: string) => void;
  /** FindProxyForURL of the configured PAC script; undefined when it gives no answer. */
  readonly pacAnswer?: (config: Config, url: string, host: string) => Promise<string | undefined>;
}

/** The PAC answer, when a PAC script is configured: the URL is the one the daemon asks about. */
async function askPac(target: ExplainTarget, deps: ExplainDeps): Promise<string | undefined> {
  if (deps.config.pac === '') return undefined;
  const url = target.scheme === 'https' ? connectUrl(target.host, target.port) : target.url;
  return (deps.pacAnswer ?? pacAnswerOnce)(deps.config, url, target.host);
}

/** Prints the explanation. Only a bad target argument fails (CPX_ERR_USAGE). */
export async function runExplain(args: ExplainArgs, deps: ExplainDeps): Promise<void> {
  const target = parseExplainTarget(args.target);
  const answer =
    args.daemon === false ? undefined : await askDaemon(deps.config, { timeoutMs: 1000, ...deps });
  const pacAnswer = await askPac(target, deps);
  const result = explain({
    target,
    config: deps.config,
    env: deps.env,
    ...(answer?.ok === true && { daemon: answer.doc }),
    ...(pacAnswer !== undefined && { pacAnswer }),
  });
  const text =
    args.json === true ? JSON.stringify(result, null, 2) : renderExplanation(result).join('\n');
  deps.out(`${text}\n`);
}

function builder(y: Argv): Argv<ExplainArgs> {
  return y
    .positional('target', {
      type: 'string',
      demandOption: true,
      describe: 'HOST, HOST:PORT or an http(s) URL',
    })
    .option('json', { type: 'boolean', describe: 'the explanation as JSON' })
    .option('daemon', {
      type: 'boolean',
      default: true,
      describe: 'ask the running daemon for upstream health (--no-daemon to skip)',
    })
    .option('state-dir', {
      type: 'string',
      describe: "the daemon's state directory (where it publishes its listen addresses)",
    }) as unknown as Argv<ExplainArgs>;
}

export const explainCommand = {
  command: 'explain <target>',
  describe: 'show how corproxy, Go and curl route one host or URL, and why',
  builder,
  handler: async (argv: ArgumentsCamelCase<ExplainArgs>) => {
    const config = loadInspectConfig(argv);
    await runExplain(argv, {
      config,
      env: envSnapshot(),
      out: (text) => void process.stdout.write(text),
    });
  },
};
