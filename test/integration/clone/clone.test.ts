/**
 * Clone and sync on the embedded cluster, RBAC enforced: the handler runs as a user in group `ripple:clone`
 * bound only to the rendered clone ClusterRole, and is invoked as Lambda would invoke it (`handler(event,
 * context)`) with delivered EventBridge events built from events/schema.ts. Writes are counted from the
 * cluster's audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_POLICY, ANN_SOURCE, ANN_SOURCE_FINGERPRINT, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import { b64, lambdaContext, policiesFrom, secretIn, startCloneEnv, type CloneEnv } from './harness.ts';

const POLICIES = policiesFrom(`
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret }
  sync:
    namespaces:
      exclude: ["sandbox-*"]
      selector: { matchLabels: { tier: blog } }
    onSourceDelete: delete
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: settings }
spec:
  source: { kind: ConfigMap, namespace: base, name: settings }
  sync:
    targetName: app-settings
    namespaces:
      selector: { matchLabels: { tier: keep } }
    onSourceDelete: keep
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: late }
spec:
  source: { kind: Secret, namespace: base, name: late-secret }
  sync:
    namespaces:
      selector: { matchLabels: { tier: late } }
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: frozen-replace }
spec:
  source: { kind: ConfigMap, namespace: base, name: frozen-a }
  sync:
    namespaces: { selector: { matchLabels: { tier: frozen } } }
    replaceImmutable: true
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: frozen-report }
spec:
  source: { kind: Secret, namespace: base, name: frozen-b }
  sync:
    namespaces: { selector: { matchLabels: { tier: frozen } } }
`);

let env: CloneEnv;
let handle: (event: unknown) => Promise<any>;
const invoke = (event: unknown) => (handle as unknown as (e: unknown, c: unknown) => Promise<any>)(event, lambdaContext);

async function ns(name: string, labels: Record<string, string> = {}) {
  await env.admin.core.createNamespace({ body: { metadata: { name, labels } } });
  return env.admin.core.readNamespace({ name });
}

beforeAll(async () => {
  env = await startCloneEnv(POLICIES);
  handle = env.handler(POLICIES);
  await ns('base');
  await env.admin.core.createNamespacedSecret({
    namespace: 'base',
    body: {
      metadata: { name: 'blogsecret', labels: { team: 'blog' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"stringData":{"password":"hunter2"}}' } },
      type: 'Opaque',
      data: { password: b64('hunter2') },
    },
  });
  await env.admin.core.createNamespacedConfigMap({ namespace: 'base', body: { metadata: { name: 'settings' }, data: { mode: 'fast' } } });
});
afterAll(async () => {
  await env?.stop();
});

describe('clone and sync', () => {
  it('clones into a new namespace when it is created', async () => {
    // Prepare
    const n = await ns('new-team', { tier: 'blog' });
    // Act
    const summary = await invoke(env.changeEvent('created', { apiVersion: 'v1', kind: 'Namespace', metadata: n.metadata }));
    // Assess
    expect(summary.actions.create).toBe(1);
    const copy = await secretIn(env.admin.core, 'new-team', 'blogsecret');
    expect(copy?.data).toEqual({ password: b64('hunter2') });
    expect(copy?.type).toBe('Opaque');
    expect(copy?.metadata?.labels).toEqual({ team: 'blog', [LABEL_MANAGED_BY]: 'ripple' });
    expect(copy?.metadata?.annotations?.[ANN_SOURCE]).toBe('Secret/base/blogsecret');
    expect(copy?.metadata?.annotations?.[ANN_POLICY]).toBe('blog');
    expect(copy?.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT]).toBe(fingerprint(Buffer.from(env.key), { kind: 'Secret', type: 'Opaque', data: { password: b64('hunter2') } }));
    expect(copy?.metadata?.annotations).not.toHaveProperty('kubectl.kubernetes.io/last-applied-configuration');
    expect(copy?.metadata?.managedFields?.some((f) => f.manager === 'ripple')).toBe(true);
    const source = await env.admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
    expect(source.metadata?.labels).toEqual({ team: 'blog' });
  });

  it('backfills existing namespaces on a resync; selector and exclude hold; system namespaces untouched', async () => {
    // Prepare
    for (const name of ['bf-1', 'bf-2', 'bf-3']) await ns(name, { tier: 'blog' });
    await ns('bf-other', { tier: 'other' });
    await ns('sandbox-1', { tier: 'blog' });
    await env.admin.core.patchNamespace({ name: 'kube-system', body: { metadata: { labels: { tier: 'blog' } } } }, (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'));
    // Act
    await invoke(env.resyncEvent());
    // Assess
    for (const name of ['bf-1', 'bf-2', 'bf-3']) expect((await secretIn(env.admin.core, name, 'blogsecret'))?.data).toEqual({ password: b64('hunter2') });
    for (const name of ['bf-other', 'sandbox-1', 'kube-system', 'ripple-system', 'default']) expect(await secretIn(env.admin.core, name, 'blogsecret')).toBeNull();
    expect((await secretIn(env.admin.core, 'base', 'blogsecret'))?.metadata?.labels?.[LABEL_MANAGED_BY]).toBeUndefined();
  });

  it('relabelling a namespace adds, then removes, the copy', async () => {
    // Prepare
    const n = await ns('relabel');
    await invoke(env.changeEvent('created', { apiVersion: 'v1', kind: 'Namespace', metadata: n.metadata }));
    expect(await secretIn(env.admin.core, 'relabel', 'blogsecret')).toBeNull();
    // Act: label it
    const merge = (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json');
    const labelled = await env.admin.core.patchNamespace({ name: 'relabel', body: { metadata: { labels: { tier: 'blog' } } } }, merge);
    await invoke(env.changeEvent('updated', { apiVersion: 'v1', kind: 'Namespace', metadata: labelled.metadata }));
    // Assess
    expect(await secretIn(env.admin.core, 'relabel', 'blogsecret')).not.toBeNull();
    // Act: unlabel it
    const unlabelled = await env.admin.core.patchNamespace({ name: 'relabel', body: { metadata: { labels: { tier: null } } } }, merge);
    const summary = await invoke(env.changeEvent('updated', { apiVersion: 'v1', kind: 'Namespace', metadata: unlabelled.metadata }));
    // Assess
    expect(summary.actions.delete).toBe(1);
    expect(await secretIn(env.admin.core, 'relabel', 'blogsecret')).toBeNull();
  });

  it('a source edit (data and labels) propagates to every copy, with one write per copy', async () => {
    // Prepare
    for (const name of ['edit-1', 'edit-2']) await ns(name, { tier: 'blog' });
    await invoke(env.resyncEvent());
    const copies = (await env.admin.core.listSecretForAllNamespaces({ fieldSelector: 'metadata.name=blogsecret' })).items.filter((s) => s.metadata?.namespace !== 'base');
    const src = await env.admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
    src.data = { password: b64('correct horse') };
    src.metadata!.labels = { team: 'blog', rotated: 'yes' };
    const updated = await env.admin.core.replaceNamespacedSecret({ namespace: 'base', name: 'blogsecret', body: src });
    env.resetWrites();
    // Act
    const summary = await invoke(env.changeEvent('updated', updated as never));
    // Assess
    expect(summary.actions.update).toBe(copies.length);
    expect(env.writes().map((w) => w.verb)).toEqual(copies.map(() => 'update'));
    for (const c of copies) {
      const now = await secretIn(env.admin.core, c.metadata!.namespace!, 'blogsecret');
      expect(now?.data).toEqual({ password: b64('correct horse') });
      expect(now?.metadata?.labels).toEqual({ team: 'blog', rotated: 'yes', [LABEL_MANAGED_BY]: 'ripple' });
    }
  });

  it('a deleted copy comes back', async () => {
    // Prepare
    await ns('del-copy', { tier: 'blog' });
    await invoke(env.resyncEvent());
    const copy = await env.admin.core.readNamespacedSecret({ namespace: 'del-copy', name: 'blogsecret' });
    await env.admin.core.deleteNamespacedSecret({ namespace: 'del-copy', name: 'blogsecret' });
    // Act
    const summary = await invoke(env.changeEvent('deleted', { ...copy, apiVersion: 'v1', kind: 'Secret' } as never));
    // Assess
    expect(summary.actions.create).toBe(1);
    const back = await secretIn(env.admin.core, 'del-copy', 'blogsecret');
    expect(back?.metadata?.uid).not.toBe(copy.metadata?.uid);
    expect(back?.data).toEqual((await env.admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' })).data);
  });

  it.each([
    ['data only', (s: { data?: Record<string, string> }) => (s.data = { password: b64('tampered') })],
    ['labels only', (s: { metadata?: { labels?: Record<string, string> } }) => (s.metadata!.labels = { team: 'hacked', [LABEL_MANAGED_BY]: 'ripple' })],
    ['managed-by label removed', (s: { metadata?: { labels?: Record<string, string> } }) => delete s.metadata!.labels![LABEL_MANAGED_BY]],
    ['annotation added', (s: { metadata?: { annotations?: Record<string, string> } }) => (s.metadata!.annotations = { ...s.metadata!.annotations, extra: 'x' })],
  ])('an edited copy is reverted (%s)', async (label, edit) => {
    // Prepare
    const name = `drift-${label.replace(/[^a-z]+/g, '-')}`.slice(0, 40).replace(/-$/, '');
    await ns(name, { tier: 'blog' });
    await invoke(env.resyncEvent());
    const before = await env.admin.core.readNamespacedSecret({ namespace: name, name: 'blogsecret' });
    const tampered = structuredClone(before);
    edit(tampered as never);
    const after = await env.admin.core.replaceNamespacedSecret({ namespace: name, name: 'blogsecret', body: tampered });
    env.resetWrites();
    // Act
    const summary = await invoke(env.changeEvent('updated', { ...after, apiVersion: 'v1', kind: 'Secret' } as never));
    // Assess
    expect(summary.actions.update).toBe(1);
    expect(env.writes()).toHaveLength(1);
    const reverted = await env.admin.core.readNamespacedSecret({ namespace: name, name: 'blogsecret' });
    expect(reverted.data).toEqual(before.data);
    expect(reverted.metadata?.labels).toEqual(before.metadata?.labels);
    expect(reverted.metadata?.annotations).toEqual(before.metadata?.annotations);
    expect(reverted.metadata?.uid).toBe(before.metadata?.uid);
  });

  it('a source created after the policy is cloned at once', async () => {
    // Prepare
    await ns('late-1', { tier: 'late' });
    await invoke(env.resyncEvent());
    expect(await secretIn(env.admin.core, 'late-1', 'late-secret')).toBeNull();
    // Act
    const src = await env.admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'late-secret' }, stringData: { token: 'abc' } } });
    const summary = await invoke(env.changeEvent('created', { ...src, apiVersion: 'v1', kind: 'Secret' } as never));
    // Assess
    expect(summary.actions.create).toBe(1);
    expect((await secretIn(env.admin.core, 'late-1', 'late-secret'))?.data).toEqual({ token: b64('abc') });
  });

  it('source deleted: copies deleted (onSourceDelete: delete) or kept (keep)', async () => {
    // Prepare
    await ns('srcdel-blog', { tier: 'blog' });
    await ns('srcdel-keep', { tier: 'keep' });
    await ns('late-2', { tier: 'late' });
    await invoke(env.resyncEvent());
    expect(await secretIn(env.admin.core, 'late-2', 'late-secret')).not.toBeNull();
    expect(await env.admin.core.readNamespacedConfigMap({ namespace: 'srcdel-keep', name: 'app-settings' })).toBeTruthy();
    const lateSrc = await env.admin.core.readNamespacedSecret({ namespace: 'base', name: 'late-secret' });
    const cm = await env.admin.core.readNamespacedConfigMap({ namespace: 'base', name: 'settings' });
    // Act
    await env.admin.core.deleteNamespacedSecret({ namespace: 'base', name: 'late-secret' });
    await env.admin.core.deleteNamespacedConfigMap({ namespace: 'base', name: 'settings' });
    const deleted = await invoke(env.changeEvent('deleted', { ...lateSrc, apiVersion: 'v1', kind: 'Secret' } as never));
    const kept = await invoke(env.changeEvent('deleted', { ...cm, apiVersion: 'v1', kind: 'ConfigMap' } as never));
    // Assess
    expect(deleted.actions.delete).toBeGreaterThanOrEqual(1);
    expect(await secretIn(env.admin.core, 'late-2', 'late-secret')).toBeNull();
    expect(await secretIn(env.admin.core, 'late-1', 'late-secret')).toBeNull();
    expect(kept.actions.delete).toBe(0);
    expect((await env.admin.core.readNamespacedConfigMap({ namespace: 'srcdel-keep', name: 'app-settings' })).data).toEqual({ mode: 'fast' });
    // the blog copies are not concerned
    expect(await secretIn(env.admin.core, 'srcdel-blog', 'blogsecret')).not.toBeNull();
  });

  it('leaves a same-named object it does not manage alone, and records an Event on it once', async () => {
    // Prepare
    await ns('squatter', { tier: 'blog' });
    const mine = await env.admin.core.createNamespacedSecret({ namespace: 'squatter', body: { metadata: { name: 'blogsecret', labels: { owner: 'team' } }, stringData: { password: 'theirs' } } });
    // Act
    const first = await invoke(env.resyncEvent());
    const second = await invoke(env.resyncEvent());
    // Assess
    expect(first.actions['report-unmanaged']).toBeGreaterThanOrEqual(1);
    expect(second.actions['report-unmanaged']).toBeGreaterThanOrEqual(1);
    const after = await env.admin.core.readNamespacedSecret({ namespace: 'squatter', name: 'blogsecret' });
    expect(after.metadata?.resourceVersion).toBe(mine.metadata?.resourceVersion);
    expect(after.data).toEqual({ password: b64('theirs') });
    const events = (await env.admin.core.listNamespacedEvent({ namespace: 'squatter' })).items.filter((e) => e.involvedObject?.name === 'blogsecret' && e.reason === 'UnmanagedObject');
    expect(events).toHaveLength(1);
    expect(events[0].type).toBe('Warning');
    expect(events[0].message).toMatch(/not owned by ripple \(label app.kubernetes.io\/managed-by missing\)/);
    expect(events[0].message).not.toContain('theirs');
    expect(events[0].involvedObject?.uid).toBe(mine.metadata?.uid);
  });

  it('skips a terminating namespace: no write is even attempted there', async () => {
    // Prepare: a finalizer on another object keeps the namespace Terminating once deleted
    await ns('leaving', { tier: 'blog' });
    await env.admin.core.createNamespacedConfigMap({ namespace: 'leaving', body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    await env.admin.core.deleteNamespace({ name: 'leaving' });
    const phase = async () => (await env.admin.core.readNamespace({ name: 'leaving' })).status?.phase;
    for (let i = 0; i < 100 && (await secretIn(env.admin.core, 'leaving', 'blogsecret')) !== null; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await phase()).toBe('Terminating');
    env.resetWrites();
    // Act
    await invoke(env.resyncEvent());
    // Assess
    expect(env.writes().filter((w) => w.objectRef?.namespace === 'leaving')).toEqual([]);
    expect(await secretIn(env.admin.core, 'leaving', 'blogsecret')).toBeNull();
  });

  it('immutable sources: copies are replaced (delete + create) only when sync.replaceImmutable says so, else reported', async () => {
    // Prepare: immutable sources, cloned once
    await ns('frozen', { tier: 'frozen' });
    await env.admin.core.createNamespacedConfigMap({ namespace: 'base', body: { metadata: { name: 'frozen-a' }, data: { v: '1' }, immutable: true } });
    await env.admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'frozen-b' }, stringData: { v: '1' }, immutable: true } });
    await invoke(env.resyncEvent());
    const a1 = await env.admin.core.readNamespacedConfigMap({ namespace: 'frozen', name: 'frozen-a' });
    const b1 = await env.admin.core.readNamespacedSecret({ namespace: 'frozen', name: 'frozen-b' });
    expect([a1.immutable, b1.immutable]).toEqual([true, true]);
    // Act: immutable objects change by being re-created
    await env.admin.core.deleteNamespacedConfigMap({ namespace: 'base', name: 'frozen-a' });
    const a = await env.admin.core.createNamespacedConfigMap({ namespace: 'base', body: { metadata: { name: 'frozen-a' }, data: { v: '2' }, immutable: true } });
    await env.admin.core.deleteNamespacedSecret({ namespace: 'base', name: 'frozen-b' });
    const b = await env.admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'frozen-b' }, stringData: { v: '2' }, immutable: true } });
    const replaced = await invoke(env.changeEvent('created', { ...a, apiVersion: 'v1', kind: 'ConfigMap' } as never));
    const reported = await invoke(env.changeEvent('created', { ...b, apiVersion: 'v1', kind: 'Secret' } as never));
    // Assess
    expect(replaced.actions['replace-immutable']).toBe(1);
    const a2 = await env.admin.core.readNamespacedConfigMap({ namespace: 'frozen', name: 'frozen-a' });
    expect(a2.data).toEqual({ v: '2' });
    expect(a2.immutable).toBe(true);
    expect(a2.metadata?.uid).not.toBe(a1.metadata?.uid);
    expect(reported.actions['report-immutable']).toBe(1);
    const b2 = await env.admin.core.readNamespacedSecret({ namespace: 'frozen', name: 'frozen-b' });
    expect(b2.data).toEqual({ v: b64('1') });
    expect(b2.metadata?.uid).toBe(b1.metadata?.uid);
    const events = (await env.admin.core.listNamespacedEvent({ namespace: 'frozen' })).items.filter((e) => e.reason === 'ImmutableCopyDiffers');
    expect(events.map((e) => e.involvedObject?.name)).toEqual(['frozen-b']);
    expect(events[0].message).toMatch(/set sync.replaceImmutable: true/);
  });

  it('never logs Secret data: every log line and metric of a run that creates, updates and reports', async () => {
    // Prepare
    const canary = 'canary-7d1e-never-log-me';
    const logs: string[] = [];
    const logged = env.handler(POLICIES, logs) as unknown as (e: unknown, c: unknown) => Promise<any>;
    await ns('canary-ns', { tier: 'blog' });
    const src = await env.admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
    const updated = await env.admin.core.replaceNamespacedSecret({ namespace: 'base', name: 'blogsecret', body: { ...src, data: { password: b64(canary) } } });
    // Act
    const summary = await logged(env.changeEvent('updated', updated as never), lambdaContext);
    // Assess
    expect(summary.actions.update + summary.actions.create).toBeGreaterThan(1);
    expect(logs.length).toBeGreaterThan(3);
    const all = logs.join('\n');
    expect(all).toContain('copy written');
    expect(all).not.toContain(canary);
    expect(all).not.toContain(b64(canary));
    expect(all).not.toContain('hunter2');
  });

  it('is idempotent: a second full run writes nothing', async () => {
    // Prepare
    await invoke(env.resyncEvent());
    env.resetWrites();
    // Act
    const summary = await invoke(env.resyncEvent());
    // Assess: not one write request (the reports on unmanaged/immutable objects were recorded by earlier runs)
    expect(summary.writes).toBe(0);
    expect(env.writes()).toEqual([]);
    expect(summary.actions['report-unmanaged'] + summary.actions['report-immutable']).toBeGreaterThanOrEqual(2);
    expect(summary.actions.create + summary.actions.update + summary.actions.delete).toBe(0);
  });

  it('rejects a malformed event without retrying, naming the field', async () => {
    const result = await invoke({ version: '0', id: 'x', source: 'ripple.kubernetes', 'detail-type': 'Kubernetes Object Updated', detail: { cluster: 'local' } });
    expect(result.status).toBe('rejected');
    expect(result.reason).toMatch(/event rejected by schema: .*detail\./);
  });
});
