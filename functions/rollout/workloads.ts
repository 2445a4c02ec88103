/**
 * Workload kinds are a table: each kind maps to `{ list, get, podTemplate, paused, patch }`. Adding a kind is one
 * entry; nothing else branches on the kind.
 */
import type { V1CronJob, V1DaemonSet, V1Deployment, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../../core/constants.ts';
import type { RawApi } from '../runtime/kube.ts';
import { listAllRaw, orNull } from '../runtime/kube.ts';
import type { RolloutKind, WorkloadView } from './plan.ts';
import { cronJobOps } from './cronjob.ts';

export type Workload = V1Deployment | V1StatefulSet | V1DaemonSet | V1CronJob;

export interface WorkloadKindOps {
  /** Resource name for RBAC and messages. */
  resource: string;
  /**
   * The kind's all-namespaces collection, for the per-batch presence probe (read.ts `probing`: one list with
   * limit=1 tells whether the cluster holds any of the kind). Absent: the kind is always listed per namespace.
   */
  everywhere?: string;
  /**
   * One namespace, page by page, as plain JSON (the planner reads only metadata and the pod template). Never
   * all namespaces: a batch touches at most 100 namespaces, and an all-namespaces list per batch costs O(cluster)
   * per batch, O(N^2) for a fan-out over N namespaces.
   */
  list(raw: RawApi, namespace: string): Promise<Workload[]>;
  /** One workload as plain JSON, or null when it is gone (a patch's re-read after a 409 Conflict: apply.ts). */
  get(raw: RawApi, namespace: string, name: string): Promise<Workload | null>;
  podTemplate(obj: Workload): V1PodTemplateSpec | undefined;
  paused(obj: Workload): boolean;
  /**
   * Strategic merge patch with field manager `ripple`; the answer (the whole object) is not read. A
   * `metadata.resourceVersion` in the body is a precondition: 409 Conflict when the workload changed since.
   */
  patch(raw: RawApi, namespace: string, name: string, body: object): Promise<void>;
}

/** An apps/v1 collection in a namespace, or one object of it. */
const appsPath = (resource: string, namespace: string, name?: string) =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${resource}${name === undefined ? '' : `/${encodeURIComponent(name)}`}`;

/** One namespace, page by page (limit/continue). */
const rawList = (resource: string) => (raw: RawApi, namespace: string) =>
  listAllRaw<Workload>(raw, appsPath(resource, namespace), { verb: 'list', resource, namespace });

const rawGet = (resource: string) => (raw: RawApi, namespace: string, name: string) =>
  orNull(raw.request<Workload>('GET', appsPath(resource, namespace, name), { describe: { verb: 'get', resource, namespace, name } }));

const rawPatch = (resource: string) => (raw: RawApi, namespace: string, name: string, body: object) =>
  raw.request<void>('PATCH', appsPath(resource, namespace, name), {
    describe: { verb: 'patch', resource, namespace, name },
    body,
    contentType: 'application/strategic-merge-patch+json',
    query: { fieldManager: FIELD_MANAGER },
    discardAnswer: true,
  });

export const WORKLOADS: Record<RolloutKind, WorkloadKindOps> = {
  Deployment: {
    resource: 'deployments',
    everywhere: '/apis/apps/v1/deployments',
    list: rawList('deployments'),
    get: rawGet('deployments'),
    podTemplate: (o) => (o as V1Deployment).spec?.template,
    paused: (o) => (o as V1Deployment).spec?.paused === true,
    patch: rawPatch('deployments'),
  },
  StatefulSet: {
    resource: 'statefulsets',
    everywhere: '/apis/apps/v1/statefulsets',
    list: rawList('statefulsets'),
    get: rawGet('statefulsets'),
    podTemplate: (o) => (o as V1StatefulSet).spec?.template,
    paused: () => false,
    patch: rawPatch('statefulsets'),
  },
  DaemonSet: {
    resource: 'daemonsets',
    everywhere: '/apis/apps/v1/daemonsets',
    list: rawList('daemonsets'),
    get: rawGet('daemonsets'),
    podTemplate: (o) => (o as V1DaemonSet).spec?.template,
    paused: () => false,
    patch: rawPatch('daemonsets'),
  },
  // the Reloader mode only: a new Job from the jobTemplate (cronjob.ts)
  CronJob: cronJobOps,
  // the Reloader mode only, when listed: Argo Rollouts (a custom resource: JSON merge patch, no strategic merge)
  Rollout: {
    resource: 'rollouts',
    list: (raw, namespace) => listAllRaw<Workload>(raw, `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/rollouts`, { verb: 'list', resource: 'rollouts', namespace }),
    get: (raw, namespace, name) =>
      orNull(raw.request<Workload>('GET', `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/rollouts/${encodeURIComponent(name)}`, { describe: { verb: 'get', resource: 'rollouts', namespace, name } })),
    podTemplate: (o) => (o as V1Deployment).spec?.template,
    paused: (o) => (o as V1Deployment).spec?.paused === true,
    patch: (raw, namespace, name, body) =>
      raw.request<void>('PATCH', `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(namespace)}/rollouts/${encodeURIComponent(name)}`, {
        describe: { verb: 'patch', resource: 'rollouts', namespace, name },
        body,
        contentType: 'application/merge-patch+json',
        query: { fieldManager: FIELD_MANAGER },
        discardAnswer: true,
      }),
  },
};

/** The planner's view of a listed workload. */
export function viewOf(kind: RolloutKind, obj: Workload): WorkloadView {
  const ops = WORKLOADS[kind];
  return {
    kind,
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    ...(obj.metadata?.uid ? { uid: obj.metadata.uid } : {}),
    ...(obj.metadata?.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
    annotations: obj.metadata?.annotations ?? {},
    labels: obj.metadata?.labels ?? {},
    template: ops.podTemplate(obj),
    paused: ops.paused(obj),
    ...(obj.metadata?.creationTimestamp ? { createdAt: new Date(obj.metadata.creationTimestamp).toISOString() } : {}),
  };
}

/** Every workload of the given kinds in a namespace, as planner views (kinds listed in parallel). */
export async function listWorkloads(raw: RawApi, namespace: string, kinds: readonly RolloutKind[]): Promise<WorkloadView[]> {
  const lists = await Promise.all(kinds.map(async (k) => (await WORKLOADS[k].list(raw, namespace)).map((o) => viewOf(k, o))));
  return lists.flat();
}
