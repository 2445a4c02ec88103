/**
 * Least-privilege RBAC for the forwarder and the three handlers, rendered from the policies into
 * infra/k8s/rbac/*.yaml. The permissions are the table below: one row per rule, read top to bottom. A handler
 * that needs more gets a new row here (and the integration tests, which run each handler with exactly its
 * rendered role on the embedded cluster, prove it).
 *
 * Names: `names` rows are restricted with resourceNames (Kubernetes honours them for get/update/patch/delete,
 * and for list/watch only with a `metadata.name` field selector; never for create or deletecollection, so those
 * rows carry no names). A names row whose list comes out empty (no policy needs that kind) is left out.
 *
 * Each handler's permissions are ONE ClusterRole `ripple-<handler>`, bound to its group (constants.ts
 * HANDLER_GROUPS; EKS access entries map the Lambda roles to those groups):
 * - clone and rollout act in every namespace: ClusterRoleBinding.
 * - protect acts only where protected objects live and in ripple-system (snapshots, key): RoleBindings of the
 *   same ClusterRole in exactly those namespaces, so its `create` reaches nowhere else.
 * The forwarder (ServiceAccount ripple-system/ripple-forwarder) reads cluster-wide and writes only in
 * ripple-system (a Role): its Lease, Events and the fingerprint-key Secret.
 */
import {
  FINGERPRINT_KEY_SECRET,
  FORWARDER_SERVICE_ACCOUNT,
  HANDLER_GROUPS,
  LABEL_MANAGED_BY,
  MANAGED_BY_VALUE,
  RIPPLE_NAMESPACE,
  SNAPSHOT_PREFIX,
  type HandlerName,
  type ObjectKind,
} from '../core/constants.ts';
import type { RipplePolicy } from '../core/policy/schema.ts';
import { baseName, isSet, targetNames } from '../core/policy/select.ts';

/** The forwarder's leader-election Lease (forwarder/leader.ts LEASE_NAME). */
export const FORWARDER_LEASE = 'ripple-forwarder';


/** Object names a policy set involves, per kind and role. `undefined` policies = not restricted by name. */
interface Names {
  sources(kind: ObjectKind, filter?: (p: RipplePolicy) => boolean): string[] | undefined;
  copies(kind: ObjectKind, filter?: (p: RipplePolicy) => boolean): string[] | undefined;
  snapshots(filter?: (p: RipplePolicy) => boolean): string[] | undefined;
  /** Namespaces holding protected objects. */
  protectedNamespaces(): string[] | undefined;
}

/**
 * One cluster's part of each policy (a fleet, docs/fleet.md): whether it holds the policy's source (the base, its
 * snapshot: clone reads them there, protect guards them there) and whether it receives its copies (clone writes
 * them there, rollout reads them there). Absent: every cluster holds its own source and receives its own copies
 * (one cluster, or cluster-local policies).
 */
export interface ClusterView {
  holdsSource(p: RipplePolicy): boolean;
  receivesCopies(p: RipplePolicy): boolean;
}

const EVERY: ClusterView = { holdsSource: () => true, receivesCopies: () => true };

/**
 * A set of bases (source.selector) names no object: its bases and copies have whatever names its selector picks, so
 * a row that serves one has no resourceNames (any name of that kind). That is what a set costs in privilege: the
 * clone handler may get/list/update/delete every object of the kind, in every namespace (docs/identities.md); its
 * admission policy (`ripple-clone-identity`) still lets it change only objects carrying ripple's mark.
 */
function namesOf(policies: RipplePolicy[] | undefined, view: ClusterView = EVERY): Names {
  const uniq = (xs: string[]) => [...new Set(xs)].sort();
  const named = (ps: RipplePolicy[], name: (p: RipplePolicy) => string | string[]) => (ps.some(isSet) ? undefined : uniq(ps.flatMap(name)));
  const held = policies?.filter((p) => view.holdsSource(p));
  const received = policies?.filter((p) => view.receivesCopies(p));
  return {
    sources: (kind, filter = () => true) => held && named(held.filter((p) => p.spec.source.kind === kind && filter(p)), baseName),
    copies: (kind, filter = () => true) => received && named(received.filter((p) => p.spec.source.kind === kind && p.spec.sync && filter(p)), targetNames),
    snapshots: (filter = () => true) => held && uniq(held.filter((p) => p.spec.protect && filter(p)).map((p) => `${SNAPSHOT_PREFIX}${p.metadata.name}`)),
    protectedNamespaces: () => held && uniq(held.filter((p) => p.spec.protect).map((p) => p.spec.source.namespace)),
  };
}

interface Row {
  why: string;
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** resourceNames; undefined = any name; an empty list drops the row. */
  names?: (n: Names) => string[] | undefined;
  /** Whether the row is needed at all for these policies (default: yes). */
  when?: (n: Names) => boolean;
}

