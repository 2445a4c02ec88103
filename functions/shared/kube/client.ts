/**
 * A Kube: the API clients ripple uses for one cluster, built from a client-node KubeConfig, with
 * - a timeout on every request (AbortSignal),
 * - `fieldManager=ripple` on every write (POST/PUT/PATCH) that does not name one,
 * - errors translated at the edge (./errors.ts): every method of core/apps/objects throws RippleErrors.
 */
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  ServerConfiguration,
  createConfiguration,
  type Configuration,
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  Observable,
  type ResponseContext,
} from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../constants.ts';
import { translateKubeError, type RequestDescription } from './errors.ts';

/**
 * Requests whose JSON answer is parsed with plain JSON.parse instead of client-node's model decoder
 * (ObjectSerializer walks every field of every item with its type table: for an all-namespaces list of 2,000
 * Deployments that is most of the client's CPU). Same authentication, dispatcher, timeout, field manager
 * and error translation as the typed APIs; the answer is plain JSON (timestamps stay strings).
 */
export interface RawApi {
  request<T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    opts: { describe: RequestDescription; query?: Record<string, string>; body?: unknown; contentType?: string },
  ): Promise<T>;
}

export interface Kube {
  cluster: string;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
  /** Untyped JSON requests for hot paths (large lists, writes whose answer is barely read). */
  raw: RawApi;
}

export interface KubeOptions {
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** client-node middleware: request timeout + default field manager. */
function rippleRequestMiddleware(timeoutMs: number) {
  const of = <T>(v: T): Observable<T> => new Observable(Promise.resolve(v));
  return {
    pre(request: RequestContext): Observable<RequestContext> {
      request.setSignal(AbortSignal.timeout(timeoutMs));
      if (WRITE_METHODS.has(String(request.getHttpMethod())) && !new URL(request.getUrl()).searchParams.has('fieldManager')) {
        request.setQueryParam('fieldManager', FIELD_MANAGER);
      }
      return of(request);
    },
    post(response: ResponseContext): Observable<ResponseContext> {
      return of(response);
    },
  };
}

const VERBS: [RegExp, string][] = [
  [/^deleteCollection/, 'deletecollection'],
  [/^read/, 'get'],
  [/^list/, 'list'],
  [/^create/, 'create'],
  [/^replace/, 'update'],
  [/^patch/, 'patch'],
  [/^delete/, 'delete'],
];

function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith('s')) return `${lower}es`;
  if (lower.endsWith('y')) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** `replaceNamespacedSecret({ name, namespace })` -> update secrets ns/name (good enough for messages). */
export function describeCall(method: string, args: unknown[]): RequestDescription {
  const first = (args[0] ?? {}) as Record<string, unknown>;
  // KubernetesObjectApi: first arg is the object itself.
  if (typeof first.kind === 'string' && first.metadata && typeof first.metadata === 'object') {
    const md = first.metadata as { name?: string; namespace?: string };
    const verb = VERBS.find(([re]) => re.test(method))?.[1] ?? method;
    return { verb: method === 'read' ? 'get' : verb, resource: plural(first.kind), namespace: md.namespace, name: md.name };
  }
  let verb = method;
  let rest = method;
  for (const [re, v] of VERBS) {
    if (re.test(method)) {
      verb = v;
      rest = method.replace(re, '');
      break;
    }
  }
  rest = rest.replace(/^Namespaced/, '').replace(/ForAllNamespaces$/, '');
  const sub = /(Status|Scale|Log|Eviction)$/.exec(rest);
  if (sub && rest !== sub[1]) rest = rest.slice(0, -sub[1].length);
  const resource = plural(rest) + (sub && rest !== sub[1] ? `/${sub[1].toLowerCase()}` : '');
  return {
    verb,
    resource,
    namespace: typeof first.namespace === 'string' ? first.namespace : undefined,
    name: typeof first.name === 'string' ? first.name : undefined,
  };
}

/** Wrap an API object so every async method translates its errors. */
export function translating<T extends object>(api: T): T {
  return new Proxy(api, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'constructor') return value;
      return (...args: unknown[]) => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          throw translateKubeError(err, describeCall(prop, args));
        }
        if (result && typeof (result as Promise<unknown>).then === 'function') {
          return (result as Promise<unknown>).then(undefined, (err: unknown) => {
            throw translateKubeError(err, describeCall(prop, args));
          });
        }
        return result;
      };
    },
  });
}

