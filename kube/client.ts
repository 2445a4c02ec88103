/**
 * A Kube: the API clients ripple uses for one cluster, over the plain JSON request path (./http.ts), with
 * - a timeout on every request,
 * - `fieldManager=ripple` on every write (POST/PUT/PATCH) that does not name one,
 * - errors translated at the edge (./errors.ts): every method of core/apps throws RippleErrors.
 * Nothing here loads @kubernetes/client-node (its types only): the Lambda bundles do not contain it. Kubes over
 * a kubeconfig, with client-node's full typed APIs, come from ./kubeconfig.ts (local runs, CLI, tests).
 */
import { httpRawApi, type HttpTarget, type KubeOptions, type RawApi } from './http.ts';
import { translateKubeError, type RequestDescription } from './errors.ts';
import { appsApi, coreApi, type AppsApi, type CoreApi } from './typed.ts';

export type { KubeOptions, RawApi } from './http.ts';
export type { AppsApi, CoreApi } from './typed.ts';

export interface Kube {
  cluster: string;
  /** The typed calls the handlers make (a subset of client-node's CoreV1Api; plain JSON answers). */
  core: CoreApi;
  /** The typed calls the handlers make (a subset of client-node's AppsV1Api; plain JSON answers). */
  apps: AppsApi;
  /** Untyped JSON requests for hot paths (large lists, writes whose answer is barely read). */
  raw: RawApi;
}

/** A Kube over one API server (EKS: endpoint + CA + bearer token). */
export function kubeOverHttp(cluster: string, target: HttpTarget, opts: KubeOptions = {}): Kube {
  const raw = httpRawApi(target, opts);
  return { cluster, core: coreApi(raw), apps: appsApi(raw), raw };
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
