import t from 'tap';
import {
  interfacesFingerprint,
  ipv4ToNumber,
  pacHelpers,
  pickMyIp,
  shExpMatch,
} from '../../../src/pac/helpers.js';

const names: Record<string, string | null> = { 'intra.example': '10.1.2.3', 'gone.example': null };
const alerts: string[] = [];
const h = pacHelpers({
  resolve: (host) => names[host] ?? null,
  myIp: () => '172.16.5.4',
  alert: (m) => alerts.push(m),
});

t.test('shExpMatch: only * and ? are special (px#210-style regex leaks avoided)', async (t) => {
  t.ok(shExpMatch('www.corp.example', '*.corp.example'));
  t.notOk(shExpMatch('corp.example', '*.corp.example'));
  t.ok(shExpMatch('a1.example', 'a?.example'));
  t.notOk(shExpMatch('axexample', 'a?.example'.replace('?', '')), 'a dot is literal');
  t.ok(shExpMatch('a+b(c)[d]$^|{}/x-y', 'a+b(c)[d]$^|{}/x-y'), 'regex metacharacters are literal');
  t.ok(shExpMatch('http://h/a\nb', 'http://h/*'), '* spans newlines');
  t.notOk(shExpMatch(42, '*'));
  t.notOk(shExpMatch('x', undefined));
});

t.test(
  'dnsResolve and isResolvable: literals need no DNS, IPv6 is not an IPv4 answer',
  async (t) => {
    t.equal(h.dnsResolve!('intra.example'), '10.1.2.3');
    t.equal(h.dnsResolve!('INTRA.example'), '10.1.2.3', 'names are looked up lower-case');
    t.equal(h.dnsResolve!('192.0.2.9'), '192.0.2.9');
    t.equal(h.dnsResolve!('[::1]'), null);
    t.equal(h.dnsResolve!('gone.example'), null);
    t.equal(h.dnsResolve!(''), null);
    t.equal(h.dnsResolve!(undefined), null);
    t.equal(h.isResolvable!('intra.example'), true);
    t.equal(h.isResolvable!('gone.example'), false);
  },
);

t.test('isInNet resolves names, masks both sides, rejects bad patterns', async (t) => {
  t.equal(h.isInNet!('intra.example', '10.0.0.0', '255.0.0.0'), true);
  t.equal(h.isInNet!('10.1.2.3', '10.1.0.0', '255.255.0.0'), true);
  t.equal(h.isInNet!('10.1.2.3', '10.1.9.9', '255.255.0.0'), true, 'the pattern is masked too');
  t.equal(h.isInNet!('11.1.2.3', '10.0.0.0', '255.0.0.0'), false);
  t.equal(
    h.isInNet!('200.1.2.3', '200.0.0.0', '255.0.0.0'),
    true,
    'high addresses compare unsigned',
  );
  t.equal(
    h.isInNet!('gone.example', '0.0.0.0', '0.0.0.0'),
    false,
    'an unresolvable host is in no net',
  );
  t.equal(h.isInNet!('10.1.2.3', '10.0.0', '255.0.0.0'), false);
  t.equal(h.isInNet!('10.1.2.3', '10.0.0.0', 'ff.0.0.0'), false);
});

t.test('myIpAddress, convert_addr and alert', async (t) => {
  t.equal(h.myIpAddress!(), '172.16.5.4');
  t.equal(h.convert_addr!('10.0.0.1'), 167772161);
  t.equal(h.convert_addr!('nonsense'), 0);
  h.alert!('hello');
  t.same(alerts, ['hello']);
  t.equal(ipv4ToNumber('255.255.255.255'), 4294967295);
  t.equal(ipv4ToNumber(7), undefined);
});

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({
  address,
  family,
  internal,
  netmask: '',
  mac: '00:00:00:00:00:00',
  cidr: `${address}/24`,
  ...(family === 'IPv6' ? { scopeid: 0 } : {}),
});

t.test('myIpAddress prefers a routable IPv4 address and sends nothing', async (t) => {
  t.equal(
    pickMyIp({
      lo: [iface('127.0.0.1', 'IPv4', true)],
      wlan0: [iface('169.254.3.3', 'IPv4'), iface('fe80::1', 'IPv6')],
      eth0: [iface('10.20.30.40', 'IPv4')],
    } as never),
    '10.20.30.40',
  );
  t.equal(pickMyIp({ wlan0: [iface('169.254.3.3', 'IPv4')] } as never), '169.254.3.3');
  t.equal(pickMyIp({ lo: [iface('127.0.0.1', 'IPv4', true)] } as never), '127.0.0.1');
});

t.test('interface fingerprint changes with addresses, not with order', async (t) => {
  const a = { eth0: [iface('10.0.0.2', 'IPv4')], lo: [iface('127.0.0.1', 'IPv4', true)] };
  const b = { lo: [iface('127.0.0.1', 'IPv4', true)], eth0: [iface('10.0.0.2', 'IPv4')] };
  t.equal(interfacesFingerprint(a as never), interfacesFingerprint(b as never));
  t.not(
    interfacesFingerprint(a as never),
    interfacesFingerprint({ eth0: [iface('10.9.0.2', 'IPv4')] } as never),
  );
  t.equal(interfacesFingerprint({ lo: [iface('127.0.0.1', 'IPv4', true)] } as never), '');
});
