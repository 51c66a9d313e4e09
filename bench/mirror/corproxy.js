/**
 * corproxy as users start it (`node dist/main.js serve --config FILE`), with its own state
 * directory: the corporate proxy as its upstream (no fallback to direct, so every upstream
 * byte crosses the corporate proxy), the module proxy's `.test` name in its `hosts` map,
 * `mirror.upstream` pointing at the module proxy, and the approved CA bundle that
 * `corproxy trust` would leave behind (Node's roots plus the benchmark CA).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { cleanEnv, start } from './processes.js';

export const MAIN_JS = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const LISTENING = /corproxy listening on http:\/\/127\.0\.0\.1:(\d+)/;

function configYaml({ stateDir, upstream, host, moduleProxyUrl }) {
  return [
    `listen: ['127.0.0.1:0']`,
    `stateDir: '${stateDir}'`,
    `log: { file: '${join(stateDir, 'connections.log')}', level: 'warn' }`,
    `upstream: ['${upstream}']`,
    'fallback: none',
    `hosts: { '${host}': '127.0.0.1' }`,
    // The default watch list would probe public hosts at start.
    'probe: { enabled: false, watch: [] }',
    `mirror: { upstream: '${moduleProxyUrl}' }`,
    '',
  ].join('\n');
}

/**
 * Starts a daemon in `dir/name`; resolves `{ url, stop }` once it listens. `withRoots`:
 * the bundle holds Node's roots before `caPem`, as `corproxy trust` writes it.
 */
export async function startCorproxy({
  dir,
  name,
  upstream,
  host,
  moduleProxyUrl,
  caPem,
  withRoots,
}) {
  const stateDir = join(dir, name);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const roots = withRoots ? [...tls.rootCertificates, caPem] : [caPem];
  await writeFile(join(stateDir, 'ca-bundle.pem'), `${roots.map((p) => p.trim()).join('\n')}\n`);
  const configFile = join(stateDir, 'config.yaml');
  await writeFile(configFile, configYaml({ stateDir, upstream, host, moduleProxyUrl }));
  let output = '';
  let onOutput = () => undefined;
  const child = start(process.execPath, [MAIN_JS, 'serve', '--config', configFile], {
    env: cleanEnv({ HOME: stateDir, XDG_CONFIG_HOME: stateDir, XDG_STATE_HOME: stateDir }),
    onOutput: (s) => {
      output = (output + s).slice(-8000);
      onOutput();
    },
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`corproxy did not start:\n${output}`)), 15_000);
    onOutput = () => {
      const m = LISTENING.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`corproxy exited (${code}) before listening:\n${output}`));
    });
    onOutput();
  });
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop: () => child.stop(10_000) };
}
