/**
 * Serialises async work per key within one process. On AWS, S3 conditional writes settle races between Lambdas;
 * the embedded S3 server ignores If-Match/If-None-Match, so the local lake runs every handler in one process and
 * takes this lock around each read-compare-write instead.
 */
export type KeyLock = <T>(key: string, work: () => Promise<T>) => Promise<T>;

export function createKeyLock(): KeyLock {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
