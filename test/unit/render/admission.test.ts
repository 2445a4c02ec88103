import { describe, expect, it } from 'vitest';
import { admit, expressionErrors, type AdmissionRequest } from '../../../infra/local/cluster/admission.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { NAMESPACE_CONTROLLER_USERS } from '../../../core/constants.ts';
import { renderAdmission, renderIdentityAdmission, renderSystemAdmission } from '../../../render/admission.ts';

// Rendered ValidatingAdmissionPolicies evaluated by the embedded cluster's real CEL admission.
const [blog] = loadPolicies('policies');
const [vap, binding, nsVap, nsBinding] = renderAdmission(blog)!;
const [sysVap, sysBinding] = renderSystemAdmission();

const secret = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: { k: 'dg==' } });
function request(op: AdmissionRequest['operation'], who: { username: string; groups: string[] }, ns = 'platform', name = 'blogsecret', kind = 'Secret', terminating = false): AdmissionRequest {
  const obj = kind === 'Secret' ? secret(ns, name) : { apiVersion: 'v1', kind, metadata: { name, namespace: ns } };
  return {
    operation: op,
    userInfo: who,
    apiGroup: '',
    apiVersion: 'v1',
    kind,
    resource: kind === 'Secret' ? 'secrets' : 'configmaps',
    namespace: ns,
    name,
    object: op === 'DELETE' ? null : obj,
    oldObject: op === 'CREATE' ? null : obj,
    namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns }, ...(terminating ? { deletionTimestamp: '2026-12-04T00:00:00Z' } : {}) } },
  };
}
const admin = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const handler = { username: 'ripple-protect', groups: ['ripple:protect', 'system:authenticated'] };
const dev = { username: 'alice', groups: ['developers', 'system:authenticated'] };
const sa = (ns: string, n: string) => ({ username: `system:serviceaccount:${ns}:${n}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] });
const MESSAGE = 'This Secret is protected and may not be altered or deleted.';

describe('the article\'s protection as a ValidatingAdmissionPolicy', () => {
  it('compiles', () => {
    expect(expressionErrors(vap)).toEqual([]);
  });

  it.each([
    ['UPDATE by system:masters (cluster-admin)', request('UPDATE', admin), true],
    ['DELETE by system:masters (cluster-admin)', request('DELETE', admin), true],
    ['UPDATE by ripple\'s protect handler', request('UPDATE', handler), true],
    ['UPDATE by a developer', request('UPDATE', dev), false],
    ['DELETE by a developer', request('DELETE', dev), false],
    ['DELETE by a ServiceAccount', request('DELETE', sa('kyverno', 'kyverno')), false],
    ['CREATE of the protected name by a developer', request('CREATE', dev), false],
    ['CREATE of the protected name by system:masters', request('CREATE', admin), true],
    ['CREATE of another Secret in platform by a developer', request('CREATE', dev, 'platform', 'other'), true],
    ['DELETE by the namespace controller (cleanup of a namespace an allowed actor deleted)', request('DELETE', sa('kube-system', 'namespace-controller'), 'platform', 'blogsecret', 'Secret', true), true],
    ['DELETE by kube-controller-manager (namespace cleanup without SA credentials)', request('DELETE', { username: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'platform', 'blogsecret', 'Secret', true), true],
    ['DELETE by the namespace controller identity while the namespace is not terminating (a stolen token)', request('DELETE', sa('kube-system', 'namespace-controller')), false],
    ['UPDATE by the namespace controller (it only deletes)', request('UPDATE', sa('kube-system', 'namespace-controller')), false],
    ['UPDATE of a copy in another namespace', request('UPDATE', dev, 'team-a'), true],
    ['UPDATE of another Secret in platform', request('UPDATE', dev, 'platform', 'other'), true],
    ['UPDATE of a ConfigMap with the same name', request('UPDATE', dev, 'platform', 'blogsecret', 'ConfigMap'), true],
  ])('%s -> allowed=%s', (_n, req, allowed) => {
    const r = admit(req, [vap], [binding]);
    expect(r.allowed).toBe(allowed);
    if (!allowed) {
      expect(r.status?.code).toBe(403);
      expect(r.status?.message).toContain(MESSAGE);
      expect(r.status?.message).toContain(`secrets "blogsecret" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-blogsecret' with binding 'ripple-protect-blogsecret' denied request`);
    }
  });
});

