/**
 * The copy modes (ripple.config.yaml `reflector:` and `replicator:`) on the embedded cluster, RBAC and admission
 * enforced: the clone handler runs as group ripple:clone with exactly the rendered clone ClusterRole, the modes'
 * `ripple-clone-copy-modes-*` roles and the clone identity's admission (`ripple-clone-identity`, with the modes'
 * marks), no policy at all. One case per documented annotation example of Reflector's and Replicator's READMEs,
 * their refusals, source deletion, new namespaces, copies deleted or edited, and the hostile namespace user. Events
 * are built the way the forwarder builds them (its allow-list), as the bus would deliver them.
 */
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETAIL_TYPES, FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { copyModes, RippleConfig } from '../../../core/config/schema.ts';
import { fingerprint, newFingerprintKey } from '../../../core/fingerprint.ts';
import { objectChangeEntry, resyncEntry, type ObjectChangeDetail, type PutEntry } from '../../../events/schema.ts';
import { allowedAnnotations, DEFAULT_ANNOTATION_ALLOW_LIST } from '../../../forwarder/diff.ts';
import { ANN_REPLICATED_FROM, REFLECTOR, REPLICATOR } from '../../../functions/clone/annotations/annotations.ts';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { reconcileCopyModes } from '../../../functions/clone/annotations/reconcile.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { copyModeMarks, renderCopyModeRbac } from '../../../render/annotations.ts';
import { renderIdentityAdmission } from '../../../render/admission.ts';
import { applyRenderedRbac } from '../../support/rbac.ts';
import { startResponseSink } from '../../support/cfn-response.ts';
import { explainCopies, formatCopiesExplain } from '../../../cli/explain/copies.ts';
import { CLONE_IDENTITY, CLONE_USER, lambdaContext, quietObservability, WRITE_VERBS } from './harness.ts';

const CANARY = 'copy-mode-canary-7f3a';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const CONFIG = RippleConfig.parse({
  apiVersion: 'ripple.dev/v1alpha1',
  kind: 'RippleConfig',
  reflector: { enabled: true, namespaces: { exclude: ['prod'] } },
  replicator: { enabled: true, namespaces: { exclude: ['prod'] } },
});

let cluster: EmbeddedCluster;
let admin: Kube;
let key: Buffer;
const audit: AuditEvent[] = [];
const logs: string[] = [];
let handler: (event: unknown) => Promise<any>;
let seq = 0;

function delivered(entry: PutEntry): object {
  return { version: '0', id: `evt-${++seq}`, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}
/** What the forwarder would send for `obj` (its annotation allow-list; `changes` as given). */
function event(dt: 'created' | 'updated' | 'deleted', kind: string, obj: KubernetesObject & { data?: Record<string, string> }, changes: ObjectChangeDetail['changes'] = dt === 'updated' ? ['data'] : [], manager = 'kubectl'): object {
  const detail: ObjectChangeDetail = {
    cluster: 'local',
    apiVersion: 'v1',
    kind,
    ...(obj.metadata?.namespace ? { namespace: obj.metadata.namespace } : {}),
    name: obj.metadata!.name!,
    uid: obj.metadata?.uid ?? 'gone',
    resourceVersion: obj.metadata?.resourceVersion ?? '1',
    labels: obj.metadata?.labels ?? {},
    annotations: allowedAnnotations(obj.metadata?.annotations, DEFAULT_ANNOTATION_ALLOW_LIST),
    ownerReferences: [],
    fingerprint: fingerprint(key, { kind, data: obj.data } as never),
    changes,
    manager,
    observedAt: new Date().toISOString(),
  };
  return delivered(objectChangeEntry(DETAIL_TYPES[dt] as never, detail));
}
const resync = () => delivered(resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() }));
let mark = 0;
const writes = () => audit.slice(mark).filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb) && e.objectRef?.resource !== 'events');
const resetWrites = () => {
  mark = audit.length;
};

