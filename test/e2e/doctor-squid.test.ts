/**
 * End to end: `corproxy doctor` against a real squid as the corporate proxy, with the
 * built daemon running and the real `go env -json` (when go is installed).
 *
 *   doctor (layers 3-7 in process) --CONNECT + Basic--> squid (Basic auth; or ssl-bump
 *   daemon (dist/main.js serve): layer 2 /status          re-signing with a corporate CA)
 *                                                                   |
 *                                          goproxy.example.test / sum.example.test (test CA)
 *
 * Right password: nothing fails. Wrong password: the first failing layer is 5 (CONNECT,
 * 407 offering Basic). ssl-bump: the first failing layer is 6 (TLS, intercepted), until
 * Go's roots hold the corporate CA.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { runDoctorCommand, type DoctorCliDeps } from '../../src/cli/doctor.js';
import type { Config } from '../../src/config/types.js';
import { firstFailure, layerNumber } from '../../src/doctor/types.js';
import { testConfig } from '../support/corproxy.js';
import { startDaemon } from '../support/daemon-process.js';
import { makeCa } from '../support/pki.js';
import { startSquid, type Squid } from '../support/squid.js';
import { originLeaf } from '../support/tls-origin.js';
import { findTool, requireTool, type TeardownTest } from '../support/tools.js';

const GOPROXY_HOST = 'goproxy.example.test';
const SUM_HOST = 'sum.example.test';
const MODULE = 'example.test/hello';
const USER = 'dev';
const PASSWORD = 'doctor-e2e-pw';
const HOSTS = { [GOPROXY_HOST]: '127.0.0.1', [SUM_HOST]: '127.0.0.1' };

/** A module proxy and checksum database in one: `/mod/...` and `/sum/...`. */
async function startOrigin(t: TeardownTest, leaf: { keyPem: string; certPem: string }) {
  const answers: Record<string, string> = {
    [`/mod/${MODULE}/@v/list`]: 'v1.0.0\n',
    [`/mod/${MODULE}/@latest`]: '{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}',
    [`/sum/lookup/${MODULE}@v1.0.0`]: `1\n${MODULE} v1.0.0 h1:x=\n`,
  };
  const server = createServer({ key: leaf.keyPem, cert: leaf.certPem }, (req, res) => {
    const body = answers[(req.url ?? '').split('?')[0] ?? ''];
    res.writeHead(body === undefined ? 404 : 200).end(body ?? 'not found\n');
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => void sockets.add(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

interface Setup {
  readonly dir: string;
  readonly port: number;
  readonly publicFile: string;
}

/** The daemon and the doctor share one configuration: the daemon answers layer 2. */
async function doctor(t: TeardownTest, s: Setup, squid: Squid, password: string, certFile: string) {
  const upstream = `http://${USER}:${password}@127.0.0.1:${squid.port}`;
  const state = join(s.dir, `state-${password}`);
  const hosts = Object.entries(HOSTS).map(([k, v]) => `${k}=${v}`);
  const args = [
    '--listen',
    '127.0.0.1:0',
    '--upstream',
    upstream,
    '--state-dir',
    state,
    '--log',
    'off',
  ];
  const daemon = await startDaemon(t, [...args, ...hosts.flatMap((h) => ['--hosts', h])], {
    CORPROXY_PROBE: 'false',
  });
  const file = {
    probe: { extraPublicRoots: s.publicFile, watch: [], timeout: '10s' },
    limits: { connectTimeout: '5s' },
  };
  const config: Config = testConfig(
    { listen: [`127.0.0.1:${daemon.port}`], upstream: [upstream], hosts, stateDir: state },
    {},
    file,
  );
  const empty = join(s.dir, 'no-certs');
  mkdirSync(empty, { recursive: true });
  const out: string[] = [];
  const deps: DoctorCliDeps = {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: s.dir,
      GOENV: 'off',
      HTTPS_PROXY: daemon.url,
      https_proxy: daemon.url,
      GOPROXY: `https://${GOPROXY_HOST}:${s.port}/mod`,
      GOSUMDB: `${SUM_HOST}+01234567+AAAA https://${SUM_HOST}:${s.port}/sum`,
      SSL_CERT_FILE: certFile,
      SSL_CERT_DIR: empty,
    },
    platform: 'linux',
    loadConfig: () => config,
    fallbackConfig: () => config,
    gitConfig: () => Promise.resolve(undefined),
    print: (text) => void out.push(text),
    tty: false,
  };
  const outcome = await runDoctorCommand({ targets: [MODULE] }, deps);
  return { ...outcome, text: out.join('') };
}

t.test('doctor against real squid: wrong password, then ssl-bump', async (t) => {
  const squidBin = findTool('squid');
  if (!requireTool(t, 'squid', squidBin)) return;
  if (!requireTool(t, 'openssl', findTool('openssl'))) return;

  const dir = t.testdir();
  const publicCa = makeCa({ cn: 'corproxy e2e public root', org: 'corproxy tests' });
  const corp = makeCa({ cn: 'Corp Inspection Root CA', org: 'Example Corp' });
  const publicFile = join(dir, 'public-ca.pem');
  writeFileSync(publicFile, publicCa.certPem);
  const port = await startOrigin(t, originLeaf(publicCa, [GOPROXY_HOST, SUM_HOST], 2));
  const s: Setup = { dir, port, publicFile };
  const common = {
    bin: squidBin,
    basicAuth: { user: USER, password: PASSWORD },
    hosts: HOSTS,
    allowConnectPorts: [port],
  };
  const plain = await startSquid(t, common);

  await t.test('the right password: nothing fails', async (t) => {
    const r = await doctor(t, s, plain, PASSWORD, publicFile);
    t.equal(r.exitCode, 0, 'exit 0', { report: r.text });
    t.equal(firstFailure(r.report.checks), undefined);
    t.match(r.text, /^2 corproxy daemon +PASS/m, 'the daemon answered /status');
    t.match(
      r.text,
      /CONNECT goproxy\.example\.test:\d+ +PASS +200 from 127\.0\.0\.1:\d+; authenticated with Basic/,
    );
    t.match(r.text, /^OK: nothing failed/m);
  });

  await t.test('a wrong password: layer 5 is named, with the 407 and its scheme', async (t) => {
    const r = await doctor(t, s, plain, 'wrong-password', publicFile);
    const first = firstFailure(r.report.checks);
    t.equal(first && layerNumber(first.layer), 5, 'layer 5 fails first', { report: r.text });
    t.match(first, {
      code: 'CPX_ERR_UPSTREAM_AUTH',
      summary: /rejected the credentials of user "dev" \(407; offers Basic\)/,
    });
    t.equal(r.exitCode, 69);
    t.match(
      r.text,
      /^FAIL at layer 5 \(CONNECT through the upstream\): CONNECT goproxy\.example\.test:\d+: .*— fix: correct the credentials/m,
    );
    t.notMatch(r.text, /wrong-password/, 'the password never appears');
  });

  const bump = await startSquid(t, {
    ...common,
    sslBump: { caCertPem: corp.certPem, caKeyPem: corp.keyPem, originCaFile: publicFile },
  });

  await t.test(
    'ssl-bump: layer 6 is named, with the CA and the commands to trust it',
    async (t) => {
      const r = await doctor(t, s, bump, PASSWORD, publicFile);
      const first = firstFailure(r.report.checks);
      t.equal(first && layerNumber(first.layer), 6, 'layer 6 fails first', { report: r.text });
      t.match(first, {
        name: /^TLS goproxy\.example\.test:\d+$/,
        summary:
          /^intercepted by CN=Corp Inspection Root CA, O=Example Corp.*x509: certificate signed by unknown authority$/,
      });
      t.match(
        r.text,
        /Commands to paste:\n {2}corproxy trust goproxy\.example\.test:\d+\n {2}export SSL_CERT_FILE=/,
      );
      t.match(
        r.text,
        new RegExp(`${MODULE.replace(/\//g, '\\/')}/@v/list +SKIP +TLS failed`),
        'layer 7 points back at layer 6',
      );
    },
  );

  await t.test('ssl-bump with the corporate CA in Go’s roots: nothing fails', async (t) => {
    const both = join(dir, 'public-and-corp.pem');
    writeFileSync(both, publicCa.certPem + corp.certPem);
    const r = await doctor(t, s, bump, PASSWORD, both);
    t.equal(r.exitCode, 0, 'exit 0', { report: r.text });
    t.match(
      r.text,
      /TLS goproxy\.example\.test:\d+ +PASS +intercepted by CN=Corp Inspection Root CA/,
    );
  });
});
