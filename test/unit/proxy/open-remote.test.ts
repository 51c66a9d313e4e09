/**
 * openRemoteThen runs a route plan hop by hop on callbacks. Against real loopback
 * listeners (a closed port, a scripted upstream, an echo origin) each case checks that
 * the callback comes exactly once, with which remote or error, and what the bad-proxy
 * list and the network monitor were told.
 */
import t from 'tap';
import { parseConfig } from '../../../src/config/parse.js';
import type { CorproxyError } from '../../../src/errors.js';
import type { NetworkMonitor } from '../../../src/pac/network.js';
import { BadProxyList } from '../../../src/proxy/bad-proxies.js';
import {
  openRemote,
  openRemoteThen,
  type Remote,
  type RemoteContext,
} from '../../../src/proxy/open-remote.js';
import { closedPort } from '../../support/net.js';
import { startEchoOrigin } from '../../support/origins.js';
import { reply407, startScriptedProxy } from '../../support/scripted-proxy.js';

/** The monitor's calls, in order. */
function fakeNetwork(): { monitor: NetworkMonitor; calls: string[] } {
  const calls: string[] = [];
  const monitor = {
    epoch: 3,
    isOff: () => false,
    status: () => ({ reason: 'none' }),
    proxyReachable: (p: { host: string; port: number }) => calls.push(`reachable ${p.port}`),
    proxyFailed: (epoch: number, p: { port: number }) => calls.push(`failed ${epoch} ${p.port}`),
    attemptFailed: (epoch: number) => calls.push(`attempt failed ${epoch}`),
  };
  return { monitor: monitor as unknown as NetworkMonitor, calls };
}

function context(
  upstreamPorts: readonly number[],
  fallback: 'direct' | 'none',
  network?: NetworkMonitor,
): RemoteContext {
  const config = parseConfig({
    file: {
      upstream: upstreamPorts.map((p) => `http://127.0.0.1:${p}`),
      fallback,
    },
    filePath: '/nonexistent/config.yaml',
    env: {},
    flags: {},
    platform: 'linux',
    homedir: '/nonexistent',
  });
  return {
    config,
    badProxies: new BadProxyList(60_000, Date.now),
    dialDeps: {},
    ...(network ? { network } : {}),
  };
}

/** Runs openRemoteThen and waits a little past its callback, counting callbacks. */
function open(
  target: { host: string; port: number },
  ctx: RemoteContext,
): Promise<{ calls: number; err: unknown; remote: Remote | undefined }> {
  return new Promise((resolve) => {
    let calls = 0;
    let first: { err: unknown; remote: Remote | undefined } | undefined;
    openRemoteThen(target, { kind: 'upstream', rule: 'upstream list' }, ctx, 'tunnel', (e, r) => {
      calls += 1;
      first ??= { err: e, remote: r };
      setTimeout(() => resolve({ calls, ...first! }), 50);
    });
  });
}

t.test('a dead upstream is marked bad and the next one carries the tunnel', async (t) => {
  const origin = (await startEchoOrigin(t)).port;
  const dead = await closedPort();
  const good = await startScriptedProxy(t, () => ({ tunnel: true, early: 'hi' }));
  const { monitor, calls } = fakeNetwork();
  const ctx = context([dead, good.port], 'none', monitor);
  const r = await open({ host: '127.0.0.1', port: origin }, ctx);
  t.equal(r.calls, 1);
  t.equal(r.err, undefined);
  t.equal(r.remote?.route, 'upstream');
  t.equal(r.remote?.upstream?.port, good.port);
  t.equal(r.remote?.rule, 'upstream list');
  t.equal(r.remote?.rest.toString(), 'hi', 'bytes after the 200 are handed over');
  t.ok(ctx.badProxies.isBad(`127.0.0.1:${dead}`));
  t.notOk(ctx.badProxies.isBad(`127.0.0.1:${good.port}`));
  t.same(calls, [`failed 3 ${dead}`, `reachable ${good.port}`]);
  t.equal(good.requests[0]?.target, `127.0.0.1:${origin}`);
  r.remote?.socket.destroy();
});

t.test('every upstream dead: fallback direct, or one error naming each', async (t) => {
  const origin = (await startEchoOrigin(t)).port;
  const a = await closedPort();
  const b = await closedPort();
  const net1 = fakeNetwork();
  const viaFallback = await open(
    { host: '127.0.0.1', port: origin },
    context([a, b], 'direct', net1.monitor),
  );
  t.equal(viaFallback.calls, 1);
  t.equal(viaFallback.remote?.route, 'direct');
  t.match(viaFallback.remote?.rule, /^fallback: direct/);
  t.same(net1.calls, [`failed 3 ${a}`, `failed 3 ${b}`, 'attempt failed 3']);
  viaFallback.remote?.socket.destroy();

  const none = await open({ host: '127.0.0.1', port: origin }, context([a, b], 'none'));
  t.equal(none.calls, 1);
  t.equal(none.remote, undefined);
  const err = none.err as CorproxyError;
  t.equal(err.code, 'CPX_ERR_NO_ROUTE');
  t.match(err.message, new RegExp(`127\\.0\\.0\\.1:${a}.*127\\.0\\.0\\.1:${b}`));
  t.same(err.details?.tried, [`127.0.0.1:${a}`, `127.0.0.1:${b}`]);

  const one = await open({ host: '127.0.0.1', port: origin }, context([a], 'none'));
  t.equal(
    (one.err as CorproxyError).code,
    'CPX_ERR_UPSTREAM_UNREACHABLE',
    'a single failure as is',
  );
});

t.test('an upstream that answers but refuses ends the attempt: no failover', async (t) => {
  const origin = (await startEchoOrigin(t)).port;
  const refusing = await startScriptedProxy(t, () => ({ reply: reply407(['Basic realm="r"']) }));
  const spare = await startScriptedProxy(t, () => ({ tunnel: true }));
  const { monitor, calls } = fakeNetwork();
  const ctx = context([refusing.port, spare.port], 'direct', monitor);
  const r = await open({ host: '127.0.0.1', port: origin }, ctx);
  t.equal(r.calls, 1);
  t.equal((r.err as CorproxyError).code, 'CPX_ERR_UPSTREAM_AUTH');
  t.equal(spare.requests.length, 0, 'the next upstream is not tried');
  t.notOk(ctx.badProxies.isBad(`127.0.0.1:${refusing.port}`));
  t.same(calls, [`reachable ${refusing.port}`], 'a 407 proves the upstream is there');
});

t.test('a PAC answer is asked for, then its hops run in order', async (t) => {
  const origin = (await startEchoOrigin(t)).port;
  const dead = await closedPort();
  const asked: string[] = [];
  const ctx: RemoteContext = {
    ...context([], 'none'),
    pac: {
      decide: async (url: string) => {
        asked.push(url);
        return { ok: true, answer: `PROXY 127.0.0.1:${dead}; DIRECT` };
      },
    } as unknown as RemoteContext['pac'],
  };
  const remote = await openRemote(
    { host: '127.0.0.1', port: origin },
    {
      kind: 'upstream',
      rule: 'no direct rule',
    },
    ctx,
  );
  t.same(asked, [`https://127.0.0.1:${origin}/`]);
  t.equal(remote.route, 'direct');
  t.equal(remote.rule, `pac: PROXY 127.0.0.1:${dead}; DIRECT`);
  t.ok(ctx.badProxies.isBad(`127.0.0.1:${dead}`));
  remote.socket.destroy();
});
