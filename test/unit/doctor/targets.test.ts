/** Doctor's arguments and the hosts go contacts. */
import t from 'tap';
import { parseGoproxyList, parseGosumdb } from '../../../src/doctor/go-settings.js';
import {
  DEFAULT_MODULE,
  goContacts,
  goHosts,
  hostLabel,
  MIRROR_ROLE,
  parseDoctorArgs,
  urlTarget,
} from '../../../src/doctor/targets.js';

t.test('MODULE and URL arguments', async (t) => {
  t.same(parseDoctorArgs([]), { modules: [DEFAULT_MODULE], urls: [] });
  t.same(parseDoctorArgs(['https://goproxy.corp.test/x', 'git.corp.test/lib']), {
    modules: ['git.corp.test/lib'],
    urls: ['https://goproxy.corp.test/x'],
  });
  t.same(
    parseDoctorArgs(['HTTP://A.test']).modules,
    [DEFAULT_MODULE],
    'only URLs: the default module too',
  );
  t.throws(() => parseDoctorArgs(['not a module']), {
    code: 'CPX_ERR_USAGE',
    message: /neither a module path/,
  });
  t.throws(() => parseDoctorArgs(['ftp://a.test/']), {
    code: 'CPX_ERR_USAGE',
    message: /only http/,
  });
  t.throws(() => parseDoctorArgs(['https://[bad/']), {
    code: 'CPX_ERR_USAGE',
    message: /not a valid URL/,
  });
});

t.test('URL targets', async (t) => {
  t.same(urlTarget('https://Proxy.Golang.org/x'), {
    target: { host: 'proxy.golang.org', port: 443 },
    scheme: 'https',
  });
  t.same(urlTarget('http://[::1]:3129/mod/'), {
    target: { host: '::1', port: 3129 },
    scheme: 'http',
  });
  t.equal(urlTarget('file:///srv'), undefined);
  t.equal(urlTarget('nope'), undefined);
  t.equal(hostLabel({ target: { host: '::1', port: 80 } }), '[::1]:80');
});

t.test('the hosts go contacts, once each, with their roles', async (t) => {
  const list = parseGoproxyList(
    'https://proxy.golang.org,https://proxy.golang.org/b|http://127.0.0.1:3129/mod/,direct',
  );
  const hosts = goHosts(
    list,
    parseGosumdb('sum.golang.org'),
    ['https://proxy.golang.org/extra'],
    ['https://mirror-up.test'],
  );
  t.same(
    hosts.map((h) => [hostLabel(h), h.scheme, h.loopback, h.roles, h.optional !== undefined]),
    [
      ['proxy.golang.org:443', 'https', false, ['GOPROXY entry', 'URL argument'], false],
      ['127.0.0.1:3129', 'http', true, ['GOPROXY entry'], false],
      ['sum.golang.org:443', 'https', false, ['checksum database'], true],
      ['mirror-up.test:443', 'https', false, [MIRROR_ROLE], false],
    ],
  );
  t.same(hosts.map(goContacts), [true, true, true, false]);
  const explicit = goHosts(list, parseGosumdb('sum.golang.org https://sum.corp.test'), []);
  t.equal(
    explicit.find((h) => h.target.host === 'sum.corp.test')?.optional,
    undefined,
    'an explicit URL is always dialled',
  );
  const direct = goHosts(parseGoproxyList('direct'), parseGosumdb('sum.golang.org'), []);
  t.equal(direct[0]?.optional, undefined, 'no proxy to read it through');
  t.same(goHosts(list, parseGosumdb('off'), []).map(hostLabel), [
    'proxy.golang.org:443',
    '127.0.0.1:3129',
  ]);
});
