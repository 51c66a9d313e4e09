/**
 * Absolute-URI (plain HTTP) forwarding.
 *
 *   client --GET http://origin/--> corproxy --------------------------> http origin
 *   client --GET http://origin/--> corproxy --GET http://...--> fake upstream --> origin
 */
import http from 'node:http';
import t from 'tap';
import { startCorproxy } from '../support/corproxy.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { startHttpOrigin } from '../support/origins.js';

interface Got {
  status: number;
  reason: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function get(
  proxyPort: number,
  url: string,
  agent?: http.Agent,
  method = 'GET',
  body?: string,
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: proxyPort,
      method,
      path: url,
      agent: agent ?? false,
      headers: {
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'drop',
        'Proxy-Authorization': 'Basic Y2xpZW50',
      },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: res.statusMessage ?? '',
          headers: res.headers,
          body: text,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

t.test(
  'direct forward strips hop-by-hop fields both ways and keeps the client alive',
  async (t) => {
    const origin = await startHttpOrigin(t);
    const proxy = await startCorproxy(t, { hosts: ['web.example.test=127.0.0.1'] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    t.teardown(() => agent.destroy());
    const url = `http://web.example.test:${origin.port}/path?q=1`;
    const first = await get(proxy.port, url, agent);
    const second = await get(proxy.port, url, agent, 'POST', 'payload');
    t.equal(first.status, 200);
    const seen = JSON.parse(first.body) as { url: string; headers: Record<string, string> };
    t.equal(seen.url, '/path?q=1', 'origin-form path sent to the origin');
    t.equal(seen.headers.host, `web.example.test:${origin.port}`);
    t.notOk(seen.headers['x-hop'], 'field named in Connection removed');
    t.notOk(seen.headers['proxy-authorization'], 'client proxy credentials never forwarded');
    t.match(seen.headers.via, /^1\.1 corproxy-/);
    t.notOk(first.headers['x-drop-me'], 'response field named in Connection removed');
    t.equal(first.headers['x-origin'], 'yes');
    t.equal(JSON.parse(second.body).body, 'payload');
    t.equal(origin.requests.length, 2);
    const records = await proxy.waitForRecords(2);
    t.match(records[0], { method: 'GET', route: 'direct', status: 200, outcome: 'ok' });
    t.equal(records[1]!.bytesUp, 7);
    t.ok(records[0]!.bytesDown > 0);
  },
);

t.test('forward through an upstream sends absolute URIs with its credentials', async (t) => {
  const origin = await startHttpOrigin(t);
  const up = await startFakeUpstream(t);
  up.credentials = { user: 'bob', password: 's3cret' };
  up.resolve.set('web.example.test', origin.port);
  const proxy = await startCorproxy(t, { upstream: [`http://bob:s3cret@127.0.0.1:${up.port}`] });
  const res = await get(proxy.port, 'http://web.example.test/x');
  t.equal(res.status, 200);
  t.equal(up.seen[0]?.url, 'http://web.example.test:80/x');
  t.equal(
    up.seen.at(-1)?.proxyAuthorization,
    `Basic ${Buffer.from('bob:s3cret').toString('base64')}`,
  );
});

t.test('upstream 407 on a forwarded request names the upstream', async (t) => {
  const up = await startFakeUpstream(t, '407');
  up.schemes = ['NTLM', 'Basic realm="x"'];
  const proxy = await startCorproxy(t, { upstream: [up.url] });
  const res = await get(proxy.port, 'http://web.example.test/');
  t.equal(res.status, 502);
  t.match(
    res.reason,
    /^corproxy: upstream 127\.0\.0\.1:\d+ requires authentication \(407; offers NTLM, Basic\)$/,
  );
  t.equal(res.headers['x-corproxy-error'], 'CPX_ERR_UPSTREAM_AUTH');
});

t.test('forward errors: refused origin, https URI, unsupported scheme, loop', async (t) => {
  const proxy = await startCorproxy(t);
  const refused = await get(proxy.port, 'http://127.0.0.1:1/');
  t.equal(refused.status, 502);
  t.equal(refused.headers['x-corproxy-error'], 'CPX_ERR_TARGET_REFUSED');
  const https = await get(proxy.port, 'https://example.test/');
  t.equal(https.status, 400);
  t.match(https.reason, /must be requested with CONNECT/);
  const ftp = await get(proxy.port, 'ftp://example.test/');
  t.equal(ftp.status, 400);
  const loop = await get(proxy.port, `http://127.0.0.1:${proxy.port}/status`);
  t.equal(loop.status, 508);
  t.equal(loop.headers['x-corproxy-error'], 'CPX_ERR_LOOP');
});
