/**
 * keepalive.ts without sockets: stand-ins record setKeepAlive calls, so what is armed,
 * skipped and forgotten is seen directly.
 */
import type net from 'node:net';
import t from 'tap';
import {
  armWaiting,
  forgetKeepAlive,
  KEEPALIVE_ARM_DELAY_MS,
  keepAliveSoon,
  keepAliveWaiting,
} from '../../../src/proxy/keepalive.js';

interface Fake {
  readonly socket: net.Socket;
  readonly calls: Array<[boolean, number]>;
  destroy(): void;
}

function fake(): Fake {
  const calls: Array<[boolean, number]> = [];
  const state = { destroyed: false };
  const socket = {
    get destroyed() {
      return state.destroyed;
    },
    setKeepAlive(enable: boolean, delay: number) {
      calls.push([enable, delay]);
      return socket;
    },
  } as unknown as net.Socket;
  return { socket, calls, destroy: () => (state.destroyed = true) };
}

t.beforeEach(() => armWaiting());

t.test('a waiting socket is armed with its own delay, once', async (t) => {
  const a = fake();
  const b = fake();
  keepAliveSoon(a.socket, 30_000);
  keepAliveSoon(b.socket, 5_000);
  t.equal(keepAliveWaiting(), 2);
  t.same(a.calls, [], 'nothing is set at dial time');
  armWaiting();
  t.same(a.calls, [[true, 30_000]]);
  t.same(b.calls, [[true, 5_000]]);
  t.equal(keepAliveWaiting(), 0);
  armWaiting();
  t.equal(a.calls.length, 1, 'a second sweep does not arm it again');
});

t.test('closed and forgotten sockets are not armed', async (t) => {
  const closed = fake();
  const forgotten = fake();
  const open = fake();
  keepAliveSoon(closed.socket, 1000);
  keepAliveSoon(forgotten.socket, 1000);
  keepAliveSoon(open.socket, 1000);
  closed.destroy();
  forgetKeepAlive(forgotten.socket);
  t.equal(keepAliveWaiting(), 2, 'a forgotten socket leaves the set at once');
  armWaiting();
  t.same(closed.calls, []);
  t.same(forgotten.calls, []);
  t.same(open.calls, [[true, 1000]]);
  forgetKeepAlive(open.socket);
  t.equal(keepAliveWaiting(), 0, 'forgetting an armed socket is harmless');
});

t.test('the sweep runs by itself after the arm delay', async (t) => {
  const a = fake();
  keepAliveSoon(a.socket, 2000);
  await new Promise((r) => setTimeout(r, KEEPALIVE_ARM_DELAY_MS / 2));
  t.same(a.calls, [], 'not before the delay');
  await new Promise((r) => setTimeout(r, KEEPALIVE_ARM_DELAY_MS));
  t.same(a.calls, [[true, 2000]]);
  t.equal(keepAliveWaiting(), 0);
});
