/**
 * How a rollout group reads: the changed object with a GET in its namespace and the workloads per namespace and
 * kind (plain JSON, paged), every request through the batch's one limiter.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ObjectKind } from '../../core/constants.ts';
import { orNull, type Kube } from '../runtime/kube.ts';
import type { Limiter } from '../runtime/pool.ts';
import type { RolloutKind, WorkloadView } from './plan.ts';
import { listWorkloads, WORKLOADS } from './workloads.ts';

/** Lists the workloads of one namespace (plain JSON, paged): one request per kind and namespace, never all namespaces. */
export type WorkloadLister = (kube: Kube, namespace: string, kinds: RolloutKind[]) => Promise<WorkloadView[]>;

export const perNamespace: WorkloadLister = (kube, namespace, kinds) => listWorkloads(kube.raw, namespace, kinds);

/**
 * `base`, but a workload kind the cluster holds none of is not listed per namespace: whether the cluster holds
 * any is asked once per kind (and cluster) for the lister's lifetime (one SQS batch), by an all-namespaces list
 * with limit=1 (at most one item, whatever the cluster's size). A policy reloading all three kinds in a cluster
 * without StatefulSets or DaemonSets thus makes one list per namespace instead of three. Nothing is missed: a
 * workload existing when the object changed exists at the probe (which runs after the change) unless deleted,
 * and one created later starts its pods with the current content anyway. A probe that fails (e.g. 403 where
 * the role is bound per namespace) counts the kind as present: listed per namespace, as without the probe.
 */
export function probing(base: WorkloadLister): WorkloadLister {
  const probes = new WeakMap<Kube, Map<RolloutKind, Promise<boolean>>>();
  const present = (kube: Kube, kind: RolloutKind): Promise<boolean> => {
    const path = WORKLOADS[kind].everywhere;
    if (!path) return Promise.resolve(true);
    let byKind = probes.get(kube);
    if (!byKind) probes.set(kube, (byKind = new Map()));
    let p = byKind.get(kind);
    if (!p) {
      p = kube.raw.request<{ items?: unknown[] | null }>('GET', path, { describe: { verb: 'list', resource: WORKLOADS[kind].resource }, query: { limit: 1 } })
        .then((r) => (r.items?.length ?? 0) > 0, () => true);
      byKind.set(kind, p);
    }
    return p;
  };
  return async (kube, namespace, kinds) => {
    const there = await Promise.all(kinds.map((k) => present(kube, k)));
    const listed = kinds.filter((_, i) => there[i]);
    return listed.length ? base(kube, namespace, listed) : [];
  };
}

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

