/**
 * What the Reloader mode renders: rollout pattern clauses (matched by the local EventBridge matcher, the size
 * independent of the number of objects), RBAC and settings.
 */
import { describe, expect, it } from 'vitest';
import { matches, validatePattern } from '../../../infra/local/eventbridge/pattern.ts';
import { DETAIL_TYPES, EVENT_SOURCE } from '../../../core/constants.ts';
import { RippleConfig, type RippleConfigInput } from '../../../core/config/schema.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { renderFiles } from '../../../render/index.ts';
import { patternSize, rolloutPattern } from '../../../render/patterns.ts';
import { renderReloaderAdmission, renderReloaderRbac, reloaderRules, withReloaderClauses, withReloaderSettings } from '../../../render/reloader.ts';
import { DETAIL_BASE } from '../../support/events.ts';

const config = (reloader: RippleConfigInput['reloader']) => RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', reloader: { enabled: true, ...reloader } });
const event = (type: string, detail: Record<string, unknown>) => ({ version: '0', id: 'x', source: EVENT_SOURCE, account: '1', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: [], 'detail-type': type, detail: { ...DETAIL_BASE, ...detail } });
const policy = (name: string) =>
  RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind: 'Secret', namespace: 'platform', name }, sync: {}, reload: {} } });

describe('rollout pattern with the Reloader mode', () => {
  it.each([
    ['Secret updated (data)', config({}), event(DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 'x', changes: ['data'] }), true],
    ['ConfigMap updated (data)', config({}), event(DETAIL_TYPES.updated, { kind: 'ConfigMap', namespace: 'a', name: 'x', changes: ['data'] }), true],
    ['Secret updated (labels only)', config({}), event(DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 'x', changes: ['labels'] }), false],
    ['Secret created, reloadOnCreate off', config({}), event(DETAIL_TYPES.created, { kind: 'Secret', namespace: 'a', name: 'x' }), false],
    ['Secret created, reloadOnCreate on', config({ reloadOnCreate: true }), event(DETAIL_TYPES.created, { kind: 'Secret', namespace: 'a', name: 'x' }), true],
    ['Secret deleted, reloadOnDelete off', config({}), event(DETAIL_TYPES.deleted, { kind: 'Secret', namespace: 'a', name: 'x' }), false],
    ['Secret deleted, reloadOnDelete on', config({ reloadOnDelete: true }), event(DETAIL_TYPES.deleted, { kind: 'Secret', namespace: 'a', name: 'x' }), true],
    ['ConfigMap, objects.kinds [Secret]', config({ objects: { kinds: ['Secret'] } }), event(DETAIL_TYPES.updated, { kind: 'ConfigMap', namespace: 'a', name: 'x', changes: ['data'] }), false],
    ['exact namespaces: another namespace', config({ namespaces: { include: ['shop', 'web'] } }), event(DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'a', name: 'x', changes: ['data'] }), false],
    ['exact namespaces: one of them', config({ namespaces: { include: ['shop', 'web'] } }), event(DETAIL_TYPES.updated, { kind: 'Secret', namespace: 'web', name: 'x', changes: ['data'] }), true],
    ['Namespace created', config({ reloadOnCreate: true }), event(DETAIL_TYPES.created, { kind: 'Namespace', name: 'x' }), false],
  ])('%s', (_, cfg, ev, expected) => {
    const pattern = withReloaderClauses(rolloutPattern([]), cfg);
    expect(validatePattern(pattern)).toBeNull();
    expect(matches(pattern, ev)).toBe(expected);
  });

  it('keeps the policies\' clauses, and its size does not grow with the number of objects', () => {
    const policies = [policy('a'), policy('b')];
    const base = rolloutPattern(policies);
    const withMode = withReloaderClauses(base, config({}));
    const copyCreated = event(DETAIL_TYPES.created, { kind: 'Secret', namespace: 'team', name: 'a', labels: { 'app.kubernetes.io/managed-by': 'ripple' } });
    expect(matches(base, copyCreated)).toBe(true);
    expect(matches(withMode, copyCreated)).toBe(true);
    const added = patternSize(withMode) - patternSize(base);
    expect(added).toBeLessThan(200);
    // no policies at all: only the mode's clauses (the "nothing" pattern is replaced)
    expect(patternSize(withReloaderClauses(rolloutPattern([]), config({ reloadOnCreate: true, reloadOnDelete: true })))).toBeLessThan(300);
    expect(withReloaderClauses(base, undefined)).toBe(base);
  });

  it('rendered files: pattern, RBAC file in the kustomization, settings', () => {
    const files = renderFiles('all', [], { config: config({ coalesce: '30s' }) });
    expect(JSON.parse(files['events/patterns/rollout.json'])).toEqual({ source: [EVENT_SOURCE], 'detail-type': [DETAIL_TYPES.updated], detail: { kind: ['ConfigMap', 'Secret'], changes: ['data', 'type'] } });
    expect(files['infra/k8s/rbac/kustomization.yaml']).toContain('rollout-reloader.yaml');
    expect(JSON.parse(files['events/patterns/rollout-settings.json'])).toEqual({ maximumBatchingWindow: 30, maximumConcurrency: 5, pauseSweep: true });
    const off = renderFiles('all', []);
    expect(off['infra/k8s/rbac/rollout-reloader.yaml']).toBeUndefined();
    expect(JSON.parse(off['events/patterns/rollout-settings.json']).pauseSweep).toBe(false);
  });
});

