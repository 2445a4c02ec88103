/**
 * RBAC authorization as kube-apiserver's RBAC authorizer evaluates it (plugin/pkg/auth/authorizer/rbac):
 * ClusterRoleBindings first, then the RoleBindings of the request's namespace; a rule allows when verb,
 * API group, resource (`resource/subresource`, `*`, `*\/subresource`) and resourceNames all match, or for
 * non-resource requests verb and nonResourceURLs (exact, `*`, or a trailing-`*` prefix).
 *
 * Deliberate simplifications (documented, not hidden):
 * - ClusterRole `aggregationRule` is evaluated at authorization time, as the aggregation controller's result:
 *   a ClusterRole with an aggregationRule grants the union of the (effective) rules of every other ClusterRole
 *   whose labels match one of its clusterRoleSelectors; its own stored `rules` are ignored, because the real
 *   controller overwrites them. (The bootstrap admin/edit/view carry the filled-in rules, as a real cluster shows.)
 * - Members of `system:masters` are always allowed (kube-apiserver's privileged-group authorizer runs before
 *   RBAC and gives no reason); the bootstrap cluster-admin binding to that group exists too, as in a real cluster.
 * - `resourceNames`: a rule with names matches only requests that carry a name. The caller (request pipeline)
 *   sets `name` from the URL for get/update/patch/delete, and for list/watch from a
 *   `fieldSelector=metadata.name=<n>` (as kube's RequestInfo does); create and deletecollection carry none.
 *
 * Pipeline (server.ts): after `authorize` allows a create/update/patch of roles, clusterroles, rolebindings or
 * clusterrolebindings, call `escalationCheck(effectiveUser, resource, newObject, rbacObjectsFor(namespace))`
 * (skip it when only metadata changed) and answer `forbidden(rt, name, reason)` (403) when it returns a reason.
 */
import type { UserInfo } from './auth.ts';
import { GROUP_MASTERS } from './auth.ts';

export interface RequestAttributes {
  user: UserInfo;
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  path: string;
  resourceRequest: boolean;
}
export interface RbacObjects { roles: any[]; clusterRoles: any[]; roleBindings: any[]; clusterRoleBindings: any[] }

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const has = (list: string[] | undefined, v: string): boolean => !!list && list.includes(v);

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return has(rule.verbs, '*') || has(rule.verbs, verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return has(rule.apiGroups, '*') || has(rule.apiGroups, group);
}

