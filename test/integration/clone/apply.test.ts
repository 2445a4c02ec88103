/**
 * applyClonePlan against the embedded cluster: a plan computed from a snapshot that went stale before it was
 * applied. The API answers 409 (stale resourceVersion, or AlreadyExists) and the namespace is re-read and
 * re-planned; the result is converged, with the conflict counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyClonePlan, forgetRecordedReports } from '../../../functions/clone/apply.ts';
import { planClone, type CloneAction } from '../../../functions/clone/plan.ts';
import { readCurrent } from '../../../functions/clone/read.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { listAll, listAllRaw } from '../../../kube/paging.ts';
import { LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { b64, CLONE_IDENTITY, CLONE_USER, lambdaContext, policiesFrom, startCloneEnv, type CloneEnv } from './harness.ts';

const [POLICY] = policiesFrom(`apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret }
  sync:
    namespaces: { selector: { matchLabels: { tier: blog } } }
`);
const KEY = Buffer.from('k');

let env: CloneEnv;
let kube: Kube;

beforeAll(async () => {
  env = await startCloneEnv([POLICY]);
  kube = kubeFromKubeConfig(env.cluster.kubeConfig(CLONE_IDENTITY), 'local');
  await env.admin.core.createNamespace({ body: { metadata: { name: 'base' } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'blogsecret' }, stringData: { v: 'one' } } });
});
afterAll(() => env?.stop());

async function plan(namespace: string): Promise<CloneAction[]> {
  return planClone({ ...(await readCurrent(kube, POLICY, { kind: 'namespace', namespace })), fingerprintKey: KEY });
}
const replan = async (a: CloneAction) => (await plan(a.namespace))[0];

describe('applyClonePlan with a stale plan', () => {
  it('update after someone else wrote the copy: 409, re-read, one more write, converged', async () => {
    // Prepare: a copy, then a plan to revert a drift, then another writer changes the copy again
    await env.admin.core.createNamespace({ body: { metadata: { name: 'race-update', labels: { tier: 'blog' } } } });
    await applyClonePlan(await plan('race-update'), { kube, concurrency: 4, replan });
    const copy = await env.admin.core.readNamespacedSecret({ namespace: 'race-update', name: 'blogsecret' });
    const drifted = await env.admin.core.replaceNamespacedSecret({ namespace: 'race-update', name: 'blogsecret', body: { ...copy, data: { v: b64('drift-1') } } });
    const stale = await plan('race-update');
    expect(stale[0].action).toBe('update');
    await env.admin.core.replaceNamespacedSecret({ namespace: 'race-update', name: 'blogsecret', body: { ...drifted, data: { v: b64('drift-2') } } });
    // Act
    const summary = await applyClonePlan(stale, { kube, concurrency: 4, replan });
    // Assess
    expect(summary.conflicts).toBe(1);
    expect(summary.writes).toBe(2);
    expect(summary.failures).toEqual([]);
    expect((await env.admin.core.readNamespacedSecret({ namespace: 'race-update', name: 'blogsecret' })).data).toEqual({ v: b64('one') });
  });

  it('create while someone created a same-named object: AlreadyExists, re-planned as unmanaged, left alone', async () => {
    // Prepare
    await env.admin.core.createNamespace({ body: { metadata: { name: 'race-create', labels: { tier: 'blog' } } } });
    const stale = await plan('race-create');
    expect(stale[0].action).toBe('create');
    await env.admin.core.createNamespacedSecret({ namespace: 'race-create', body: { metadata: { name: 'blogsecret' }, stringData: { v: 'theirs' } } });
    // Act
    const summary = await applyClonePlan(stale, { kube, concurrency: 4, replan, events: false });
    // Assess
    expect(summary.conflicts).toBe(1);
    expect(summary.done['report-unmanaged']).toBe(1);
    const s = await env.admin.core.readNamespacedSecret({ namespace: 'race-create', name: 'blogsecret' });
    expect(s.data).toEqual({ v: b64('theirs') });
    expect(s.metadata?.labels?.[LABEL_MANAGED_BY]).toBeUndefined();
  });

  it('delete of a copy that was changed meanwhile: the precondition holds it, re-planned from the new state', async () => {
    // Prepare: a copy in a namespace about to be deselected; the stale plan deletes it; meanwhile a user takes the copy over
    await env.admin.core.createNamespace({ body: { metadata: { name: 'race-delete', labels: { tier: 'blog' } } } });
    await applyClonePlan(await plan('race-delete'), { kube, concurrency: 4, replan });
    const ns = await env.admin.core.readNamespace({ name: 'race-delete' });
    await env.admin.core.replaceNamespace({ name: 'race-delete', body: { ...ns, metadata: { ...ns.metadata, labels: {} } } });
    const stale = await plan('race-delete');
    expect(stale[0].action).toBe('delete');
    const copy = await env.admin.core.readNamespacedSecret({ namespace: 'race-delete', name: 'blogsecret' });
    await env.admin.core.replaceNamespacedSecret({ namespace: 'race-delete', name: 'blogsecret', body: { ...copy, metadata: { ...copy.metadata, labels: {}, annotations: {} } } });
    // Act
    const summary = await applyClonePlan(stale, { kube, concurrency: 4, replan });
    // Assess: not deleted — it is no longer ripple's
    expect(summary.conflicts).toBe(1);
    expect(summary.done.delete).toBe(0);
    expect(await env.admin.core.readNamespacedSecret({ namespace: 'race-delete', name: 'blogsecret' })).toBeTruthy();
  });
});

describe('listAll', () => {
  it('follows continue tokens to the end (page size 2)', async () => {
    let pages = 0;
    const all = await listAll((p) => (pages++, env.admin.core.listNamespace(p)), 2);
    const names = all.map((n) => n.metadata?.name).sort();
    expect(names).toEqual((await env.admin.core.listNamespace()).items.map((n) => n.metadata?.name).sort());
    expect(names.length).toBeGreaterThan(4);
    expect(pages).toBe(Math.ceil(names.length / 2));
  });

  it('listAllRaw follows continue tokens of plain JSON lists to the end (page size 2)', async () => {
    // Prepare: count the requests on their way out.
    let pages = 0;
    const raw: typeof env.admin.raw = { request: (method, path, opts) => (pages++, env.admin.raw.request(method, path, opts)), watch: env.admin.raw.watch };
    // Act
    const all = await listAllRaw<{ metadata: { name: string } }>(raw, '/api/v1/namespaces', { verb: 'list', resource: 'namespaces' }, { size: 2 });
    // Assess
    const names = all.map((n) => n.metadata.name).sort();
    expect(names).toEqual((await env.admin.core.listNamespace()).items.map((n) => n.metadata?.name).sort());
    expect(names.length).toBeGreaterThan(4);
    expect(pages).toBe(Math.ceil(names.length / 2));
  });
});

describe('an RBAC gap', () => {
  it('is reported as a permanent error naming verb and resource; the other policies are still reconciled', async () => {
    // Prepare: a second policy whose objects the rendered role (made for POLICY only) does not cover
    const [unrendered] = policiesFrom(`apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: settings }
spec:
  source: { kind: ConfigMap, namespace: base, name: settings }
  sync:
    namespaces: { selector: { matchLabels: { tier: blog } } }
`);
    await env.admin.core.createNamespace({ body: { metadata: { name: 'gap', labels: { tier: 'blog' } } } });
    const handler = env.handler([unrendered, POLICY]) as unknown as (e: unknown, c: unknown) => Promise<{ status: string; reason: string }>;
    // Act
    const result = await handler(env.resyncEvent(), lambdaContext);
    // Assess
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/policy settings: reading all namespaces: ForbiddenError: get configmaps base\/settings: forbidden: .*\(grant "get" on "configmaps" to ripple's ClusterRole\)/);
    expect((await env.admin.core.readNamespacedSecret({ namespace: 'gap', name: 'blogsecret' })).data).toEqual({ v: b64('one') });
  });
});

describe('reports on unmanaged objects across cold starts', () => {
  it('a new container asks once, gets AlreadyExists, and records no second Event', async () => {
    // Prepare
    await env.admin.core.createNamespace({ body: { metadata: { name: 'cold', labels: { tier: 'blog' } } } });
    await env.admin.core.createNamespacedSecret({ namespace: 'cold', body: { metadata: { name: 'blogsecret' }, stringData: { v: 'theirs' } } });
    const first = await applyClonePlan(await plan('cold'), { kube, concurrency: 4, replan });
    const from = env.audit.length;
    // Act: a cold start, then the same report again
    forgetRecordedReports();
    const second = await applyClonePlan(await plan('cold'), { kube, concurrency: 4, replan });
    // Assess
    expect([first.done['report-unmanaged'], second.done['report-unmanaged']]).toEqual([1, 1]);
    const writes = env.audit.slice(from).filter((e) => e.user.username === CLONE_USER && e.verb === 'create');
    expect(writes.map((w) => `${w.objectRef?.resource} ${w.responseStatus.code}`)).toEqual(['events 409']);
    const events = (await env.admin.core.listNamespacedEvent({ namespace: 'cold' })).items.filter((e) => e.reason === 'UnmanagedObject');
    expect(events).toHaveLength(1);
  });
});
