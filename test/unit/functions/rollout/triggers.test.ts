import { describe, expect, it } from 'vitest';
import { eventSkipReason, triggeringPolicies } from '../../../../functions/rollout/triggers.ts';
import { RipplePolicy } from '../../../../core/policy/schema.ts';
import type { ObjectChangeEvent } from '../../../../events/schema.ts';

const FP1 = 'hmac-sha256:' + '1'.repeat(32);
const FP2 = 'hmac-sha256:' + '2'.repeat(32);
function ev(detailType: ObjectChangeEvent['detail-type'], over: Partial<ObjectChangeEvent['detail']> = {}): ObjectChangeEvent {
  return {
    version: '0', id: 'e', source: 'ripple.kubernetes', account: '1', time: 't', region: 'r', resources: [], 'detail-type': detailType,
    detail: { cluster: 'c', apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'db', uid: 'u', resourceVersion: '1', labels: {}, annotations: {}, ownerReferences: [], fingerprint: FP2, previousFingerprint: FP1, changes: ['data'], observedAt: 't', ...over },
  };
}

describe('eventSkipReason', () => {
  it.each([
    ['data change', ev('Kubernetes Object Updated'), null],
    ['type change', ev('Kubernetes Object Updated', { changes: ['type'] }), null],
    ['created', ev('Kubernetes Object Created', { changes: [], previousFingerprint: undefined }), null],
    ['labels only', ev('Kubernetes Object Updated', { changes: ['labels'] }), /no content change/],
    ['no-op (same fingerprint)', ev('Kubernetes Object Updated', { previousFingerprint: FP2 }), /fingerprint unchanged/],
    ['deleted', ev('Kubernetes Object Deleted', { changes: [] }), /deleted/],
    ['namespace', ev('Kubernetes Object Updated', { kind: 'Namespace', namespace: undefined }), /not a Secret or ConfigMap/],
  ] as const)('%s', (_n, e, expected) => {
    const r = eventSkipReason(e);
    if (expected === null) expect(r).toBeNull();
    else expect(r).toMatch(expected);
  });
});

describe('triggeringPolicies', () => {
  const pol = (name: string, src: string, reload: boolean, targetName?: string) =>
    RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind: 'Secret', namespace: 'platform', name: src }, sync: targetName ? { targetName } : {}, ...(reload ? { reload: {} } : {}) } });
  const policies = [pol('a', 'base', true), pol('b', 'other', false, 'copy-b')];
  it.each([
    ['copy managed by ripple', { name: 'base', namespace: 'team-a', labels: { 'app.kubernetes.io/managed-by': 'ripple' }, annotations: { 'ripple.dev/policy': 'a' } }, ['a']],
    ['the source itself', { name: 'base', namespace: 'platform' }, ['a']],
    ['same name, not managed, other namespace', { name: 'base', namespace: 'team-a' }, []],
    ['copy of a policy without reload', { name: 'copy-b', namespace: 'team-a', labels: { 'app.kubernetes.io/managed-by': 'ripple' }, annotations: { 'ripple.dev/policy': 'b' } }, ['b']],
  ])('%s', (_n, metadata, names) => {
    expect(triggeringPolicies(policies, 'Secret', { metadata }).map((p) => p.metadata.name)).toEqual(names);
  });
});
