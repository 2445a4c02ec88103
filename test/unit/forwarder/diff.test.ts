import { describe, expect, it } from 'vitest';
import { ObjectChangeDetail } from '../../../events/schema.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import type { DiffContext } from '../../../forwarder/diff.ts';
import { Store, annotationAllowed, DEFAULT_ANNOTATION_ALLOW_LIST, lastManager, observe, observeDeleted, Relist } from '../../../forwarder/diff.ts';
import { KINDS } from '../../../forwarder/kinds.ts';
import { desiredCopy } from '../../../functions/clone/plan.ts';
import { ANN_METADATA_FINGERPRINT, ANN_POLICY, ANN_SOURCE, ANN_SOURCE_FINGERPRINT, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';

const KEY = 'test-key';
const ctx: DiffContext = { cluster: 'dev', key: KEY, annotationAllowList: [...DEFAULT_ANNOTATION_ALLOW_LIST, 'example.com/team'], now: () => '2026-11-25T10:00:00.000Z' };
const UID = '0a1b2c3d-0000-4000-8000-00000000abcd';

function secret(over: { rv?: string; data?: Record<string, string>; labels?: Record<string, string>; annotations?: Record<string, string>; uid?: string; immutable?: boolean; owners?: any[]; managedFields?: any[] } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'db',
      namespace: 'team-a',
      uid: over.uid ?? UID,
      resourceVersion: over.rv ?? '10',
      labels: over.labels ?? { app: 'db' },
      annotations: over.annotations ?? {},
      ownerReferences: over.owners,
      managedFields: over.managedFields,
    },
    data: over.data ?? { password: Buffer.from('hunter2').toString('base64') },
    ...(over.immutable !== undefined ? { immutable: over.immutable } : {}),
  };
}

describe('state store', () => {
  const state = (uid: string, rv: string, n = 0) => ({
    uid,
    rv,
    fp: 'hmac-sha256:' + n.toString(16).padStart(32, 'a'),
    labelsHash: '0123456789ab',
    annotationsHash: 'ba9876543210',
    ownersHash: 'ffffffffffff',
    immutable: n % 2 === 0,
    terminating: n % 3 === 0,
  });

  it.each([
    ['uuid uid, numeric rv', UID, '123456'],
    ['non-uuid uid', 'not-a-uuid', '7'],
    ['opaque rv', UID, 'abc/def=='],
    ['rv with a leading zero', UID, '0123'],
    ['rv beyond 2^53', UID, '123456789012345678901'],
    ['largest 15-digit rv', UID, '999999999999999'],
  ])('round-trips (%s)', (_n, uid, rv) => {
    const store = new Store();
    store.set('ns/a', state(uid, rv));
    expect(store.get('ns/a')).toEqual(state(uid, rv));
    expect(store.identity('ns/a')).toEqual({ uid, rv });
  });

  it('keeps 5,000 keys apart through growth, overwrites and deletions', () => {
    // Prepare
    const store = new Store();
    const key = (i: number) => `team-${i % 7}/app-${i}-credentials`;
    const uid = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
    // Act
    for (let i = 0; i < 5000; i++) store.set(key(i), state(uid(i), String(i + 1), i));
    for (let i = 0; i < 5000; i += 3) store.delete(key(i));
    for (let i = 1; i < 5000; i += 3) store.set(key(i), state(uid(i), String(i + 100_000), i + 1));
    // Assess
    for (let i = 0; i < 5000; i++) {
      if (i % 3 === 0) expect(store.get(key(i))).toBeUndefined();
      else if (i % 3 === 1) expect(store.get(key(i))).toEqual(state(uid(i), String(i + 100_000), i + 1));
      else expect(store.get(key(i))).toEqual(state(uid(i), String(i + 1), i));
    }
    expect(store.size).toBe(5000 - Math.ceil(5000 / 3));
    expect(new Set(store.keyList()).size).toBe(store.size);
  });

  it('survives churn that reclaims deleted keys\' bytes, keeping relist marks', () => {
    // Prepare: 2,000 live keys, then 8 rounds replacing half of them with new names (old bytes become garbage)
    const store = new Store();
    const live = new Map<string, number>();
    let next = 0;
    const add = () => {
      const k = `ns-${next % 13}/churn-${next}-${'x'.repeat(next % 40)}`;
      store.set(k, state(UID, String(next + 1), next));
      live.set(k, next++);
    };
    for (let i = 0; i < 2000; i++) add();
    store.mark([...live.keys()][0]);
    // Act
    for (let round = 0; round < 8; round++) {
      const victims = [...live.keys()].filter((_, i) => i % 2 === 1);
      for (const k of victims) {
        expect(store.delete(k)).toBe(true);
        live.delete(k);
      }
      for (let i = 0; i < victims.length; i++) add();
    }
    // Assess
    expect(store.size).toBe(live.size);
    for (const [k, n] of live) expect(store.get(k)).toEqual(state(UID, String(n + 1), n));
    expect(new Set(store.keyList())).toEqual(new Set(live.keys()));
    expect(store.sweep()).toHaveLength(live.size - 1);
  });

  it('sweeps exactly the unmarked records, with their keys and states', () => {
    const store = new Store();
    for (const n of ['a', 'b', 'c', 'd', 'é/ü']) store.set(n, state(UID, '1'));
    store.mark('b');
    store.mark('d');
    expect(store.sweep().map((g) => g.key).sort()).toEqual(['a', 'c', 'é/ü']);
    expect(store.keyList().sort()).toEqual(['b', 'd']);
    // marks are cleared by the sweep: the next one removes everything
    expect(store.sweep().map((g) => g.key).sort()).toEqual(['b', 'd']);
    expect(store.size).toBe(0);
  });

  it('rejects a fingerprint that is not hmac-sha256:<32 hex>', () => {
    expect(() => new Store().set('ns/a', { ...state(UID, '1'), fp: 'md5:00' })).toThrow(/fingerprint "md5:00"/);
  });
});

