/**
 * Finding the running daemon and asking it for `/status`: the listen addresses come from
 * the status file in the state dir (written by `serve`), else from the config. The GET is
 * plain HTTP straight to the loopback listener through node:http with `agent: false`:
 * never through HTTP(S)_PROXY, which may well point at the daemon being diagnosed.
 */
import http from 'node:http';
import type { Config } from '../config/types.js';
import { CorproxyError } from '../errors.js';
import { isProcessAlive, readStatusFile, type DaemonStatus } from '../service/instance-lock.js';
import { formatEndpoint, parseEndpoint, type Endpoint } from './endpoint.js';
import { parseStatusDocument, type StatusDocument } from './status-document.js';

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** One bounded GET; rejects on connection errors and timeouts. */
export type HttpGet = (endpoint: Endpoint, path: string, timeoutMs: number) => Promise<HttpAnswer>;

/** A status document is a few kilobytes; anything much larger is not one. */
const MAX_BODY = 1 << 20;

/** A wildcard listener is reached over loopback. */
function reachable(e: Endpoint): Endpoint {
  if (e.host === '0.0.0.0') return { host: '127.0.0.1', port: e.port };
  if (e.host === '::') return { host: '::1', port: e.port };
  return e;
}

function isLoopback(host: string): boolean {
  return host === '::1' || host.startsWith('127.');
}

/** Where to ask, in order: status file listeners, then configured ones; loopback first. */
export function daemonEndpoints(config: Config, published: DaemonStatus | undefined): Endpoint[] {
  const fromFile = (published?.listen ?? []).map(parseEndpoint);
  const all = [...fromFile, ...config.listen.filter((l) => l.port !== 0)]
    .filter((e): e is Endpoint => e !== undefined)
    .map(reachable);
  const unique = [...new Map(all.map((e) => [formatEndpoint(e), e])).values()];
  return [
    ...unique.filter((e) => isLoopback(e.host)),
    ...unique.filter((e) => !isLoopback(e.host)),
  ];
}

/** The real GET: node:http, no agent (so no proxy and no pooled socket), bounded body. */
export const nodeHttpGet: HttpGet = (endpoint, path, timeoutMs) =>
  new Promise((resolve, reject) => {
    const req = http.get(
      { host: endpoint.host, port: endpoint.port, path, agent: false, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > MAX_BODY) req.destroy(new Error('answer too large'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });

export interface Attempt {
  readonly endpoint: Endpoint;
  readonly problem: string;
}

export type StatusFetch =
  | {
      readonly ok: true;
      readonly endpoint: Endpoint;
      readonly text: string;
      readonly doc: StatusDocument;
    }
  | { readonly ok: false; readonly attempts: readonly Attempt[] };

function problemOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** Asks each endpoint in turn; the first corproxy answer wins. */
export async function fetchStatus(
  endpoints: readonly Endpoint[],
  get: HttpGet = nodeHttpGet,
  timeoutMs = 2000,
): Promise<StatusFetch> {
  const attempts: Attempt[] = [];
  for (const endpoint of endpoints) {
    try {
      const res = await get(endpoint, '/status', timeoutMs);
      const doc = res.status === 200 ? parseStatusDocument(res.body) : `HTTP ${res.status}`;
      if (typeof doc !== 'string') return { ok: true, endpoint, text: res.body, doc };
      attempts.push({ endpoint, problem: `answered, but not as corproxy (${doc})` });
    } catch (err) {
      attempts.push({ endpoint, problem: problemOf(err) });
    }
  }
  return { ok: false, attempts };
}

/** What is known about a daemon that did not answer, for the error message. */
export interface DownContext {
  readonly published?: DaemonStatus;
  /** Whether the published PID still runs. */
  readonly publishedAlive?: boolean;
  /** Why the status file could not be read, when it could not. */
  readonly statusFileProblem?: string;
}

const START_HINT = 'start it with `corproxy serve` (or `systemctl --user start corproxy`)';

/** CPX_ERR_DAEMON_DOWN: one line with what was tried and the command that starts it. */
export function daemonDown(attempts: readonly Attempt[], ctx: DownContext): CorproxyError {
  const tried =
    attempts.length === 0
      ? 'no listen address is known'
      : attempts.map((a) => `${formatEndpoint(a.endpoint)}: ${a.problem}`).join('; ');
  const extra: string[] = [];
  if (attempts.length === 0 && ctx.published === undefined && !ctx.statusFileProblem) {
    extra.push('no status file in the state dir, and the config listens on port 0');
  }
  if (ctx.published !== undefined && ctx.publishedAlive === false) {
    extra.push(`the status file names PID ${ctx.published.pid}, which is not running`);
  }
  if (ctx.statusFileProblem !== undefined) extra.push(ctx.statusFileProblem);
  const why = extra.length > 0 ? ` (${extra.join('; ')})` : '';
  return new CorproxyError(
    'CPX_ERR_DAEMON_DOWN',
    `the corproxy daemon is not running or not reachable: ${tried}${why}; ${START_HINT}`,
    { details: { attempts: attempts.map((a) => formatEndpoint(a.endpoint)) } },
  );
}

/** The I/O `status` and `explain` use to find the daemon; tests pass their own. */
export interface DaemonDeps {
  readonly readStatus?: (stateDir: string) => DaemonStatus | undefined;
  readonly isAlive?: (pid: number) => boolean;
  readonly get?: HttpGet;
  readonly timeoutMs?: number;
}

export type DaemonAnswer =
  (StatusFetch & { readonly ok: true }) | { readonly ok: false; readonly error: CorproxyError };

/** Reads the status file of `config.stateDir`, then asks the listeners it names. */
export async function askDaemon(config: Config, deps: DaemonDeps = {}): Promise<DaemonAnswer> {
  const readStatus = deps.readStatus ?? ((dir: string) => readStatusFile(dir));
  let published: DaemonStatus | undefined;
  let statusFileProblem: string | undefined;
  try {
    published = readStatus(config.stateDir);
  } catch (err) {
    statusFileProblem = err instanceof Error ? err.message : String(err);
  }
  const res = await fetchStatus(daemonEndpoints(config, published), deps.get, deps.timeoutMs);
  if (res.ok) return res;
  const isAlive = deps.isAlive ?? isProcessAlive;
  const ctx: DownContext = {
    ...(published !== undefined && { published, publishedAlive: isAlive(published.pid) }),
    ...(statusFileProblem !== undefined && { statusFileProblem }),
  };
  return { ok: false, error: daemonDown(res.attempts, ctx) };
}
