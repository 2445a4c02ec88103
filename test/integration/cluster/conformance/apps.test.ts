/**
 * Conformance, sig-apps (test/e2e/apps), as far as the embedded controllers go: ControllerRevisions, DaemonSets,
 * Deployments, ReplicaSets, StatefulSets (API operations, status and scale subresources, revisions) and
 * PodDisruptionBudgets. Entries needing Pods to run, Jobs, CronJobs or ReplicationControllers are out of scope:
 * docs/embedded-cluster.md, "Conformance".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyV1Api } from '@kubernetes/client-node';
import { clusterHarness, eventually, type ClusterHarness } from '../../../support/cluster.ts';
import { mergePatch, strategicPatch, summary, watchEvents } from './support.ts';

let h: ClusterHarness;
let policy: PolicyV1Api;

beforeAll(async () => {
  h = await clusterHarness();
  policy = h.kc.makeApiClient(PolicyV1Api);
});
afterAll(async () => {
  await h?.stop();
});

const template = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }] } });
const workload = (name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}) =>
  ({ metadata: { name, labels }, spec: { selector: { matchLabels: labels }, template: template(labels), ...extra } });

/** Read, update and patch of a workload's /status, each visible to the next read. */
async function statusEndpoints(kind: 'Deployment' | 'DaemonSet' | 'ReplicaSet' | 'StatefulSet', ns: string, name: string): Promise<void> {
  const a = h.apps as any;
  const read = () => a[`readNamespaced${kind}Status`]({ name, namespace: ns });
  const cur = await read();
  expect(cur.metadata.name).toBe(name);
  const updatedCond = { type: 'StatusUpdate', status: 'True', reason: 'E2E', message: 'Set from e2e test' };
  const updated = await a[`replaceNamespaced${kind}Status`]({ name, namespace: ns, body: { ...cur, status: { ...cur.status, conditions: [...(cur.status?.conditions ?? []), updatedCond] } } });
  expect(updated.status.conditions).toContainEqual(expect.objectContaining(updatedCond));
  expect((await read()).status.conditions).toContainEqual(expect.objectContaining(updatedCond));
  const patched = await a[`patchNamespaced${kind}Status`]({ name, namespace: ns, body: { metadata: { annotations: { patchedstatus: 'true' } }, status: { conditions: [{ type: 'StatusPatched', status: 'True' }] } } }, strategicPatch);
  expect(patched.status.conditions).toContainEqual(expect.objectContaining({ type: 'StatusPatched', status: 'True' }));
  const after = await read();
  expect(after.status.conditions).toContainEqual(expect.objectContaining({ type: 'StatusPatched' }));
  // a status write changes the status only
  expect(after.metadata.annotations?.patchedstatus).toBeUndefined();
}

/** get, update and patch of the autoscaling/v1 Scale subresource, visible in the workload's spec.replicas. */
async function scaleSubresource(kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet', ns: string, name: string, from: number): Promise<void> {
  const a = h.apps as any;
  const scale = await a[`readNamespaced${kind}Scale`]({ name, namespace: ns });
  expect(scale.spec.replicas).toBe(from);
  const updated = await a[`replaceNamespaced${kind}Scale`]({ name, namespace: ns, body: { ...scale, spec: { replicas: from + 1 } } });
  expect(updated.spec.replicas).toBe(from + 1);
  expect((await a[`readNamespaced${kind}`]({ name, namespace: ns })).spec.replicas).toBe(from + 1);
  await a[`patchNamespaced${kind}Scale`]({ name, namespace: ns, body: { spec: { replicas: from + 2 } } }, mergePatch);
  expect((await a[`readNamespaced${kind}`]({ name, namespace: ns })).spec.replicas).toBe(from + 2);
  expect((await a[`readNamespaced${kind}Scale`]({ name, namespace: ns })).spec.replicas).toBe(from + 2);
}

