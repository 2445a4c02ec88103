/** Event fixtures shared by the pattern tests and the clone harnesses. */
import type { KubernetesObject } from '@kubernetes/client-node';
import { fingerprint } from '../../core/fingerprint.ts';
import type { ObjectChangeDetail } from '../../events/schema.ts';

/** An object-change detail's fields other than the object's identity: spread it, then set kind, name and what matters. */
export const DETAIL_BASE = {
  cluster: 'prod',
  apiVersion: 'v1',
  uid: 'u',
  resourceVersion: '1',
  labels: {},
  annotations: {},
  ownerReferences: [],
  fingerprint: `hmac-sha256:${'a'.repeat(64)}`,
  changes: [],
  observedAt: '2026-01-01T00:00:00Z',
} satisfies Omit<ObjectChangeDetail, 'kind' | 'name'>;

/** The detail the forwarder would send for `obj` as it is now (fingerprinted with the cluster's key). */
export function detailOf(cluster: string, dt: 'created' | 'updated' | 'deleted', obj: KubernetesObject, key: Buffer, manager?: string): ObjectChangeDetail {
  return {
    cluster,
    apiVersion: obj.apiVersion ?? 'v1',
    kind: obj.kind!,
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata!.name!,
    uid: obj.metadata?.uid ?? 'gone',
    resourceVersion: obj.metadata?.resourceVersion ?? '0',
    labels: obj.metadata?.labels ?? {},
    annotations: {},
    ownerReferences: [],
    fingerprint: fingerprint(key, obj as never),
    changes: dt === 'updated' ? ['data'] : [],
    ...(manager ? { manager } : {}),
    observedAt: new Date().toISOString(),
  };
}
