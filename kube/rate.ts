/**
 * Client-side request rate limit for one cluster (what client-go calls QPS and burst): a token bucket that
 * refills at `perSecond` tokens a second up to `burst`; each request takes one token, waiting for it if the
 * bucket is empty. Waiters are served in arrival order. Also: how long to wait after a 429 (Retry-After).
 */

export interface RateLimit {
  /** Requests per second, sustained. 0 turns the limit off. */
  perSecond: number;
  /** Requests allowed at once after a quiet period (default: 2 x perSecond). */
  burst?: number;
}

export interface TokenBucket {
  /** Resolves when the caller may send one request. */
  take(): Promise<void>;
  /**
   * The server answered 429 (API Priority and Fairness: its queues for this client are full): hand out no token
   * for `ms` (its Retry-After), to every request of this client, and start again at the sustained rate, without
   * the burst that would have built up meanwhile. Several Lambda containers sharing one API server thus slow
   * down together instead of each retrying into the same full queue.
   */
  pause(ms: number): void;
}

type Clock = { now: () => number; sleep: (ms: number) => Promise<void> };

const settled: Promise<void> = Promise.resolve();

const realClock: Clock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export function tokenBucket(limit: RateLimit, clock: Clock = realClock): TokenBucket {
  const limited = limit.perSecond > 0;
  const rate = limited ? limit.perSecond / 1000 : Infinity;
  const burst = limited ? Math.max(1, limit.burst ?? Math.ceil(limit.perSecond * 2)) : Infinity;
  let tokens = burst;
  let last = clock.now();
  let pausedUntil = -Infinity;
  // A chain of waiters keeps arrival order: each waits for the previous one, then for its own token.
  let tail: Promise<void> = settled;
  const refill = () => {
    const now = clock.now();
    if (limited && now > last) {
      tokens = Math.min(burst, tokens + (now - last) * rate);
      last = now;
    }
  };
  return {
    take() {
      refill();
      if (tokens >= 1 && tail === settled && clock.now() >= pausedUntil) {
        tokens -= 1;
        return Promise.resolve();
      }
      const mine = tail.then(async () => {
        for (;;) {
          const now = clock.now();
          if (now < pausedUntil) {
            await clock.sleep(pausedUntil - now);
            continue;
          }
          refill();
          if (tokens >= 1) break;
          await clock.sleep(Math.ceil((1 - tokens) / rate));
        }
        tokens -= 1;
      });
      tail = mine;
      void mine.then(() => {
        if (tail === mine) tail = settled;
      });
      return mine;
    },
    pause(ms) {
      const until = clock.now() + ms;
      if (!(ms > 0) || until <= pausedUntil) return;
      pausedUntil = until;
      if (limited) {
        // no tokens saved up across the pause: at its end, the sustained rate, not a burst
        tokens = Math.min(tokens, 0);
        last = until;
      }
    },
  };
}

/**
 * How long to wait before retrying a 429: the Retry-After header (seconds; kube-apiserver sends whole seconds),
 * else the Status body's `details.retryAfterSeconds`, else 1 s; at most `capMs`.
 */
export function retryAfterMs(header: string | string[] | undefined, body: string, capMs: number): number {
  const h = Array.isArray(header) ? header[0] : header;
  let seconds = h !== undefined && /^\d+(\.\d+)?$/.test(h.trim()) ? Number(h.trim()) : NaN;
  if (!Number.isFinite(seconds)) {
    try {
      const s = (JSON.parse(body) as { details?: { retryAfterSeconds?: unknown } }).details?.retryAfterSeconds;
      if (typeof s === 'number' && s >= 0) seconds = s;
    } catch {
      // not a Status body
    }
  }
  if (!Number.isFinite(seconds)) seconds = 1;
  return Math.min(capMs, Math.max(0, seconds * 1000));
}
