/**
 * The CONNECT exchange against scripted proxies: Negotiate through an injected GSS
 * client, fallbacks, restarts on closed connections, refusals and bounds.
 */
import net from 'node:net';
import t from 'tap';
import { CredentialStore } from '../../../src/auth/credentials.js';
import { connectRequest, connectWithAuth, type AuthDeps } from '../../../src/auth/handshake.js';
import { NegotiateLoader, type GssLoad, type GssProvider } from '../../../src/auth/negotiate.js';
import { SchemeCache } from '../../../src/auth/scheme-cache.js';
import type { UpstreamProxy } from '../../../src/config/types.js';
import { listen, readUntil } from '../../support/net.js';
import { challengeMessage, parseAuthenticateMessage } from '../../support/ntlm-server.js';
import {
  reply407,
  startScriptedProxy,
  type ScriptedAnswer,
  type ScriptedRequest,
} from '../../support/scripted-proxy.js';

const TARGET = { host: 'origin.example.test', port: 443 };
const CHALLENGE = `NTLM ${challengeMessage({ serverChallenge: Buffer.alloc(8, 7) }).toString('base64')}`;

/** A GSS provider that hands out scripted tokens and records its calls. */
function fakeGss(steps: (token: string) => string, fail?: Error) {
  const hosts: string[] = [];
  const tokens: string[] = [];
  const provider: GssProvider = {
    client: async (host) => {
      hosts.push(host);
      if (fail) throw fail;
      return {
        step: async (token) => {
          tokens.push(token);
          return steps(token);
        },
      };
    },
  };
  return { provider, hosts, tokens };
}

function deps(
  over: { gss?: GssLoad; store?: CredentialStore; cache?: SchemeCache } = {},
): AuthDeps {
  const gss = over.gss ?? { ok: false, reason: 'is not installed' };
  return {
    credentials: over.store ?? new CredentialStore(),
    negotiate: new NegotiateLoader(async () => gss),
    schemes: over.cache ?? new SchemeCache(),
    now: () => Date.UTC(2024, 0, 1),
    randomBytes: (n) => Buffer.alloc(n, 0x11),
  };
}

function proxyAt(port: number, over: Partial<UpstreamProxy> = {}): UpstreamProxy {
  return {
    protocol: 'http:',
    host: '127.0.0.1',
    port,
    display: `http://127.0.0.1:${port}`,
    id: `127.0.0.1:${port}`,
    ...over,
  };
}

function opener(port: number): () => Promise<net.Socket> {
  return () =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
      s.once('error', reject);
    });
}

const OPTS = { timeoutMs: 2000, maxHeaderSize: 65536 };

interface Teardown {
  teardown(fn: () => unknown): void;
}

async function through(
  t: Teardown,
  answer: (req: ScriptedRequest) => ScriptedAnswer,
  d: AuthDeps,
  over: Partial<UpstreamProxy> = {},
  opts: { timeoutMs: number; maxHeaderSize: number; maxRounds?: number } = OPTS,
) {
  const up = await startScriptedProxy(t, answer);
  const proxy = proxyAt(up.port, over);
  const run = () => connectWithAuth(proxy, TARGET, opener(up.port), opts, d);
  return { up, proxy, run };
}

const auth = (r: ScriptedRequest): string => r.headers.get('proxy-authorization') ?? '';

t.test('connectRequest', async (t) => {
  t.equal(
    connectRequest({ host: '::1', port: 8443 }, 'NTLM abc'),
    'CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\nProxy-Authorization: NTLM abc\r\nProxy-Connection: Keep-Alive\r\n\r\n',
  );
  t.notMatch(connectRequest(TARGET, undefined), /Proxy-Authorization/);
});

