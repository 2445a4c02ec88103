/**
 * DeleteOptions (dryRun, propagationPolicy, orphanDependents, gracePeriodSeconds, preconditions) are honoured wherever a
 * client puts them — the DeleteOptions body (kubectl, client-go, client-node) or the query string — for delete and
 * deletecollection of every kind, namespaces included; a bad value is refused naming the option. The dry-run cases
 * are the regression tests of issue 19 (`kubectl delete --dry-run=server` really deleted): they fail on the server
 * before that fix, where only the query string was read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterHarness, deployment, eventually, hasKubectl, type ClusterHarness } from '../../support/cluster.ts';

let h: ClusterHarness;

beforeAll(async () => {
  h = await clusterHarness();
});
afterAll(async () => {
  await h?.stop();
});

/** A namespace with Secrets x and y, ConfigMap x and Deployment x (and its ReplicaSet). */
async function seeded(prefix: string): Promise<{ ns: string; uids: Record<string, string> }> {
  const ns = await h.namespace(prefix);
  const s = await h.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'x', labels: { l: '1' } }, stringData: { a: 'b' } } });
  await h.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'y', labels: { l: '1' } }, stringData: { a: 'b' } } });
  const c = await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x', labels: { l: '1' } }, data: { a: 'b' } } });
  const d = await h.apps.createNamespacedDeployment({ namespace: ns, body: deployment('x') });
  const rs = await eventually('the ReplicaSet', async () => (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items[0]);
  const n = await h.core.readNamespace({ name: ns });
  return { ns, uids: { ns: n.metadata!.uid!, secret: s.metadata!.uid!, configmap: c.metadata!.uid!, deployment: d.metadata!.uid!, replicaset: rs.metadata!.uid! } };
}

/** Everything seeded() made is still there, the same objects (uids), the namespace Active. */
async function assertIntact(ns: string, uids: Record<string, string>): Promise<void> {
  // let anything a delete set off (garbage collection, namespace termination) run first
  await new Promise((r) => setTimeout(r, 50));
  const n = await h.core.readNamespace({ name: ns });
  expect(n.metadata?.uid).toBe(uids.ns);
  expect(n.status?.phase).toBe('Active');
  expect(n.metadata?.deletionTimestamp).toBeUndefined();
  const secrets = (await h.core.listNamespacedSecret({ namespace: ns })).items;
  expect(secrets.map((s) => s.metadata?.name).sort()).toEqual(['x', 'y']);
  expect(secrets.find((s) => s.metadata?.name === 'x')?.metadata?.uid).toBe(uids.secret);
  expect(secrets.every((s) => !s.metadata?.deletionTimestamp)).toBe(true);
  expect((await h.core.readNamespacedConfigMap({ name: 'x', namespace: ns })).metadata?.uid).toBe(uids.configmap);
  const d = await h.apps.readNamespacedDeployment({ name: 'x', namespace: ns });
  expect(d.metadata?.uid).toBe(uids.deployment);
  expect(d.metadata?.deletionTimestamp).toBeUndefined();
  expect(d.metadata?.finalizers).toBeUndefined();
  const rs = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items;
  expect(rs).toHaveLength(1);
  expect(rs[0].metadata?.uid).toBe(uids.replicaset);
  expect(rs[0].metadata?.ownerReferences?.[0]?.uid).toBe(uids.deployment);
}

