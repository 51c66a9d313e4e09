/**
 * Runs the real `go` command in a sealed environment: fresh GOPATH, module cache, build
 * cache and HOME per run, no inherited proxy variables, and only the test CA as trust root.
 * The caller supplies GOPROXY, HTTPS_PROXY and the like in `env`.
 */
import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TeardownTest } from './tools.js';

export interface GoRunOptions {
  /** The `go` binary (see tools.findTool). */
  readonly goBin: string;
  /** PEM of the only root go may trust (SSL_CERT_FILE; SSL_CERT_DIR is empty). */
  readonly caCertPem: string;
  /** Working directory; a fresh empty directory when absent. */
  readonly cwd?: string;
  /** Added to (and overriding) the sealed environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill go after this long; default 60 s. */
  readonly timeoutMs?: number;
  /** When given (and `cwd` is not), the fresh work directory gets a go.mod requiring these. */
  readonly requires?: Readonly<Record<string, string>>;
}

export interface GoResult {
  /** Exit code, or null when go was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly durationMs: number;
  readonly timedOut: boolean;
  /** The per-run directories (GOMODCACHE holds the downloads). */
  readonly dirs: GoDirs;
}

export interface GoDirs {
  readonly base: string;
  readonly gopath: string;
  readonly modcache: string;
  readonly cache: string;
  readonly home: string;
  readonly work: string;
}

/** Module caches are written read-only: make everything writable again, then delete. */
export async function removeTree(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    await chmod(path, st.mode | 0o700);
    for (const name of await readdir(path)) await removeTree(join(path, name));
  }
  await rm(path, { recursive: true, force: true });
}

async function makeDirs(t: TeardownTest): Promise<GoDirs> {
  const base = await mkdtemp(join(tmpdir(), 'corproxy-go-'));
  t.teardown(() => removeTree(base));
  const dirs: GoDirs = {
    base,
    gopath: join(base, 'gopath'),
    modcache: join(base, 'gopath', 'pkg', 'mod'),
    cache: join(base, 'gocache'),
    home: join(base, 'home'),
    work: join(base, 'work'),
  };
  for (const d of [dirs.gopath, dirs.cache, dirs.home, dirs.work, join(base, 'certs')]) {
    await mkdir(d, { recursive: true });
  }
  return dirs;
}

/**
 * The whole environment of the go process: nothing is inherited but PATH, so a proxy
 * variable of the test runner can never leak into a test.
 */
export function goEnv(
  dirs: GoDirs,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dirs.home,
    GOPATH: dirs.gopath,
    GOMODCACHE: dirs.modcache,
    GOCACHE: dirs.cache,
    GOENV: 'off',
    GOFLAGS: '-mod=mod',
    GOSUMDB: 'off',
    GOTOOLCHAIN: 'local',
    GO111MODULE: 'on',
    CGO_ENABLED: '0',
    SSL_CERT_FILE: join(dirs.base, 'ca.pem'),
    SSL_CERT_DIR: join(dirs.base, 'certs'),
    ...extra,
  };
}

/** Writes `go.mod` requiring `requires` (module path → version) into `dir`. */
export async function writeGoMod(
  dir: string,
  requires: Readonly<Record<string, string>>,
): Promise<void> {
  const lines = Object.entries(requires).map(([p, v]) => `\t${p} ${v}\n`);
  const body = `module example.test/e2e\n\ngo 1.19\n\nrequire (\n${lines.join('')})\n`;
  await writeFile(join(dir, 'go.mod'), body);
}

/** Runs `go ARGS` once with fresh directories; resolves when go exits or is killed. */
export async function runGo(
  t: TeardownTest,
  args: readonly string[],
  opts: GoRunOptions,
): Promise<GoResult> {
  const dirs = await makeDirs(t);
  await writeFile(join(dirs.base, 'ca.pem'), opts.caCertPem);
  if (opts.requires && opts.cwd === undefined) await writeGoMod(dirs.work, opts.requires);
  const started = Date.now();
  const child = spawn(opts.goBin, [...args], {
    cwd: opts.cwd ?? dirs.work,
    env: goEnv(dirs, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      stderr += String(err);
      resolve(null);
    });
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  return { code, stdout, stderr, durationMs: Date.now() - started, timedOut, dirs };
}