async function ns(name: string, labels: Record<string, string> = {}) {
  await admin.core.createNamespace({ body: { metadata: { name, labels } } });
}
async function secret(namespace: string, name: string, data: Record<string, string>, annotations: Record<string, string> = {}, labels?: Record<string, string>): Promise<V1Secret> {
  return admin.core.createNamespacedSecret({ namespace, body: { metadata: { name, annotations, ...(labels ? { labels } : {}) }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) } });
}
const read = (namespace: string, name: string) => admin.core.readNamespacedSecret({ namespace, name }).catch(() => null);
const value = async (namespace: string, name: string, k = 'k') => {
  const s = await read(namespace, name);
  return s?.data?.[k] === undefined ? undefined : Buffer.from(s.data[k], 'base64').toString();
};
const warnings = async (namespace: string, name: string) => (await admin.core.listNamespacedEvent({ namespace })).items.filter((e) => e.involvedObject.name === name && e.type === 'Warning');
const run = async (e: object) => handler(e);

beforeAll(async () => {
  cluster = await startCluster({ authorization: 'RBAC' });
  cluster.onAudit((e) => audit.push(e));
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  await applyRenderedRbac(admin, [], 'clone');
  for (const o of [...renderCopyModeRbac(CONFIG), ...renderIdentityAdmission([], copyModeMarks(CONFIG))]) await admin.objects.create(o as KubernetesObject);
  await ns(RIPPLE_NAMESPACE);
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key: newFingerprintKey() } } });
  key = Buffer.from('k');
  const cloneKube = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const obs = quietObservability(logs);
  handler = makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' }), kubeFor: async () => cloneKube, policies: () => [], rippleConfig: () => CONFIG, observability: () => obs }) as never;
  const h = handler;
  handler = (e) => (h as unknown as (e: unknown, c: unknown) => Promise<any>)(e, lambdaContext);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('Reflector (reflector.v1.k8s.emberstack.com)', () => {
  it('README: a source allowing namespaces; a mirror with `reflects` gets its data; a namespace it does not allow is refused and reported', async () => {
    // Prepare
    await ns('rf-src');
    await ns('rf-a');
    await ns('rf-c');
    const src = await secret('rf-src', 'source-secret', { k: CANARY }, { [REFLECTOR.allowed]: 'true', [REFLECTOR.allowedNamespaces]: 'rf-a,rf-b' });
    const mirror = await secret('rf-a', 'mirror-secret', {}, { [REFLECTOR.reflects]: 'rf-src/source-secret' });
    const refused = await secret('rf-c', 'mirror-secret', { mine: 'x' }, { [REFLECTOR.reflects]: 'rf-src/source-secret' });
    // Act
    await run(event('created', 'Secret', mirror));
    await run(event('created', 'Secret', refused));
    // Assess
    expect(await value('rf-a', 'mirror-secret')).toBe(CANARY);
    const m = await read('rf-a', 'mirror-secret');
    expect(m!.metadata!.annotations).toMatchObject({ [REFLECTOR.reflects]: 'rf-src/source-secret', [REFLECTOR.autoReflects]: 'False', [REFLECTOR.reflectedVersion]: src.metadata!.resourceVersion });
    expect(await value('rf-c', 'mirror-secret')).toBeUndefined();
    expect(await value('rf-c', 'mirror-secret', 'mine')).toBe('x');
    const w = await warnings('rf-c', 'mirror-secret');
    expect(w.map((e) => e.reason)).toEqual(['PullRefused']);
    expect(w[0]!.message).toContain('does not allow namespace rf-c');
    expect(w[0]!.message).not.toContain(CANARY);

    // Act: the source changes: the mirror follows (found by ripple's label, not by a scan); the refused one stays refused
    const s = (await read('rf-src', 'source-secret'))!;
    const upd = await admin.core.replaceNamespacedSecret({ namespace: 'rf-src', name: 'source-secret', body: { ...s, data: { k: b64('v2') } } });
    resetWrites();
    await run(event('updated', 'Secret', upd));
    expect(await value('rf-a', 'mirror-secret')).toBe('v2');
    expect(writes().map((w) => `${w.verb} ${w.objectRef?.namespace}`)).toEqual(['update rf-a']);
    // the same event again: up to date, no write
    resetWrites();
    await run(event('updated', 'Secret', upd));
    expect(writes()).toEqual([]);

    // Act: the source is deleted: a mirror is left as it is (as Reflector does) and reported
    await admin.core.deleteNamespacedSecret({ namespace: 'rf-src', name: 'source-secret' });
    await run(event('deleted', 'Secret', upd));
    expect(await value('rf-a', 'mirror-secret')).toBe('v2');
  });

  it('auto: copies in every allowed+auto namespace, a new namespace gets one, a deleted copy is re-created, an edited one put back, narrowing deletes, the source deleted deletes them', async () => {
    await ns('au-src');
    await ns('au-a');
    await ns('au-b');
    await ns('prod'); // out of the config's scope
    const allow = { [REFLECTOR.allowed]: 'true', [REFLECTOR.allowedNamespaces]: 'au-.*,prod', [REFLECTOR.autoEnabled]: 'true', [REFLECTOR.autoNamespaces]: '' };
    const src = await secret('au-src', 'shared', { k: 'one' }, allow, { team: 'x' });
    await run(event('created', 'Secret', src));
    expect(await value('au-a', 'shared')).toBe('one');
    expect(await value('au-b', 'shared')).toBe('one');
    expect(await read('prod', 'shared')).toBeNull();
    const copy = (await read('au-a', 'shared'))!;
    expect(copy.metadata!.labels).toEqual({ team: 'x' });
    expect(copy.metadata!.annotations).toMatchObject({ [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: 'au-src/shared' });

    // a new namespace
    await ns('au-new');
    await run(event('created', 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'au-new' } }));
    expect(await value('au-new', 'shared')).toBe('one');

    // a copy deleted: re-created; a copy edited: put back
    await admin.core.deleteNamespacedSecret({ namespace: 'au-a', name: 'shared' });
    await run(event('deleted', 'Secret', copy));
    expect(await value('au-a', 'shared')).toBe('one');
    const b = (await read('au-b', 'shared'))!;
    const edited = await admin.core.replaceNamespacedSecret({ namespace: 'au-b', name: 'shared', body: { ...b, data: { k: b64('tampered') } } });
    await run(event('updated', 'Secret', edited));
    expect(await value('au-b', 'shared')).toBe('one');

    // narrowing auto-namespaces deletes the copies no longer allowed
    const s = (await read('au-src', 'shared'))!;
    const narrowed = await admin.core.replaceNamespacedSecret({ namespace: 'au-src', name: 'shared', body: { ...s, metadata: { ...s.metadata, annotations: { ...allow, [REFLECTOR.autoNamespaces]: 'au-a' } } } });
    await run(event('updated', 'Secret', narrowed, ['annotations']));
    expect(await value('au-a', 'shared')).toBe('one');
    expect(await read('au-b', 'shared')).toBeNull();
    expect(await read('au-new', 'shared')).toBeNull();

    // the source deleted: its auto copies go
    await admin.core.deleteNamespacedSecret({ namespace: 'au-src', name: 'shared' });
    await run(event('deleted', 'Secret', narrowed));
    expect(await read('au-a', 'shared')).toBeNull();
  });
});

