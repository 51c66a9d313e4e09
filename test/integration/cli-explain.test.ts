/**
 * `corproxy explain` with a real daemon (`dist/main.js serve`) for upstream health and a
 * real PAC script (the daemon's PAC engine, loaded from a file), against the environment
 * a developer's shell would pass.
 *
 *   runExplain --GET /status--> corproxy serve --CONNECT--> (dead upstream: marked bad)
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { runExplain, type ExplainArgs } from '../../src/cli/explain.js';
import { parseConfig, type Flags } from '../../src/config/index.js';
import type { Config } from '../../src/config/types.js';
import { toExitCode } from '../../src/errors.js';
import type { Explanation } from '../../src/inspect/explain.js';
import type { Env } from '../../src/inspect/proxy-answer.js';
import { startDaemon } from '../support/daemon-process.js';
import { closedPort, parseHead, rawExchange } from '../support/net.js';
import { waitFor } from '../support/tools.js';

function cliConfig(flags: Flags): Config {
  return parseConfig({
    flags: { listen: ['127.0.0.1:0'], log: 'off', ...flags },
    env: {},
    platform: process.platform,
    homedir: os.tmpdir(),
  });
}

async function explainText(args: ExplainArgs, config: Config, env: Env): Promise<string> {
  let out = '';
  await runExplain(args, { config, env, out: (s) => (out += s), timeoutMs: 1000 });
  return out;
}

t.test('upstream health from the running daemon; Go and curl through corproxy', async (t) => {
  const dir = t.testdir();
  const dead = await closedPort();
  const upstream = `http://127.0.0.1:${dead}`;
  writeFileSync(join(dir, 'config.yaml'), 'probe:\n  enabled: false\n');
  const d = await startDaemon(
    t,
    [
      '--config',
      join(dir, 'config.yaml'),
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      dir,
      '--log',
      'off',
      '--upstream',
      upstream,
      '--direct',
      '.corp.example',
    ],
    { XDG_CONFIG_HOME: dir },
  );
  const { socket, text } = await rawExchange(
    d.port,
    'CONNECT proxy.golang.org:443 HTTP/1.1\r\nHost: proxy.golang.org:443\r\n\r\n',
  );
  socket.destroy();
  t.equal(parseHead(text).status, 502);

  const config = cliConfig({ stateDir: dir, upstream: [upstream], direct: ['.corp.example'] });
  const env = { HTTPS_PROXY: d.url, https_proxy: d.url, NO_PROXY: '.corp.example' };
  t.ok(
    await waitFor(
      async () => /bad until/.test(await explainText({ target: 'proxy.golang.org' }, config, env)),
      5000,
    ),
  );
  const out = await explainText(
    { target: 'https://proxy.golang.org/golang.org/x/net/@v/list' },
    config,
    env,
  );
  t.match(out, /^target {4}https:\/\/proxy\.golang\.org\/golang\.org\/x\/net\/@v\/list$/m);
  t.match(out, /^corproxy {2}upstream \(CONNECT tunnel to proxy\.golang\.org:443\)$/m);
  t.match(out, /^ {10}rule: default: upstream list$/m);
  t.match(
    out,
    new RegExp(
      `^ {10}1\\. http://127\\.0\\.0\\.1:${dead} {2}bad until \\S+: .*\\(tried last\\)$`,
      'm',
    ),
  );
  t.match(
    out,
    new RegExp(
      `^go {8}proxied via http://127\\.0\\.0\\.1:${d.port} \\(from HTTPS_PROXY\\) = corproxy$`,
      'm',
    ),
  );
  t.match(out, /^curl {6}same as Go$/m);

  const direct = await explainText({ target: 'git.corp.example:443' }, config, env);
  t.match(
    direct,
    /^corproxy {2}direct \(CONNECT tunnel to git\.corp\.example:443\)\n {10}rule: direct "\.corp\.example"$/m,
  );
  t.match(direct, /^go {8}direct: NO_PROXY entry "\.corp\.example" matches$/m);

  const json = JSON.parse(
    await explainText({ target: 'proxy.golang.org', json: true }, config, env),
  ) as Explanation;
  t.match(json.corproxy, {
    kind: 'upstream',
    healthKnown: true,
    upstreams: [{ url: upstream, healthy: false }],
  });
  t.match(json.go, { proxied: true, viaCorproxy: true, variable: { name: 'HTTPS_PROXY' } });
  t.equal(json.curlDiffers, false);

  const skipped = await explainText({ target: 'proxy.golang.org', daemon: false }, config, env);
  t.match(skipped, /the daemon did not answer: health unknown/);
  t.equal(await d.stop(), 0);

  const down = await explainText({ target: 'proxy.golang.org' }, config, env);
  t.match(
    down,
    /rules from the config; the daemon did not answer/,
    'a stopped daemon: the config decides',
  );
  t.match(down, new RegExp(`1\\. http://127\\.0\\.0\\.1:${dead}$`, 'm'));
});

t.test('a PAC script decides through the daemon engine', async (t) => {
  const dir = t.testdir();
  const pac = join(dir, 'proxy.pac');
  writeFileSync(
    pac,
    `function FindProxyForURL(url, host) {
       if (dnsDomainIs(host, ".corp.example")) return "DIRECT";
       if (url.substring(0, 6) === "https:") return "PROXY up1.example.test:8080; SOCKS s.example.test:1080; DIRECT";
       return "PROXY up2.example.test:3128";
     }`,
  );
  const config = cliConfig({ stateDir: dir, pac, upstream: ['http://up1.example.test:8080'] });
  const https = await explainText({ target: 'proxy.golang.org', daemon: false }, config, {});
  t.match(https, /^ {10}rule: pac: PROXY up1\.example\.test:8080; DIRECT$/m);
  t.match(https, /^ {10}PAC entries corproxy cannot use: SOCKS s\.example\.test:1080$/m);
  t.match(https, /^ {10}1\. http:\/\/up1\.example\.test:8080$/m);
  t.match(https, /^ {10}2\. DIRECT$/m);
  const http = await explainText(
    { target: 'http://deb.example/dists/', daemon: false },
    config,
    {},
  );
  t.match(
    http,
    /^corproxy {2}upstream \(forwarded request\)\n {10}rule: pac: PROXY up2\.example\.test:3128$/m,
  );
  const corp = await explainText({ target: 'git.corp.example', daemon: false }, config, {});
  t.match(corp, /rule: pac: DIRECT$/m);

  const broken = cliConfig({
    stateDir: dir,
    pac: join(dir, 'missing.pac'),
    upstream: ['http://up1.example.test:8080'],
  });
  const fallback = await explainText({ target: 'proxy.golang.org', daemon: false }, broken, {});
  t.match(fallback, /rule: upstream list \(the PAC script gave no answer/);
});

t.test('a bad target is a usage error (exit 2)', async (t) => {
  const config = cliConfig({ stateDir: t.testdir() });
  for (const target of ['golang.org/x/net', 'ftp://files.example/', 'host:99999', '']) {
    const err = await explainText({ target, daemon: false }, config, {}).catch((e: unknown) => e);
    t.match(err, { code: 'CPX_ERR_USAGE' }, target);
    t.equal(toExitCode(err), 2);
  }
});