describe('annotation allow-list', () => {
  it.each([
    ['ripple.dev/policy', true],
    ['reloader.stakater.com/auto', true],
    ['secret.reloader.stakater.com/reload', true],
    ['configmap.reloader.stakater.com/reload', true],
    ['example.com/team', true],
    ['example.com/team2', false],
    ['kubectl.kubernetes.io/last-applied-configuration', false],
    ['meta.helm.sh/release-name', false],
  ])('%s → %s', (key, allowed) => {
    expect(annotationAllowed(key, ctx.annotationAllowList)).toBe(allowed);
  });

  it('never allows last-applied-configuration, even when configured by wildcard', () => {
    expect(annotationAllowed('kubectl.kubernetes.io/last-applied-configuration', ['kubectl.kubernetes.io/*', '*'])).toBe(false);
  });
});

describe('observe', () => {
  it('emits Created for an unknown object with identity, hints and no data', () => {
    // Prepare
    const store = new Store();
    const obj = secret({ annotations: { 'ripple.dev/policy': 'p', 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"password":"aHVudGVyMg=="}}', other: 'x' }, managedFields: [{ manager: 'kubectl-client-side-apply', time: '2026-01-01T00:00:00Z' }, { manager: 'kubectl-edit', time: '2026-01-02T00:00:00Z' }] });
    // Act
    const { emissions } = observe(store, KINDS.Secret, obj, ctx);
    // Assess
    expect(emissions).toHaveLength(1);
    const d = emissions[0].detail;
    expect(emissions[0].detailType).toBe('Kubernetes Object Created');
    expect(ObjectChangeDetail.parse(d)).toEqual(d);
    expect(d).toMatchObject({ cluster: 'dev', apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'db', uid: UID, resourceVersion: '10', type: 'Opaque', manager: 'kubectl-edit', changes: [] });
    expect(d.annotations).toEqual({ 'ripple.dev/policy': 'p' });
    expect(d.fingerprint).toBe(fingerprint(KEY, { kind: 'Secret', type: 'Opaque', data: obj.data }));
    const text = JSON.stringify(emissions);
    expect(text).not.toContain('aHVudGVyMg');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain('last-applied');
  });

  it.each([
    ['data changed', { data: { password: 'bmV3' } }, ['data']],
    ['label changed', { labels: { app: 'db', tier: 'x' } }, ['labels']],
    ['allow-listed annotation changed', { annotations: { 'reloader.stakater.com/match': 'true' } }, ['annotations']],
    ['immutable set', { immutable: true }, ['immutable']],
    ['owner added', { owners: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u1', controller: true }] }, ['ownerReferences']],
    ['data and labels changed', { data: { a: 'Yg==' }, labels: {} }, ['data', 'labels']],
  ])('emits Updated with changes when %s', (_n, over, changes) => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    const { emissions } = observe(store, KINDS.Secret, secret({ rv: '11', ...over }), ctx);
    expect(emissions.map((e) => e.detailType)).toEqual(['Kubernetes Object Updated']);
    expect(emissions[0].detail.changes).toEqual(changes);
    if (changes.includes('data')) expect(emissions[0].detail.previousFingerprint).toBe(fingerprint(KEY, { kind: 'Secret', type: 'Opaque', data: secret().data }));
    else expect(emissions[0].detail.previousFingerprint).toBeUndefined();
  });

  it.each([
    ['only resourceVersion/managedFields moved', { managedFields: [{ manager: 'x', time: '2027-01-01T00:00:00Z' }] }],
    ['a non-allow-listed annotation changed', { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', other: 'y' } }],
  ])('drops a no-op update: %s', (_n, over) => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    const r = observe(store, KINDS.Secret, secret({ rv: '12', ...over }), ctx);
    expect(r.emissions).toEqual([]);
    expect(r.noop).toBe('no-change');
    expect(store.get('team-a/db')!.rv).toBe('12');
  });

  it('skips hashing entirely for the same resourceVersion', () => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    expect(observe(store, KINDS.Secret, secret(), ctx).noop).toBe('same-resource-version');
  });

  it('reports a uid change under the same name as Deleted then Created', () => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    const other = '11111111-2222-4333-8444-555555555555';
    const { emissions } = observe(store, KINDS.Secret, secret({ uid: other, rv: '20' }), ctx);
    expect(emissions.map((e) => [e.detailType, e.detail.uid])).toEqual([
      ['Kubernetes Object Deleted', UID],
      ['Kubernetes Object Created', other],
    ]);
  });

  it('Namespace: labels and phase are its content', () => {
    const store = new Store();
    const ns = (rv: string, labels: Record<string, string>, phase = 'Active') => ({ metadata: { name: 'team-a', uid: UID, resourceVersion: rv, labels }, status: { phase } });
    observe(store, KINDS.Namespace, ns('1', { a: '1' }), ctx, true);
    expect(observe(store, KINDS.Namespace, ns('2', { a: '2' }), ctx).emissions[0].detail.changes).toEqual(['labels']);
    const term = observe(store, KINDS.Namespace, ns('3', { a: '2' }, 'Terminating'), ctx).emissions[0].detail;
    expect(term.changes).toEqual(['status']);
    expect(term.namespace).toBeUndefined();
    expect(term.kind).toBe('Namespace');
  });

  it('observeDeleted forgets the object and emits Deleted', () => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    const { emissions } = observeDeleted(store, KINDS.Secret, secret({ rv: '30' }), ctx);
    expect(emissions[0].detailType).toBe('Kubernetes Object Deleted');
    expect(emissions[0].detail.resourceVersion).toBe('30');
    expect(store.size).toBe(0);
  });

  it('lastManager picks the latest time', () => {
    expect(lastManager({ metadata: { managedFields: [{ manager: 'b', time: '2026-02-01T00:00:00Z' }, { manager: 'a', time: '2026-01-01T00:00:00Z' }] } })).toBe('b');
    expect(lastManager({ metadata: {} })).toBeUndefined();
  });
});

