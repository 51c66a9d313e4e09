/**
 * An HTTPS origin speaking the Go module proxy protocol (`go help goproxy`) for in-memory
 * test modules. Its leaf is minted by a test CA for the given names; `go` reaches it by
 * those `.test` names through a proxy, since Go never proxies loopback addresses.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { makeLeaf, type Issued } from './pki.js';
import type { TeardownTest } from './tools.js';
import { makeZip } from './zip.js';

export interface ModuleVersion {
  /** Canonical semantic version, e.g. `v1.0.0`. */
  readonly version: string;
  /** Commit time reported in `.info`. */
  readonly time: string;
  /** File name → content; must include `go.mod`. */
  readonly files: Readonly<Record<string, string>>;
}

export interface TestModule {
  /** Module path, e.g. `example.test/hello`. */
  readonly path: string;
  /** Oldest first; the last one is `@latest`. */
  readonly versions: readonly ModuleVersion[];
}

export interface ModuleRequest {
  readonly method: string;
  /** Request path as sent (still case-encoded). */
  readonly path: string;
  readonly host: string;
  readonly status: number;
}

export interface ModuleServer {
  readonly port: number;
  /** `https://NAME:PORT` for the first (or given) name. */
  url(name?: string): string;
  /** Every request served so far, in order. */
  requests(): readonly ModuleRequest[];
  close(): Promise<void>;
}

/**
 * Go's case encoding of module paths and versions in proxy URLs: each upper-case letter
 * becomes `!` and its lower-case form, so paths stay distinct on case-insensitive disks.
 */
export function escapeModulePath(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** The inverse of `escapeModulePath`; undefined for an invalid encoding (`!` not before a-z, or A-Z). */
export function unescapeModulePath(escaped: string): string | undefined {
  if (/[A-Z]/.test(escaped) || /!(?![a-z])/.test(escaped)) return undefined;
  return escaped.replace(/!([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** `example.test/hello` v1.0.0: a go.mod and one package file. */
export function helloModule(): TestModule {
  return {
    path: 'example.test/hello',
    versions: [
      {
        version: 'v1.0.0',
        time: '2024-01-02T03:04:05Z',
        files: {
          'go.mod': 'module example.test/hello\n\ngo 1.19\n',
          'hello.go': 'package hello\n\n// Hello greets.\nfunc Hello() string { return "hello" }\n',
        },
      },
    ],
  };
}

/** `git.corp.test/private/lib` v0.1.0, served by the private GOPROXY that must be reached direct. */
export function privateModule(): TestModule {
  return {
    path: 'git.corp.test/private/lib',
    versions: [
      {
        version: 'v0.1.0',
        time: '2024-02-03T04:05:06Z',
        files: {
          'go.mod': 'module git.corp.test/private/lib\n\ngo 1.19\n',
          'lib.go': 'package lib\n\n// Answer is private.\nconst Answer = 42\n',
        },
      },
    ],
  };
}

interface Body {
  readonly type: string;
  readonly body: Buffer | string;
}

function info(v: ModuleVersion): Body {
  return {
    type: 'application/json',
    body: JSON.stringify({ Version: v.version, Time: v.time }),
  };
}

/** The file a module proxy would serve for `rest` (the part after `MODULE/`). */
function versionFile(mod: TestModule, rest: string): Body | undefined {
  if (rest === '@v/list') {
    return { type: 'text/plain', body: mod.versions.map((v) => `${v.version}\n`).join('') };
  }
  if (rest === '@latest') {
    const last = mod.versions.at(-1);
    return last ? info(last) : undefined;
  }
  const m = /^@v\/(.+)\.(info|mod|zip)$/.exec(rest);
  const version = m?.[1] === undefined ? undefined : unescapeModulePath(m[1]);
  const v = mod.versions.find((x) => x.version === version);
  if (!m || !v) return undefined;
  if (m[2] === 'info') return info(v);
  if (m[2] === 'mod') return { type: 'text/plain', body: v.files['go.mod'] ?? '' };
  const prefix = `${mod.path}@${v.version}/`;
  const entries = Object.entries(v.files).map(([name, data]) => ({ name: prefix + name, data }));
  return { type: 'application/zip', body: makeZip(entries) };
}

/** Resolves a request path against the modules; undefined → 404. */
export function resolveModuleFile(
  modules: readonly TestModule[],
  urlPath: string,
): Body | undefined {
  const at = urlPath.search(/\/@(v\/|latest$)/);
  if (!urlPath.startsWith('/') || at < 0) return undefined;
  const modPath = unescapeModulePath(urlPath.slice(1, at));
  const mod = modules.find((m) => m.path === modPath);
  return mod ? versionFile(mod, urlPath.slice(at + 1)) : undefined;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * Starts the origin on 127.0.0.1:0 with a leaf for `names` signed by `ca`, serving `modules`.
 * Closed at teardown.
 */
export async function startModuleServer(
  t: TeardownTest,
  opts: { ca: Issued; names: readonly string[]; modules: readonly TestModule[] },
): Promise<ModuleServer> {
  const leaf = makeLeaf(opts.ca, opts.names);
  const log: ModuleRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ cert: leaf.certPem, key: leaf.keyPem }, handler);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });

  function handler(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const found = req.method === 'GET' ? resolveModuleFile(opts.modules, path) : undefined;
    const status = found ? 200 : 404;
    log.push({ method: req.method ?? '', path, host: req.headers.host ?? '', status });
    res.writeHead(status, { 'Content-Type': found?.type ?? 'text/plain' });
    res.end(found?.body ?? `not found: ${path}\n`);
  }

  const port = await listen(server);
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  t.teardown(close);
  return {
    port,
    url: (name = opts.names[0] ?? '127.0.0.1') => `https://${name}:${port}`,
    requests: () => [...log],
    close,
  };
}
