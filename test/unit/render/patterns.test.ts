import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matches, validatePattern } from '../../../infra/local/eventbridge/pattern.ts';
import { RipplePolicy, type RipplePolicyInput } from '../../../core/policy/schema.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { ANN_SOURCE, ANN_SOURCE_FINGERPRINT, DETAIL_TYPES, FIELD_MANAGER, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { objectChangeEntry, parseRippleEvent, type ObjectChangeDetail, type RippleEvent } from '../../../events/schema.ts';
import { DETAIL_BASE } from '../../support/events.ts';
import {
  clonePattern,
  EVENT_PATTERN_MAX,
  protectPattern,
  rolloutPattern,
  rolloutSettings,
} from '../../../render/patterns.ts';

const policies = loadPolicies('policies'); // the article's scenario: Secret platform/blogsecret

type Detail = Record<string, unknown>;
function event(detailType: string, d: Detail): object {
  const detail = { ...DETAIL_BASE, ...d };
  return { version: '0', id: '1', source: 'ripple.kubernetes', account: '1', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: [], 'detail-type': detailType, detail };
}
const C = 'Kubernetes Object Created';
const U = 'Kubernetes Object Updated';
const D = 'Kubernetes Object Deleted';
const managed = { 'app.kubernetes.io/managed-by': 'ripple' };
const source = { kind: 'Secret', namespace: 'platform', name: 'blogsecret' };
const copy = { kind: 'Secret', namespace: 'team-a', name: 'blogsecret', labels: managed };
const resync = { version: '0', id: '2', source: 'ripple.kubernetes', account: '1', time: 't', region: 'r', resources: [], 'detail-type': 'Ripple Resync Requested', detail: { cluster: 'prod', reason: 'schedule', observedAt: 't' } };

describe('rendered EventBridge patterns are valid', () => {
  it.each([
    ['clone', clonePattern(policies)],
    ['rollout', rolloutPattern(policies)],
    ['protect', protectPattern(policies)],
    ['clone, no policies', clonePattern([])],
    ['rollout, no policies', rolloutPattern([])],
    ['protect, no policies', protectPattern([])],
  ])('%s', (_n, p) => {
    expect(validatePattern(p)).toBeNull();
  });
});

// [what, event, clone, rollout, protect]
describe.each([
  ['source created', event(C, source), true, true, true],
  ['source data updated', event(U, { ...source, changes: ['data'] }), true, true, true],
  ['source labels updated', event(U, { ...source, changes: ['labels'] }), true, false, true],
  ['source deleted', event(D, source), true, false, true],
  ['copy data edited', event(U, { ...copy, changes: ['data'] }), true, true, false],
  ['copy type changed', event(U, { ...copy, changes: ['type'] }), true, true, false],
  ['copy labels edited', event(U, { ...copy, changes: ['labels'] }), true, false, false],
  ['copy deleted', event(D, copy), true, false, false],
  ['copy re-created', event(C, copy), false, true, false],
  ['same-named unmanaged Secret updated', event(U, { ...copy, labels: {}, changes: ['data'] }), false, false, false],
  ['same-named unmarked Secret deleted (a relist delete carries no marks)', event(D, { ...copy, labels: {} }), true, false, false],
  ['other Secret deleted outside the source namespace', event(D, { ...copy, name: 'other' }), false, false, false],
  ['a ConfigMap named like a copy deleted (kind not synced)', event(D, { ...copy, kind: 'ConfigMap', labels: {} }), false, false, false],
  ['other Secret in the source namespace', event(U, { ...source, name: 'other', changes: ['data'] }), false, false, false],
  ['a ConfigMap named like the source', event(U, { ...source, kind: 'ConfigMap', changes: ['data'] }), false, false, false],
  ['namespace created', event(C, { kind: 'Namespace', name: 'team-b' }), true, false, false],
  ['namespace deleted', event(D, { kind: 'Namespace', name: 'team-b' }), false, false, false],
  ['resync requested', resync, true, false, true],
])('%s', (_what, ev, clone, rollout, protect) => {
  it.each([
    ['clone', clonePattern, clone],
    ['rollout', rolloutPattern, rollout],
    ['protect', protectPattern, protect],
  ] as const)('%s handler: %s', (_h, render, want) => {
    expect(matches(render(policies), ev)).toBe(want);
  });
});

function policy(name: string, spec: Partial<RipplePolicyInput['spec']>): RipplePolicy {
  return RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind: 'ConfigMap', namespace: 'base', name }, ...spec } });
}

