/**
 * Conformance, sig-api-machinery (test/e2e/apimachinery): discovery, version, field validation, chunking, Table
 * negotiation, watch, namespaces, garbage collection, ValidatingAdmissionPolicy. Entries out of scope, and why:
 * docs/embedded-cluster.md, "Conformance".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { clusterHarness, deployment, eventually, type ClusterHarness } from '../../../support/cluster.ts';
import { apiError, mergePatch, sleep, summary, watchEvents } from './support.ts';

let h: ClusterHarness;

beforeAll(async () => {
  h = await clusterHarness({ bookmarkIntervalMs: 200 });
});
afterAll(async () => {
  await h?.stop();
});

const AGGREGATED = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';
/** Built-in resources of the conformance entry's list that the embedded server serves. */
const SERVED_BUILTINS = [
  ['apps', 'v1', 'deployments'], ['authorization.k8s.io', 'v1', 'selfsubjectaccessreviews'], ['coordination.k8s.io', 'v1', 'leases'],
  ['events.k8s.io', 'v1', 'events'], ['policy', 'v1', 'poddisruptionbudgets'], ['admissionregistration.k8s.io', 'v1', 'validatingadmissionpolicies'],
];

const hasResource = (doc: any, group: string, version: string, resource: string) =>
  doc.items.some((g: any) => (g.metadata?.name ?? '') === group && g.versions.some((v: any) => v.version === version && v.resources.some((r: any) => r.resource === resource)));

describe('discovery and version', () => {
  it('Aggregated Discovery Interface', async () => {
    const apis = await h.raw('GET', '/apis', undefined, { Accept: `${AGGREGATED},application/json` });
    const api = await h.raw('GET', '/api', undefined, { Accept: `${AGGREGATED},application/json` });
    expect(apis.headers['content-type']).toContain('as=APIGroupDiscoveryList');
    for (const [g, v, r] of SERVED_BUILTINS) expect(hasResource(apis.body, g, v, r), `${g}/${v} ${r}`).toBe(true);
    expect(hasResource(api.body, '', 'v1', 'namespaces')).toBe(true);
    // the groups (serverGroups) list every group-version of those resources
    const groups = (await h.raw('GET', '/apis')).body.groups;
    for (const [g, v] of SERVED_BUILTINS) expect(groups.find((x: any) => x.name === g)?.versions.map((x: any) => x.version)).toContain(v);
  });

  it('Aggregated Discovery Endpoint Accept Headers', async () => {
    const apis = await h.raw('GET', '/apis', undefined, { Accept: AGGREGATED });
    expect(apis.code).toBe(200);
    expect(apis.body.kind).toBe('APIGroupDiscoveryList');
    for (const [g, v, r] of SERVED_BUILTINS) expect(hasResource(apis.body, g, v, r)).toBe(true);
    const api = await h.raw('GET', '/api', undefined, { Accept: AGGREGATED });
    expect(hasResource(api.body, '', 'v1', 'namespaces')).toBe(true);
  });

  it('Discovery, confirm the groupVersion and a resource from each apiGroup', async () => {
    const groups = (await h.raw('GET', '/apis')).body.groups;
    expect(groups.length).toBeGreaterThan(5);
    for (const g of groups) {
      for (const v of g.versions) {
        const list = (await h.raw('GET', `/apis/${v.groupVersion}`)).body;
        expect(list.groupVersion).toBe(v.groupVersion);
        expect(list.resources.length, v.groupVersion).toBeGreaterThan(0);
        expect(list.resources[0].name).toMatch(/^[a-z]/);
      }
    }
  });

  it('Discovery, confirm the PreferredVersion for each api group', async () => {
    for (const g of (await h.raw('GET', '/apis')).body.groups) {
      expect(g.preferredVersion?.groupVersion, g.name).toBeDefined();
      expect(g.versions.map((v: any) => v.groupVersion)).toContain(g.preferredVersion.groupVersion);
      const doc = (await h.raw('GET', `/apis/${g.name}`)).body;
      expect(doc.preferredVersion).toEqual(g.preferredVersion);
    }
  });

  it('Confirm a server version', async () => {
    const v = (await h.raw('GET', '/version')).body;
    expect(v.major).toMatch(/^\d+$/);
    expect(v.minor).toMatch(/^\d+$/);
  });

  it('API metadata HTTP return', async () => {
    const sar = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { nonResourceAttributes: { path: '/', verb: 'get' } } };
    const r = await h.raw('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', sar, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    expect(r.code).toBe(406);
  });
});

