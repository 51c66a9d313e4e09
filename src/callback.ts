/**
 * The callback shape of the daemon's hot paths and the one way to turn such an operation
 * into a promise. Opening a tunnel's remote runs on callbacks, because the promise jobs
 * between a CONNECT head and its 200 were a measurable share of a short tunnel's cost
 * (bench/README.md, seventh and eighth rounds); callers off that path keep promises.
 */

/** Called once: with an error, or without one and with the value. */
export type Callback<T> = (err: unknown, value?: T) => void;

/** The promise of an operation that calls back once. */
export function promised<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    start((err, value) => (err === undefined ? resolve(value as T) : reject(err)));
  });
}
