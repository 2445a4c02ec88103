/**
 * The one Kubernetes HTTP client (handlers, forwarder, CLI), over node:http(s) without @kubernetes/client-node:
 * one keep-alive Agent per cluster (TLS verified against the cluster CA), a timeout on every request,
 * `fieldManager=ripple` on every write that does not name one, the answer as plain JSON (only the object's metadata
 * when the caller discards it), errors translated at the edge (./errors.ts). `prepare` adds authentication (and,
 * for kubeconfigs, TLS material) to each request.
 *
 * `watch` is a streaming GET that reads one line at a time and awaits the consumer before reading on, so a slow
 * consumer slows the TCP stream instead of buffering events in memory. Watches are long-lived and aborted
 * mid-body: they get a connection of their own (not the keep-alive pool) and no request timeout.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { finished } from 'node:stream/promises';
import { FIELD_MANAGER } from '../core/constants.ts';
import { describePath, translateKubeError, type RequestDescription } from './errors.ts';
import { retryAfterMs, tokenBucket, type RateLimit } from './rate.ts';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** Query parameters; undefined and '' values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

export interface RawRequestOptions {
  /** What the request is about, for error messages (default: read from method and path). */
  describe?: RequestDescription;
  query?: Query;
  body?: unknown;
  contentType?: string;
  /** Aborts the request (on top of the per-request timeout). */
  signal?: AbortSignal;
  /**
   * The caller does not use a successful answer (a write on a fan-out's hot path: a patched Deployment is ~4 KB
   * of JSON): its body is drained, never decoded or parsed, and the request resolves to undefined. Error answers
   * are read as always. The server is asked for the object's metadata only (METADATA_ONLY_ACCEPT), so a written
   * Secret's data does not come back over the wire; a server that does not know that answers plain JSON.
   */
  discardAnswer?: boolean;
}

/** One line of a watch stream. */
export interface WatchLine {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR' | string;
  object: any;
}

/**
 * Plain JSON requests and streaming watches: same authentication, timeout, field manager and error translation
 * as every Kubernetes call ripple makes; the answer is plain JSON (timestamps stay strings).
 */
export interface RawApi {
  request<T = unknown>(method: Method, path: string, opts?: RawRequestOptions): Promise<T>;
  /**
   * Streaming watch GET (`watch=true` added): resolves when the server ends the stream; each parsed line is
   * awaited before the next is read. HTTP and connection errors arrive as RippleErrors (./errors.ts); errors
   * thrown by `onLine` pass through unchanged.
   */
  watch(path: string, query: Query | undefined, onLine: (line: WatchLine) => unknown, signal: AbortSignal): Promise<void>;
}

export interface KubeOptions {
  /** Per-request timeout (default 10 s); watches have none. */
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

/**
 * The Accept header of a request whose answer is discarded: metadata only (`PartialObjectMetadata`, as client-go's
 * metadata client asks), else, from a server that does not serve it, plain JSON (the list's second entry).
 */
export const METADATA_ONLY_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * The Accept header of one request: metadata only for a discarded answer of one object (not a list or a
 * deletecollection, which would be 406 asked that way, the latter after deleting; not a GET, pointless discarded).
 */
function acceptFor(method: Method, path: string, o: RawRequestOptions): string {
  if (!o.discardAnswer || method === 'GET') return 'application/json';
  if (method === 'DELETE' && describePath(method, path).verb === 'deletecollection') return 'application/json';
  return METADATA_ONLY_ACCEPT;
}
/** Error bodies are read up to this many characters (a Status is small; a proxy's HTML page need not be kept). */
const ERROR_BODY_LIMIT = 1 << 16;

async function readBody(res: IncomingMessage, limit = Infinity): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(c);
    size += c.length;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return limit === Infinity ? text : text.slice(0, limit);
}

/**
 * Deliver a watch body line by line, awaiting `onLine` before reading on. Errors thrown by `onLine` are marked
 * (`consumer`) so the caller can tell them from the connection's.
 */
async function streamLines(res: IncomingMessage, onLine: (line: WatchLine) => unknown, consumer: { err?: unknown }): Promise<void> {
  res.setEncoding('utf8');
  // Errors (abort, reset) surface through the iteration below; never as an unhandled 'error' event.
  res.on('error', () => {});
  const deliver = async (line: string) => {
    const parsed = JSON.parse(line) as WatchLine;
    try {
      await onLine(parsed);
    } catch (err) {
      consumer.err = err;
      throw err;
    }
  };
  let buf = '';
  for await (const chunk of res as AsyncIterable<string>) {
    buf += chunk;
    let start = 0;
    let nl: number;
    while ((nl = buf.indexOf('\n', start)) >= 0) {
      const line = buf.slice(start, nl);
      start = nl + 1;
      if (line.trim() !== '') await deliver(line);
    }
    buf = buf.slice(start);
  }
  if (buf.trim() !== '') await deliver(buf);
}

/** One cluster's connection settings: where, how (TLS), and the keep-alive pool. */
interface Connection {
  target: HttpTarget;
  base: URL;
  basePath: string;
  tls: boolean;
  agent: HttpAgent;
  /** The server's host (IPv6 without brackets) and port, for every request's options. */
  hostname: string;
  port: string | undefined;
}

