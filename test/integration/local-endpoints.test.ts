/** The daemon's own endpoints: /healthz, /status, /metrics. */
import http from 'node:http';
import t from 'tap';
import { startCorproxy } from '../support/corproxy.js';
import { startFakeUpstream } from '../support/fake-upstream.js';
import { rawExchange, parseHead } from '../support/net.js';
import { startEchoOrigin } from '../support/origins.js';

function fetchLocal(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }),
        );
      })
      .on('error', reject)
      .end();
  });
}

t.test('healthz, status and metrics', async (t) => {
  const proxy = await startCorproxy(t, {
    upstream: ['http://carol:pw@127.0.0.1:9'],
    fallback: 'none',
  });
  const health = await fetchLocal(proxy.port, '/healthz');
  t.equal(health.status, 200);
  t.equal(health.body, 'ok\n');

  // One failed CONNECT so the counters have something to show.
  const { socket } = await rawExchange(proxy.port, 'CONNECT 127.0.0.1:9 HTTP/1.1\r\n\r\n');
  socket.destroy();
  await proxy.waitForRecords(1);

  const status = await fetchLocal(proxy.port, '/status');
  t.equal(status.status, 200);
  t.equal(status.type, 'application/json');
  const doc = JSON.parse(status.body) as Record<string, unknown>;
  t.match(doc, { name: 'corproxy', version: 'test', listen: [`127.0.0.1:${proxy.port}`] });
  t.match(doc.upstreams, [{ url: 'http://carol:***@127.0.0.1:9', healthy: false }]);
  t.notMatch(status.body, /:pw@/, 'no password in /status');
  t.match(doc.totals, { connections: 1, errors: 1 });

  const metrics = await fetchLocal(proxy.port, '/metrics');
  t.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  t.match(
    metrics.body,
    /^corproxy_connections_total\{kind="connect",route="upstream",outcome="error"\} 1$/m,
  );
  t.match(metrics.body, /^corproxy_errors_total\{code="CPX_ERR_UPSTREAM_UNREACHABLE"\} 1$/m);
  t.match(metrics.body, /^corproxy_upstream_healthy\{upstream="127\.0\.0\.1:9"\} 0$/m);
});

t.test('unknown local path is 404, other methods 405', async (t) => {
  const proxy = await startCorproxy(t);
  t.equal((await fetchLocal(proxy.port, '/nope')).status, 404);
  t.equal((await fetchLocal(proxy.port, '/status', 'POST')).status, 405);
  const raw = await rawExchange(proxy.port, 'DELETE /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  t.equal(parseHead(raw.text).status, 405);
  raw.socket.destroy();
});

t.test('status names the auth scheme negotiated with each upstream', async (t) => {
  const origin = await startEchoOrigin(t);
  const up = await startFakeUpstream(t);
  up.credentials = { user: 'dora', password: 'pw' };
  const proxy = await startCorproxy(t, { upstream: [`http://dora:pw@127.0.0.1:${up.port}`] });
  const { socket, text } = await rawExchange(
    proxy.port,
    `CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\n\r\n`,
  );
  t.equal(parseHead(text).status, 200);
  socket.destroy();
  const doc = JSON.parse((await fetchLocal(proxy.port, '/status')).body) as Record<string, unknown>;
  t.match(doc.upstreams, [{ url: `http://dora:***@127.0.0.1:${up.port}`, auth: 'basic' }]);
});
