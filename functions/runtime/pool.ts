/**
 * Bounded parallelism for the handlers: a limiter shared by several callers, and a worker pool over a list.
 */
/** At most `limit` callers inside at once (rollout shares one across all namespace groups of a batch). */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;
export function limiter(limit: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let first: unknown;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        // Every item still runs (no write left dangling); the first error is rethrown at the end.
        if (!failed) [failed, first] = [true, err];
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw first;
}
