import { describe, expect, it } from 'vitest';
import { RipplePolicy, type RipplePolicyInput } from '../../../../core/policy/schema.ts';
import {
  globMatch,
  matchesSelector,
  namespaceSkipReason,
  policiesForCopy,
  policiesForSource,
  targetName,
} from '../../../../core/policy/select.ts';

function policy(spec: Partial<RipplePolicyInput['spec']> = {}, name = 'blogsecret'): RipplePolicy {
  return RipplePolicy.parse({
    apiVersion: 'ripple.dev/v1alpha1',
    kind: 'RipplePolicy',
    metadata: { name },
    spec: { source: { kind: 'Secret', namespace: 'platform', name: 'blogsecret' }, sync: {}, ...spec },
  });
}

describe('globMatch', () => {
  it.each([
    ['*', 'anything', true],
    ['*', '', true],
    ['kube-*', 'kube-system', true],
    ['kube-*', 'kube-', true],
    ['kube-*', 'mykube-system', false],
    ['team-?', 'team-a', true],
    ['team-?', 'team-ab', false],
    ['team-*-prod', 'team-a-prod', true],
    ['team-*-prod', 'team-a-dev', false],
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
  ])('%s vs %s -> %s', (pattern, name, want) => {
    expect(globMatch(pattern, name)).toBe(want);
  });
});

describe('matchesSelector', () => {
  it.each([
    ['no selector', undefined, {}, true],
    ['empty selector', {}, { a: '1' }, true],
    ['matchLabels equal', { matchLabels: { env: 'prod' } }, { env: 'prod', x: 'y' }, true],
    ['matchLabels differ', { matchLabels: { env: 'prod' } }, { env: 'dev' }, false],
    ['matchLabels missing', { matchLabels: { env: 'prod' } }, undefined, false],
    ['In hit', { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }] }, { tier: 'b' }, true],
    ['In miss', { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }] }, { tier: 'c' }, false],
    ['In absent key', { matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a'] }] }, {}, false],
    ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['a'] }] }, { tier: 'a' }, false],
    ['NotIn other value', { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['a'] }] }, { tier: 'b' }, true],
    ['NotIn absent key', { matchExpressions: [{ key: 'tier', operator: 'NotIn' as const, values: ['a'] }] }, {}, true],
    ['Exists present', { matchExpressions: [{ key: 'k', operator: 'Exists' as const }] }, { k: '' }, true],
    ['Exists absent', { matchExpressions: [{ key: 'k', operator: 'Exists' as const }] }, {}, false],
    ['DoesNotExist absent', { matchExpressions: [{ key: 'k', operator: 'DoesNotExist' as const }] }, {}, true],
    ['DoesNotExist present', { matchExpressions: [{ key: 'k', operator: 'DoesNotExist' as const }] }, { k: 'v' }, false],
    [
      'labels AND expressions',
      { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'k', operator: 'Exists' as const }] },
      { env: 'prod' },
      false,
    ],
  ])('%s', (_name, sel, labels, want) => {
    expect(matchesSelector(sel, labels as Record<string, string> | undefined)).toBe(want);
  });
});

