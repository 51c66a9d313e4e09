/** Layer 5: CONNECT over the hops in order, failing over where the daemon does. */
import type net from 'node:net';
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { UpstreamProxy } from '../../../src/config/types.js';
import { connectCheck, connectProbe, connectSkipped } from '../../../src/doctor/layer-connect.js';
import { CorproxyError } from '../../../src/errors.js';

const proxy = (id: string, username?: string): UpstreamProxy => ({
  protocol: 'http:',
  host: id.split(':')[0]!,
  port: Number(id.split(':')[1]),
  id,
  display: `http://${username ? `${username}:***@` : ''}${id}`,
  ...(username && { username, password: 'pw' }),
});
const A = proxy('a.corp.test:8080', 'dev');
const B = proxy('b.corp.test:8080');
const options = { connectTimeoutMs: 100, keepAliveMs: 100, maxHeaderSize: 1024, hosts: {} };
const socket = () => new PassThrough() as unknown as net.Socket;

function scripted(outcomes: Record<string, CorproxyError | string>) {
  const tried: string[] = [];
  const connect = async (p: UpstreamProxy) => {
    tried.push(p.id);
    const o = outcomes[p.id];
    if (o instanceof CorproxyError) throw o;
    return { socket: socket(), rest: Buffer.alloc(0), scheme: o as 'ntlm' };
  };
  return { tried, connect: connect as never };
}
const deps = (connect: never) => ({ options, dialDeps: {}, now: () => 0, connect });
const target = { host: 'proxy.golang.org', port: 443 };

t.test('fails over on a dead upstream, stops on a refusal, reports the scheme', async (t) => {
  const dead = new CorproxyError(
    'CPX_ERR_UPSTREAM_TIMEOUT',
    'upstream a.corp.test:8080: connect timed out after 100 ms',
  );
  const s1 = scripted({ [A.id]: dead, [B.id]: 'ntlm' });
  const attempts = await connectProbe(target, [A, B], deps(s1.connect));
  t.same(s1.tried, [A.id, B.id]);
  t.match(connectCheck('proxy.golang.org:443', attempts, false), {
    status: 'pass',
    summary: '200 from b.corp.test:8080; authenticated with NTLM',
    evidence: [/CPX_ERR_UPSTREAM_TIMEOUT/, /200, auth: ntlm/],
  });

  const auth = new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    'upstream a.corp.test:8080 requires authentication (407; offers NTLM, Basic)',
    { details: { status: 407, schemes: ['NTLM', 'Basic'] } },
  );
  const s2 = scripted({ [A.id]: auth, [B.id]: 'basic' });
  const r2 = connectCheck('x:443', await connectProbe(target, [A, B], deps(s2.connect)), true);
  t.same(s2.tried, [A.id], 'a 407 is the answer: no failover');
  t.match(r2, {
    status: 'fail',
    code: 'CPX_ERR_UPSTREAM_AUTH',
    fix: /wants a scheme corproxy cannot answer/,
  });
  const noUser = connectCheck('x:443', [{ upstream: B, ms: 1, error: auth }], false);
  t.match(noUser, {
    fix: /give corproxy a user and password/,
    commands: ['export CORPROXY_UPSTREAM_USER="$USER"', /read -rs CORPROXY_UPSTREAM_PASSWORD/],
  });
  const rejected = new CorproxyError(
    'CPX_ERR_UPSTREAM_AUTH',
    'upstream a rejected the credentials of user "dev" (407; offers Basic): Basic authentication failed; check the user name and password',
  );
  t.match(connectCheck('x:443', [{ upstream: A, ms: 1, error: rejected }], false), {
    fix: /correct the credentials/,
  });
});

t.test('refusals, timeouts, protocol errors and TLS each get their own fix', async (t) => {
  const one = (e: CorproxyError, fallback = false) =>
    connectCheck('h.test:443', [{ upstream: A, ms: 1, error: e }], fallback);
  const refused = (status: number) =>
    new CorproxyError('CPX_ERR_UPSTREAM_REFUSED', `refused (${status})`, { details: { status } });
  t.match(one(refused(403)), { fix: /policy refuses h\.test:443/ });
  t.match(one(refused(502)), { fix: /could not reach h\.test:443 itself/ });
  t.match(one(refused(400)), { fix: /if the port is not 443/ });
  t.match(one(new CorproxyError('CPX_ERR_UPSTREAM_TIMEOUT', 't')), {
    fix: /is that the proxy port/,
  });
  t.match(one(new CorproxyError('CPX_ERR_UPSTREAM_PROTOCOL', 'p')), {
    fix: /does not speak HTTP proxy/,
  });
  t.match(one(new CorproxyError('CPX_ERR_UPSTREAM_TLS', 'tls')), { fix: /use http:\/\// });
  t.match(one(new CorproxyError('CPX_ERR_NO_ROUTE', 'n')), { fix: /docs\/errors\.md/ });
  t.match(one(new CorproxyError('CPX_ERR_UPSTREAM_TIMEOUT', 't'), true), {
    status: 'warn',
    summary: /falls back to direct/,
  });
  t.match(
    one(refused(403), true),
    { status: 'fail' },
    'a refusal is final even with fallback: direct',
  );
  t.match(connectCheck('h:1', [], false), { status: 'skip' });
  t.match(connectCheck('h:1', [{ upstream: A, ms: 2, scheme: 'none' }], false), {
    summary: /no authentication asked/,
  });
  t.match(connectCheck('h:1', [{ upstream: A, ms: 2, scheme: 'negotiate' }], false), {
    summary: /with Negotiate/,
  });
  t.match(connectSkipped('h:1', 'direct'), { status: 'skip', name: 'CONNECT h:1' });
});
