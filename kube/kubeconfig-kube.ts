/**
 * A Kube over a client-node KubeConfig (embedded cluster, a kubeconfig file with any auth client-node supports,
 * exec credential plugins included): the handlers' plain JSON path (./http.ts) authenticated by the kubeconfig,
 * plus client-node's full typed APIs (`kc`, `core`, `apps`, `objects`) for the CLI and tests.
 *
 * The client-node module is a parameter (`cn`), never a static import here: the handlers load it with a dynamic
 * `import('@kubernetes/client-node')` on the RIPPLE_KUBECONFIG branch only (./index.ts), which esbuild leaves
 * as a dynamic import of an external package; the Lambda bundles leave the package out (serverless.yml). The
 * CLI and tests use ./kubeconfig.ts, which imports it statically.
 */
import type { AppsV1Api, Configuration, CoreV1Api, KubeConfig, KubernetesObjectApi, Observable, RequestContext, ResponseContext } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../core/constants.ts';
import { translating, type Kube } from './client.ts';
import { httpRawApi, type KubeOptions, type PreparedOptions, type RawApi } from './http.ts';

export type ClientNode = typeof import('@kubernetes/client-node');

export interface KubeconfigKube extends Kube {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** client-node middleware: request timeout + default field manager. */
function rippleRequestMiddleware(cn: ClientNode, timeoutMs: number) {
  const of = <T>(v: T): Observable<T> => new cn.Observable(Promise.resolve(v));
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

export function apiConfiguration(cn: ClientNode, kc: KubeConfig, opts: KubeOptions = {}): Configuration {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  return cn.createConfiguration({
    baseServer: new cn.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    middleware: [rippleRequestMiddleware(cn, opts.timeoutMs ?? 10_000)],
  });
}

/**
 * client-node 2 builds a NEW undici Agent for every request when TLS options (a CA, client certs) are set: one
 * TCP + TLS handshake per request, and agents never closed. Keep one per cluster server.
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

const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername', 'auth'] as const;

/** The kubeconfig's authentication and TLS material for one request (exec plugins, tokens, client certs). */
async function prepareFrom(kc: KubeConfig, ro: PreparedOptions): Promise<void> {
  const o: Record<string, unknown> & { headers?: Record<string, string> } = {};
  // applyToHTTPSOptions minus the per-call Agent it builds (this path keeps one keep-alive Agent per cluster).
  const k = kc as unknown as { applyOptions?: (o: object) => Promise<void> };
  if (typeof k.applyOptions === 'function') await k.applyOptions.call(kc, o);
  else await kc.applyToHTTPSOptions(o);
  if (kc.getCurrentUser()?.username) o.auth = `${kc.getCurrentUser()!.username}:${kc.getCurrentUser()!.password}`;
  Object.assign(ro.headers, o.headers ?? {});
  for (const f of TLS_FIELDS) if (o[f] !== undefined) (ro as unknown as Record<string, unknown>)[f] = o[f];
}

/** The one JSON/watch client (./http.ts) authenticated by a KubeConfig (the forwarder's only door to the API server). */
export function kubeconfigRawApi(kc: KubeConfig, opts: KubeOptions = {}): RawApi {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig: no current cluster; set current-context');
  return httpRawApi({ server, prepare: (ro) => prepareFrom(kc, ro) }, opts);
}

/** Build a Kube over a KubeConfig (embedded cluster, a kubeconfig file). */
export function kubeconfigKube(cn: ClientNode, kc: KubeConfig, cluster = kc.getCurrentCluster()?.name ?? 'local', opts: KubeOptions = {}): KubeconfigKube {
  reuseDispatcher(kc);
  const config = apiConfiguration(cn, kc, opts);
  const objects = new cn.KubernetesObjectApi(config);
  (objects as unknown as { setDefaultNamespace(kc: KubeConfig): string }).setDefaultNamespace(kc);
  return {
    cluster,
    kc,
    core: translating(new cn.CoreV1Api(config)),
    apps: translating(new cn.AppsV1Api(config)),
    objects: translating(objects),
    raw: kubeconfigRawApi(kc, opts),
  };
}

/** A kubeconfig file, in the context named like `cluster` if there is one, else its current context. */
export function kubeFromKubeconfigFile(cn: ClientNode, path: string, cluster: string, opts: KubeOptions = {}, cache: { file?: KubeConfig } = {}): KubeconfigKube {
  if (!cache.file) {
    const file = new cn.KubeConfig();
    file.loadFromFile(path);
    cache.file = file;
  }
  const fileConfig = cache.file;
  const kc = new cn.KubeConfig();
  kc.loadFromOptions({
    clusters: fileConfig.clusters,
    users: fileConfig.users,
    contexts: fileConfig.contexts,
    currentContext: fileConfig.contexts.some((c) => c.name === cluster) ? cluster : fileConfig.currentContext,
  });
  return kubeconfigKube(cn, kc, cluster, opts);
}
