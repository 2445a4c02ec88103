/**
 * Sets of bases (source.selector), the pure parts: which work an event asks of a set (triggers.ts), which objects
 * are members (select.ts memberSkipReason), what a member's copy looks like (plan.ts: the set's label), the
 * validation of the form (schema.ts), the cross-policy check (policy-set.ts), the rendered pattern (its size does
 * not grow with the objects a set picks) and RBAC (a set's kind loses resourceNames in the clone role only).
 */
import { describe, expect, it } from 'vitest';
import { classify, workFor } from '../../../../functions/clone/triggers.ts';
import { RipplePolicy } from '../../../../core/policy/schema.ts';
import { baseName, isSet, memberPolicy, memberSkipReason, selectorString, setOf, targetName } from '../../../../core/policy/select.ts';
import { desiredCopy, planClone } from '../../../../functions/clone/plan.ts';
import { parsePolicies } from '../../../../core/policy/load.ts';
import { checkPolicySet } from '../../../../core/policy/policy-set.ts';
import { patternSize, renderPattern } from '../../../../render/patterns.ts';
import { handlerClusterRoles } from '../../../../render/rbac.ts';
import { matches as matchPattern } from '../../../../infra/local/eventbridge/pattern.ts';

const doc = (name: string, spec: object) => ({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec });
const set = (name: string, extra: object = {}, source: object = {}) =>
  RipplePolicy.parse(doc(name, { source: { kind: 'Secret', namespace: 'base', selector: { matchLabels: { clone: 'true' } }, ...source }, sync: {}, ...extra }));
const named = RipplePolicy.parse(doc('blog', { source: { kind: 'Secret', namespace: 'base', name: 'blogsecret' }, sync: {} }));
const certs = set('certs');
const onceSet = set('once-set', { sync: { mode: 'once' } }, { kind: 'ConfigMap' });

function change(detailType: string, d: { kind: string; namespace?: string; name: string; manager?: string; labels?: Record<string, string>; annotations?: Record<string, string>; changes?: string[] }) {
  return {
    version: '0', id: 'e-1', source: 'ripple.kubernetes', account: '1', time: '2026-11-25T10:00:00Z', region: 'eu-west-1', resources: [], 'detail-type': detailType,
    detail: { cluster: 'prod', apiVersion: 'v1', uid: 'u', resourceVersion: '1', labels: {}, annotations: {}, ownerReferences: [], fingerprint: 'hmac-sha256:' + '0'.repeat(32), changes: [], observedAt: '2026-11-25T10:00:00Z', ...d },
  };
}
const U = 'Kubernetes Object Updated';
const C = 'Kubernetes Object Created';
const D = 'Kubernetes Object Deleted';