describe('ControllerRevision', () => {
  it('ControllerRevision, resource lifecycle', async () => {
    const ns = await h.namespace('cr');
    const dsName = 'e2e-abcde-daemon-set';
    const sel = `daemonset-name=${dsName}`;
    const ds = await h.apps.createNamespacedDaemonSet({ namespace: ns, body: workload(dsName, { 'daemonset-name': dsName }) });
    expect((await h.apps.listDaemonSetForAllNamespaces({ labelSelector: sel })).items).toHaveLength(1);
    const revs = await eventually('one ControllerRevision', async () => {
      const l = (await h.apps.listControllerRevisionForAllNamespaces({ labelSelector: sel })).items;
      return l.length === 1 ? l : undefined;
    });
    const initial = revs![0];
    expect(initial.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DaemonSet', uid: ds.metadata?.uid });
    const patched = await h.apps.patchNamespacedControllerRevision({ name: initial.metadata!.name!, namespace: ns, body: { metadata: { labels: { [initial.metadata!.name!]: 'patched' } } } }, strategicPatch);
    expect(patched.metadata?.labels?.[initial.metadata!.name!]).toBe('patched');
    const newName = `${dsName}-newhash`;
    await h.apps.createNamespacedControllerRevision({ namespace: ns, body: {
      metadata: { name: newName, labels: { 'daemonset-name': dsName, 'controller-revision-hash': 'newhash' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: dsName, uid: ds.metadata!.uid!, controller: true, blockOwnerDeletion: true }] },
      data: initial.data, revision: initial.revision + 1,
    } });
    expect((await h.apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: sel })).items).toHaveLength(2);
    await h.apps.deleteNamespacedControllerRevision({ name: initial.metadata!.name!, namespace: ns });
    await eventually('one ControllerRevision', async () => (await h.apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: sel })).items.length === 1);
    const current = (await h.apps.listNamespacedControllerRevision({ namespace: ns })).items[0];
    expect(current.metadata?.name).toBe(newName);
    const cur = await h.apps.readNamespacedControllerRevision({ name: newName, namespace: ns });
    const updated = await h.apps.replaceNamespacedControllerRevision({ name: newName, namespace: ns, body: { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata!.labels, [newName]: 'updated' } } } });
    expect(updated.metadata?.labels?.[newName]).toBe('updated');
    await h.apps.patchNamespacedDaemonSet({ name: dsName, namespace: ns, body: { spec: { template: { spec: { terminationGracePeriodSeconds: 1 } } } } }, strategicPatch);
    await eventually('two ControllerRevisions', async () => (await h.apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: sel })).items.length === 2);
    await h.apps.deleteCollectionNamespacedControllerRevision({ namespace: ns, labelSelector: `${newName}=updated` });
    await eventually('one ControllerRevision', async () => (await h.apps.listNamespacedControllerRevision({ namespace: ns, labelSelector: sel })).items.length === 1);
    expect((await h.apps.listNamespacedControllerRevision({ namespace: ns })).items[0].revision).toBe(3);
  });
});

describe('DaemonSet', () => {
  it('DaemonSet, list and delete a collection of DaemonSets', async () => {
    const ns = await h.namespace('ds');
    await h.apps.createNamespacedDaemonSet({ namespace: ns, body: workload('daemon-set', { 'daemonset-name': 'daemon-set' }) });
    expect((await h.apps.listDaemonSetForAllNamespaces({ labelSelector: 'daemonset-name=daemon-set' })).items.map((d) => d.metadata?.namespace)).toEqual([ns]);
    await h.apps.deleteCollectionNamespacedDaemonSet({ namespace: ns, labelSelector: 'daemonset-name=daemon-set' });
    expect((await h.apps.listNamespacedDaemonSet({ namespace: ns })).items).toEqual([]);
  });

  it('DaemonSet, status sub-resource', async () => {
    const ns = await h.namespace('ds');
    await h.apps.createNamespacedDaemonSet({ namespace: ns, body: workload('daemon-set', { 'daemonset-name': 'daemon-set' }) });
    await eventually('the status', async () => (await h.apps.readNamespacedDaemonSet({ name: 'daemon-set', namespace: ns })).status?.numberReady === 1);
    await statusEndpoints('DaemonSet', ns, 'daemon-set');
  });
});