const namespaceRequest = (who: { username: string; groups: string[] }, ns = 'platform'): AdmissionRequest => ({
  operation: 'DELETE',
  userInfo: who,
  apiGroup: '',
  apiVersion: 'v1',
  kind: 'Namespace',
  resource: 'namespaces',
  namespace: '',
  name: ns,
  object: null,
  oldObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } },
});

describe('deleting the namespace that holds a protected base', () => {
  it('compiles', () => {
    expect(expressionErrors(nsVap)).toEqual([]);
    expect((nsBinding.spec as any).validationActions).toEqual(['Deny']);
  });

  it.each([
    ['a namespace deleter (RBAC may delete namespaces, not exempt)', dev, 'platform', false],
    ['a ServiceAccount', sa('ci', 'cleanup'), 'platform', false],
    ['system:masters', admin, 'platform', true],
    ['ripple\'s protect handler', handler, 'platform', true],
    ['a developer, another namespace', dev, 'team-a', true],
  ])('DELETE namespace by %s (%s) -> allowed=%s', (_n, who, ns, allowed) => {
    const r = admit(namespaceRequest(who, ns), [vap, nsVap, sysVap], [binding, nsBinding, sysBinding]);
    expect(r.allowed).toBe(allowed);
    if (!allowed) {
      expect(r.status?.code).toBe(403);
      expect(r.status?.message).toContain(`namespaces "platform" is forbidden: ValidatingAdmissionPolicy 'ripple-protect-blogsecret-namespace'`);
      expect(r.status?.message).toContain('Namespace platform holds Secret platform/blogsecret, protected by ripple policy blogsecret');
    }
  });
});

describe('ripple-system: snapshots and the fingerprint key', () => {
  const forwarder = sa('ripple-system', 'ripple-forwarder');
  it('compiles', () => {
    expect(expressionErrors(sysVap)).toEqual([]);
    expect((sysBinding.spec as any).validationActions).toEqual(['Deny']);
  });

  it.each([
    ['a namespace deleter deletes ripple-system', namespaceRequest(dev, 'ripple-system'), false],
    ['ripple\'s protect handler deletes ripple-system', namespaceRequest(handler, 'ripple-system'), false],
    ['system:masters deletes ripple-system', namespaceRequest(admin, 'ripple-system'), true],
    ['a developer deletes the fingerprint key', request('DELETE', dev, 'ripple-system', 'ripple-fingerprint-key'), false],
    ['a developer overwrites a snapshot', request('UPDATE', dev, 'ripple-system', 'ripple-snapshot-blogsecret'), false],
    ['a developer creates a snapshot-named Secret', request('CREATE', dev, 'ripple-system', 'ripple-snapshot-blogsecret'), false],
    ['the forwarder creates the fingerprint key', request('CREATE', forwarder, 'ripple-system', 'ripple-fingerprint-key'), true],
    ['ripple\'s protect handler writes a snapshot', request('UPDATE', handler, 'ripple-system', 'ripple-snapshot-blogsecret'), true],
    ['ripple\'s protect handler creates a snapshot', request('CREATE', handler, 'ripple-system', 'ripple-snapshot-blogsecret'), true],
    ['ripple\'s protect handler updates the fingerprint key', request('UPDATE', handler, 'ripple-system', 'ripple-fingerprint-key'), false],
    ['ripple\'s protect handler deletes the fingerprint key', request('DELETE', handler, 'ripple-system', 'ripple-fingerprint-key'), false],
    ['ripple\'s protect handler creates a Secret of another name', request('CREATE', handler, 'ripple-system', 'exfiltrated'), false],
    ['the forwarder overwrites the fingerprint key', request('UPDATE', forwarder, 'ripple-system', 'ripple-fingerprint-key'), false],
    ['the forwarder creates another Secret', request('CREATE', forwarder, 'ripple-system', 'other'), false],
    ['the namespace controller deletes what is left after an allowed namespace delete', request('DELETE', sa('kube-system', 'namespace-controller'), 'ripple-system', 'ripple-fingerprint-key', 'Secret', true), true],
    ['the namespace controller identity, namespace not terminating', request('DELETE', sa('kube-system', 'namespace-controller'), 'ripple-system', 'ripple-fingerprint-key'), false],
    ['a developer writes a Secret in another namespace', request('UPDATE', dev, 'team-a', 'anything'), true],
    ['a developer writes a ConfigMap in ripple-system (not guarded here)', request('UPDATE', dev, 'ripple-system', 'x', 'ConfigMap'), true],
  ])('%s -> allowed=%s', (_n, req, allowed) => {
    const r = admit(req, [sysVap], [sysBinding]);
    expect(r.allowed).toBe(allowed);
    if (!allowed) expect(r.status?.message).toContain('only ripple and system:masters may change its Secrets or delete it');
  });

  it('names both namespace-controller identities', () => {
    expect(NAMESPACE_CONTROLLER_USERS).toEqual(['system:serviceaccount:kube-system:namespace-controller', 'system:kube-controller-manager']);
  });
});