describe('set triggers', () => {
  const policies = [named, certs, onceSet];
  const show = (event: unknown) =>
    workFor(classify(event, 'prod'), policies).map((i) => `${i.policy.metadata.name}${i.member ? `/${i.member}` : ''}@${i.scope.kind === 'all' ? 'all' : i.scope.namespace}${i.mayCreate ? '+create' : ''}`);
  it.each<[string, unknown, string[]]>([
    ['a labelled Secret created in the set namespace: that member, everywhere', change(C, { kind: 'Secret', namespace: 'base', name: 'tls', labels: { clone: 'true' } }), ['certs/tls@all']],
    ['any Secret of the set namespace updated (it may have lost the label): that member', change(U, { kind: 'Secret', namespace: 'base', name: 'tls', changes: ['labels'] }), ['certs/tls@all']],
    ['a Secret of the set namespace deleted', change(D, { kind: 'Secret', namespace: 'base', name: 'tls' }), ['certs/tls@all']],
    ['the named source in the same namespace: its policy and (filtered by the handler) the set', change(U, { kind: 'Secret', namespace: 'base', name: 'blogsecret' }), ['blog@all', 'certs/blogsecret@all']],
    ["a copy ripple made, in the set namespace, is never a base", change(U, { kind: 'Secret', namespace: 'base', name: 'x', labels: { 'app.kubernetes.io/managed-by': 'ripple' } }), []],
    ['a copy of the set (its label) updated elsewhere: that member in that namespace', change(U, { kind: 'Secret', namespace: 'team-a', name: 'tls', labels: { 'ripple.dev/set': 'certs' } }), ['certs/tls@team-a']],
    ['a copy of the set (its policy annotation, label removed)', change(U, { kind: 'Secret', namespace: 'team-a', name: 'tls', annotations: { 'ripple.dev/policy': 'certs' } }), ['certs/tls@team-a']],
    ['any Secret deleted elsewhere (a relisted delete has no labels)', change(D, { kind: 'Secret', namespace: 'team-a', name: 'tls' }), ['certs/tls@team-a']],
    ['an unmarked Secret updated elsewhere: nothing', change(U, { kind: 'Secret', namespace: 'team-a', name: 'tls' }), []],
    ['another set\'s copy: nothing', change(U, { kind: 'Secret', namespace: 'team-a', name: 'tls', labels: { 'ripple.dev/set': 'other' } }), []],
    ['a ConfigMap in the set namespace: only the ConfigMap set (once: created)', change(C, { kind: 'ConfigMap', namespace: 'base', name: 'cfg' }), ['once-set/cfg@all+create']],
    ['once-mode set: an update without label changes makes nothing', change(U, { kind: 'ConfigMap', namespace: 'base', name: 'cfg', changes: ['data'] }), []],
    ['once-mode set: a label change (it may have joined) may create', change(U, { kind: 'ConfigMap', namespace: 'base', name: 'cfg', changes: ['labels'] }), ['once-set/cfg@all+create']],
    ['once-mode set: its copies are left alone', change(D, { kind: 'ConfigMap', namespace: 'team-a', name: 'cfg' }), []],
    ['namespace created: every member of every set in it', change(C, { kind: 'Namespace', name: 'team-c' }), ['blog@team-c', 'certs@team-c', 'once-set@team-c+create']],
  ])('%s', (_n, event, expected) => expect(show(event)).toEqual(expected));
});

