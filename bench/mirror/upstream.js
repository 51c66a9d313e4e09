/**
 * The corporate proxy between corproxy and the module proxy: a private squid when it is
 * installed (own config, pid file, logs, `-N`, a distinct `-n`; the `.test` name resolved
 * from its hosts_file; CONNECT allowed to that name only), else a small in-process Node
 * CONNECT proxy with the same rule. Both listen on 127.0.0.1 and dial 127.0.0.1 only.
 */
import { chmod, chown, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { canConnect, findSquid, freePort } from '../lib/squid.js';
import { start } from './processes.js';

/** uid/gid of `proxy`, the user squid drops to when started as root. */
async function proxyUser() {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const f = passwd
    .split('\n')
    .find((l) => l.startsWith('proxy:'))
    ?.split(':');
  return f && f.length > 3 ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

async function chownTree(path, ids) {
  await chown(path, ids.uid, ids.gid);
  for (const e of await readdir(path, { withFileTypes: true }).catch(() => [])) {
    await chownTree(join(path, e.name), ids);
  }
}

function squidConf(dir, port, host, asProxy) {
  return [
    `http_port 127.0.0.1:${port}`,
    ...(asProxy ? ['cache_effective_user proxy'] : []),
    `pid_filename ${dir}/squid.pid`,
    `cache_log ${dir}/cache.log`,
    `access_log stdio:${dir}/access.log squid`,
    'cache_store_log none',
    'logfile_rotate 0',
    `coredump_dir ${dir}`,
    'netdb_filename none',
    'cache deny all',
    'pinger_enable off',
    'shutdown_lifetime 0 seconds',
    'visible_hostname bench-squid.test',
    // resolv.conf may name a server this benchmark must not query.
    'dns_nameservers 127.0.0.1',
    `hosts_file ${dir}/hosts`,
    `acl modproxy dstdomain ${host}`,
    'http_access allow localhost modproxy',
    'http_access deny all',
    '',
  ].join('\n');
}

async function startSquid(bin, parent, host) {
  const dir = join(parent, 'squid');
  await mkdir(dir, { recursive: true });
  const ids = await proxyUser();
  const port = await freePort();
  await writeFile(join(dir, 'hosts'), `127.0.0.1 ${host}\n`);
  await writeFile(join(dir, 'squid.conf'), squidConf(dir, port, host, ids !== undefined));
  if (ids) {
    await chmod(parent, 0o755);
    await chownTree(dir, ids);
  }
  const child = start(bin, ['-N', '-f', join(dir, 'squid.conf'), '-n', `cpxmirror${process.pid}`]);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && child.proc.exitCode === null) {
    if (await canConnect(port)) {
      const tunnels = async () => {
        const log = await readFile(join(dir, 'access.log'), 'utf8').catch(() => '');
        return log.split('\n').filter((l) => / CONNECT /.test(l)).length;
      };
      return { kind: 'squid', url: `http://127.0.0.1:${port}`, tunnels, stop: () => child.stop() };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await readFile(join(dir, 'cache.log'), 'utf8').catch(() => '');
  await child.stop();
  throw new Error(`squid did not start on 127.0.0.1:${port}\n${child.output()}\n${log}`);
}

/** The fallback: CONNECT to `host` only, dialled at 127.0.0.1; anything else gets 403. */
function startNodeProxy(host) {
  const sockets = new Set();
  let count = 0;
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client, head) => {
    const m = /^([^:]+):(\d+)$/.exec(req.url ?? '');
    if (!m || m[1].toLowerCase() !== host) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    count += 1;
    const remote = net.connect({ host: '127.0.0.1', port: Number(m[2]) });
    for (const s of [client, remote]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => (s === client ? remote : client).destroy());
    }
    remote.once('connect', () => {
      client.write('HTTP/1.1 200 Connection established\r\n\r\n');
      if (head.length > 0) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  const stop = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}`;
      resolve({ kind: 'node', url, tunnels: async () => count, stop });
    });
  });
}

/**
 * `want`: 'squid' (an error when it is not installed), 'node', or undefined for squid when
 * installed, else the Node proxy. `kind` says which runs; `why`, why it is not squid.
 */
export async function startUpstream(parent, host, want) {
  const bin = want === 'node' ? undefined : findSquid();
  if (bin) return startSquid(bin, parent, host);
  if (want === 'squid') throw new Error('squid is not installed (apt-get install squid-openssl)');
  const node = await startNodeProxy(host);
  const why =
    want === 'node'
      ? 'the corporate proxy is the Node CONNECT proxy (--upstream=node)'
      : 'squid is not installed: the corporate proxy is the Node CONNECT proxy';
  return { ...node, why };
}