describe('narrowness follows the policies', () => {
  it('namespace label changes reach clone only when a policy selects namespaces by label', () => {
    const relabel = event(U, { kind: 'Namespace', name: 'team-b', changes: ['labels'] });
    expect(matches(clonePattern([policy('a', { sync: {} })]), relabel)).toBe(false);
    expect(matches(clonePattern([policy('a', { sync: { namespaces: { selector: { matchLabels: { tier: 'gold' } } } } })]), relabel)).toBe(true);
  });

  it('copies under a target name, and only kinds that are synced', () => {
    const ps = [policy('settings', { sync: { targetName: 'app-settings' }, reload: {} })];
    const copyEv = (name: string) => event(U, { kind: 'ConfigMap', namespace: 'x', name, labels: managed, changes: ['data'] });
    expect(matches(clonePattern(ps), copyEv('app-settings'))).toBe(true);
    expect(matches(rolloutPattern(ps), copyEv('app-settings'))).toBe(true);
    expect(matches(clonePattern(ps), copyEv('settings'))).toBe(false);
  });

  it.each([
    ['an unmarked delete under the target name', event(D, { kind: 'ConfigMap', namespace: 'x', name: 'app-settings' }), true],
    ['an unmarked update under the target name', event(U, { kind: 'ConfigMap', namespace: 'x', name: 'app-settings', changes: ['data'] }), false],
    ['an unmarked delete under the source name outside the source namespace', event(D, { kind: 'ConfigMap', namespace: 'x', name: 'settings' }), false],
    ['an unmarked Secret delete under the target name (kind not synced)', event(D, { kind: 'Secret', namespace: 'x', name: 'app-settings' }), false],
  ])('deletes under a target name reach clone without marks: %s -> %s', (_n, ev, want) => {
    expect(matches(clonePattern([policy('settings', { sync: { targetName: 'app-settings' } })]), ev)).toBe(want);
  });

  it('a policy without sync/reload/protect adds nothing to that handler', () => {
    const ps = [policy('only-protect', { protect: {} })];
    const ev = event(U, { kind: 'ConfigMap', namespace: 'base', name: 'only-protect', changes: ['data'] });
    expect(matches(protectPattern(ps), ev)).toBe(true);
    expect(matches(clonePattern(ps), ev)).toBe(false);
    expect(matches(rolloutPattern(ps), ev)).toBe(false);
    expect(matches(clonePattern(ps), resync)).toBe(false); // no policy syncs: the clone rule matches nothing
  });
});

describe('rollout settings', () => {
  it.each([
    ['defaults (the article)', policies, { maximumBatchingWindow: 10, maximumConcurrency: 5 }],
    ['no reload policy: schema defaults', [], { maximumBatchingWindow: 10, maximumConcurrency: 5 }],
    ['longest window, smallest cap', [policy('a', { reload: { coalesce: '30s', maxConcurrency: 20 } }), policy('b', { reload: { coalesce: '1500ms', maxConcurrency: 3 } })], { maximumBatchingWindow: 30, maximumConcurrency: 3 }],
    ['sub-second windows round up', [policy('a', { reload: { coalesce: '500ms' } })], { maximumBatchingWindow: 1, maximumConcurrency: 5 }],
  ])('%s', (_n, ps, want) => {
    expect(rolloutSettings(ps)).toEqual(want);
  });
});

