/** Layer 3: names through the hosts map, IP literals, then the injected resolver. */
import t from 'tap';
import { dnsCheck, resolveName, resolvedUpstreamCheck } from '../../../src/doctor/layer-dns.js';
import type { LookupFn } from '../../../src/proxy/dial.js';

let clock = 0;
const now = () => clock;
const resolver: LookupFn = (name, _opts, cb) => {
  clock += 5;
  if (name === 'proxy.corp.test')
    return cb(null, [
      { address: '10.0.0.1', family: 4 },
      { address: 'fd00::1', family: 6 },
    ]);
  if (name === 'slow.corp.test') return undefined;
  cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' }), '');
};
const deps = { hosts: { 'mapped.test': '127.0.0.1' }, lookup: resolver, timeoutMs: 50, now };

t.test('how a name resolves', async (t) => {
  t.same(await resolveName('mapped.test', deps), {
    name: 'mapped.test',
    via: 'hosts',
    addresses: ['127.0.0.1'],
    ms: 0,
  });
  t.same(await resolveName('::1', deps), {
    name: '::1',
    via: 'literal',
    addresses: ['::1'],
    ms: 0,
  });
  t.same(await resolveName('proxy.corp.test', deps), {
    name: 'proxy.corp.test',
    via: 'dns',
    addresses: ['10.0.0.1', 'fd00::1'],
    ms: 5,
  });
  t.match(await resolveName('gone.corp.test', deps), {
    via: 'dns',
    addresses: [],
    error: { code: 'ENOTFOUND' },
  });
  t.match(
    await resolveName('slow.corp.test', deps),
    { error: { code: 'ETIMEOUT', message: 'no answer within 50 ms' } },
    'bounded',
  );
  const single: LookupFn = (_n, _o, cb) => cb(null, '10.1.1.1', 4);
  t.match(await resolveName('x.test', { ...deps, lookup: single }), { addresses: ['10.1.1.1'] });
});

t.test('the checks', async (t) => {
  t.match(dnsCheck(await resolveName('mapped.test', deps), 'target'), {
    status: 'pass',
    summary: '127.0.0.1 (hosts map)',
    name: 'DNS target mapped.test',
  });
  t.match(dnsCheck(await resolveName('proxy.corp.test', deps), 'upstream'), {
    status: 'pass',
    summary: /resolver, \d+ ms/,
  });
  const gone = dnsCheck(await resolveName('gone.corp.test', deps), 'upstream');
  t.match(gone, {
    status: 'fail',
    summary: 'gone.corp.test does not resolve (ENOTFOUND)',
    code: 'CPX_ERR_UPSTREAM_DNS',
    fix: /upstream host name in the configuration/,
  });
  t.match(dnsCheck(await resolveName('gone.corp.test', deps), 'target', 'warn'), {
    status: 'warn',
    code: 'CPX_ERR_TARGET_DNS',
  });
  t.match(dnsCheck(await resolveName('slow.corp.test', deps), 'upstream'), {
    summary: /lookup failed/,
    fix: /DNS servers/,
  });
  t.match(resolvedUpstreamCheck('a.test', 'proxy:8080'), {
    status: 'skip',
    summary: 'resolved by the upstream proxy:8080 (see layer 5)',
  });
});
