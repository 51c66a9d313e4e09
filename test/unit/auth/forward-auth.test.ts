/**
 * Plain-HTTP authentication (src/auth/forward-auth.ts) with scripted proxies and a fake
 * `attempt` standing in for the real request.
 */
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import t from 'tap';
import { CredentialStore } from '../../../src/auth/credentials.js';
import {
  headOf,
  headProbe,
  sendThroughUpstream,
  type ForwardAuth,
} from '../../../src/auth/forward-auth.js';
import { NegotiateLoader } from '../../../src/auth/negotiate.js';
import { SchemeCache } from '../../../src/auth/scheme-cache.js';
import type { AuthDeps } from '../../../src/auth/session.js';
import type { UpstreamProxy } from '../../../src/config/types.js';
import { challengeMessage } from '../../support/ntlm-server.js';
import { reply407, startScriptedProxy } from '../../support/scripted-proxy.js';

const URL = 'http://web.example.test:80/x';
const CHALLENGE = `NTLM ${challengeMessage({ serverChallenge: Buffer.alloc(8, 7) }).toString('base64')}`;

function deps(cache = new SchemeCache()): AuthDeps {
  return {
    credentials: new CredentialStore(),
    negotiate: new NegotiateLoader(async () => ({ ok: false, reason: 'is not installed' })),
    schemes: cache,
    now: () => 0,
    randomBytes: (n) => Buffer.alloc(n, 1),
  };
}

function proxyAt(port: number): UpstreamProxy {
  return {
    protocol: 'http:',
    host: '127.0.0.1',
    port,
    username: 'CORP\\alice',
    password: 'pw',
    display: `http://CORP\\alice:***@127.0.0.1:${port}`,
    id: `127.0.0.1:${port}`,
  };
}

/** A fake upstream response. */
function response(status: number, headers: Record<string, string> = {}): http.IncomingMessage {
  const res = Readable.from([]) as unknown as http.IncomingMessage;
  res.statusCode = status;
  res.statusMessage = status === 407 ? 'Proxy Authentication Required' : 'OK';
  res.rawHeaders = Object.entries(headers).flat();
  return res;
}

function opener(port: number): () => Promise<net.Socket> {
  return () =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
}

const READER = { timeoutMs: 2000, maxHeaderSize: 65536 };

t.test('headProbe and headOf', async (t) => {
  t.equal(
    headProbe(URL, 'web.example.test', 'NTLM x'),
    'HEAD http://web.example.test:80/x HTTP/1.1\r\nHost: web.example.test\r\nProxy-Authorization: NTLM x\r\nProxy-Connection: Keep-Alive\r\n\r\n',
  );
  t.notMatch(headProbe(URL, 'h', undefined), /Proxy-Authorization/);
  const h = headOf(response(407, { 'Proxy-Authenticate': 'NTLM' }));
  t.same(h.headers, [['proxy-authenticate', 'NTLM']]);
  t.equal(h.status, 407);
});

t.test('NTLM: HEAD with Type1 on a new connection, the request with Type3 on it', async (t) => {
  const up = await startScriptedProxy(t, (r) =>
    r.headers.get('proxy-authorization')?.startsWith('NTLM ') === true
      ? {
          reply: reply407([CHALLENGE]).replace(
            'Content-Length: 4\r\n\r\ndeny',
            'Content-Length: 4\r\n\r\n',
          ),
        }
      : { reply: reply407(['NTLM']) },
  );
  const cache = new SchemeCache();
  const seen: ForwardAuth[] = [];
  const res = await sendThroughUpstream(
    proxyAt(up.port),
    URL,
    'web.example.test',
    async (auth) => {
      seen.push(auth);
      if (auth.kind === 'dedicated') auth.socket.destroy();
      return seen.length === 1 ? response(407, { 'Proxy-Authenticate': 'NTLM' }) : response(200);
    },
    true,
    { open: opener(up.port), reader: READER, deps: deps(cache) },
  );
  t.equal(res.statusCode, 200);
  t.same(
    seen.map((a) => a.kind),
    ['pooled', 'dedicated'],
  );
  t.equal(seen[0]!.authorization, undefined, 'first attempt bare');
  t.match(seen[1]!.authorization, /^NTLM TlRMTVNTUAAD/, 'the request carries Type3');
  t.same(
    up.requests.map((r) => [r.conn, r.method]),
    [[1, 'HEAD']],
    'one HEAD with Type1',
  );
  t.equal(cache.get(`127.0.0.1:${up.port}`), 'ntlm');
});