it('CREATE of the protected name through generateName (no name in the request attributes) is refused too', () => {
  const r = admit({ ...request('CREATE', dev), name: '' }, [vap], [binding]);
  expect(r.allowed).toBe(false);
  expect(r.status?.message).toContain(MESSAGE);
});

describe('allow lists, modes and messages', () => {
  const p = RipplePolicy.parse({
    apiVersion: 'ripple.dev/v1alpha1',
    kind: 'RipplePolicy',
    metadata: { name: 'settings' },
    spec: {
      source: { kind: 'ConfigMap', namespace: 'base', name: 'settings' },
      protect: { operations: ['DELETE'], allow: { users: ['bob'], serviceAccounts: ['ci/deployer'], groups: ['platform-admins'] }, mode: 'audit', message: 'Ask "#platform" first\\n (it\'s shared)' },
    },
  });
  const [v, b] = renderAdmission(p)!;
  const WARNING = `Validation failed for ValidatingAdmissionPolicy 'ripple-protect-settings' with binding 'ripple-protect-settings': Ask "#platform" first\\n (it's shared)`;
  const req = (op: AdmissionRequest['operation'], who: { username: string; groups: string[] }) => request(op, who, 'base', 'settings', 'ConfigMap');

  it('enforce renders Deny; audit renders Audit + Warn', () => {
    expect((binding.spec as any).validationActions).toEqual(['Deny']);
    expect((b.spec as any).validationActions).toEqual(['Audit', 'Warn']);
  });

  it.each([
    ['allowed user', { username: 'bob', groups: [] }, []],
    ['allowed ServiceAccount', sa('ci', 'deployer'), []],
    ['allowed group', { username: 'carol', groups: ['platform-admins'] }, []],
    ['a user with no groups at all', { username: 'dave', groups: [] }, [WARNING]],
    ['another ServiceAccount in the same namespace', sa('ci', 'other'), [WARNING]],
  ])('audit mode, DELETE by %s: allowed, warned only when not exempt', (_n, who, warnings) => {
    const r = admit(req('DELETE', who), [v], [b]);
    expect(r.allowed).toBe(true);
    expect(r.warnings).toEqual(warnings);
  });

  it('only the policy\'s operations are matched', () => {
    expect(admit(req('UPDATE', dev), [v], [b]).warnings).toEqual([]);
  });

  it('a policy without protect renders nothing', () => {
    expect(renderAdmission(RipplePolicy.parse({ ...p, spec: { source: p.spec.source } }))).toBeNull();
  });
});

