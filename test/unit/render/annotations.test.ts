/**
 * What the copy modes add to the rendered files: the clone pattern's clauses (a size that depends on the enabled
 * tools only, never on objects), the RBAC (read cluster-wide; write per namespace when the scope is exact names)
 * and the clone identity's admission marks.
 */
import { describe, expect, it } from 'vitest';
import { RippleConfig } from '../../../core/config/schema.ts';
import { parsePolicies } from '../../../core/policy/load.ts';
import { copyModeClauses, copyModeMarks, renderCopyModeRbac, withCopyModeClauses } from '../../../render/annotations.ts';
import { patternSummary, renderFiles } from '../../../render/index.ts';
import { renderIdentityAdmission } from '../../../render/admission.ts';
import { patternSize } from '../../../render/patterns.ts';

const cfg = (over: object = {}) => RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', ...over });
const BOTH = cfg({ reflector: { enabled: true }, replicator: { enabled: true } });

describe('clone pattern', () => {
  it('no mode: unchanged; modes on: one block whatever the number of objects, fits next to a policy', () => {
    const p = { source: ['ripple.kubernetes'], 'detail-type': ['Ripple No Policy Needs This Handler'] };
    expect(withCopyModeClauses(p, cfg())).toBe(p);
    const out = withCopyModeClauses(p, BOTH);
    expect((out.$or as unknown[]).length).toBe(copyModeClauses(BOTH).length);
    const files = renderFiles('patterns', parsePolicies(`apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: blog }\nspec:\n  source: { kind: Secret, namespace: platform, name: blogsecret }\n  sync: {}\n`, 'p.yaml'), { config: BOTH });
    expect(patternSize(JSON.parse(files['events/patterns/clone.json']!))).toBeLessThanOrEqual(2048);
  });

  it('ripple\'s own writes are not routed back (except deletions); a pattern over the limit is widened to the kinds', () => {
    const [objects, deletions] = copyModeClauses(BOTH) as [Record<string, unknown>, Record<string, unknown>];
    expect(objects['detail-type']).toEqual(['Kubernetes Object Created', 'Kubernetes Object Updated']);
    expect(objects.$or).toEqual([{ detail: { manager: [{ 'anything-but': 'ripple' }] } }, { detail: { manager: [{ exists: false }] } }]);
    expect(deletions['detail-type']).toEqual(['Kubernetes Object Deleted']);
    expect(deletions.$or).toBeUndefined();
    const narrow = withCopyModeClauses({ source: ['ripple.kubernetes'], 'detail-type': ['Ripple No Policy Needs This Handler'] }, BOTH, 700);
    expect(JSON.stringify(narrow)).not.toContain('reflects');
    expect(patternSize(narrow)).toBeLessThan(700);
  });
});

describe('ripple render\'s summary', () => {
  it('says when the copy modes\' clauses were widened to fit, and not otherwise', () => {
    const blog = parsePolicies(`apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: blog }\nspec:\n  source: { kind: Secret, namespace: platform, name: blogsecret }\n  sync: {}\n`, 'p.yaml');
    expect(patternSummary(blog, { config: BOTH }).at(-1)).toMatch(/^clone pattern with the copy modes \(ripple.config.yaml\): \d+ of 2048 characters, widened to every Secret\/ConfigMap/);
    expect(patternSummary(blog, { config: BOTH, patternLimit: 4096 }).at(-1)).toMatch(/^clone pattern with the copy modes \(ripple.config.yaml\): \d+ of 4096 characters$/);
    expect(patternSummary(blog, {})).toHaveLength(3);
  });
});

describe('RBAC', () => {
  it('read cluster-wide, write cluster-wide for globs', () => {
    const objs = renderCopyModeRbac(BOTH);
    expect(objs.map((o) => `${o.kind} ${(o.metadata as { name: string }).name}`)).toEqual([
      'ClusterRole ripple-clone-copy-modes-read',
      'ClusterRoleBinding ripple-clone-copy-modes-read',
      'ClusterRole ripple-clone-copy-modes-write',
      'ClusterRoleBinding ripple-clone-copy-modes-write',
    ]);
    expect(objs[2]!.rules).toEqual([{ apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['create', 'update', 'delete'] }]);
    expect(renderCopyModeRbac(cfg())).toEqual([]);
  });

  it('exact namespaces: the write role is bound there only; ConfigMaps only when listed', () => {
    const objs = renderCopyModeRbac(cfg({ replicator: { enabled: true, namespaces: { include: ['a', 'b', 'c'], exclude: ['c'] }, objects: { kinds: ['Secret'] } } }));
    expect(objs.filter((o) => o.kind === 'RoleBinding').map((o) => (o.metadata as { namespace: string }).namespace)).toEqual(['a', 'b']);
    expect(objs[0]!.rules).toEqual([{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }]);
  });
});

describe('admission', () => {
  it('the clone identity may change objects carrying the modes\' marks only when a mode is on', () => {
    expect(copyModeMarks(cfg())).toEqual([]);
    expect(JSON.stringify(renderIdentityAdmission([], copyModeMarks(cfg())))).toBe(JSON.stringify(renderIdentityAdmission()));
    const text = JSON.stringify(renderIdentityAdmission([], copyModeMarks(BOTH)));
    for (const k of ['reflector.v1.k8s.emberstack.com/reflects', 'replicator.v1.mittwald.de/replicate-from', 'ripple.dev/replicated-from']) expect(text).toContain(k);
  });
});