const syncing = (p: RipplePolicy) => p.spec.sync !== undefined;
const reloading = (p: RipplePolicy) => p.spec.reload !== undefined;
const protecting = (p: RipplePolicy) => p.spec.protect !== undefined;
const both = (a: string[] | undefined, b: string[] | undefined) => (a && b ? [...new Set([...a, ...b])].sort() : undefined);
const withKey = (l: string[] | undefined) => (l ? [...l, FINGERPRINT_KEY_SECRET] : undefined);
/** True when not restricted by policies, or when the list is non-empty. */
const any = (l: string[] | undefined) => l === undefined || l.length > 0;

// prettier-ignore
/** The permission table. */
export const RBAC_TABLE: { forwarderCluster: Row[]; forwarderNamespace: Row[]; handlers: Record<HandlerName, Row[]>; protectRecover: Row[] } = {
  forwarderCluster: [
    { why: 'watch the objects it forwards', apiGroups: [''], resources: ['namespaces', 'secrets', 'configmaps'], verbs: ['list', 'watch'] },
  ],
  forwarderNamespace: [
    { why: 'leader election', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update'], names: () => [FORWARDER_LEASE] },
    { why: 'leader election (first start)', apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { why: 'report on its own objects', apiGroups: [''], resources: ['events'], verbs: ['create'] },
    { why: 'fingerprint key', apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], names: () => [FINGERPRINT_KEY_SECRET] },
    { why: 'fingerprint key (first start)', apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  ],
  handlers: {
    clone: [
      { why: 'namespaces in scope', apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list'] },
      { why: 'sources and copies (list by metadata.name field selector)', apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'update', 'patch', 'delete'], names: (n) => both(n.sources('Secret', syncing), n.copies('Secret')) },
      { why: 'sources and copies (list by metadata.name field selector)', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'update', 'patch', 'delete'], names: (n) => both(n.sources('ConfigMap', syncing), n.copies('ConfigMap')) },
      { why: 'new copies', apiGroups: [''], resources: ['secrets'], verbs: ['create'], when: (n) => any(n.copies('Secret')) },
      { why: 'new copies', apiGroups: [''], resources: ['configmaps'], verbs: ['create'], when: (n) => any(n.copies('ConfigMap')) },
      { why: 'fingerprint key', apiGroups: [''], resources: ['secrets'], verbs: ['get'], names: () => [FINGERPRINT_KEY_SECRET] },
      { why: "protected sources' last-known-good snapshots, copied instead of the live source (read only)", apiGroups: [''], resources: ['secrets'], verbs: ['get'], names: (n) => n.snapshots(syncing), when: (n) => any(n.snapshots(syncing)) },
      { why: 'report on copies', apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
    rollout: [
      { why: 'find and restart consumers', apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get', 'list', 'patch'] },
      { why: 'read the changed object (large batches: list by metadata.name field selector)', apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'], names: (n) => withKey(both(n.sources('Secret', reloading), n.copies('Secret', reloading))) },
      { why: 'read the changed object (large batches: list by metadata.name field selector)', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'], names: (n) => both(n.sources('ConfigMap', reloading), n.copies('ConfigMap', reloading)) },
      { why: 'report on workloads', apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
    protect: [
      { why: 'protected objects and snapshots', apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'delete'], names: (n) => both(n.sources('Secret', protecting), n.snapshots()) },
      { why: 'fingerprint key (read only: protect never changes it)', apiGroups: [''], resources: ['secrets'], verbs: ['get'], names: () => [FINGERPRINT_KEY_SECRET] },
      { why: 'protected objects', apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update', 'delete'], names: (n) => n.sources('ConfigMap', protecting) },
      { why: 're-create a deleted protected object; first snapshot (bound only in those namespaces)', apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { why: 're-create a deleted protected object (bound only in those namespaces)', apiGroups: [''], resources: ['configmaps'], verbs: ['create'], when: (n) => any(n.sources('ConfigMap', protecting)) },
      { why: 'report on protected objects', apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ],
  },
  /**
   * Cluster-wide, so protect keeps its access when a namespace it guards is deleted or re-created
   * (functions/protect/access.ts). Admission (`ripple-protect-identity`) narrows the creates to the namespaces
   * holding protected objects and to protect's own RoleBinding there.
   */
  protectRecover: [
    { why: 'see whether a protected namespace is there or terminating', apiGroups: [''], resources: ['namespaces'], verbs: ['get'], names: (n) => n.protectedNamespaces() },
    { why: 're-create a protected namespace deleted by a violation (admission: only those names)', apiGroups: [''], resources: ['namespaces'], verbs: ['create'] },
    { why: 'restore its own RoleBinding in a re-created namespace (admission: only that binding)', apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
    { why: 'bind its own ClusterRole without holding it yet in that namespace (escalation check)', apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], names: () => ['ripple-protect'] },
  ],
};

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [k: string]: unknown;
}

const LABELS = { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple' };
const RBAC = 'rbac.authorization.k8s.io/v1';

function rules(rows: Row[], names: Names): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const r of rows) {
    if (r.when && !r.when(names)) continue;
    const n = r.names?.(names);
    if (n && n.length === 0) continue;
    out.push({ apiGroups: r.apiGroups, resources: r.resources, verbs: r.verbs, ...(n ? { resourceNames: n } : {}) });
  }
  return out;
}

function meta(name: string, component: string, namespace?: string) {
  return { name, ...(namespace ? { namespace } : {}), labels: { ...LABELS, 'app.kubernetes.io/component': component } };
}

/**
 * The handlers' ClusterRoles (`ripple-clone`, `ripple-rollout`, `ripple-protect`). Without policies: not
 * restricted by object name (what a handler needs for any policy set); with policies: only their objects.
 */
export function handlerClusterRoles(policies?: RipplePolicy[], view?: ClusterView): K8sObject[] {
  const names = namesOf(policies, view);
  return (Object.keys(HANDLER_GROUPS) as HandlerName[]).map((h) => ({
    apiVersion: RBAC,
    kind: 'ClusterRole',
    metadata: meta(`ripple-${h}`, h),
    rules: rules(RBAC_TABLE.handlers[h], names),
  }));
}

/** Namespaces the protect handler acts in: those of protected objects, and ripple-system. */
export function protectNamespaces(policies: RipplePolicy[]): string[] {
  return [...new Set([RIPPLE_NAMESPACE, ...policies.filter(protecting).map((p) => p.spec.source.namespace)])].sort();
}

const groupSubject = (group: string) => [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }];

/** Everything, grouped by the file it is rendered to (forwarder, clone, rollout, protect). */
export function renderRbacFiles(policies: RipplePolicy[], view?: ClusterView): Record<'forwarder' | HandlerName, K8sObject[]> {
  const names = namesOf(policies, view);
  const roles = handlerClusterRoles(policies, view);
  const role = (h: HandlerName) => roles.find((r) => r.metadata.name === `ripple-${h}`)!;
  const sa = [{ kind: 'ServiceAccount', name: FORWARDER_SERVICE_ACCOUNT, namespace: RIPPLE_NAMESPACE }];
  const crb = (h: HandlerName): K8sObject => ({
    apiVersion: RBAC,
    kind: 'ClusterRoleBinding',
    metadata: meta(`ripple-${h}`, h),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `ripple-${h}` },
    subjects: groupSubject(HANDLER_GROUPS[h]),
  });
  return {
    forwarder: [
      { apiVersion: RBAC, kind: 'ClusterRole', metadata: meta('ripple-forwarder', 'forwarder'), rules: rules(RBAC_TABLE.forwarderCluster, names) },
      {
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata: meta('ripple-forwarder', 'forwarder'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ripple-forwarder' },
        subjects: sa,
      },
      { apiVersion: RBAC, kind: 'Role', metadata: meta('ripple-forwarder', 'forwarder', RIPPLE_NAMESPACE), rules: rules(RBAC_TABLE.forwarderNamespace, names) },
      {
        apiVersion: RBAC,
        kind: 'RoleBinding',
        metadata: meta('ripple-forwarder', 'forwarder', RIPPLE_NAMESPACE),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'ripple-forwarder' },
        subjects: sa,
      },
    ],
    clone: [role('clone'), crb('clone')],
    rollout: [role('rollout'), crb('rollout')],
    protect: [
      role('protect'),
      { apiVersion: RBAC, kind: 'ClusterRole', metadata: meta('ripple-protect-recover', 'protect'), rules: rules(RBAC_TABLE.protectRecover, names) },
      {
        apiVersion: RBAC,
        kind: 'ClusterRoleBinding',
        metadata: meta('ripple-protect-recover', 'protect'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ripple-protect-recover' },
        subjects: groupSubject(HANDLER_GROUPS.protect),
      },
      ...protectNamespaces(view ? policies.filter((p) => view.holdsSource(p)) : policies).map(
        (ns): K8sObject => ({
          apiVersion: RBAC,
          kind: 'RoleBinding',
          metadata: meta('ripple-protect', 'protect', ns),
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'ripple-protect' },
          subjects: groupSubject(HANDLER_GROUPS.protect),
        }),
      ),
    ],
  };
}

/** All RBAC objects for the policies, in apply order (roles before bindings per file). */
export function renderRbac(policies: RipplePolicy[]): K8sObject[] {
  return Object.values(renderRbacFiles(policies)).flat();
}
