import t from 'tap';
import { CorproxyError } from '../../../src/errors.js';
import {
  compileNoProxyPattern,
  goNeverProxies,
  parseNoProxyList,
  viewHost,
  type DirectRule,
} from '../../../src/route/no-proxy.js';

function compileList(value: string): DirectRule[] {
  return parseNoProxyList(value).map(compileNoProxyPattern);
}

function isDirect(rules: readonly DirectRule[], host: string, port: number): boolean {
  return rules.some((r) => r.matches(host, port));
}

// The NO_PROXY list and host table of Go's httpproxy TestUseProxy, every host on port 80.
// Go's `useProxy` answer is the negation of `direct`, except for localhost and loopback
// literals, which Go never proxies by a built-in rule rather than a NO_PROXY match.
const GO_NO_PROXY =
  'foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, ' +
  '10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64';

const GO_USE_PROXY_TABLE: ReadonlyArray<readonly [string, boolean, boolean]> = [
  // host, direct by our matcher, Go never proxies it (built-in)
  ['localhost', false, true],
  ['127.0.0.1', false, true],
  ['127.0.0.2', false, true],
  ['::1', false, true],
  ['::2', false, false],
  ['192.168.1.1', true, false], // exact IPv4
  ['192.168.1.2', false, false], // port differs
  ['192.168.1.3', true, false], // exact IPv4:port
  ['192.168.1.4', false, false],
  ['10.0.0.2', true, false], // IPv4 CIDR
  ['2001:db8::52:0:1', true, false], // exact IPv6
  ['2001:db8::52:0:2', false, false], // [IPv6]:443, port differs
  ['2001:db8::52:0:3', true, false], // exact [IPv6]:port
  ['2002:db8:a::123', true, false], // IPv6 CIDR
  ['fe80::424b:c8be:1643:a1b6', false, false],
  ['barbaz.net', false, false], // .barbaz.net is subdomains only
  ['www.barbaz.net', true, false],
  ['foobar.com', true, false],
  ['www.foobar.com', true, false], // foobar.com includes subdomains
  ['foofoobar.com', false, false], // not a label boundary
  ['baz.com', false, false],
  ['localhost.net', false, false],
  ['local.localhost', false, false],
  ['barbarbaz.net', false, false],
  ['wildcard.io', false, false], // *.wildcard.io is subdomains only
  ['nested.wildcard.io', true, false],
  ['awildcard.io', false, false],
];

t.test("Go's httpproxy TestUseProxy table", async (t) => {
  const rules = compileList(GO_NO_PROXY);
  t.equal(rules.length, 11);
  for (const [host, direct, never] of GO_USE_PROXY_TABLE) {
    t.equal(isDirect(rules, host, 80), direct, `${host} direct`);
    t.equal(goNeverProxies(host), never, `${host} never proxied by Go`);
  }
});

t.test("Go's httpproxy TestAllNoProxy: * sends every host direct", async (t) => {
  const rules = compileList('*');
  for (const [host] of GO_USE_PROXY_TABLE) t.ok(isDirect(rules, host, 80), host);
  t.ok(isDirect(rules, 'anything.example', 1));
  t.equal(rules[0]?.rule, 'direct "*"');
});

t.test("Go's httpproxy TestProxyForURL NO_PROXY cases", async (t) => {
  const cases: ReadonlyArray<readonly [string, string, number, boolean]> = [
    ['example.com', 'example.com', 80, true],
    ['.example.com', 'example.com', 80, false],
    ['ample.com', 'example.com', 80, false],
    ['example.com', 'foo.example.com', 80, true],
    ['.foo.com', 'example.com', 80, false],
    ['.示例.com', 'www.示例.com', 80, true],
    ['xn--fsq092h.com', 'www.示例.com', 80, true],
    ['示例.com', 'www.xn--fsq092h.com', 80, true],
    // An IPv6 zone is not a host name (CVE-2025-22870).
    ['example.com', '1000::%.example.com', 123, false],
  ];
  for (const [noProxy, host, port, direct] of cases) {
    t.equal(isDirect(compileList(noProxy), host, port), direct, `${noProxy} vs ${host}:${port}`);
  }
});

t.test("Go's httpproxy TestInvalidNoProxy: corproxy rejects what Go ignores", async (t) => {
  t.throws(() => compileList(':1'), { code: 'CPX_ERR_CONFIG_INVALID' });
});