describe('Replicator (replicator.v1.mittwald.de)', () => {
  it('README pull: replication-allowed + allowed-namespaces patterns; replicate-from copies data, keeps the target\'s own keys; a namespace not allowed is refused and reported', async () => {
    await ns('rp-src');
    await ns('namespace-1');
    await ns('my-ns-2');
    await secret('rp-src', 'some-secret', { key1: 'v1' }, { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'my-ns-1,namespace-[0-9]*' });
    const t = await secret('namespace-1', 'secret-replica', { own: 'mine' }, { [REPLICATOR.replicateFrom]: 'rp-src/some-secret' });
    const bad = await secret('my-ns-2', 'secret-replica', {}, { [REPLICATOR.replicateFrom]: 'rp-src/some-secret' });
    await run(event('created', 'Secret', t));
    await run(event('created', 'Secret', bad));
    expect(await value('namespace-1', 'secret-replica', 'key1')).toBe('v1');
    expect(await value('namespace-1', 'secret-replica', 'own')).toBe('mine');
    const r = (await read('namespace-1', 'secret-replica'))!;
    expect(r.metadata!.annotations).toMatchObject({ [REPLICATOR.replicatedKeys]: 'key1' });
    expect(r.metadata!.annotations![REPLICATOR.replicatedFromVersion]).toBeTruthy();
    expect(await value('my-ns-2', 'secret-replica', 'key1')).toBeUndefined();
    expect((await warnings('my-ns-2', 'secret-replica')).map((e) => e.reason)).toEqual(['PullRefused']);
    expect(logs.some((l) => l.includes('pull not performed') && l.includes('my-ns-2'))).toBe(true);

    // the source deleted: the pulled target's data is removed (PatchDeleteDependent)
    const s = (await read('rp-src', 'some-secret'))!;
    await admin.core.deleteNamespacedSecret({ namespace: 'rp-src', name: 'some-secret' });
    await run(event('deleted', 'Secret', s));
    expect((await read('namespace-1', 'secret-replica'))!.data ?? {}).toEqual({});
  });

  it('README push: replicate-to (names and patterns) and replicate-to-matching (a label selector); a new matching namespace; strip-labels; never over an object that is not its copy', async () => {
    await ns('ps-src');
    await ns('my-ns-1');
    await ns('namespace-7');
    await ns('labelled', { 'my-label': 'value', 'my-other-label': 'x' });
    await ns('taken');
    await secret('taken', 'pushed', { k: 'theirs' });
    const src = await secret('ps-src', 'pushed', { k: 'p1' }, { [REPLICATOR.replicateTo]: 'my-ns-1,namespace-[0-9]*,taken', [REPLICATOR.replicateToMatching]: 'my-label=value,my-other-label,my-other-label notin (foo,bar)', [REPLICATOR.stripLabels]: 'true' }, { owner: 'strimzi' });
    await run(event('created', 'Secret', src));
    for (const n of ['my-ns-1', 'namespace-7', 'labelled']) expect(await value(n, 'pushed')).toBe('p1');
    const c = (await read('my-ns-1', 'pushed'))!;
    expect(c.metadata!.labels ?? {}).toEqual({});
    expect(c.metadata!.annotations).toMatchObject({ [ANN_REPLICATED_FROM]: 'Secret/ps-src/pushed', [REPLICATOR.replicatedKeys]: 'k' });
    expect(await value('taken', 'pushed')).toBe('theirs');
    expect((await warnings('taken', 'pushed')).map((e) => e.reason)).toEqual(['UnmanagedObject']);

    await ns('namespace-8');
    await run(event('created', 'Namespace', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'namespace-8' } }));
    expect(await value('namespace-8', 'pushed')).toBe('p1');

    // the namespace no longer matches the selector: its copy goes
    const l = await admin.core.readNamespace({ name: 'labelled' });
    await admin.core.replaceNamespace({ name: 'labelled', body: { ...l, metadata: { ...l.metadata, labels: { 'my-label': 'value', 'my-other-label': 'foo' } } } });
    await run(resync());
    expect(await read('labelled', 'pushed')).toBeNull();

    // a team adds a key of its own to its copy
    const seven = (await read('namespace-7', 'pushed'))!;
    await admin.core.replaceNamespacedSecret({ namespace: 'namespace-7', name: 'pushed', body: { ...seven, data: { ...seven.data, own: b64('ours') } } });

    // the source deleted: pushed copies deleted; the one holding a key of its own keeps just that key
    await admin.core.deleteNamespacedSecret({ namespace: 'ps-src', name: 'pushed' });
    await run(event('deleted', 'Secret', src));
    for (const n of ['my-ns-1', 'namespace-8']) expect(await read(n, 'pushed')).toBeNull();
    expect((await read('namespace-7', 'pushed'))!.data).toEqual({ own: b64('ours') });
    expect(await value('taken', 'pushed')).toBe('theirs');
  });
});