describe('set members', () => {
  const obj = (name: string, labels: Record<string, string> = {}, namespace = 'base') => ({ metadata: { name, namespace, labels } });
  it.each<[string, ReturnType<typeof obj>, string, RegExp | null]>([
    ['labelled, in the namespace', obj('tls', { clone: 'true' }), 'Secret', null],
    ['label with another value', obj('tls', { clone: 'false' }), 'Secret', /labels do not match source\.selector/],
    ['no label', obj('tls'), 'Secret', /labels do not match/],
    ['another namespace', obj('tls', { clone: 'true' }, 'team-a'), 'Secret', /not in the set's namespace base/],
    ['another kind', obj('tls', { clone: 'true' }), 'ConfigMap', /not the set's kind Secret/],
    ['a copy ripple made (even labelled)', obj('tls', { clone: 'true', 'app.kubernetes.io/managed-by': 'ripple' }), 'Secret', /is a copy ripple made/],
    ["another policy's named base", obj('blogsecret', { clone: 'true' }), 'Secret', /is the base of policy blog$/],
    ['the base of a policy that only protects it', obj('guarded', { clone: 'true' }), 'Secret', /is the base of policy guard, which protects it \(add sync to that policy/],
    ['the base of a policy that only reloads for it: still a member', obj('watched', { clone: 'true' }), 'Secret', null],
  ])('%s', (_n, o, kind, want) => {
    const guard = RipplePolicy.parse(doc('guard', { source: { kind: 'Secret', namespace: 'base', name: 'guarded' }, protect: {} }));
    const watch = RipplePolicy.parse(doc('watch', { source: { kind: 'Secret', namespace: 'base', name: 'watched' }, reload: {} }));
    const why = memberSkipReason(certs, o, kind, [named, certs, guard, watch]);
    if (want === null) expect(why).toBeNull();
    else expect(why).toMatch(want);
  });

  it('a member is the set naming one base; its copies carry the set label and its own name', () => {
    const m = memberPolicy(certs, 'tls');
    expect(memberPolicy(certs, 'tls')).toBe(m);
    expect(isSet(certs)).toBe(true);
    expect(isSet(m)).toBe(false);
    expect(setOf(m)).toBe(certs);
    expect(baseName(m)).toBe('tls');
    expect(targetName(m)).toBe('tls');
    expect(() => targetName(certs)).toThrow(/selects a set of bases/);
    const copy = desiredCopy(m, { kind: 'Secret', metadata: { name: 'tls', namespace: 'base', labels: { clone: 'true', 'ripple.dev/set': 'forged' } }, data: { a: 'YQ==' } }, 'team-a', 'k');
    expect(copy.metadata?.name).toBe('tls');
    expect(copy.metadata?.labels).toMatchObject({ clone: 'true', 'ripple.dev/set': 'certs', 'app.kubernetes.io/managed-by': 'ripple' });
    expect(copy.metadata?.annotations).toMatchObject({ 'ripple.dev/source': 'Secret/base/tls', 'ripple.dev/policy': 'certs' });
    // a copy of a named policy carries no set label
    expect(desiredCopy(named, { kind: 'Secret', metadata: { name: 'blogsecret' } }, 'team-a', 'k').metadata?.labels?.['ripple.dev/set']).toBeUndefined();
  });

  it('a member whose base left the set: its copies go (sync.onSourceDelete delete) or stay (keep)', () => {
    const ns = (name: string) => ({ metadata: { name } });
    const copy = { kind: 'Secret', metadata: { name: 'tls', namespace: 'team-a', uid: 'u1', resourceVersion: '7', labels: { 'app.kubernetes.io/managed-by': 'ripple' }, annotations: { 'ripple.dev/source': 'Secret/base/tls' } } };
    const del = planClone({ policy: memberPolicy(certs, 'tls'), source: null, namespaces: [ns('team-a'), ns('base')], copies: [copy], fingerprintKey: 'k' });
    expect(del.map((a) => `${a.namespace}:${a.action}`)).toEqual(['team-a:delete', 'base:skip']);
    const keep = set('keep-set', { sync: { onSourceDelete: 'keep' } });
    const kept = planClone({ policy: memberPolicy(keep, 'tls'), source: null, namespaces: [ns('team-a')], copies: [copy], fingerprintKey: 'k' });
    expect(kept.map((a) => a.action)).toEqual(['skip']);
  });

  it('the selector as the API query parameter', () => {
    expect(selectorString({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'In', values: ['x', 'y'] }, { key: 'c', operator: 'NotIn', values: ['z'] }, { key: 'd', operator: 'Exists' }, { key: 'e', operator: 'DoesNotExist' }] })).toBe(
      'a=1,b in (x,y),c notin (z),d,!e',
    );
  });
});

describe('set validation', () => {
  const y = (spec: string, name = 'certs') => `apiVersion: ripple.dev/v1alpha1\nkind: RipplePolicy\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
  const src = '  source:\n    kind: Secret\n    namespace: base\n    selector:\n      matchLabels: { clone: "true" }\n';
  it.each<[string, string, RegExp]>([
    ['name and selector', y('  source:\n    kind: Secret\n    namespace: base\n    name: x\n    selector:\n      matchLabels: { a: b }\n  sync: {}\n'), /p\.yaml:\d+:\d+: spec\.source\.selector: name and selector are exclusive/],
    ['neither', y('  source:\n    kind: Secret\n    namespace: base\n  sync: {}\n'), /spec\.source: must name the base \(name\) or select a set of bases \(selector\)/],
    ['an empty selector', y('  source:\n    kind: Secret\n    namespace: base\n    selector: {}\n  sync: {}\n'), /spec\.source\.selector: must have matchLabels or matchExpressions/],
    ['protect', y(`${src}  protect: {}\n  sync: {}\n`), /spec\.protect: cannot protect a set of bases chosen by label.*write a RipplePolicy per base/],
    ['reload', y(`${src}  reload: {}\n  sync: {}\n`), /spec\.reload: cannot reload for a set of bases/],
    ['targetName', y(`${src}  sync:\n    targetName: x\n`), /spec\.sync\.targetName: a set of bases \(source\.selector\) copies each base under its own name/],
    ['a name too long for the label', y(`${src}  sync: {}\n`, 'a'.repeat(64)), /metadata\.name: must be at most 63 characters for a set of bases/],
    ['an invalid selector label', y('  source:\n    kind: Secret\n    namespace: base\n    selector:\n      matchLabels: { "bad key!": x }\n  sync: {}\n'), /spec\.source\.selector\.matchLabels\.bad key!: must be a label key/],
  ])('%s', (_n, text, want) => expect(() => parsePolicies(text, 'p.yaml')).toThrow(want));

  it('two sets that may select one object into one namespace conflict; disjoint selectors do not', () => {
    const a = set('a');
    const b = set('b', {}, { selector: { matchLabels: { clone: 'true', tier: 'x' } } });
    const c = set('c', {}, { selector: { matchLabels: { clone: 'false' } } });
    expect(checkPolicySet([a, b]).map((p) => p.message)).toEqual([expect.stringMatching(/policies "a" .* and "b" may both select the same Secret in namespace base/)]);
    expect(checkPolicySet([a, c])).toEqual([]);
    expect(checkPolicySet([a, named])).toEqual([]);
  });
});

describe('set rendering', () => {
  it("the clone pattern matches a set's bases by kind and namespace and its copies by kind: its size does not grow with the objects", () => {
    const one = renderPattern('clone', [certs]);
    expect(one.form.id).toBe('exact');
    const ev = (type: string, d: object) => change(type, d as never);
    const match = (e: unknown) => matchPattern(one.pattern, e);
    expect(match(ev(U, { kind: 'Secret', namespace: 'base', name: 'anything' }))).toBe(true);
    expect(match(ev(D, { kind: 'Secret', namespace: 'team-a', name: 'anything' }))).toBe(true);
    expect(match(ev(U, { kind: 'Secret', namespace: 'team-a', name: 'anything', labels: { 'app.kubernetes.io/managed-by': 'ripple' }, manager: 'kubectl-edit' }))).toBe(true);
    expect(match(ev(U, { kind: 'Secret', namespace: 'team-a', name: 'anything', manager: 'kubectl-edit' }))).toBe(false);
    expect(match(ev(U, { kind: 'ConfigMap', namespace: 'base', name: 'anything' }))).toBe(false);
    // a hundred sets over the same kinds and namespace: the same size as one
    const many = Array.from({ length: 100 }, (_, i) => set(`s${i}`, {}, { selector: { matchLabels: { [`k${i}`]: 'v' } } }));
    expect(patternSize(renderPattern('clone', many).pattern)).toBe(patternSize(one.pattern));
  });

  it("RBAC: a set's kind has no resourceNames in the clone role (any name, every namespace); the others keep theirs", () => {
    const cfg = RipplePolicy.parse(doc('cfg', { source: { kind: 'ConfigMap', namespace: 'base', name: 'settings' }, sync: {}, reload: {} }));
    const roles = handlerClusterRoles([certs, named, cfg]);
    const clone = roles.find((r) => r.metadata.name === 'ripple-clone')!.rules as { resources: string[]; verbs: string[]; resourceNames?: string[] }[];
    const secretRw = clone.find((r) => r.resources[0] === 'secrets' && r.verbs.includes('update'))!;
    expect(secretRw.resourceNames).toBeUndefined();
    const cmRw = clone.find((r) => r.resources[0] === 'configmaps' && r.verbs.includes('update'))!;
    expect(cmRw.resourceNames).toEqual(['settings']);
    const rollout = roles.find((r) => r.metadata.name === 'ripple-rollout')!.rules as { resources: string[]; resourceNames?: string[] }[];
    expect(rollout.find((r) => r.resources[0] === 'configmaps')!.resourceNames).toEqual(['settings']);
    expect(rollout.find((r) => r.resources[0] === 'secrets')?.resourceNames).not.toContain(undefined);
  });
});
