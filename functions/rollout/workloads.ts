/**
 * Workload kinds are a table: each kind maps to `{ list, podTemplate, paused, patch }`. Adding a kind is one
 * entry; nothing else branches on the kind.
 */
import { PatchStrategy, setHeaderOptions, type AppsV1Api, type V1DaemonSet, type V1Deployment, type V1PodTemplateSpec, type V1StatefulSet } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../shared/constants.ts';
import type { WorkloadKind, WorkloadView } from './plan.ts';

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

export interface WorkloadKindOps {
  /** Resource name for RBAC and messages. */
  resource: string;
  list(apps: AppsV1Api, namespace: string): Promise<Workload[]>;
  /** Every namespace at once (large batches: one request instead of one per namespace). */
  listAll(apps: AppsV1Api): Promise<Workload[]>;
  podTemplate(obj: Workload): V1PodTemplateSpec | undefined;
  paused(obj: Workload): boolean;
  /** Strategic merge patch with field manager `ripple`. */
  patch(apps: AppsV1Api, namespace: string, name: string, body: object): Promise<Workload>;
}

const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

export const WORKLOADS: Record<WorkloadKind, WorkloadKindOps> = {
  Deployment: {
    resource: 'deployments',
    list: async (apps, namespace) => (await apps.listNamespacedDeployment({ namespace })).items,
    listAll: async (apps) => (await apps.listDeploymentForAllNamespaces()).items,
    podTemplate: (o) => (o as V1Deployment).spec?.template,
    paused: (o) => (o as V1Deployment).spec?.paused === true,
    patch: (apps, namespace, name, body) => apps.patchNamespacedDeployment({ name, namespace, body, fieldManager: FIELD_MANAGER }, smp),
  },
  StatefulSet: {
    resource: 'statefulsets',
    list: async (apps, namespace) => (await apps.listNamespacedStatefulSet({ namespace })).items,
    listAll: async (apps) => (await apps.listStatefulSetForAllNamespaces()).items,
    podTemplate: (o) => (o as V1StatefulSet).spec?.template,
    paused: () => false,
    patch: (apps, namespace, name, body) => apps.patchNamespacedStatefulSet({ name, namespace, body, fieldManager: FIELD_MANAGER }, smp),
  },
  DaemonSet: {
    resource: 'daemonsets',
    list: async (apps, namespace) => (await apps.listNamespacedDaemonSet({ namespace })).items,
    listAll: async (apps) => (await apps.listDaemonSetForAllNamespaces()).items,
    podTemplate: (o) => (o as V1DaemonSet).spec?.template,
    paused: () => false,
    patch: (apps, namespace, name, body) => apps.patchNamespacedDaemonSet({ name, namespace, body, fieldManager: FIELD_MANAGER }, smp),
  },
};

export const WORKLOAD_KIND_NAMES = Object.keys(WORKLOADS) as WorkloadKind[];

/** The planner's view of a listed workload. */
export function viewOf(kind: WorkloadKind, obj: Workload): WorkloadView {
  const ops = WORKLOADS[kind];
  return {
    kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    annotations: obj.metadata?.annotations ?? {},
    template: ops.podTemplate(obj),
    paused: ops.paused(obj),
  };
}

/** Every workload of the given kinds in a namespace, as planner views (kinds listed in parallel). */
export async function listWorkloads(apps: AppsV1Api, namespace: string, kinds: readonly WorkloadKind[]): Promise<WorkloadView[]> {
  const lists = await Promise.all(kinds.map(async (k) => (await WORKLOADS[k].list(apps, namespace)).map((o) => viewOf(k, o))));
  return lists.flat();
}

/** Every workload of the given kinds in all namespaces, grouped by namespace. */
export async function listWorkloadsByNamespace(apps: AppsV1Api, kinds: readonly WorkloadKind[]): Promise<Map<string, WorkloadView[]>> {
  const out = new Map<string, WorkloadView[]>();
  const lists = await Promise.all(kinds.map(async (k) => (await WORKLOADS[k].listAll(apps)).map((o) => viewOf(k, o))));
  for (const v of lists.flat()) {
    const l = out.get(v.namespace);
    if (l) l.push(v);
    else out.set(v.namespace, [v]);
  }
  return out;
}