describe('RBAC of the Reloader mode', () => {
  it('reads any Secret/ConfigMap of its kinds; CronJobs and Jobs only when CronJob is a kind; namespaces only with a selector', () => {
    expect(reloaderRules(config({}).reloader!)).toEqual([
      { apiGroups: [''], resources: ['configmaps', 'secrets'], verbs: ['get'] },
      { apiGroups: ['batch'], resources: ['cronjobs'], verbs: ['get', 'list', 'patch'] },
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create'] },
    ]);
    expect(reloaderRules(config({ objects: { kinds: ["ConfigMap"] }, kinds: ["Deployment"], namespaces: { selector: { matchLabels: { a: "b" } } } }).reloader!)).toEqual([
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get'] },
    ]);
  });

  it('Argo Rollouts (listed in kinds): rollouts get/list/patch, and an admission policy holding the identity to the restart annotations', () => {
    const c = config({ kinds: ['Deployment', 'Rollout'] });
    expect(reloaderRules(c.reloader!)).toContainEqual({ apiGroups: ['argoproj.io'], resources: ['rollouts'], verbs: ['get', 'list', 'patch'] });
    expect(renderReloaderAdmission(c).map((o) => `${o.kind} ${o.metadata.name}`)).toEqual(['ValidatingAdmissionPolicy ripple-rollout-reloader-argo-identity', 'ValidatingAdmissionPolicyBinding ripple-rollout-reloader-argo-identity']);
    expect(renderReloaderAdmission(config({})).map((o) => o.metadata.name)).toEqual(['ripple-rollout-reloader-identity', 'ripple-rollout-reloader-identity']);
  });

  it('bound cluster-wide for globs; per namespace when every included namespace is an exact name', () => {
    expect(renderReloaderRbac(config({})).map((o) => o.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    const exact = renderReloaderRbac(config({ namespaces: { include: ['web', 'shop', 'old'], exclude: ['old'] } }));
    expect(exact.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}`)).toEqual(['ClusterRole ', 'RoleBinding shop', 'RoleBinding web']);
    expect(renderReloaderRbac(RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig' }))).toEqual([]);
  });

  it('settings: the batching window covers the mode\'s coalesce; the sweep only with Deployments', () => {
    expect(withReloaderSettings({ maximumBatchingWindow: 10, maximumConcurrency: 5 }, config({ coalesce: '2s' }))).toEqual({ maximumBatchingWindow: 10, maximumConcurrency: 5, pauseSweep: true });
    expect(withReloaderSettings({ maximumBatchingWindow: 10, maximumConcurrency: 5 }, config({ kinds: ['CronJob'] })).pauseSweep).toBe(false);
  });
});
