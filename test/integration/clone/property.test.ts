/**
 * Seeded property test of the clone handler: events are hints, the handler is level-based.
 *
 * A seeded PRNG drives ~150 random operations on the embedded cluster (RBAC enforced; the handler acts as its
 * group bound to exactly the rendered clone ClusterRole) over two policies — policies/blogsecret.yaml as it is
 * (a Secret into every namespace, onSourceDelete: delete) and a ConfigMap policy with a namespace selector, an
 * exclude glob, a target name, propagated annotations and onSourceDelete: keep:
 * - source data/label/annotation updates (Secret values carry a canary), source delete and re-create (a new
 *   uid, sometimes another Secret type);
 * - namespace create (some selected, some excluded: kube-*, sandbox-*), relabel (into and out of the selector,
 *   also ripple-system/kube-system/platform/default), delete (some kept Terminating by a finalizer);
 * - user edits of copies by JSON patch (data changed, data key removed, label added/removed, annotation
 *   added/removed), copy deletes;
 * - unmanaged objects created under a copy's name.
 * Every change yields forwarder-shaped events (events/schema.ts `objectChangeEntry`, with manager and drifted as
 * the forwarder computes them), and so do half of ripple's own writes (seen in the audit log) — delivered at
 * random: duplicated, reordered, delayed, two or three at once, retried when the handler throws. Two rounds,
 * each starting with source deletes/re-creates and ending with a tail that touches no source, then a check.
 * Two cases:
 * 1. events also dropped: half the pending events, a `Ripple Resync Requested`, the other (stale) half, the
 *    check, then a scheduled event;
 * 2. nothing dropped: pending events are delivered before each tail and everything after it; the hints alone
 *    must converge (no resync before the check), then a resync.
 * The check: every selected, non-terminating namespace holds exactly the planner's `desiredCopy` (data, type,
 * labels, annotations), or — source deleted — nothing (delete) or the copy as the deletion and the user's own
 * edits left it (keep); no copy elsewhere; unmanaged objects byte-for-byte as created, reported (log line +
 * Event); sources only ever written by the test; no write attempted in a namespace kept Terminating; no Secret
 * value in any log line; not one write by the clone identity from convergence through the last run (audit log).
 *
 * RIPPLE_PROPERTY_SEED picks another (reproducible) sequence; RIPPLE_PROPERTY_OPS the number of operations.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, setHeaderOptions, type V1ConfigMap, type V1Namespace, type V1Secret } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { objectChangeEntry, resyncEntry, type ObjectChangeDetail } from '../../../events/schema.ts';
import { desiredCopy, ownershipProblem, type ClonedObject } from '../../../functions/clone/plan.ts';
import { ANN_METADATA_FINGERPRINT, ANN_SOURCE, ANN_SOURCE_FINGERPRINT, DETAIL_TYPES, LABEL_MANAGED_BY, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { fingerprint, metadataFingerprint } from '../../../core/fingerprint.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { namespaceSkipReason, targetName } from '../../../core/policy/select.ts';
import { lastManager } from '../../../forwarder/diff.ts';
import { CLONE_USER, WRITE_VERBS, lambdaContext, policiesFrom, startCloneEnv, type CloneEnv } from './harness.ts';
import { prng } from '../../support/prng.ts';

const SEED = Number(process.env.RIPPLE_PROPERTY_SEED ?? 20261125) >>> 0;
const OPS = Number(process.env.RIPPLE_PROPERTY_OPS ?? 150);
const root = join(import.meta.dirname, '../../..');


// 15 characters (a multiple of 3): its base64 is a prefix of the base64 of every Secret value made from it.
const CANARY = 'PROPcanary-Xq7Z';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');
const b64 = (s: string) => Buffer.from(s).toString('base64');

const POLICIES: RipplePolicy[] = policiesFrom(
  `${readFileSync(join(root, 'policies/blogsecret.yaml'), 'utf8')}
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: settings }
spec:
  source: { kind: ConfigMap, namespace: platform, name: settings }
  sync:
    targetName: app-settings
    namespaces:
      exclude: ["sandbox-*"]
      selector: { matchLabels: { settings: enabled } }
    onSourceDelete: keep
    propagate: { labels: ["team", "tier"], annotations: ["note.example.com/*"] }
`,
);
const SECRET_POLICY = POLICIES.find((p) => p.spec.source.kind === 'Secret')!;
const CM_POLICY = POLICIES.find((p) => p.spec.source.kind === 'ConfigMap')!;
const SOURCE_NS = 'platform';
type Kind = 'Secret' | 'ConfigMap';
type Obj = (V1Secret | V1ConfigMap) & ClonedObject;
const policyOf = (kind: Kind) => (kind === 'Secret' ? SECRET_POLICY : CM_POLICY);
const esc = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');
const JSON_PATCH = setHeaderOptions('Content-Type', 'application/json-patch+json');
const MERGE_PATCH = setHeaderOptions('Content-Type', 'application/merge-patch+json');

let env: CloneEnv;
const logs: string[] = [];
let handle: (event: unknown, context: unknown) => Promise<any>;

beforeEach(async () => {
  logs.length = 0;
  env = await startCloneEnv(POLICIES);
  handle = env.handler(POLICIES, logs) as unknown as typeof handle;
  await env.admin.core.createNamespace({ body: { metadata: { name: SOURCE_NS } } });
});
afterEach(async () => {
  await env?.stop();
});

describe('clone handler under seeded random operations and event delivery', () => {
  // With drops, the final resync is what converges; without, the hints alone must (level-based handling of the
  // last event for each change), and a resync after them finds nothing to do.
  it.each([
    ['events dropped too; a resync converges', true],
    ['no event dropped; the hints alone converge, a resync then writes nothing', false],
  ])(`seed ${SEED} (RIPPLE_PROPERTY_SEED), ${OPS} operations, %s: copies are the planner's desired copy, unmanaged objects and sources untouched, no Secret value logged, a second run writes nothing`, { timeout: 120_000 }, async (_what, dropping) => {
    const rand = prng(dropping ? SEED : SEED ^ 0x9e3779b9);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const chance = (p: number) => rand() < p;
    // The test's own writes go through plain client-node (not the handlers' kube wrapper, which names field
    // manager ripple on every write): users' edits must look like users' edits in managedFields and events.
    const core = env.cluster.kubeConfig().makeApiClient(CoreV1Api);
    const keyBytes = Buffer.from(env.key, 'utf8');
    let n = 0;
    const uniq = () => ++n;

    // ---- objects through the admin client ----
    const read = (kind: Kind, namespace: string, name: string): Promise<Obj | null> =>
      (kind === 'Secret' ? core.readNamespacedSecret({ namespace, name }) : core.readNamespacedConfigMap({ namespace, name })).then(
        (o) => ({ ...o, apiVersion: 'v1', kind }) as Obj,
        (e: { code?: number }) => {
          if (e.code === 404) return null;
          throw e;
        },
      );
    const listNamed = async (kind: Kind, name: string): Promise<Obj[]> =>
      (kind === 'Secret' ? (await core.listSecretForAllNamespaces({ fieldSelector: `metadata.name=${name}` })).items : (await core.listConfigMapForAllNamespaces({ fieldSelector: `metadata.name=${name}` })).items).map(
        (o) => ({ ...o, apiVersion: 'v1', kind }) as Obj,
      );
    const create = (kind: Kind, namespace: string, body: Obj) => (kind === 'Secret' ? core.createNamespacedSecret({ namespace, body }) : core.createNamespacedConfigMap({ namespace, body: body as V1ConfigMap }));
    const remove = (kind: Kind, namespace: string, name: string) => (kind === 'Secret' ? core.deleteNamespacedSecret({ namespace, name }) : core.deleteNamespacedConfigMap({ namespace, name }));
    const jsonPatch = (kind: Kind, namespace: string, name: string, body: object[]) =>
      (kind === 'Secret' ? core.patchNamespacedSecret({ namespace, name, body }, JSON_PATCH) : core.patchNamespacedConfigMap({ namespace, name, body }, JSON_PATCH)) as Promise<Obj>;

    // ---- forwarder-shaped events, delivered with faults ----
    const pending: object[] = [];
    const tally = { events: 0, dropped: 0, duplicated: 0, delivered: 0, retried: 0, echoes: 0, conflicts: 0 };
    const rejected: string[] = [];
    function detailOf(obj: Obj | V1Namespace, kind: Kind | 'Namespace', changes: ObjectChangeDetail['changes'], withDrift: boolean): ObjectChangeDetail {
      const md = obj.metadata ?? {};
      const ann = md.annotations ?? {};
      const content = obj as ClonedObject;
      const isCopy = kind !== 'Namespace' && (ann[ANN_SOURCE] !== undefined || ann[ANN_METADATA_FINGERPRINT] !== undefined);
      const manager = lastManager(obj);
      return {
        cluster: 'local',
        apiVersion: 'v1',
        kind,
        ...(md.namespace ? { namespace: md.namespace } : {}),
        name: md.name!,
        uid: md.uid ?? 'gone',
        resourceVersion: md.resourceVersion ?? '0',
        labels: { ...(md.labels ?? {}) },
        annotations: Object.fromEntries(Object.entries(ann).filter(([k]) => k.startsWith('ripple.dev/'))),
        ownerReferences: [],
        fingerprint: fingerprint(keyBytes, { kind, type: content.type, data: content.data, binaryData: content.binaryData }),
        changes,
        ...(kind === 'Secret' && content.type ? { type: content.type } : {}),
        ...(manager ? { manager } : {}),
        ...(withDrift && isCopy
          ? { drifted: ann[ANN_SOURCE_FINGERPRINT] !== fingerprint(keyBytes, { kind, type: content.type, data: content.data, binaryData: content.binaryData }) || ann[ANN_METADATA_FINGERPRINT] !== metadataFingerprint(md.labels, ann) }
          : {}),
        observedAt: new Date().toISOString(),
      };
    }
    function enqueue(event: object) {
      tally.events++;
      if (dropping && chance(0.12)) return void tally.dropped++;
      pending.push(event);
      if (chance(0.2)) {
        tally.duplicated++;
        pending.push(event);
      }
    }
    function hint(dt: 'created' | 'updated' | 'deleted', obj: Obj | V1Namespace, kind: Kind | 'Namespace', changes: ObjectChangeDetail['changes'] = []) {
      enqueue(env.delivered(objectChangeEntry(DETAIL_TYPES[dt] as never, detailOf(obj, kind, dt === 'updated' ? changes : [], dt !== 'deleted'))));
    }
    const resync = () => env.delivered(resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() }));
    const scheduled = () => ({ version: '0', id: `sched-${uniq()}`, source: 'aws.events', account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: [], 'detail-type': 'Scheduled Event', detail: {} });

    const attempts = new Map<object, number>();
    async function invoke(event: object): Promise<any> {
      tally.delivered++;
      try {
        const r = await handle(event, lambdaContext);
        if (r && typeof r === 'object' && (r as { status?: string }).status === 'rejected') rejected.push((r as { reason: string }).reason);
        tally.conflicts += (r as { conflicts?: number } | null)?.conflicts ?? 0;
        return r;
      } catch (err) {
        // EventBridge retries a failed invocation later (at least once, in any order).
        const a = (attempts.get(event) ?? 0) + 1;
        attempts.set(event, a);
        tally.retried++;
        if (a > 5) rejected.push(`gave up after ${a} attempts: ${(err as Error).message}`);
        else pending.push(event);
        return null;
      }
    }
    // The forwarder also reports ripple's own writes; the clone rule would mostly filter them, but hints are
    // hints: half of them are delivered too.
    let auditSeen = 0;
    async function echoOwnWrites() {
      // in a stable order (concurrent writes reach the audit log in any order), so a seed replays the same way
      const at = (e: (typeof env.audit)[number]) => `${e.objectRef?.resource}/${e.objectRef?.namespace}/${e.objectRef?.name}/${e.verb}`;
      const fresh = env.audit.slice(auditSeen).sort((a, b) => (at(a) < at(b) ? -1 : at(a) > at(b) ? 1 : 0));
      auditSeen = env.audit.length;
      for (const e of fresh) {
        if (e.user.username !== CLONE_USER || !WRITE_VERBS.has(e.verb) || e.responseStatus.code >= 300) continue;
        const kind = e.objectRef?.resource === 'secrets' ? 'Secret' : e.objectRef?.resource === 'configmaps' ? 'ConfigMap' : null;
        if (!kind || !e.objectRef?.namespace || !e.objectRef.name || !chance(0.5)) continue;
        tally.echoes++;
        const now = await read(kind, e.objectRef.namespace, e.objectRef.name);
        if (now) hint(e.verb === 'create' ? 'created' : 'updated', now, kind, ['data', 'labels', 'annotations']);
        else hint('deleted', { apiVersion: 'v1', kind, metadata: { namespace: e.objectRef.namespace, name: e.objectRef.name } } as Obj, kind);
      }
    }
    async function deliverSome() {
      if (chance(0.3) || pending.length === 0) return; // delayed
      const batch: object[] = [];
      for (let i = 1 + Math.floor(rand() * 3); i > 0 && pending.length > 0; i--) batch.push(pending.splice(Math.floor(rand() * pending.length), 1)[0]);
      await Promise.all(batch.map(invoke)); // concurrent invocations, as Lambda runs them
      await echoOwnWrites();
    }

    // ---- the world the test changes ----
    const sourceRv = new Map<Kind, string | null>(); // the resourceVersion of the test's last write of each source (null: deleted)
    const unmanaged = new Map<string, { kind: Kind; namespace: string; json: string }>(); // kind/namespace -> as created
    // The keep policy with its source gone: the copies as the source's deletion left them (uid@resourceVersion),
    // followed through the test's own edits and deletes; ripple must not write them. A namespace relabelled
    // since may also have lost its copy (a namespace leaving the selector loses it, if that hint arrives).
    let kept: Map<string, string> | null = null;
    const wavered = new Set<string>();
    const held = new Map<string, number>(); // namespaces kept Terminating -> the audit log's length when deleted
    const version = (o: Obj) => `${o.metadata?.uid}@${o.metadata?.resourceVersion}`;
    const mine: string[] = []; // namespaces the test created (and has not deleted)
    const system = ['default', 'kube-system', RIPPLE_NAMESPACE, SOURCE_NS];
    const opCounts: Record<string, number> = {};
    const count = (op: string) => (opCounts[op] = (opCounts[op] ?? 0) + 1);
    const secretValue = () => b64(`${CANARY}-${uniq()}`);

    function sourceBody(kind: Kind): Obj {
      const keys = ['password', 'token', 'extra'].filter(() => chance(0.6));
      if (keys.length === 0) keys.push('password');
      const data = Object.fromEntries(keys.map((k) => [k, kind === 'Secret' ? secretValue() : `v${uniq()}`]));
      const labels: Record<string, string> = {};
      if (chance(0.7)) labels.team = pick(['blog', 'platform']);
      if (chance(0.5)) labels.tier = pick(['a', 'b']);
      if (chance(0.3)) labels.rotated = 'yes';
      const annotations: Record<string, string> = {};
      if (chance(0.6)) annotations['note.example.com/owner'] = pick(['ann', 'bob']);
      if (chance(0.4)) annotations['other.example.com/x'] = `${uniq()}`;
      if (chance(0.4)) annotations['kubectl.kubernetes.io/last-applied-configuration'] = JSON.stringify({ stringData: { password: `${CANARY}-applied` } });
      const name = policyOf(kind).spec.source.name;
      return { apiVersion: 'v1', kind, metadata: { name, namespace: SOURCE_NS, labels, annotations }, data, ...(kind === 'Secret' ? { type: chance(0.85) ? 'Opaque' : 'example.com/blog' } : {}) } as Obj;
    }
    async function createSource(kind: Kind) {
      const created = { ...(await create(kind, SOURCE_NS, sourceBody(kind))), apiVersion: 'v1', kind } as Obj;
      sourceRv.set(kind, created.metadata!.resourceVersion!);
      if (kind === 'ConfigMap') kept = null;
      hint('created', created, kind);
    }
    async function updateSource(kind: Kind) {
      const cur = await read(kind, SOURCE_NS, policyOf(kind).spec.source.name!);
      if (!cur) return createSource(kind).then(() => count(`source-recreate-${kind}`));
      const next = sourceBody(kind);
      const what = pick(['data', 'labels', 'annotations', 'all'] as const);
      const body = structuredClone(cur);
      if (what === 'data' || what === 'all') body.data = next.data;
      if (what === 'labels' || what === 'all') body.metadata!.labels = next.metadata!.labels;
      if (what === 'annotations' || what === 'all') body.metadata!.annotations = next.metadata!.annotations;
      const updated = { ...(await (kind === 'Secret' ? core.replaceNamespacedSecret({ namespace: SOURCE_NS, name: body.metadata!.name!, body }) : core.replaceNamespacedConfigMap({ namespace: SOURCE_NS, name: body.metadata!.name!, body: body as V1ConfigMap }))), apiVersion: 'v1', kind } as Obj;
      sourceRv.set(kind, updated.metadata!.resourceVersion!);
      hint('updated', updated, kind, what === 'all' ? ['data', 'labels', 'annotations'] : [what]);
      count(`source-update-${what}`);
    }
    async function deleteSource(kind: Kind) {
      const cur = await read(kind, SOURCE_NS, policyOf(kind).spec.source.name!);
      if (!cur) return updateSource(kind);
      await remove(kind, SOURCE_NS, cur.metadata!.name!);
      sourceRv.set(kind, null);
      if (kind === 'ConfigMap') {
        kept = new Map((await copies('ConfigMap')).map((o) => [o.metadata!.namespace!, version(o)]));
        wavered.clear();
      }
      hint('deleted', cur, kind);
      count(`source-delete-${kind}`);
    }
    async function createNamespace() {
      const name = pick(['p', 'p', 'p', 'sandbox', 'kube-p']) + `-${uniq()}`;
      const labels: Record<string, string> = chance(0.5) ? { settings: 'enabled' } : {};
      if (chance(0.3)) labels.team = 'blog';
      const ns = await core.createNamespace({ body: { metadata: { name, labels } } });
      mine.push(name);
      hint('created', ns, 'Namespace');
      count('namespace-create');
    }
    async function relabelNamespace() {
      const name = pick([...mine, ...system]);
      const ns = await core.readNamespace({ name });
      const on = ns.metadata?.labels?.settings === 'enabled';
      wavered.add(name);
      const patched = await core.patchNamespace({ name, body: { metadata: { labels: { settings: on ? null : 'enabled', ...(chance(0.3) ? { team: pick(['blog', 'other']) } : {}) } } } }, MERGE_PATCH);
      hint('updated', patched, 'Namespace', ['labels']);
      count(on ? 'namespace-leave-selector' : 'namespace-enter-selector');
    }
    async function deleteNamespace() {
      if (mine.length < 3) return createNamespace();
      const name = mine.splice(Math.floor(rand() * mine.length), 1)[0];
      const inside = (await Promise.all((['Secret', 'ConfigMap'] as const).map((k) => read(k, name, targetName(policyOf(k)))))).filter((o): o is Obj => o !== null);
      // Some stay Terminating (an object with a finalizer nobody removes): no clone write may go there from then on.
      const hold = chance(0.3);
      if (hold) await core.createNamespacedConfigMap({ namespace: name, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
      const ns = await core.deleteNamespace({ name }).then(() => core.readNamespace({ name }).catch(() => null));
      if (hold) held.set(name, env.audit.length);
      for (const k of ['Secret', 'ConfigMap'] as const) unmanaged.delete(`${k}/${name}`);
      kept?.delete(name);
      if (ns) hint('updated', ns, 'Namespace', ['status']);
      if (!hold) hint('deleted', { metadata: { name, uid: ns?.metadata?.uid } }, 'Namespace');
      for (const o of inside) hint('deleted', o, o.kind as Kind); // the namespace controller deletes its contents
      count('namespace-delete');
    }
    /** Copies ripple made (not the sources, not the unmanaged objects), as they are now. */
    async function copies(kind: Kind): Promise<Obj[]> {
      return (await listNamed(kind, targetName(policyOf(kind)))).filter((o) => o.metadata!.namespace !== SOURCE_NS && !unmanaged.has(`${kind}/${o.metadata!.namespace}`));
    }
    async function editCopy() {
      const kind: Kind = chance(0.5) ? 'Secret' : 'ConfigMap';
      const all = await copies(kind);
      if (all.length === 0) return createNamespace();
      const c = pick(all);
      const md = c.metadata!;
      const data = Object.keys(c.data ?? {});
      const value = kind === 'Secret' ? secretValue() : `user-${uniq()}`;
      // Never both marks: an object without ripple.dev/source and without the managed-by label is not ripple's
      // (it would be an unmanaged object from then on). Either one alone may go.
      const labelKeys = Object.keys(md.labels ?? {}).filter((k) => k !== LABEL_MANAGED_BY || md.annotations?.[ANN_SOURCE] !== undefined);
      const annKeys = Object.keys(md.annotations ?? {}).filter((k) => k !== ANN_SOURCE || md.labels?.[LABEL_MANAGED_BY] !== undefined);
      const edits: [string, () => object[]][] = [
        ['data-changed', () => (data.length ? [{ op: 'replace', path: `/data/${esc(pick(data))}`, value }] : [{ op: 'add', path: '/data', value: { password: value } }])],
        ['data-key-removed', () => (data.length ? [{ op: 'remove', path: `/data/${esc(pick(data))}` }] : [])],
        ['label-added', () => (md.labels ? [{ op: 'add', path: `/metadata/labels/${esc(pick(['user.example.com/mark', 'team', 'extra']))}`, value: `u${uniq()}` }] : [{ op: 'add', path: '/metadata/labels', value: { extra: 'x' } }])],
        ['label-removed', () => (labelKeys.length ? [{ op: 'remove', path: `/metadata/labels/${esc(pick(labelKeys))}` }] : [])],
        ['annotation-removed', () => (annKeys.length ? [{ op: 'remove', path: `/metadata/annotations/${esc(pick(annKeys))}` }] : [])],
        ['annotation-added', () => [{ op: 'add', path: `/metadata/annotations/${esc(pick(['user.example.com/why', 'note.example.com/owner']))}`, value: `u${uniq()}` }]],
      ];
      const [what, ops] = pick(edits);
      const patch = ops();
      if (patch.length === 0) return;
      const after = { ...(await jsonPatch(kind, md.namespace!, md.name!, patch)), apiVersion: 'v1', kind } as Obj;
      if (kind === 'ConfigMap') kept?.set(md.namespace!, version(after));
      hint('updated', after, kind, what.startsWith('data') ? ['data'] : what.startsWith('label') ? ['labels'] : ['annotations']);
      count(`copy-${what}`);
    }
    async function deleteCopy() {
      const kind: Kind = chance(0.5) ? 'Secret' : 'ConfigMap';
      const all = await copies(kind);
      if (all.length === 0) return createNamespace();
      const c = pick(all);
      await remove(kind, c.metadata!.namespace!, c.metadata!.name!);
      if (kind === 'ConfigMap') kept?.delete(c.metadata!.namespace!);
      hint('deleted', c, kind);
      count('copy-delete');
    }
    async function createUnmanaged() {
      if (unmanaged.size >= 4 || mine.length === 0) return editCopy();
      const kind: Kind = chance(0.5) ? 'Secret' : 'ConfigMap';
      const namespace = pick([...mine, 'default']);
      if (unmanaged.has(`${kind}/${namespace}`)) return;
      const name = targetName(policyOf(kind));
      const existing = await read(kind, namespace, name);
      if (existing) {
        await remove(kind, namespace, name); // the user deletes the copy and puts their own object in its place
        if (kind === 'ConfigMap') kept?.delete(namespace);
        hint('deleted', existing, kind);
      }
      const body = { apiVersion: 'v1', kind, metadata: { name, labels: { owner: 'team' }, annotations: { 'user.example.com/note': 'mine' } }, data: { password: kind === 'Secret' ? secretValue() : 'theirs' } } as Obj;
      await create(kind, namespace, body);
      const created = (await read(kind, namespace, name))!;
      unmanaged.set(`${kind}/${namespace}`, { kind, namespace, json: JSON.stringify(created) });
      hint('created', created, kind);
      count('unmanaged-create');
    }

    // ---- Prepare: sources and a few namespaces, converged by one resync ----
    await createSource('Secret');
    await createSource('ConfigMap');
    for (let i = 0; i < 4; i++) await createNamespace();
    await invoke(resync());
    await echoOwnWrites();

    // ---- Act: random operations, random delivery ----
    const ops: [number, () => Promise<unknown>][] = [
      [0.1, () => updateSource('Secret')],
      [0.08, () => updateSource('ConfigMap')],
      [0.02, () => deleteSource('Secret')],
      [0.03, () => deleteSource('ConfigMap')],
      [0.1, createNamespace],
      [0.13, relabelNamespace],
      [0.05, deleteNamespace],
      [0.3, editCopy],
      [0.08, deleteCopy],
      [0.05, createUnmanaged],
      // a resync mid-run: queued like any event with drops; without, run at once (a late one would converge
      // what the hints alone must)
      [0.02, async () => (dropping ? enqueue(resync()) : await invoke(resync()), count('resync-midway'))],
      [0.04, async () => count('quiet')],
    ];
    // A main part with every operation, then two rounds. Each round first deletes or re-creates sources —
    // round 1 deletes each at random (without drops: each is present), round 2 toggles each (so every run checks
    // both policies with the source present and with it gone) — then runs a tail of operations that touch no source and request no resync
    // (a later source change rewrites every copy and would heal earlier drift by the way; the tail leaves drift
    // for the hints and the final resync), then settles and checks the property.
    const tail = Math.max(1, Math.round(OPS * 0.12));
    const tailOps: typeof ops = [
      [0.08, createNamespace],
      [0.25, relabelNamespace],
      [0.05, deleteNamespace],
      [0.4, editCopy],
      [0.12, deleteCopy],
      [0.05, createUnmanaged],
      [0.05, async () => count('quiet')],
    ];
    async function step(table: typeof ops) {
      let r = rand() * table.reduce((s, [w]) => s + w, 0);
      const op = table.find(([w]) => (r -= w) < 0)?.[1] ?? table[0][1];
      await op();
      await deliverSome();
    }
    for (let i = 0; i < OPS - 2 * tail; i++) await step(ops);
    const violations: string[] = [];
    const states: string[] = [];
    let cloneWrites: typeof env.audit = [];
    let namespaceCount = 0;
    for (const round of [1, 2]) {
      for (const kind of ['ConfigMap', 'Secret'] as const) {
        const present = (await read(kind, SOURCE_NS, policyOf(kind).spec.source.name!)) !== null;
        // round 1: with drops each source deleted at random, without each one present; round 2: toggled
        if (round === 1 ? dropping && present && chance(0.5) : present) await deleteSource(kind);
        else if (!present && (round === 2 || !dropping)) await createSource(kind).then(() => count(`source-recreate-${kind}`));
      }
      // Without drops, what is pending is delivered first: a late source event (a full run for its policy) would
      // otherwise converge the tail's drift, which the tail's own hints must do.
      if (!dropping) while (pending.length > 0) await invoke(pending.splice(Math.floor(rand() * pending.length), 1)[0]);
      for (let i = 0; i < tail; i++) await step(tailOps);
      // With drops: some of what is still pending arrives before the final resync, the rest after it (stale
      // hints). Without: everything pending arrives (in random order), and no resync before the check.
      if (dropping) for (let i = Math.floor(pending.length / 2); i > 0; i--) await invoke(pending.splice(Math.floor(rand() * pending.length), 1)[0]);
      else while (pending.length > 0) await invoke(pending.splice(Math.floor(rand() * pending.length), 1)[0]);
      // deleted namespaces finish terminating (nothing holds them)
      for (let i = 0; i < 200; i++) {
        const terminating = (await core.listNamespace()).items.filter((ns) => ns.status?.phase === 'Terminating' && !held.has(ns.metadata!.name!));
        if (terminating.length === 0) break;
        await new Promise((r) => setTimeout(r, 25));
      }

      if (dropping) {
        await invoke(resync());
        await echoOwnWrites();
      }
      const converged = env.audit.length;
      while (pending.length > 0) await invoke(pending.splice(Math.floor(rand() * pending.length), 1)[0]);

      // ---- Assess: the property ----
      const namespaces = (await core.listNamespace()).items;
      const sources = new Map<Kind, Obj | null>();
      for (const kind of ['Secret', 'ConfigMap'] as const) sources.set(kind, await read(kind, SOURCE_NS, policyOf(kind).spec.source.name!));
      for (const kind of ['Secret', 'ConfigMap'] as const) {
        const policy = policyOf(kind);
        const source = sources.get(kind)!;
        const byNs = new Map((await listNamed(kind, targetName(policy))).map((o) => [o.metadata!.namespace!, o]));
        for (const ns of namespaces) {
          const name = ns.metadata!.name!;
          if ((name === SOURCE_NS && targetName(policy) === policy.spec.source.name) || ns.status?.phase === 'Terminating') continue; // the source itself
          const at = `${kind} ${name}/${targetName(policy)}`;
          const obj = byNs.get(name) ?? null;
          const own = unmanaged.get(`${kind}/${name}`);
          if (own) {
            if (JSON.stringify(obj) !== own.json) violations.push(`round ${round}: ${at}: unmanaged object changed: ${JSON.stringify(obj)?.slice(0, 300)}`);
            continue;
          }
          if (obj && ownershipProblem(policy, obj) !== null) violations.push(`round ${round}: ${at}: an object that is not ripple's and not the test's: ${ownershipProblem(policy, obj)}`);
          const selected = namespaceSkipReason(policy, ns) === null;
          if (!selected) {
            if (obj) violations.push(`round ${round}: ${at}: a copy in a namespace that is not selected (${namespaceSkipReason(policy, ns)})`);
          } else if (!source) {
            if (policy.spec.sync?.onSourceDelete === 'keep') {
              const want = (kept as Map<string, string> | null)?.get(name);
              if (obj ? version(obj) !== want : want !== undefined && !wavered.has(name)) violations.push(`round ${round}: ${at}: source gone, onSourceDelete keep: the copy is ${obj ? version(obj) : 'gone'}, want ${want ?? 'none'} as the deletion and the test's own edits left it`);
            } else if (obj) violations.push(`round ${round}: ${at}: source gone (onSourceDelete: delete) but the copy is there`);
          } else if (!obj) {
            violations.push(`round ${round}: ${at}: missing`);
          } else {
            const want = desiredCopy(policy, source, name, keyBytes);
            for (const part of ['data', 'binaryData', 'type', 'immutable'] as const) {
              if (JSON.stringify(obj[part] ?? null) !== JSON.stringify(want[part] ?? null)) violations.push(`round ${round}: ${at}: ${part} differs from the desired copy`);
            }
            for (const part of ['labels', 'annotations'] as const) {
              const sorted = (m?: Record<string, string>) => JSON.stringify(Object.entries(m ?? {}).sort());
              if (sorted(obj.metadata?.[part]) !== sorted(want.metadata?.[part])) violations.push(`round ${round}: ${at}: ${part} ${sorted(obj.metadata?.[part])} differ from the desired ${sorted(want.metadata?.[part])}`);
            }
          }
        }
        // the source: only ever written by the test
        if ((source?.metadata?.resourceVersion ?? null) !== sourceRv.get(kind)) violations.push(`round ${round}: ${kind} source: resourceVersion ${source?.metadata?.resourceVersion} is not the test's last write ${sourceRv.get(kind)}`);
        if (source?.metadata?.managedFields?.some((f) => f.manager === 'ripple')) violations.push(`round ${round}: ${kind} source: ripple is a field manager`);
        if (source?.metadata?.labels?.[LABEL_MANAGED_BY] !== undefined) violations.push(`round ${round}: ${kind} source: carries ${LABEL_MANAGED_BY}`);
      }
      // every write by the clone identity (whole run) targets a copy name outside the source namespace, never a source
      cloneWrites = env.audit.filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb));
      for (const w of cloneWrites) {
        const r = w.objectRef;
        if (r?.resource === 'events') continue;
        if (r?.namespace === SOURCE_NS || ![targetName(SECRET_POLICY), targetName(CM_POLICY)].includes(r?.name ?? '')) violations.push(`round ${round}: clone wrote ${w.verb} ${r?.resource} ${r?.namespace}/${r?.name}`);
      }
      // namespaces kept Terminating: not one write attempted there since they were deleted
      for (const [name, from] of held) {
        const there = env.audit.slice(from).filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb) && e.objectRef?.namespace === name);
        if (there.length) violations.push(`round ${round}: ${there.length} clone writes in terminating namespace ${name}: ${there.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} ${e.responseStatus.code}`).join(', ')}`);
      }
      // stale hints after convergence wrote nothing; one more run (a scheduled event, or a resync where none ran
      // yet) writes nothing either (idempotency)
      const finalLogsFrom = logs.length;
      const second = await invoke(dropping ? scheduled() : resync());
      const laterWrites = env.audit.slice(converged).filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb));
      if (laterWrites.length) violations.push(`round ${round}: ${laterWrites.length} writes after convergence: ${laterWrites.slice(0, 5).map((w) => `${w.verb} ${w.objectRef?.resource} ${w.objectRef?.namespace}/${w.objectRef?.name}`).join(', ')}`);
      if (second?.writes !== 0) violations.push(`round ${round}: a full run after convergence: writes ${second?.writes}`);
      // unmanaged objects in selected namespaces with the source present: reported by that run (log + Event)
      const finalLogs = logs.slice(finalLogsFrom).map((l) => JSON.parse(l) as { message?: string; namespace?: string; kind?: string });
      for (const u of unmanaged.values()) {
        const ns = namespaces.find((x) => x.metadata?.name === u.namespace);
        if (!ns || !sources.get(u.kind) || namespaceSkipReason(policyOf(u.kind), ns) !== null) continue;
        if (!finalLogs.some((l) => l.message === 'same-named object not managed by ripple: left alone' && l.namespace === u.namespace && l.kind === u.kind)) violations.push(`round ${round}: ${u.kind} ${u.namespace}: unmanaged object not reported in the log`);
        const uid = (JSON.parse(u.json) as Obj).metadata?.uid;
        const events = (await core.listNamespacedEvent({ namespace: u.namespace })).items.filter((e) => e.reason === 'UnmanagedObject' && e.involvedObject?.uid === uid);
        if (events.length !== 1) violations.push(`round ${round}: ${u.kind} ${u.namespace}: ${events.length} UnmanagedObject Events (want 1)`);
      }
      // no Secret value in any log line (clear, or base64 as the API carries it)
      const leaked = logs.filter((l) => l.includes(CANARY) || l.includes(CANARY_B64));
      if (leaked.length) violations.push(`round ${round}: ${leaked.length} log lines carry a Secret value, e.g. ${leaked[0].slice(0, 200)}`);
      if (rejected.length) violations.push(`round ${round}: handler rejected or gave up: ${rejected.slice(0, 3).join('; ')}`);


      states.push(`round ${round}: ${[...sources].map(([k, s]) => `${k} ${s ? 'present' : 'absent'}`).join(', ')}`);
      namespaceCount = namespaces.length;
    }

    const summary = `seed ${SEED}${dropping ? '' : ' (no drops)'}: ${OPS} ops ${JSON.stringify(opCounts)}; events ${JSON.stringify(tally)}; ${namespaceCount} namespaces (${held.size} kept terminating), ${unmanaged.size} unmanaged; sources ${states.join('; ')}; clone writes ${cloneWrites.length}; ${logs.length} log lines`;
    if (violations.length || process.env.RIPPLE_PROPERTY_VERBOSE) console.log(summary);
    expect(violations, summary).toEqual([]);
    // the run exercised what it claims to (a property over nothing proves nothing)
    expect(dropping ? tally.dropped : tally.duplicated, summary).toBeGreaterThan(0);
    expect(cloneWrites.length, summary).toBeGreaterThan(10);
  });
});