describe('namespaceSkipReason', () => {
  const ns = (name: string, labels?: Record<string, string>, extra: Record<string, unknown> = {}) => ({ metadata: { name, labels, ...extra } });
  const p = policy();
  it.each([
    ['an ordinary namespace', p, ns('team-a'), null],
    ['the source namespace', p, ns('platform'), /holds the source Secret platform\/blogsecret/],
    ['kube-system (default exclusion)', p, ns('kube-system'), /excluded by default \("kube-\*"\)/],
    ['kube-public (default exclusion)', p, ns('kube-public'), /excluded by default/],
    ['ripple-system (default exclusion)', p, ns('ripple-system'), /excluded by default \("ripple-system"\)/],
    ['a name merely containing kube', p, ns('mykube-apps'), null],
    ['terminating by deletionTimestamp', p, ns('team-a', undefined, { deletionTimestamp: '2026-01-01T00:00:00Z' }), /terminating/],
    ['terminating by phase', p, { metadata: { name: 'team-a' }, status: { phase: 'Terminating' } }, /terminating/],
    ['no name', p, { metadata: {} }, /no metadata.name/],
    ['policy without sync', policy({ sync: undefined }), ns('team-a'), /has no sync section/],
    ['explicit exclude glob', policy({ sync: { namespaces: { exclude: ['team-*'] } } }), ns('team-a'), /excluded by sync.namespaces.exclude "team-\*"/],
    ['include glob miss', policy({ sync: { namespaces: { include: ['team-*'] } } }), ns('apps'), /matches no sync.namespaces.include pattern \("team-\*"\)/],
    ['include glob hit', policy({ sync: { namespaces: { include: ['team-*'] } } }), ns('team-b'), null],
    ['kube-* include glob does not lift the default exclusion', policy({ sync: { namespaces: { include: ['kube-*'] } } }), ns('kube-system'), /excluded by default/],
    ['exact include lifts the default exclusion', policy({ sync: { namespaces: { include: ['*', 'kube-system'] } } }), ns('kube-system'), null],
    ['exclude wins over exact include', policy({ sync: { namespaces: { include: ['kube-system'], exclude: ['kube-system'] } } }), ns('kube-system'), /excluded by sync.namespaces.exclude/],
    ['exact include never copies into the source namespace', policy({ sync: { namespaces: { include: ['platform'] } } }), ns('platform'), /holds the source/],
    ['selector match', policy({ sync: { namespaces: { selector: { matchLabels: { app: 'critical' } } } } }), ns('a', { app: 'critical' }), null],
    ['selector miss', policy({ sync: { namespaces: { selector: { matchLabels: { app: 'critical' } } } } }), ns('a', { app: 'non-critical' }), /labels do not match sync.namespaces.selector/],
    ['selector with no labels', policy({ sync: { namespaces: { selector: { matchExpressions: [{ key: 'app', operator: 'Exists' }] } } } }), ns('a'), /do not match/],
  ])('%s', (_name, pol, namespace, want) => {
    const got = namespaceSkipReason(pol, namespace);
    if (want === null) expect(got).toBeNull();
    else expect(got).toMatch(want);
  });
});

describe('policy lookup', () => {
  const a = policy({}, 'a');
  const b = policy({ source: { kind: 'ConfigMap', namespace: 'platform', name: 'cfg' }, sync: { targetName: 'shared-cfg' } }, 'b');
  const c = policy({ source: { kind: 'Secret', namespace: 'other', name: 'tls' }, sync: undefined, protect: {} }, 'c');
  const all = [a, b, c];

  it.each([
    ['Secret', 'platform', 'blogsecret', ['a']],
    ['ConfigMap', 'platform', 'cfg', ['b']],
    ['Secret', 'other', 'tls', ['c']],
    ['ConfigMap', 'platform', 'blogsecret', []],
    ['Secret', 'team-a', 'blogsecret', []],
  ])('policiesForSource(%s %s/%s)', (kind, ns, name, want) => {
    expect(policiesForSource(all, kind, ns, name).map((p) => p.metadata.name)).toEqual(want);
  });

  it.each([
    ['Secret', 'blogsecret', ['a']],
    ['ConfigMap', 'shared-cfg', ['b']],
    ['ConfigMap', 'cfg', []],
    ['Secret', 'tls', []], // c does not sync
  ])('policiesForCopy(%s %s)', (kind, name, want) => {
    expect(policiesForCopy(all, kind, name).map((p) => p.metadata.name)).toEqual(want);
  });

  it('targetName defaults to the source name', () => {
    expect(targetName(a)).toBe('blogsecret');
    expect(targetName(b)).toBe('shared-cfg');
  });
});