describe.skipIf(!hasKubectl)('kubectl delete --dry-run=server keeps every object (issue 19)', () => {
  it.each([
    ['secret', ['delete', 'secret', 'x']],
    ['configmap', ['delete', 'configmap', 'x']],
    ['deployment', ['delete', 'deployment', 'x']],
    ['deployment --cascade=orphan', ['delete', 'deployment', 'x', '--cascade=orphan']],
    ['deployment --cascade=foreground', ['delete', 'deployment', 'x', '--cascade=foreground']],
    ['secret --all', ['delete', 'secret', '--all']],
    ['secret -l (a selector)', ['delete', 'secret', '-l', 'l=1']],
    ['every kind --all', ['delete', 'secret,configmap,deployment,replicaset', '--all']],
  ])('%s', async (_name, args) => {
    const { ns, uids } = await seeded('kd');
    const r = await h.kubectl([...args, '-n', ns, '--dry-run=server']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('(server dry run)');
    await assertIntact(ns, uids);
  });

  it('namespace, by name and by selector: the namespace and everything in it stay', async () => {
    const { ns, uids } = await seeded('kdns');
    await h.kubectl(['label', 'namespace', ns, 'dry=run']);
    for (const args of [['delete', 'namespace', ns], ['delete', 'namespace', '-l', 'dry=run']]) {
      const r = await h.kubectl([...args, '--dry-run=server']);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toContain(`namespace "${ns}" deleted (server dry run)`);
      await assertIntact(ns, uids);
    }
  });

  it('the same kubectl delete without --dry-run deletes (the probe above can tell)', async () => {
    const { ns } = await seeded('kreal');
    const r = await h.kubectl(['delete', 'secret', 'x', '-n', ns]);
    expect(r.code, r.out).toBe(0);
    expect((await h.core.listNamespacedSecret({ namespace: ns })).items.map((s) => s.metadata?.name)).toEqual(['y']);
  });
});

describe('raw requests: DeleteOptions in the body, the query string, or both', () => {
  const dryRunBody = { kind: 'DeleteOptions', apiVersion: 'v1', dryRun: ['All'] };
  it.each([
    ['secret, body', 'DELETE', '/api/v1/namespaces/NS/secrets/x', dryRunBody, ''],
    ['secret, query', 'DELETE', '/api/v1/namespaces/NS/secrets/x', undefined, '?dryRun=All'],
    ['configmap, body', 'DELETE', '/api/v1/namespaces/NS/configmaps/x', { dryRun: ['All'] }, ''],
    ['deployment, body with Foreground', 'DELETE', '/apis/apps/v1/namespaces/NS/deployments/x', { dryRun: ['All'], propagationPolicy: 'Foreground' }, ''],
    ['deployment, body with Orphan', 'DELETE', '/apis/apps/v1/namespaces/NS/deployments/x', { dryRun: ['All'], propagationPolicy: 'Orphan' }, ''],
    ['deployment, body with orphanDependents', 'DELETE', '/apis/apps/v1/namespaces/NS/deployments/x', { dryRun: ['All'], orphanDependents: true }, ''],
    ['namespace, body', 'DELETE', '/api/v1/namespaces/NS', { dryRun: ['All'] }, ''],
    ['namespace, query', 'DELETE', '/api/v1/namespaces/NS', undefined, '?dryRun=All'],
    ['secrets deletecollection, body', 'DELETE', '/api/v1/namespaces/NS/secrets', { ...dryRunBody, propagationPolicy: 'Background' }, ''],
    ['secrets deletecollection, body + selector in the query', 'DELETE', '/api/v1/namespaces/NS/secrets', dryRunBody, '?labelSelector=l%3D1'],
    ['secrets deletecollection, query', 'DELETE', '/api/v1/namespaces/NS/secrets', undefined, '?dryRun=All'],
    ['configmaps deletecollection, body', 'DELETE', '/api/v1/namespaces/NS/configmaps', { dryRun: ['All'] }, ''],
    ['deployments deletecollection, body', 'DELETE', '/apis/apps/v1/namespaces/NS/deployments', { dryRun: ['All'] }, ''],
    ['replicasets deletecollection, body', 'DELETE', '/apis/apps/v1/namespaces/NS/replicasets', { dryRun: ['All'] }, ''],
    ['body without dryRun, dryRun in the query', 'DELETE', '/api/v1/namespaces/NS/secrets/x', { propagationPolicy: 'Background' }, '?dryRun=All'],
    ['an empty body, dryRun in the query', 'DELETE', '/api/v1/namespaces/NS/secrets', '', '?dryRun=All'],
  ])('%s: answered 200, nothing deleted', async (_name, method, path, body, query) => {
    const { ns, uids } = await seeded('raw');
    const r = await h.raw(method, path.replace('NS', ns) + query, body);
    expect(r.code, r.text).toBe(200);
    await assertIntact(ns, uids);
  });

  it('deletecollection of namespaces is 405, as kube-apiserver answers (namespaces have no deletecollection verb)', async () => {
    const { ns, uids } = await seeded('nsdc');
    const r = await h.raw('DELETE', '/api/v1/namespaces', { dryRun: ['All'] });
    expect(r.code).toBe(405);
    expect(r.body.reason).toBe('MethodNotAllowed');
    await assertIntact(ns, uids);
  });

  it('without dryRun the same requests delete (the probe above can tell)', async () => {
    const { ns } = await seeded('real');
    expect((await h.raw('DELETE', `/api/v1/namespaces/${ns}/secrets`, { propagationPolicy: 'Background' })).code).toBe(200);
    expect((await h.core.listNamespacedSecret({ namespace: ns })).items).toEqual([]);
    expect((await h.raw('DELETE', `/api/v1/namespaces/${ns}`, { kind: 'DeleteOptions', apiVersion: 'v1' })).code).toBe(200);
    await eventually('the namespace gone', async () => (await h.raw('GET', `/api/v1/namespaces/${ns}`)).code === 404);
  });

  it.each([
    ['body', { propagationPolicy: 'Orphan' }, ''],
    ['query', undefined, '?propagationPolicy=Orphan'],
    ['body orphanDependents', { orphanDependents: true }, ''],
    ['query orphanDependents', undefined, '?orphanDependents=true'],
  ])('propagationPolicy Orphan from the %s: the ReplicaSet stays, without its ownerReference', async (_name, body, query) => {
    const { ns, uids } = await seeded('orphan');
    const r = await h.raw('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/x${query}`, body);
    expect(r.code, r.text).toBe(200);
    await eventually('the Deployment gone', async () => (await h.apps.listNamespacedDeployment({ namespace: ns })).items.length === 0);
    await new Promise((res) => setTimeout(res, 50));
    const rs = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].metadata?.ownerReferences ?? []).not.toContainEqual(expect.objectContaining({ uid: uids.deployment }));
  });

  it.each([
    ['body', { propagationPolicy: 'Foreground' }, ''],
    ['query', undefined, '?propagationPolicy=Foreground'],
  ])('propagationPolicy Foreground from the %s: the Deployment waits (foregroundDeletion) for its ReplicaSet, then goes', async (_name, body, query) => {
    const { ns } = await seeded('fg');
    const rs = (await h.apps.listNamespacedReplicaSet({ namespace: ns })).items[0];
    // a finalizer on the ReplicaSet holds it, and with it the Deployment
    await h.apps.patchNamespacedReplicaSet({ name: rs.metadata!.name!, namespace: ns, body: [{ op: 'add', path: '/metadata/finalizers', value: ['test/hold'] }] });
    const r = await h.raw('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/x${query}`, body);
    expect(r.code, r.text).toBe(200);
    expect(r.body.metadata.finalizers).toContain('foregroundDeletion');
    await new Promise((res) => setTimeout(res, 50));
    const held = await h.apps.readNamespacedDeployment({ name: 'x', namespace: ns });
    expect(held.metadata?.deletionTimestamp).toBeDefined();
    expect(held.metadata?.finalizers).toEqual(['foregroundDeletion']);
    expect((await h.apps.readNamespacedReplicaSet({ name: rs.metadata!.name!, namespace: ns })).metadata?.deletionTimestamp).toBeDefined();
    await h.apps.patchNamespacedReplicaSet({ name: rs.metadata!.name!, namespace: ns, body: [{ op: 'remove', path: '/metadata/finalizers' }] });
    await eventually('the Deployment gone', async () => (await h.apps.listNamespacedDeployment({ namespace: ns })).items.length === 0);
    expect((await h.apps.listNamespacedReplicaSet({ namespace: ns })).items).toEqual([]);
  });

  it('preconditions in the body: a stale uid or resourceVersion is 409 and deletes nothing', async () => {
    const { ns, uids } = await seeded('pre');
    for (const preconditions of [{ uid: 'not-the-uid' }, { resourceVersion: '1' }]) {
      const one = await h.raw('DELETE', `/api/v1/namespaces/${ns}/secrets/x`, { preconditions });
      expect(one.code).toBe(409);
      expect(one.body.message).toMatch(/Precondition failed: (UID|ResourceVersion) in precondition/);
      const ns409 = await h.raw('DELETE', `/api/v1/namespaces/${ns}`, { preconditions });
      expect(ns409.code).toBe(409);
    }
    await assertIntact(ns, uids);
    const ok = await h.raw('DELETE', `/api/v1/namespaces/${ns}/secrets/x`, { preconditions: { uid: uids.secret } });
    expect(ok.code).toBe(200);
  });

  it('gracePeriodSeconds from the body or the query is accepted (no kind served but Pods deletes gracefully)', async () => {
    const { ns } = await seeded('grace');
    expect((await h.raw('DELETE', `/api/v1/namespaces/${ns}/secrets/x`, { gracePeriodSeconds: 30 })).code).toBe(200);
    expect((await h.raw('DELETE', `/api/v1/namespaces/${ns}/secrets/y?gracePeriodSeconds=0`)).code).toBe(200);
    expect((await h.core.listNamespacedSecret({ namespace: ns })).items).toEqual([]);
  });

  it.each([
    ['orphanDependents and propagationPolicy together', { orphanDependents: true, propagationPolicy: 'Background' }, '', 422,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set'],
    ['an unknown propagationPolicy in the body', { propagationPolicy: 'Later' }, '', 422,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Later": supported values: "Foreground", "Background", "Orphan", "nil"'],
    ['an unknown propagationPolicy in the query', undefined, '?propagationPolicy=Later', 422,
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Later": supported values: "Foreground", "Background", "Orphan", "nil"'],
    ['an unknown dryRun value in the body', { dryRun: ['all'] }, '', 422,
      'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"all"}: supported values: "All"'],
    ['an unknown dryRun value in the query', undefined, '?dryRun=true', 422,
      'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"true"}: supported values: "All"'],
    ['dryRun in the body not a list', { dryRun: 'All' }, '', 400,
      'json: cannot unmarshal string into Go struct field DeleteOptions.dryRun of type []string'],
    ['gracePeriodSeconds not a number (query)', undefined, '?gracePeriodSeconds=soon', 400,
      'gracePeriodSeconds: invalid value "soon": strconv.ParseInt: parsing "soon": invalid syntax'],
    ['gracePeriodSeconds not a number (body)', { gracePeriodSeconds: '30' }, '', 400,
      'json: cannot unmarshal string into Go struct field DeleteOptions.gracePeriodSeconds of type int64'],
    ['a body of another kind', { kind: 'Secret', apiVersion: 'v1' }, '', 400,
      'DeleteOptions: the request body is a "Secret", not a DeleteOptions'],
  ])('%s is refused (%s), naming the option, and deletes nothing', async (_name, body, query, code, message) => {
    const { ns, uids } = await seeded('bad');
    for (const path of [`/api/v1/namespaces/${ns}/secrets/x`, `/api/v1/namespaces/${ns}/secrets`, `/api/v1/namespaces/${ns}`]) {
      const r = await h.raw('DELETE', path + query, body);
      expect(r.code, path).toBe(code);
      expect(r.body.message).toBe(message);
    }
    await assertIntact(ns, uids);
  });
});
