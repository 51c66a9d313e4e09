/**
 * The daemon under test, started the way users start it (`node dist/main.js serve
 * --config FILE`) with its connection log ON (a file in the run's temp dir), routing rules
 * that every connection walks, and interception probing on: every tunnel's first bytes go
 * to the probe hook (they are not TLS here, so no probe connection is made). When probing
 * grows a per-tunnel cost, these runs measure it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, startChild } from './children.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
export const ORIGIN_NAME = 'origin.bench.test';
const LISTENING = /corproxy listening on http:\/\/127\.0\.0\.1:(\d+)/;

function configYaml({ stateDir, upstream, maxConnections }) {
  return [
    `listen: ['127.0.0.1:0']`,
    `stateDir: '${stateDir}'`,
    `log: { file: '${join(stateDir, 'connections.log')}', level: 'warn' }`,
    upstream ? `upstream: ['${upstream}']` : 'upstream: []',
    // Rules that never match the origin, so each connection walks the whole list.
    `direct: ['.corp.bench.test', 'intranet.bench.test', '10.0.0.0/8', '192.168.0.0/16']`,
    `hosts: { '${ORIGIN_NAME}': '127.0.0.1' }`,
    `limits: { maxConnections: ${maxConnections ?? 4096} }`,
    // No watch list: probing it at start would resolve names. Tunnels are still offered
    // to the probe hook (their first bytes are not TLS, so no probe is started).
    `probe: { enabled: true, watch: [] }`,
    '',
  ].join('\n');
}

/**
 * Starts one daemon in `dir/name`. `nodeArgs` go before the script (--cpu-prof); `mainJs`
 * names another build to compare (A/B runs while tuning). Resolves
 * `{ port, pid, child, logFile, stderr, stop }` once it prints its listening line.
 */
export async function startCorproxy({
  dir,
  name,
  upstream,
  maxConnections,
  // A/B knobs while tuning (bench/README.md): another build or a reference relay, and
  // flags for node, for every daemon the run starts.
  nodeArgs = process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : [],
  mainJs = process.env.BENCH_MAIN_JS ?? MAIN_JS,
}) {
  const stateDir = join(dir, name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const yaml = configYaml({ stateDir, upstream, maxConnections });
  const daemon = await serveConfig(stateDir, yaml, { nodeArgs, mainJs });
  return { ...daemon, logFile: join(stateDir, 'connections.log') };
}

/**
 * Writes `yaml` as `stateDir/config.yaml` and starts `node [nodeArgs] mainJs serve` on it,
 * with HOME and the XDG directories in `stateDir`, as users start the daemon; resolves
 * `{ port, pid, child, stderr, stop }` once it prints its listening line. The mirror
 * benchmark starts its daemons here too.
 */
export async function serveConfig(stateDir, yaml, { nodeArgs = [], mainJs = MAIN_JS } = {}) {
  const configFile = join(stateDir, 'config.yaml');
  await writeFile(configFile, yaml);
  let stderr = '';
  let onLine;
  const child = startChild(
    process.execPath,
    [...nodeArgs, mainJs, 'serve', '--config', configFile],
    {
      env: cleanEnv({ HOME: stateDir, XDG_CONFIG_HOME: stateDir, XDG_STATE_HOME: stateDir }),
      onStderr: (s) => {
        stderr = (stderr + s).slice(-8000);
        onLine?.();
      },
    },
  );
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`corproxy did not start:\n${stderr}`)), 15_000);
    onLine = () => {
      const m = LISTENING.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`corproxy exited (${code}) before listening:\n${stderr}`));
    });
    onLine();
  });
  return {
    port,
    pid: child.pid,
    child,
    stderr: () => stderr,
    stop: () => child.stop(10_000),
  };
}
