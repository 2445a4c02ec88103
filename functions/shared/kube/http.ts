/**
 * The JSON request path to a Kubernetes API server over node:http(s), without @kubernetes/client-node: one
 * keep-alive Agent per cluster (TLS verified against the cluster CA), a timeout on every request,
 * `fieldManager=ripple` on every write that does not name one, the answer as plain JSON, errors translated at
 * the edge (./errors.ts). `prepare` adds authentication (and, for kubeconfigs, TLS material) to each request.
 */
import { Agent as HttpAgent, request as httpRequest, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { FIELD_MANAGER } from '../constants.ts';
import { translateKubeError, type RequestDescription } from './errors.ts';
import { retryAfterMs, tokenBucket, type RateLimit } from './rate.ts';

/**
 * Plain JSON requests: same authentication, timeout, field manager and error translation as every Kubernetes
 * call ripple makes; the answer is plain JSON (timestamps stay strings).
 */
export interface RawApi {
  request<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: { describe: RequestDescription; query?: Record<string, string>; body?: unknown; contentType?: string },
  ): Promise<T>;
}

export interface KubeOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /**
   * Client-side rate limit for this cluster (token bucket; perSecond 0 = off). Absent: off. The handlers' Kubes
   * (kube/index.ts) always pass the runtime config's, whose default is DEFAULT_RATE_LIMIT; the CLI and tests
   * leave it off.
   */
  rateLimit?: RateLimit;
  /**
   * A 429 (API Priority and Fairness, or a proxy) is retried inside the invocation after its Retry-After, up to
   * this many times (default 6), each wait at most `maxRetryAfterMs` (default 10 s); then it is a RetryableError.
   */
  max429Retries?: number;
  maxRetryAfterMs?: number;
  /** Waits between 429 retries (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Default client-side limit per cluster and Lambda container: 100 requests/s, bursts of 200. client-go's default
 * (5/s, burst 10) is sized for one controller among many; ripple's handlers run a few at a time and write in
 * bursts, and EKS's API Priority and Fairness answers 429 (honoured below) when the control plane is busy.
 */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 100, burst: 200 };

/** Request options a `prepare` step may fill in: headers (Authorization), TLS material, servername. */
export type PreparedOptions = RequestOptions & { headers: Record<string, string>; ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean; servername?: string };

export interface HttpTarget {
  /** API server URL, e.g. https://ABC.gr7.eu-west-1.eks.amazonaws.com */
  server: string;
  /** PEM CA bundle the server certificate must chain to (absent: the system roots). */
  ca?: string | Buffer;
  /** Adds authentication (and TLS options) to one request; called for every request (tokens rotate). */
  prepare(opts: PreparedOptions): Promise<void>;
}

/** An HTTP answer with status >= 400, shaped as errors.ts reads it (`code`, Status `body`). */
export class KubeHttpError extends Error {
  readonly code: number;
  readonly body: string;
  constructor(code: number, body: string) {
    super(`HTTP ${code}`);
    this.name = 'KubeHttpError';
    this.code = code;
    this.body = body;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export function httpRawApi(target: HttpTarget, opts: KubeOptions = {}): RawApi {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const base = new URL(target.server.replace(/\/$/, ''));
  const tls = base.protocol === 'https:';
  // One pool per cluster: connections (and TLS sessions) are reused across requests and invocations.
  const agent = tls ? new HttpsAgent({ keepAlive: true, ...(target.ca ? { ca: target.ca } : {}) }) : new HttpAgent({ keepAlive: true });
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const bucket = tokenBucket(opts.rateLimit ?? { perSecond: 0 });
  const max429 = opts.max429Retries ?? 6;
  const capMs = opts.maxRetryAfterMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  return {
    async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, o: { describe: RequestDescription; query?: Record<string, string>; body?: unknown; contentType?: string }): Promise<T> {
      try {
        const url = new URL(basePath + path, base.origin);
        for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
        if (WRITE_METHODS.has(method) && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', FIELD_MANAGER);
        const body = o.body === undefined ? undefined : JSON.stringify(o.body);
        const headers: Record<string, string> = { Accept: 'application/json' };
        if (body !== undefined) {
          headers['Content-Type'] = o.contentType ?? 'application/json';
          headers['Content-Length'] = String(Buffer.byteLength(body));
        }
        const ro: PreparedOptions = {
          method,
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || undefined,
          path: url.pathname + url.search,
          headers,
          agent,
          ...(target.ca ? { ca: target.ca } : {}),
        };
        for (let attempt = 0; ; attempt++) {
          await bucket.take();
          // A fresh timeout per attempt; authentication is re-applied (a token may rotate between attempts).
          const attemptOpts: PreparedOptions = { ...ro, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
          await target.prepare(attemptOpts);
          const { status, text, retryAfter } = await new Promise<{ status: number; text: string; retryAfter: string | string[] | undefined }>((resolve, reject) => {
            const req = (tls ? httpsRequest : httpRequest)(attemptOpts, (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] }));
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end(body);
          });
          // 429: the server did not run the request (APF rejects before executing), so retrying a write is safe.
          if (status === 429 && attempt < max429) {
            await sleep(retryAfterMs(retryAfter, text, capMs) * (1 + Math.random() * 0.2));
            continue;
          }
          if (status >= 400) throw new KubeHttpError(status, text);
          return (text ? JSON.parse(text) : undefined) as T;
        }
      } catch (err) {
        throw translateKubeError(err, o.describe);
      }
    },
  };
}
