/** Layer 4: a plain connect with corproxy's dialer, on loopback. */
import net from 'node:net';
import t from 'tap';
import { tcpCheck, tcpProbe, tcpSkipped } from '../../../src/doctor/layer-tcp.js';
import { listen } from '../../support/net.js';

const base = {
  hosts: { 'proxy.corp.test': '127.0.0.1' },
  timeoutMs: 300,
  dialDeps: {},
  now: Date.now,
};

t.test('connects, and reports refusals and timeouts with their codes', async (t) => {
  const server = net.createServer((s) => s.destroy());
  const port = await listen(t, server);
  const ok = await tcpProbe({ host: 'proxy.corp.test', port }, 'upstream', base);
  t.equal(ok.error, undefined);
  t.match(tcpCheck(ok, `proxy.corp.test:${port}`), {
    status: 'pass',
    summary: new RegExp(`connected to proxy\\.corp\\.test:${port} in \\d+ ms`),
  });

  const refused = await tcpProbe({ host: '127.0.0.1', port: 1 }, 'upstream', base);
  t.match(tcpCheck(refused, '127.0.0.1:1'), {
    status: 'fail',
    code: 'CPX_ERR_UPSTREAM_UNREACHABLE',
    fix: /nothing listens there/,
  });
  const target = await tcpProbe({ host: '127.0.0.1', port: 1 }, 'target', base);
  t.match(tcpCheck(target, '127.0.0.1:1', 'warn'), {
    status: 'warn',
    code: 'CPX_ERR_TARGET_REFUSED',
    name: 'TCP target 127.0.0.1:1',
  });

  const silent = { ...base, dialDeps: { connect: () => new net.Socket() } };
  const hung = await tcpProbe({ host: '127.0.0.1', port: 9 }, 'upstream', silent);
  t.match(tcpCheck(hung, 'x'), {
    code: 'CPX_ERR_UPSTREAM_TIMEOUT',
    summary: /timed out after 300 ms/,
    fix: /firewall/,
  });
  const throwing = {
    ...base,
    dialDeps: {
      connect: () => {
        throw Object.assign(new Error('no route'), { code: 'EHOSTUNREACH' });
      },
    },
  };
  const t2 = await tcpProbe({ host: '127.0.0.1', port: 9 }, 'target', throwing);
  t.match(tcpCheck(t2, 'x'), { code: 'CPX_ERR_TARGET_UNREACHABLE', fix: /VPN/ });
  t.match(tcpSkipped('upstream', 'a:1', 'a does not resolve (layer 3)'), {
    status: 'skip',
    name: 'TCP upstream a:1',
  });
});
