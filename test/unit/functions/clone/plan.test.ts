import { describe, expect, it } from 'vitest';
import { differingParts, desiredCopy, isWrite, ownershipProblem, planClone, type ClonedObject, type CloneAction } from '../../../../functions/clone/plan.ts';
import { fingerprint, metadataFingerprint } from '../../../../core/fingerprint.ts';
import { RipplePolicy, type RipplePolicyInput } from '../../../../core/policy/schema.ts';

const KEY = 'test-key';

function policy(sync: Partial<NonNullable<RipplePolicyInput['spec']['sync']>> = {}, kind: 'Secret' | 'ConfigMap' = 'Secret'): RipplePolicy {
  return RipplePolicy.parse({
    apiVersion: 'ripple.dev/v1alpha1',
    kind: 'RipplePolicy',
    metadata: { name: 'blog' },
    spec: { source: { kind, namespace: 'base', name: 'blogsecret' }, sync },
  });
}

const source: ClonedObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'blogsecret', namespace: 'base', uid: 'src', resourceVersion: '7', labels: { team: 'blog', 'app.kubernetes.io/managed-by': 'helm' }, annotations: { note: 'x', 'kubectl.kubernetes.io/last-applied-configuration': '{"data":"secret"}', 'ripple.dev/policy': 'other' } },
  type: 'Opaque',
  data: { password: 'cGFzcw==' },
};

const ns = (name: string, labels: Record<string, string> = {}, extra: { terminating?: boolean } = {}) => ({
  metadata: { name, labels, ...(extra.terminating ? { deletionTimestamp: '2026-11-25T00:00:00Z' } : {}) },
  status: { phase: extra.terminating ? 'Terminating' : 'Active' },
});

function copyIn(namespace: string, p = policy(), over: (c: ClonedObject) => void = () => {}): ClonedObject {
  const c = desiredCopy(p, source, namespace, KEY);
  c.metadata = { ...c.metadata, uid: `uid-${namespace}`, resourceVersion: '11' };
  over(c);
  return c;
}

function one(input: Partial<Parameters<typeof planClone>[0]> & { namespaces: ReturnType<typeof ns>[] }): CloneAction {
  const actions = planClone({ policy: policy(), source, copies: [], fingerprintKey: KEY, ...input });
  expect(actions).toHaveLength(1);
  return actions[0];
}

