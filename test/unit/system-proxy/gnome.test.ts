import { readFileSync } from 'node:fs';
import t from 'tap';
import { gnomeProxy, parseGsettings, parseGValue } from '../../../src/system-proxy/gnome.js';

// Recorded with `gsettings list-recursively org.gnome.system.proxy` (GSettings keyfile backend).
const fixture = (name: string): string =>
  readFileSync(new URL(`../../fixtures/system-proxy/${name}`, import.meta.url), 'utf8');

t.test('GVariant text values', async (t) => {
  t.equal(parseGValue("'proxy.corp.example'"), 'proxy.corp.example');
  t.equal(parseGValue('"it\'s s3cret"'), "it's s3cret");
  t.equal(parseGValue("'a\\'b\\\\c\\u00e9'"), "a'b\\cé");
  t.equal(parseGValue('8080'), 8080);
  t.equal(parseGValue('true'), true);
  t.equal(parseGValue('false'), false);
  t.same(parseGValue("['localhost', '127.0.0.0/8', \"x'y\"]"), ['localhost', '127.0.0.0/8', "x'y"]);
  t.same(parseGValue('@as []'), []);
  t.equal(parseGValue('uint32 5'), 'uint32 5', 'other forms stay raw text');
});

t.test('mode none imports nothing', async (t) => {
  const p = gnomeProxy(parseGsettings(fixture('gsettings-none.txt')));
  t.same([p.proxies, p.bypass, p.pac, p.notes], [[], [], undefined, []]);
});

t.test(
  'manual mode: https then http proxy, ignore-hosts, credentials noted not imported',
  async (t) => {
    const values = parseGsettings(fixture('gsettings-manual.txt'));
    t.equal(values.get('org.gnome.system.proxy.http authentication-password'), "it's s3cret");
    const p = gnomeProxy(values);
    t.same(p.proxies, ['secure-proxy.corp.example:8443', 'proxy.corp.example:8080']);
    t.same(p.bypass, [
      'localhost',
      '127.0.0.0/8',
      '::1',
      '*.corp.example',
      'build.internal',
      '10.0.0.0/8',
      '192.168.1.*',
      'fd00::/8',
    ]);
    t.equal(p.pac, undefined);
    t.match(p.notes.join('\n'), /credentials are not imported/);
    t.notMatch(JSON.stringify(p), /s3cret/, 'the password never leaves the parser');
  },
);

t.test('manual mode with only an http proxy and an empty ignore list', async (t) => {
  const p = gnomeProxy(parseGsettings(fixture('gsettings-manual-http-only.txt')));
  t.same(p.proxies, ['proxy.corp.example:3128']);
  t.same(p.bypass, []);
  t.same(p.notes, []);
});

t.test('auto mode: the configuration URL; manual proxies are not used', async (t) => {
  const p = gnomeProxy(parseGsettings(fixture('gsettings-auto.txt')));
  t.equal(p.pac, 'http://wpad.corp.example/proxy.pac');
  t.same(p.proxies, []);
  t.same(p.bypass, []);
});

t.test('auto mode without a URL (WPAD), socks and a port of 0 are noted', async (t) => {
  const text = [
    "org.gnome.system.proxy mode 'auto'",
    "org.gnome.system.proxy autoconfig-url ''",
  ].join('\n');
  t.match(gnomeProxy(parseGsettings(text)).notes[0], /WPAD/);
  const manual = [
    "org.gnome.system.proxy mode 'manual'",
    "org.gnome.system.proxy.http host 'p.example'",
    'org.gnome.system.proxy.http port 0',
    "org.gnome.system.proxy.socks host 's.example'",
  ].join('\n');
  const p = gnomeProxy(parseGsettings(manual));
  t.same(p.proxies, []);
  t.match(p.notes.join('\n'), /no valid port/);
  t.match(p.notes.join('\n'), /SOCKS/);
});
