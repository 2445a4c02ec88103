/**
 * A request-rate limit for the embedded API server (`startCluster({ maxRequestsPerSecond })`, `ripple cluster
 * --max-requests-per-second`), so tests and benches meet what a busy EKS control plane answers: API Priority
 * and Fairness rejects requests over its capacity with 429 TooManyRequests and `Retry-After: 1` before running
 * them. Simplified to one token bucket per server (rate = the limit, burst = one second's worth). As in APF,
 * some requests are exempt: group system:masters (the `exempt` priority level, so setup as admin is not
 * throttled), watches (long-running requests are not counted against the limit) and health probes.
 */
import { ApiError } from './status.ts';

export interface RequestRateLimit {
  /** null when the request may run; otherwise the 429 to answer. */
  admit(user: { groups?: readonly string[] }, verb: string, path: string): ApiError | null;
}

const PROBES = new Set(['/healthz', '/livez', '/readyz']);

export function requestRateLimit(perSecond: number, now: () => number = () => performance.now()): RequestRateLimit {
  if (!(perSecond > 0)) throw new Error(`maxRequestsPerSecond: must be a number > 0, got ${perSecond}`);
  const burst = Math.max(1, Math.ceil(perSecond));
  let tokens = burst;
  let last = now();
  return {
    admit(user, verb, path) {
      if (user.groups?.includes('system:masters') || verb === 'watch' || PROBES.has(path)) return null;
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) * perSecond) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return null;
      }
      // kube-apiserver's text and shape for an APF rejection.
      return new ApiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
    },
  };
}
