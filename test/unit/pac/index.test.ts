import http from 'node:http';
import os from 'node:os';
import t from 'tap';
import { parseConfig, type Flags } from '../../../src/config/parse.js';
import {
  createPacRuntime,
  PAC_DNS_TIMEOUT_MS,
  pacAnswerOnce,
  pacLookup4,
} from '../../../src/pac/index.js';
import { listen } from '../../support/net.js';

const config = (flags: Flags, hosts: string[] = []) =>
  parseConfig({
    flags: { ...flags, hosts },
    env: {},
    platform: 'linux',
    homedir: os.tmpdir(),
    cwd: os.tmpdir(),
  });

t.test('PAC DNS: hosts map first, the injected resolver next, errors are null', async (t) => {
  const asked: string[] = [];
  const lookup4 = pacLookup4(
    { 'mapped.test': '10.9.9.9', 'v6.test': 'fd00::1' },
    {
      lookup: (host, _o, cb) => {
        asked.push(host);
        if (host === 'fail.test') cb(Object.assign(new Error('nope'), { code: 'ENOTFOUND' }), '');
        else if (host === 'list.test') cb(null, [{ address: '10.1.1.1', family: 4 }]);
        else cb(null, '10.2.2.2', 4);
      },
    },
  );
  t.equal(await lookup4('mapped.test'), '10.9.9.9');
  t.equal(await lookup4('v6.test'), null, 'an IPv6 mapping is no IPv4 answer');
  t.equal(await lookup4('other.test'), '10.2.2.2');
  t.equal(await lookup4('list.test'), '10.1.1.1');
  t.equal(await lookup4('fail.test'), null);
  t.same(asked, ['other.test', 'list.test', 'fail.test']);
  const silent = pacLookup4({}, { lookup: () => undefined });
  const started = Date.now();
  t.equal(await silent('hang.test'), null, 'a resolver that never answers counts as unresolvable');
  t.ok(Date.now() - started >= PAC_DNS_TIMEOUT_MS - 50);
});

t.test('no pac configured: no runtime, no answer', async (t) => {
  t.equal(
    createPacRuntime(config({}), { dialDeps: {}, now: Date.now, warn: () => undefined }),
    undefined,
  );
  t.equal(await pacAnswerOnce(config({}), 'https://x/', 'x'), undefined);
});

t.test('pacAnswerOnce loads the configured script (fetched directly) and answers', async (t) => {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests += 1;
    res.end(
      'function FindProxyForURL(url, host) {' +
        ' return isInNet(dnsResolve(host), "10.0.0.0", "255.0.0.0") ? "DIRECT" : "PROXY p.test:8080 ; DIRECT " + myIpAddress(); }',
    );
  });
  const port = await listen(t, server);
  const c = config({ pac: `http://pac.test:${port}/proxy.pac` }, [
    'pac.test=127.0.0.1',
    'git.corp.test=10.3.3.3',
  ]);
  t.equal(await pacAnswerOnce(c, 'https://git.corp.test/', 'git.corp.test'), 'DIRECT');
  const iface = {
    eth0: [
      { address: '10.50.0.7', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null },
    ],
  };
  const answer = await pacAnswerOnce(c, 'https://www.example.org/', 'www.example.org', {
    dialDeps: {
      lookup: (_h, _o, cb) => cb(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), ''),
    },
    interfaces: () => iface as never,
  });
  t.equal(answer, 'PROXY p.test:8080 ; DIRECT 10.50.0.7');
  t.equal(requests, 2);
  const unreachable = config({ pac: 'http://pac.test:1/proxy.pac' }, ['pac.test=127.0.0.1']);
  const warnings: string[] = [];
  t.equal(
    await pacAnswerOnce(unreachable, 'https://x/', 'x', { warn: (m) => warnings.push(m) }),
    undefined,
  );
  t.match(warnings[0], /cannot fetch http:\/\/pac.test:1\/proxy.pac/);
});