t.test('NTLM HEAD probe let through without a challenge: pooled, no credentials', async (t) => {
  const up = await startScriptedProxy(t, () => ({
    reply: 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n',
  }));
  const cache = new SchemeCache();
  const proxy = proxyAt(up.port);
  cache.set(proxy.id, 'ntlm');
  const seen: ForwardAuth[] = [];
  await sendThroughUpstream(proxy, URL, 'h', async (a) => (seen.push(a), response(200)), true, {
    open: opener(up.port),
    reader: READER,
    deps: deps(cache),
  });
  t.same(seen, [{ kind: 'pooled', authorization: undefined }]);
  t.equal(cache.get(proxy.id), 'none');
});

t.test('NTLM probe: the upstream closes after each challenge', async (t) => {
  const up = await startScriptedProxy(t, () => ({
    reply: reply407([CHALLENGE], 'Connection: close\r\n'),
    close: true,
  }));
  const cache = new SchemeCache();
  const proxy = proxyAt(up.port);
  cache.set(proxy.id, 'ntlm');
  await t.rejects(
    sendThroughUpstream(proxy, URL, 'h', async () => response(200), true, {
      open: opener(up.port),
      reader: READER,
      deps: deps(cache),
    }),
    { code: 'CPX_ERR_UPSTREAM_AUTH', message: /closes the connection after each NTLM challenge/ },
  );
  t.equal(up.connections(), 3, 'first try and two restarts');
});

t.test('NTLM probe answered with another scheme: switch to it', async (t) => {
  const up = await startScriptedProxy(t, () => ({ reply: reply407(['Basic realm="r"']) }));
  const cache = new SchemeCache();
  const proxy = proxyAt(up.port);
  cache.set(proxy.id, 'ntlm');
  const seen: ForwardAuth[] = [];
  await sendThroughUpstream(proxy, URL, 'h', async (a) => (seen.push(a), response(200)), true, {
    open: opener(up.port),
    reader: READER,
    deps: deps(cache),
  });
  t.same(seen, [
    { kind: 'pooled', authorization: `Basic ${Buffer.from('CORP\\alice:pw').toString('base64')}` },
  ]);
  t.equal(cache.get(proxy.id), 'basic');
});

t.test('NTLM probe: a closed connection before the answer restarts', async (t) => {
  let first = true;
  const up = await startScriptedProxy(t, () => {
    if (first) {
      first = false;
      return { reply: '', close: true };
    }
    return { reply: reply407([CHALLENGE]) };
  });
  const cache = new SchemeCache();
  const proxy = proxyAt(up.port);
  cache.set(proxy.id, 'ntlm');
  const seen: ForwardAuth[] = [];
  await sendThroughUpstream(
    proxy,
    URL,
    'h',
    async (a) => {
      seen.push(a);
      if (a.kind === 'dedicated') a.socket.destroy();
      return response(200);
    },
    true,
    { open: opener(up.port), reader: READER, deps: deps(cache) },
  );
  t.equal(seen[0]?.kind, 'dedicated');
  t.equal(up.connections(), 2);
});

t.test('bounds and errors: unreachable upstream, too many attempts', async (t) => {
  await t.rejects(
    sendThroughUpstream(
      proxyAt(9),
      URL,
      'h',
      async () => response(407, { 'Proxy-Authenticate': 'Basic' }),
      true,
      {
        open: async () => {
          throw new Error('never dialled for Basic');
        },
        reader: READER,
        deps: deps(),
        maxAttempts: 1,
      },
    ),
    { code: 'CPX_ERR_UPSTREAM_AUTH', message: /still answers 407 after 1 authentication rounds/ },
  );
  const cache = new SchemeCache();
  const proxy = proxyAt(9);
  cache.set(proxy.id, 'ntlm');
  await t.rejects(
    sendThroughUpstream(proxy, URL, 'h', async () => response(200), true, {
      open: async () => {
        throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      },
      reader: READER,
      deps: deps(cache),
    }),
    /refused/,
  );
});
