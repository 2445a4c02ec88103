/**
 * Conformance of the core objects the embedded server stores (sig-node, sig-storage, sig-auth, sig-instrumentation,
 * sig-network entries about the API, not about running Pods): ConfigMaps, Secrets, Leases, Nodes, PodTemplates, Pods
 * as stored objects, ServiceAccounts, SubjectAccessReviews, Events, Services. Out of scope and why:
 * docs/embedded-cluster.md, "Conformance".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthorizationV1Api, CoordinationV1Api, CoreV1Api, EventsV1Api } from '@kubernetes/client-node';
import { clusterHarness, eventually, type ClusterHarness } from '../../../support/cluster.ts';
import { apiError, mergePatch, strategicPatch, watchEvents } from './support.ts';

let h: ClusterHarness;

beforeAll(async () => {
  h = await clusterHarness();
});
afterAll(async () => {
  await h?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('ConfigMaps and Secrets', () => {
  it('ConfigMap, with empty-key', async () => {
    const ns = await h.namespace('cm');
    const err = await apiError(h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'configmap-test-emptykey' }, data: { '': 'value-1' } } }));
    expect(err.code).toBe(422);
  });

  it('ConfigMap lifecycle', async () => {
    const ns = await h.namespace('cm');
    await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'e2e-configmap', labels: { 'test-configmap-static': 'true' } }, data: { valueName: 'value' } } });
    await h.core.patchNamespacedConfigMap({ name: 'e2e-configmap', namespace: ns, body: { metadata: { labels: { 'test-configmap': 'patched' } }, data: { valueName: 'value1' } } }, mergePatch);
    const got = await h.core.readNamespacedConfigMap({ name: 'e2e-configmap', namespace: ns });
    expect(got.data).toEqual({ valueName: 'value1' });
    expect(got.metadata?.labels?.['test-configmap']).toBe('patched');
    const listed = (await h.core.listConfigMapForAllNamespaces({ labelSelector: 'test-configmap-static=true' })).items;
    expect(listed.map((c) => [c.metadata?.name, c.data?.valueName])).toEqual([['e2e-configmap', 'value1']]);
    await h.core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'test-configmap-static=true' });
    expect((await h.core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'test-configmap-static=true' })).items).toEqual([]);
  });

  it.each(['ConfigMap', 'Secret'] as const)('%s immutability (ConfigMap Volume, immutability / Secrets Volume, immutability)', async (kind) => {
    const ns = await h.namespace('imm');
    const c = h.core as any;
    const data = (v: string) => (kind === 'Secret' ? { data: { data: b64(v) } } : { data: { data: v } });
    await c[`createNamespaced${kind}`]({ namespace: ns, body: { metadata: { name: 'immutable' }, ...data('1') } });
    const get = () => c[`readNamespaced${kind}`]({ name: 'immutable', namespace: ns });
    const replace = async (change: (o: any) => void) => {
      const cur = await get();
      change(cur);
      return c[`replaceNamespaced${kind}`]({ name: 'immutable', namespace: ns, body: cur });
    };
    await replace((o) => Object.assign(o, data('2')));
    await replace((o) => { o.immutable = true; });
    expect((await apiError(replace((o) => Object.assign(o, data('3'))))).code).toBe(422);
    expect((await apiError(replace((o) => { o.immutable = false; }))).code).toBe(422);
    const labelled = await replace((o) => { o.metadata.labels = { label1: 'value1' }; });
    expect(labelled.metadata.labels).toEqual({ label1: 'value1' });
    await c[`deleteNamespaced${kind}`]({ name: 'immutable', namespace: ns });
    expect((await h.raw('GET', `/api/v1/namespaces/${ns}/${kind.toLowerCase()}s/immutable`)).code).toBe(404);
  });

  it('Secrets, with empty-key', async () => {
    const ns = await h.namespace('sec');
    const err = await apiError(h.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'secret-emptykey-test' }, data: { '': b64('value-1') } } }));
    expect(err.code).toBe(422);
  });

  it('Secret patching', async () => {
    const ns = await h.namespace('sec');
    await h.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'e2e-secret', labels: { testsecret: 'true' } }, data: { key: b64('value') } } });
    expect((await h.core.listSecretForAllNamespaces({ labelSelector: 'testsecret=true' })).items.map((s) => s.metadata?.name)).toEqual(['e2e-secret']);
    await h.core.patchNamespacedSecret({ name: 'e2e-secret', namespace: ns, body: { metadata: { labels: { testsecret: 'true' } }, data: { key: b64('value1') } } }, mergePatch);
    expect((await h.core.readNamespacedSecret({ name: 'e2e-secret', namespace: ns })).data).toEqual({ key: b64('value1') });
    await h.core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: 'testsecret=true' });
    expect((await h.core.listSecretForAllNamespaces({ labelSelector: 'testsecret=true' })).items).toEqual([]);
  });
});

describe('Leases, Nodes, PodTemplates, Pods', () => {
  it('lease API should be available', async () => {
    const ns = await h.namespace('lease');
    const coord = h.kc.makeApiClient(CoordinationV1Api);
    const spec = { holderIdentity: 'holder', leaseDurationSeconds: 30, acquireTime: new Date('2026-01-01T00:00:00.000Z'), renewTime: new Date('2026-01-01T00:00:10.000Z'), leaseTransitions: 0 };
    const created = await coord.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'lease' }, spec } });
    expect(created.spec?.holderIdentity).toBe('holder');
    const read = await coord.readNamespacedLease({ name: 'lease', namespace: ns });
    expect(read.spec?.leaseDurationSeconds).toBe(30);
    const updated = await coord.replaceNamespacedLease({ name: 'lease', namespace: ns, body: { ...read, spec: { ...read.spec, holderIdentity: 'holder2', leaseTransitions: 1 } } });
    expect(updated.spec?.holderIdentity).toBe('holder2');
    const patched = await coord.patchNamespacedLease({ name: 'lease', namespace: ns, body: { spec: { holderIdentity: 'holder3', leaseTransitions: 2 } } }, strategicPatch);
    expect((await coord.readNamespacedLease({ name: 'lease', namespace: ns })).spec).toMatchObject({ holderIdentity: 'holder3', leaseTransitions: patched.spec?.leaseTransitions });
    await coord.createNamespacedLease({ namespace: ns, body: { metadata: { name: 'lease2', labels: { deletecollection: 'true' } }, spec } });
    expect((await coord.listLeaseForAllNamespaces({})).items.filter((l) => l.metadata?.namespace === ns)).toHaveLength(2);
    await coord.deleteCollectionNamespacedLease({ namespace: ns, labelSelector: 'deletecollection=true' });
    expect((await coord.listNamespacedLease({ namespace: ns })).items.map((l) => l.metadata?.name)).toEqual(['lease']);
    await coord.deleteNamespacedLease({ name: 'lease', namespace: ns });
    expect((await apiError(coord.readNamespacedLease({ name: 'lease', namespace: ns }))).code).toBe(404);
  });

  it('Node, resource lifecycle', async () => {
    const name = 'e2e-fake-node-abcde';
    const created = await h.core.createNode({ body: { metadata: { name }, status: { phase: 'Running' } } });
    expect((await h.core.readNode({ name })).metadata?.uid).toBe(created.metadata?.uid);
    await h.core.patchNode({ name, body: { metadata: { labels: { [name]: 'patched' } } } }, mergePatch);
    expect((await h.core.listNode({ labelSelector: `${name}=patched` })).items.map((n) => n.metadata?.name)).toEqual([name]);
    const cur = await h.core.readNode({ name });
    const updated = await h.core.replaceNode({ name, body: { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata!.labels, [`${name}-update`]: 'updated' } } } });
    expect(updated.metadata?.labels?.[`${name}-update`]).toBe('updated');
    await h.core.deleteNode({ name });
    expect((await apiError(h.core.readNode({ name }))).code).toBe(404);
  });

  const podTemplate = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, template: { spec: { containers: [{ name: 'token-test', image: 'nginx' }] } } });

  it('PodTemplate lifecycle', async () => {
    const ns = await h.namespace('pt');
    await h.core.createNamespacedPodTemplate({ namespace: ns, body: podTemplate('nginx-pod-template', { podtemplate: 'static' }) });
    await h.core.patchNamespacedPodTemplate({ name: 'nginx-pod-template', namespace: ns, body: { metadata: { labels: { podtemplate: 'patched' } } } }, mergePatch);
    expect((await h.core.readNamespacedPodTemplate({ name: 'nginx-pod-template', namespace: ns })).metadata?.labels?.podtemplate).toBe('patched');
    expect((await h.core.listNamespacedPodTemplate({ namespace: ns, labelSelector: 'podtemplate=patched' })).items).toHaveLength(1);
    await h.core.deleteNamespacedPodTemplate({ name: 'nginx-pod-template', namespace: ns });
    expect((await h.core.listNamespacedPodTemplate({ namespace: ns })).items).toEqual([]);
  });

  it('PodTemplate, delete a collection', async () => {
    const ns = await h.namespace('pt');
    for (const n of ['podtemplate-1', 'podtemplate-2', 'podtemplate-3']) await h.core.createNamespacedPodTemplate({ namespace: ns, body: podTemplate(n, { podtemplate: 'set' }) });
    expect((await h.core.listNamespacedPodTemplate({ namespace: ns, labelSelector: 'podtemplate=set' })).items).toHaveLength(3);
    await h.core.deleteCollectionNamespacedPodTemplate({ namespace: ns, labelSelector: 'podtemplate=set' });
    expect((await h.core.listNamespacedPodTemplate({ namespace: ns, labelSelector: 'podtemplate=set' })).items).toEqual([]);
  });

  it('PodTemplate, replace', async () => {
    const ns = await h.namespace('pt');
    const created = await h.core.createNamespacedPodTemplate({ namespace: ns, body: podTemplate('podtemplate-replace') });
    const replaced = await h.core.replaceNamespacedPodTemplate({ name: 'podtemplate-replace', namespace: ns, body: { ...created, metadata: { ...created.metadata, annotations: { updated: 'true' } } } });
    expect(replaced.metadata?.annotations?.updated).toBe('true');
  });

  const pod = (name: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, spec: { containers: [{ name: 'agnhost', image: 'registry.k8s.io/e2e-test-images/agnhost:2.53' }] } });

  it('Pods, delete a collection', async () => {
    const ns = await h.namespace('pods');
    for (const n of ['test-pod-1', 'test-pod-2', 'test-pod-3']) await h.core.createNamespacedPod({ namespace: ns, body: pod(n, { type: 'Testing' }) });
    expect((await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'type=Testing' })).items).toHaveLength(3);
    await h.core.deleteCollectionNamespacedPod({ namespace: ns, labelSelector: 'type=Testing' });
    expect((await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'type=Testing' })).items).toEqual([]);
  });

  it('Pods, patching status (without a kubelet: the pod is not running)', async () => {
    const ns = await h.namespace('pods');
    await h.core.createNamespacedPod({ namespace: ns, body: pod('pod-test') });
    const patched = await h.core.patchNamespacedPodStatus({ name: 'pod-test', namespace: ns, body: { status: { message: 'Patched by e2e test', reason: 'E2E' } } }, strategicPatch);
    expect(patched.status).toMatchObject({ message: 'Patched by e2e test', reason: 'E2E' });
    expect((await h.core.readNamespacedPodStatus({ name: 'pod-test', namespace: ns })).status).toMatchObject({ message: 'Patched by e2e test', reason: 'E2E' });
  });

  it('Pods, completes the lifecycle of a Pod and the PodStatus', async () => {
    const ns = await h.namespace('pods');
    await h.core.createNamespacedPod({ namespace: ns, body: pod('pod-test', { 'test-pod-static': 'true' }) });
    const patched = await h.core.patchNamespacedPod({ name: 'pod-test', namespace: ns, body: { metadata: { labels: { 'test-pod': 'patched' } }, spec: { activeDeadlineSeconds: 5000 } } }, strategicPatch);
    expect(patched.metadata?.labels?.['test-pod']).toBe('patched');
    const status = await h.core.readNamespacedPodStatus({ name: 'pod-test', namespace: ns });
    const cond = { type: 'PodReady', status: 'True' };
    const replaced = await h.core.replaceNamespacedPodStatus({ name: 'pod-test', namespace: ns, body: { ...status, status: { ...status.status, conditions: [cond] } } });
    expect(replaced.status?.conditions).toContainEqual(expect.objectContaining(cond));
    await h.core.deleteCollectionNamespacedPod({ namespace: ns, labelSelector: 'test-pod-static=true' });
    expect((await h.core.listNamespacedPod({ namespace: ns })).items).toEqual([]);
  });

  it('Pods, update', async () => {
    const ns = await h.namespace('pods');
    await h.core.createNamespacedPod({ namespace: ns, body: pod('pod-update', { name: 'foo', time: '1' }) });
    expect((await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'time=1' })).items).toHaveLength(1);
    const cur = await h.core.readNamespacedPod({ name: 'pod-update', namespace: ns });
    await h.core.replaceNamespacedPod({ name: 'pod-update', namespace: ns, body: { ...cur, metadata: { ...cur.metadata, labels: { name: 'foo', time: '2' } } } });
    expect((await h.core.listNamespacedPod({ namespace: ns, labelSelector: 'time=2' })).items.map((p) => p.metadata?.name)).toEqual(['pod-update']);
  });
});

describe('ServiceAccounts and SubjectReview', () => {
  it('ServiceAccount lifecycle test', async () => {
    const ns = await h.namespace('sa');
    const w = await watchEvents(h.kc, `/api/v1/namespaces/${ns}/serviceaccounts`, { labelSelector: 'test-serviceaccount-static=true' });
    await h.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'testserviceaccount', labels: { 'test-serviceaccount-static': 'true' } } } });
    await eventually('ADDED with the label', () => w.events.some((e) => e.type === 'ADDED' && e.object.metadata.labels['test-serviceaccount-static'] === 'true'));
    const patched = await h.core.patchNamespacedServiceAccount({ name: 'testserviceaccount', namespace: ns, body: { automountServiceAccountToken: false } }, strategicPatch);
    expect(patched.automountServiceAccountToken).toBe(false);
    const listed = (await h.core.listServiceAccountForAllNamespaces({ labelSelector: 'test-serviceaccount-static=true' })).items;
    expect(listed.map((s) => s.automountServiceAccountToken)).toEqual([false]);
    await h.core.deleteCollectionNamespacedServiceAccount({ namespace: ns, labelSelector: 'test-serviceaccount-static=true' });
    await eventually('DELETED', () => w.events.some((e) => e.type === 'DELETED'));
    w.stop();
  });

  it('ServiceAccount, update a ServiceAccount', async () => {
    const ns = await h.namespace('sa');
    const created = await h.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'e2e-sa' } } });
    const updated = await h.core.replaceNamespacedServiceAccount({ name: 'e2e-sa', namespace: ns, body: { ...created, automountServiceAccountToken: true } });
    expect(updated.automountServiceAccountToken).toBe(true);
    expect((await h.core.readNamespacedServiceAccount({ name: 'e2e-sa', namespace: ns })).automountServiceAccountToken).toBe(true);
  });

  it('SubjectReview, API Operations', async () => {
    const ns = await h.namespace('sr');
    await h.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'e2e-sa' } } });
    const user = `system:serviceaccount:${ns}:e2e-sa`;
    const groups = ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'];
    const impersonated = h.cluster.kubeConfig({ user, groups }).makeApiClient(CoreV1Api);
    const actual = await impersonated.listNamespacedConfigMap({ namespace: ns }).then(() => true, (err) => ((err as { code?: number }).code === 403 ? false : Promise.reject(err)));
    const authz = h.kc.makeApiClient(AuthorizationV1Api);
    const attrs = { verb: 'list', resource: 'configmaps', namespace: ns };
    const sar = await authz.createSubjectAccessReview({ body: { spec: { user, groups, resourceAttributes: attrs } } });
    expect(sar.status?.allowed).toBe(actual);
    const lsar = await authz.createNamespacedLocalSubjectAccessReview({ namespace: ns, body: { metadata: { namespace: ns }, spec: { user, groups, resourceAttributes: attrs } } });
    expect(lsar.status?.allowed).toBe(actual);
  });
});

describe('Events', () => {
  const coreEvent = (name: string, ns: string, labels: Record<string, string> = {}) => ({
    metadata: { name, labels }, involvedObject: { kind: 'Pod', name: 'p', namespace: ns }, reason: 'E2E', message: 'This is a test event', type: 'Normal',
    count: 1, source: { component: 'e2e' }, firstTimestamp: new Date('2026-01-01T00:00:00Z'), lastTimestamp: new Date('2026-01-01T00:00:00Z'),
  });

  it('Event, delete a collection', async () => {
    const ns = await h.namespace('ev');
    for (const n of ['event-1', 'event-2', 'event-3']) await h.core.createNamespacedEvent({ namespace: ns, body: coreEvent(n, ns, { 'testevent-set': 'true' }) });
    expect((await h.core.listNamespacedEvent({ namespace: ns, labelSelector: 'testevent-set=true' })).items).toHaveLength(3);
    await h.core.deleteCollectionNamespacedEvent({ namespace: ns, labelSelector: 'testevent-set=true' });
    expect((await h.core.listNamespacedEvent({ namespace: ns, labelSelector: 'testevent-set=true' })).items).toEqual([]);
  });

  it('Event, manage lifecycle of an Event', async () => {
    const ns = await h.namespace('ev');
    await h.core.createNamespacedEvent({ namespace: ns, body: coreEvent('event-test', ns, { 'testevent-constant': 'true' }) });
    expect((await h.core.listEventForAllNamespaces({ labelSelector: 'testevent-constant=true' })).items).toHaveLength(1);
    await h.core.patchNamespacedEvent({ name: 'event-test', namespace: ns, body: { message: 'This is a test event - patched' } }, strategicPatch);
    expect((await h.core.readNamespacedEvent({ name: 'event-test', namespace: ns })).message).toBe('This is a test event - patched');
    const cur = await h.core.readNamespacedEvent({ name: 'event-test', namespace: ns });
    const series = { count: 100, lastObservedTime: new Date('2026-01-01T00:01:00.000000Z') };
    const updated = await h.core.replaceNamespacedEvent({ name: 'event-test', namespace: ns, body: { ...cur, series } });
    expect(updated.series?.count).toBe(100);
    await h.core.deleteNamespacedEvent({ name: 'event-test', namespace: ns });
    expect((await h.core.listEventForAllNamespaces({ labelSelector: 'testevent-constant=true' })).items).toEqual([]);
  });

  const newEvent = (name: string, ns: string, labels: Record<string, string> = {}) => ({
    metadata: { name, labels }, eventTime: new Date('2026-01-01T00:00:00.000000Z'), reportingController: 'test-controller', reportingInstance: 'test-node',
    regarding: { kind: 'Pod', name: 'p', namespace: ns }, reason: 'E2E', action: 'Test', type: 'Normal', note: 'This is a test event',
  });

  it('New Event resource lifecycle, testing a list of events', async () => {
    const ns = await h.namespace('evn');
    const events = h.kc.makeApiClient(EventsV1Api);
    for (const n of ['event-1', 'event-2', 'event-3']) await events.createNamespacedEvent({ namespace: ns, body: newEvent(n, ns, { 'test-event-list': 'true' }) });
    expect((await events.listNamespacedEvent({ namespace: ns, labelSelector: 'test-event-list=true' })).items).toHaveLength(3);
    await events.deleteCollectionNamespacedEvent({ namespace: ns, labelSelector: 'test-event-list=true' });
    expect((await events.listEventForAllNamespaces({ labelSelector: 'test-event-list=true' })).items).toEqual([]);
  });

  it('New Event resource lifecycle, testing a single event', async () => {
    const ns = await h.namespace('evn');
    const events = h.kc.makeApiClient(EventsV1Api);
    await events.createNamespacedEvent({ namespace: ns, body: newEvent('event-test', ns, { 'test-event': 'single' }) });
    expect((await events.readNamespacedEvent({ name: 'event-test', namespace: ns })).note).toBe('This is a test event');
    await events.patchNamespacedEvent({ name: 'event-test', namespace: ns, body: { note: 'This is a test event - patched' } }, mergePatch);
    const cur = await events.readNamespacedEvent({ name: 'event-test', namespace: ns });
    expect(cur.note).toBe('This is a test event - patched');
    const updated = await events.replaceNamespacedEvent({ name: 'event-test', namespace: ns, body: { ...cur, series: { count: 100, lastObservedTime: new Date('2026-01-01T00:01:00.000000Z') } } });
    expect(updated.series?.count).toBe(100);
    await events.deleteNamespacedEvent({ name: 'event-test', namespace: ns });
    expect((await events.listNamespacedEvent({ namespace: ns })).items.map((e) => e.metadata?.name)).not.toContain('event-test');
  });
});

describe('Services', () => {
  const svc = (name: string, labels: Record<string, string>) => ({ metadata: { name, labels }, spec: { type: 'ClusterIP', ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }] } });

  it('Service, deletes a collection of services', async () => {
    const ns = await h.namespace('svc');
    await h.core.createNamespacedService({ namespace: ns, body: svc('e2e-svc-a', { 'e2e-test-service': 'delete' }) });
    await h.core.createNamespacedService({ namespace: ns, body: svc('e2e-svc-b', { 'e2e-test-service': 'delete' }) });
    await h.core.createNamespacedService({ namespace: ns, body: svc('e2e-svc-c', { 'e2e-test-service': 'keep' }) });
    expect((await h.core.listNamespacedService({ namespace: ns })).items).toHaveLength(3);
    await h.core.deleteCollectionNamespacedService({ namespace: ns, labelSelector: 'e2e-test-service=delete' });
    expect((await h.core.listNamespacedService({ namespace: ns })).items.map((s) => s.metadata?.name)).toEqual(['e2e-svc-c']);
  });

  it('Service, complete ServiceStatus lifecycle', async () => {
    const ns = await h.namespace('svc');
    await h.core.createNamespacedService({ namespace: ns, body: svc('test-service', { 'test-service-static': 'true' }) });
    const status = await h.core.readNamespacedServiceStatus({ name: 'test-service', namespace: ns });
    expect(status.metadata?.name).toBe('test-service');
    const patched = await h.core.patchNamespacedServiceStatus({ name: 'test-service', namespace: ns, body: { metadata: { annotations: { patchedstatus: 'true' } }, status: { loadBalancer: { ingress: [{ ip: '203.0.113.1' }] } } } }, mergePatch);
    expect(patched.status?.loadBalancer?.ingress?.[0]?.ip).toBe('203.0.113.1');
    const cur = await h.core.readNamespacedServiceStatus({ name: 'test-service', namespace: ns });
    const cond = { type: 'StatusUpdate', status: 'True', reason: 'E2E', message: 'Set from e2e test', lastTransitionTime: new Date('2026-01-01T00:00:00Z') };
    const updated = await h.core.replaceNamespacedServiceStatus({ name: 'test-service', namespace: ns, body: { ...cur, status: { ...cur.status, conditions: [cond] } } });
    expect(updated.status?.conditions?.[0]?.type).toBe('StatusUpdate');
    const relabelled = await h.core.patchNamespacedService({ name: 'test-service', namespace: ns, body: { metadata: { labels: { 'test-service': 'patched' } } } }, mergePatch);
    expect(relabelled.metadata?.labels?.['test-service']).toBe('patched');
    expect(relabelled.status?.loadBalancer?.ingress?.[0]?.ip).toBe('203.0.113.1');
  });

  it('Find Kubernetes Service in default Namespace', async () => {
    const all = (await h.core.listServiceForAllNamespaces({})).items;
    expect(all.some((s) => s.metadata?.name === 'kubernetes' && s.metadata?.namespace === 'default')).toBe(true);
  });

  it('Kubernetes Service', async () => {
    const k = await h.core.readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    expect(k.spec?.ports?.[0]).toMatchObject({ name: 'https', port: 443, protocol: 'TCP' });
    expect(k.spec?.clusterIP).toMatch(/^10\.96\./);
  });
});
