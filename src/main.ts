#!/usr/bin/env node
/**
 * The corproxy bin: builds the command-line app and maps every error to one line on
 * stderr and an exit code (errors.toExitCode). Stacks only with --debug.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CorproxyError, EXIT, asCorproxyError, toExitCode } from './errors.js';
import { serveCommand } from './cli/serve.js';
import { serviceCommand } from './cli/service.js';
import { detectCommand } from './cli/detect.js';
import { trustCommand } from './cli/trust.js';
import { envCommand } from './cli/env.js';
import { statusCommand } from './cli/status.js';
import { logCommand } from './cli/log.js';
import { explainCommand } from './cli/explain.js';
import { doctorCommand } from './cli/doctor.js';
import { VERSION } from './version.js';

function report(err: unknown, debug: boolean): never {
  const e = asCorproxyError(err);
  process.stderr.write(`corproxy: ${e.message} [${e.code}]\n`);
  if (debug) process.stderr.write(`${(e.cause as Error | undefined)?.stack ?? e.stack ?? ''}\n`);
  process.exit(toExitCode(e));
}

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  const app = yargs(argv)
    .scriptName('corproxy')
    .version(VERSION)
    .option('config', { type: 'string', describe: 'configuration file (YAML)' })
    .option('debug', { type: 'boolean', describe: 'print stack traces on errors' })
    .command(serveCommand)
    .command(serviceCommand)
    .command(detectCommand)
    .command(trustCommand)
    .command(envCommand)
    .command(statusCommand)
    .command(logCommand)
    .command(explainCommand)
    .command(doctorCommand)
    .demandCommand(1, 'name a command; `corproxy serve` runs the daemon')
    .strict()
    .recommendCommands()
    .fail((msg, err) => {
      if (err) report(err, debug);
      process.stderr.write(`corproxy: ${msg}\nRun "corproxy --help" for usage.\n`);
      process.exit(EXIT.USAGE);
    })
    .help();
  try {
    await app.parseAsync();
  } catch (err) {
    report(err instanceof CorproxyError ? err : asCorproxyError(err), debug);
  }
}

await main(hideBin(process.argv));
