/**
 * The client-side token bucket (fake clock: what a request waits, in order) and the Retry-After reading.
 */
import { describe, expect, it } from 'vitest';
import { retryAfterMs, tokenBucket } from '../../../kube/rate.ts';

function fakeClock() {
  let t = 0;
  const sleeps: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    sleeps,
    advance: (ms: number) => (t += ms),
  };
}

describe('tokenBucket', () => {
  it('lets a burst through at once, then one request per 1/rate, in arrival order', async () => {
    // Prepare: 10/s, burst 3
    const clock = fakeClock();
    const bucket = tokenBucket({ perSecond: 10, burst: 3 }, clock);
    const done: [number, number][] = [];
    // Act: 6 requests at t=0
    await Promise.all(Array.from({ length: 6 }, (_, i) => bucket.take().then(() => done.push([i, clock.now()]))));
    // Assess: 3 at once, then one per 100 ms, order kept
    expect(done.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(done.map(([, t]) => t)).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refills while idle, never above the burst', async () => {
    const clock = fakeClock();
    const bucket = tokenBucket({ perSecond: 10, burst: 2 }, clock);
    await bucket.take();
    await bucket.take();
    clock.advance(10_000);
    const t0 = clock.now();
    await bucket.take();
    await bucket.take();
    await bucket.take();
    expect(clock.now() - t0).toBe(100);
  });

  it('perSecond 0 turns the limit off', async () => {
    const clock = fakeClock();
    const bucket = tokenBucket({ perSecond: 0 }, clock);
    await Promise.all(Array.from({ length: 1000 }, () => bucket.take()));
    expect(clock.sleeps).toEqual([]);
  });

  it('pause (a 429): no request goes out until it ends, then the sustained rate without the burst saved up meanwhile', async () => {
    // Prepare: 10/s, burst 5, all tokens there
    const clock = fakeClock();
    const bucket = tokenBucket({ perSecond: 10, burst: 5 }, clock);
    await bucket.take();
    // Act: the server says Retry-After 1 s; then 3 requests
    bucket.pause(1000);
    const done: number[] = [];
    await Promise.all(Array.from({ length: 3 }, () => bucket.take().then(() => done.push(clock.now()))));
    // Assess: nothing before t=1000, then one per 100 ms (not 3 at once from the saved-up burst)
    expect(done).toEqual([1100, 1200, 1300]);
  });

  it('pause with the limit off still holds every request until Retry-After has passed; a shorter pause does not shorten it', async () => {
    const clock = fakeClock();
    const bucket = tokenBucket({ perSecond: 0 }, clock);
    bucket.pause(2000);
    bucket.pause(500);
    const done: number[] = [];
    await Promise.all(Array.from({ length: 3 }, () => bucket.take().then(() => done.push(clock.now()))));
    expect(done).toEqual([2000, 2000, 2000]);
  });
});

describe('retryAfterMs', () => {
  it.each([
    ['header in seconds', '2', '', 2000],
    ['header wins over the body', '1', '{"details":{"retryAfterSeconds":5}}', 1000],
    ['Status details without a header', undefined, '{"kind":"Status","details":{"retryAfterSeconds":3}}', 3000],
    ['neither: 1 s', undefined, 'not json', 1000],
    ['an HTTP date is not used: 1 s', 'Wed, 21 Oct 2026 07:28:00 GMT', '', 1000],
    ['capped', '3600', '', 10_000],
  ])('%s', (_, header, body, expected) => {
    expect(retryAfterMs(header, body, 10_000)).toBe(expected);
  });
});
