import { describe, expect, it } from 'vitest';
import { limiter, pool } from '../../../../functions/runtime/pool.ts';

describe('limiter', () => {
  it('never lets more than the limit run at once, and runs everything', async () => {
    const limit = limiter(3);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setImmediate(r));
          active--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});

describe('pool', () => {
  it('runs every item even when one fails, then rethrows the first error', async () => {
    const seen: number[] = [];
    await expect(
      pool([1, 2, 3, 4, 5], 2, async (i) => {
        seen.push(i);
        if (i === 2) throw new Error('boom 2');
        if (i === 4) throw new Error('boom 4');
      }),
    ).rejects.toThrow('boom 2');
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5]);
  });
});
