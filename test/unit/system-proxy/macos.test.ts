import { readFileSync } from 'node:fs';
import t from 'tap';
import { macosProxy, parseScutil } from '../../../src/system-proxy/macos.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/system-proxy/${name}`, import.meta.url), 'utf8');

t.test(
  'scutil --proxy dictionary: scalars, arrays in index order, nested dictionaries',
  async (t) => {
    const d = parseScutil(fixture('scutil-manual.txt'));
    t.equal(d.HTTPProxy, 'proxy.corp.example');
    t.same(d.ExceptionsList, [
      '*.local',
      '169.254/16',
      '*.corp.example',
      '10.0.0.0/8',
      'build.internal',
    ]);
    const scoped = d.__SCOPED__ as Record<string, Record<string, unknown>>;
    t.equal(scoped.en0?.HTTPPort, '8080');
    t.same(parseScutil('no dictionary here'), {});
    const unordered = parseScutil(
      '<dictionary> {\n  L : <array> {\n    1 : b\n    0 : a\n  }\n}\n',
    );
    t.same(unordered.L, ['a', 'b']);
  },
);

t.test('default settings: nothing enabled, the stock exceptions', async (t) => {
  const p = macosProxy(parseScutil(fixture('scutil-default.txt')));
  t.same(p.proxies, []);
  t.same(p.bypass, ['*.local', '169.254/16']);
  t.equal(p.bypassPlainNames, false);
  t.equal(p.pac, undefined);
  t.same(p.notes, []);
});

t.test('manual proxies (deduplicated), simple host names, SOCKS noted', async (t) => {
  const p = macosProxy(parseScutil(fixture('scutil-manual.txt')));
  t.same(p.proxies, ['proxy.corp.example:8080']);
  t.equal(p.bypassPlainNames, true);
  t.equal(p.bypass.length, 5);
  t.match(p.notes.join('\n'), /SOCKS/);
});

t.test('automatic proxy configuration URL and WPAD note', async (t) => {
  const p = macosProxy(parseScutil(fixture('scutil-pac.txt')));
  t.equal(p.pac, 'http://wpad.corp.example/proxy.pac');
  t.same(p.proxies, []);
  t.match(p.notes.join('\n'), /WPAD/);
});

t.test('an enabled proxy without a host is noted', async (t) => {
  const p = macosProxy(parseScutil('<dictionary> {\n  HTTPEnable : 1\n  HTTPPort : 8080\n}\n'));
  t.same(p.proxies, []);
  t.match(p.notes[0], /no valid host/);
});