t.test('matching table: domains, IPs, CIDRs, ports, IDNA, case, trailing dots', async (t) => {
  const cases: ReadonlyArray<readonly [string, string, number, boolean]> = [
    // pattern, target host, target port, direct
    ['FOO.com', 'www.Foo.COM', 443, true],
    ['foo.com', 'FOO.COM', 443, true],
    ['foo.com', 'foo.com.', 443, true],
    ['foo.com', 'www.foo.com.', 443, true],
    ['foo.com.', 'foo.com', 443, true],
    ['.foo.com', 'foo.com.', 443, false],
    ['.foo.com', 'a.foo.com.', 443, true],
    ['*.foo.com', 'a.b.foo.com', 443, true],
    ['*.foo.com', 'foo.com', 443, false],
    ['*.FOO.com', 'A.foo.COM', 443, true],
    ['foo.com', 'xfoo.com', 443, false],
    ['foo.com', 'foo.com.evil.example', 443, false],
    ['foo.com', 'foo.co', 443, false],
    ['  foo.com  ', 'foo.com', 443, true],
    ['foo.com:443', 'foo.com', 443, true],
    ['foo.com:443', 'foo.com', 8443, false],
    ['foo.com:443', 'x.foo.com', 443, true],
    ['.foo.com:8080', 'a.foo.com', 8080, true],
    ['.foo.com:8080', 'a.foo.com', 80, false],
    ['*.foo.com:1', 'a.foo.com', 1, true],
    ['foo.com:65535', 'foo.com', 65535, true],
    ['_acme.foo.com', '_acme.foo.com', 443, true],
    ['[foo.com]:443', 'foo.com', 443, true], // Go's SplitHostPort drops the brackets
    ['10.1.2.3', '10.1.2.3', 443, true],
    ['10.1.2.3', '10.1.2.4', 443, false],
    ['10.1.2.3', '10.1.2.3.nip.example', 443, false],
    ['10.1.2.3:8080', '10.1.2.3', 8080, true],
    ['10.1.2.3:8080', '10.1.2.3', 80, false],
    ['[1.2.3.4]:80', '1.2.3.4', 80, true],
    ['[2001:db8::1]:443', '2001:db8::1', 443, true],
    ['[2001:db8::1]:443', '2001:DB8:0:0:0:0:0:1', 443, true],
    ['[2001:db8::1]:443', '2001:db8::1', 80, false],
    ['2001:db8::1', '2001:0db8::0001', 22, true],
    ['2001:DB8::1', '2001:db8::1', 22, true],
    ['2001:db8::1:80', '2001:db8::1:80', 443, true], // bare IPv6: ":80" is a group, not a port
    ['2001:db8::1:80', '2001:db8::1', 80, false],
    ['::', '::', 1, true],
    ['::ffff:10.0.0.1', '10.0.0.1', 443, true], // IPv4-mapped compares as IPv4
    ['10.0.0.1', '::ffff:10.0.0.1', 443, true],
    ['10.0.0.1', '::FFFF:a00:1', 443, true],
    ['::10.0.0.1', '10.0.0.1', 443, false], // IPv4-compatible is plain IPv6
    ['fe80::1', 'fe80::1%eth0', 443, true], // the zone is ignored for IP matching
    ['10.0.0.0/8', '10.255.255.255', 443, true],
    ['10.0.0.0/8', '11.0.0.0', 443, false],
    ['10.0.0.0/8', '9.255.255.255', 443, false],
    ['10.0.0.0/8', '::ffff:10.1.1.1', 443, true],
    ['10.0.0.0/8', '10.example', 443, false], // CIDRs never match names
    ['10.0.0.0/8', '10.0.0.1', 1, true], // port-independent
    ['10.0.0.0/08', '10.0.0.1', 1, true], // Go's dtoi accepts leading zeros
    ['192.168.1.1/24', '192.168.1.200', 443, true], // host bits are masked off
    ['192.168.1.1/24', '192.168.2.1', 443, false],
    ['192.168.1.128/25', '192.168.1.127', 443, false],
    ['192.168.1.128/25', '192.168.1.129', 443, true],
    ['10.1.2.3/32', '10.1.2.3', 443, true],
    ['10.1.2.3/32', '10.1.2.2', 443, false],
    ['0.0.0.0/0', '8.8.8.8', 443, true],
    ['0.0.0.0/0', '2001:db8::1', 443, false],
    ['0.0.0.0/0', 'example.com', 443, false],
    ['::/0', '2001:db8::1', 443, true],
    ['::/0', '8.8.8.8', 443, false],
    ['::/0', '::ffff:8.8.8.8', 443, false], // IPv4-mapped is IPv4
    ['::ffff:10.0.0.0/104', '10.1.2.3', 443, true], // Go treats a mapped network as IPv4
    ['::ffff:10.0.0.0/104', '11.0.0.0', 443, false],
    ['::ffff:0:0/96', '192.0.2.1', 443, true],
    ['::ffff:0:0/95', '192.0.2.1', 443, false], // masking broke the mapping: a v6 network
    ['2001:db8::/32', '2001:db8:ffff::1', 443, true],
    ['2001:db8::/32', '2001:db9::1', 443, false],
    ['2001:db8::/33', '2001:db8:8000::1', 443, false],
    ['2001:db8::/128', '2001:db8::', 443, true],
    ['fe80::/10', 'fe80::1%eth0', 443, true],
    ['fe80::/10', 'febf::1', 443, true],
    ['fe80::/10', 'fec0::1', 443, false],
    ['10.0.0.0/8', '10.0.0.256', 443, false], // not an IP literal
    ['10.0.0.0/8', '010.0.0.1', 443, false],
    ['10.0.0.0/8', '10.0.0', 443, false],
    ['bücher.example', 'xn--bcher-kva.example', 443, true],
    ['BÜCHER.example', 'www.bücher.example', 443, true],
    ['bücher.example', 'WWW.BÜCHER.EXAMPLE', 443, true],
    ['xn--bcher-kva.example', 'bücher.example.', 443, true],
    ['.bücher.example', 'bücher.example', 443, false],
    ['faß.de', 'xn--fa-hia.de', 443, true], // non-transitional UTS #46, like Go
    ['faß.de', 'fass.de', 443, false],
  ];
  for (const [pattern, host, port, direct] of cases) {
    const rule = compileNoProxyPattern(pattern);
    t.equal(rule.matches(host, port), direct, `${pattern} vs ${host}:${port}`);
  }
});

