/**
 * Clone across clusters: two embedded clusters (hub, edge), RBAC enforced in each, one clone handler for the stage
 * invoked as Lambda would be with the events each cluster's forwarder sends (`detail.cluster`). The base is in hub;
 * copies go to hub and edge (`sync.clusters: ["*"]`), or to edge only with a namespace selector applied in edge.
 * Writes are counted per cluster from each cluster's audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RbacAuthorizationV1Api, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { applyRenderedRbac } from '../../support/rbac.ts';
import { ANN_SOURCE, ANN_SOURCE_FINGERPRINT, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { snapshotName } from '../../../core/snapshot.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import { b64, policiesFrom, secretIn } from './harness.ts';
import { startFleet, type Fleet } from './fleet-harness.ts';

const POLICIES = policiesFrom(`
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: regcred }
spec:
  source: { kind: Secret, namespace: platform, name: regcred, cluster: hub }
  sync:
    clusters: ["*"]
    namespaces: { include: ["team-*"] }
    onSourceDelete: delete
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: ca }
spec:
  source: { kind: ConfigMap, namespace: platform, name: ca, cluster: hub }
  sync:
    clusters: [edge]
    namespaces:
      include: ["team-*"]
      selector: { matchLabels: { tier: prod } }
    onSourceDelete: keep
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: guarded }
spec:
  source: { kind: Secret, namespace: platform, name: guarded, cluster: hub }
  protect: {}
  sync:
    clusters: [edge]
    namespaces: { include: ["team-a"] }
`);

// platform (the sources' namespace) exists in both clusters (fleet-harness.ts)
const HUB_NS: Record<string, Record<string, string>> = { 'team-a': { tier: 'prod' }, 'team-b': {}, other: {} };
const EDGE_NS: Record<string, Record<string, string>> = { 'team-a': { tier: 'prod' }, 'team-b': {}, 'team-c': { tier: 'dev' } };

let fleet: Fleet;
let handle: (event: unknown) => Promise<any>;
const hub = () => fleet.members.hub!;
const edge = () => fleet.members.edge!;

async function regcredData(cluster: 'hub' | 'edge', ns: string): Promise<string | null> {
  const s = await secretIn(fleet.members[cluster]!.admin.core, ns, 'regcred');
  return s ? Buffer.from(s.data?.token ?? '', 'base64').toString() : null;
}
async function caIn(cluster: 'hub' | 'edge', ns: string): Promise<V1ConfigMap | null> {
  return fleet.members[cluster]!.admin.core.readNamespacedConfigMap({ namespace: ns, name: 'ca' }).catch(() => null);
}
async function base(): Promise<V1Secret> {
  return hub().admin.core.readNamespacedSecret({ namespace: 'platform', name: 'regcred' });
}
async function setBase(token: string): Promise<V1Secret> {
  const b = await base();
  return hub().admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'regcred', body: { ...b, data: { token: b64(token) } } });
}
const kinded = <T extends object>(kind: string, o: T) => ({ apiVersion: 'v1', kind, ...o });

beforeAll(async () => {
  fleet = await startFleet(['hub', 'edge'], POLICIES);
  handle = fleet.handler();
  for (const [name, labels] of Object.entries(HUB_NS)) await hub().admin.core.createNamespace({ body: { metadata: { name, labels } } });
  for (const [name, labels] of Object.entries(EDGE_NS)) await edge().admin.core.createNamespace({ body: { metadata: { name, labels } } });
  // edge's own Secret named like the base, in the base's namespace: not the base, and never a copy target
  await edge().admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, stringData: { token: 'edge-own' } } });
}, 60_000);
afterAll(() => fleet?.stop());

describe('clone across clusters (hub -> hub, edge)', () => {
  it('a base created in hub is copied into the selected namespaces of both clusters, one write per copy, each fingerprinted with its cluster key', async () => {
    const created = await hub().admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, data: { token: b64('v1') } } });
    fleet.resetWrites();
    const summary = await handle(fleet.changeEvent('hub', 'created', kinded('Secret', created)));
    expect(summary.clusters).toMatchObject({ hub: { writes: 2, failures: 0 }, edge: { writes: 3, failures: 0 } });
    for (const ns of ['team-a', 'team-b']) expect(await regcredData('hub', ns)).toBe('v1');
    for (const ns of ['team-a', 'team-b', 'team-c']) expect(await regcredData('edge', ns)).toBe('v1');
    expect(await regcredData('hub', 'other')).toBeNull();
    expect(await regcredData('edge', 'platform')).toBe('edge-own');
    expect(fleet.writes('hub').map((w) => `${w.verb} ${w.objectRef?.namespace}`).sort()).toEqual(['create team-a', 'create team-b']);
    expect(fleet.writes('edge').map((w) => `${w.verb} ${w.objectRef?.namespace}`).sort()).toEqual(['create team-a', 'create team-b', 'create team-c']);
    const content = { kind: 'Secret', type: 'Opaque', data: { token: b64('v1') } };
    const edgeCopy = await secretIn(edge().admin.core, 'team-a', 'regcred');
    const hubCopy = await secretIn(hub().admin.core, 'team-a', 'regcred');
    expect(edgeCopy?.metadata?.annotations?.[ANN_SOURCE]).toBe('Secret/platform/regcred');
    expect(edgeCopy?.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT]).toBe(fingerprint(Buffer.from(edge().key, 'utf8'), content as never));
    expect(hubCopy?.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT]).toBe(fingerprint(Buffer.from(hub().key, 'utf8'), content as never));
  });

  it('the selector applies in each target cluster; a policy targeting edge only writes nothing in hub', async () => {
    const ca = await hub().admin.core.createNamespacedConfigMap({ namespace: 'platform', body: { metadata: { name: 'ca' }, data: { 'ca.crt': 'PEM-1' } } });
    fleet.resetWrites();
    await handle(fleet.changeEvent('hub', 'created', kinded('ConfigMap', ca)));
    expect((await caIn('edge', 'team-a'))?.data).toEqual({ 'ca.crt': 'PEM-1' });
    for (const ns of ['team-b', 'team-c']) expect(await caIn('edge', ns)).toBeNull();
    for (const ns of ['team-a', 'team-b']) expect(await caIn('hub', ns)).toBeNull();
    expect(fleet.writes('hub')).toHaveLength(0);
    expect(fleet.writes('edge')).toHaveLength(1);
  });

  it('an update of the base fans out to both clusters; the same event again writes nothing', async () => {
    const updated = await setBase('v2');
    fleet.resetWrites();
    const event = fleet.changeEvent('hub', 'updated', kinded('Secret', updated));
    await handle(event);
    for (const ns of ['team-a', 'team-b']) expect(await regcredData('hub', ns)).toBe('v2');
    for (const ns of ['team-a', 'team-b', 'team-c']) expect(await regcredData('edge', ns)).toBe('v2');
    expect([fleet.writes('hub').length, fleet.writes('edge').length]).toEqual([2, 3]);
    fleet.resetWrites();
    const again = await handle(event);
    expect(again.writes).toBe(0);
    expect([fleet.writes('hub').length, fleet.writes('edge').length]).toEqual([0, 0]);
  });

  it('a copy edited in edge is reverted in edge from the base in hub; hub is not written', async () => {
    const copy = (await secretIn(edge().admin.core, 'team-a', 'regcred'))!;
    const edited = await edge().admin.core.replaceNamespacedSecret({ namespace: 'team-a', name: 'regcred', body: { ...copy, data: { token: b64('tampered') } } });
    fleet.resetWrites();
    await handle(fleet.changeEvent('edge', 'updated', kinded('Secret', edited), 'kubectl-edit'));
    expect(await regcredData('edge', 'team-a')).toBe('v2');
    expect(fleet.writes('edge').map((w) => `${w.verb} ${w.objectRef?.namespace}`)).toEqual(['update team-a']);
    expect(fleet.writes('hub')).toHaveLength(0);
  });

  it('a copy deleted in edge is re-created there', async () => {
    const copy = (await secretIn(edge().admin.core, 'team-c', 'regcred'))!;
    await edge().admin.core.deleteNamespacedSecret({ namespace: 'team-c', name: 'regcred' });
    fleet.resetWrites();
    await handle(fleet.changeEvent('edge', 'deleted', kinded('Secret', copy)));
    expect(await regcredData('edge', 'team-c')).toBe('v2');
    expect(fleet.writes('edge').map((w) => `${w.verb} ${w.objectRef?.namespace}`)).toEqual(['create team-c']);
    expect(fleet.writes('hub')).toHaveLength(0);
  });

  it('a new namespace in edge gets the copies of every policy targeting edge', async () => {
    const ns = await edge().admin.core.createNamespace({ body: { metadata: { name: 'team-d', labels: { tier: 'prod' } } } });
    fleet.resetWrites();
    await handle(fleet.changeEvent('edge', 'created', kinded('Namespace', ns)));
    expect(await regcredData('edge', 'team-d')).toBe('v2');
    expect((await caIn('edge', 'team-d'))?.data).toEqual({ 'ca.crt': 'PEM-1' });
    expect(fleet.writes('edge')).toHaveLength(2);
    expect(fleet.writes('hub')).toHaveLength(0);
  });

  it('edge stopped: hub converges and the invocation fails as retryable naming edge; edge back: the retry converges it', async () => {
    await fleet.stopCluster('edge');
    const updated = await setBase('v3');
    fleet.resetWrites();
    const event = fleet.changeEvent('hub', 'updated', kinded('Secret', updated));
    const failed = await handle(event).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed?.name).toBe('RetryableError');
    // edge's key was read before it stopped: the reads in edge fail, each named with its cluster
    expect(failed?.message).toMatch(/^\d+ cop(y|ies) not reconciled: edge: .*ECONNREFUSED/);
    expect(failed?.message).not.toMatch(/(^|; )hub: /);
    for (const ns of ['team-a', 'team-b']) expect(await regcredData('hub', ns)).toBe('v3');
    expect(fleet.writes('hub').filter((w) => w.objectRef?.resource === 'secrets')).toHaveLength(2);
    // reported on the base, in its cluster (the run concerned regcred only)
    const events = (await hub().admin.core.listNamespacedEvent({ namespace: 'platform' })).items.filter((e) => e.reason === 'TargetClusterNotReconciled');
    expect(events.map((e) => `${e.type} ${e.involvedObject.kind}/${e.involvedObject.name}`)).toEqual(['Warning Secret/regcred']);
    expect(events.find((e) => e.involvedObject.name === 'regcred')?.message).toMatch(/^ripple did not reconcile the copies of policy regcred in cluster edge \(\d+ failures?; retried\): .*ECONNREFUSED/);
    expect(events.every((e) => !e.message?.includes(b64('v3')) && !e.message?.includes('v3'))).toBe(true);

    await fleet.startClusterAgain('edge');
    expect(await regcredData('edge', 'team-a')).toBe('v2'); // state kept while down
    fleet.resetWrites();
    const retried = await handle(event);
    expect(retried.failures).toEqual([]);
    for (const ns of ['team-a', 'team-b', 'team-c', 'team-d']) expect(await regcredData('edge', ns)).toBe('v3');
    expect(fleet.writes('edge')).toHaveLength(4);
    expect(fleet.writes('hub')).toHaveLength(0);
  }, 60_000);

  it('a resync from edge reconciles what has copies in edge; nothing is out of date', async () => {
    fleet.resetWrites();
    const summary = await handle(fleet.resyncEvent('edge'));
    expect(Object.keys(summary.clusters).sort()).toEqual(['edge']);
    expect(summary.writes).toBe(0);
  });

  it('the base deleted in hub: copies deleted in both clusters (delete); the keep policy keeps its copies in edge', async () => {
    const b = await base();
    const ca = await hub().admin.core.readNamespacedConfigMap({ namespace: 'platform', name: 'ca' });
    await hub().admin.core.deleteNamespacedSecret({ namespace: 'platform', name: 'regcred' });
    await hub().admin.core.deleteNamespacedConfigMap({ namespace: 'platform', name: 'ca' });
    fleet.resetWrites();
    await handle(fleet.changeEvent('hub', 'deleted', kinded('Secret', b)));
    await handle(fleet.changeEvent('hub', 'deleted', kinded('ConfigMap', ca)));
    for (const ns of ['team-a', 'team-b']) expect(await regcredData('hub', ns)).toBeNull();
    for (const ns of ['team-a', 'team-b', 'team-c', 'team-d']) expect(await regcredData('edge', ns)).toBeNull();
    expect(await regcredData('edge', 'platform')).toBe('edge-own');
    for (const ns of ['team-a', 'team-d']) expect((await caIn('edge', ns))?.data).toEqual({ 'ca.crt': 'PEM-1' });
    expect(fleet.writes('edge').every((w) => w.verb === 'delete' && w.objectRef?.resource === 'secrets')).toBe(true);
  });

  it('edge denies ripple (its clone binding deleted), a cold handler: one retryable failure naming edge while hub converges; the binding back, the next run converges edge', async () => {
    const rbac = edge().admin.kc.makeApiClient(RbacAuthorizationV1Api);
    const bindings = [...(await rbac.listClusterRoleBinding()).items, ...(await rbac.listRoleBindingForAllNamespaces()).items];
    const clone = bindings.filter((b) => b.subjects?.some((s) => s.name === 'ripple:clone'));
    expect(clone.length).toBeGreaterThan(0);
    for (const b of clone) await edge().admin.objects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: b.metadata?.namespace ? 'RoleBinding' : 'ClusterRoleBinding', metadata: { name: b.metadata!.name!, namespace: b.metadata?.namespace } });
    await hub().admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, data: { token: b64('v4') } } });
    const cold = fleet.handler();
    fleet.resetWrites();
    const failed = await cold({ reason: 'schedule' }).then(
      () => null,
      (err: Error) => err,
    );
    expect(failed?.name).toBe('RetryableError');
    expect(failed?.message).toMatch(/^1 copy not reconciled: cluster edge: not reconciled: .*forbidden/i);
    for (const ns of ['team-a', 'team-b']) expect(await regcredData('hub', ns)).toBe('v4');
    expect(fleet.writes('hub').filter((w) => w.objectRef?.resource === 'secrets')).toHaveLength(2);
    const warned = (await hub().admin.core.listNamespacedEvent({ namespace: 'platform' })).items.filter((e) => e.reason === 'TargetClusterNotReconciled' && /in cluster edge .*forbidden/i.test(e.message ?? ''));
    expect(warned.map((e) => e.involvedObject.name).sort()).toEqual(['ca', 'guarded', 'regcred']);
    expect(fleet.writes('edge')).toHaveLength(0);

    await applyRenderedRbac(edge().admin, POLICIES, 'clone');
    const ok = await cold({ reason: 'schedule' });
    expect(ok.clusters.edge).toMatchObject({ failures: 0, writes: 4 });
    for (const ns of ['team-a', 'team-b', 'team-c', 'team-d']) expect(await regcredData('edge', ns)).toBe('v4');
  });

  it('protect acts in the source cluster only; copies in edge come from its last-known-good snapshot in hub', async () => {
    const protect = fleet.protectHandler();
    await hub().admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'guarded' }, stringData: { k: 'hub-value' } } });
    await edge().admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'guarded' }, stringData: { k: 'edge-own' } } });
    const fromEdge = await protect(fleet.resyncEvent('edge'));
    expect(fromEdge.reports).toEqual([]);
    expect(fromEdge.skipped).toContain('policy guarded: its source is in cluster hub, not edge');
    expect(await secretIn(edge().admin.core, RIPPLE_NAMESPACE, snapshotName('guarded'))).toBeNull();
    await protect(fleet.resyncEvent('hub'));
    const snap = await secretIn(hub().admin.core, RIPPLE_NAMESPACE, snapshotName('guarded'));
    expect(snap).not.toBeNull();

    // the base is edited in hub behind protect's back (no admission here): the copy follows the snapshot, not the edit
    const live = (await secretIn(hub().admin.core, 'platform', 'guarded'))!;
    await hub().admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'guarded', body: { ...live, data: { k: b64('violation') } } });
    const summary = await handle(fleet.changeEvent('hub', 'updated', kinded('Secret', snap!), 'ripple'));
    expect(Object.keys(summary.clusters)).toEqual(['edge']);
    const c = await secretIn(edge().admin.core, 'team-a', 'guarded');
    expect(Buffer.from(c?.data?.k ?? '', 'base64').toString()).toBe('hub-value');
    expect(await secretIn(hub().admin.core, 'team-a', 'guarded')).toBeNull();
  });
});
