import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../../../../infra/local/cluster/auth.ts';
import { serviceAccountUser } from '../../../../../infra/local/cluster/auth.ts';
import {
  authorize, BOOTSTRAP_RBAC, clusterRoleRules, compactString, escalationCheck, forbiddenMessage, uncoveredRules, forbiddenStatus, reviewAccess, rulesFor, rulesReview,
  type RbacObjects, type RequestAttributes,
} from '../../../../../infra/local/cluster/rbac.ts';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const user = (username: string, groups: string[] = []): UserInfo => ({ username, groups: [...groups, 'system:authenticated'] });
const alice = user('alice');
const bob = user('bob', ['team-b']);
const builder = serviceAccountUser('ci', 'builder');

/** Prepare: a small cluster's RBAC (bootstrap + ours). */
const objects: any[] = [
  ...BOOTSTRAP_RBAC,
  // alice: read secrets in platform, delete only blogsecret there
  { kind: 'Role', metadata: { name: 'secret-reader', namespace: 'platform' }, rules: [
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: ['blogsecret'], verbs: ['delete', 'update', 'list'] },
  ] },
  { kind: 'RoleBinding', metadata: { name: 'alice-secrets', namespace: 'platform' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'User', name: 'alice', apiGroup: RBAC_GROUP }] },
  // team-b group: the bootstrap `edit` ClusterRole, but only in namespace team-b (RoleBinding to a ClusterRole)
  { kind: 'RoleBinding', metadata: { name: 'team-b-edit', namespace: 'team-b' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'Group', name: 'team-b', apiGroup: RBAC_GROUP }] },
  // a ClusterRole with subresources and wildcards, bound cluster-wide to a ServiceAccount
  { kind: 'ClusterRole', metadata: { name: 'scaler' }, rules: [
    { apiGroups: ['apps'], resources: ['deployments/scale', '*/status'], verbs: ['get', 'update', 'patch'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['/metrics', '/logs/*'], verbs: ['get'] },
  ] },
  { kind: 'ClusterRoleBinding', metadata: { name: 'builder-scaler' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: 'scaler' }, subjects: [{ kind: 'ServiceAccount', name: 'builder', namespace: 'ci' }] },
  // a RoleBinding naming a ServiceAccount without namespace: defaults to the binding's namespace
  { kind: 'Role', metadata: { name: 'cm-writer', namespace: 'ci' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create'] }] },
  { kind: 'RoleBinding', metadata: { name: 'builder-cm', namespace: 'ci' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'cm-writer' }, subjects: [{ kind: 'ServiceAccount', name: 'builder' }] },
  // a RoleBinding in ci that points at a Role of another namespace's name: Roles resolve in the binding's namespace only
  { kind: 'RoleBinding', metadata: { name: 'alice-foreign', namespace: 'ci' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'User', name: 'alice' }] },
  // a ClusterRoleBinding to a Role is never honoured
  { kind: 'ClusterRoleBinding', metadata: { name: 'bad-ref' },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'secret-reader' }, subjects: [{ kind: 'User', name: 'bob' }] },
];
const rbac: RbacObjects = {
  roles: objects.filter((o) => o.kind === 'Role'),
  clusterRoles: objects.filter((o) => o.kind === 'ClusterRole'),
  roleBindings: objects.filter((o) => o.kind === 'RoleBinding'),
  clusterRoleBindings: objects.filter((o) => o.kind === 'ClusterRoleBinding'),
};

function req(u: UserInfo, verb: string, resource: string, opts: Partial<RequestAttributes> = {}): RequestAttributes {
  const [res, sub] = resource.split('/');
  return { user: u, verb, apiGroup: '', resource: res, ...(sub ? { subresource: sub } : {}), path: '/x', resourceRequest: true, ...opts };
}