/**
 * The request target (path and query string) of one request, with `fieldManager=ripple` on writes that name
 * none. Built as a string (a URL object per request is measurable on a fan-out's hot path); a path that already
 * carries a query string goes through URL.
 */
export function requestTarget(basePath: string, path: string, query: Query | undefined, method: Method): string {
  const write = WRITE_METHODS.has(method);
  if (path.includes('?') || path.includes('#')) {
    const url = new URL(basePath + path, 'http://x');
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    if (write && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', FIELD_MANAGER);
    return url.pathname + url.search;
  }
  let search = '';
  let manager = false;
  for (const k in query) {
    const v = query[k];
    if (v === undefined || v === '') continue;
    if (k === 'fieldManager') manager = true;
    search += `${search ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
  }
  if (write && !manager) search += `${search ? '&' : '?'}fieldManager=${encodeURIComponent(FIELD_MANAGER)}`;
  return basePath + path + search;
}

/** Send one request; resolves with the response head (the body still to be read). */
async function open(c: Connection, method: Method, path: string, o: RawRequestOptions, stream: boolean, signal: AbortSignal | undefined): Promise<IncomingMessage> {
  const { target, base, basePath, tls, agent } = c;
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  const headers: Record<string, string> = { Accept: acceptFor(method, path, o) };
  if (body !== undefined) {
    headers['Content-Type'] = o.contentType ?? 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(body));
  }
  const ro: PreparedOptions = {
    method,
    protocol: base.protocol,
    hostname: c.hostname,
    port: c.port,
    path: requestTarget(basePath, path, o.query, method),
    headers,
    // A watch gets a connection of its own (agent: false): it is long-lived and aborted mid-body.
    agent: stream ? false : agent,
    ...(signal ? { signal } : {}),
    ...(target.ca ? { ca: target.ca } : {}),
  };
  await target.prepare(ro);
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = (tls ? httpsRequest : httpRequest)(ro, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

export function httpRawApi(target: HttpTarget, opts: KubeOptions = {}): RawApi {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const base = new URL(target.server.replace(/\/$/, ''));
  const tls = base.protocol === 'https:';
  // One pool per cluster: connections (and TLS sessions) are reused across requests and invocations.
  const agent = tls ? new HttpsAgent({ keepAlive: true, ...(target.ca ? { ca: target.ca } : {}) }) : new HttpAgent({ keepAlive: true });
  const basePath = base.pathname === '/' ? '' : base.pathname;
  const conn: Connection = { target, base, basePath, tls, agent, hostname: base.hostname.replace(/^\[|\]$/g, ''), port: base.port || undefined };
  const bucket = tokenBucket(opts.rateLimit ?? { perSecond: 0 });
  const max429 = opts.max429Retries ?? 6;
  const capMs = opts.maxRetryAfterMs ?? 10_000;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  /**
   * One attempt: status, body and Retry-After. The timeout (and the caller's signal) cover the whole exchange,
   * body included, and are released with it: nothing of a finished request stays referenced by a pending timer.
   * Authentication is applied per attempt (a token may rotate between retries).
   */
  async function exchange(method: Method, path: string, o: RawRequestOptions): Promise<{ status: number; text: string; retryAfter: string | string[] | undefined }> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    const onAbort = () => ctl.abort(o.signal!.reason);
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await open(conn, method, path, o, false, ctl.signal);
      const status = res.statusCode ?? 0;
      if (o.discardAnswer && status < 400) {
        res.resume();
        await finished(res);
        return { status, text: '', retryAfter: undefined };
      }
      const text = await readBody(res, status >= 400 && status !== 429 ? ERROR_BODY_LIMIT : Infinity);
      return { status, text, retryAfter: res.headers['retry-after'] };
    } finally {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    async request<T>(method: Method, path: string, o: RawRequestOptions = {}): Promise<T> {
      try {
        for (let attempt = 0; ; attempt++) {
          await bucket.take();
          const { status, text, retryAfter } = await exchange(method, path, o);
          // 429: the server did not run the request (APF rejects before executing), so retrying a write is safe.
          if (status === 429 && attempt < max429) {
            const wait = retryAfterMs(retryAfter, text, capMs);
            // the whole client waits (the bucket pauses), not only this request: see TokenBucket.pause
            bucket.pause(wait);
            await sleep(wait * (1 + Math.random() * 0.2));
            continue;
          }
          if (status >= 400) throw new KubeHttpError(status, text);
          return (text ? JSON.parse(text) : undefined) as T;
        }
      } catch (err) {
        throw translateKubeError(err, o.describe ?? describePath(method, path, o.query));
      }
    },

    async watch(path, query, onLine, signal) {
      const consumer: { err?: unknown } = {};
      try {
        const res = await open(conn, 'GET', path, { query: { ...query, watch: 'true' } }, true, signal);
        if (res.statusCode !== 200) throw new KubeHttpError(res.statusCode ?? 0, await readBody(res, ERROR_BODY_LIMIT));
        await streamLines(res, onLine, consumer);
      } catch (err) {
        if ('err' in consumer) throw consumer.err;
        throw translateKubeError(err, { ...describePath('GET', path, query), verb: 'watch' });
      }
    },
  };
}
