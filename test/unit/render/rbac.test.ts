import { describe, expect, it } from 'vitest';
import { authorize, type RbacObjects } from '../../../infra/local/cluster/rbac.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { handlerClusterRoles, renderRbac, RBAC_TABLE } from '../../../render/rbac.ts';

// The rendered RBAC, judged by the embedded cluster's RBAC authorizer.
const objs = renderRbac(loadPolicies('policies'));
const rbac: RbacObjects = {
  roles: objs.filter((o) => o.kind === 'Role'),
  clusterRoles: objs.filter((o) => o.kind === 'ClusterRole'),
  roleBindings: objs.filter((o) => o.kind === 'RoleBinding'),
  clusterRoleBindings: objs.filter((o) => o.kind === 'ClusterRoleBinding'),
};
const groupUser = (g: string) => ({ username: `ripple-${g.split(':')[1]}`, groups: [g, 'system:authenticated'] });
const who = {
  clone: groupUser('ripple:clone'),
  rollout: groupUser('ripple:rollout'),
  protect: groupUser('ripple:protect'),
  forwarder: { username: 'system:serviceaccount:ripple-system:ripple-forwarder', groups: ['system:serviceaccounts', 'system:serviceaccounts:ripple-system', 'system:authenticated'] },
  other: { username: 'system:serviceaccount:team-a:default', groups: ['system:serviceaccounts', 'system:authenticated'] },
};

// [who, verb, apiGroup, resource, namespace, name, allowed]
const rows: [keyof typeof who, string, string, string, string | undefined, string | undefined, boolean][] = [
  ['forwarder', 'watch', '', 'secrets', undefined, undefined, true],
  ['forwarder', 'list', '', 'namespaces', undefined, undefined, true],
  ['forwarder', 'get', '', 'secrets', 'team-a', 'blogsecret', false],
  ['forwarder', 'update', 'coordination.k8s.io', 'leases', 'ripple-system', 'ripple-forwarder', true],
  ['forwarder', 'update', 'coordination.k8s.io', 'leases', 'ripple-system', 'someone-else', false],
  ['forwarder', 'create', '', 'secrets', 'ripple-system', undefined, true],
  ['forwarder', 'create', '', 'secrets', 'team-a', undefined, false],
  ['forwarder', 'get', '', 'secrets', 'ripple-system', 'ripple-fingerprint-key', true],
  ['forwarder', 'get', '', 'secrets', 'ripple-system', 'ripple-snapshot-blogsecret', false],
  ['clone', 'list', '', 'namespaces', undefined, undefined, true],
  ['clone', 'get', '', 'secrets', 'platform', 'blogsecret', true],
  ['clone', 'list', '', 'secrets', undefined, 'blogsecret', true], // list with fieldSelector metadata.name=blogsecret
  ['clone', 'list', '', 'secrets', undefined, undefined, false], // every Secret: no
  ['clone', 'create', '', 'secrets', 'team-a', undefined, true],
  ['clone', 'update', '', 'secrets', 'team-a', 'blogsecret', true],
  ['clone', 'delete', '', 'secrets', 'team-a', 'blogsecret', true],
  ['clone', 'get', '', 'secrets', 'team-a', 'db-password', false],
  ['clone', 'get', '', 'secrets', 'ripple-system', 'ripple-fingerprint-key', true],
  ['clone', 'get', '', 'configmaps', 'team-a', 'blogsecret', false], // no ConfigMap policy
  ['clone', 'create', '', 'events', 'team-a', undefined, true],
  ['clone', 'patch', 'apps', 'deployments', 'team-a', 'web', false],
  ['rollout', 'list', 'apps', 'deployments', 'team-a', undefined, true],
  ['rollout', 'patch', 'apps', 'statefulsets', 'team-a', 'db', true],
  ['rollout', 'delete', 'apps', 'deployments', 'team-a', 'web', false],
  ['rollout', 'get', '', 'secrets', 'team-a', 'blogsecret', true],
  ['rollout', 'update', '', 'secrets', 'team-a', 'blogsecret', false],
  ['rollout', 'get', '', 'secrets', 'team-a', 'db-password', false],
  ['protect', 'update', '', 'secrets', 'platform', 'blogsecret', true],
  ['protect', 'create', '', 'secrets', 'platform', undefined, true],
  ['protect', 'create', '', 'secrets', 'ripple-system', undefined, true],
  ['protect', 'create', '', 'secrets', 'team-a', undefined, false], // bound only where it acts
  ['protect', 'update', '', 'secrets', 'ripple-system', 'ripple-snapshot-blogsecret', true],
  ['protect', 'get', '', 'secrets', 'ripple-system', 'ripple-fingerprint-key', true],
  ['protect', 'update', '', 'secrets', 'team-a', 'blogsecret', false],
  ['protect', 'get', '', 'secrets', 'platform', 'other', false],
  ['other', 'get', '', 'secrets', 'platform', 'blogsecret', false],
];

describe('rendered RBAC under the real authorizer', () => {
  it.each(rows)('%s %s %s/%s in %s name=%s -> %s', (w, verb, apiGroup, resource, namespace, name, allowed) => {
    const r = authorize({ user: who[w], verb, apiGroup, resource, namespace, name, path: '/', resourceRequest: true }, rbac);
    expect(r.allowed).toBe(allowed);
  });
});

describe('handlerClusterRoles', () => {
  it('without policies: one ClusterRole per handler, not restricted by object name (except ripple\'s own objects)', () => {
    const roles = handlerClusterRoles();
    expect(roles.map((r) => r.metadata.name)).toEqual(['ripple-clone', 'ripple-rollout', 'ripple-protect']);
    const names = roles.flatMap((r) => (r.rules as { resourceNames?: string[] }[]).flatMap((x) => x.resourceNames ?? []));
    expect(new Set(names)).toEqual(new Set(['ripple-fingerprint-key']));
  });

  it('every table row says why', () => {
    const all = [...RBAC_TABLE.forwarderCluster, ...RBAC_TABLE.forwarderNamespace, ...Object.values(RBAC_TABLE.handlers).flat()];
    expect(all.every((r) => r.why.length > 0)).toBe(true);
  });
});