describe('Relist', () => {
  it('initial (silent) list records state and emits nothing', () => {
    const store = new Store();
    const r = new Relist(store, KINDS.ConfigMap, ctx, true);
    for (let i = 0; i < 5; i++) expect(r.item({ metadata: { name: `c${i}`, namespace: 'n', uid: `u${i}`, resourceVersion: `${i + 1}` }, data: { k: `${i}` } }).emissions).toEqual([]);
    expect(r.end()).toEqual([]);
    expect(store.size).toBe(5);
  });

  it('after 410 emits only real differences: changed, new and deleted', () => {
    // Prepare
    const store = new Store();
    const cm = (name: string, rv: string, v: string) => ({ metadata: { name, namespace: 'n', uid: `uid-${name}`, resourceVersion: rv }, data: { k: v } });
    const first = new Relist(store, KINDS.ConfigMap, ctx, true);
    ['same', 'touched', 'changed', 'gone'].forEach((n) => first.item(cm(n, '1', 'v')));
    first.end();
    // Act
    const relist = new Relist(store, KINDS.ConfigMap, ctx, false);
    const emitted = [cm('same', '1', 'v'), cm('touched', '5', 'v'), cm('changed', '6', 'w'), cm('new', '7', 'v')].flatMap((o) => relist.item(o).emissions);
    emitted.push(...relist.end());
    // Assess
    expect(emitted.map((e) => `${e.detailType}:${e.detail.name}`)).toEqual(['Kubernetes Object Updated:changed', 'Kubernetes Object Created:new', 'Kubernetes Object Deleted:gone']);
    const del = emitted[2].detail;
    expect(del).toMatchObject({ namespace: 'n', uid: 'uid-gone', resourceVersion: '1', labels: {}, annotations: {} });
    expect(ObjectChangeDetail.parse(del)).toBeTruthy();
    expect([...store.keys()].sort()).toEqual(['n/changed', 'n/new', 'n/same', 'n/touched']);
  });
});

