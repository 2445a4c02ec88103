/**
 * The few typed Kubernetes calls the handlers make, over the plain JSON path (./http.ts): the method names and
 * parameters of client-node's CoreV1Api / AppsV1Api (a `Pick` of them, so a client-node API object fits too),
 * answers as plain JSON typed with client-node's types (`import type`: nothing of client-node is bundled).
 * Differences from client-node's model decoding: timestamps stay strings; a list's `metadata.continue` is also
 * given as `_continue`, the name client-node's models use.
 */
import type { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import type { RawApi } from './http.ts';

export type CoreApi = Pick<
  CoreV1Api,
  | 'readNamespace'
  | 'listNamespace'
  | 'readNamespacedSecret'
  | 'readNamespacedConfigMap'
  | 'createNamespacedSecret'
  | 'createNamespacedConfigMap'
  | 'replaceNamespacedSecret'
  | 'replaceNamespacedConfigMap'
  | 'deleteNamespacedSecret'
  | 'deleteNamespacedConfigMap'
  | 'listSecretForAllNamespaces'
  | 'listConfigMapForAllNamespaces'
  | 'listNamespacedSecret'
  | 'listNamespacedConfigMap'
  | 'createNamespacedEvent'
>;

export type AppsApi = Pick<AppsV1Api, 'listNamespacedDeployment' | 'listNamespacedStatefulSet' | 'listNamespacedDaemonSet'>;

type Params = Record<string, unknown> & { name?: string; namespace?: string; body?: unknown };

/** Query parameters client-node would send: every scalar parameter but name/namespace/body, `_continue` as `continue`. */
function queryOf(p: Params): Record<string, string> {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'name' || k === 'namespace' || k === 'body' || v === undefined || v === null) continue;
    q[k === '_continue' ? 'continue' : k] = String(v);
  }
  return q;
}

const seg = encodeURIComponent;

/** `metadata.continue` also as `_continue` (what code written against client-node's models reads). */
function listAnswer<T extends { metadata?: { continue?: string; _continue?: string } }>(list: T): T {
  if (list?.metadata?.continue !== undefined) list.metadata._continue = list.metadata.continue;
  return list;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Verb = 'get' | 'list' | 'create' | 'update' | 'delete';
const METHOD: Record<Verb, Method> = { get: 'GET', list: 'GET', create: 'POST', update: 'PUT', delete: 'DELETE' };

/** One call: `verb` on `resource` under `prefix` (namespaced when the parameters carry a namespace). */
function call(raw: RawApi, prefix: string, resource: string, verb: Verb, opts: { namespaced: boolean; named: boolean }) {
  return async (p: Params = {}) => {
    let path = prefix;
    if (opts.namespaced) path += `/namespaces/${seg(String(p.namespace ?? ''))}`;
    path += `/${resource}`;
    if (opts.named) path += `/${seg(String(p.name ?? ''))}`;
    const answer = await raw.request<Record<string, unknown>>(METHOD[verb], path, {
      describe: { verb, resource, namespace: opts.namespaced ? p.namespace : undefined, name: opts.named ? p.name : undefined },
      query: queryOf(p),
      body: p.body,
    });
    return verb === 'list' ? listAnswer(answer as { metadata?: { continue?: string } }) : answer;
  };
}

export function coreApi(raw: RawApi): CoreApi {
  const c = (resource: string, verb: Verb, namespaced: boolean, named: boolean) => call(raw, '/api/v1', resource, verb, { namespaced, named });
  return {
    readNamespace: c('namespaces', 'get', false, true),
    listNamespace: c('namespaces', 'list', false, false),
    readNamespacedSecret: c('secrets', 'get', true, true),
    readNamespacedConfigMap: c('configmaps', 'get', true, true),
    createNamespacedSecret: c('secrets', 'create', true, false),
    createNamespacedConfigMap: c('configmaps', 'create', true, false),
    replaceNamespacedSecret: c('secrets', 'update', true, true),
    replaceNamespacedConfigMap: c('configmaps', 'update', true, true),
    deleteNamespacedSecret: c('secrets', 'delete', true, true),
    deleteNamespacedConfigMap: c('configmaps', 'delete', true, true),
    listSecretForAllNamespaces: c('secrets', 'list', false, false),
    listConfigMapForAllNamespaces: c('configmaps', 'list', false, false),
    listNamespacedSecret: c('secrets', 'list', true, false),
    listNamespacedConfigMap: c('configmaps', 'list', true, false),
    createNamespacedEvent: c('events', 'create', true, false),
  } as unknown as CoreApi;
}

export function appsApi(raw: RawApi): AppsApi {
  const a = (resource: string) => call(raw, '/apis/apps/v1', resource, 'list', { namespaced: true, named: false });
  return {
    listNamespacedDeployment: a('deployments'),
    listNamespacedStatefulSet: a('statefulsets'),
    listNamespacedDaemonSet: a('daemonsets'),
  } as unknown as AppsApi;
}
