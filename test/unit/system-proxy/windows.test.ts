import { readFileSync } from 'node:fs';
import t from 'tap';
import { parseRegQuery, windowsProxy, WINDOWS_SOURCE } from '../../../src/system-proxy/windows.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/system-proxy/${name}`, import.meta.url), 'utf8');

t.test('reg query output: values of the first key only, names with spaces kept', async (t) => {
  const values = parseRegQuery(fixture('reg-query-manual.txt'));
  t.equal(values.get('user agent')?.data, 'Mozilla/4.0 (compatible; MSIE 8.0; Win32)');
  t.same(values.get('proxyenable'), { type: 'REG_DWORD', data: '0x1' });
  t.equal(values.get('proxyserver')?.data, 'proxy.corp.example:8080');
  t.notOk(
    [...values.keys()].some((k) => k.includes('hkey')),
    'subkey lines are not values',
  );
  const empty = parseRegQuery('\r\nHKEY_CURRENT_USER\\X\r\n    Empty    REG_SZ    \r\n');
  t.same(empty.get('empty'), { type: 'REG_SZ', data: '' });
  t.equal(parseRegQuery('ERROR: The system was unable to find the specified registry key').size, 0);
});

t.test('host:port ProxyServer with ProxyOverride and <local>', async (t) => {
  const p = windowsProxy(parseRegQuery(fixture('reg-query-manual.txt')));
  t.equal(p.source, WINDOWS_SOURCE);
  t.same(p.proxies, ['proxy.corp.example:8080']);
  t.same(p.bypass, ['*.corp.example', '10.*', '192.168.1.*', 'build.internal', '*corp*']);
  t.equal(p.bypassPlainNames, true);
  t.equal(p.pac, undefined);
  t.same(p.notes, []);
});

t.test('per-scheme ProxyServer: https first, then http; ftp and socks noted', async (t) => {
  const p = windowsProxy(parseRegQuery(fixture('reg-query-per-scheme.txt')));
  t.same(p.proxies, ['secure-proxy.corp.example:8443', 'web-proxy.corp.example:8080']);
  t.equal(p.notes.length, 2);
  t.match(p.notes.join('\n'), /ftp= proxy not imported/);
  t.match(p.notes.join('\n'), /socks= proxy not imported/);
  t.same(p.bypass, []);
  t.equal(p.bypassPlainNames, true);
});

t.test(
  'AutoConfigURL is imported even when ProxyEnable is 0; the stale server is not',
  async (t) => {
    const p = windowsProxy(parseRegQuery(fixture('reg-query-pac.txt')));
    t.equal(p.pac, 'http://wpad.corp.example/proxy.pac');
    t.same(p.proxies, []);
    t.match(p.notes[0], /ProxyEnable is 0/);
  },
);

t.test('proxy disabled and no script: nothing to import', async (t) => {
  const p = windowsProxy(parseRegQuery(fixture('reg-query-disabled.txt')));
  t.same([p.proxies, p.bypass, p.bypassPlainNames, p.pac, p.notes], [[], [], false, undefined, []]);
});

t.test('odd ProxyServer values: scheme prefixes, default port, IPv6, garbage', async (t) => {
  const values = (server: string): ReturnType<typeof parseRegQuery> =>
    new Map([
      ['proxyenable', { type: 'REG_DWORD', data: '0x1' }],
      ['proxyserver', { type: 'REG_SZ', data: server }],
      ['autodetect', { type: 'REG_DWORD', data: '0x1' }],
    ]);
  t.same(windowsProxy(values('http://p.example:3128/')).proxies, ['p.example:3128']);
  t.same(windowsProxy(values('p.example')).proxies, ['p.example:80']);
  t.same(windowsProxy(values('[fd00::1]:8080')).proxies, ['[fd00::1]:8080']);
  const bad = windowsProxy(values('p.example:99999;http=a:b:c'));
  t.same(bad.proxies, []);
  t.equal(bad.notes.filter((n) => /not host:port/.test(n)).length, 2);
  t.match(bad.notes.join('\n'), /WPAD/);
});
