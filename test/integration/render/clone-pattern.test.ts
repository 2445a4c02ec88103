/**
 * The checked-in clone and rollout patterns on the whole chain: embedded cluster (RBAC enforced) -> forwarder
 * (its rendered RBAC) -> local EventBridge -> rules with events/patterns/clone.json and rollout.json -> the clone
 * handler (group ripple:clone, rendered ClusterRole). A user edits copies with the real kubectl.
 *
 * What is proven: ripple's own copy writes (a fan-out after a source edit, and each heal) reach the rollout rule
 * but not the clone handler; a user's edit, a removed managed-by label (managedFields still names ripple then)
 * and a delete reach the clone handler, which reverts them. A copy deleted while the forwarder's watch was cut
 * off and its history compacted (410 Gone) is found by the relist; that Deleted event, synthesized from the
 * forwarder's memory, carries no labels or annotations, and still reaches the clone handler, which re-creates
 * the copy with no resync. A data key removed from a copy with a JSON patch leaves managedFields naming ripple
 * only (the remover owns nothing afterwards), so the event says `manager: ripple`; the forwarder's `drifted:
 * true` (content against the recorded source fingerprint) routes it, and the copy is restored with no resync. The
 * same for a propagated label removed with a JSON patch: content unchanged, `drifted: true` from the metadata
 * fingerprint (labels and annotations against the recorded `ripple.dev/metadata-fingerprint`).
 * The forwarder reaches the API server through a TCP proxy (a network fault, not a hook into its code).
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { forwardToBus } from '../../support/forwarder.ts';
import { ANN_METADATA_FINGERPRINT, ANN_SOURCE, DETAIL_TYPES, FIELD_MANAGER, LABEL_MANAGED_BY, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { metadataFingerprint } from '../../../core/fingerprint.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import type { ObjectChangeDetail } from '../../../events/schema.ts';
import { b64, routeToClone, poller, secretIn } from '../clone/harness.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY } from '../../support/rbac.ts';
import { kubeConfigVia, startTcpProxy, type TcpProxy } from '../forwarder/helpers.ts';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const POLICIES = loadPolicies('policies'); // Secret platform/blogsecret, synced everywhere, reloading
const CLONE_PATTERN = JSON.parse(readFileSync('events/patterns/clone.json', 'utf8')) as object;
const ROLLOUT_PATTERN = JSON.parse(readFileSync('events/patterns/rollout.json', 'utf8')) as object;
const TEAMS = ['team-a', 'team-b', 'team-c'];

interface Delivered { id: string; 'detail-type': string; detail: ObjectChangeDetail }

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let forwarder: Forwarder;
let proxy: TcpProxy;
let admin: Kube;
let dir: string;
/** Events the clone rule delivered to the handler, in order. */
const toClone: Delivered[] = [];
const targetErrors: unknown[] = [];

function kubectl(args: string[]): Promise<string> {
  const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
  return new Promise((resolve, reject) => {
    execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
  });
}

const eventually = poller(() => `clone deliveries ${toClone.length}, target errors: ${targetErrors.map(String).join('; ')}`);

function copyIn(namespace: string) {
  return secretIn(admin.core, namespace, 'blogsecret');
}

/** The event the forwarder sent for this state of a copy (kind/namespace/name/resourceVersion), once the bus has it. */
function sentFor(detailType: string, namespace: string, resourceVersion: string): Delivered | undefined {
  return (bus.received() as Delivered[]).find(
    (e) => e['detail-type'] === detailType && e.detail.kind === 'Secret' && e.detail.namespace === namespace && e.detail.name === 'blogsecret' && e.detail.resourceVersion === resourceVersion,
  );
}
const rules = (e: Delivered) => bus.matchedBy(e.id);

/**
 * After a removal-only edit of the copy in `ns` was restored (the restoring write at `healedAt`): ripple's heal is
 * in sync again (drifted false) and not routed back to the clone handler, and the removal event alone did it —
 * no resync since `mark`, exactly one clone delivery for this copy (an Updated by ripple, drifted true).
 */