t.test('no authentication wanted: scheme none, early bytes kept', async (t) => {
  const cache = new SchemeCache();
  const { up, proxy, run } = await through(
    t,
    () => ({ tunnel: true, early: 'hello' }),
    deps({ cache }),
    {
      username: 'u',
      password: 'never-sent',
    },
  );
  const est = await run();
  t.equal(est.scheme, 'none');
  const text =
    est.rest.toString() +
    (est.rest.length >= 5 ? '' : await readUntil(est.socket, (s) => s.length > 0));
  t.equal(text, 'hello');
  est.socket.write('ping');
  t.equal(
    await readUntil(est.socket, (s) => s.includes('ping')),
    'ping',
    'the socket flows after detach',
  );
  est.socket.destroy();
  t.equal(auth(up.requests[0]!), '', 'credentials are not sent unasked');
  t.equal(cache.get(proxy.id), 'none');
});

t.test('Negotiate through the GSS library, the ticket read per handshake', async (t) => {
  const gss = fakeGss(() => 'Y2xpZW50LXRva2Vu');
  const cache = new SchemeCache();
  const { up, proxy, run } = await through(
    t,
    (r) =>
      auth(r) === 'Negotiate Y2xpZW50LXRva2Vu'
        ? { tunnel: true }
        : { reply: reply407(['Negotiate', 'NTLM']) },
    deps({ gss: { ok: true, provider: gss.provider }, cache }),
  );
  const est = await run();
  est.socket.destroy();
  t.equal(est.scheme, 'negotiate');
  t.same(gss.hosts, ['127.0.0.1'], 'a context for the proxy host');
  t.equal(cache.get(proxy.id), 'negotiate');
  const again = await run();
  again.socket.destroy();
  t.same(gss.hosts, ['127.0.0.1', '127.0.0.1'], 'a fresh context (and ticket lookup) each time');
  t.same(up.requests.slice(-1).map(auth), ['Negotiate Y2xpZW50LXRva2Vu'], 'token sent at once');
});

t.test('Negotiate with a second round on the same connection', async (t) => {
  const gss = fakeGss((token) => (token === '' ? 'Zmlyc3Q=' : `c2Vjb25k`));
  const { up, run } = await through(
    t,
    (r) =>
      auth(r) === 'Negotiate Zmlyc3Q='
        ? { reply: reply407(['Negotiate c2VydmVy']) }
        : auth(r) === 'Negotiate c2Vjb25k'
          ? { tunnel: true }
          : { reply: reply407(['Negotiate']) },
    deps({ gss: { ok: true, provider: gss.provider } }),
  );
  const est = await run();
  est.socket.destroy();
  t.same(gss.tokens, ['', 'c2VydmVy']);
  t.same(
    up.requests.map((r) => r.conn),
    [1, 2, 2],
    'probe, then both Negotiate rounds on one connection',
  );
});

t.test('a GSS failure falls back to NTLM when offered', async (t) => {
  const gss = fakeGss(() => '', new Error('No Kerberos credentials available'));
  const { up, run } = await through(
    t,
    (r) => {
      const a = auth(r);
      if (a.startsWith('NTLM ') && Buffer.from(a.slice(5), 'base64').readUInt32LE(8) === 3)
        return { tunnel: true };
      if (a.startsWith('NTLM ')) return { reply: reply407([CHALLENGE]) };
      return { reply: reply407(['Negotiate', 'NTLM']) };
    },
    deps({ gss: { ok: true, provider: gss.provider } }),
    { username: 'CORP\\alice', password: 'pw' },
  );
  const est = await run();
  est.socket.destroy();
  t.equal(est.scheme, 'ntlm');
  const type3 = parseAuthenticateMessage(Buffer.from(auth(up.requests.at(-1)!).slice(5), 'base64'));
  t.match(type3, { user: 'alice', domain: 'CORP' });
});

