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
import { serveConfig } from '../lib/corproxy.js';

export { MAIN_JS } from '../lib/corproxy.js';

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
 * Starts a daemon in `dir/name`; resolves `{ url, output, stop }` once it listens.
 * `withRoots`: the bundle holds Node's roots before `caPem`, as `corproxy trust` writes it.
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
  const yaml = configYaml({ stateDir, upstream, host, moduleProxyUrl });
  const daemon = await serveConfig(stateDir, yaml);
  return { url: `http://127.0.0.1:${daemon.port}`, output: daemon.stderr, stop: daemon.stop };
}
