/**
 * One base copied under several names (sync.targetNames): validation, one variant per name (the reader, planner and
 * applier see one name each), the copy events of either name reach the policy, patterns and RBAC list every name,
 * and two policies collide only on a shared name. And restart targets by name or by label (reload.targets): validation.
 */
import { describe, expect, it } from 'vitest';
import { RipplePolicy } from '../../../../core/policy/schema.ts';
import { parsePolicies } from '../../../../core/policy/load.ts';
import { checkPolicySet } from '../../../../core/policy/policy-set.ts';
import { policiesForCopy, targetName, targetNames, variantsOf } from '../../../../core/policy/select.ts';
import { planClone } from '../../../../functions/clone/plan.ts';
import { classify, workFor } from '../../../../functions/clone/triggers.ts';
import { renderPattern } from '../../../../render/patterns.ts';
import { handlerClusterRoles } from '../../../../render/rbac.ts';
import { matches } from '../../../../infra/local/eventbridge/pattern.ts';

const doc = (name: string, spec: object) => ({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec });
const two = RipplePolicy.parse(doc('ca', { source: { kind: 'Secret', namespace: 'base', name: 'ca' }, sync: { targetNames: ['ca', 'ca-legacy'] } }));

const event = (type: string, d: object) => ({
  version: '0', id: 'e', source: 'ripple.kubernetes', account: '1', time: 't', region: 'r', resources: [], 'detail-type': type,
  detail: { cluster: 'prod', apiVersion: 'v1', uid: 'u', resourceVersion: '1', labels: {}, annotations: {}, ownerReferences: [], fingerprint: 'hmac-sha256:' + '0'.repeat(32), changes: [], observedAt: 't', ...d },
});

describe('sync.targetNames', () => {
  it.each<[string, string, RegExp]>([
    ['with targetName', 'targetName: a\n    targetNames: [b, c]', /spec\.sync\.targetNames: targetName and targetNames are exclusive/],
    ['one name', 'targetNames: [b]', /spec\.sync\.targetNames: must list at least two names \(one name: targetName\)/],
    ['a name twice', 'targetNames: [b, b]', /spec\.sync\.targetNames\[1\]: name "b" is listed twice/],
    ['an invalid name', 'targetNames: [b, "Not_OK"]', /spec\.sync\.targetNames\[1\]: must be a DNS-1123 subdomain/],
  ])('refused: %s', (_n, sync, want) => {
    const text = `apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: p }\nspec:\n  source: { kind: Secret, namespace: base, name: ca }\n  sync:\n    ${sync}\n`;
    expect(() => parsePolicies(text, 'p.yaml')).toThrow(want);
  });

  it('one variant per name, same policy name; targetName refuses the unexpanded policy', () => {
    const v = variantsOf(two);
    expect(v.map((p) => [p.metadata.name, p.spec.sync?.targetName, p.spec.sync?.targetNames])).toEqual([
      ['ca', 'ca', undefined],
      ['ca', 'ca-legacy', undefined],
    ]);
    expect(variantsOf(two)).toBe(v);
    expect(targetNames(two)).toEqual(['ca', 'ca-legacy']);
    expect(() => targetName(two)).toThrow(/several names .*variantsOf/);
    const plain = RipplePolicy.parse(doc('x', { source: { kind: 'Secret', namespace: 'base', name: 'x' }, sync: {} }));
    expect(variantsOf(plain)).toEqual([plain]);
  });

  it('each variant plans its own name: both copies, the same content and source mark', () => {
    const source = { kind: 'Secret', metadata: { name: 'ca', namespace: 'base' }, data: { a: 'YQ==' } };
    const actions = variantsOf(two).flatMap((p) => planClone({ policy: p, source, namespaces: [{ metadata: { name: 'team-a' } }, { metadata: { name: 'base' } }], copies: [], fingerprintKey: 'k' }));
    expect(actions.map((a) => `${a.namespace}/${a.name}:${a.action}`)).toEqual(['team-a/ca:create', 'base/ca:skip', 'team-a/ca-legacy:create', 'base/ca-legacy:skip']);
    const objs = actions.filter((a) => a.action === 'create').map((a) => ('object' in a ? a.object : null)!);
    expect(objs[0].metadata?.annotations?.['ripple.dev/source']).toBe('Secret/base/ca');
    expect(objs[1].metadata?.annotations?.['ripple.dev/source']).toBe('Secret/base/ca');
    expect(objs[0].metadata?.annotations?.['ripple.dev/source-fingerprint']).toBe(objs[1].metadata?.annotations?.['ripple.dev/source-fingerprint']);
  });

  it('a copy event under either name reaches the policy (for that namespace)', () => {
    expect(policiesForCopy([two], 'Secret', 'ca-legacy')).toEqual([two]);
    const items = workFor(classify(event('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'ca-legacy' }), 'prod'), [two]);
    expect(items.map((i) => `${i.policy.metadata.name}@${i.scope.kind === 'namespace' ? i.scope.namespace : 'all'}`)).toEqual(['ca@team-a']);
  });

  it('the clone pattern and the clone role list every name', () => {
    const p = renderPattern('clone', [two]).pattern;
    expect(matches(p, event('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'ca-legacy' }))).toBe(true);
    expect(matches(p, event('Kubernetes Object Deleted', { kind: 'Secret', namespace: 'team-a', name: 'other' }))).toBe(false);
    const clone = handlerClusterRoles([two]).find((r) => r.metadata.name === 'ripple-clone')!.rules as { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    expect(clone.find((r) => r.resources[0] === 'secrets' && r.verbs.includes('update'))!.resourceNames).toEqual(['ca', 'ca-legacy']);
  });

  it('two policies collide on a shared name only', () => {
    const other = (names: object) => RipplePolicy.parse(doc('other', { source: { kind: 'Secret', namespace: 'base2', name: 'o' }, sync: names }));
    expect(checkPolicySet([two, other({ targetName: 'ca-legacy' })]).map((p) => p.message)).toEqual([expect.stringMatching(/both write Secret "ca-legacy" into the same namespaces/)]);
    expect(checkPolicySet([two, other({ targetNames: ['x', 'y'] })])).toEqual([]);
  });
});

describe('reload.targets: by name or by selector', () => {
  it.each<[string, string, RegExp | null]>([
    ['a name', '{ kind: Deployment, name: web }', null],
    ['a selector', '{ kind: Deployment, selector: { matchLabels: { tier: web } } }', null],
    ['both', '{ kind: Deployment, name: web, selector: { matchLabels: { tier: web } } }', /spec\.reload\.targets\[0\]: must have exactly one of name .* and selector/],
    ['neither', '{ kind: Deployment }', /spec\.reload\.targets\[0\]: must have exactly one of name/],
    ['an empty selector', '{ kind: Deployment, selector: {} }', /spec\.reload\.targets\[0\]\.selector: must have matchLabels or matchExpressions/],
    ['an invalid label', '{ kind: Deployment, selector: { matchLabels: { "bad key!": x } } }', /spec\.reload\.targets\[0\]\.selector\.matchLabels\.bad key!: must be a label key/],
  ])('%s', (_n, target, want) => {
    const text = `apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata: { name: p }\nspec:\n  source: { kind: Secret, namespace: base, name: ca }\n  reload:\n    targets: [${target}]\n`;
    if (want === null) expect(parsePolicies(text, 'p.yaml')).toHaveLength(1);
    else expect(() => parsePolicies(text, 'p.yaml')).toThrow(want);
  });
});
