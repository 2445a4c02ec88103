import { describe, expect, it } from 'vitest';
import { admit, expressionErrors, type AdmissionRequest } from '../../../../../infra/local/cluster/admission.ts';
import { loadPolicies } from '../../../../../functions/shared/policy/load.ts';
import { RipplePolicy } from '../../../../../functions/shared/policy/schema.ts';
import { renderAdmission } from '../../../../../functions/shared/render/admission.ts';

// Rendered ValidatingAdmissionPolicies evaluated by the embedded cluster's real CEL admission.
const [blog] = loadPolicies('policies');
const [vap, binding] = renderAdmission(blog)!;

const secret = (ns: string, name: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: { k: 'dg==' } });
function request(op: AdmissionRequest['operation'], who: { username: string; groups: string[] }, ns = 'platform', name = 'blogsecret', kind = 'Secret'): AdmissionRequest {
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
    namespaceObject: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'kubernetes.io/metadata.name': ns } } },
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
    ['CREATE by a developer (never affected)', request('CREATE', dev), true],
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