// drifted: a copy's content against the source fingerprint, and its labels and annotations against the metadata
// fingerprint, the clone handler recorded on it. Copies are built with the clone planner's own desiredCopy (same
// key), so "in sync" means exactly what the clone handler writes.
describe('drifted', () => {
  const b64v = (v: string) => Buffer.from(v).toString('base64');
  const policyFor = (kind: 'Secret' | 'ConfigMap') =>
    RipplePolicy.parse({
      apiVersion: 'ripple.dev/v1alpha1',
      kind: 'RipplePolicy',
      metadata: { name: 'db' },
      spec: { source: { kind, namespace: 'platform', name: 'db' }, sync: { propagate: { labels: ['*'], annotations: ['example.com/*'] } } },
    });
  // Sources with a label and an annotation the policy propagates, so copies carry both.
  const sourceMeta = { labels: { team: 'data' }, annotations: { 'example.com/owner': 'dba' } };
  const secretSource = { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'db', namespace: 'platform', ...sourceMeta }, data: { user: b64v('app'), password: b64v('hunter2') } };
  const cmSource = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'db', namespace: 'platform', ...sourceMeta }, data: { host: 'db.local' }, binaryData: { cert: b64v('CERT') } };
  /** The copy the clone handler writes into team-a, as the API returns it (uid, rv, ripple as the only manager). */
  function written(kind: 'Secret' | 'ConfigMap', edit: (o: any) => void = () => {}, rv = '10'): any {
    const o: any = structuredClone(desiredCopy(policyFor(kind), kind === 'Secret' ? secretSource : cmSource, 'team-a', KEY));
    o.metadata.uid = UID;
    o.metadata.resourceVersion = rv;
    o.metadata.managedFields = [{ manager: 'ripple', operation: 'Update', time: '2026-11-25T10:00:00Z' }];
    edit(o);
    return o;
  }
  const present = (d: ObjectChangeDetail) => ('drifted' in d ? d.drifted : 'absent');

  it.each([
    ['Secret copy as ripple wrote it', 'Secret', () => {}, false],
    ['ConfigMap copy (data + binaryData) as ripple wrote it', 'ConfigMap', () => {}, false],
    ['Secret copy with a data key removed', 'Secret', (o: any) => delete o.data.password, true],
    ['Secret copy with a value changed', 'Secret', (o: any) => { o.data.password = b64v('other'); }, true],
    ['Secret copy with a key added', 'Secret', (o: any) => { o.data.extra = b64v('x'); }, true],
    ['ConfigMap copy with its binaryData removed', 'ConfigMap', (o: any) => delete o.binaryData, true],
    ['copy whose recorded fingerprint was edited', 'Secret', (o: any) => { o.metadata.annotations[ANN_SOURCE_FINGERPRINT] = 'not-a-fingerprint'; }, true],
    ['copy whose source-fingerprint annotation was removed (ripple never writes one without it)', 'Secret', (o: any) => delete o.metadata.annotations[ANN_SOURCE_FINGERPRINT], true],
    ['copy with a propagated label removed', 'Secret', (o: any) => delete o.metadata.labels.team, true],
    ['ConfigMap copy with a propagated label removed', 'ConfigMap', (o: any) => delete o.metadata.labels.team, true],
    ['copy with a propagated annotation removed', 'Secret', (o: any) => delete o.metadata.annotations['example.com/owner'], true],
    ['copy with ripple.dev/policy removed', 'Secret', (o: any) => delete o.metadata.annotations[ANN_POLICY], true],
    ['copy with its managed-by label removed', 'Secret', (o: any) => delete o.metadata.labels[LABEL_MANAGED_BY], true],
    ['copy with ripple.dev/source removed (the fingerprints still name it a copy)', 'Secret', (o: any) => delete o.metadata.annotations[ANN_SOURCE], true],
    ['copy whose metadata-fingerprint annotation was removed (ripple never writes one without it)', 'Secret', (o: any) => delete o.metadata.annotations[ANN_METADATA_FINGERPRINT], true],
    ['copy whose metadata-fingerprint annotation was edited', 'Secret', (o: any) => { o.metadata.annotations[ANN_METADATA_FINGERPRINT] = 'sha256:' + '0'.repeat(32); }, true],
    ['copy with a label added by a user', 'Secret', (o: any) => { o.metadata.labels.extra = 'x'; }, true],
    ['copy with a propagated label value changed', 'Secret', (o: any) => { o.metadata.labels.team = 'other'; }, true],
    ['copy with an annotation added by a user', 'Secret', (o: any) => { o.metadata.annotations['example.com/note'] = 'x'; }, true],
    ["copy with kubectl's last-applied-configuration added (sensitive: not part of the metadata fingerprint)", 'Secret', (o: any) => { o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'] = '{}'; }, false],
    ['object with no copy annotation (not a copy)', 'Secret', (o: any) => { for (const k of [ANN_SOURCE_FINGERPRINT, ANN_SOURCE, ANN_METADATA_FINGERPRINT]) delete o.metadata.annotations[k]; }, 'absent'],
    ['unrelated object carrying only other ripple.dev annotations', 'Secret', (o: any) => { o.metadata.annotations = { [ANN_POLICY]: 'db', 'ripple.dev/reload': 'false' }; }, 'absent'],
    ["protect's last-known-good snapshot (names its object in ripple.dev/source; not a copy)", 'Secret', (o: any) => { o.metadata.namespace = 'ripple-system'; o.metadata.name = 'ripple-snapshot-db'; delete o.metadata.annotations[ANN_METADATA_FINGERPRINT]; }, 'absent'],
  ] as const)('Created: %s -> %s', (_n, kind, edit, want) => {
    // Act
    const { emissions } = observe(new Store(), KINDS[kind], written(kind, edit), ctx);
    // Assess
    expect(emissions.map((e) => e.detailType)).toEqual(['Kubernetes Object Created']);
    expect(present(emissions[0].detail)).toBe(want);
    expect(ObjectChangeDetail.parse(emissions[0].detail)).toEqual(emissions[0].detail);
  });

  it('Updated: a data key removed from a copy ripple wrote reports manager ripple and drifted true, without the data', () => {
    // Prepare: the forwarder knows the copy as written
    const store = new Store();
    observe(store, KINDS.Secret, written('Secret'), ctx, true);
    // Act: someone removes a key; the remover owns nothing afterwards, so managedFields still names only ripple
    const { emissions } = observe(store, KINDS.Secret, written('Secret', (o) => delete o.data.password, '11'), ctx);
    // Assess
    expect(emissions.map((e) => e.detailType)).toEqual(['Kubernetes Object Updated']);
    const d = emissions[0].detail;
    expect(d).toMatchObject({ manager: 'ripple', drifted: true, changes: ['data'] });
    const text = JSON.stringify(emissions);
    for (const v of ['hunter2', b64v('hunter2'), 'app', b64v('app')]) expect(text).not.toContain(`"${v}"`);
    expect(text).not.toContain('password');
  });

  it('Updated: ripple rewriting a drifted copy back reports drifted false', () => {
    const store = new Store();
    observe(store, KINDS.Secret, written('Secret', (o) => delete o.data.password), ctx, true);
    const d = observe(store, KINDS.Secret, written('Secret', () => {}, '12'), ctx).emissions[0].detail;
    expect(d).toMatchObject({ manager: 'ripple', drifted: false, changes: ['data'] });
  });

  it.each([
    ['a propagated label removed', (o: any) => delete o.metadata.labels.team, ['labels']],
    ['a propagated annotation removed', (o: any) => delete o.metadata.annotations['example.com/owner'], ['annotations']],
    ['ripple.dev/policy removed', (o: any) => delete o.metadata.annotations[ANN_POLICY], ['annotations']],
    ['the metadata-fingerprint annotation removed', (o: any) => delete o.metadata.annotations[ANN_METADATA_FINGERPRINT], ['annotations']],
  ] as const)('Updated: %s from a copy ripple wrote (content unchanged) reports manager ripple and drifted true', (_n, edit, changes) => {
    // Prepare: the forwarder knows the copy as written
    const store = new Store();
    observe(store, KINDS.Secret, written('Secret'), ctx, true);
    // Act: a removal-only edit; the remover owns nothing afterwards, so managedFields still names only ripple
    const d = observe(store, KINDS.Secret, written('Secret', edit, '11'), ctx).emissions[0].detail;
    // Assess
    expect(d).toMatchObject({ manager: 'ripple', drifted: true, changes });
  });

  it('a change of only annotations outside the allow-list: an Updated event for a copy (never with their values), a dropped no-op for other objects', () => {
    // Prepare: a copy (its propagated example.com/owner is not allow-listed) and a plain Secret
    expect(annotationAllowed('example.com/owner', ctx.annotationAllowList)).toBe(false);
    const [copies, plains] = [new Store(), new Store()];
    observe(copies, KINDS.Secret, written('Secret'), ctx, true);
    observe(plains, KINDS.Secret, secret({ annotations: { 'example.com/owner': 'dba' } }), ctx, true);
    // Act: the same edit on both
    const copy = observe(copies, KINDS.Secret, written('Secret', (o) => { o.metadata.annotations['example.com/owner'] = 'someone-else'; }, '11'), ctx);
    const plain = observe(plains, KINDS.Secret, secret({ rv: '11', annotations: { 'example.com/owner': 'someone-else' } }), ctx);
    // Assess
    expect(copy.emissions.map((e) => e.detail)).toMatchObject([{ changes: ['annotations'], drifted: true }]);
    expect(JSON.stringify(copy.emissions)).not.toContain('someone-else');
    expect(JSON.stringify(copy.emissions)).not.toContain('example.com/owner');
    expect(plain).toEqual({ emissions: [], noop: 'no-change' });
  });

  it.each([
    ['a propagated label removed', (o: any) => delete o.metadata.labels.team],
    ['ripple.dev/policy removed', (o: any) => delete o.metadata.annotations[ANN_POLICY]],
    ['a label added', (o: any) => { o.metadata.labels.extra = 'x'; }],
  ] as const)('Updated: ripple rewriting a copy with %s back reports drifted false', (_n, edit) => {
    const store = new Store();
    observe(store, KINDS.Secret, written('Secret', edit), ctx, true);
    const d = observe(store, KINDS.Secret, written('Secret', () => {}, '12'), ctx).emissions[0].detail;
    expect(d).toMatchObject({ manager: 'ripple', drifted: false });
  });

  it("Updated: ripple's own fan-out after a source edit (data, labels and annotations change together) reports drifted false", () => {
    // Prepare: the copy of the old source
    const store = new Store();
    observe(store, KINDS.ConfigMap, written('ConfigMap'), ctx, true);
    // Act: the clone planner's copy of an edited source (new data, a label changed, an annotation added)
    const edited = { ...cmSource, metadata: { ...cmSource.metadata, labels: { team: 'data2', tier: 'gold' }, annotations: { 'example.com/owner': 'ops', 'example.com/pager': 'on' } }, data: { host: 'db2.local' } };
    const o: any = structuredClone(desiredCopy(policyFor('ConfigMap'), edited, 'team-a', KEY));
    Object.assign(o.metadata, { uid: UID, resourceVersion: '11', managedFields: [{ manager: 'ripple', operation: 'Update', time: '2026-11-25T10:01:00Z' }] });
    const d = observe(store, KINDS.ConfigMap, o, ctx).emissions[0].detail;
    // Assess
    expect(d).toMatchObject({ manager: 'ripple', drifted: false, changes: ['data', 'labels', 'annotations'] });
  });

  it('a source (no source-fingerprint annotation) carries no drifted field', () => {
    const store = new Store();
    observe(store, KINDS.Secret, secret(), ctx, true);
    const d = observe(store, KINDS.Secret, secret({ rv: '11', data: {} }), ctx).emissions[0].detail;
    expect(present(d)).toBe('absent');
  });

  it('Namespaces carry no drifted field, even with the annotation (their fingerprint is labels + phase)', () => {
    const ns = { metadata: { name: 'team-a', uid: UID, resourceVersion: '1', labels: {}, annotations: { [ANN_SOURCE_FINGERPRINT]: 'hmac-sha256:' + '0'.repeat(32) } }, status: { phase: 'Active' } };
    expect(present(observe(new Store(), KINDS.Namespace, ns, ctx).emissions[0].detail)).toBe('absent');
  });

  it('Deleted carries no drifted field: from the watch, and from memory after a relist', () => {
    // Prepare
    const store = new Store();
    observe(store, KINDS.Secret, written('Secret', (o) => delete o.data.password), ctx, true);
    // Act + Assess: watch DELETED, object in hand
    expect(present(observeDeleted(store, KINDS.Secret, written('Secret', (o) => delete o.data.password, '13'), ctx).emissions[0].detail)).toBe('absent');
    // Act + Assess: relist finds it gone (memory only)
    observe(store, KINDS.Secret, written('Secret', (o) => delete o.data.password, '14'), ctx, true);
    const relist = new Relist(store, KINDS.Secret, ctx, false);
    const gone = relist.end();
    expect(gone.map((e) => e.detailType)).toEqual(['Kubernetes Object Deleted']);
    expect(present(gone[0].detail)).toBe('absent');
  });
});