t.test('Negotiate failures without another scheme say why', async (t) => {
  const failing = fakeGss(() => '', new Error('No Kerberos credentials available'));
  const a = await through(
    t,
    () => ({ reply: reply407(['Negotiate']) }),
    deps({ gss: { ok: true, provider: failing.provider } }),
  );
  await t.rejects(a.run(), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
    message:
      /requires authentication \(407; offers Negotiate\); Negotiate failed: No Kerberos credentials available$/,
  });
  const refused = fakeGss(() => 'dG9r');
  const b = await through(
    t,
    () => ({ reply: reply407(['Negotiate']) }),
    deps({ gss: { ok: true, provider: refused.provider } }),
  );
  await t.rejects(b.run(), {
    message: /the upstream did not accept the Negotiate \(Kerberos\) token$/,
  });
  const c = await through(t, () => ({ reply: reply407(['Negotiate']) }), deps());
  await t.rejects(c.run(), {
    message:
      /offers Negotiate\); Negotiate needs the optional kerberos package, which is not installed \(npm install kerberos; NTLM or Basic are used instead when offered\)$/,
  });
});

t.test('non-407 refusals and malformed challenges', async (t) => {
  const a = await through(
    t,
    () => ({ reply: 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n' }),
    deps(),
  );
  await t.rejects(a.run(), {
    code: 'CPX_ERR_UPSTREAM_REFUSED',
    message: /refused CONNECT origin\.example\.test:443 \(403 Forbidden\)$/,
  });
  const b = await through(
    t,
    (r) => ({ reply: reply407([auth(r) === '' ? 'NTLM' : 'NTLM bm90LW50bG0=']) }),
    deps(),
    { username: 'u', password: 'p' },
  );
  await t.rejects(b.run(), {
    code: 'CPX_ERR_UPSTREAM_PROTOCOL',
    message: new RegExp(
      `^upstream ${b.proxy.id.replace(/\./g, '\\.')} sent a malformed NTLM challenge`,
    ),
  });
});

t.test('a kept-alive connection closed before the AUTHENTICATE answer: start over', async (t) => {
  let closed = false;
  const { up, run } = await through(
    t,
    (r) => {
      const a = auth(r);
      const type = a.startsWith('NTLM ') ? Buffer.from(a.slice(5), 'base64').readUInt32LE(8) : 0;
      if (type === 1) return { reply: reply407([CHALLENGE]) };
      if (type === 3 && !closed) {
        closed = true;
        return { reply: '', close: true };
      }
      if (type === 3) return { tunnel: true };
      return { reply: reply407(['NTLM']) };
    },
    deps(),
    { username: 'u', password: 'p' },
  );
  const est = await run();
  est.socket.destroy();
  t.same(
    up.requests.map((r) => r.conn),
    [1, 2, 2, 3, 3],
    'probe; Type1+Type3 on 2 (closed); Type1+Type3 again on 3',
  );
});

t.test('the cache: a remembered scheme the upstream no longer offers', async (t) => {
  const cache = new SchemeCache();
  const { up, proxy, run } = await through(
    t,
    (r) =>
      auth(r).startsWith('Basic ') ? { tunnel: true } : { reply: reply407(['Basic realm="x"']) },
    deps({ cache }),
    { username: 'u', password: 'p' },
  );
  cache.set(proxy.id, 'ntlm');
  const est = await run();
  est.socket.destroy();
  t.same(
    up.requests.map((r) => auth(r).split(' ')[0]),
    ['NTLM', 'Basic'],
    'Type1, then Basic',
  );
  t.equal(cache.get(proxy.id), 'basic');
});

t.test('remembered Basic refused: the credentials are wrong', async (t) => {
  const cache = new SchemeCache();
  const { proxy, run } = await through(
    t,
    () => ({ reply: reply407(['Basic realm="x"']) }),
    deps({ cache }),
    {
      username: 'alice',
      password: 'wrong',
    },
  );
  cache.set(proxy.id, 'basic');
  await t.rejects(run(), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
    message:
      /rejected the credentials of user "alice" \(407; offers Basic\): Basic authentication failed; check the user name and password$/,
  });
});

t.test('Basic-only configuration sends Basic at once', async (t) => {
  const { up, run } = await through(t, () => ({ tunnel: true }), deps(), {
    username: 'u',
    password: 'p',
    auth: { schemes: ['basic'] },
  });
  (await run()).socket.destroy();
  t.equal(auth(up.requests[0]!), `Basic ${Buffer.from('u:p').toString('base64')}`);
});

t.test('credentials that do not fit the offer', async (t) => {
  const a = await through(t, () => ({ reply: reply407(['NTLM']) }), deps(), {
    username: '',
    password: 'p',
  });
  await t.rejects(a.run(), { message: /offers NTLM\); NTLM needs a user name$/ });
  const b = await through(t, () => ({ reply: reply407(['Basic realm="r"']) }), deps(), {
    username: 'u',
    auth: { schemes: ['basic', 'ntlm'], ntHash: '8846f7eaee8fb117ad06bdd830b7586c' },
  });
  await t.rejects(b.run(), {
    message: /Basic needs a password \(an NT hash only works with NTLM\)$/,
  });
});

