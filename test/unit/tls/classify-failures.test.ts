import t from 'tap';
import { classify, type ClassifyInput } from '../../../src/tls/classify.js';

const HOST = 'proxy.example.test';

const base = (over: Partial<ClassifyInput>): ClassifyInput => ({
  host: HOST,
  chain: [],
  authorized: false,
  publicRoots: [],
  ...over,
});

t.test('blocked and failed probes', async (t) => {
  const cases: Array<[Partial<ClassifyInput>, string, RegExp]> = [
    [{ connectStatus: 403 }, 'blocked', /refused CONNECT with status 403/],
    [{ connectStatus: 502 }, 'blocked', /status 502/],
    [{ connectStatus: 407 }, 'probe-failed', /credentials \(407\)/],
    [
      { handshakeError: { code: 'ERR_SSL_WRONG_VERSION_NUMBER', message: 'wrong version number' } },
      'blocked',
      /other than TLS/,
    ],
    [
      { handshakeError: { code: 'ERR_SSL_PACKET_LENGTH_TOO_LONG', message: 'x' } },
      'blocked',
      /other than TLS/,
    ],
    [
      { handshakeError: { code: 'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED', message: 'alert' } },
      'blocked',
      /cut off/,
    ],
    [{ handshakeError: { code: 'ECONNRESET', message: 'socket hang up' } }, 'blocked', /cut off/],
    [
      { handshakeError: { code: 'CPX_ERR_UPSTREAM_REFUSED', message: '403' } },
      'blocked',
      /cut off/,
    ],
    [
      { handshakeError: { code: 'ETIMEDOUT', message: 'took\nover 10 ms' } },
      'probe-failed',
      /ETIMEDOUT: took over 10 ms/,
    ],
    [
      { handshakeError: { code: 'ENOTFOUND', message: 'getaddrinfo' } },
      'probe-failed',
      /corproxy doctor/,
    ],
    [
      { handshakeError: { code: 'CPX_ERR_UPSTREAM_AUTH', message: '407' } },
      'probe-failed',
      /CPX_ERR_UPSTREAM_AUTH/,
    ],
    [
      { handshakeError: { code: 'CPX_ERR_TARGET_DNS', message: 'x'.repeat(400) } },
      'probe-failed',
      /\.\.\.\);/,
    ],
    [{}, 'probe-failed', /without a server certificate/],
  ];
  for (const [over, verdict, re] of cases) {
    const c = classify(base(over));
    t.equal(c.verdict, verdict, JSON.stringify(over).slice(0, 80));
    t.match(c.reason, re);
    t.same(c.chain, []);
    t.notOk(c.reason.includes('\n'), 'one line');
    t.ok(c.reason.startsWith(`${HOST}: `), 'names the host');
    t.equal(c.evidence.publicRootVerify, 'none');
  }
});

t.test('a 2xx CONNECT status is not a block', async (t) => {
  const c = classify(base({ connectStatus: 200 }));
  t.equal(c.verdict, 'probe-failed', 'falls through to the (empty) chain');
  t.match(c.reason, /without a server certificate/);
});