export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === '*') return true;
    if (r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string | undefined): boolean {
  if (!rule.resourceNames || rule.resourceNames.length === 0) return true;
  return !!name && rule.resourceNames.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*') return true;
    if (u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** kube's RuleAllows. */
export function ruleAllows(attrs: RequestAttributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const sub = attrs.subresource ?? '';
    const combined = sub ? `${attrs.resource}/${sub}` : attrs.resource;
    return verbMatches(rule, attrs.verb) && apiGroupMatches(rule, attrs.apiGroup)
      && resourceMatches(rule, combined, sub) && resourceNameMatches(rule, attrs.name);
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

interface Subject { kind: string; name: string; namespace?: string; apiGroup?: string }

const SA_PREFIX = 'system:serviceaccount:';

/** kube's appliesToUser: bindingNamespace is "" for ClusterRoleBindings. */
export function subjectMatches(user: UserInfo, s: Subject, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User': return user.username === s.name;
    case 'Group': return user.groups.includes(s.name);
    case 'ServiceAccount': {
      const ns = s.namespace || bindingNamespace;
      if (!ns) return false;
      return user.username === `${SA_PREFIX}${ns}:${s.name}`;
    }
    default: return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount ${JSON.stringify(`${s.name}/${s.namespace || bindingNamespace}`)}`;
  return `${s.kind} ${JSON.stringify(s.name)}`;
}

interface Grant { source: string; rules: PolicyRule[] }

interface Selector { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }

function labelsMatch(sel: Selector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(l, e.key);
    const inValues = present && (e.values ?? []).includes(l[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

/** A ClusterRole's effective rules: its own, or for an aggregated role the union of the selected roles' rules. */
export function clusterRoleRules(role: any, clusterRoles: readonly any[], seen: Set<string> = new Set()): PolicyRule[] {
  const selectors: Selector[] | undefined = role?.aggregationRule?.clusterRoleSelectors;
  if (!selectors) return role?.rules ?? [];
  const name = role?.metadata?.name;
  seen.add(name);
  const out: PolicyRule[] = [];
  for (const other of clusterRoles) {
    const otherName = other?.metadata?.name;
    if (seen.has(otherName)) continue;
    if (!selectors.some((sel) => labelsMatch(sel, other?.metadata?.labels))) continue;
    out.push(...clusterRoleRules(other, clusterRoles, new Set(seen)));
  }
  return out;
}

/** ClusterRoles by name, per list (the server hands the same list to every request until RBAC objects change). */
const byNameCache = new WeakMap<readonly any[], Map<string, any>>();
function clusterRolesByName(list: readonly any[]): Map<string, any> {
  let m = byNameCache.get(list);
  if (!m) {
    m = new Map();
    for (const cr of list) m.set(cr?.metadata?.name, cr);
    byNameCache.set(list, m);
  }
  return m;
}

/** Every (binding, rules) pair that applies to `user` for a request in `namespace` (cluster-wide first). */
function* grantsFor(user: UserInfo, namespace: string | undefined, rbac: RbacObjects): Generator<Grant> {
  const clusterRoles = clusterRolesByName(rbac.clusterRoles ?? []);
  const allClusterRoles = rbac.clusterRoles ?? [];
  for (const b of rbac.clusterRoleBindings ?? []) {
    const ref = b?.roleRef;
    if (!ref || ref.kind !== 'ClusterRole') continue;
    const s = (b.subjects ?? []).find((x: Subject) => subjectMatches(user, x, ''));
    if (!s) continue;
    const role = clusterRoles.get(ref.name);
    if (!role) continue;
    yield {
      source: `ClusterRoleBinding ${JSON.stringify(b.metadata?.name)} of ClusterRole ${JSON.stringify(ref.name)} to ${describeSubject(s, '')}`,
      rules: clusterRoleRules(role, allClusterRoles),
    };
  }
  if (!namespace) return;
  const roles = new Map<string, any>();
  for (const r of rbac.roles ?? []) if (r?.metadata?.namespace === namespace) roles.set(r.metadata.name, r);
  for (const b of rbac.roleBindings ?? []) {
    if (b?.metadata?.namespace !== namespace) continue;
    const ref = b.roleRef;
    if (!ref) continue;
    const s = (b.subjects ?? []).find((x: Subject) => subjectMatches(user, x, namespace));
    if (!s) continue;
    const role = ref.kind === 'Role' ? roles.get(ref.name) : ref.kind === 'ClusterRole' ? clusterRoles.get(ref.name) : undefined;
    if (!role) continue;
    yield {
      source: `RoleBinding ${JSON.stringify(`${b.metadata.name}/${namespace}`)} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(s, namespace)}`,
      rules: ref.kind === 'ClusterRole' ? clusterRoleRules(role, allClusterRoles) : role.rules ?? [],
    };
  }
}

/**
 * The RBAC decision. `reason` is kube's: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to User "z"`
 * when allowed, "" when denied (the real authorizer gives no reason then) or when allowed as system:masters.
 */
export function authorize(attrs: RequestAttributes, rbac: RbacObjects): { allowed: boolean; reason: string } {
  if (attrs.user.groups.includes(GROUP_MASTERS)) return { allowed: true, reason: '' };
  const ns = attrs.resourceRequest ? attrs.namespace || undefined : undefined;
  for (const g of grantsFor(attrs.user, ns, rbac)) {
    for (const rule of g.rules) {
      if (ruleAllows(attrs, rule)) return { allowed: true, reason: `RBAC: allowed by ${g.source}` };
    }
  }
  return { allowed: false, reason: '' };
}

/** The rules that apply to `user` in `namespace` (cluster-wide ones included), for SelfSubjectRulesReview. */
export function rulesFor(user: UserInfo, namespace: string | undefined, rbac: RbacObjects): PolicyRule[] {
  // like kube's rule resolver, no shortcut for system:masters: its rules come from the cluster-admin binding
  const out: PolicyRule[] = [];
  for (const g of grantsFor(user, namespace, rbac)) out.push(...g.rules);
  return out;
}

/**
 * SelfSubjectRulesReview status (`kubectl auth can-i --list`): the rules that apply to `user` in `namespace`.
 */
export function rulesReview(user: UserInfo, namespace: string | undefined, rbac: RbacObjects): {
  resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[];
  nonResourceRules: { verbs: string[]; nonResourceURLs: string[] }[];
  incomplete: boolean;
} {
  const resourceRules: { verbs: string[]; apiGroups?: string[]; resources?: string[]; resourceNames?: string[] }[] = [];
  const nonResourceRules: { verbs: string[]; nonResourceURLs: string[] }[] = [];
  for (const r of rulesFor(user, namespace, rbac)) {
    if (r.nonResourceURLs?.length) nonResourceRules.push({ verbs: [...(r.verbs ?? [])], nonResourceURLs: [...r.nonResourceURLs] });
    if (r.resources?.length) {
      resourceRules.push({
        verbs: [...(r.verbs ?? [])],
        ...(r.apiGroups ? { apiGroups: [...r.apiGroups] } : {}),
        resources: [...r.resources],
        ...(r.resourceNames?.length ? { resourceNames: [...r.resourceNames] } : {}),
      });
    }
  }
  return { resourceRules, nonResourceRules, incomplete: false };
}

function groupResource(attrs: RequestAttributes): string {
  return attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
}

/**
 * kube-apiserver's Forbidden message, exactly:
 *   secrets "blogsecret" is forbidden: User "alice" cannot delete resource "secrets" in API group "" in the namespace "platform"
 *   secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" at the cluster scope
 *   forbidden: User "alice" cannot get path "/logs"
 * A non-empty authorizer `reason` is appended after ": " as the real server does.
 */
export function forbiddenMessage(attrs: RequestAttributes, reason = ''): string {
  const username = attrs.user?.username ?? '';
  let inner: string;
  if (!attrs.resourceRequest) {
    inner = `User ${JSON.stringify(username)} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  } else {
    const res = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    inner = attrs.namespace
      ? `User ${JSON.stringify(username)} cannot ${attrs.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(attrs.apiGroup)} in the namespace ${JSON.stringify(attrs.namespace)}`
      : `User ${JSON.stringify(username)} cannot ${attrs.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(attrs.apiGroup)} at the cluster scope`;
  }
  if (reason) inner = `${inner}: ${reason}`;
  if (!attrs.resourceRequest || !attrs.resource) return `forbidden: ${inner}`;
  return attrs.name ? `${groupResource(attrs)} ${JSON.stringify(attrs.name)} is forbidden: ${inner}` : `${groupResource(attrs)} is forbidden: ${inner}`;
}

/** The full 403 Status body the real server sends for an authorization denial. */
export function forbiddenStatus(attrs: RequestAttributes, reason = ''): {
  kind: 'Status'; apiVersion: 'v1'; metadata: Record<string, never>; status: 'Failure'; message: string; reason: 'Forbidden';
  details: { name?: string; group?: string; kind?: string }; code: 403;
} {
  const details: { name?: string; group?: string; kind?: string } = {};
  if (attrs.resourceRequest && attrs.resource) {
    if (attrs.name) details.name = attrs.name;
    if (attrs.apiGroup) details.group = attrs.apiGroup;
    details.kind = attrs.resource;
  }
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: forbiddenMessage(attrs, reason), reason: 'Forbidden', details, code: 403 };
}

/**
 * SubjectAccessReview evaluation (authorization.k8s.io/v1, used by `kubectl auth can-i`): `spec` is the
 * review's spec (resourceAttributes or nonResourceAttributes); returns the review's `status`.
 * For SelfSubjectAccessReview pass the requesting user.
 */
export function reviewAccess(user: UserInfo, spec: any, rbac: RbacObjects): { allowed: boolean; denied?: boolean; reason?: string } {
  const ra = spec?.resourceAttributes;
  const nra = spec?.nonResourceAttributes;
  let attrs: RequestAttributes;
  if (ra) {
    attrs = {
      user, verb: ra.verb ?? '', apiGroup: ra.group ?? '', resource: ra.resource ?? '',
      ...(ra.subresource ? { subresource: ra.subresource } : {}),
      ...(ra.namespace ? { namespace: ra.namespace } : {}),
      ...(ra.name ? { name: ra.name } : {}),
      path: '', resourceRequest: true,
    };
  } else if (nra) {
    attrs = { user, verb: nra.verb ?? '', apiGroup: '', resource: '', path: nra.path ?? '', resourceRequest: false };
  } else {
    throw new Error('spec: exactly one of resourceAttributes or nonResourceAttributes must be set');
  }
  const d = authorize(attrs, rbac);
  return d.allowed ? { allowed: true, ...(d.reason ? { reason: d.reason } : {}) } : { allowed: false };
}

const BOOTSTRAP_META = (name: string) => ({
  name,
  labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' },
});

const clusterRole = (name: string, rules: PolicyRule[], labels: Record<string, string> = {}) => {
  const meta = BOOTSTRAP_META(name);
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { ...meta, labels: { ...meta.labels, ...labels } }, rules };
};

const clusterRoleBinding = (name: string, role: string, subjects: Subject[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: BOOTSTRAP_META(name),
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
  subjects: subjects.map((s) => ({ apiGroup: 'rbac.authorization.k8s.io', ...s })),
});

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

/** view: read everything the cluster serves except Secrets (as the real `view`) and RBAC. */
const VIEW_RULES: PolicyRule[] = [
  { apiGroups: [''], resources: ['configmaps', 'endpoints', 'persistentvolumeclaims', 'pods', 'replicationcontrollers', 'serviceaccounts', 'services', 'events', 'limitranges', 'resourcequotas', 'namespaces', 'namespaces/status', 'pods/log', 'pods/status'], verbs: READ },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status', 'daemonsets', 'daemonsets/status', 'controllerrevisions'], verbs: READ },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: READ },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: READ },
];

/** edit adds: reading Secrets, writes to workloads, config and Secrets; no RBAC, no namespaces. */
const EDIT_ONLY_RULES: PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: READ },
  { apiGroups: [''], resources: ['configmaps', 'secrets', 'serviceaccounts', 'services', 'pods', 'persistentvolumeclaims', 'events', 'replicationcontrollers'], verbs: WRITE },
  { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
  { apiGroups: ['apps'], resources: ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets'], verbs: WRITE },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: WRITE },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: WRITE },
  { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: WRITE },
];

/** admin adds: namespaced RBAC and local access reviews. */
const ADMIN_ONLY_RULES: PolicyRule[] = [
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
  { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
];

const AGG = 'rbac.authorization.k8s.io/aggregate-to-';
const aggregated = (name: string, selectLabel: string, rules: PolicyRule[], labels: Record<string, string> = {}) => ({
  ...clusterRole(name, rules, labels),
  aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [selectLabel]: 'true' } }] },
});

/**
 * The bootstrap RBAC objects a fresh cluster starts with (a faithful subset of kube-apiserver's): the
 * cluster-admin/admin/edit/view ClusterRoles, cluster-admin bound to `system:masters`, and
 * system:basic-user, system:discovery and system:public-info-viewer bound to `system:authenticated`.
 */
export const BOOTSTRAP_RBAC: any[] = [
  clusterRole('cluster-admin', [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ]),
  // admin/edit/view aggregate as in a real cluster; their stored rules are what the aggregation controller writes
  aggregated('admin', `${AGG}admin`, [...ADMIN_ONLY_RULES, ...EDIT_ONLY_RULES, ...VIEW_RULES]),
  aggregated('edit', `${AGG}edit`, [...EDIT_ONLY_RULES, ...VIEW_RULES], { [`${AGG}admin`]: 'true' }),
  aggregated('view', `${AGG}view`, VIEW_RULES, { [`${AGG}edit`]: 'true' }),
  clusterRole('system:aggregate-to-admin', ADMIN_ONLY_RULES, { [`${AGG}admin`]: 'true' }),
  clusterRole('system:aggregate-to-edit', EDIT_ONLY_RULES, { [`${AGG}edit`]: 'true' }),
  clusterRole('system:aggregate-to-view', VIEW_RULES, { [`${AGG}view`]: 'true' }),
  clusterRole('system:basic-user', [
    { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
    { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
  ]),
  clusterRole('system:discovery', [
    { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] },
  ]),
  clusterRole('system:public-info-viewer', [
    { nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] },
  ]),
  clusterRoleBinding('cluster-admin', 'cluster-admin', [{ kind: 'Group', name: GROUP_MASTERS }]),
  clusterRoleBinding('system:basic-user', 'system:basic-user', [{ kind: 'Group', name: 'system:authenticated' }]),
  clusterRoleBinding('system:discovery', 'system:discovery', [{ kind: 'Group', name: 'system:authenticated' }]),
  clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [
    { kind: 'Group', name: 'system:authenticated' }, { kind: 'Group', name: 'system:unauthenticated' },
  ]),
];

// ---------- privilege-escalation prevention (k8s.io/kubernetes/pkg/registry/rbac/validation) ----------

/** BreakdownRule: one rule per (group, resource, verb[, name]) and per (url, verb). */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        if (rule.resourceNames?.length) {
          for (const n of rule.resourceNames) out.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [n] });
        } else {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs ?? []) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

const hasAll = (set: string[] | undefined, want: string[] | undefined): boolean => (want ?? []).every((w) => has(set, w));

function resourceCoversAll(set: string[] | undefined, want: string[] | undefined): boolean {
  if (has(set, '*')) return true;
  for (const r of want ?? []) {
    if (has(set, r)) continue;
    const slash = r.indexOf('/');
    if (slash >= 0 && has(set, `*${r.slice(slash)}`)) continue;
    return false;
  }
  return true;
}

function nonResourceURLsCoverAll(set: string[] | undefined, want: string[] | undefined): boolean {
  return (want ?? []).every((u) => (set ?? []).some((s) => s === u || s === '*' || (s.endsWith('*') && u.startsWith(s.slice(0, -1)))));
}

function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groups = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const names = sub.resourceNames?.length ? !owner.resourceNames?.length || hasAll(owner.resourceNames, sub.resourceNames) : !owner.resourceNames?.length;
  return verbs && groups && resourceCoversAll(owner.resources, sub.resources) && names && nonResourceURLsCoverAll(owner.nonResourceURLs, sub.nonResourceURLs);
}

/** Covers: the atomic rules of `requested` that `owner` does not cover. */
export function uncoveredRules(owner: PolicyRule[], requested: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const r of requested) for (const sub of breakdownRule(r)) if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
  return missing;
}

/** Go's %q of a []string: `["a" "b"]`. */
const goQuoteList = (l: string[]): string => `[${l.map((x) => JSON.stringify(x)).join(' ')}]`;

/** rbacv1helpers.CompactString. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoteList(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoteList(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoteList(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoteList(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoteList(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** CompactRules: atomic rules of the same group/resource/name merge their verbs. */
function compactRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple = !r.nonResourceURLs?.length && r.apiGroups?.length === 1 && r.resources?.length === 1 && (r.resourceNames?.length ?? 0) <= 1;
    if (!isSimple) { out.push(r); continue; }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? null]);
    const cur = simple.get(key);
    if (cur) cur.verbs = [...(cur.verbs ?? []), ...(r.verbs ?? [])];
    else simple.set(key, structuredClone(r));
  }
  return [...out, ...simple.values()];
}

/**
 * The API server's RBAC escalation check for writes to roles, clusterroles, rolebindings and clusterrolebindings
 * (create, or update changing more than metadata): returns the Forbidden reason, or null when allowed. The caller
 * answers `forbidden(resource, name, reason)` (403), e.g.
 *   roles.rbac.authorization.k8s.io "x" is forbidden: user "alice" (groups=["system:authenticated"]) is attempting
 *   to grant RBAC permissions not currently held:
 *   {APIGroups:[""], Resources:["secrets"], Verbs:["get"]}
 * As the real server: system:masters may always; a user allowed `escalate` on the (cluster)role may write any
 * rules; a user allowed `bind` on the referenced role may bind it; otherwise the user must already hold every
 * permission granted (in the object's namespace). `rbac` must hold the cluster roles and the namespace's roles.
 */
export function escalationCheck(user: UserInfo, resource: string, obj: any, rbac: RbacObjects): string | null {
  if (user.groups.includes(GROUP_MASTERS)) return null;
  const namespace: string | undefined = obj?.metadata?.namespace || undefined;
  const name: string | undefined = obj?.metadata?.name;
  const may = (verb: string, res: string, n?: string): boolean => authorize({
    user, verb, apiGroup: 'rbac.authorization.k8s.io', resource: res, ...(namespace ? { namespace } : {}), ...(n ? { name: n } : {}), path: '', resourceRequest: true,
  }, rbac).allowed;
  let requested: PolicyRule[];
  if (resource === 'roles' || resource === 'clusterroles') {
    if (resource === 'clusterroles' && obj?.aggregationRule) {
      return may('escalate', resource, name) ? null : 'must have cluster-admin privileges to use the aggregationRule';
    }
    if (may('escalate', resource, name)) return null;
    requested = obj?.rules ?? [];
  } else if (resource === 'rolebindings' || resource === 'clusterrolebindings') {
    const ref = obj?.roleRef ?? {};
    const refResource = ref.kind === 'Role' ? 'roles' : 'clusterroles';
    if (may('bind', refResource, ref.name)) return null;
    const role = ref.kind === 'Role'
      ? (rbac.roles ?? []).find((r) => r?.metadata?.namespace === namespace && r?.metadata?.name === ref.name)
      : (rbac.clusterRoles ?? []).find((r) => r?.metadata?.name === ref.name);
    if (!role) return null; // a binding to a missing role grants nothing yet (the real server allows it)
    requested = ref.kind === 'Role' ? role.rules ?? [] : clusterRoleRules(role, rbac.clusterRoles ?? []);
  } else {
    return null;
  }
  const missing = uncoveredRules(rulesFor(user, namespace, rbac), requested);
  if (missing.length === 0) return null;
  const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
  return `user ${JSON.stringify(user.username)} (groups=${goQuoteList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
}