t.test('bounds: rounds and time', async (t) => {
  const a = await through(
    t,
    () => ({ reply: reply407(['Basic realm="r"']) }),
    deps(),
    { username: 'u', password: 'p' },
    {
      ...OPTS,
      maxRounds: 1,
    },
  );
  await t.rejects(a.run(), {
    code: 'CPX_ERR_UPSTREAM_AUTH',
    message: /still answers 407 after 1 authentication rounds/,
  });
  const up = await startScriptedProxy(t, () => ({ reply: '' }));
  const started = Date.now();
  await t.rejects(
    connectWithAuth(
      proxyAt(up.port),
      TARGET,
      opener(up.port),
      { timeoutMs: 200, maxHeaderSize: 1000 },
      deps(),
    ),
    {
      code: 'CPX_ERR_UPSTREAM_TIMEOUT',
      message: /did not answer CONNECT within 200 ms/,
    },
  );
  t.ok(Date.now() - started < 2000);
});

t.test('the first round, read on callbacks: a head in pieces, and failures', async (t) => {
  const opened: net.Socket[] = [];
  const recording = (port: number) => () =>
    opener(port)().then((s) => {
      opened.push(s);
      return s;
    });
  const piecewise = net.createServer((s) => {
    s.once('data', () => {
      s.write('HTTP/1.1 200 Connection established\r\n');
      setTimeout(() => s.write('\r\nearly'), 30);
    });
  });
  const port = await listen(t, piecewise);
  const est = await connectWithAuth(proxyAt(port), TARGET, recording(port), OPTS, deps());
  t.equal(est.scheme, 'none');
  t.equal(est.rest.toString(), 'early', 'bytes after a head that came in two reads');
  est.socket.destroy();

  const cases = [
    { reply: 'SSH-2.0-OpenSSH_9.6\r\n\r\n', message: /sent a reply that is not HTTP$/ },
    { reply: '', close: true, message: /closed the connection before answering CONNECT$/ },
  ];
  for (const c of cases) {
    const up = await startScriptedProxy(t, () => ({ reply: c.reply, close: c.close }));
    await t.rejects(connectWithAuth(proxyAt(up.port), TARGET, recording(up.port), OPTS, deps()), {
      code: 'CPX_ERR_UPSTREAM_PROTOCOL',
      message: c.message,
    });
    t.ok(opened.at(-1)?.destroyed, 'the connection is closed');
    t.equal(up.connections(), 1, 'one connection: a failed first round is not retried');
  }
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  await t.rejects(
    connectWithAuth(proxyAt(1), TARGET, () => Promise.reject(refused), OPTS, deps()),
    refused,
    "the opener's error as it is",
  );
  await t.rejects(
    connectWithAuth(proxyAt(1), TARGET, () => Promise.reject(undefined), OPTS, deps()),
    { message: 'the opener failed' },
    'a rejection without a reason still fails',
  );
});