describe('the clone and rollout identities, bounded by admission where RBAC cannot say it', () => {
  const [cloneVap, cloneBinding, rolloutVap, rolloutBinding] = renderIdentityAdmission();
  const cloner = { username: 'arn:aws:sts::1:assumed-role/clone/fn', groups: ['ripple:clone', 'system:authenticated'] };
  const roller = { username: 'arn:aws:sts::1:assumed-role/rollout/fn', groups: ['ripple:rollout', 'system:authenticated'] };
  const copy = (ns: string, marked: boolean) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'blogsecret', namespace: ns, ...(marked ? { labels: { 'app.kubernetes.io/managed-by': 'ripple' } } : {}) }, data: { k: 'dg==' } });
  const write = (op: AdmissionRequest['operation'], who: { username: string; groups: string[] }, ns: string, obj: object | null, old: object | null): AdmissionRequest => ({
    operation: op, userInfo: who, apiGroup: '', apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespace: ns, name: 'blogsecret', object: obj, oldObject: old,
    namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } },
  });
  const deployment = (ns: string, patch: (d: any) => void = () => {}) => {
    const d: any = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'blog', namespace: ns }, spec: { replicas: 2, selector: { matchLabels: { app: 'blog' } }, template: { metadata: { labels: { app: 'blog' }, annotations: { team: 'a' } }, spec: { serviceAccountName: 'blog', containers: [{ name: 'c', image: 'blog:1' }] } } } };
    patch(d);
    return d;
  };
  const roll = (ns: string, patch: (d: any) => void, who = roller, op: AdmissionRequest['operation'] = 'UPDATE'): AdmissionRequest => ({
    operation: op, userInfo: who, apiGroup: 'apps', apiVersion: 'v1', kind: 'Deployment', resource: 'deployments', namespace: ns, name: 'blog',
    object: op === 'DELETE' ? null : deployment(ns, patch), oldObject: op === 'CREATE' ? null : deployment(ns),
    namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } },
  });
  const restart = (d: any) => { d.spec.template.metadata.annotations['ripple.dev/restarted-for'] = 'Secret/blogsecret@abc'; d.spec.template.metadata.annotations['ripple.dev/restarted-at'] = '2026-12-04T00:00:00Z'; };

  it('compiles', () => {
    expect(expressionErrors(cloneVap)).toEqual([]);
    expect(expressionErrors(rolloutVap)).toEqual([]);
    expect([(cloneBinding.spec as any).validationActions, (rolloutBinding.spec as any).validationActions]).toEqual([['Deny'], ['Deny']]);
  });

  it.each([
    ['clone creates a marked copy in team-a', write('CREATE', cloner, 'team-a', copy('team-a', true), null), true],
    ['clone updates its own copy', write('UPDATE', cloner, 'team-a', copy('team-a', true), copy('team-a', true)), true],
    ['clone deletes its own copy', write('DELETE', cloner, 'team-a', null, copy('team-a', true)), true],
    ['clone creates the copy\'s name in kube-system', write('CREATE', cloner, 'kube-system', copy('kube-system', true), null), false],
    ['clone creates in ripple-system', write('CREATE', cloner, 'ripple-system', copy('ripple-system', true), null), false],
    ['clone creates an unmarked Secret', write('CREATE', cloner, 'team-a', copy('team-a', false), null), false],
    ['clone overwrites an object it did not make', write('UPDATE', cloner, 'team-a', copy('team-a', true), copy('team-a', false)), false],
    ['clone deletes an object it did not make', write('DELETE', cloner, 'team-a', null, copy('team-a', false)), false],
    ['a user is not concerned', write('CREATE', dev, 'kube-system', copy('kube-system', false), null), true],
  ])('%s -> allowed=%s', (_n, req, allowed) => {
    expect(admit(req, [cloneVap], [cloneBinding]).allowed).toBe(allowed);
  });

  it.each([
    ['rollout restarts (ripple annotations only)', roll('team-a', restart), true],
    ['rollout restarts a workload in kube-system', roll('kube-system', restart), false],
    ['rollout changes the image', roll('team-a', (d) => { restart(d); d.spec.template.spec.containers[0].image = 'evil:1'; }), false],
    ['rollout changes the service account', roll('team-a', (d) => { d.spec.template.spec.serviceAccountName = 'admin'; }), false],
    ['rollout changes another template annotation', roll('team-a', (d) => { d.spec.template.metadata.annotations.team = 'b'; }), false],
    ['rollout removes another template annotation', roll('team-a', (d) => { delete d.spec.template.metadata.annotations.team; }), false],
    ['rollout changes template labels', roll('team-a', (d) => { d.spec.template.metadata.labels.app = 'other'; }), false],
    ['rollout scales', roll('team-a', (d) => { d.spec.replicas = 50; }), false],
    ['rollout deletes a workload', roll('team-a', () => {}, roller, 'DELETE'), false],
    ['a user changes the image', roll('team-a', (d) => { d.spec.template.spec.containers[0].image = 'new:2'; }, dev), true],
  ])('%s -> allowed=%s', (_n, req, allowed) => {
    expect(admit(req, [rolloutVap], [rolloutBinding]).allowed).toBe(allowed);
  });
});