t.test('what counts as an IP literal target (Go netip.ParseAddr)', async (t) => {
  const v4 = compileNoProxyPattern('0.0.0.0/0');
  const v6 = compileNoProxyPattern('::/0');
  const cases: ReadonlyArray<readonly [string, 'v4' | 'v6' | 'name']> = [
    ['1.2.3.4', 'v4'],
    ['255.255.255.255', 'v4'],
    ['0.0.0.0', 'v4'],
    ['1.2.3.04', 'name'],
    ['1.2.3', 'name'],
    ['1.2.3.4.5', 'name'],
    ['1.2.3.256', 'name'],
    ['1.2.3.-1', 'name'],
    ['::', 'v6'],
    ['::1', 'v6'],
    ['1::', 'v6'],
    ['1::8', 'v6'],
    ['1:2:3:4:5:6:7:8', 'v6'],
    ['1:2:3:4:5:6:7:8:9', 'name'],
    ['1:2:3:4:5:6:7', 'name'],
    ['1:2:3:4:5:6::7:8', 'name'], // "::" must stand for at least one group
    ['1::2::3', 'name'],
    [':1::', 'name'],
    ['1:::2', 'name'],
    ['12345::', 'name'],
    ['g::1', 'name'],
    ['::ffff:1.2.3.4', 'v4'],
    ['::ffff:0:0', 'v4'],
    ['::1.2.3.4', 'v6'],
    ['1:2:3:4:5:6:1.2.3.4', 'v6'],
    ['1:2:3:4:5:6:7:1.2.3.4', 'name'],
    ['1.2.3.4::', 'name'],
    ['::1.2.3', 'name'],
    ['fe80::1%eth0', 'v6'],
    ['fe80::1%', 'name'],
    ['1.2.3.4%eth0', 'name'],
    ['example.com', 'name'],
  ];
  for (const [host, kind] of cases) {
    t.equal(v4.matches(host, 1), kind === 'v4', `${host} is IPv4`);
    t.equal(v6.matches(host, 1), kind === 'v6', `${host} is IPv6`);
  }
});

