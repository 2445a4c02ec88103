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
}

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
          signal: AbortSignal.timeout(timeoutMs),
          ...(target.ca ? { ca: target.ca } : {}),
        };
        await target.prepare(ro);
        const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = (tls ? httpsRequest : httpRequest)(ro, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          });
          req.on('error', reject);
          req.end(body);
        });
        if (status >= 400) throw new KubeHttpError(status, text);
        return (text ? JSON.parse(text) : undefined) as T;
      } catch (err) {
        throw translateKubeError(err, o.describe);
      }
    },
  };
}