describe('authorize', () => {
  it.each([
    // [case, attributes, allowed]
    ['role: get secret in platform', req(alice, 'get', 'secrets', { namespace: 'platform', name: 'other' }), true],
    ['role: list secrets in platform', req(alice, 'list', 'secrets', { namespace: 'platform' }), true],
    ['role: secrets in another namespace', req(alice, 'get', 'secrets', { namespace: 'default', name: 'x' }), false],
    ['role: all-namespaces list is cluster scope', req(alice, 'list', 'secrets'), false],
    ['resourceNames: delete the named secret', req(alice, 'delete', 'secrets', { namespace: 'platform', name: 'blogsecret' }), true],
    ['resourceNames: delete another secret', req(alice, 'delete', 'secrets', { namespace: 'platform', name: 'other' }), false],
    ['resourceNames: deletecollection carries no name', req(alice, 'deletecollection', 'secrets', { namespace: 'platform' }), false],
    ['resourceNames: create carries no name', req(alice, 'create', 'secrets', { namespace: 'platform' }), false],
    ['resourceNames: update by name', req(alice, 'update', 'secrets', { namespace: 'platform', name: 'blogsecret' }), true],
    ['verb not granted', req(alice, 'patch', 'secrets', { namespace: 'platform', name: 'blogsecret' }), false],
    ['api group mismatch', req(alice, 'get', 'secrets', { namespace: 'platform', name: 'x', apiGroup: 'apps' }), false],
    ['subresource not granted by the plain resource', req(alice, 'get', 'secrets/status', { namespace: 'platform', name: 'x' }), false],
    ['Role ref resolves only in the binding namespace', req(alice, 'get', 'secrets', { namespace: 'ci', name: 'x' }), false],
    ['ClusterRole via RoleBinding: edit writes configmaps in team-b', req(bob, 'create', 'configmaps', { namespace: 'team-b' }), true],
    ['ClusterRole via RoleBinding: edit reads secrets in team-b', req(bob, 'get', 'secrets', { namespace: 'team-b', name: 's' }), true],
    ['ClusterRole via RoleBinding: not elsewhere', req(bob, 'create', 'configmaps', { namespace: 'default' }), false],
    ['ClusterRole via RoleBinding: not cluster-wide', req(bob, 'list', 'configmaps'), false],
    ['edit cannot write roles', req(bob, 'create', 'roles', { namespace: 'team-b', apiGroup: RBAC_GROUP }), false],
    ['ClusterRoleBinding to a Role is ignored', req(bob, 'get', 'secrets', { namespace: 'platform', name: 'blogsecret' }), false],
    ['subresource rule', req(builder, 'update', 'deployments/scale', { namespace: 'x', name: 'd', apiGroup: 'apps' }), true],
    ['subresource rule does not grant the resource', req(builder, 'update', 'deployments', { namespace: 'x', name: 'd', apiGroup: 'apps' }), false],
    ['*/status matches any status subresource', req(builder, 'patch', 'statefulsets/status', { namespace: 'x', name: 's', apiGroup: 'apps' }), true],
    ['*/status does not match other subresources', req(builder, 'patch', 'statefulsets/scale', { namespace: 'x', name: 's', apiGroup: 'apps' }), false],
    ['resource * and verb * in a group', req(builder, 'deletecollection', 'leases', { namespace: 'kube-system', apiGroup: 'coordination.k8s.io' }), true],
    ['resource * includes subresources', req(builder, 'get', 'leases/status', { namespace: 'a', name: 'l', apiGroup: 'coordination.k8s.io' }), true],
    ['wildcards stay inside their group', req(builder, 'get', 'secrets', { namespace: 'ci', name: 'x' }), false],
    ['ServiceAccount subject without namespace = binding namespace', req(builder, 'create', 'configmaps', { namespace: 'ci' }), true],
    ['same SA name in another namespace is another user', req(serviceAccountUser('other', 'builder'), 'create', 'configmaps', { namespace: 'ci' }), false],
    ['SA user name must match exactly', req(user('system:serviceaccount:ci:builder2'), 'update', 'deployments/scale', { namespace: 'x', name: 'd', apiGroup: 'apps' }), false],
    ['non-resource exact URL', { user: builder, verb: 'get', apiGroup: '', resource: '', path: '/metrics', resourceRequest: false }, true],
    ['non-resource prefix URL', { user: builder, verb: 'get', apiGroup: '', resource: '', path: '/logs/kube.log', resourceRequest: false }, true],
    ['non-resource prefix needs the prefix', { user: builder, verb: 'get', apiGroup: '', resource: '', path: '/logsx', resourceRequest: false }, false],
    ['non-resource verb', { user: builder, verb: 'post', apiGroup: '', resource: '', path: '/metrics', resourceRequest: false }, false],
    ['bootstrap discovery for authenticated users', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/apis/apps/v1', resourceRequest: false }, true],
    ['bootstrap discovery /openapi/v3', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/openapi/v3/api/v1', resourceRequest: false }, true],
    ['bootstrap basic-user: selfsubjectaccessreviews', req(alice, 'create', 'selfsubjectaccessreviews', { apiGroup: 'authorization.k8s.io' }), true],
    ['unauthenticated user has no discovery', { user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, verb: 'get', apiGroup: '', resource: '', path: '/apis', resourceRequest: false }, false],
    ['unauthenticated user may read /version', { user: { username: 'system:anonymous', groups: ['system:unauthenticated'] }, verb: 'get', apiGroup: '', resource: '', path: '/version', resourceRequest: false }, true],
    ['system:masters may do anything', req(user('admin', ['system:masters']), 'delete', 'namespaces', { name: 'kube-system' }), true],
    ['nobody else gets cluster-admin', req(user('mallory', ['system:master']), 'delete', 'namespaces', { name: 'kube-system' }), false],
  ] as [string, RequestAttributes, boolean][])('%s', (_case, attrs, allowed) => {
    // Act
    const d = authorize(attrs, rbac);
    // Assess
    expect(d.allowed).toBe(allowed);
  });

  it('names the binding that allowed, in kube-apiserver words', () => {
    expect(authorize(req(alice, 'get', 'secrets', { namespace: 'platform', name: 'x' }), rbac).reason)
      .toBe('RBAC: allowed by RoleBinding "alice-secrets/platform" of Role "secret-reader" to User "alice"');
    expect(authorize(req(builder, 'update', 'deployments/scale', { namespace: 'x', name: 'd', apiGroup: 'apps' }), rbac).reason)
      .toBe('RBAC: allowed by ClusterRoleBinding "builder-scaler" of ClusterRole "scaler" to ServiceAccount "builder/ci"');
    expect(authorize(req(alice, 'delete', 'secrets', { namespace: 'platform', name: 'x' }), rbac)).toEqual({ allowed: false, reason: '' });
  });

  it('does not crash on partial objects (missing subjects, roleRef, rules)', () => {
    const broken: RbacObjects = {
      roles: [{ metadata: { name: 'r', namespace: 'a' } }],
      clusterRoles: [{ metadata: { name: 'c' } }],
      roleBindings: [{ metadata: { name: 'b', namespace: 'a' }, roleRef: { kind: 'Role', name: 'r' } }, { metadata: { name: 'c', namespace: 'a' } }],
      clusterRoleBindings: [{ metadata: { name: 'd' }, roleRef: { kind: 'ClusterRole', name: 'c' }, subjects: [{ kind: 'User', name: 'alice' }] }],
    };
    expect(authorize(req(alice, 'get', 'secrets', { namespace: 'a', name: 'x' }), broken).allowed).toBe(false);
  });
});

describe('forbiddenMessage', () => {
  it.each([
    ['named, namespaced', req(alice, 'delete', 'secrets', { namespace: 'platform', name: 'blogsecret' }),
      'secrets "blogsecret" is forbidden: User "alice" cannot delete resource "secrets" in API group "" in the namespace "platform"'],
    ['list in a namespace', req(alice, 'list', 'secrets', { namespace: 'platform' }),
      'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" in the namespace "platform"'],
    ['list across namespaces', req(alice, 'list', 'secrets'),
      'secrets is forbidden: User "alice" cannot list resource "secrets" in API group "" at the cluster scope'],
    ['cluster-scoped named, with group', req(alice, 'get', 'clusterroles', { name: 'admin', apiGroup: RBAC_GROUP }),
      'clusterroles.rbac.authorization.k8s.io "admin" is forbidden: User "alice" cannot get resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'],
    ['subresource', req(alice, 'patch', 'deployments/scale', { namespace: 'a', name: 'web', apiGroup: 'apps' }),
      'deployments.apps "web" is forbidden: User "alice" cannot patch resource "deployments/scale" in API group "apps" in the namespace "a"'],
    ['impersonation', req(alice, 'impersonate', 'users', { name: 'bob' }),
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope'],
    ['non-resource', { user: alice, verb: 'get', apiGroup: '', resource: '', path: '/metrics', resourceRequest: false },
      'forbidden: User "alice" cannot get path "/metrics"'],
  ] as [string, RequestAttributes, string][])('%s', (_case, attrs, text) => {
    expect(forbiddenMessage(attrs)).toBe(text);
  });

  it('builds the full 403 Status', () => {
    const s = forbiddenStatus(req(alice, 'get', 'deployments', { namespace: 'a', name: 'web', apiGroup: 'apps' }));
    expect(s).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, details: { name: 'web', group: 'apps', kind: 'deployments' } });
  });
});

describe('reviewAccess (SubjectAccessReview)', () => {
  it.each([
    [{ resourceAttributes: { verb: 'delete', resource: 'secrets', namespace: 'platform', name: 'blogsecret' } }, true],
    [{ resourceAttributes: { verb: 'delete', resource: 'secrets', namespace: 'platform' } }, false],
    [{ resourceAttributes: { verb: 'get', group: 'apps', resource: 'deployments', namespace: 'platform' } }, false],
    [{ nonResourceAttributes: { verb: 'get', path: '/api' } }, true],
  ])('%j -> %s', (spec, allowed) => {
    expect(reviewAccess(alice, spec, rbac).allowed).toBe(allowed);
  });

  it('rejects a spec without attributes, naming the field', () => {
    expect(() => reviewAccess(alice, {}, rbac)).toThrow(/resourceAttributes or nonResourceAttributes/);
  });

  it('lists the rules that apply in a namespace', () => {
    const rules = rulesFor(alice, 'platform', rbac);
    expect(rules.some((r) => r.resourceNames?.includes('blogsecret'))).toBe(true);
    expect(rulesFor(alice, 'default', rbac).some((r) => r.resources?.includes('secrets'))).toBe(false);
  });

  it('answers a SelfSubjectRulesReview', () => {
    const s = rulesReview(alice, 'platform', rbac);
    expect(s.incomplete).toBe(false);
    expect(s.resourceRules).toContainEqual({ verbs: ['delete', 'update', 'list'], apiGroups: [''], resources: ['secrets'], resourceNames: ['blogsecret'] });
    expect(s.nonResourceRules.some((r) => r.nonResourceURLs.includes('/api'))).toBe(true);
  });
});

describe('ClusterRole aggregation', () => {
  const AGG = 'rbac.authorization.k8s.io/aggregate-to-';
  // Prepare: a product ClusterRole that joins the bootstrap `view` (and hence edit and admin) by label
  const extra = { kind: 'ClusterRole', metadata: { name: 'widgets-view', labels: { [`${AGG}view`]: 'true' } },
    rules: [{ apiGroups: ['example.com'], resources: ['widgets'], verbs: ['get'] }] };
  const custom = { kind: 'ClusterRole', metadata: { name: 'custom' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
    aggregationRule: { clusterRoleSelectors: [{ matchExpressions: [{ key: 'team', operator: 'In', values: ['a'] }] }] } };
  const teamA = { kind: 'ClusterRole', metadata: { name: 'team-a', labels: { team: 'a' } }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] };
  const clusterRoles = [...rbac.clusterRoles, extra, custom, teamA];
  const withBindings: RbacObjects = {
    ...rbac,
    clusterRoles,
    clusterRoleBindings: [...rbac.clusterRoleBindings, ...['view', 'edit', 'admin', 'custom'].map((r) => ({
      kind: 'ClusterRoleBinding', metadata: { name: `${r}-binding` }, roleRef: { kind: 'ClusterRole', name: r }, subjects: [{ kind: 'User', name: `${r}-user` }],
    }))],
  };

  it.each([
    ['view', 'get', 'example.com', 'widgets', true],
    ['edit', 'get', 'example.com', 'widgets', true],
    ['admin', 'get', 'example.com', 'widgets', true],
    ['view', 'get', '', 'secrets', false],
    ['edit', 'get', '', 'secrets', true],
    ['edit', 'create', 'rbac.authorization.k8s.io', 'roles', false],
    ['admin', 'create', 'rbac.authorization.k8s.io', 'roles', true],
    ['custom', 'list', '', 'pods', true],
    ['custom', 'delete', '', 'pods', false], // its own stored rules are overwritten by aggregation
  ])('%s may %s %s/%s: %s', (role, verb, apiGroup, resource, allowed) => {
    expect(authorize(req(user(`${role}-user`), verb, resource, { namespace: 'ns', name: 'x', apiGroup }), withBindings).allowed).toBe(allowed);
  });

  it('survives aggregation cycles', () => {
    const a = { metadata: { name: 'a', labels: { x: '1' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: '1' } }] } };
    const b = { metadata: { name: 'b', labels: { x: '1' } }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: '1' } }] } };
    expect(clusterRoleRules(a, [a, b])).toEqual([]);
  });

  it('bootstrap admin/edit/view store exactly what aggregation computes', () => {
    const crs = BOOTSTRAP_RBAC.filter((o) => o.kind === 'ClusterRole');
    for (const name of ['admin', 'edit', 'view']) {
      const role = crs.find((o) => o.metadata.name === name);
      expect(new Set(clusterRoleRules(role, crs).map((r) => JSON.stringify(r)))).toEqual(new Set(role.rules.map((r: unknown) => JSON.stringify(r))));
    }
  });
});

