/**
 * One `go mod download` in a sealed environment: fresh GOPATH, GOMODCACHE, GOCACHE and
 * HOME, GOENV=off, nothing inherited but PATH, no proxy variables, GOPROXY the mirror
 * only (no `,direct`: a mirror failure fails the run). Afterwards it checks that every
 * module landed in the module cache, then deletes the run's directories.
 */
import { chmodSync, existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild } from '../lib/children.js';
import { VERSION } from './modules.js';

/** Module caches are read-only: make the tree writable, then delete it (sync: also used at exit). */
export function removeTree(path) {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (st.isDirectory()) {
    chmodSync(path, st.mode | 0o700);
    for (const name of readdirSync(path)) removeTree(join(path, name));
  }
  rmSync(path, { recursive: true, force: true });
}

function goMod(mods) {
  const lines = mods.map((m) => `\t${m.path} ${VERSION}\n`).join('');
  return `module bench.test/client\n\ngo 1.19\n\nrequire (\n${lines})\n`;
}

/**
 * Runs `go mod download` for `mods` against `goproxy` in `base` (created, then removed);
 * resolves `{ ok, ms, missing, stderr }`. `ms` is go's whole run, start to exit.
 */
export async function goModDownload({ goBin, base, mods, goproxy, timeoutMs }) {
  const d = {
    gopath: join(base, 'gopath'),
    modcache: join(base, 'gopath', 'pkg', 'mod'),
    gocache: join(base, 'gocache'),
    home: join(base, 'home'),
    work: join(base, 'work'),
    certs: join(base, 'certs'),
  };
  for (const dir of [d.gopath, d.gocache, d.home, d.work, d.certs]) {
    await mkdir(dir, { recursive: true });
  }
  await writeFile(join(d.work, 'go.mod'), goMod(mods));
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: d.home,
    GOPATH: d.gopath,
    GOMODCACHE: d.modcache,
    GOCACHE: d.gocache,
    GOENV: 'off',
    GOFLAGS: '-mod=mod',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'on',
    GOPROXY: goproxy,
    // Nothing here may need a root: the mirror is plain HTTP on loopback.
    SSL_CERT_DIR: d.certs,
    SSL_CERT_FILE: join(d.certs, 'none.pem'),
  };
  const started = performance.now();
  const child = startChild(goBin, ['mod', 'download'], { env, cwd: d.work });
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
  const code = await child.exited;
  clearTimeout(timer);
  const ms = performance.now() - started;
  const missing = mods
    .filter((m) => !existsSync(join(d.modcache, `${m.path}@${VERSION}`, 'go.mod')))
    .map((m) => m.path);
  removeTree(base);
  return { ok: code === 0 && missing.length === 0, code, ms, missing, stderr: child.output() };
}