t.test(
  'invalid patterns throw CPX_ERR_CONFIG_INVALID naming the pattern and the cause',
  async (t) => {
    const cases: ReadonlyArray<readonly [string, string]> = [
      ['', 'empty pattern'],
      ['   ', 'empty pattern'],
      [':1', 'no host before the port'],
      [':80', 'no host before the port'],
      ['[]:80', 'no host before the port'],
      ['[::1]', 'brackets need a port'],
      ['[::1', 'missing "]"'],
      ['[::1]x', 'expected ":port"'],
      ['[::1]:x', 'is not a number'],
      ['[[::1]]:80', 'expected ":port"'],
      ['[::1[]:80', 'stray'],
      ['[::1]:', 'is not a number'],
      ['foo.com:', 'is not a number'],
      ['foo.com:abc', 'is not a number'],
      ['foo.com:0', 'is not a number'],
      ['foo.com:65536', 'is not a number'],
      ['foo.com:080', 'no leading zeros'],
      ['foo.com:-1', 'is not a number'],
      ['10.0.0.0/33', 'prefix length must be 0-32'],
      ['::/129', 'prefix length must be 0-128'],
      ['10.0.0.0/', 'prefix length'],
      ['10.0.0.0/x', 'prefix length'],
      ['10.0.0.0/8:80', 'cannot take a port'],
      ['10.0.0.0/8/8', 'more than one "/"'],
      ['foo.com/8', 'not an IP address'],
      ['10.0.0/8', 'not an IP address'],
      ['foo.com/', 'not an IP address'],
      ['fe80::%eth0/10', 'zone'],
      ['fe80::1%eth0', 'zones are not supported'],
      ['1.2.3.4:80:90', 'not a valid IPv6 address'],
      ['2001:db8::g', 'not a valid IPv6 address'],
      ['1:2:3:4:5:6:7::8', 'not a valid IPv6 address'],
      ['1::2::3', 'not a valid IPv6 address'],
      ['.', 'no domain name'],
      ['*.', 'no domain name'],
      ['.:80', 'no domain name'],
      ['..foo.com', 'is not a domain name'],
      ['foo..com', 'is not a domain name'],
      ['*foo.com', 'is not a domain name'],
      ['foo.*.com', 'is not a domain name'],
      ['*.*.foo.com', 'is not a domain name'],
      ['**', 'is not a domain name'],
      ['*:80', '"*" matches everything only on its own'],
      ['a b.com', 'is not a domain name'],
      ['foo@bar.com', 'is not a domain name'],
      ['ü*.de', 'is not a domain name'],
      ['1.2.3', 'part of an IP address'],
      ['192.168', 'part of an IP address'],
      ['256.1.1.1', 'part of an IP address'],
      ['xn--iñvalid.com', 'not a valid internationalised domain name'],
      ['ü.1.2', 'not a valid internationalised domain name'],
    ];
    for (const [pattern, why] of cases) {
      let caught: unknown;
      try {
        compileNoProxyPattern(pattern);
      } catch (err) {
        caught = err;
      }
      t.type(caught, CorproxyError, `${JSON.stringify(pattern)} throws`);
      const err = caught as CorproxyError;
      t.equal(err.code, 'CPX_ERR_CONFIG_INVALID', pattern);
      t.match(err.message, `direct pattern "${pattern}": `, `${pattern} named`);
      t.match(err.message, why, `${pattern}: ${why}`);
      t.same(err.details, { pattern }, `${pattern} details`);
    }
  },
);

t.test('compiled rules keep the pattern as written and are frozen', async (t) => {
  const rule = compileNoProxyPattern('*.Corp.example:443');
  t.equal(rule.pattern, '*.Corp.example:443');
  t.equal(rule.rule, 'direct "*.Corp.example:443"');
  t.ok(Object.isFrozen(rule));
});

t.test('parseNoProxyList splits like Go: commas, trimmed, lower-cased, no empties', async (t) => {
  const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['', []],
    [' , ,, ', []],
    ['A.com, b.COM ,,c', ['a.com', 'b.com', 'c']],
    ['\tfoo.com\n', ['foo.com']],
    ['*', ['*']],
    ['[::1]:80,10.0.0.0/8', ['[::1]:80', '10.0.0.0/8']],
  ];
  for (const [value, want] of cases) t.same(parseNoProxyList(value), want, JSON.stringify(value));
});

t.test('goNeverProxies: exactly "localhost" and loopback IP literals', async (t) => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['localhost', true],
    ['LOCALHOST', false], // Go compares before lower-casing
    ['localhost.', false],
    ['localhost.localdomain', false],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['126.255.255.255', false],
    ['128.0.0.1', false],
    ['127.0.0.01', false], // not an IP literal for Go
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::1%lo', true],
    ['::2', false],
    ['::', false],
    ['::ffff:127.0.0.1', true],
    ['::127.0.0.1', false],
    ['example.com', false],
    ['', false],
  ];
  for (const [host, want] of cases) t.equal(goNeverProxies(host), want, JSON.stringify(host));
});

t.test('viewHost normalises a target once and remembers the last one', async (t) => {
  const a = viewHost('WWW.Example.COM.');
  t.same(a, { name: 'www.example.com', ip: null });
  t.equal(viewHost('WWW.Example.COM.'), a, 'same host: memoised view');
  const b = viewHost('::FFFF:10.0.0.1');
  t.equal(b.ip?.length, 4);
  t.equal(b.name, '::ffff:10.0.0.1');
  t.equal(viewHost('2001:db8::1').ip?.length, 16);
  t.equal(viewHost('WWW.Example.COM.').name, 'www.example.com', 'memo follows the host');
  t.equal(viewHost('bücher.example').name, 'xn--bcher-kva.example');
  t.equal(viewHost('xn--iÑvalid.com').name, 'xn--iñvalid.com', 'invalid IDN kept lower-cased');
});