describe('escalationCheck', () => {
  // Prepare: dana administers namespace team-d through the bootstrap `admin` ClusterRole; erin may bind `view` anywhere
  const dana = user('dana');
  const erin = user('erin');
  const esc: RbacObjects = {
    ...rbac,
    roles: [...rbac.roles, { metadata: { name: 'reader', namespace: 'team-d' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] }],
    roleBindings: [...rbac.roleBindings, { metadata: { name: 'dana-admin', namespace: 'team-d' }, roleRef: { kind: 'ClusterRole', name: 'admin' }, subjects: [{ kind: 'User', name: 'dana' }] }],
    clusterRoles: [...rbac.clusterRoles, { metadata: { name: 'binder' }, rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['view'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterrolebindings'], verbs: ['create'] }] }],
    clusterRoleBindings: [...rbac.clusterRoleBindings, { metadata: { name: 'erin-binder' }, roleRef: { kind: 'ClusterRole', name: 'binder' }, subjects: [{ kind: 'User', name: 'erin' }] }],
  };
  const role = (ns: string, rules: unknown[]) => ({ metadata: { name: 'r', namespace: ns }, rules });
  const binding = (kind: string, ns: string | undefined, refKind: string, refName: string) =>
    ({ kind, metadata: { name: 'b', ...(ns ? { namespace: ns } : {}) }, roleRef: { kind: refKind, name: refName }, subjects: [{ kind: 'User', name: 'x' }] });

  it.each([
    ['a role within her own rights', dana, 'roles', role('team-d', [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]), null],
    ['a role with a named subset of her rights', dana, 'roles', role('team-d', [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: ['web'] }]), null],
    ['a role beyond her rights', dana, 'roles', role('team-d', [{ apiGroups: [''], resources: ['secrets', 'nodes'], verbs: ['get', 'list'] }]),
      'user "dana" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get" "list"]}'],
    ['a role in another namespace', dana, 'roles', role('team-e', [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }]),
      'user "dana" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["configmaps"], Verbs:["get"]}'],
    ['binding a role she holds', dana, 'rolebindings', binding('RoleBinding', 'team-d', 'Role', 'reader'), null],
    ['binding edit in her namespace (admin covers edit)', dana, 'rolebindings', binding('RoleBinding', 'team-d', 'ClusterRole', 'edit'), null],
    ['binding cluster-admin', dana, 'rolebindings', binding('RoleBinding', 'team-d', 'ClusterRole', 'cluster-admin'),
      'user "dana" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}'],
    ['binding a missing role', dana, 'rolebindings', binding('RoleBinding', 'team-d', 'Role', 'nope'), null],
    ['bind verb on the role', erin, 'clusterrolebindings', binding('ClusterRoleBinding', undefined, 'ClusterRole', 'view'), null],
    ['bind verb is per name', erin, 'clusterrolebindings', binding('ClusterRoleBinding', undefined, 'ClusterRole', 'edit'), 'attempting to grant'],
    ['aggregationRule needs escalate', dana, 'clusterroles', { metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [] } }, 'must have cluster-admin privileges to use the aggregationRule'],
    ['system:masters may grant anything', user('root', ['system:masters']), 'clusterroles', { metadata: { name: 'c' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] }, null],
    ['other resources are not checked', dana, 'secrets', { metadata: { name: 's', namespace: 'team-d' } }, null],
  ])('%s', (_case, who, resource, obj, expected) => {
    const got = escalationCheck(who, resource, obj, esc);
    if (expected === null || !String(expected).startsWith('attempting')) expect(got).toBe(expected);
    else expect(got).toContain(expected);
  });

  it('covers subresource and URL wildcards as the real Covers does', () => {
    expect(uncoveredRules([{ apiGroups: ['apps'], resources: ['*/scale'], verbs: ['*'] }], [{ apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get'] }])).toEqual([]);
    expect(uncoveredRules([{ nonResourceURLs: ['/logs/*'], verbs: ['get'] }], [{ nonResourceURLs: ['/logs/a', '/metrics'], verbs: ['get'] }])).toEqual([{ nonResourceURLs: ['/metrics'], verbs: ['get'] }]);
    expect(compactString({ apiGroups: [''], resources: ['secrets'], resourceNames: ['a'], verbs: ['get', 'list'] })).toBe('{APIGroups:[""], Resources:["secrets"], ResourceNames:["a"], Verbs:["get" "list"]}');
  });
});
