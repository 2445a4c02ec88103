/**
 * How a rollout group reads: the changed object with a GET in its namespace and the workloads per namespace and
 * kind (plain JSON, paged), every request through the batch's one limiter.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ObjectKind } from '../../core/constants.ts';
import { orNull, type Kube } from '../runtime/kube.ts';
import type { Limiter } from '../runtime/pool.ts';
import type { RolloutKind, WorkloadView } from './plan.ts';
import { listWorkloads } from './workloads.ts';

/** Lists the workloads of one namespace (plain JSON, paged): one request per kind and namespace, never all namespaces. */
export type WorkloadLister = (kube: Kube, namespace: string, kinds: RolloutKind[]) => Promise<WorkloadView[]>;

export const perNamespace: WorkloadLister = (kube, namespace, kinds) => listWorkloads(kube.raw, namespace, kinds);

/** Reads one changed object with a GET in its namespace (level-based: the current content, not the event's). */
export type ObjectReader = (kube: Kube, kind: ObjectKind, namespace: string, name: string) => Promise<V1Secret | V1ConfigMap | null>;

export const getOne: ObjectReader = (kube, kind, namespace, name) => {
  const resource = kind === 'Secret' ? 'secrets' : 'configmaps';
  // Plain JSON over the rate-limited request path (only metadata, type and data are read).
  return orNull(kube.raw.request<V1Secret | V1ConfigMap>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`, { describe: { verb: 'get', resource, namespace, name } }));
};

export interface Readers {
  read: ObjectReader;
  list: WorkloadLister;
  /** Shared by every group of the batch: bounds requests in flight. */
  limit?: Limiter;
}

export const limited = <T>(r: Readers, fn: () => Promise<T>): Promise<T> => (r.limit ? r.limit(fn) : fn());