export function apiConfiguration(kc: KubeConfig, opts: KubeOptions = {}): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    middleware: [rippleRequestMiddleware(opts.timeoutMs ?? 10_000)],
  });
}

/**
 * client-node 2 builds a NEW undici Agent for every request when TLS options (a CA, client certs) are set —
 * i.e. against EKS: one TCP + TLS handshake per request, and agents never closed. Keep one per cluster server.
 */
function reuseDispatcher(kc: KubeConfig): void {
  const k = kc as unknown as { createDispatcher(cluster: { server?: string } | null, agentOptions: object): unknown; __rippleDispatchers?: Map<string, unknown> };
  if (k.__rippleDispatchers) return;
  const original = k.createDispatcher.bind(kc);
  const cache = new Map<string, unknown>();
  k.__rippleDispatchers = cache;
  k.createDispatcher = (cluster, agentOptions) => {
    const key = cluster?.server ?? '';
    if (!cache.has(key)) cache.set(key, original(cluster, agentOptions));
    return cache.get(key);
  };
}

const fetchLibrary = new IsomorphicFetchHttpLibrary();

/** The part of undici's Dispatcher API used here (client-node's Agent). */
interface UndiciRequester {
  request(opts: { origin: string; path: string; method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<{
    statusCode: number;
    headers: Record<string, string | string[] | undefined>;
    body: { text(): Promise<string> };
  }>;
}

export function rawApi(kc: KubeConfig, opts: KubeOptions = {}): RawApi {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return {
    async request<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, o: { describe: RequestDescription; query?: Record<string, string>; body?: unknown; contentType?: string }): Promise<T> {
      try {
        const server = kc.getCurrentCluster()?.server;
        if (!server) throw new Error('kubeconfig has no current cluster');
        const url = new URL(server.replace(/\/$/, '') + path);
        for (const [k, v] of Object.entries(o.query ?? {})) url.searchParams.set(k, v);
        if (WRITE_METHODS.has(method) && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', FIELD_MANAGER);
        const ctx = new RequestContext(url.toString(), HttpMethod[method]);
        ctx.setHeaderParam('Accept', 'application/json');
        if (o.body !== undefined) {
          ctx.setHeaderParam('Content-Type', o.contentType ?? 'application/json');
          ctx.setBody(JSON.stringify(o.body));
        }
        ctx.setSignal(AbortSignal.timeout(timeoutMs));
        await kc.applySecurityAuthentication(ctx);
        // The undici dispatcher client-node chose (TLS agent) answers plain requests without fetch's Request/
        // Response/web-stream machinery; without one (plain HTTP, no TLS options) fetch as client-node does.
        const dispatcher = ctx.getDispatcher() as UndiciRequester | undefined;
        let status: number;
        let text: string;
        let headers: Record<string, string>;
        if (typeof dispatcher?.request === 'function') {
          const res = await dispatcher.request({ origin: url.origin, path: url.pathname + url.search, method, headers: ctx.getHeaders(), body: ctx.getBody() as string | undefined, signal: ctx.getSignal() });
          status = res.statusCode;
          text = await res.body.text();
          headers = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')]));
        } else {
          const res = await fetchLibrary.send(ctx).toPromise();
          status = res.httpStatusCode;
          text = await res.body.text();
          headers = res.headers;
        }
        if (status >= 400) throw new ApiException(status, `HTTP ${status}`, text, headers);
        return (text ? JSON.parse(text) : undefined) as T;
      } catch (err) {
        throw translateKubeError(err, o.describe);
      }
    },
  };
}

/** Build a Kube over a KubeConfig (embedded cluster, a kubeconfig file, or the EKS one from ./index.ts). */
export function kubeFromKubeConfig(kc: KubeConfig, cluster = kc.getCurrentCluster()?.name ?? 'local', opts: KubeOptions = {}): Kube {
  reuseDispatcher(kc);
  const config = apiConfiguration(kc, opts);
  const objects = new KubernetesObjectApi(config);
  (objects as unknown as { setDefaultNamespace(kc: KubeConfig): string }).setDefaultNamespace(kc);
  return {
    cluster,
    kc,
    core: translating(new CoreV1Api(config)),
    apps: translating(new AppsV1Api(config)),
    objects: translating(objects),
    raw: rawApi(kc, opts),
  };
}
