/**
 * The resource types the embedded API server serves: one table, from which discovery, OpenAPI, routing,
 * RBAC attributes and Status details are all derived.
 */

export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  categories: string[];
  /** subresources served (`status` is stored with the object; the others are handled specially) */
  subresources: string[];
  /** metadata.generation is maintained and bumped on spec changes (workloads, policies) */
  generation: boolean;
  /** a "virtual" resource answered on create only (SubjectAccessReviews): nothing is stored */
  virtual?: boolean;
  /** DNS-1123 rules for metadata.name: 'subdomain' (default), 'label', or 'path' (anything but / and %, not . or ..) */
  nameRule: 'subdomain' | 'label' | 'path';
}

const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function rt(p: Partial<ResourceType> & Pick<ResourceType, 'group' | 'version' | 'kind' | 'plural'>): ResourceType {
  return {
    listKind: `${p.kind}List`,
    singular: p.kind.toLowerCase(),
    namespaced: true,
    shortNames: [],
    verbs: CRUD,
    categories: [],
    subresources: [],
    generation: false,
    nameRule: 'subdomain',
    ...p,
  };
}

export const RESOURCES: ResourceType[] = [
  rt({ group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false, shortNames: ['ns'], nameRule: 'label',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], subresources: ['status', 'finalize'] }),
  rt({ group: '', version: 'v1', kind: 'Node', plural: 'nodes', namespaced: false, shortNames: ['no'], subresources: ['status'] }),
  rt({ group: '', version: 'v1', kind: 'Pod', plural: 'pods', shortNames: ['po'], categories: ['all'], subresources: ['status'] }),
  rt({ group: '', version: 'v1', kind: 'PodTemplate', plural: 'podtemplates' }),
  rt({ group: '', version: 'v1', kind: 'Secret', plural: 'secrets' }),
  rt({ group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', shortNames: ['cm'] }),
  rt({ group: '', version: 'v1', kind: 'Event', plural: 'events', shortNames: ['ev'] }),
  rt({ group: '', version: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', shortNames: ['sa'] }),
  rt({ group: '', version: 'v1', kind: 'Service', plural: 'services', shortNames: ['svc'], categories: ['all'], subresources: ['status'], nameRule: 'label',
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
  rt({ group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', shortNames: ['deploy'], categories: ['all'],
    subresources: ['status', 'scale'], generation: true }),
  rt({ group: 'apps', version: 'v1', kind: 'StatefulSet', plural: 'statefulsets', shortNames: ['sts'], categories: ['all'],
    subresources: ['status', 'scale'], generation: true }),
  rt({ group: 'apps', version: 'v1', kind: 'DaemonSet', plural: 'daemonsets', shortNames: ['ds'], categories: ['all'],
    subresources: ['status'], generation: true }),
  rt({ group: 'apps', version: 'v1', kind: 'ReplicaSet', plural: 'replicasets', shortNames: ['rs'], categories: ['all'],
    subresources: ['status', 'scale'], generation: true }),
  rt({ group: 'apps', version: 'v1', kind: 'ControllerRevision', plural: 'controllerrevisions' }),
  // stored only (no Job or CronJob controller): the rollout handler's Reloader mode creates Jobs from CronJobs
  rt({ group: 'batch', version: 'v1', kind: 'Job', plural: 'jobs', categories: ['all'], subresources: ['status'], generation: true }),
  rt({ group: 'batch', version: 'v1', kind: 'CronJob', plural: 'cronjobs', shortNames: ['cj'], categories: ['all'], subresources: ['status'], generation: true }),
  // Argo Rollouts' custom resource, served as if its CRD were installed (stored only, no controller)
  rt({ group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout', plural: 'rollouts', shortNames: ['ro'], subresources: ['status'], generation: true }),
  rt({ group: 'coordination.k8s.io', version: 'v1', kind: 'Lease', plural: 'leases' }),
  rt({ group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy', plural: 'networkpolicies', shortNames: ['netpol'], generation: true }),
  rt({ group: 'policy', version: 'v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', shortNames: ['pdb'], subresources: ['status'], generation: true }),
  rt({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'Role', plural: 'roles', nameRule: 'path' }),
  rt({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false, nameRule: 'path' }),
  rt({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'RoleBinding', plural: 'rolebindings', nameRule: 'path' }),
  rt({ group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', namespaced: false, nameRule: 'path' }),
  rt({ group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicy', plural: 'validatingadmissionpolicies',
    namespaced: false, categories: ['api-extensions'], subresources: ['status'], generation: true }),
  rt({ group: 'admissionregistration.k8s.io', version: 'v1', kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings',
    namespaced: false, categories: ['api-extensions'], generation: true }),
  rt({ group: 'events.k8s.io', version: 'v1', kind: 'Event', plural: 'events', shortNames: ['ev'] }),
  rt({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', namespaced: false,
    verbs: ['create'], virtual: true }),
  rt({ group: 'authorization.k8s.io', version: 'v1', kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', namespaced: false,
    verbs: ['create'], virtual: true }),
  rt({ group: 'authorization.k8s.io', version: 'v1', kind: 'LocalSubjectAccessReview', plural: 'localsubjectaccessreviews',
    verbs: ['create'], virtual: true }),
  rt({ group: 'authorization.k8s.io', version: 'v1', kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', namespaced: false,
    verbs: ['create'], virtual: true }),
  rt({ group: 'authentication.k8s.io', version: 'v1', kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', namespaced: false,
    verbs: ['create'], virtual: true }),
];

/** `group/version` as used in apiVersion ("v1" for the core group). */
export function groupVersion(r: { group: string; version: string }): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Key of a resource type in the store and indexes: `secrets` or `deployments.apps`. */
export function resourceKey(r: ResourceType): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

const byPath = new Map<string, ResourceType>();
const byKind = new Map<string, ResourceType>();
for (const r of RESOURCES) {
  byPath.set(`${r.group}/${r.version}/${r.plural}`, r);
  byKind.set(`${groupVersion(r)}/${r.kind}`, r);
}

export function lookupResource(group: string, version: string, plural: string): ResourceType | undefined {
  return byPath.get(`${group}/${version}/${plural}`);
}

export function lookupKind(apiVersion: string, kind: string): ResourceType | undefined {
  return byKind.get(`${apiVersion}/${kind}`);
}

/** group -> versions served (the core group is ""). Order: core first, then as listed. */
export function groups(): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const r of RESOURCES) {
    let g = out.find((x) => x.group === r.group);
    if (!g) out.push((g = { group: r.group, versions: [] }));
    if (!g.versions.includes(r.version)) g.versions.push(r.version);
  }
  return out;
}

export function resourcesIn(group: string, version: string): ResourceType[] {
  return RESOURCES.filter((r) => r.group === group && r.version === version);
}

/** The kinds whose events are stored in both core/v1 and events.k8s.io/v1 share storage, as in kube-apiserver. */
export function storageKey(r: ResourceType): string {
  if (r.plural === 'events' && (r.group === '' || r.group === 'events.k8s.io')) return 'events';
  return resourceKey(r);
}