describe('desiredCopy', () => {
  it('carries ripple marks, propagated labels, no last-applied, no foreign ripple annotations', () => {
    const c = desiredCopy(policy(), source, 'team-a', KEY);
    expect(c.metadata).toEqual({
      name: 'blogsecret',
      namespace: 'team-a',
      labels: { team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' },
      annotations: {
        'ripple.dev/source': 'Secret/base/blogsecret',
        'ripple.dev/source-fingerprint': fingerprint(KEY, source as never),
        'ripple.dev/policy': 'blog',
        'ripple.dev/metadata-fingerprint': metadataFingerprint(
          { team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' },
          { 'ripple.dev/source': 'Secret/base/blogsecret', 'ripple.dev/source-fingerprint': fingerprint(KEY, source as never), 'ripple.dev/policy': 'blog' },
        ),
      },
    });
    expect(c.type).toBe('Opaque');
    expect(c.data).toEqual({ password: 'cGFzcw==' });
    expect(JSON.stringify(c)).not.toContain('last-applied');
  });

  it.each([
    [{ labels: [], annotations: ['*'] }, { 'app.kubernetes.io/managed-by': 'ripple' }, ['note']],
    [{ labels: ['te*'], annotations: ['no?e'] }, { team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' }, ['note']],
    [{ labels: ['*'], annotations: [] }, { team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' }, []],
  ])('propagate %j -> labels %j, extra annotations %j', (propagate, labels, extra) => {
    const c = desiredCopy(policy({ propagate }), source, 'a', KEY);
    expect(c.metadata!.labels).toEqual(labels);
    expect(Object.keys(c.metadata!.annotations!).filter((k) => !k.startsWith('ripple.dev/'))).toEqual(extra);
  });
});

describe('ownershipProblem', () => {
  it.each([
    ['ours', (c: ClonedObject) => c, null],
    ['label edited away, annotation kept', (c: ClonedObject) => (delete c.metadata!.labels!['app.kubernetes.io/managed-by'], c), null],
    ['annotation edited away, label kept', (c: ClonedObject) => (delete c.metadata!.annotations!['ripple.dev/source'], c), null],
    ['neither mark', (c: ClonedObject) => (delete c.metadata!.labels!['app.kubernetes.io/managed-by'], delete c.metadata!.annotations!['ripple.dev/source'], c), /not owned by ripple \(label app.kubernetes.io\/managed-by missing\)/],
    ['other manager', (c: ClonedObject) => ((c.metadata!.labels!['app.kubernetes.io/managed-by'] = 'helm'), delete c.metadata!.annotations!['ripple.dev/source'], c), /label app.kubernetes.io\/managed-by is "helm"/],
    ['other source', (c: ClonedObject) => ((c.metadata!.annotations!['ripple.dev/source'] = 'Secret/x/y'), c), /managed by ripple for another source/],
  ])('%s', (_n, edit, expected) => {
    const got = ownershipProblem(policy(), edit(copyIn('a')));
    if (expected === null) expect(got).toBeNull();
    else expect(got).toMatch(expected);
  });
});

describe('differingParts', () => {
  it.each<[string, (c: ClonedObject) => void, string[]]>([
    ['nothing', () => {}, []],
    ['data value', (c) => (c.data = { password: 'b3RoZXI=' }), ['data']],
    ['data key added', (c) => (c.data = { ...c.data, extra: 'eA==' }), ['data']],
    ['type', (c) => (c.type = 'kubernetes.io/basic-auth'), ['type']],
    ['label added', (c) => (c.metadata!.labels = { ...c.metadata!.labels, x: 'y' }), ['labels']],
    ['label removed', (c) => delete c.metadata!.labels!.team, ['labels']],
    ['annotation edited', (c) => (c.metadata!.annotations!['ripple.dev/source-fingerprint'] = 'hmac-sha256:00'), ['annotations']],
    ['metadata fingerprint removed (a copy written before it existed)', (c) => delete c.metadata!.annotations!['ripple.dev/metadata-fingerprint'], ['annotations']],
    ['immutable set', (c) => (c.immutable = true), ['immutable']],
    ['data and labels', (c) => ((c.data = {}), (c.metadata!.labels = {})), ['data', 'labels']],
  ])('%s -> %j', (_n, edit, parts) => {
    const desired = desiredCopy(policy(), source, 'a', KEY);
    const actual = copyIn('a', policy(), edit);
    expect(differingParts(desired, actual)).toEqual(parts);
  });
});

describe('planClone', () => {
  it.each<[string, Partial<Parameters<typeof planClone>[0]> & { namespaces: ReturnType<typeof ns>[] }, string, RegExp]>([
    ['new namespace', { namespaces: [ns('team-a')] }, 'create', /copy missing/],
    ['up-to-date copy', { namespaces: [ns('team-a')], copies: [copyIn('team-a')] }, 'skip', /up to date/],
    ['edited data', { namespaces: [ns('team-a')], copies: [copyIn('team-a', policy(), (c) => (c.data = { password: 'eA==' }))] }, 'update', /differs in data/],
    ['edited labels only', { namespaces: [ns('team-a')], copies: [copyIn('team-a', policy(), (c) => (c.metadata!.labels!.team = 'x'))] }, 'update', /differs in labels/],
    ['unmanaged same name', { namespaces: [ns('team-a')], copies: [{ kind: 'Secret', metadata: { name: 'blogsecret', namespace: 'team-a', uid: 'u' }, data: {} }] }, 'report-unmanaged', /not owned by ripple/],
    ['source namespace', { namespaces: [ns('base')], copies: [source] }, 'skip', /holds the source/],
    ['kube-system', { namespaces: [ns('kube-system')] }, 'skip', /excluded by default/],
    ['ripple-system', { namespaces: [ns('ripple-system')] }, 'skip', /excluded by default/],
    ['excluded glob', { policy: policy({ namespaces: { include: ['*'], exclude: ['sandbox-*'] } }), namespaces: [ns('sandbox-1')] }, 'skip', /excluded by sync.namespaces.exclude "sandbox-\*"/],
    ['selector mismatch', { policy: policy({ namespaces: { include: ['*'], exclude: [], selector: { matchLabels: { app: 'critical' } } } }), namespaces: [ns('x', { app: 'non-critical' })] }, 'skip', /do not match sync.namespaces.selector/],
    ['selector match', { policy: policy({ namespaces: { include: ['*'], exclude: [], selector: { matchLabels: { app: 'critical' } } } }), namespaces: [ns('x', { app: 'critical' })] }, 'create', /copy missing/],
    ['relabelled away', { policy: policy({ namespaces: { include: ['*'], exclude: [], selector: { matchLabels: { app: 'critical' } } } }), namespaces: [ns('x', {})], copies: [copyIn('x')] }, 'delete', /no longer selected: namespace x labels do not match/],
    ['deselected but not ours', { policy: policy({ namespaces: { include: ['*'], exclude: [], selector: { matchLabels: { app: 'critical' } } } }), namespaces: [ns('x', {})], copies: [{ kind: 'Secret', metadata: { name: 'blogsecret', namespace: 'x' } }] }, 'skip', /labels do not match/],
    ['terminating, no copy', { namespaces: [ns('gone', {}, { terminating: true })] }, 'skip', /terminating/],
    ['terminating with copy', { namespaces: [ns('gone', {}, { terminating: true })], copies: [copyIn('gone')] }, 'skip', /terminating/],
    ['source absent, delete', { source: null, namespaces: [ns('a')], copies: [copyIn('a')] }, 'delete', /absent \(sync.onSourceDelete: delete\)/],
    ['source absent, keep', { policy: policy({ onSourceDelete: 'keep' }), source: null, namespaces: [ns('a')], copies: [copyIn('a', policy({ onSourceDelete: 'keep' }))] }, 'skip', /copy kept/],
    ['source absent, no copy', { source: null, namespaces: [ns('a')] }, 'skip', /absent/],
    ['source absent, unmanaged', { source: null, namespaces: [ns('a')], copies: [{ kind: 'Secret', metadata: { name: 'blogsecret', namespace: 'a' } }] }, 'skip', /not owned/],
    ['immutable copy, data differs', { namespaces: [ns('a')], copies: [copyIn('a', policy(), (c) => ((c.immutable = true), (c.data = {})))] }, 'report-immutable', /not replaced \(set sync.replaceImmutable/],
    ['immutable copy, replace allowed', { policy: policy({ replaceImmutable: true }), namespaces: [ns('a')], copies: [copyIn('a', policy({ replaceImmutable: true }), (c) => ((c.immutable = true), (c.data = {})))] }, 'replace-immutable', /replaced/],
    ['immutable copy, labels only', { namespaces: [ns('a')], copies: [copyIn('a', policy(), (c) => ((c.immutable = true), (c.metadata!.labels = {})))] }, 'report-immutable', /immutable/],
    ['type change', { namespaces: [ns('a')], copies: [copyIn('a', policy(), (c) => (c.type = 'kubernetes.io/basic-auth'))] }, 'replace-immutable', /type cannot change/],
    ['copy being deleted', { namespaces: [ns('a')], copies: [copyIn('a', policy(), (c) => ((c.metadata!.deletionTimestamp = 'now'), (c.data = {})))] }, 'skip', /being deleted/],
    ['service account token source', { source: { ...source, type: 'kubernetes.io/service-account-token' }, namespaces: [ns('a')] }, 'skip', /cannot be cloned/],
  ])('%s -> %s', (_n, input, action, reason) => {
    const a = one(input);
    expect(a.action).toBe(action);
    expect(a.reason).toMatch(reason);
  });

  // ownWrite: the run was triggered by a copy update naming ripple as last manager (routed on drifted).
  it.each<[string, boolean, (c: ClonedObject) => void, string, RegExp]>([
    ['label added to ripple\'s write (admission)', true, (c) => (c.metadata!.labels = { ...c.metadata!.labels, injected: 'yes' }), 'skip', /added to ripple's own write/],
    ['annotation added to ripple\'s write (admission)', true, (c) => (c.metadata!.annotations = { ...c.metadata!.annotations, 'webhook.example/seen': 'x' }), 'skip', /differs only by annotations added/],
    ['same, from a schedule or a user\'s event', false, (c) => (c.metadata!.labels = { ...c.metadata!.labels, injected: 'yes' }), 'update', /differs in labels/],
    ['propagated label removed', true, (c) => delete c.metadata!.labels!.team, 'update', /differs in labels/],
    ['propagated label changed', true, (c) => (c.metadata!.labels = { ...c.metadata!.labels, team: 'other' }), 'update', /differs in labels/],
    ['ripple.dev/policy removed', true, (c) => delete c.metadata!.annotations!['ripple.dev/policy'], 'update', /differs in annotations/],
    ['metadata fingerprint removed', true, (c) => delete c.metadata!.annotations!['ripple.dev/metadata-fingerprint'], 'update', /differs in annotations/],
    ['label added and a data key removed', true, (c) => ((c.metadata!.labels = { ...c.metadata!.labels, injected: 'yes' }), (c.data = {})), 'update', /differs in data, labels/],
  ])('ownWrite %s -> %s', (_n, ownWrite, edit, action, reason) => {
    const a = planClone({ policy: policy(), source, namespaces: [ns('a')], copies: [copyIn('a', policy(), edit)], fingerprintKey: KEY, ownWrite })[0];
    expect(a.action).toBe(action);
    expect(a.reason).toMatch(reason);
  });

  it('immutable copy whose labels differ while the source is immutable too: metadata-only update', () => {
    const src = { ...source, immutable: true };
    const copy = desiredCopy(policy(), src, 'a', KEY);
    copy.metadata = { ...copy.metadata, uid: 'u', resourceVersion: '3', labels: {} };
    const a = planClone({ policy: policy(), source: src, namespaces: [ns('a')], copies: [copy], fingerprintKey: KEY })[0];
    expect(a.action).toBe('update');
    expect(a.action === 'update' && a.differs).toEqual(['labels']);
  });

  it('update keeps the copy resourceVersion, finalizers and owner references; everything else is desired state', () => {
    const copy = copyIn('a', policy(), (c) => {
      c.metadata!.labels = { foreign: 'x' };
      c.metadata!.finalizers = ['example.com/keep'];
      c.metadata!.annotations!['kubectl.kubernetes.io/last-applied-configuration'] = '{}';
    });
    const a = one({ namespaces: [ns('a')], copies: [copy] });
    expect(a.action).toBe('update');
    if (a.action !== 'update') return;
    expect(a.differs).toEqual(['labels', 'annotations']);
    expect(a.object.metadata!.resourceVersion).toBe('11');
    expect(a.object.metadata!.finalizers).toEqual(['example.com/keep']);
    expect(a.object.metadata!.labels).toEqual({ team: 'blog', 'app.kubernetes.io/managed-by': 'ripple' });
    expect(a.object.metadata!.annotations).not.toHaveProperty('kubectl.kubernetes.io/last-applied-configuration');
  });

  it('one action per namespace; writes only for out-of-date copies; never the source', () => {
    const namespaces = [ns('base'), ns('kube-system'), ...Array.from({ length: 20 }, (_, i) => ns(`t${i}`))];
    const copies = [source, ...Array.from({ length: 20 }, (_, i) => copyIn(`t${i}`, policy(), i % 4 === 0 ? (c) => (c.data = {}) : () => {}))];
    const actions = planClone({ policy: policy(), source, namespaces, copies, fingerprintKey: KEY });
    expect(actions).toHaveLength(22);
    expect(actions.filter(isWrite).map((a) => `${a.action}:${a.namespace}`)).toEqual(['update:t0', 'update:t4', 'update:t8', 'update:t12', 'update:t16']);
    expect(actions.find((a) => a.namespace === 'base')!.action).toBe('skip');
  });

  it('a source change makes every copy out of date through the fingerprint annotation and data', () => {
    const copies = ['a', 'b'].map((n) => copyIn(n));
    const changed = { ...source, data: { password: 'bmV3' } };
    const actions = planClone({ policy: policy(), source: changed, namespaces: [ns('a'), ns('b')], copies, fingerprintKey: KEY });
    expect(actions.map((a) => a.action === 'update' && a.differs)).toEqual([
      ['data', 'annotations'],
      ['data', 'annotations'],
    ]);
  });

  it('ConfigMap copies carry data and binaryData, no type', () => {
    const p = policy({}, 'ConfigMap');
    const cm: ClonedObject = { kind: 'ConfigMap', metadata: { name: 'blogsecret', namespace: 'base' }, data: { a: '1' }, binaryData: { b: 'AA==' } };
    const a = planClone({ policy: p, source: cm, namespaces: [ns('x')], copies: [], fingerprintKey: KEY })[0];
    expect(a.action === 'create' && a.object).toMatchObject({ kind: 'ConfigMap', data: { a: '1' }, binaryData: { b: 'AA==' } });
    expect(a.action === 'create' && 'type' in a.object).toBe(false);
  });

  it('a policy without sync plans nothing', () => {
    const p = RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'p' }, spec: { source: { kind: 'Secret', namespace: 'base', name: 'x' } } });
    expect(planClone({ policy: p, source, namespaces: [ns('a')], copies: [], fingerprintKey: KEY })).toEqual([]);
  });
});

describe('sync.mode once (Kyverno synchronize: false)', () => {
  const once = policy({ mode: 'once' });
  it.each<[string, Omit<Partial<Parameters<typeof planClone>[0]>, 'namespaces'>, string, RegExp]>([
    ['a new namespace gets its copy', { mayCreate: true }, 'create', /made once/],
    ['a resync or an event does not make one (a deleted copy stays deleted)', { mayCreate: false }, 'skip', /not re-created/],
    ['an edited copy is kept as the namespace left it', { mayCreate: true, copies: [copyIn('team-a', once, (c) => (c.data = { password: 'ZWRpdGVk' }))] }, 'skip', /the namespace's to keep/],
    ['the source deleted: the copy stays', { mayCreate: true, source: null, copies: [copyIn('team-a', once)] }, 'skip', /the namespace's to keep/],
    ['no source yet: nothing to copy', { mayCreate: true, source: null }, 'skip', /absent/],
    ['a same-named object ripple did not make is reported, never written', { mayCreate: true, copies: [{ ...copyIn('team-a', once), metadata: { name: 'blogsecret', namespace: 'team-a', uid: 'x' } }] }, 'report-unmanaged', /not owned by ripple/],
  ])('%s', (_n, input, action, reason) => {
    const a = one({ policy: once, namespaces: [ns('team-a')], ...input });
    expect(a.action).toBe(action);
    expect(a.reason).toMatch(reason);
  });

  it('a namespace no longer selected keeps its copy', () => {
    const p = policy({ mode: 'once', namespaces: { include: ['team-*'], exclude: ['team-a'] } });
    expect(one({ policy: p, namespaces: [ns('team-a')], copies: [copyIn('team-a', p)], mayCreate: true }).action).toBe('skip');
  });
});

describe('a copy next to the source under another name (a namespaced Kyverno Policy)', () => {
  it('goes in the source namespace only when include lists it by exact name', () => {
    const beside = policy({ targetName: 'myclonedsecret', namespaces: { include: ['base'] } });
    const a = one({ policy: beside, namespaces: [ns('base')] });
    expect(a.action).toBe('create');
    expect(a).toMatchObject({ namespace: 'base', name: 'myclonedsecret' });
    const glob = policy({ targetName: 'myclonedsecret', namespaces: { include: ['*'] } });
    expect(one({ policy: glob, namespaces: [ns('base')] })).toMatchObject({ action: 'skip', reason: expect.stringMatching(/only when sync.namespaces.include lists it by exact name/) });
  });

  it('never the source itself, under its own name', () => {
    const same = policy({ namespaces: { include: ['base'] } });
    expect(one({ policy: same, namespaces: [ns('base')] })).toMatchObject({ action: 'skip', reason: expect.stringMatching(/holds the source/) });
  });
});
