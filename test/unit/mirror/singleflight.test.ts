import t from 'tap';
import { SingleFlight } from '../../../src/mirror/singleflight.js';

t.test('concurrent calls for one key share one execution', async (t) => {
  const flights = new SingleFlight<number>();
  let runs = 0;
  let release: (n: number) => void = () => undefined;
  const fn = (): Promise<number> => {
    runs += 1;
    return new Promise((resolve) => (release = resolve));
  };
  const calls = [flights.do('k', fn), flights.do('k', fn), flights.do('k', fn)];
  t.equal(flights.size, 1);
  release(42);
  const results = await Promise.all(calls);
  t.equal(runs, 1, 'one execution');
  t.same(
    results.map((r) => r.value),
    [42, 42, 42],
  );
  t.same(
    results.map((r) => r.shared),
    [false, true, true],
  );
  t.equal(flights.size, 0, 'key released');
  await flights.do('k', async () => 7);
  t.equal(runs, 1, 'a later call runs its own function');
});

t.test('different keys run separately; errors reach every waiter and free the key', async (t) => {
  const flights = new SingleFlight<string>();
  const [a, b] = await Promise.all([
    flights.do('a', async () => 'A'),
    flights.do('b', async () => 'B'),
  ]);
  t.equal(a.value, 'A');
  t.equal(b.value, 'B');
  const boom = (): Promise<string> => Promise.reject(new Error('boom'));
  const results = await Promise.allSettled([flights.do('x', boom), flights.do('x', boom)]);
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
  t.equal(flights.size, 0);
  const sync = (): Promise<string> => {
    throw new Error('sync');
  };
  await t.rejects(flights.do('y', sync), /sync/, 'a synchronous throw becomes a rejection');
});
