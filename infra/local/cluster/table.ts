/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), so `kubectl get` shows the
 * same columns as against a real cluster. Rows carry the object's metadata (PartialObjectMetadata), the
 * whole object with `includeObject=Object`, or nothing with `includeObject=None`. Pure.
 */
import type { ResourceType } from './resources.ts';
import { negotiateOutput } from './metadata.ts';
import { badRequest } from './status.ts';

export const TABLE_CONTENT_TYPE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

/** Whether the Accept header's first acceptable entry asks for a Table (metadata.ts negotiates). */
export function wantsTable(accept: string | undefined): boolean {
  try {
    return negotiateOutput(accept, { table: true })?.kind === 'Table';
  } catch {
    return false;
  }
}

/** kube's duration.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

interface Column { name: string; type: 'string' | 'integer' | 'date'; format?: string; description: string; priority: number; cell: (o: any, now: number) => unknown }

const age = (o: any, now: number) => (o.metadata?.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>');
const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0, cell: (o) => o.metadata?.name ?? '' };
const AGE: Column = { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0, cell: age };
const col = (name: string, cell: Column['cell'], type: Column['type'] = 'string', priority = 0): Column => ({ name, type, description: name, priority, cell });
const n = (v: unknown) => (typeof v === 'number' ? v : 0);
const containers = (o: any) => (o.spec?.template?.spec?.containers ?? []) as any[];
const selector = (sel: any) => {
  const parts = Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel?.matchExpressions ?? []) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.length ? parts.join(',') : '<none>';
};
const subjects = (o: any, kind: string) => (o.subjects ?? []).filter((s: any) => s.kind === kind).map((s: any) => (kind === 'ServiceAccount' ? `${s.namespace ?? o.metadata?.namespace}/${s.name}` : s.name)).join(', ');

const COLUMNS: Record<string, Column[]> = {
  Namespace: [NAME, col('Status', (o) => o.status?.phase ?? ''), AGE],
  Node: [NAME, col('Status', (o) => ((o.status?.conditions ?? []).find((c: any) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady')),
    col('Roles', (o) => Object.keys(o.metadata?.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length)).join(',') || '<none>'),
    AGE, col('Version', (o) => o.status?.nodeInfo?.kubeletVersion ?? '')],
  Pod: [NAME,
    col('Ready', (o) => `${(o.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${(o.spec?.containers ?? []).length}`),
    col('Status', (o) => (o.metadata?.deletionTimestamp ? 'Terminating' : o.status?.phase ?? 'Pending')),
    col('Restarts', (o) => (o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0), 'integer'), AGE],
  Secret: [NAME, col('Type', (o) => o.type ?? ''), col('Data', (o) => Object.keys(o.data ?? {}).length, 'integer'), AGE],
  ConfigMap: [NAME, col('Data', (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length, 'integer'), AGE],
  ServiceAccount: [NAME, col('Secrets', (o) => (o.secrets ?? []).length, 'integer'), AGE],
  Service: [NAME, col('Type', (o) => o.spec?.type ?? ''), col('Cluster-IP', (o) => o.spec?.clusterIP ?? '<none>'), col('External-IP', () => '<none>'),
    col('Port(s)', (o) => (o.spec?.ports ?? []).map((p: any) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',') || '<none>'), AGE, col('Selector', (o) => selector({ matchLabels: o.spec?.selector }), 'string', 1)],
  Deployment: [NAME, col('Ready', (o) => `${n(o.status?.readyReplicas)}/${n(o.spec?.replicas)}`), col('Up-to-date', (o) => n(o.status?.updatedReplicas), 'integer'),
    col('Available', (o) => n(o.status?.availableReplicas), 'integer'), AGE,
    col('Containers', (o) => containers(o).map((c) => c.name).join(','), 'string', 1), col('Images', (o) => containers(o).map((c) => c.image).join(','), 'string', 1), col('Selector', (o) => selector(o.spec?.selector), 'string', 1)],
  ReplicaSet: [NAME, col('Desired', (o) => n(o.spec?.replicas), 'integer'), col('Current', (o) => n(o.status?.replicas), 'integer'), col('Ready', (o) => n(o.status?.readyReplicas), 'integer'), AGE,
    col('Containers', (o) => containers(o).map((c) => c.name).join(','), 'string', 1), col('Images', (o) => containers(o).map((c) => c.image).join(','), 'string', 1), col('Selector', (o) => selector(o.spec?.selector), 'string', 1)],
  StatefulSet: [NAME, col('Ready', (o) => `${n(o.status?.readyReplicas)}/${n(o.spec?.replicas)}`), AGE,
    col('Containers', (o) => containers(o).map((c) => c.name).join(','), 'string', 1), col('Images', (o) => containers(o).map((c) => c.image).join(','), 'string', 1)],
  DaemonSet: [NAME, col('Desired', (o) => n(o.status?.desiredNumberScheduled), 'integer'), col('Current', (o) => n(o.status?.currentNumberScheduled), 'integer'),
    col('Ready', (o) => n(o.status?.numberReady), 'integer'), col('Up-to-date', (o) => n(o.status?.updatedNumberScheduled), 'integer'),
    col('Available', (o) => n(o.status?.numberAvailable), 'integer'), col('Node Selector', (o) => selector({ matchLabels: o.spec?.template?.spec?.nodeSelector })), AGE],
  ControllerRevision: [NAME, col('Controller', (o) => {
    const ref = (o.metadata?.ownerReferences ?? []).find((r: any) => r.controller);
    return ref ? `${String(ref.apiVersion).split('/')[0] === 'apps' ? `${ref.kind.toLowerCase()}.apps` : ref.kind.toLowerCase()}/${ref.name}` : '<none>';
  }), col('Revision', (o) => n(o.revision), 'integer'), AGE],
  Lease: [NAME, col('Holder', (o) => o.spec?.holderIdentity ?? ''), AGE],
  Role: [NAME, col('Created At', (o) => o.metadata?.creationTimestamp ?? '', 'date')],
  ClusterRole: [NAME, col('Created At', (o) => o.metadata?.creationTimestamp ?? '', 'date')],
  RoleBinding: [NAME, col('Role', (o) => `${o.roleRef?.kind}/${o.roleRef?.name}`), AGE,
    col('Users', (o) => subjects(o, 'User'), 'string', 1), col('Groups', (o) => subjects(o, 'Group'), 'string', 1), col('ServiceAccounts', (o) => subjects(o, 'ServiceAccount'), 'string', 1)],
  ClusterRoleBinding: [NAME, col('Role', (o) => `${o.roleRef?.kind}/${o.roleRef?.name}`), AGE,
    col('Users', (o) => subjects(o, 'User'), 'string', 1), col('Groups', (o) => subjects(o, 'Group'), 'string', 1), col('ServiceAccounts', (o) => subjects(o, 'ServiceAccount'), 'string', 1)],
  ValidatingAdmissionPolicy: [NAME, col('Validations', (o) => (o.spec?.validations ?? []).length, 'integer'), col('ParamKind', (o) => (o.spec?.paramKind ? `${o.spec.paramKind.apiVersion}/${o.spec.paramKind.kind}` : '<unset>')), AGE],
  ValidatingAdmissionPolicyBinding: [NAME, col('PolicyName', (o) => o.spec?.policyName ?? ''), col('ParamRef', (o) => (o.spec?.paramRef ? `${o.spec.paramRef.namespace ?? ''}/${o.spec.paramRef.name ?? '*'}` : '<unset>')), AGE],
  PodDisruptionBudget: [NAME, col('Min Available', (o) => o.spec?.minAvailable ?? 'N/A'), col('Max Unavailable', (o) => o.spec?.maxUnavailable ?? 'N/A'), col('Allowed Disruptions', (o) => n(o.status?.disruptionsAllowed), 'integer'), AGE],
  NetworkPolicy: [NAME, col('Pod-Selector', (o) => selector(o.spec?.podSelector)), AGE],
};

const EVENT_COLUMNS: Column[] = [
  col('Last Seen', (o, now) => {
    const t = o.lastTimestamp ?? o.deprecatedLastTimestamp ?? o.eventTime ?? o.metadata?.creationTimestamp;
    return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
  }),
  col('Type', (o) => o.type ?? ''),
  col('Reason', (o) => o.reason ?? ''),
  col('Object', (o) => {
    const ref = o.involvedObject ?? o.regarding ?? {};
    return `${String(ref.kind ?? '').toLowerCase()}/${ref.name ?? ''}`;
  }),
  col('Message', (o) => (o.message ?? o.note ?? '').trim()),
];

function columnsFor(rt: ResourceType): Column[] {
  if (rt.kind === 'Event') return EVENT_COLUMNS;
  return COLUMNS[rt.kind] ?? [NAME, AGE];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(obj: any, include: IncludeObject): any {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  const { managedFields: _m, ...metadata } = obj.metadata ?? {};
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

/** A Table of `objects` (one row each) as kube-apiserver's table convertors print them. */
export function toTable(rt: ResourceType, objects: any[], listMeta: Record<string, unknown>, include: IncludeObject = 'Metadata', now = Date.now()): any {
  const cols = columnsFor(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority })),
    rows: objects.map((o) => {
      const object = rowObject(o, include);
      return { cells: cols.map((c) => c.cell(o, now)), ...(object ? { object } : {}) };
    }),
  };
}

/** TableOptions.includeObject (ValidateTableOptions): another value is a 400 naming it, not the default. */
export function includeObjectParam(v: string | null): IncludeObject {
  if (v === null || v === '' || v === 'Metadata') return 'Metadata';
  if (v === 'None' || v === 'Object') return v;
  throw badRequest(`includeObject: Invalid value: ${JSON.stringify(v)}: must be 'Metadata', 'Object', 'None', or empty`);
}
