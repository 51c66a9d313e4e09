import t from 'tap';
import { parseConfig, type ConfigInputs } from '../../../src/config/parse.js';
import { CorproxyError } from '../../../src/errors.js';

const FILE = '/etc/corproxy/config.yaml';
const IN_FILE = `in config file ${FILE}`;

type Row = readonly [name: string, inputs: Partial<ConfigInputs>, message: RegExp];

function file(doc: unknown): Partial<ConfigInputs> {
  return { file: doc, filePath: FILE };
}

// Every validation error: the message starts with the key path and ends with the origin.
const ROWS: Row[] = [
  [
    'file not a mapping',
    file(['listen']),
    /^\(top level\): the config file must be a YAML mapping; in config/,
  ],
  [
    'unknown top-level key',
    file({ listn: [4000] }),
    /^listn: unknown key \(did you mean listen\?\); in config/,
  ],
  [
    'snake_case key',
    file({ state_dir: '/x' }),
    /^state_dir: unknown key \(did you mean stateDir\?\)/,
  ],
  [
    'unknown nested key',
    file({ limits: { idleTimout: '5m' } }),
    /^limits\.idleTimout: unknown key \(did you mean idleTimeout\?\)/,
  ],
  ['inherited name is not a key', file({ toString: 1 }), /^toString: unknown key/],
  [
    'far unknown key',
    file({ zzzzzzzz: 1 }),
    /^zzzzzzzz: unknown key \(known keys: listen, allow, upstream, /,
  ],
  [
    'section not a mapping',
    file({ limits: 5 }),
    /^limits: must be a mapping with keys headerTimeout, /,
  ],
  [
    'listen garbage',
    { flags: { listen: ['abc'] } },
    /^listen\[0\]: "abc" is not ADDR:PORT, \[IPv6\]:PORT or PORT .*; from flag --listen$/,
  ],
  [
    'listen port range',
    { flags: { listen: ['70000'] } },
    /^listen\[0\]: port 70000 is outside 0-65535/,
  ],
  [
    'listen host name',
    { env: { CORPROXY_LISTEN: 'proxy.test:3129' } },
    /^listen\[0\]: "proxy\.test" is not an IP address; .*from environment variable CORPROXY_LISTEN$/,
  ],
  [
    'listen v4 in brackets',
    { flags: { listen: ['[10.0.0.1]:80'] } },
    /^listen\[0\]: "10\.0\.0\.1" is not an IP address/,
  ],
  [
    'listen v6 without brackets',
    { flags: { listen: ['::1:3129'] } },
    /^listen\[0\]: "::1:3129" is not ADDR:PORT/,
  ],
  [
    'listen empty',
    file({ listen: [] }),
    /^listen: is empty; give at least one ADDR:PORT or PORT; in config/,
  ],
  [
    'listen item not a string',
    file({ listen: [{ port: 1 }] }),
    /^listen\[0\]: must be a string; in config/,
  ],
  [
    'open listen',
    file({ listen: ['192.0.2.1:3129'] }),
    /^listen: 192\.0\.2\.1:3129 is not a loopback address and no allow list is set; corproxy refuses to run as an open proxy/,
  ],
  [
    'allow prefix too long',
    { flags: { allow: ['10.0.0.0/33'] } },
    /^allow\[0\]: "10\.0\.0\.0\/33" is not an IP address or CIDR/,
  ],
  [
    'allow v6 prefix too long',
    { flags: { allow: ['fd00::/129'] } },
    /^allow\[0\]: "fd00::\/129" is not/,
  ],
  [
    'allow name',
    { flags: { allow: ['10.0.0.0/8,intranet'] } },
    /^allow\[1\]: "intranet" is not an IP address or CIDR \(e\.g\. 10\.1\.0\.0\/16\); from flag --allow$/,
  ],
  [
    'allow two slashes',
    file({ allow: ['10.0.0.0/8/9'] }),
    /^allow\[0\]: "10\.0\.0\.0\/8\/9" is not/,
  ],
  [
    'fallback',
    file({ fallback: 'sometimes' }),
    /^fallback: "sometimes" is not one of direct, none; in config/,
  ],
  [
    'fallback flag',
    { flags: { fallback: 'maybe' } },
    /^fallback: "maybe" is not one of direct, none; from flag --fallback$/,
  ],
  [
    'direct pattern',
    { flags: { direct: ['ok.test', '[::1]'] } },
    /^direct\[1\]: direct pattern "\[::1\]": brackets need a port.*; from flag --direct$/,
  ],
  ['direct not a string', file({ direct: [true] }), /^direct\[0\]: must be a string/],
  [
    'hosts address',
    file({ hosts: { 'a.test': 'nope' } }),
    /^hosts\.a\.test: "nope" is not an IP address; hosts maps names to IP literals; in config/,
  ],
  [
    'hosts address type',
    file({ hosts: { 'a.test': 5 } }),
    /^hosts\.a\.test: 5 is not an IP address/,
  ],
  [
    'hosts name',
    file({ hosts: { 'bad name': '10.0.0.1' } }),
    /^hosts\.bad name: "bad name" is not a host name/,
  ],
  [
    'hosts flag without =',
    { flags: { hosts: ['a.test'] } },
    /^hosts\[0\]: "a\.test" is not NAME=ADDR .*; from flag --hosts$/,
  ],
  [
    'hosts env name',
    { env: { CORPROXY_HOSTS: '=10.0.0.1' } },
    /^hosts\[0\]: "" is not a host name; from environment variable CORPROXY_HOSTS$/,
  ],
  [
    'stateDir empty',
    file({ stateDir: '' }),
    /^stateDir: must not be empty; give a directory path; in config/,
  ],
  ['stateDir type', file({ stateDir: 7 }), /^stateDir: must be a string, got number/],
  [
    'stateDir relative without cwd',
    { flags: { stateDir: 'state' } },
    /^stateDir: "state" is relative; give an absolute path; from flag --state-dir$/,
  ],
  [
    'log level',
    { env: { CORPROXY_LOG_LEVEL: 'loud' } },
    /^log\.level: "loud" is not one of error, warn, info, debug; from environment variable CORPROXY_LOG_LEVEL$/,
  ],
  [
    'log maxSize unit',
    file({ log: { maxSize: '10 parsecs' } }),
    /^log\.maxSize: "10 parsecs" is not a size; write e\.g\. "64KiB"/,
  ],
  ['log maxSize zero', file({ log: { maxSize: 0 } }), /^log\.maxSize: 0 is not a size/],
  ['log maxSize type', file({ log: { maxSize: [1] } }), /^log\.maxSize: \[1\] is not a size/],
  [
    'log maxFiles zero',
    file({ log: { maxFiles: 0 } }),
    /^log\.maxFiles: 0 is not a whole number of at least 1/,
  ],
  [
    'log maxFiles fraction',
    file({ log: { maxFiles: 1.5 } }),
    /^log\.maxFiles: 1\.5 is not a whole number/,
  ],
  ['log file type', file({ log: { file: false } }), /^log\.file: must be a string, got boolean/],
  [
    'duration unit',
    file({ limits: { headerTimeout: '10x' } }),
    /^limits\.headerTimeout: "10x" is not a duration between 1ms and 24d; write e\.g\. "500ms"/,
  ],
  [
    'duration zero',
    file({ limits: { connectTimeout: '0s' } }),
    /^limits\.connectTimeout: "0s" is not a duration/,
  ],
  [
    'duration negative',
    file({ limits: { idleTimeout: -5 } }),
    /^limits\.idleTimeout: -5 is not a duration/,
  ],
  [
    'duration beyond timers',
    file({ limits: { keepAlive: 2 ** 31 } }),
    /^limits\.keepAlive: 2147483648 is not a duration/,
  ],
  [
    'duration type',
    file({ limits: { drainTimeout: true } }),
    /^limits\.drainTimeout: true is not a duration/,
  ],
  [
    'duration in probe',
    file({ probe: { cleanTtl: '1d' } }),
    /^probe\.cleanTtl: "1d" is not a duration/,
  ],
  [
    'maxConnections',
    file({ limits: { maxConnections: 'many' } }),
    /^limits\.maxConnections: "many" is not a whole number/,
  ],
  [
    'maxHeaderSize',
    file({ limits: { maxHeaderSize: '-1KiB' } }),
    /^limits\.maxHeaderSize: "-1KiB" is not a size/,
  ],
  [
    'boolean',
    { env: { CORPROXY_DIRECT_FROM_GO_ENV: 'maybe' } },
    /^directFromGoEnv: "maybe" is not a boolean; use true or false; from environment variable CORPROXY_DIRECT_FROM_GO_ENV$/,
  ],
  [
    'probe enabled',
    file({ probe: { enabled: 'sure' } }),
    /^probe\.enabled: "sure" is not a boolean/,
  ],
  [
    'probe watch host',
    file({ probe: { watch: ['a b.test'] } }),
    /^probe\.watch\[0\]: "a b\.test" is not HOST or HOST:PORT/,
  ],
  [
    'probe watch port',
    file({ probe: { watch: ['ok.test', 'a.test:0'] } }),
    /^probe\.watch\[1\]: "a\.test:0" is not HOST or HOST:PORT/,
  ],
  [
    'probe roots type',
    file({ probe: { extraPublicRoots: 1 } }),
    /^probe\.extraPublicRoots: must be a string/,
  ],
  [
    'fingerprint',
    file({ trust: { fingerprints: ['abc'] } }),
    /^trust\.fingerprints\[0\]: "abc" is not a SHA-256 fingerprint \(64 hex digits, colons optional\)/,
  ],
  [
    'fingerprint non-hex',
    file({ trust: { fingerprints: ['zz'.repeat(32)] } }),
    /^trust\.fingerprints\[0\]: "z+" is not a SHA-256/,
  ],
  [
    'stateDir relative from env',
    { env: { CORPROXY_STATE_DIR: 'rel' } },
    /^stateDir: "rel" is relative; give an absolute path; from environment variable CORPROXY_STATE_DIR$/,
  ],
  [
    'NO_PROXY import',
    { env: { NO_PROXY: 'ok.test,:80' }, flags: { directFromGoEnv: true } },
    /^direct: direct pattern ":80": no host before the port; from environment variable NO_PROXY$/,
  ],
  [
    'GOPRIVATE import',
    { env: { GOPRIVATE: 'corp.test/[' }, flags: { directFromGoEnv: true } },
    /^directModules: module glob "corp\.test\/\[": .*; from environment variable GOPRIVATE$/,
  ],
  [
    'GONOPROXY import',
    { env: { GONOPROXY: 'a.test, b.test' }, flags: { directFromGoEnv: true } },
    /^directModules: module glob " b\.test": contains whitespace.*; from environment variable GONOPROXY$/,
  ],
];

t.test('every validation error names its key path and origin', async (t) => {
  for (const [name, inputs, message] of ROWS) {
    t.throws(
      () => parseConfig({ env: {}, flags: {}, platform: 'linux', homedir: '/home/dev', ...inputs }),
      { name: 'CorproxyError', code: 'CPX_ERR_CONFIG_INVALID', message },
      name,
    );
  }
});

t.test('file errors name the file', async (t) => {
  const err = t.throws(() =>
    parseConfig({ ...file({ listen: 'x' }), env: {}, flags: {}, platform: 'linux', homedir: '/h' }),
  );
  t.ok(err instanceof CorproxyError);
  t.match((err as Error).message, new RegExp(`; ${IN_FILE.replace(/\./g, '\\.')}$`));
});
