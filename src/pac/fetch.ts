/**
 * Loading a PAC script: GET over node:http/https straight to the PAC server (a fresh
 * connection, no agent, no proxy environment variables: the script must never be
 * fetched through corproxy itself), with conditional re-fetch (ETag, Last-Modified); a
 * file is re-read only when its size or mtime changed; a data: URL never changes.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { CorproxyError } from '../errors.js';
import type { LookupFn } from '../proxy/dial.js';
import { charsetOfContentType, decodePacBody, redactUrl, type PacSource } from './source.js';

export interface Validators {
  readonly etag?: string;
  readonly lastModified?: string;
  readonly mtimeMs?: number;
  readonly size?: number;
}

export type FetchResult =
  | { readonly kind: 'script'; readonly text: string; readonly validators: Validators }
  | { readonly kind: 'unchanged' };

export interface FetchDeps {
  readonly lookup?: LookupFn;
  /** name → address overrides (config `hosts`). */
  readonly hosts: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly readFile?: (file: string) => Promise<Buffer>;
  readonly stat?: (file: string) => Promise<{ readonly mtimeMs: number; readonly size: number }>;
  /** Extra roots for an https:// PAC server signed by a corporate CA. */
  readonly ca?: readonly string[];
}

/** PAC scripts are small; a bigger body is a wrong URL (a portal page, a download). */
export const MAX_PAC_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 3;

/** Connection-level failures: the PAC server is not reachable (a hint we are off-network). */
const NETWORK_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'EPIPE',
]);

function loadError(what: string, network: boolean, cause?: unknown): CorproxyError {
  return new CorproxyError('CPX_ERR_PAC_LOAD', `pac: ${what}`, {
    cause,
    details: { pac: 'load', network },
  });
}

/** True when a load error says the PAC server could not be reached at all. */
export function isNetworkFailure(err: unknown): boolean {
  return err instanceof CorproxyError && err.details?.network === true;
}

interface Response {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

function requestOnce(
  url: URL,
  previous: Validators | undefined,
  deps: FetchDeps,
): Promise<Response> {
  const secure = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const headers: Record<string, string> = {
    Host: url.host,
    Accept: 'application/x-ns-proxy-autoconfig, application/javascript, */*;q=0.5',
    'User-Agent': 'corproxy',
  };
  if (previous?.etag !== undefined) headers['If-None-Match'] = previous.etag;
  if (previous?.lastModified !== undefined) headers['If-Modified-Since'] = previous.lastModified;
  if (url.username !== '') {
    const user = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    headers.Authorization = `Basic ${Buffer.from(user).toString('base64')}`;
  }
  const options: https.RequestOptions = {
    host: deps.hosts[hostname.toLowerCase()] ?? hostname,
    port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    headers,
    // No agent: a fresh direct connection, never a pooled or proxied one.
    agent: false,
    ...(deps.lookup ? { lookup: deps.lookup } : {}),
    ...(secure && net.isIP(hostname) === 0 ? { servername: hostname } : {}),
    ...(secure && deps.ca ? { ca: [...deps.ca] } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options);
    const timer = setTimeout(() => {
      req.destroy(
        Object.assign(new Error(`no answer within ${deps.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      );
    }, deps.timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_PAC_BYTES)
          req.destroy(Object.assign(new Error('too large'), { code: 'ETOOBIG' }));
        else chunks.push(chunk);
      });
      res.once('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    req.end();
  });
}

function describeFailure(err: NodeJS.ErrnoException): { text: string; network: boolean } {
  const code = err.code ?? '';
  if (code === 'ETOOBIG')
    return { text: `the script is larger than ${MAX_PAC_BYTES} bytes`, network: false };
  if (NETWORK_CODES.has(code)) return { text: `${code}: ${err.message}`, network: true };
  return { text: code === '' ? err.message : `${code}: ${err.message}`, network: false };
}

async function fetchUrl(
  source: string,
  previous: Validators | undefined,
  deps: FetchDeps,
): Promise<FetchResult> {
  const shown = redactUrl(source);
  let url = new URL(source);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
    let res: Response;
    try {
      res = await requestOnce(url, previous, deps);
    } catch (err) {
      const { text, network } = describeFailure(err as NodeJS.ErrnoException);
      throw loadError(`cannot fetch ${shown}: ${text}`, network, err);
    }
    if (res.status === 304 && previous !== undefined) return { kind: 'unchanged' };
    if (
      [301, 302, 303, 307, 308].includes(res.status) &&
      typeof res.headers.location === 'string'
    ) {
      const next = new URL(res.headers.location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw loadError(`${shown} redirects to a ${next.protocol} URL`, false);
      }
      url = next;
      continue;
    }
    if (res.status !== 200) throw loadError(`${shown} answered HTTP ${res.status}`, false);
    const text = decodePacBody(res.body, charsetOfContentType(res.headers['content-type']));
    const etag = res.headers.etag;
    const lastModified = res.headers['last-modified'];
    return {
      kind: 'script',
      text,
      validators: { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) },
    };
  }
  throw loadError(`${shown} redirects more than ${MAX_REDIRECTS} times`, false);
}

async function fetchFile(
  file: string,
  previous: Validators | undefined,
  deps: FetchDeps,
): Promise<FetchResult> {
  const stat = deps.stat ?? ((p: string) => fs.stat(p));
  const readFile = deps.readFile ?? ((p: string) => fs.readFile(p));
  try {
    const st = await stat(file);
    if (previous?.mtimeMs === st.mtimeMs && previous.size === st.size) return { kind: 'unchanged' };
    if (st.size > MAX_PAC_BYTES) throw Object.assign(new Error('too large'), { code: 'ETOOBIG' });
    const text = decodePacBody(await readFile(file));
    return { kind: 'script', text, validators: { mtimeMs: st.mtimeMs, size: st.size } };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const text =
      e.code === 'ETOOBIG' ? describeFailure(e).text : `${e.code ?? 'error'}: ${e.message}`;
    throw loadError(`cannot read ${file}: ${text}`, false, err);
  }
}

/** Loads the script, or says it did not change since `previous`; throws CPX_ERR_PAC_LOAD. */
export async function fetchPac(
  source: PacSource,
  previous: Validators | undefined,
  deps: FetchDeps,
): Promise<FetchResult> {
  if (source.kind === 'url') return fetchUrl(source.url, previous, deps);
  if (source.kind === 'file') return fetchFile(source.path, previous, deps);
  return previous === undefined
    ? { kind: 'script', text: source.text, validators: {} }
    : { kind: 'unchanged' };
}
