/**
 * The kinds ripple clones are a table: each maps to `{ read, listNamed, create, replace, remove }`; reads over
 * CoreApi, writes as plain JSON requests (`Kube.raw`: a fan-out writes one copy per namespace and never reads
 * the answers, so client-node's model encoding/decoding of each is skipped). The writes discard their answers
 * (`discardAnswer`): the server is asked for the written object's metadata only, so a Secret copy's data is not
 * sent back, and the answer is drained unparsed; error answers are read and translated as always. Adding a kind is
 * one entry. Errors arrive translated (shared/kube).
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { CoreApi, RawApi } from '../runtime/kube.ts';
import { listAll } from '../runtime/kube.ts';
import type { ClonedObject } from './plan.ts';
import type { ObjectKind } from '../../core/constants.ts';

export interface CloneKindOps {
  /** Resource name for RBAC and messages. */
  resource: string;
  read(core: CoreApi, namespace: string, name: string): Promise<ClonedObject>;
  /** Every object of this kind named `name`, in all namespaces. */
  listNamed(core: CoreApi, name: string): Promise<ClonedObject[]>;
  /** One page (limit/continue) of the objects of this kind named `name`, in all namespaces, in namespace order. */
  pageNamed(core: CoreApi, name: string, page: { limit: number; _continue?: string }): Promise<{ items: ClonedObject[]; next?: string }>;
  /** Create a copy (its answer is not read). */
  create(raw: RawApi, namespace: string, body: ClonedObject): Promise<void>;
  /** Replace a copy at the body's resourceVersion (its answer is not read). */
  replace(raw: RawApi, namespace: string, name: string, body: ClonedObject): Promise<void>;
  /** Delete with preconditions (uid, and resourceVersion when given): a changed object is not deleted (409). */
  remove(raw: RawApi, namespace: string, name: string, pre: { uid?: string; resourceVersion?: string }): Promise<void>;
}

const byName = (name: string) => ({ fieldSelector: `metadata.name=${name}` });
const preconditions = (pre: { uid?: string; resourceVersion?: string }) => ({
  preconditions: { ...(pre.uid ? { uid: pre.uid } : {}), ...(pre.resourceVersion ? { resourceVersion: pre.resourceVersion } : {}) },
});
/** A page's items named `name` (a server ignoring the field selector sends others too), the continue token. */
const namedPage = (kind: ObjectKind, name: string) => (res: { items: (V1Secret | V1ConfigMap)[]; metadata?: { _continue?: string } }) => ({
  items: res.items.filter((o) => o.metadata?.name === name).map(withKind(kind)),
  next: res.metadata?._continue || undefined,
});
const withKind = (kind: ObjectKind) => (o: V1Secret | V1ConfigMap): ClonedObject => ({ ...(o as ClonedObject), apiVersion: 'v1', kind });

const ns = (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
/**
 * create / replace / remove of `resource` as plain JSON requests (field manager ripple on writes, via Kube.raw),
 * answers discarded (metadata only on the wire).
 */
function rawWrites(resource: string): Pick<CloneKindOps, 'create' | 'replace' | 'remove'> {
  return {
    create: async (raw, namespace, body) => {
      await raw.request('POST', `${ns(namespace)}/${resource}`, { describe: { verb: 'create', resource, namespace, name: body.metadata?.name }, body, discardAnswer: true });
    },
    replace: async (raw, namespace, name, body) => {
      await raw.request('PUT', `${ns(namespace)}/${resource}/${encodeURIComponent(name)}`, { describe: { verb: 'update', resource, namespace, name }, body, discardAnswer: true });
    },
    remove: async (raw, namespace, name, pre) => {
      await raw.request('DELETE', `${ns(namespace)}/${resource}/${encodeURIComponent(name)}`, { describe: { verb: 'delete', resource, namespace, name }, body: preconditions(pre), discardAnswer: true });
    },
  };
}

export const CLONE_KINDS: Record<ObjectKind, CloneKindOps> = {
  Secret: {
    resource: 'secrets',
    read: async (core, namespace, name) => withKind('Secret')(await core.readNamespacedSecret({ namespace, name })),
    listNamed: async (core, name) => (await listAll((p) => core.listSecretForAllNamespaces({ ...byName(name), ...p }))).filter((o) => o.metadata?.name === name).map(withKind('Secret')),
    pageNamed: async (core, name, p) => namedPage('Secret', name)(await core.listSecretForAllNamespaces({ ...byName(name), ...p })),
    ...rawWrites('secrets'),
  },
  ConfigMap: {
    resource: 'configmaps',
    read: async (core, namespace, name) => withKind('ConfigMap')(await core.readNamespacedConfigMap({ namespace, name })),
    listNamed: async (core, name) => (await listAll((p) => core.listConfigMapForAllNamespaces({ ...byName(name), ...p }))).filter((o) => o.metadata?.name === name).map(withKind('ConfigMap')),
    pageNamed: async (core, name, p) => namedPage('ConfigMap', name)(await core.listConfigMapForAllNamespaces({ ...byName(name), ...p })),
    ...rawWrites('configmaps'),
  },
};
