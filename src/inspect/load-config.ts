/**
 * The configuration `status`, `log` and `explain` read. These commands diagnose the
 * proxy setup, so a broken HTTPS_PROXY in the user's shell (which the config would take
 * as the default upstream and refuse) must not stop them: when the config is invalid
 * with the shell's proxy variables and valid without them, the latter is used, and
 * `explain` still reports the variable as Go and curl read it.
 */
import { envSnapshot, loadConfig, type LoadDeps } from '../config/index.js';
import type { Config } from '../config/types.js';
import { isCorproxyError } from '../errors.js';

/** The flags these commands pass on to the config. */
export interface InspectFlags {
  readonly config?: string;
  readonly stateDir?: string;
}

/** The variables the config reads as the default upstream. */
const SHELL_PROXY_VARS = ['HTTPS_PROXY', 'https_proxy'] as const;

function withoutProxyVars(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  const out = { ...env };
  for (const name of SHELL_PROXY_VARS) delete out[name];
  return out;
}

/** loadConfig, retried without the shell's proxy variables when they make it invalid. */
export function loadInspectConfig(flags: InspectFlags, deps: LoadDeps = {}): Config {
  const env = deps.env ?? envSnapshot();
  const input = {
    ...(flags.config !== undefined && { config: flags.config }),
    ...(flags.stateDir !== undefined && { stateDir: flags.stateDir }),
  };
  try {
    return loadConfig(input, { ...deps, env });
  } catch (err) {
    if (!isCorproxyError(err) || err.code !== 'CPX_ERR_CONFIG_INVALID') throw err;
    if (!SHELL_PROXY_VARS.some((name) => env[name] !== undefined)) throw err;
    try {
      return loadConfig(input, { ...deps, env: withoutProxyVars(env) });
    } catch {
      throw err;
    }
  }
}
