/**
 * External tools for end-to-end tests (squid, go, openssl). A missing tool skips the test on
 * a developer machine but fails it in CI, where `.ci/run` installs every tool: a green CI run
 * must mean the end-to-end tests ran.
 */
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** The part of a tap test these helpers use (structural, so any test object fits). */
export interface ToolTest {
  fail(message: string, extra: Record<string, unknown>): boolean;
  /** tap's skipped subtest: reported as `# SKIP message`, its body never runs. */
  skip(message: string, body: () => void): unknown;
}

/** The part of a tap test that helpers owning a resource use to release it. */
export interface TeardownTest {
  teardown(fn: () => unknown): void;
}

/** Debian packages that provide each tool, for the failure message. */
const PACKAGE_OF: Readonly<Record<string, string>> = Object.freeze({
  squid: 'squid-openssl',
  go: 'golang-go',
  openssl: 'openssl',
  mitmdump: 'mitmproxy',
  nginx: 'nginx-light',
  'systemd-analyze': 'systemd',
});

/** sbin directories are often missing from a non-root PATH, yet hold squid. */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

export interface ToolDeps {
  readonly isExecutable: (path: string) => boolean;
  readonly ci: boolean;
  readonly searchPath: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const defaultDeps: ToolDeps = {
  isExecutable,
  ci: process.env.CI === 'true',
  searchPath: process.env.PATH ?? '',
};

/**
 * Where `name` is installed: the first executable among PATH and the sbin directories, or
 * undefined. Callers pass the result (or undefined) to `requireTool`.
 */
export function findTool(name: string, deps: ToolDeps = defaultDeps): string | undefined {
  const dirs = [...deps.searchPath.split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS];
  return dirs.map((d) => join(d, name)).find((p) => deps.isExecutable(p));
}

/**
 * True when the tool at `path` can be run. Otherwise fails the test under CI (with the apt
 * package to install) or skips it elsewhere, and returns false: the caller returns early.
 */
export function requireTool(
  t: ToolTest,
  name: string,
  path: string | undefined,
  deps: ToolDeps = defaultDeps,
): path is string {
  if (path !== undefined && deps.isExecutable(path)) return true;
  const where = path ?? `${name} on PATH`;
  const pkg = PACKAGE_OF[name] ?? name;
  if (deps.ci) {
    t.fail(`${name} is required in CI but ${where} is missing: apt-get install -y ${pkg}`, {
      tool: name,
      path: where,
    });
  } else {
    t.skip(
      `${name} not installed (${where}); apt-get install -y ${pkg} to run this test`,
      () => {},
    );
  }
  return false;
}

/** Polls `check` every 100 ms until it is true or `timeoutMs` passes; resolves the last answer. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Resolves the exit code (or signal name) of `child`, or undefined if it runs past `timeoutMs`. */
export function waitExit(
  child: ChildProcess,
  timeoutMs: number,
): Promise<number | string | null | undefined> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
  });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port in [low, high) that nothing listens on, for a tool that cannot report the port it
 * bound. Below 32768 so that no ephemeral (outgoing) port can take it meanwhile.
 */
export async function freePortInRange(low: number, high: number, attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i += 1) {
    const port = low + Math.floor(Math.random() * (high - low));
    if ((await canBind(port)) && !(await canConnect(port, 200))) return port;
  }
  throw new Error(`no free port in ${low}-${high} after ${attempts} attempts`);
}