describe('ConfigMaps', () => {
  it('Reflector auto and Replicator pull copy data and binaryData; an edited replicated key is put back, the target\'s own key kept', async () => {
    await ns('cm-src');
    await ns('cm-a');
    const src = await admin.core.createNamespacedConfigMap({
      namespace: 'cm-src',
      body: {
        metadata: { name: 'settings', annotations: { [REFLECTOR.allowed]: 'true', [REFLECTOR.autoEnabled]: 'true', [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'cm-.*' } },
        data: { mode: 'fast' },
        binaryData: { blob: b64('\u0001\u0002') },
      },
    });
    const t = await admin.core.createNamespacedConfigMap({ namespace: 'cm-a', body: { metadata: { name: 'pulled', annotations: { [REPLICATOR.replicateFrom]: 'cm-src/settings' } }, data: { own: 'mine' } } });
    await run(event('created', 'ConfigMap', src));
    await run(event('created', 'ConfigMap', t));
    const auto = await admin.core.readNamespacedConfigMap({ namespace: 'cm-a', name: 'settings' });
    expect(auto.data).toEqual({ mode: 'fast' });
    expect(auto.binaryData).toEqual({ blob: b64('\u0001\u0002') });
    let pulled = await admin.core.readNamespacedConfigMap({ namespace: 'cm-a', name: 'pulled' });
    expect(pulled.data).toEqual({ own: 'mine', mode: 'fast' });
    expect(pulled.binaryData).toEqual({ blob: b64('\u0001\u0002') });
    // someone edits a replicated key and their own key: the replicated one is put back, theirs kept
    const edited = await admin.core.replaceNamespacedConfigMap({ namespace: 'cm-a', name: 'pulled', body: { ...pulled, data: { own: 'changed', mode: 'slow' } } });
    await run(event('updated', 'ConfigMap', edited as never));
    pulled = await admin.core.readNamespacedConfigMap({ namespace: 'cm-a', name: 'pulled' });
    expect(pulled.data).toEqual({ own: 'changed', mode: 'fast' });
  });
});

describe('the hostile namespace user', () => {
  it('pulls a Secret its source did not allow: refused; pushes its own Secret everywhere: only within the config scope and never over existing objects', async () => {
    await ns('vault');
    await ns('evil');
    await ns('victim');
    await secret('vault', 'db', { k: CANARY }); // no allow annotation at all
    await secret('victim', 'creds', { k: 'victim-own' });
    // mallory may only manage Secrets in evil
    await admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secrets', namespace: 'evil' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }] } as KubernetesObject);
    await admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'mallory', namespace: 'evil' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secrets' }, subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }] } as KubernetesObject);
    const mallory = kubeFromKubeConfig(cluster.kubeConfig({ user: 'mallory', groups: [] }), 'local');
    for (const a of [{ [REFLECTOR.reflects]: "vault/db" }, { [REPLICATOR.replicateFrom]: "vault/db" }] as Record<string, string>[]) {
      const name = REFLECTOR.reflects in a ? 'steal-rf' : 'steal-rp';
      const t = await mallory.core.createNamespacedSecret({ namespace: 'evil', body: { metadata: { name, annotations: a } } });
      await run(event('created', 'Secret', t));
      expect((await read('evil', name))!.data ?? {}).toEqual({});
      expect((await warnings('evil', name)).map((e) => e.reason)).toEqual(['PullRefused']);
    }
    // push: Replicator and Reflector let a source's owner push anywhere; ripple does too, within the scope, but
    // creates only: the victim's existing Secret is reported, not overwritten; prod (excluded) gets nothing
    await ns('prod-2');
    const p = await mallory.core.createNamespacedSecret({ namespace: 'evil', body: { metadata: { name: 'creds', annotations: { [REPLICATOR.replicateTo]: '.*', [REFLECTOR.allowed]: 'true', [REFLECTOR.autoEnabled]: 'true' } }, data: { k: b64('evil') } } });
    await run(event('created', 'Secret', p));
    expect(await value('victim', 'creds')).toBe('victim-own');
    expect(await read('prod', 'creds')).toBeNull();
    expect(await value('prod-2', 'creds')).toBe('evil');
    expect(await read('kube-system', 'creds')).toBeNull();
    expect(await read(RIPPLE_NAMESPACE, 'creds')).toBeNull();
  });

  it('pushFrom narrows who may push: a source owner outside it pushes nothing, and its earlier copies go', async () => {
    await ns('trusted');
    await ns('team-z');
    const narrowed = RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', replicator: { enabled: true, namespaces: { exclude: ['prod'] }, pushFrom: ['trusted'] } });
    const obs = quietObservability();
    const cloneKube = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
    const h = makeHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' }), kubeFor: async () => cloneKube, policies: () => [], rippleConfig: () => narrowed, observability: () => obs }) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
    const evil = await secret('evil', 'shared-z', { k: 'evil' }, { [REPLICATOR.replicateTo]: 'team-z' });
    await run(event('created', 'Secret', evil)); // the tools' default (pushFrom "*"): pushed
    expect(await value('team-z', 'shared-z')).toBe('evil');
    await h(event('updated', 'Secret', evil, ['annotations']), lambdaContext); // narrowed: evil may not push; its copy goes
    expect(await read('team-z', 'shared-z')).toBeNull();
    const ok = await secret('trusted', 'shared-t', { k: 'good' }, { [REPLICATOR.replicateTo]: 'team-z' });
    await h(event('created', 'Secret', ok), lambdaContext);
    expect(await value('team-z', 'shared-t')).toBe('good');
  });

  it('a forged event changes nothing: the handler reads the annotations itself', async () => {
    await ns('forge');
    const t = await secret('forge', 'x', {}, {});
    resetWrites();
    // the event claims the target pulls from vault/db; the object says nothing of the kind
    await run(event('created', 'Secret', { ...t, metadata: { ...t.metadata, annotations: { [REPLICATOR.replicateFrom]: 'vault/db' } } }));
    expect(writes()).toEqual([]);
    expect(await value('forge', 'x')).toBeUndefined();
  });

  it('the clone identity cannot write an object without ripple\'s label or a mode\'s mark (admission), even with the modes\' RBAC', async () => {
    await ns('plain');
    await secret('plain', 'unmarked', { k: 'v' });
    const clone = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
    const s = await clone.core.readNamespacedSecret({ namespace: 'plain', name: 'unmarked' });
    await expect(clone.core.replaceNamespacedSecret({ namespace: 'plain', name: 'unmarked', body: { ...s, data: { k: b64('w') } } })).rejects.toThrow(/changes only objects/);
    await expect(clone.core.createNamespacedSecret({ namespace: 'kube-system', body: { metadata: { name: 'x' } } })).rejects.toThrow();
  });
});

describe('a write that meets a concurrent edit', () => {
  it('409: re-read, re-planned, written once more; the concurrent edit of the target\'s own key survives', async () => {
    await ns('cf-src');
    await ns('cf-a');
    await secret('cf-src', 's', { k: 'v1' }, { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'cf-a' });
    await secret('cf-a', 't', { own: 'o1' }, { [REPLICATOR.replicateFrom]: 'cf-src/s' });
    const clone = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
    let raced = false;
    // the clone identity's client, with someone editing the target just before ripple's first write lands
    const racing = {
      core: clone.core,
      raw: {
        request: async (method: string, path: string, opts: never) => {
          if (method === 'PUT' && !raced) {
            raced = true;
            const t = (await read('cf-a', 't'))!;
            await admin.core.replaceNamespacedSecret({ namespace: 'cf-a', name: 't', body: { ...t, data: { ...t.data, own: b64('o2') } } });
          }
          return clone.raw.request(method as never, path, opts);
        },
      },
    };
    const s = await reconcileCopyModes({ kube: racing as never, modes: copyModes(CONFIG) }, { type: 'object', kind: 'Secret', namespace: 'cf-a', name: 't', event: 'updated', annotationsChanged: false, annotations: {} });
    expect(s.conflicts).toBe(1);
    expect(s.failures).toEqual([]);
    expect(await value('cf-a', 't')).toBe('v1');
    expect(await value('cf-a', 't', 'own')).toBe('o2');
  });
});

describe('deploy (the CloudFormation custom resource)', () => {
  it('reconciles the copy modes of each cluster too, then answers SUCCESS', async () => {
    const sink = await startResponseSink();
    try {
      await ns('dp-src');
      await ns('dp-a');
      await secret('dp-src', 'deployed', { k: 'v' }, { [REFLECTOR.allowed]: 'true', [REFLECTOR.autoEnabled]: 'true', [REFLECTOR.autoNamespaces]: 'dp-a' });
      await run({ RequestType: 'Update', ResponseURL: sink.url, StackId: 'arn:aws:cloudformation:eu-west-1:1:stack/ripple/1', RequestId: 'r1', LogicalResourceId: 'PoliciesReconcile', ResourceType: 'Custom::RippleReconcile', ResourceProperties: { ServiceToken: 'arn', Clusters: ['local'] } });
      expect(sink.answers.map((a) => a.Status)).toEqual(['SUCCESS']);
      expect(await value('dp-a', 'deployed')).toBe('v');
    } finally {
      await sink.stop();
    }
  });
});

describe('ripple explain --copies', () => {
  it('shows what the annotations would cause (pull allowed, pull refused, push) and writes nothing', async () => {
    await ns('ex-src');
    await ns('ex-a');
    await ns('ex-b');
    await secret('ex-src', 'cfg', { k: 'v' }, { [REPLICATOR.allowed]: 'true', [REPLICATOR.allowedNamespaces]: 'ex-a', [REPLICATOR.replicateTo]: 'ex-b' });
    await secret('ex-a', 'cfg-pull', {}, { [REPLICATOR.replicateFrom]: 'ex-src/cfg' });
    await secret('ex-b', 'cfg-pull', {}, { [REPLICATOR.replicateFrom]: 'ex-src/cfg' });
    resetWrites();
    const r = await explainCopies(admin, CONFIG, 'Secret/ex-src/cfg');
    const rows = r.rows.filter((x) => x.action !== 'skip').map((x) => `${x.mode} ${x.action} ${x.object}`);
    expect(rows).toEqual(['replicator update Secret/ex-a/cfg-pull', 'replicator create Secret/ex-b/cfg', 'replicator refuse Secret/ex-b/cfg-pull']);
    expect(formatCopiesExplain(r)).toContain('does not allow namespace ex-b');
    expect(audit.slice(mark).filter((e) => WRITE_VERBS.has(e.verb))).toEqual([]);
    expect((await explainCopies(admin, RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig' }), 'Secret/ex-src/cfg')).off).toMatch(/no copy mode is on/);
  });
});

describe('what the modes never leak', () => {
  it('no Secret value in any log line or Event', async () => {
    expect(logs.join('\n')).not.toContain(CANARY);
    for (const n of ['rf-c', 'evil']) for (const e of (await admin.core.listNamespacedEvent({ namespace: n })).items) expect(JSON.stringify(e)).not.toContain(CANARY);
  });
});
