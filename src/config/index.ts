/** The configuration module's public surface: see docs/configuration.md. */

export type * from './types.js';
export {
  CONFIG_ENV,
  CREDENTIAL_ENV,
  DEFAULTS,
  DEFAULT_PORT,
  ENV_KEYS,
  defaultConfigFiles,
  defaultStateDir,
} from './defaults.js';
export { isLoopback } from './listen.js';
export { parseConfig, type ConfigInputs, type Flags } from './parse.js';
export { envSnapshot, loadConfig, type LoadDeps } from './load.js';