describe('Deployment', () => {
  it('Deployment, completes the scaling of a Deployment subresource', async () => {
    const ns = await h.namespace('dep');
    await h.apps.createNamespacedDeployment({ namespace: ns, body: workload('test-new-deployment', { name: 'httpd' }, { replicas: 1 }) });
    await scaleSubresource('Deployment', ns, 'test-new-deployment', 1);
  });

  it('Deployment, completes the lifecycle of a Deployment', async () => {
    const ns = await h.namespace('dep');
    const name = 'test-deployment';
    const labels = { 'test-deployment-static': 'true' };
    const w = await watchEvents(h.kc, `/apis/apps/v1/namespaces/${ns}/deployments`, { labelSelector: 'test-deployment-static=true' });
    await h.apps.createNamespacedDeployment({ namespace: ns, body: { ...workload(name, labels, { replicas: 2 }) } });
    await eventually('2 ready replicas', async () => (await h.apps.readNamespacedDeployment({ name, namespace: ns })).status?.readyReplicas === 2);
    const patched = await h.apps.patchNamespacedDeployment({ name, namespace: ns, body: { metadata: { labels: { 'test-deployment': 'patched' } }, spec: { replicas: 1, template: { spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/httpd:2.4.38-4' }] } } } } }, strategicPatch);
    expect(patched.metadata?.labels?.['test-deployment']).toBe('patched');
    await eventually('1 ready replica', async () => (await h.apps.readNamespacedDeployment({ name, namespace: ns })).status?.readyReplicas === 1);
    const scaled = await h.apps.patchNamespacedDeploymentScale({ name, namespace: ns, body: { spec: { replicas: 2 } } }, mergePatch);
    expect(scaled.spec?.replicas).toBe(2);
    const status = await h.apps.readNamespacedDeploymentStatus({ name, namespace: ns });
    expect(status.status?.observedGeneration).toBeGreaterThan(0);
    const statusPatched = await h.apps.patchNamespacedDeploymentStatus({ name, namespace: ns, body: { status: { readyReplicas: 2 } } }, mergePatch);
    expect(statusPatched.status?.readyReplicas).toBe(2);
    await h.apps.deleteCollectionNamespacedDeployment({ namespace: ns, labelSelector: 'test-deployment-static=true' });
    await eventually('DELETED seen', () => w.events.some((e) => e.type === 'DELETED'));
    expect(summary(w.events)[0]).toEqual(['ADDED', name]);
    w.stop();
  });

  it('Deployment, status sub-resource', async () => {
    const ns = await h.namespace('dep');
    await h.apps.createNamespacedDeployment({ namespace: ns, body: workload('test-deployment', { e2e: 'testing', name: 'httpd' }, { replicas: 1 }) });
    await eventually('the rollout', async () => (await h.apps.readNamespacedDeployment({ name: 'test-deployment', namespace: ns })).status?.availableReplicas === 1);
    await statusEndpoints('Deployment', ns, 'test-deployment');
  });

  it('Deployment RevisionHistoryLimit (adapted: old ReplicaSets of the Deployment itself, no adoption)', async () => {
    const ns = await h.namespace('dep');
    const labels = { name: 'cleanup-pod' };
    await h.apps.createNamespacedDeployment({ namespace: ns, body: workload('test-cleanup-deployment', labels, { revisionHistoryLimit: 0 }) });
    await eventually('a ReplicaSet', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 1);
    await h.apps.patchNamespacedDeployment({ name: 'test-cleanup-deployment', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.k8s.io/e2e-test-images/agnhost:2.54' }] } } } } }, strategicPatch);
    await eventually('only the new ReplicaSet', async () => {
      const rs = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items;
      return rs.length === 1 && rs[0].spec?.template?.spec?.containers?.[0]?.image?.endsWith('2.54');
    });
  });
});

describe('ReplicaSet', () => {
  it('ReplicaSet, is created, Replaced and Patched', async () => {
    const ns = await h.namespace('rs');
    const rs = await h.apps.createNamespacedReplicaSet({ namespace: ns, body: workload('test-rs', { name: 'sample-pod' }, { replicas: 1 }) });
    const scale = await h.apps.readNamespacedReplicaSetScale({ name: 'test-rs', namespace: ns });
    await h.apps.replaceNamespacedReplicaSetScale({ name: 'test-rs', namespace: ns, body: { ...scale, spec: { replicas: 2 } } });
    expect((await h.apps.readNamespacedReplicaSet({ name: 'test-rs', namespace: ns })).spec?.replicas).toBe(2);
    const patched = await h.apps.patchNamespacedReplicaSet({ name: 'test-rs', namespace: ns, body: { metadata: { labels: { 'test-rs': 'patched' } }, spec: { replicas: 3 } } }, strategicPatch);
    expect(patched.metadata?.labels?.['test-rs']).toBe('patched');
    expect(patched.spec?.replicas).toBe(3);
    expect(patched.metadata?.uid).toBe(rs.metadata?.uid);
  });

  it('ReplicaSet, completes the scaling of a ReplicaSet subresource', async () => {
    const ns = await h.namespace('rs');
    await h.apps.createNamespacedReplicaSet({ namespace: ns, body: workload('test-rs', { name: 'sample-pod' }, { replicas: 1 }) });
    await scaleSubresource('ReplicaSet', ns, 'test-rs', 1);
  });

  it('ReplicaSet, list and delete a collection of ReplicaSets', async () => {
    const ns = await h.namespace('rs');
    await h.apps.createNamespacedReplicaSet({ namespace: ns, body: workload('test-rs', { 'e2e': 'rs-dc' }, { replicas: 1 }) });
    expect((await h.apps.listReplicaSetForAllNamespaces({ labelSelector: 'e2e=rs-dc' })).items).toHaveLength(1);
    await h.apps.deleteCollectionNamespacedReplicaSet({ namespace: ns, labelSelector: 'e2e=rs-dc' });
    expect((await h.apps.listNamespacedReplicaSet({ namespace: ns })).items).toEqual([]);
  });

  it('ReplicaSet, status sub-resource', async () => {
    const ns = await h.namespace('rs');
    await h.apps.createNamespacedReplicaSet({ namespace: ns, body: workload('test-rs', { name: 'sample-pod' }, { replicas: 1 }) });
    await statusEndpoints('ReplicaSet', ns, 'test-rs');
  });
});

describe('StatefulSet', () => {
  it('StatefulSet resource Replica scaling', async () => {
    const ns = await h.namespace('ss');
    const ss = await h.apps.createNamespacedStatefulSet({ namespace: ns, body: workload('ss', { baz: 'blah' }, { serviceName: 'test' }) });
    expect(ss.spec?.replicas).toBe(1);
    await scaleSubresource('StatefulSet', ns, 'ss', 1);
  });

  it('StatefulSet, list, patch and delete a collection of StatefulSets', async () => {
    const ns = await h.namespace('ss');
    await h.apps.createNamespacedStatefulSet({ namespace: ns, body: workload('ss', { 'test-ss': 'patched-or-not' }, { serviceName: 'test', replicas: 1 }) });
    expect((await h.apps.listStatefulSetForAllNamespaces({ labelSelector: 'test-ss=patched-or-not' })).items).toHaveLength(1);
    const patched = await h.apps.patchNamespacedStatefulSet({ name: 'ss', namespace: ns, body: { metadata: { labels: { 'test-ss': 'patched' } }, spec: { replicas: 2 } } }, strategicPatch);
    expect(patched.metadata?.labels?.['test-ss']).toBe('patched');
    await h.apps.deleteCollectionNamespacedStatefulSet({ namespace: ns, labelSelector: 'test-ss=patched' });
    expect((await h.apps.listNamespacedStatefulSet({ namespace: ns })).items).toEqual([]);
  });

  it('StatefulSet, status sub-resource', async () => {
    const ns = await h.namespace('ss');
    await h.apps.createNamespacedStatefulSet({ namespace: ns, body: workload('ss', { app: 'ss' }, { serviceName: 'test' }) });
    await eventually('the status', async () => (await h.apps.readNamespacedStatefulSet({ name: 'ss', namespace: ns })).status?.currentRevision);
    await statusEndpoints('StatefulSet', ns, 'ss');
  });
});

describe('PodDisruptionBudget', () => {
  const pdb = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, spec: { minAvailable: 1, selector: { matchLabels: { foo: 'bar' } } } });

  it('PodDisruptionBudget: list and delete collection', async () => {
    const ns = await h.namespace('pdb');
    for (const n of ['pdb-1', 'pdb-2', 'pdb-3']) await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb(n, { e2e: 'pdb-dc' }) });
    expect((await policy.listPodDisruptionBudgetForAllNamespaces({ labelSelector: 'e2e=pdb-dc' })).items).toHaveLength(3);
    await policy.deleteCollectionNamespacedPodDisruptionBudget({ namespace: ns });
    expect((await policy.listNamespacedPodDisruptionBudget({ namespace: ns })).items).toEqual([]);
  });

  it('PodDisruptionBudget: create, update, patch, and delete object', async () => {
    const ns = await h.namespace('pdb');
    const created = await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb('foo') });
    const updated = await policy.replaceNamespacedPodDisruptionBudget({ name: 'foo', namespace: ns, body: { ...created, spec: { ...created.spec, minAvailable: 2 } } });
    expect(updated.spec?.minAvailable).toBe(2);
    const patched = await policy.patchNamespacedPodDisruptionBudget({ name: 'foo', namespace: ns, body: { spec: { minAvailable: 3 } } }, mergePatch);
    expect(patched.spec?.minAvailable).toBe(3);
    await policy.deleteNamespacedPodDisruptionBudget({ name: 'foo', namespace: ns });
    expect((await h.raw('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/foo`)).code).toBe(404);
  });

  it('PodDisruptionBudget: update and patch status', async () => {
    const ns = await h.namespace('pdb');
    await policy.createNamespacedPodDisruptionBudget({ namespace: ns, body: pdb('foo') });
    const cur = await policy.readNamespacedPodDisruptionBudgetStatus({ name: 'foo', namespace: ns });
    const cond = { type: 'DisruptionAllowed', status: 'False', reason: 'test', message: 'test', lastTransitionTime: new Date('2026-01-01T00:00:00Z') };
    const updated = await policy.replaceNamespacedPodDisruptionBudgetStatus({ name: 'foo', namespace: ns, body: { ...cur, status: { ...cur.status!, conditions: [cond] } } });
    expect(updated.status?.conditions?.[0]?.type).toBe('DisruptionAllowed');
    const patched = await policy.patchNamespacedPodDisruptionBudgetStatus({ name: 'foo', namespace: ns, body: { status: { observedGeneration: 42 } } }, mergePatch);
    expect(patched.status?.observedGeneration).toBe(42);
    expect((await policy.readNamespacedPodDisruptionBudgetStatus({ name: 'foo', namespace: ns })).status?.observedGeneration).toBe(42);
  });
});
