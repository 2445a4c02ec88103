/**
 * Workload controllers, garbage collection, shared Event storage, deletecollection, dry runs and state
 * persistence of the embedded cluster, through client-node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, EventsV1Api, PatchStrategy, setHeaderOptions, Watch, type V1PodTemplateSpec } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';

let cluster: EmbeddedCluster;
let core: CoreV1Api;
let apps: AppsV1Api;
const NS = 'default';
const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

beforeAll(async () => {
  cluster = await startCluster();
  const kc = cluster.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
});
afterAll(async () => {
  await cluster?.stop();
});

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  const end = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const template = (app: string, image: string): V1PodTemplateSpec => ({ metadata: { labels: { app } }, spec: { containers: [{ name: 'c', image }] } });

describe('Deployment controller', () => {
  it('keeps one ReplicaSet per template, re-uses it on rollback with a new revision, and deletes them with the Deployment', async () => {
    // Prepare
    await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'dep' }, spec: { replicas: 3, selector: { matchLabels: { app: 'dep' } }, template: template('dep', 'img:1') } } });
    const rsets = () => apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=dep' }).then((l) => l.items);
    const byRevision = (items: Awaited<ReturnType<typeof rsets>>) => Object.fromEntries(items.map((rs) => [rs.metadata!.annotations!['deployment.kubernetes.io/revision'], `${rs.spec!.template!.spec!.containers[0].image}:${rs.spec!.replicas}`]));
    await until(rsets, (l) => l.length === 1, 'the first ReplicaSet');

    // Act: new image, then back to the first one
    await apps.patchNamespacedDeployment({ name: 'dep', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } } }, merge);
    await until(rsets, (l) => l.length === 2, 'the second ReplicaSet');
    await apps.patchNamespacedDeployment({ name: 'dep', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:1' }] } } } } }, merge);

    // Assess
    const final = await until(rsets, (l) => byRevision(l)['3'] !== undefined, 'the rollback revision');
    expect(byRevision(final)).toEqual({ '2': 'img:2:0', '3': 'img:1:3' });
    const rs = final.find((r) => r.spec!.replicas === 3)!;
    expect(rs.metadata!.name).toBe(`dep-${rs.metadata!.labels!['pod-template-hash']}`);
    expect(rs.metadata!.ownerReferences![0]).toMatchObject({ kind: 'Deployment', name: 'dep', controller: true });
    const dep = await until(() => apps.readNamespacedDeployment({ name: 'dep', namespace: NS }), (d) => d.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3' && d.status?.observedGeneration === 3, 'the deployment status');
    expect(dep.metadata?.generation).toBe(3);
    expect(dep.status).toMatchObject({ replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 });

    // metadata-only changes do not bump the generation
    const labelled = await apps.patchNamespacedDeployment({ name: 'dep', namespace: NS, body: { metadata: { labels: { team: 'x' } } } }, merge);
    expect(labelled.metadata?.generation).toBe(3);

    await apps.deleteNamespacedDeployment({ name: 'dep', namespace: NS });
    await until(rsets, (l) => l.length === 0, 'the ReplicaSets to be garbage collected');
  });
});

describe('paused Deployments', () => {
  it('do not roll out a changed template until resumed', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'paused' }, spec: { selector: { matchLabels: { app: 'paused' } }, template: template('paused', 'img:1') } } });
    const rsets = () => apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=paused' }).then((l) => l.items);
    await until(rsets, (l) => l.length === 1, 'the first ReplicaSet');
    await apps.patchNamespacedDeployment({ name: 'paused', namespace: NS, body: { spec: { paused: true, template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } } }, merge);
    const d = await until(() => apps.readNamespacedDeployment({ name: 'paused', namespace: NS }), (x) => x.status?.observedGeneration === 2, 'the paused status');
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('DeploymentPaused');
    expect(await rsets()).toHaveLength(1);
    await apps.patchNamespacedDeployment({ name: 'paused', namespace: NS, body: { spec: { paused: null } } }, merge);
    await until(rsets, (l) => l.length === 2, 'the rollout after resume');
  });
});

describe('Deployment controller repair', () => {
  it('puts back a deleted ReplicaSet of a live Deployment', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: { metadata: { name: 'repair' }, spec: { selector: { matchLabels: { app: 'repair' } }, template: template('repair', 'img:1') } } });
    const rsets = () => apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=repair' }).then((l) => l.items);
    const [rs] = await until(rsets, (l) => l.length === 1, 'the ReplicaSet');
    await apps.deleteNamespacedReplicaSet({ name: rs.metadata!.name!, namespace: NS });
    const back = await until(rsets, (l) => l.length === 1 && l[0].metadata!.uid !== rs.metadata!.uid, 'a new ReplicaSet');
    expect(back[0].metadata!.name).toBe(rs.metadata!.name);
  });
});

describe('namespace finalizers', () => {
  it('keeps a terminating namespace until its own metadata.finalizers are removed', async () => {
    await core.createNamespace({ body: { metadata: { name: 'held-ns', finalizers: ['example.com/keep'] } } });
    await core.deleteNamespace({ name: 'held-ns' });
    await new Promise((r) => setTimeout(r, 50));
    expect((await core.readNamespace({ name: 'held-ns' })).status?.phase).toBe('Terminating');
    await core.patchNamespace({ name: 'held-ns', body: { metadata: { finalizers: null } } }, merge);
    await until(() => core.readNamespace({ name: 'held-ns' }).then(() => false, (e) => e.code === 404), (v) => v, 'the namespace to go');
  });
});

describe('StatefulSet and DaemonSet controllers', () => {
  it('records a ControllerRevision per template and the StatefulSet current/update revision', async () => {
    await apps.createNamespacedStatefulSet({ namespace: NS, body: { metadata: { name: 'sts' }, spec: { serviceName: 'sts', selector: { matchLabels: { app: 'sts' } }, template: template('sts', 'db:1') } } });
    const revisions = () => apps.listNamespacedControllerRevision({ namespace: NS }).then((l) => l.items.filter((r) => r.metadata?.ownerReferences?.[0]?.name === 'sts'));
    const first = await until(revisions, (l) => l.length === 1, 'revision 1');
    expect(first[0].revision).toBe(1);
    let sts = await until(() => apps.readNamespacedStatefulSet({ name: 'sts', namespace: NS }), (s) => !!s.status?.updateRevision, 'the status');
    expect(sts.status).toMatchObject({ currentRevision: first[0].metadata!.name, updateRevision: first[0].metadata!.name, observedGeneration: 1, replicas: 1 });

    await apps.patchNamespacedStatefulSet({ name: 'sts', namespace: NS, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } } }, merge);
    const second = await until(revisions, (l) => l.length === 2, 'revision 2');
    const latest = second.find((r) => r.revision === 2)!;
    sts = await until(() => apps.readNamespacedStatefulSet({ name: 'sts', namespace: NS }), (s) => s.status?.updateRevision === latest.metadata!.name, 'the new update revision');
    expect(sts.status?.observedGeneration).toBe(2);
  });

  it('records DaemonSet revisions and the template generation annotation', async () => {
    await apps.createNamespacedDaemonSet({ namespace: NS, body: { metadata: { name: 'ds' }, spec: { selector: { matchLabels: { app: 'ds' } }, template: template('ds', 'agent:1') } } });
    await apps.patchNamespacedDaemonSet({ name: 'ds', namespace: NS, body: { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } } }, merge);
    const revisions = await until(() => apps.listNamespacedControllerRevision({ namespace: NS }).then((l) => l.items.filter((r) => r.metadata?.ownerReferences?.[0]?.kind === 'DaemonSet')), (l) => l.length === 2, 'two DaemonSet revisions');
    expect(revisions.map((r) => r.revision).sort()).toEqual([1, 2]);
    const ds = await until(() => apps.readNamespacedDaemonSet({ name: 'ds', namespace: NS }), (d) => d.status?.observedGeneration === 2, 'the DaemonSet status');
    expect(ds.metadata?.annotations?.['deprecated.daemonset.template.generation']).toBe('2');
  });
});

describe('API behaviour', () => {
  it('serves events.k8s.io/v1 Events from the core Event storage', async () => {
    const events = cluster.kubeConfig().makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({
      namespace: NS,
      body: { metadata: { name: 'ev1' }, eventTime: new Date() as any, reason: 'Copied', note: 'copied blogsecret', type: 'Normal', action: 'Clone', reportingController: 'ripple.dev/clone', reportingInstance: 'x', regarding: { kind: 'Secret', namespace: NS, name: 'blogsecret' } },
    });
    const coreEvent = await core.readNamespacedEvent({ name: 'ev1', namespace: NS });
    expect(coreEvent).toMatchObject({ message: 'copied blogsecret', reason: 'Copied', reportingComponent: 'ripple.dev/clone', involvedObject: { kind: 'Secret', name: 'blogsecret' } });
    const listed = await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.name=blogsecret' });
    expect(listed.items.map((e) => e.metadata?.name)).toEqual(['ev1']);
    expect((await events.readNamespacedEvent({ name: 'ev1', namespace: NS })).note).toBe('copied blogsecret');
  });

  it('deletes a collection by label selector', async () => {
    for (const [name, app] of [['dc1', 'x'], ['dc2', 'x'], ['dc3', 'y']]) await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name, labels: { app } } } });
    await core.deleteCollectionNamespacedConfigMap({ namespace: NS, labelSelector: 'app=x' });
    expect((await core.listNamespacedConfigMap({ namespace: NS, labelSelector: 'app' })).items.map((c) => c.metadata?.name)).toEqual(['dc3']);
  });

  it('does not persist dry-run writes', async () => {
    const out = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'dry' } }, dryRun: 'All' });
    expect(out.metadata?.uid).toBeDefined();
    expect((await core.listNamespacedConfigMap({ namespace: NS, fieldSelector: 'metadata.name=dry' })).items).toEqual([]);
  });

  it('pages lists with limit and continue', async () => {
    await core.createNamespace({ body: { metadata: { name: 'paged' } } });
    for (let i = 0; i < 5; i++) await core.createNamespacedSecret({ namespace: 'paged', body: { metadata: { name: `p${i}` } } });
    const first = await core.listNamespacedSecret({ namespace: 'paged', limit: 2 });
    expect(first.items.map((s) => s.metadata?.name)).toEqual(['p0', 'p1']);
    expect(first.metadata?.remainingItemCount).toBe(3);
    const second = await core.listNamespacedSecret({ namespace: 'paged', limit: 2, _continue: first.metadata?._continue });
    const third = await core.listNamespacedSecret({ namespace: 'paged', limit: 2, _continue: second.metadata?._continue });
    expect([...second.items, ...third.items].map((s) => s.metadata?.name)).toEqual(['p2', 'p3', 'p4']);
    expect(third.metadata?._continue).toBeUndefined();
  });
});

describe('state file', () => {
  it('keeps objects and the resourceVersion across a restart; older watch resourceVersions are expired', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ripple-state-'));
    const statePath = join(dir, 'state.json');
    try {
      const first = await startCluster({ statePath });
      const c1 = first.kubeConfig().makeApiClient(CoreV1Api);
      await c1.createNamespace({ body: { metadata: { name: 'kept' } } });
      const s = await c1.createNamespacedSecret({ namespace: 'kept', body: { metadata: { name: 'k' }, stringData: { a: 'b' } } });
      await first.stop();

      const second = await startCluster({ statePath });
      try {
        const c2 = second.kubeConfig().makeApiClient(CoreV1Api);
        const back = await c2.readNamespacedSecret({ name: 'k', namespace: 'kept' });
        expect(back.metadata?.uid).toBe(s.metadata?.uid);
        expect(back.data).toEqual(s.data);
        const created = await c2.createNamespacedSecret({ namespace: 'kept', body: { metadata: { name: 'k2' } } });
        expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(Number(s.metadata?.resourceVersion));
        expect((await c2.listNamespace()).items.filter((n) => n.metadata?.name === 'default')).toHaveLength(1);
        const events: { type: string; code?: number }[] = [];
        let done = false;
        await new Watch(second.kubeConfig()).watch('/api/v1/namespaces/kept/secrets', { resourceVersion: String(Number(s.metadata?.resourceVersion) - 1) }, (type, obj) => events.push({ type, code: obj?.code }), () => { done = true; });
        await until(async () => done, (v) => v, 'the expired watch to end');
        expect(events).toEqual([{ type: 'ERROR', code: 410 }]);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