async function expectHealedFromTheRemovalAlone(ns: string, healedAt: string, mark: { bus: number; clone: number }): Promise<void> {
  const heal = await eventually("the heal's event", () => sentFor(DETAIL_TYPES.updated, ns, healedAt));
  expect(heal.detail).toMatchObject({ manager: FIELD_MANAGER, drifted: false });
  expect(rules(heal)).not.toContain('ripple-clone');
  await bus.idle();
  expect((bus.received() as Delivered[]).slice(mark.bus).filter((e) => e['detail-type'] === DETAIL_TYPES.resync)).toEqual([]);
  expect(toClone.slice(mark.clone).filter((e) => e.detail.namespace === ns).map((e) => `${e['detail-type']} by ${e.detail.manager}, drifted ${e.detail.drifted}`)).toEqual([
    `${DETAIL_TYPES.updated} by ${FIELD_MANAGER}, drifted true`,
  ]);
}

beforeAll(async () => {
  if (!hasKubectl) return;
  cluster = await startCluster({ authorization: 'RBAC' });
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  dir = mkdtempSync(join(tmpdir(), 'ripple-clone-pattern-'));
  writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig({ user: 'alice', groups: ['system:masters'] }));
  for (const ns of [RIPPLE_NAMESPACE, 'platform', ...TEAMS]) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await applyRenderedRbac(admin, POLICIES, 'forwarder', 'clone');

  bus = await startEventBridge();
  routeToClone(bus, cluster, POLICIES, CLONE_PATTERN, targetErrors, (event) => toClone.push(event as Delivered));
  bus.putRule({ name: 'ripple-rollout', eventBusName: 'ripple', pattern: ROLLOUT_PATTERN, target: async () => {} });

  proxy = await startTcpProxy(cluster.url);
  forwarder = await forwardToBus(kubeConfigVia(cluster.kubeconfig(FORWARDER_IDENTITY), cluster.url, proxy.url), bus, {}, { watch: { backoffBaseMs: 50, backoffCapMs: 500 } });
});
afterAll(async () => {
  await forwarder?.stop(1000);
  await proxy?.close();
  await bus?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasKubectl)('rendered clone pattern on the chain cluster -> forwarder -> EventBridge -> clone handler', () => {
  it("ripple's own copy writes reach rollout only; a user's edit, a removed label and a delete reach the clone handler", async () => {
    // Prepare: the source; the clone handler fans it out
    await admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'one' } } });
    for (const ns of TEAMS) await eventually(`copy in ${ns}`, () => copyIn(ns));

    // Act: edit the source -> ripple rewrites every copy
    const src = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'blogsecret' });
    await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'blogsecret', body: { ...src, data: { password: b64('two') } } });
    // Assess: each copy's update event, written by ripple, matched the rollout rule and not the clone rule
    for (const ns of TEAMS) {
      const copy = await eventually(`copy in ${ns} updated`, async () => {
        const c = await copyIn(ns);
        return c?.data?.password === b64('two') ? c : null;
      });
      const ev = await eventually(`the forwarder's event for ${ns}`, () => sentFor(DETAIL_TYPES.updated, ns, copy.metadata!.resourceVersion!));
      expect(ev.detail.manager).toBe(FIELD_MANAGER);
      expect(ev.detail.changes).toContain('data');
      expect(ev.detail.drifted).toBe(false);
      expect(rules(ev)).toEqual(['ripple-rollout']);
    }
    await bus.idle();
    expect(toClone.filter((e) => e.detail.namespace !== 'platform' && e['detail-type'] === DETAIL_TYPES.updated)).toEqual([]);

    // Act: a user removes the managed-by label from the copy in team-a
    await kubectl(['-n', 'team-a', 'label', 'secret', 'blogsecret', `${LABEL_MANAGED_BY}-`]);
    // Assess: the event still names ripple as manager (the remover owns no field, so managedFields has no entry
    // for it), carries the source annotation, and reaches the clone handler, which puts the label back
    const unlabelled = await eventually('the label-removal event', () =>
      (bus.received() as Delivered[]).find((e) => e.detail.namespace === 'team-a' && e['detail-type'] === DETAIL_TYPES.updated && e.detail.labels?.[LABEL_MANAGED_BY] === undefined),
    );
    expect(unlabelled.detail.manager).toBe(FIELD_MANAGER);
    expect(unlabelled.detail.annotations[ANN_SOURCE]).toBe('Secret/platform/blogsecret');
    expect(rules(unlabelled)).toContain('ripple-clone');
    const relabelled = await eventually('label restored', async () => {
      const c = await copyIn('team-a');
      return c?.metadata?.labels?.[LABEL_MANAGED_BY] === 'ripple' ? c : null;
    });
    const heal = await eventually("the heal's event", () => sentFor(DETAIL_TYPES.updated, 'team-a', relabelled.metadata!.resourceVersion!));
    expect(heal.detail.manager).toBe(FIELD_MANAGER);
    expect(rules(heal)).not.toContain('ripple-clone');

    // Act: a user edits the data of the copy in team-b
    await kubectl(['-n', 'team-b', 'patch', 'secret', 'blogsecret', '--type', 'merge', '-p', JSON.stringify({ data: { password: b64('mine') } })]);
    // Assess: routed (manager kubectl-patch) and reverted
    const edited = await eventually('the data-edit event', () =>
      (bus.received() as Delivered[]).find((e) => e.detail.namespace === 'team-b' && e['detail-type'] === DETAIL_TYPES.updated && e.detail.manager !== FIELD_MANAGER),
    );
    expect(edited.detail.manager).toBe('kubectl-patch');
    expect(rules(edited)).toEqual(expect.arrayContaining(['ripple-clone', 'ripple-rollout']));
    await eventually('data restored in team-b', async () => (await copyIn('team-b'))?.data?.password === b64('two'));

    // Act: a user deletes the copy in team-c
    const before = await copyIn('team-c');
    await kubectl(['-n', 'team-c', 'delete', 'secret', 'blogsecret']);
    // Assess: the delete reaches the clone handler, which re-creates the copy
    const deleted = await eventually('the delete event', () => (bus.received() as Delivered[]).find((e) => e.detail.namespace === 'team-c' && e['detail-type'] === DETAIL_TYPES.deleted));
    expect(rules(deleted)).toContain('ripple-clone');
    await eventually('copy re-created in team-c', async () => {
      const c = await copyIn('team-c');
      return c && c.metadata?.uid !== before?.metadata?.uid;
    });

    // Assess: the clone handler saw exactly the three user actions on copies, none of ripple's own writes
    await bus.idle();
    const copyDeliveries = toClone.filter((e) => e.detail.namespace !== undefined && TEAMS.includes(e.detail.namespace));
    expect(copyDeliveries.map((e) => `${e['detail-type']} ${e.detail.namespace} by ${e.detail.manager}`)).toEqual([
      `${DETAIL_TYPES.updated} team-a by ${FIELD_MANAGER}`,
      `${DETAIL_TYPES.updated} team-b by kubectl-patch`,
      `${DETAIL_TYPES.deleted} team-c by ${FIELD_MANAGER}`, // a delete is healed whoever managedFields names
    ]);
    expect(targetErrors).toEqual([]);
  });

  it('a copy deleted while the watch was expired is found by the relist and re-created from its unmarked Deleted event, with no resync', async () => {
    // Prepare: the source (the previous test may have made it) and a fresh namespace with its copy
    const ns = 'relist-a';
    await admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'one' } } }).catch((e: { name?: string }) => {
      if (e.name !== 'ConflictError') throw e;
    });
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    const before = await eventually(`copy in ${ns}`, () => copyIn(ns));
    await eventually(`the forwarder's event for the copy in ${ns}`, () => sentFor(DETAIL_TYPES.created, ns, before.metadata!.resourceVersion!));
    await bus.idle();
    const mark = { bus: bus.received().length, clone: toClone.length };
    const relists = () => Number(/^ripple_forwarder_relists_total\{kind="Secret",reason="expired"\} (\d+)/m.exec(forwarder.metrics())?.[1] ?? 0);
    const relistsBefore = relists();

    // Act: cut the forwarder off, delete the copy, drop the watch history, let the forwarder back in
    proxy.refuse();
    await kubectl(['-n', ns, 'delete', 'secret', 'blogsecret']);
    cluster.compact();
    proxy.allow();

    // Assess: the relist found the delete; its event has no marks and no manager, and reached the clone handler
    const deleted = await eventually('the relist delete event', () =>
      (bus.received() as Delivered[]).slice(mark.bus).find((e) => e['detail-type'] === DETAIL_TYPES.deleted && e.detail.namespace === ns && e.detail.name === 'blogsecret'),
    );
    expect(relists()).toBeGreaterThan(relistsBefore);
    expect(deleted.detail.uid).toBe(before.metadata!.uid);
    expect(deleted.detail.labels).toEqual({});
    expect(deleted.detail.annotations).toEqual({});
    expect(deleted.detail.manager).toBeUndefined();
    expect(rules(deleted)).toContain('ripple-clone');
    // ... which re-created the copy
    const after = await eventually(`copy re-created in ${ns}`, async () => {
      const c = await copyIn(ns);
      return c && c.metadata?.uid !== before.metadata?.uid ? c : null;
    });
    expect(after.metadata?.labels?.[LABEL_MANAGED_BY]).toBe('ripple');
    expect(after.data?.password).toBe(before.data?.password);
    // ... from that event alone: no resync was requested or delivered since the cut
    await bus.idle();
    const since = toClone.slice(mark.clone);
    expect(since.map((e) => e['detail-type'])).not.toContain(DETAIL_TYPES.resync);
    expect((bus.received() as Delivered[]).slice(mark.bus).filter((e) => e['detail-type'] === DETAIL_TYPES.resync)).toEqual([]);
    expect(since.filter((e) => e.detail.namespace === ns).map((e) => `${e['detail-type']} ${e.detail.kind}/${e.detail.name}`)).toEqual([`${DETAIL_TYPES.deleted} Secret/blogsecret`]);
    expect(targetErrors).toEqual([]);
  });
  it('a data key removed from a copy by a JSON patch (managedFields still names only ripple) is routed by drifted and restored, with no resync', async () => {
    // Prepare: the source with two keys, a fresh namespace and its copy as ripple wrote it
    const ns = 'drift-a';
    const source = { password: b64('drift-one'), user: b64('app') };
    const src = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'blogsecret' }).catch(() => null);
    if (src) await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'blogsecret', body: { ...src, data: source } });
    else await admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'blogsecret' }, data: source } });
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    const written = await eventually(`copy in ${ns}`, async () => {
      const c = await copyIn(ns);
      return c?.data?.password === source.password && c.data?.user === source.user ? c : null;
    });
    const created = await eventually(`the forwarder's event for the copy in ${ns}`, () =>
      sentFor(DETAIL_TYPES.created, ns, written.metadata!.resourceVersion!) ?? sentFor(DETAIL_TYPES.updated, ns, written.metadata!.resourceVersion!),
    );
    expect(created.detail.manager).toBe(FIELD_MANAGER);
    expect(created.detail.drifted).toBe(false);
    await bus.idle();
    const mark = { bus: bus.received().length, clone: toClone.length };

    // Act: a user removes one data key with a JSON patch (no value set, so the remover owns no field)
    const patched = JSON.parse(await kubectl(['-n', ns, 'patch', 'secret', 'blogsecret', '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: '/data/password' }]), '-o', 'json', '--show-managed-fields'])) as {
      data?: Record<string, string>;
      metadata: { resourceVersion: string; managedFields?: { manager: string }[] };
    };
    // Assess: as on a real API server, the remover got no managedFields entry: ripple is the only manager left
    expect(patched.data).toEqual({ user: source.user });
    expect(patched.metadata.managedFields?.map((m) => m.manager)).toEqual([FIELD_MANAGER]);
    // ... so the forwarder's event names ripple, and says the copy drifted from what ripple wrote
    const removal = await eventually('the removal event', () => sentFor(DETAIL_TYPES.updated, ns, patched.metadata.resourceVersion));
    expect(removal.detail.manager).toBe(FIELD_MANAGER);
    expect(removal.detail.drifted).toBe(true);
    expect(removal.detail.changes).toContain('data');
    expect(rules(removal)).toContain('ripple-clone');
    // ... and the clone handler restored the key
    const restored = await eventually(`password restored in ${ns}`, async () => {
      const c = await copyIn(ns);
      return c?.data?.password === source.password ? c : null;
    });
    expect(restored.data).toEqual(source);
    await expectHealedFromTheRemovalAlone(ns, restored.metadata!.resourceVersion!, mark);
    // ... and no event carried the data
    const wire = JSON.stringify(bus.received());
    for (const v of [source.password, source.user, 'drift-one']) expect(wire).not.toContain(v);
    expect(targetErrors).toEqual([]);
  });

  it('a propagated label removed from a copy by a JSON patch (managedFields still names only ripple) is routed by drifted and restored, with no resync', async () => {
    // Prepare: the source with a label (the policy propagates every label: sync.propagate defaults to labels ["*"]),
    // a fresh namespace and its copy as ripple wrote it
    const ns = 'drift-b';
    const labels = { tier: 'gold' };
    const src = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'blogsecret' }).catch(() => null);
    if (src) await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'blogsecret', body: { ...src, metadata: { ...src.metadata, labels } } });
    else await admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'blogsecret', labels }, stringData: { password: 'one' } } });
    await admin.core.createNamespace({ body: { metadata: { name: ns } } });
    const written = await eventually(`copy in ${ns} with the source's label`, async () => {
      const c = await copyIn(ns);
      return c?.metadata?.labels?.tier === 'gold' ? c : null;
    });
    expect(written.metadata?.annotations?.[ANN_METADATA_FINGERPRINT]).toBe(metadataFingerprint(written.metadata?.labels, written.metadata?.annotations));
    const created = await eventually(`the forwarder's event for the copy in ${ns}`, () =>
      sentFor(DETAIL_TYPES.created, ns, written.metadata!.resourceVersion!) ?? sentFor(DETAIL_TYPES.updated, ns, written.metadata!.resourceVersion!),
    );
    expect(created.detail).toMatchObject({ manager: FIELD_MANAGER, drifted: false });
    await bus.idle();
    const mark = { bus: bus.received().length, clone: toClone.length };

    // Act: a user removes the propagated label with a JSON patch (no value set, so the remover owns no field)
    const patched = JSON.parse(await kubectl(['-n', ns, 'patch', 'secret', 'blogsecret', '--type', 'json', '-p', JSON.stringify([{ op: 'remove', path: '/metadata/labels/tier' }]), '-o', 'json', '--show-managed-fields'])) as {
      metadata: { resourceVersion: string; labels?: Record<string, string>; managedFields?: { manager: string }[] };
    };
    // Assess: the label is gone, ripple's marks are all still there, and ripple is the only manager left
    expect(patched.metadata.labels).toEqual({ [LABEL_MANAGED_BY]: 'ripple' });
    expect(patched.metadata.managedFields?.map((m) => m.manager)).toEqual([FIELD_MANAGER]);
    // ... so the forwarder's event names ripple, carries both marks and unchanged content, and says the copy drifted
    const removal = await eventually('the removal event', () => sentFor(DETAIL_TYPES.updated, ns, patched.metadata.resourceVersion));
    expect(removal.detail).toMatchObject({ manager: FIELD_MANAGER, drifted: true, changes: ['labels'], labels: { [LABEL_MANAGED_BY]: 'ripple' } });
    expect(removal.detail.annotations[ANN_SOURCE]).toBe('Secret/platform/blogsecret');
    expect(removal.detail.previousFingerprint).toBeUndefined();
    expect(rules(removal)).toContain('ripple-clone');
    expect(rules(removal)).not.toContain('ripple-rollout');
    // ... and the clone handler put the label back
    const restored = await eventually(`label restored in ${ns}`, async () => {
      const c = await copyIn(ns);
      return c?.metadata?.labels?.tier === 'gold' ? c : null;
    });
    expect(restored.metadata?.annotations).toEqual(written.metadata?.annotations);
    await expectHealedFromTheRemovalAlone(ns, restored.metadata!.resourceVersion!, mark);
    expect(targetErrors).toEqual([]);
  });
});