describe('field validation', () => {
  const withUnknownMeta = { ...deployment('my-dep'), metadata: { name: 'my-dep', unknownMeta: 'foo', labels: { app: 'nginx' } } };

  it('Server side field validation, typed unknown metadata', async () => {
    const ns = await h.namespace('fv');
    const r = await h.raw('POST', `/apis/apps/v1/namespaces/${ns}/deployments?fieldManager=field_validation_mgr&fieldValidation=Strict`, withUnknownMeta);
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('strict decoding error: unknown field "metadata.unknownMeta"');
  });

  it('Server side field validation, typed object', async () => {
    const ns = await h.namespace('fv');
    const body = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"my-dep","labels":{"app":"nginx"}},"spec":{"unknownField":"foo","replicas":2,"replicas":3,
      "selector":{"matchLabels":{"app":"nginx"}},"template":{"metadata":{"labels":{"app":"nginx"}},"spec":{"containers":[{"name":"nginx","image":"nginx:latest"}]}}}}`;
    const r = await h.raw('POST', `/apis/apps/v1/namespaces/${ns}/deployments?fieldManager=field_validation_mgr&fieldValidation=Strict`, body);
    expect(r.code).toBe(400);
    expect(r.body.message).toContain('strict decoding error: unknown field "spec.unknownField", duplicate field "spec.replicas"');
    expect((await h.raw('GET', `/apis/apps/v1/namespaces/${ns}/deployments/my-dep`)).code).toBe(404);
    // Warn (the default): created, both reported as warnings, the unknown field dropped
    const warned = await h.raw('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, body);
    expect(warned.code).toBe(201);
    expect(String(warned.headers.warning)).toContain('unknown field \\"spec.unknownField\\"');
    expect(String(warned.headers.warning)).toContain('duplicate field \\"spec.replicas\\"');
    expect(warned.body.spec.unknownField).toBeUndefined();
    expect(warned.body.spec.replicas).toBe(3);
  });
});

describe('API chunking', () => {
  async function templates(n: number): Promise<string> {
    const ns = await h.namespace('chunk');
    for (let i = 0; i < n; i++) {
      await h.core.createNamespacedPodTemplate({ namespace: ns, body: { metadata: { name: `template-${String(i).padStart(4, '0')}` }, template: { spec: { containers: [{ name: 'test', image: 'test2' }] } } } });
    }
    return ns;
  }

  it('API Chunking, server should return chunks of results for list calls', async () => {
    const ns = await templates(40);
    const limit = 7;
    let cont: string | undefined;
    let rv: string | undefined;
    let seen = 0;
    do {
      const page = await h.core.listNamespacedPodTemplate({ namespace: ns, limit, ...(cont ? { _continue: cont } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(limit);
      rv ??= page.metadata!.resourceVersion;
      expect(page.metadata!.resourceVersion).toBe(rv);
      seen += page.items.length;
      cont = page.metadata!._continue;
      if (cont) expect(page.metadata!.remainingItemCount).toBe(40 - seen);
      else expect(page.metadata!.remainingItemCount).toBeUndefined();
    } while (cont);
    expect(seen).toBe(40);
    expect((await h.core.listNamespacedPodTemplate({ namespace: ns })).items).toHaveLength(40);
  });

  it('API Chunking, server should support continue listing from the last key even if the original version has been compacted away', async () => {
    const ns = await templates(20);
    const first = await h.core.listNamespacedPodTemplate({ namespace: ns, limit: 5 });
    // the first page's version is compacted away once later writes exist
    await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'later-write' } } });
    h.cluster.compact();
    const expired = await h.raw('GET', `/api/v1/namespaces/${ns}/podtemplates?limit=5&continue=${first.metadata!._continue}`);
    expect(expired.code).toBe(410);
    const inconsistent = expired.body.metadata.continue;
    expect(inconsistent).toBeTruthy();
    const second = await h.core.listNamespacedPodTemplate({ namespace: ns, limit: 5, _continue: inconsistent });
    expect(second.items.map((i) => i.metadata?.name)).toEqual(['template-0005', 'template-0006', 'template-0007', 'template-0008', 'template-0009']);
    expect(second.metadata!.remainingItemCount).toBe(10);
    let cont = second.metadata!._continue;
    let seen = 10;
    while (cont) {
      const page = await h.core.listNamespacedPodTemplate({ namespace: ns, limit: 5, _continue: cont });
      expect(page.metadata!.resourceVersion).toBe(second.metadata!.resourceVersion);
      seen += page.items.length;
      cont = page.metadata!._continue;
    }
    expect(seen).toBe(20);
  });
});

describe('Watchers', () => {
  const cm = (name: string, labels: Record<string, string>, data: Record<string, string> = {}) => ({ metadata: { name, labels }, data });
  const path = (ns: string) => `/api/v1/namespaces/${ns}/configmaps`;

  it('watch-configmaps-with-multiple-watchers', async () => {
    const ns = await h.namespace('w1');
    const a = await watchEvents(h.kc, path(ns), { labelSelector: 'watch-this-configmap=multiple-watchers-A' });
    const b = await watchEvents(h.kc, path(ns), { labelSelector: 'watch-this-configmap=multiple-watchers-B' });
    const ab = await watchEvents(h.kc, path(ns), { labelSelector: 'watch-this-configmap in (multiple-watchers-A,multiple-watchers-B)' });
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm('e2e-watch-test-configmap-a', { 'watch-this-configmap': 'multiple-watchers-A' }) });
    await h.core.patchNamespacedConfigMap({ name: 'e2e-watch-test-configmap-a', namespace: ns, body: { data: { mutation: '1' } } }, mergePatch);
    await h.core.patchNamespacedConfigMap({ name: 'e2e-watch-test-configmap-a', namespace: ns, body: { data: { mutation: '2' } } }, mergePatch);
    await h.core.deleteNamespacedConfigMap({ name: 'e2e-watch-test-configmap-a', namespace: ns });
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm('e2e-watch-test-configmap-b', { 'watch-this-configmap': 'multiple-watchers-B' }) });
    await h.core.deleteNamespacedConfigMap({ name: 'e2e-watch-test-configmap-b', namespace: ns });
    await ab.waitFor(6);
    await sleep(50);
    const A = 'e2e-watch-test-configmap-a';
    const B = 'e2e-watch-test-configmap-b';
    expect(summary(a.events)).toEqual([['ADDED', A], ['MODIFIED', A], ['MODIFIED', A], ['DELETED', A]]);
    expect(summary(b.events)).toEqual([['ADDED', B], ['DELETED', B]]);
    expect(summary(ab.events)).toEqual([['ADDED', A], ['MODIFIED', A], ['MODIFIED', A], ['DELETED', A], ['ADDED', B], ['DELETED', B]]);
    expect(a.events[2].object.data).toEqual({ mutation: '2' });
    for (const w of [a, b, ab]) w.stop();
  });

  it('watch-configmaps-label-changed', async () => {
    const ns = await h.namespace('w2');
    const name = 'e2e-watch-test-label-changed';
    const w = await watchEvents(h.kc, path(ns), { labelSelector: 'watch-this-configmap=label-changed-and-restored' });
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm(name, { 'watch-this-configmap': 'label-changed-and-restored' }) });
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '1' } } }, mergePatch);
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { metadata: { labels: { 'watch-this-configmap': 'wrong-value' } } } }, mergePatch);
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '2' } } }, mergePatch);
    await sleep(50);
    // no notification while it does not match
    expect(summary(w.events)).toEqual([['ADDED', name], ['MODIFIED', name], ['DELETED', name]]);
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { metadata: { labels: { 'watch-this-configmap': 'label-changed-and-restored' } } } }, mergePatch);
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '3' } } }, mergePatch);
    await h.core.deleteNamespacedConfigMap({ name, namespace: ns });
    await w.waitFor(6);
    expect(summary(w.events)).toEqual([['ADDED', name], ['MODIFIED', name], ['DELETED', name], ['ADDED', name], ['MODIFIED', name], ['DELETED', name]]);
    expect(w.events[3].object.data).toEqual({ mutation: '2' });
    w.stop();
  });

  it('watch-configmaps-from-resource-version', async () => {
    const ns = await h.namespace('w3');
    const name = 'e2e-watch-test-resource-version';
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm(name, { 'watch-this-configmap': 'from-resource-version' }) });
    const first = await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '1' } } }, mergePatch);
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '2' } } }, mergePatch);
    await h.core.deleteNamespacedConfigMap({ name, namespace: ns });
    const w = await watchEvents(h.kc, path(ns), { labelSelector: 'watch-this-configmap=from-resource-version', resourceVersion: first.metadata!.resourceVersion });
    await w.waitFor(2);
    await sleep(50);
    expect(summary(w.events)).toEqual([['MODIFIED', name], ['DELETED', name]]);
    expect(w.events[0].object.data).toEqual({ mutation: '2' });
    w.stop();
  });

  it('watch-configmaps-closed-and-restarted', async () => {
    const ns = await h.namespace('w4');
    const name = 'e2e-watch-test-watch-closed';
    const sel = { labelSelector: 'watch-this-configmap=watch-closed-and-restarted' };
    const w = await watchEvents(h.kc, path(ns), sel);
    await h.core.createNamespacedConfigMap({ namespace: ns, body: cm(name, { 'watch-this-configmap': 'watch-closed-and-restarted' }) });
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '1' } } }, mergePatch);
    const seen = await w.waitFor(2);
    w.stop();
    const lastRv = seen[1].object.metadata.resourceVersion;
    await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { mutation: '2' } } }, mergePatch);
    await h.core.deleteNamespacedConfigMap({ name, namespace: ns });
    const again = await watchEvents(h.kc, path(ns), { ...sel, resourceVersion: lastRv });
    await again.waitFor(2);
    await sleep(50);
    expect(summary(again.events)).toEqual([['MODIFIED', name], ['DELETED', name]]);
    expect(again.events[0].object.data).toEqual({ mutation: '2' });
    again.stop();
  });

  it('watch-consistency', async () => {
    const ns = await h.namespace('w5');
    const start = (await h.core.listNamespacedConfigMap({ namespace: ns })).metadata!.resourceVersion!;
    const writes = (async () => {
      for (let i = 0; i < 30; i++) {
        const name = `cm-${i % 5}`;
        if (i < 5) await h.core.createNamespacedConfigMap({ namespace: ns, body: cm(name, {}) });
        else if (i % 7 === 0) await h.core.deleteNamespacedConfigMap({ name, namespace: ns }).catch(() => undefined);
        else await h.core.patchNamespacedConfigMap({ name, namespace: ns, body: { data: { i: String(i) } } }, mergePatch).catch(() => undefined);
      }
    })();
    const first = await watchEvents(h.kc, path(ns), { resourceVersion: start });
    await writes;
    const total = (await h.raw('GET', `${path(ns)}?watch=true&resourceVersion=${start}&timeoutSeconds=1`)).text.split('\n').filter(Boolean).length;
    await first.waitFor(total);
    const rvs = first.events.map((e) => e.object.metadata.resourceVersion);
    // a watch started at each event's resourceVersion sees exactly the events that followed it
    for (let i = 0; i < rvs.length; i += 6) {
      const later = await watchEvents(h.kc, path(ns), { resourceVersion: rvs[i] });
      await later.waitFor(rvs.length - i - 1);
      await sleep(20);
      expect(later.events.map((e) => e.object.metadata.resourceVersion)).toEqual(rvs.slice(i + 1));
      later.stop();
    }
    first.stop();
  });
});

describe('Namespaces', () => {
  it('Namespace, apply finalizer to a namespace', async () => {
    const ns = await h.namespace('fin');
    const cur = await h.core.readNamespace({ name: ns });
    const withFake = await h.core.replaceNamespaceFinalize({ name: ns, body: { ...cur, spec: { finalizers: [...(cur.spec?.finalizers ?? []), 'e2e.example.com/fakeFinalizer'] } } });
    expect(withFake.spec?.finalizers).toContain('e2e.example.com/fakeFinalizer');
    const without = await h.core.replaceNamespaceFinalize({ name: ns, body: { ...withFake, spec: { finalizers: withFake.spec!.finalizers!.filter((f) => f !== 'e2e.example.com/fakeFinalizer') } } });
    expect(without.spec?.finalizers ?? []).not.toContain('e2e.example.com/fakeFinalizer');
    expect((await h.core.readNamespace({ name: ns })).spec?.finalizers ?? []).not.toContain('e2e.example.com/fakeFinalizer');
  });

  it('Namespace, apply update to a namespace', async () => {
    const ns = await h.namespace('upd');
    const cur = await h.core.readNamespace({ name: ns });
    const updated = await h.core.replaceNamespace({ name: ns, body: { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata!.labels, 'e2e-namespace': 'updated' } } } });
    expect(updated.metadata?.labels?.['e2e-namespace']).toBe('updated');
  });

  it('Namespace, apply changes to a namespace status', async () => {
    const ns = await h.namespace('st');
    const status = await h.core.readNamespaceStatus({ name: ns });
    expect(status.status?.phase).toBe('Active');
    const cond = { type: 'StatusPatch', status: 'True', reason: 'E2E', message: 'Patched by an e2e test' };
    const patched = await h.core.patchNamespaceStatus({ name: ns, body: { status: { conditions: [cond] } } }, mergePatch);
    expect(patched.status?.conditions).toContainEqual(expect.objectContaining(cond));
    const cur = await h.core.readNamespaceStatus({ name: ns });
    const cond2 = { type: 'StatusUpdate', status: 'True', reason: 'E2E', message: 'Updated by an e2e test' };
    const updated = await h.core.replaceNamespaceStatus({ name: ns, body: { ...cur, status: { ...cur.status, conditions: [...(cur.status?.conditions ?? []), cond2] } } });
    expect(updated.status?.conditions).toContainEqual(expect.objectContaining(cond2));
  });

  it('namespace-deletion-removes-pods', async () => {
    const ns = await h.namespace('nsdelete');
    await h.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'test-pod' }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } } });
    await h.core.deleteNamespace({ name: ns });
    await eventually('the namespace gone', async () => (await h.raw('GET', `/api/v1/namespaces/${ns}`)).code === 404);
    await h.core.createNamespace({ body: { metadata: { name: ns } } });
    expect((await h.core.listNamespacedPod({ namespace: ns })).items).toEqual([]);
  });

  it('namespace-deletion-removes-services', async () => {
    const ns = await h.namespace('nsdelete');
    await h.core.createNamespacedService({ namespace: ns, body: { metadata: { name: 'test-service' }, spec: { selector: { foo: 'bar' }, ports: [{ port: 80, targetPort: 80 }] } } });
    await h.core.deleteNamespace({ name: ns });
    await eventually('the namespace gone', async () => (await h.raw('GET', `/api/v1/namespaces/${ns}`)).code === 404);
    await h.core.createNamespace({ body: { metadata: { name: ns } } });
    expect((await h.core.listNamespacedService({ namespace: ns })).items).toEqual([]);
  });

  it('Namespace patching', async () => {
    const ns = await h.namespace('nspatch');
    await h.core.patchNamespace({ name: ns, body: { metadata: { labels: { testLabel: 'testValue' } } } }, mergePatch);
    expect((await h.core.readNamespace({ name: ns })).metadata?.labels?.testLabel).toBe('testValue');
  });
});

describe('Garbage collector', () => {
  async function deploymentWithReplicaSet(ns: string) {
    const d = await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('simpletest-deployment') });
    const rs = await eventually('the ReplicaSet', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items[0]);
    return { d, rs };
  }

  it('Garbage Collector, delete deployment,  propagation policy background', async () => {
    const ns = await h.namespace('gc');
    await deploymentWithReplicaSet(ns);
    await h.apps.deleteNamespacedDeployment({ name: 'simpletest-deployment', namespace: ns, body: { propagationPolicy: 'Background' } });
    await eventually('the ReplicaSet deleted', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 0);
  });

  it('Garbage Collector, delete deployment, propagation policy orphan', async () => {
    const ns = await h.namespace('gc');
    const { rs } = await deploymentWithReplicaSet(ns);
    await h.apps.deleteNamespacedDeployment({ name: 'simpletest-deployment', namespace: ns, body: { propagationPolicy: 'Orphan' } });
    await eventually('the Deployment gone', async () => (await h.apps.listNamespacedDeployment({ namespace: ns })).items.length === 0);
    await sleep(100);
    const left = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items;
    expect(left.map((r) => r.metadata?.uid)).toEqual([rs.metadata?.uid]);
    expect(left[0].metadata?.ownerReferences ?? []).toEqual([]);
  });

  it('Garbage Collector, dependency cycle', async () => {
    const ns = await h.namespace('gc');
    const pod = (name: string) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    const pods = [];
    for (const n of ['pod1', 'pod2', 'pod3']) pods.push(await h.core.createNamespacedPod({ namespace: ns, body: pod(n) }));
    const ref = (p: any) => ({ apiVersion: 'v1', kind: 'Pod', name: p.metadata.name, uid: p.metadata.uid, controller: true, blockOwnerDeletion: true });
    // pod1 owned by pod3, pod2 by pod1, pod3 by pod2
    for (const [dep, owner] of [[0, 2], [1, 0], [2, 1]]) {
      await h.core.patchNamespacedPod({ name: pods[dep].metadata!.name!, namespace: ns, body: { metadata: { ownerReferences: [ref(pods[owner])] } } }, mergePatch);
    }
    await h.core.deleteNamespacedPod({ name: 'pod1', namespace: ns });
    await eventually('every pod deleted', async () => (await h.core.listNamespacedPod({ namespace: ns })).items.length === 0);
  });

  /** Adapted: ReplicationControllers are not served; a ReplicaSet owns Pods created with ownerReferences (no controller creates Pods). */
  async function replicaSetWithPods(ns: string, name: string, n: number, extraOwners: (i: number) => any[] = () => []) {
    const rs = await h.apps.createNamespacedReplicaSet({ namespace: ns, body: { metadata: { name }, spec: { replicas: n, selector: { matchLabels: { rc: name } }, template: { metadata: { labels: { rc: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } } });
    const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: rs.metadata!.uid!, controller: true, blockOwnerDeletion: true };
    for (let i = 0; i < n; i++) {
      await h.core.createNamespacedPod({ namespace: ns, body: { metadata: { name: `${name}-${i}`, labels: { rc: name }, ownerReferences: [ref, ...extraOwners(i)] }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } });
    }
    return rs;
  }

  it('Garbage Collector, delete replication controller, propagation policy background (adapted: ReplicaSet)', async () => {
    const ns = await h.namespace('gc');
    await replicaSetWithPods(ns, 'simpletest.rc', 2);
    await h.apps.deleteNamespacedReplicaSet({ name: 'simpletest.rc', namespace: ns, body: { propagationPolicy: 'Background' } });
    await eventually('the pods deleted', async () => (await h.core.listNamespacedPod({ namespace: ns })).items.length === 0);
  });

  it('Garbage Collector, delete replication controller, after owned pods (adapted: ReplicaSet)', async () => {
    const ns = await h.namespace('gc');
    await replicaSetWithPods(ns, 'simpletest.rc', 10);
    await h.core.patchNamespacedPod({ name: 'simpletest.rc-3', namespace: ns, body: { metadata: { finalizers: ['e2e/hold'] } } }, mergePatch);
    await h.apps.deleteNamespacedReplicaSet({ name: 'simpletest.rc', namespace: ns, body: { propagationPolicy: 'Foreground' } });
    await eventually('the free pods deleted', async () => (await h.core.listNamespacedPod({ namespace: ns })).items.length === 1);
    // the owner stays while a pod is left
    const owner = await h.apps.readNamespacedReplicaSet({ name: 'simpletest.rc', namespace: ns });
    expect(owner.metadata?.deletionTimestamp).toBeDefined();
    expect(owner.metadata?.finalizers).toContain('foregroundDeletion');
    await h.core.patchNamespacedPod({ name: 'simpletest.rc-3', namespace: ns, body: { metadata: { finalizers: null } } }, mergePatch);
    await eventually('the ReplicaSet deleted after its pods', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 0);
    expect((await h.core.listNamespacedPod({ namespace: ns })).items).toEqual([]);
  });

  it('Garbage Collector, multiple owners (adapted: ReplicaSets)', async () => {
    const ns = await h.namespace('gc');
    const rs2 = await h.apps.createNamespacedReplicaSet({ namespace: ns, body: { metadata: { name: 'simpletest-rc-to-stay' }, spec: { replicas: 0, selector: { matchLabels: { rc: 'stay' } }, template: { metadata: { labels: { rc: 'stay' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } } });
    const ref2 = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'simpletest-rc-to-stay', uid: rs2.metadata!.uid! };
    await replicaSetWithPods(ns, 'simpletest-rc-to-be-deleted', 10, (i) => (i < 5 ? [ref2] : []));
    await h.apps.deleteNamespacedReplicaSet({ name: 'simpletest-rc-to-be-deleted', namespace: ns, body: { propagationPolicy: 'Foreground' } });
    await eventually('the owner deleted', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 1);
    const pods = (await h.core.listNamespacedPod({ namespace: ns })).items;
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `simpletest-rc-to-be-deleted-${i}`));
    for (const p of pods) expect(p.metadata?.deletionTimestamp).toBeUndefined();
  });

  it('Garbage Collector, delete replication controller, propagation policy orphan (adapted: ReplicaSet)', async () => {
    const ns = await h.namespace('gc');
    await replicaSetWithPods(ns, 'simpletest.rc', 4);
    await h.apps.deleteNamespacedReplicaSet({ name: 'simpletest.rc', namespace: ns, body: { propagationPolicy: 'Orphan' } });
    await eventually('the ReplicaSet gone', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items.length === 0);
    await sleep(100);
    const pods = (await h.core.listNamespacedPod({ namespace: ns })).items;
    expect(pods).toHaveLength(4);
    for (const p of pods) expect(p.metadata?.ownerReferences ?? []).toEqual([]);
  });
});

describe('ValidatingAdmissionPolicy', () => {
  let adm: AdmissionregistrationV1Api;
  beforeAll(() => {
    adm = h.kc.makeApiClient(AdmissionregistrationV1Api);
  });

  /** A namespace labelled for the policy, the policy and a binding matching only that namespace. */
  async function policyFor(name: string, spec: Record<string, unknown>): Promise<string> {
    const ns = await h.namespace(name);
    await h.core.patchNamespace({ name: ns, body: { metadata: { labels: { [ns]: 'true' } } } }, mergePatch);
    const only = { namespaceSelector: { matchLabels: { [ns]: 'true' } } };
    await adm.createValidatingAdmissionPolicy({ body: { metadata: { name: `${ns}.policy.example.com` }, spec: {
      matchConstraints: { ...only, resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], operations: ['CREATE', 'UPDATE'] }] }, ...spec,
    } } });
    await adm.createValidatingAdmissionPolicyBinding({ body: { metadata: { name: `${ns}.binding.example.com` }, spec: { policyName: `${ns}.policy.example.com`, validationActions: ['Deny'], matchResources: only } } });
    return ns;
  }

  const withReplicas = (name: string, replicas: number) => ({ ...deployment(name), spec: { ...deployment(name).spec, replicas } });
  const replicaSet = (name: string, replicas: number) => ({ metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } } });

  it('ValidatingAdmissionPolicy (should validate against a Deployment)', async () => {
    const ns = await policyFor('vapd', { validations: [
      { expression: 'object.spec.replicas > 1', messageExpression: "'wants replicas > 1, got ' + string(object.spec.replicas)" },
      { expression: 'namespaceObject.metadata.name == \'PLACEHOLDER\'', message: 'Internal error! Other namespace should not be allowed.' },
    ] }).then(async (n) => {
      // the second validation names the namespace
      const p = await adm.readValidatingAdmissionPolicy({ name: `${n}.policy.example.com` });
      p.spec!.validations![1].expression = `namespaceObject.metadata.name == '${n}'`;
      await adm.replaceValidatingAdmissionPolicy({ name: p.metadata!.name!, body: p });
      return n;
    });
    const denied = await apiError(h.apps.createNamespacedDeployment({ namespace: ns, body: withReplicas('marker-deployment', 1) }));
    expect(denied.code).toBe(422);
    expect(denied.body.reason).toBe('Invalid');
    expect(denied.body.message).toContain('wants replicas > 1, got 1');
    await h.apps.createNamespacedDeployment({ namespace: ns, body: withReplicas('replicated', 2) });
    await h.apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet('non-replicated', 1) });
  });

  it('ValidatingAdmissionPolicy (should allow expressions to refer variables.)', async () => {
    const ns = await policyFor('vapv', {
      variables: [{ name: 'replicas', expression: 'object.spec.replicas' }, { name: 'oddReplicas', expression: 'variables.replicas % 2 == 1' }],
      validations: [{ expression: 'variables.replicas > 1' }, { expression: 'variables.oddReplicas' }],
    });
    expect((await apiError(h.apps.createNamespacedDeployment({ namespace: ns, body: withReplicas('marker-deployment', 1) }))).code).toBe(422);
    expect((await apiError(h.apps.createNamespacedDeployment({ namespace: ns, body: withReplicas('even', 2) }))).code).toBe(422);
    await h.apps.createNamespacedDeployment({ namespace: ns, body: withReplicas('replicated', 3) });
    await h.apps.createNamespacedReplicaSet({ namespace: ns, body: replicaSet('non-replicated', 1) });
  });

  /** The API operations the two API entries require, for a cluster-scoped admissionregistration.k8s.io/v1 resource. */
  async function apiOperations(plural: string, body: (name: string) => any, statusToo: boolean): Promise<void> {
    const base = `/apis/admissionregistration.k8s.io/v1/${plural}`;
    const groups = (await h.raw('GET', '/apis')).body.groups;
    expect(groups.find((g: any) => g.name === 'admissionregistration.k8s.io')?.versions.map((v: any) => v.groupVersion)).toContain('admissionregistration.k8s.io/v1');
    const resources = (await h.raw('GET', '/apis/admissionregistration.k8s.io/v1')).body.resources.map((r: any) => r.name);
    expect(resources).toContain(plural);
    if (statusToo) expect(resources).toContain(`${plural}/status`);
    const label = `e2e-${plural}-${Math.random().toString(36).slice(2, 7)}`;
    const w = await watchEvents(h.kc, base, { labelSelector: label });
    for (const n of ['1', '2', '3']) {
      const o = body(`${label}-${n}`);
      o.metadata.labels = { [label]: 'true' };
      expect((await h.raw('POST', base, o)).code).toBe(201);
    }
    const got = await h.raw('GET', `${base}/${label}-1`);
    expect(got.code).toBe(200);
    expect((await h.raw('GET', `${base}?labelSelector=${label}`)).body.items).toHaveLength(3);
    const patched = await h.raw('PATCH', `${base}/${label}-1`, { metadata: { annotations: { patched: 'true' } } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(patched.body.metadata.annotations.patched).toBe('true');
    const updated = await h.raw('PUT', `${base}/${label}-1`, { ...patched.body, metadata: { ...patched.body.metadata, annotations: { updated: 'true' } } });
    expect(updated.body.metadata.annotations).toEqual({ updated: 'true' });
    if (statusToo) {
      expect((await h.raw('GET', `${base}/${label}-1/status`)).code).toBe(200);
      const st = await h.raw('PATCH', `${base}/${label}-1/status`, { status: { conditions: [{ type: 'StatusUpdated', status: 'True', reason: 'E2E', message: 'Set from an e2e test', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, { 'Content-Type': 'application/merge-patch+json' });
      expect(st.code).toBe(200);
      expect(st.body.status.conditions[0].type).toBe('StatusUpdated');
      const put = await h.raw('PUT', `${base}/${label}-1/status`, { ...st.body, status: { ...st.body.status, observedGeneration: 1 } });
      expect(put.code).toBe(200);
    }
    expect((await h.raw('DELETE', `${base}/${label}-1`)).code).toBe(200);
    expect((await h.raw('GET', `${base}/${label}-1`)).code).toBe(404);
    expect((await h.raw('DELETE', `${base}?labelSelector=${label}`)).code).toBe(200);
    expect((await h.raw('GET', `${base}?labelSelector=${label}`)).body.items).toEqual([]);
    await eventually('the watch events', () => w.events.filter((e) => e.type === 'DELETED').length === 3);
    expect(w.events.filter((e) => e.type === 'ADDED')).toHaveLength(3);
    w.stop();
  }

  it('ValidatingAdmissionPolicy API', async () => {
    await apiOperations('validatingadmissionpolicies', (name) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name },
      spec: { matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['configmaps'], operations: ['CREATE'] }] }, validations: [{ expression: 'true' }] } }), true);
  });

  it('ValidatingAdmissionPolicyBinding API', async () => {
    await apiOperations('validatingadmissionpolicybindings', (name) => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name },
      spec: { policyName: 'does-not-exist', validationActions: ['Deny'] } }), false);
  });
});
