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
}

type Clock = { now: () => number; sleep: (ms: number) => Promise<void> };

const settled: Promise<void> = Promise.resolve();

const realClock: Clock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export function tokenBucket(limit: RateLimit, clock: Clock = realClock): TokenBucket {
  if (!(limit.perSecond > 0)) return { take: async () => {} };
  const rate = limit.perSecond / 1000;
  const burst = Math.max(1, limit.burst ?? Math.ceil(limit.perSecond * 2));
  let tokens = burst;
  let last = clock.now();
  // A chain of waiters keeps arrival order: each waits for the previous one, then for its own token.
  let tail: Promise<void> = settled;
  const refill = () => {
    const now = clock.now();
    tokens = Math.min(burst, tokens + (now - last) * rate);
    last = now;
  };
  return {
    take() {
      refill();
      if (tokens >= 1 && tail === settled) {
        tokens -= 1;
        return Promise.resolve();
      }
      const mine = tail.then(async () => {
        refill();
        while (tokens < 1) {
          await clock.sleep(Math.ceil((1 - tokens) / rate));
          refill();
        }
        tokens -= 1;
      });
      tail = mine;
      void mine.then(() => {
        if (tail === mine) tail = settled;
      });
      return mine;
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
