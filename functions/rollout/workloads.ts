/**
 * Workload kinds are a table: each kind maps to `{ list, podTemplate, paused, patch }`. Adding a kind is one
 * entry; nothing else branches on the kind.
 */
import type { V1DaemonSet, V1Deployment, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../shared/constants.ts';
import type { AppsApi, RawApi } from '../shared/kube/index.ts';
import { listAll, listAllRaw } from '../shared/kube/index.ts';
import type { WorkloadKind, WorkloadView } from './plan.ts';

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

export interface WorkloadKindOps {
  /** Resource name for RBAC and messages. */
  resource: string;
  list(apps: AppsApi, namespace: string): Promise<Workload[]>;
  /**
   * Every namespace at once (large batches: one request instead of one per namespace), decoded as plain JSON:
   * the planner reads only metadata and the pod template, and model-decoding thousands of workloads costs more
   * CPU than the request itself.
   */
  listAll(raw: RawApi): Promise<Workload[]>;
  podTemplate(obj: Workload): V1PodTemplateSpec | undefined;
  paused(obj: Workload): boolean;
  /** Strategic merge patch with field manager `ripple`; the answer as plain JSON (only its metadata is read). */
  patch(raw: RawApi, namespace: string, name: string, body: object): Promise<Workload>;
}

/** All namespaces, page by page (limit/continue). */
const rawListAll = (resource: string) => (raw: RawApi) => listAllRaw<Workload>(raw, `/apis/apps/v1/${resource}`, { verb: 'list', resource });

const rawPatch = (resource: string) => (raw: RawApi, namespace: string, name: string, body: object) =>
  raw.request<Workload>('PATCH', `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`, {
    describe: { verb: 'patch', resource, namespace, name },
    body,
    contentType: 'application/strategic-merge-patch+json',
    query: { fieldManager: FIELD_MANAGER },
  });

export const WORKLOADS: Record<WorkloadKind, WorkloadKindOps> = {
  Deployment: {
    resource: 'deployments',
    list: (apps, namespace) => listAll((p) => apps.listNamespacedDeployment({ namespace, ...p })),
    listAll: rawListAll('deployments'),
    podTemplate: (o) => (o as V1Deployment).spec?.template,
    paused: (o) => (o as V1Deployment).spec?.paused === true,
    patch: rawPatch('deployments'),
  },
  StatefulSet: {
    resource: 'statefulsets',
    list: (apps, namespace) => listAll((p) => apps.listNamespacedStatefulSet({ namespace, ...p })),
    listAll: rawListAll('statefulsets'),
    podTemplate: (o) => (o as V1StatefulSet).spec?.template,
    paused: () => false,
    patch: rawPatch('statefulsets'),
  },
  DaemonSet: {
    resource: 'daemonsets',
    list: (apps, namespace) => listAll((p) => apps.listNamespacedDaemonSet({ namespace, ...p })),
    listAll: rawListAll('daemonsets'),
    podTemplate: (o) => (o as V1DaemonSet).spec?.template,
    paused: () => false,
    patch: rawPatch('daemonsets'),
  },
};

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
export async function listWorkloads(apps: AppsApi, namespace: string, kinds: readonly WorkloadKind[]): Promise<WorkloadView[]> {
  const lists = await Promise.all(kinds.map(async (k) => (await WORKLOADS[k].list(apps, namespace)).map((o) => viewOf(k, o))));
  return lists.flat();
}

/** Every workload of the given kinds in all namespaces, grouped by namespace. */
export async function listWorkloadsByNamespace(raw: RawApi, kinds: readonly WorkloadKind[]): Promise<Map<string, WorkloadView[]>> {
  const out = new Map<string, WorkloadView[]>();
  const lists = await Promise.all(kinds.map(async (k) => (await WORKLOADS[k].listAll(raw)).map((o) => viewOf(k, o))));
  for (const v of lists.flat()) {
    const l = out.get(v.namespace);
    if (l) l.push(v);
    else out.set(v.namespace, [v]);
  }
  return out;
}
