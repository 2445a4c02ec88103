/**
 * Translate what the Kubernetes API (via @kubernetes/client-node) throws into ripple's errors, at the edge:
 * 409 -> ConflictError (re-read and retry), 404 -> NotFoundError, 410 -> ExpiredError (relist), 429/5xx/timeouts/connection resets ->
 * RetryableError, 403 -> PermanentError naming the verb and resource (an RBAC gap is obvious from the log),
 * other 4xx -> PermanentError. Only the server's Status message is kept (it names objects and fields, never
 * data); ApiException's own message (headers, whole body) is dropped.
 */
import { ConflictError, PermanentError, RetryableError, RippleError } from '../core/errors.ts';

/** The object is not there (HTTP 404). Callers that expect absence use `orNull()`. */
export class NotFoundError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/** RBAC denied a request (HTTP 403). Permanent: retrying will not grant the permission. */
export class ForbiddenError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

/**
 * The resourceVersion or continue token is too old (HTTP 410 Gone, also as a watch ERROR line): list again. For an
 * expired continue token the API server's Status may carry `continueToken`: it lists the rest of the keys as they
 * are now (an inconsistent continuation, kube-apiserver's remedy for a paged list outliving compaction).
 */
export class ExpiredError extends PermanentError {
  readonly continueToken: string | undefined;
  constructor(message: string, options?: { cause?: unknown; continueToken?: string }) {
    super(message, options);
    this.name = 'ExpiredError';
    this.continueToken = options?.continueToken;
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || statusCode(err) === 404;
}

/** Resolve to null on 404, rethrow anything else. */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** What a request was about, for messages: `update secrets team-a/blogsecret`. */
export interface RequestDescription {
  verb: string;
  resource: string;
  namespace?: string;
  name?: string;
}

export function describe(d: RequestDescription): string {
  const where = d.namespace ? `${d.namespace}/${d.name ?? ''}` : (d.name ?? '');
  return `${d.verb} ${d.resource}${where ? ` ${where.replace(/\/$/, '')}` : ''}`;
}

const PATH_VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/**
 * A RequestDescription read from a request's method and path (`/api/v1/namespaces/ns/secrets/name`,
 * `/apis/coordination.k8s.io/v1/namespaces/ns/leases`, `/api/v1/namespaces`): for callers that do not describe
 * their requests themselves.
 */
export function describePath(method: string, path: string, query?: Record<string, unknown>): RequestDescription {
  const parts = path.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  let rest = parts[0] === 'api' ? parts.slice(2) : parts[0] === 'apis' ? parts.slice(3) : parts;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resource = path, name, sub] = rest;
  const verb = method === 'GET' ? (name === undefined ? (query?.watch ? 'watch' : 'list') : 'get') : method === 'DELETE' && name === undefined ? 'deletecollection' : (PATH_VERBS[method] ?? method.toLowerCase());
  return { verb, resource: sub ? `${resource}/${sub}` : resource, ...(namespace !== undefined ? { namespace } : {}), ...(name !== undefined ? { name } : {}) };
}

function statusCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
}

function statusMessage(err: unknown): { message?: string; reason?: string; continueToken?: string } {
  let body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      body = undefined;
    }
  }
  if (body && typeof body === 'object' && (body as { kind?: string }).kind === 'Status') {
    const s = body as { message?: unknown; reason?: unknown; metadata?: { continue?: unknown } };
    const token = s.metadata?.continue;
    return {
      message: typeof s.message === 'string' ? s.message : undefined,
      reason: typeof s.reason === 'string' ? s.reason : undefined,
      ...(typeof token === 'string' && token ? { continueToken: token } : {}),
    };
  }
  return {};
}

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED']);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  if (err instanceof TypeError && /fetch failed/.test(err.message)) return 'fetch failed';
  return undefined;
}

/** Map any error from a Kubernetes request to a RippleError. RippleErrors pass through unchanged. */
export function translateKubeError(err: unknown, d: RequestDescription): RippleError {
  if (err instanceof RippleError) return err;
  const what = describe(d);
  const code = statusCode(err);
  if (code !== undefined && code >= 100) {
    const { message, reason, continueToken } = statusMessage(err);
    const detail = message ?? reason ?? `HTTP ${code}`;
    if (code === 409) return new ConflictError(`${what}: conflict (${detail})`, { cause: err });
    if (code === 404) return new NotFoundError(`${what}: not found${d.verb === 'create' && message ? ` (${message})` : ''}`, { cause: err });
    if (code === 410) return new ExpiredError(`${what}: expired (${detail}); list again`, { cause: err, ...(continueToken ? { continueToken } : {}) });
    if (code === 403) {
      // Not every 403 is RBAC: the API server also answers 403 to creates in a terminating namespace.
      const hint = /being terminated/.test(detail) ? '' : ` (grant "${d.verb}" on "${d.resource}" to ripple's ClusterRole)`;
      return new ForbiddenError(`${what}: forbidden: ${detail}${hint}`, { cause: err });
    }
    if (code === 429 || code >= 500) return new RetryableError(`${what}: HTTP ${code} (${detail})`, { cause: err });
    if (code === 401) return new RetryableError(`${what}: unauthorized (credentials expired or not accepted): ${detail}`, { cause: err });
    return new PermanentError(`${what}: HTTP ${code} (${detail})`, { cause: err });
  }
  const net = networkCode(err);
  if (net) return new RetryableError(`${what}: ${net === 'timeout' ? 'request timed out' : `network error ${net}`}`, { cause: err });
  return new RetryableError(`${what}: ${err instanceof Error ? err.name : 'error'}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, { cause: err });
}
