import { describe, expect, it } from 'vitest';
import { matchesLogsFilter, validateLogsFilter } from '../../../infra/local/eventbridge/logs-filter.ts';
import { RipplePolicy, type RipplePolicyInput } from '../../../core/policy/schema.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { LOGS_FILTER_MAX, protectAuditFilter } from '../../../render/audit-filter.ts';

const policies = loadPolicies('policies'); // the article's scenario: Secret platform/blogsecret

function policy(name: string, spec: Partial<RipplePolicyInput['spec']>): RipplePolicy {
  return RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind: 'ConfigMap', namespace: 'base', name }, ...spec } });
}

function audit(verb: string, objectRef: Record<string, string>, stage = 'ResponseComplete'): string {
  return JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: 'x', stage, verb, user: { username: 'alice', groups: ['system:authenticated'] }, objectRef: { apiVersion: 'v1', ...objectRef }, responseStatus: { code: 200 } });
}

describe('protect audit-log filter', () => {
  const filter = protectAuditFilter(policies);
  const ref = { resource: 'secrets', namespace: 'platform', name: 'blogsecret' };

  it('is within the CloudWatch grammar and size limit', () => {
    expect(validateLogsFilter(filter)).toBeNull();
    expect(filter.length).toBeLessThanOrEqual(LOGS_FILTER_MAX);
  });

  it.each([
    ['update of the protected Secret', audit('update', ref), true],
    ['patch of the protected Secret', audit('patch', ref), true],
    ['delete of the protected Secret', audit('delete', ref), true],
    ['deletecollection of secrets in its namespace', audit('deletecollection', { resource: 'secrets', namespace: 'platform' }), true],
    ['get of the protected Secret', audit('get', ref), false],
    ['create of the protected Secret (CREATE is always guarded)', audit('create', ref), true],
    ['the RequestReceived stage', audit('update', ref, 'RequestReceived'), false],
    ['update of a copy', audit('update', { ...ref, namespace: 'team-a' }), false],
    ['update of another Secret', audit('update', { ...ref, name: 'other' }), false],
    ['update of a ConfigMap with that name', audit('update', { ...ref, resource: 'configmaps' }), false],
    ['deletecollection elsewhere', audit('deletecollection', { resource: 'secrets', namespace: 'team-a' }), false],
  ])('%s -> %s', (_n, msg, want) => {
    expect(matchesLogsFilter(filter, msg)).toBe(want);
  });

  it('follows the operations: DELETE only', () => {
    const f = protectAuditFilter([policy('cfg', { protect: { operations: ['DELETE'] } })]);
    expect(matchesLogsFilter(f, audit('update', { resource: 'configmaps', namespace: 'base', name: 'cfg' }))).toBe(false);
    expect(matchesLogsFilter(f, audit('delete', { resource: 'configmaps', namespace: 'base', name: 'cfg' }))).toBe(true);
  });

  it('groups objects of one namespace and combines several with ||', () => {
    const ps = ['a', 'b', 'c'].map((n) => policy(n, { protect: {} }));
    const f = protectAuditFilter([...ps, RipplePolicy.parse({ ...ps[0], metadata: { name: 'd' }, spec: { source: { kind: 'Secret', namespace: 'other', name: 'd' }, protect: {} } })]);
    expect(validateLogsFilter(f)).toBeNull();
    for (const n of ['a', 'b', 'c']) expect(matchesLogsFilter(f, audit('patch', { resource: 'configmaps', namespace: 'base', name: n }))).toBe(true);
    expect(matchesLogsFilter(f, audit('delete', { resource: 'secrets', namespace: 'other', name: 'd' }))).toBe(true);
    expect(matchesLogsFilter(f, audit('delete', { resource: 'configmaps', namespace: 'other', name: 'd' }))).toBe(false);
  });

  it('no protected object: a filter that matches nothing (an empty one would match everything)', () => {
    const f = protectAuditFilter([]);
    expect(validateLogsFilter(f)).toBeNull();
    expect(matchesLogsFilter(f, audit('update', ref))).toBe(false);
  });

  const spread = (n: number) =>
    Array.from({ length: n }, (_, i) => RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: `p${i}` }, spec: { source: { kind: i % 2 ? 'Secret' : 'ConfigMap', namespace: `team-${i}`, name: `s${i}` }, protect: { operations: ['DELETE'] } } }));

  it('when per-object is too long: per namespace, still selecting every write to the protected objects', () => {
    const ps = spread(12);
    const f = protectAuditFilter(ps);
    expect(validateLogsFilter(f)).toBeNull();
    expect(f.length).toBeLessThanOrEqual(LOGS_FILTER_MAX);
    expect(f).not.toContain('$.objectRef.name =');
    for (const p of ps) {
      const r = { resource: p.spec.source.kind === 'Secret' ? 'secrets' : 'configmaps', namespace: p.spec.source.namespace, name: p.spec.source.name! };
      expect(matchesLogsFilter(f, audit('delete', r))).toBe(true);
      expect(matchesLogsFilter(f, audit('deletecollection', { resource: r.resource, namespace: r.namespace }))).toBe(true);
      expect(matchesLogsFilter(f, audit('get', r))).toBe(false);
      expect(matchesLogsFilter(f, audit('delete', { ...r, namespace: 'elsewhere' }))).toBe(false);
    }
    expect(matchesLogsFilter(f, audit('delete', { resource: 'secrets', namespace: 'team-0', name: 's0' }))).toBe(false); // team-0 holds a ConfigMap
  });

  it.each([40, 1000])('too many namespaces for 1024 characters (%i policies): per resource, a size that does not grow, still selecting every write to the protected objects', (n) => {
    const ps = spread(n);
    const f = protectAuditFilter(ps);
    expect(validateLogsFilter(f)).toBeNull();
    expect(f.length).toBeLessThanOrEqual(LOGS_FILTER_MAX);
    expect(f).not.toContain('$.objectRef.namespace =');
    for (const p of ps.slice(0, 50)) {
      const r = { resource: p.spec.source.kind === 'Secret' ? 'secrets' : 'configmaps', namespace: p.spec.source.namespace, name: p.spec.source.name! };
      for (const verb of ['create', 'update', 'patch', 'delete']) expect(matchesLogsFilter(f, audit(verb, r)), verb).toBe(true);
      expect(matchesLogsFilter(f, audit('deletecollection', { resource: r.resource, namespace: r.namespace }))).toBe(true);
      expect(matchesLogsFilter(f, audit('delete', { resource: 'namespaces', namespace: r.namespace, name: r.namespace }))).toBe(true);
      expect(matchesLogsFilter(f, audit('get', r))).toBe(false);
    }
    expect(matchesLogsFilter(f, audit('update', { resource: 'pods', namespace: 'team-1', name: 'x' }))).toBe(false);
    expect(protectAuditFilter(spread(2 * n)).length).toBe(f.length);
  });
});
