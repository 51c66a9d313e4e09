/**
 * `corproxy env [--shell sh|fish|powershell|cmd] [--go]`: prints the settings to paste
 * (src/tls/env-lines.ts): the proxy variables pointing at corproxy's listener, the CA
 * bundle `corproxy trust` wrote, and the Go caveats. Certificate lines appear only once
 * the files exist, so nothing ever points a tool at a missing bundle.
 */
import { stat } from 'node:fs/promises';
import type { ArgumentsCamelCase, Argv } from 'yargs';
import { stringify } from 'yaml';
import { envSnapshot, loadConfig } from '../config/index.js';
import type { Config } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { formatAuthority } from '../proxy/http1.js';
import { importSystemProxy } from '../system-proxy/import.js';
import type { Translation } from '../system-proxy/translate.js';
import { bundlePaths } from '../tls/bundle-files.js';
import {
  SHELLS,
  defaultShell,
  envLines,
  goEnvLines,
  type EnvInput,
  type Shell,
} from '../tls/env-lines.js';

export interface EnvArgs {
  readonly config?: string;
  readonly stateDir?: string;
  readonly listen?: string[];
  readonly shell?: Shell;
  readonly go?: boolean;
  /** Print the OS proxy settings as corproxy config instead of the env lines. */
  readonly import?: boolean;
}

export interface EnvDeps {
  readonly loadConfig: (args: EnvArgs) => Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  readonly print: (line: string) => void;
  /** Size of a file, undefined when it is missing. */
  readonly fileSize?: (path: string) => Promise<number | undefined>;
  /** Reads the OS proxy settings (`--import`); default: src/system-proxy/import.ts. */
  readonly importSystem?: () => Promise<Translation>;
}

/**
 * `--import`: the OS proxy settings (Windows registry, GNOME, macOS) as a config fragment to
 * paste into config.yaml, with a note per setting that has no corproxy equivalent.
 */
export async function importLines(
  importSystem: () => Promise<Translation> = importSystemProxy,
): Promise<string[]> {
  const { settings, notes } = await importSystem();
  const { source, ...values } = settings;
  const lines = [`# corproxy env --import: proxy settings read from ${source}`];
  if (Object.keys(values).length === 0) {
    lines.push('# no proxy is configured there: corproxy would connect directly');
  } else {
    lines.push('# paste into config.yaml, or run corproxy serve --from-system to use them live');
    lines.push(...stringify(values).trimEnd().split('\n'));
  }
  return [...lines, ...notes.map((n) => `# note: ${n}`)];
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** The URL clients use: a loopback listener, IPv4 first; a wildcard stands for loopback. */
export function proxyUrl(config: Config): string {
  const pick = config.listen.find((l) => l.host.startsWith('127.')) ?? config.listen[0];
  if (pick === undefined || pick.port === 0) {
    throw new CorproxyError(
      'CPX_ERR_USAGE',
      'corproxy listens on no fixed port; name it with --listen ADDR:PORT',
    );
  }
  const host = pick.host === '0.0.0.0' ? '127.0.0.1' : pick.host === '::' ? '::1' : pick.host;
  return `http://${formatAuthority({ host, port: pick.port })}`;
}

/** The mirror URL, when the module mirror is enabled on the main listener. */
function mirrorUrl(config: Config, proxy: string): string | undefined {
  return config.mirror?.enabled === true ? `${proxy}/mod/` : undefined;
}

/** Builds the lines; files that are missing (or an empty corp-ca.pem) are left out. */
export async function runEnv(args: EnvArgs, deps: EnvDeps): Promise<string[]> {
  if (args.import === true) {
    const lines = await importLines(deps.importSystem);
    for (const line of lines) deps.print(line);
    return lines;
  }
  const config = deps.loadConfig(args);
  const shell = args.shell ?? defaultShell(deps.platform, deps.env);
  const paths = bundlePaths(config);
  const size = deps.fileSize ?? sizeOf;
  const proxy = proxyUrl(config);
  const bundleSize = await size(paths.bundle);
  const corpSize = await size(paths.corporate);
  const mirror = mirrorUrl(config, proxy);
  const input: EnvInput = {
    proxyUrl: proxy,
    ...(bundleSize ? { bundle: paths.bundle } : {}),
    ...(bundleSize && corpSize ? { corporate: paths.corporate } : {}),
    ...(mirror ? { mirrorUrl: mirror } : {}),
  };
  const lines = [...envLines(input, shell), ...(args.go === true ? goEnvLines(input, shell) : [])];
  for (const line of lines) deps.print(line);
  return lines;
}

export const envCommand = {
  command: 'env',
  describe: 'print HTTPS_PROXY, SSL_CERT_FILE and friends for your shell',
  builder: (y: Argv) =>
    y
      .option('shell', { type: 'string', choices: SHELLS, describe: 'syntax of the lines' })
      .option('go', { type: 'boolean', describe: 'also print go env -w lines' })
      .option('import', {
        type: 'boolean',
        describe: 'print the OS proxy settings (registry, GNOME, macOS) as corproxy config',
      })
      .option('listen', { type: 'string', array: true, describe: "corproxy's ADDR:PORT" })
      .option('state-dir', { type: 'string', describe: 'where the bundle lives' }),
  handler: async (argv: ArgumentsCamelCase<EnvArgs>) => {
    await runEnv(argv, {
      loadConfig: (a) =>
        loadConfig({
          ...(a.config !== undefined && { config: a.config }),
          ...(a.stateDir !== undefined && { stateDir: a.stateDir }),
          ...(a.listen !== undefined && { listen: a.listen }),
        }),
      env: envSnapshot(),
      platform: process.platform,
      print: (line) => void process.stdout.write(`${line}\n`),
    });
  },
};