// Copies and who wrote them. Events are built with the event schema's helpers (validated as the forwarder's
// PutEvents entries are) and delivered as EventBridge delivers them.
describe('clone pattern: copy updates and deletes, by writer and by mark', () => {
  const rendered = JSON.parse(readFileSync('events/patterns/clone.json', 'utf8')) as object;
  const renderedRollout = JSON.parse(readFileSync('events/patterns/rollout.json', 'utf8')) as object;
  const srcAnn = { [ANN_SOURCE]: 'Secret/platform/blogsecret', [ANN_SOURCE_FINGERPRINT]: `hmac-sha256:${'b'.repeat(64)}` };
  let seq = 0;
  function delivered(detailType: 'updated' | 'deleted', d: Partial<ObjectChangeDetail>): RippleEvent {
    const detail: ObjectChangeDetail = {
      ...DETAIL_BASE,
      kind: 'Secret',
      namespace: 'team-a',
      name: 'blogsecret',
      resourceVersion: '7',
      labels: managed,
      annotations: srcAnn,
      changes: detailType === 'updated' ? ['data'] : [],
      ...d,
    };
    const entry = objectChangeEntry(DETAIL_TYPES[detailType], detail);
    return parseRippleEvent({ version: '0', id: `e${++seq}`, source: entry.Source, account: '1', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: entry.Resources, 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) });
  }
  const noLabel = { labels: {} };
  const noAnn = { annotations: {} };

  // [what, clone handler, rollout rule, event]
  it.each([
    ["ripple's own write (a fan-out after a source edit)", false, true, delivered('updated', { manager: FIELD_MANAGER, changes: ['data', 'annotations'] })],
    ["ripple's own write of labels only", false, false, delivered('updated', { manager: FIELD_MANAGER, changes: ['labels'] })],
    ["a user's data edit", true, true, delivered('updated', { manager: 'kubectl-edit' })],
    ["a user's update of the copy's other labels", true, false, delivered('updated', { manager: 'kubectl-label', changes: ['labels'] })],
    ['an update whose event names no manager', true, true, delivered('updated', {})],
    ['an update with no manager, marked by the annotation only', true, false, delivered('updated', { ...noLabel, changes: ['labels'] })],
    ['label removed (managedFields still names ripple: the remover owns nothing)', true, false, delivered('updated', { ...noLabel, manager: FIELD_MANAGER, changes: ['labels'] })],
    ['label removed, by a named manager', true, false, delivered('updated', { ...noLabel, manager: 'kubectl-label', changes: ['labels'] })],
    ['label changed to another value by a user', true, false, delivered('updated', { labels: { [LABEL_MANAGED_BY]: 'helm' }, manager: 'kubectl-label', changes: ['labels'] })],
    ['source annotation removed (managedFields still names ripple)', true, false, delivered('updated', { ...noAnn, manager: FIELD_MANAGER, changes: ['annotations'] })],
    ['a data key removed from a copy ripple wrote (managedFields still names ripple; drifted)', true, true, delivered('updated', { manager: FIELD_MANAGER, drifted: true })],
    ["ripple's own write, in sync with its recorded source fingerprint", false, true, delivered('updated', { manager: FIELD_MANAGER, drifted: false, changes: ['data', 'annotations'] })],
    ["ripple's own write of labels only, in sync", false, false, delivered('updated', { manager: FIELD_MANAGER, drifted: false, changes: ['labels'] })],
    ["a user's data edit, drifted", true, true, delivered('updated', { manager: 'kubectl-edit', drifted: true })],
    ['a drifted update of a same-named object with neither mark (not a copy)', false, false, delivered('updated', { ...noLabel, ...noAnn, manager: FIELD_MANAGER, drifted: true })],
    ['a same-named object with neither mark, edited by a user', false, false, delivered('updated', { ...noLabel, ...noAnn, manager: 'kubectl-edit' })],
    ['deleted by ripple', true, false, delivered('deleted', { manager: FIELD_MANAGER })],
    ['deleted by a user', true, false, delivered('deleted', { manager: 'kubectl-edit' })],
    ['deleted, no manager', true, false, delivered('deleted', {})],
    ['deleted, marked by the label only', true, false, delivered('deleted', { ...noAnn, manager: FIELD_MANAGER })],
    ['deleted, marked by the annotation only', true, false, delivered('deleted', { ...noLabel, manager: FIELD_MANAGER })],
    ['a same-named object with neither mark, deleted (the handler re-reads: a no-op if no copy belongs there)', true, false, delivered('deleted', { ...noLabel, ...noAnn })],
    ['a copy deleted while the watch was expired (found by relist: no marks, no manager)', true, false, delivered('deleted', { ...noLabel, ...noAnn, changes: [] })],
    ['an unmarked update with no manager is still not a copy', false, false, delivered('updated', { ...noLabel, ...noAnn })],
    ['an object of another name with neither mark, deleted', false, false, delivered('deleted', { ...noLabel, ...noAnn, name: 'other' })],
    ['a ConfigMap under the copy name, deleted (ConfigMaps are not synced here)', false, false, delivered('deleted', { ...noLabel, ...noAnn, kind: 'ConfigMap' })],
  ] as const)('%s -> clone %s, rollout %s', (_what, clone, rollout, ev) => {
    expect(matches(rendered, ev)).toBe(clone);
    expect(matches(clonePattern(policies), ev)).toBe(clone);
    expect(matches(renderedRollout, ev)).toBe(rollout);
  });

  it('the rollout pattern has no writer filter: ripple writing new data into copies is what rolls workloads', () => {
    expect(JSON.stringify(rolloutPattern(policies))).not.toContain('"manager"');
    expect(matches(rolloutPattern(policies), delivered('updated', { manager: FIELD_MANAGER, changes: ['data', 'annotations'] }))).toBe(true);
  });

  it('the writer filter is on copy updates only: source changes by ripple still reach the clone handler', () => {
    const ev = delivered('updated', { namespace: 'platform', labels: {}, annotations: {}, manager: FIELD_MANAGER });
    expect(matches(rendered, ev)).toBe(true);
  });

  it.each([
    ['the repository policies', policies],
    ['Secret and ConfigMap copies from three namespaces', ['a', 'b'].flatMap((n) => [policy(`cm-${n}`, { sync: {}, reload: {} }), RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: `s-${n}` }, spec: { source: { kind: 'Secret', namespace: `ns-${n}`, name: `s-${n}` }, sync: {}, reload: {} } })])],
  ])('stays within the default EventBridge pattern size (%s)', (_n, ps) => {
    for (const p of [clonePattern(ps), rolloutPattern(ps)]) {
      expect(validatePattern(p)).toBeNull();
      expect(JSON.stringify(p).length).toBeLessThanOrEqual(EVENT_PATTERN_MAX);
    }
  });
});
