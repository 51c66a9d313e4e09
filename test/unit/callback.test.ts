/**
 * promised(): the promise of a callback-style operation settles as its one callback says,
 * whether the callback comes at once or later, and a later second call changes nothing.
 */
import t from 'tap';
import { promised, type Callback } from '../../src/callback.js';

t.test('resolves with the value when the callback has no error', async (t) => {
  t.equal(await promised<number>((done) => done(undefined, 7)), 7, 'called at once');
  const later = promised<string>((done) => setTimeout(() => done(undefined, 'late'), 5));
  t.equal(await later, 'late', 'called later');
  t.equal(await promised<undefined>((done) => done(undefined)), undefined, 'no value');
});

t.test('rejects with the error, whatever its type', async (t) => {
  const err = new Error('refused');
  await t.rejects(
    promised((done) => done(err)),
    err,
  );
  await t.rejects(
    promised((done) => done('a string')),
    'a string' as unknown as Error,
  );
});

t.test('only the first call counts', async (t) => {
  let second: Callback<number> | undefined;
  const p = promised<number>((done) => {
    second = done;
    done(undefined, 1);
  });
  second?.(new Error('too late'));
  t.equal(await p, 1);
});
