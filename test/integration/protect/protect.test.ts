/**
 * Protect handler on the embedded cluster, RBAC enforced, admission NOT installed (no ValidatingAdmissionPolicy):
 * the situation where only ripple's after-the-fact audit stands between a user and the base. Audit records are
 * the embedded cluster's real ones (cluster.onAudit), delivered in the CloudWatch Logs subscription shape.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordsAsAwsLogs } from '../../../infra/local/dev/logs.ts';
import { makeHandler, type ProtectSummary } from '../../../functions/protect/handler.ts';
import { snapshotName } from '../../../core/snapshot.ts';
import { makeHandler as makeCloneHandler } from '../../../functions/clone/handler.ts';
import { ANN_SOURCE_FINGERPRINT, DETAIL_TYPES, EVENT_SOURCE, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { orNull } from '../../../kube/errors.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { CLUSTER, captureStdout, changeEvent, ensureNamespace, eventually, fp, handlerKube, startEnv, testObservability, type Env } from '../rollout/fixture.ts';

const CANARY = 'protect-canary-51d0e2';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const LOG_GROUP = `/aws/eks/${CLUSTER}/cluster`;

const policy = (name: string, kind: 'Secret' | 'ConfigMap', src: string, protect: object, sync = false) =>
  RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind, namespace: 'platform', name: src }, protect, ...(sync ? { sync: { namespaces: { include: ['team-*'] } } } : {}) } });
const POLICIES = [
  policy('base', 'Secret', 'base', { allow: { users: ['alice'] } }, true),
  policy('locked', 'Secret', 'locked', {}),
  policy('settings', 'ConfigMap', 'settings', { mode: 'audit', allow: { groups: ['platform-admins'] } }),
];

let env: Env;
let kube: Kube;
let stdout: ReturnType<typeof captureStdout>;
let protect: ReturnType<typeof makeHandler>;
const audit: AuditEvent[] = [];
let bob: Kube;
let alice: Kube;
let carol: Kube;

const invoke = async (event: object): Promise<ProtectSummary> => (await protect(event, {} as never)) as ProtectSummary;
const resync = () => ({ version: '0', id: `resync-${Date.now()}`, source: EVENT_SOURCE, account: '0', time: new Date().toISOString(), region: 'us-east-1', resources: [], 'detail-type': DETAIL_TYPES.resync, detail: { cluster: CLUSTER, reason: 'startup', observedAt: new Date().toISOString() } });

/** The audit record of `user` doing `verb` on platform/<name> (the real one the cluster wrote). */
async function auditRecord(user: string, verb: string, name: string, after = 0): Promise<AuditEvent> {
  return eventually(async () => audit.slice(after).find((e) => e.user.username === user && e.verb === verb && e.objectRef?.name === name && e.objectRef?.namespace === 'platform'), `audit record ${user} ${verb} ${name}`);
}

/** The Secret, or null when it does not exist (404); any other error fails the test. */
async function readSecret(name: string, namespace = 'platform'): Promise<V1Secret | null> {
  return orNull(env.admin.core.readNamespacedSecret({ name, namespace }));
}

beforeAll(async () => {
  stdout = captureStdout();
  env = await startEnv({ controllers: false });
  env.cluster.onAudit((e) => audit.push(e as AuditEvent));
  // Prepare: the bases, and users who may write Secrets/ConfigMaps in platform (RBAC), with no admission policy.
  await ensureNamespace(env.admin, 'platform');
  await ensureNamespace(env.admin, 'team-a');
  kube = await handlerKube(env, 'protect', POLICIES);
  protect = makeHandler({ kubeFor: async () => kube, policies: () => POLICIES, observability: testObservability('protect'), defaultCluster: () => CLUSTER });
  await env.admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'base', labels: { tier: 'base' } }, type: 'Opaque', data: { token: b64(`${CANARY}-v1`) } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'locked' }, data: { token: b64(`${CANARY}-locked`) } } });
  await env.admin.core.createNamespacedConfigMap({ namespace: 'platform', body: { metadata: { name: 'settings' }, data: { mode: 'strict' } } });
  await env.admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'config-editor', namespace: 'platform' }, rules: [{ apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['get', 'list', 'update', 'patch', 'delete', 'deletecollection'] }] } as never);
  await env.admin.objects.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'config-editors', namespace: 'platform' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-editor' },
    subjects: [
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' },
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' },
    ],
  } as never);
  bob = kubeFromKubeConfig(env.cluster.kubeConfig({ user: 'bob', groups: ['developers'] }), CLUSTER);
  alice = kubeFromKubeConfig(env.cluster.kubeConfig({ user: 'alice', groups: ['developers'] }), CLUSTER);
  carol = kubeFromKubeConfig(env.cluster.kubeConfig({ user: 'carol', groups: ['developers'] }), CLUSTER);
}, 60_000);

afterAll(async () => {
  stdout?.restore();
  await env?.stop();
});

describe('protect', () => {
  it('first sight seeds the last-known-good snapshots', async () => {
    const res = await invoke(resync());
    expect(res.reports.map((r) => r.object).sort()).toEqual(['ConfigMap/platform/settings', 'Secret/platform/base', 'Secret/platform/locked']);
    const snap = await readSecret(snapshotName('base'), RIPPLE_NAMESPACE);
    expect(snap?.data).toEqual({ token: b64(`${CANARY}-v1`) });
    expect(snap?.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT]).toBe(fp({ kind: 'Secret', type: 'Opaque', data: { token: b64(`${CANARY}-v1`) } }));
    const cm = await readSecret(snapshotName('settings'), RIPPLE_NAMESPACE);
    expect(cm?.data).toEqual({ mode: b64('strict') });
  });

  it('base deleted by a non-exempt user (admission off) -> restored and audited', async () => {
    // Act: bob deletes the base; the audit record reaches the handler as a CloudWatch Logs subscription event.
    const mark = audit.length;
    await bob.core.deleteNamespacedSecret({ name: 'base', namespace: 'platform' });
    expect(await readSecret('base')).toBeNull();
    const rec = await auditRecord('bob', 'delete', 'base', mark);
    const res = await invoke(recordsAsAwsLogs([rec], LOG_GROUP));

    // Assess: restored with its data and labels; one audit line naming the actor; EMF metric; Kubernetes Event.
    const restored = await readSecret('base');
    expect(restored?.data).toEqual({ token: b64(`${CANARY}-v1`) });
    expect(restored?.metadata?.labels).toEqual({ tier: 'base' });
    expect(res.reports).toEqual([expect.objectContaining({ actor: 'bob', groups: ['developers', 'system:authenticated'], verb: 'delete', verdict: 'violation', outcome: 're-created from last-known-good', object: 'Secret/platform/base' })]);
    const log = stdout.text();
    expect(log).toMatch(/"action":"violation"[^\n]*"actor":"bob"/);
    expect(log).toMatch(/"ProtectionViolations"/);
    const events = await env.admin.core.listNamespacedEvent({ namespace: 'platform' });
    expect(events.items.some((e) => e.reason === 'ProtectionViolation' && e.involvedObject.name === 'base' && /bob delete/.test(e.message ?? ''))).toBe(true);
    // ripple's own re-create is in the audit log too, and is never a violation.
    const own = await eventually(async () => audit.slice(mark).find((e) => e.verb === 'create' && e.objectRef?.namespace === 'platform' && e.user.groups?.includes('ripple:protect')), 'ripple create record');
    const ownRes = await invoke(recordsAsAwsLogs([own], LOG_GROUP));
    expect(ownRes.reports.map((r) => r.verdict)).toEqual(own.objectRef?.name ? ['own'] : []);
  });

  it('base altered by a non-exempt user -> data restored', async () => {
    const mark = audit.length;
    const cur = (await bob.core.readNamespacedSecret({ name: 'base', namespace: 'platform' }))!;
    await bob.core.replaceNamespacedSecret({ name: 'base', namespace: 'platform', body: { ...cur, data: { token: b64('tampered') } } });
    const res = await invoke(recordsAsAwsLogs([await auditRecord('bob', 'update', 'base', mark)], LOG_GROUP));
    expect(res.reports[0]).toMatchObject({ verdict: 'violation', outcome: 'data restored from last-known-good' });
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v1`) });
    // ripple's own rewrite, and bob's change, in one delivery: bob's is reported, ripple's is its own write.
    const ownWrite = await auditRecord('ripple-protect', 'update', 'base', mark);
    const both = await invoke(recordsAsAwsLogs([await auditRecord('bob', 'update', 'base', mark), ownWrite], LOG_GROUP));
    expect(both.reports.map((r) => [r.actor, r.verdict, r.outcome])).toEqual([
      ['bob', 'violation', 'content already matches last-known-good; nothing to restore'],
      ['ripple-protect', 'own', "ripple's own write"],
    ]);
  });

  it('a deletecollection that removed the base -> restored; protected objects it spared are not reported', async () => {
    const mark = audit.length;
    await bob.core.deleteCollectionNamespacedSecret({ namespace: 'platform', labelSelector: 'tier=base' });
    expect(await readSecret('base')).toBeNull();
    const record = await eventually(async () => audit.slice(mark).find((e) => e.user.username === 'bob' && e.verb === 'deletecollection'), 'deletecollection record');
    const res = await invoke(recordsAsAwsLogs([record], LOG_GROUP));
    const by = Object.fromEntries(res.reports.map((r) => [r.object, [r.verdict, r.outcome]]));
    expect(by['Secret/platform/base']).toEqual(['violation', 're-created from last-known-good']);
    expect(by['Secret/platform/locked']?.[0]).toBe('ignored');
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v1`) });
    expect(await readSecret('locked')).not.toBeNull();
  });

  it('a request refused by RBAC is reported as denied; nothing to restore', async () => {
    const mark = audit.length;
    await expect(carol.core.deleteNamespacedSecret({ name: 'base', namespace: 'platform' })).rejects.toThrow(/forbidden/i);
    const res = await invoke(recordsAsAwsLogs([await auditRecord('carol', 'delete', 'base', mark)], LOG_GROUP));
    expect(res.reports[0]).toMatchObject({ actor: 'carol', verdict: 'denied' });
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v1`) });
  });

  it("an exempt user's change updates the snapshot and flows on to sync", async () => {
    const mark = audit.length;
    const cur = (await alice.core.readNamespacedSecret({ name: 'base', namespace: 'platform' }))!;
    const changed = await alice.core.replaceNamespacedSecret({ name: 'base', namespace: 'platform', body: { ...cur, data: { token: b64(`${CANARY}-v2`) } } });

    // The forwarder's event arrives first: the actor is unknown and others are allowed, so it waits for attribution.
    const early = await invoke(changeEvent(DETAIL_TYPES.updated, changed, 'Secret', { manager: 'kubectl-edit' }));
    expect(early.reports[0]).toMatchObject({ verdict: 'unattributed' });
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });

    const res = await invoke(recordsAsAwsLogs([await auditRecord('alice', 'update', 'base', mark)], LOG_GROUP));
    expect(res.reports[0]).toMatchObject({ actor: 'alice', verdict: 'allowed', outcome: 'snapshot updated' });
    expect((await readSecret(snapshotName('base'), RIPPLE_NAMESPACE))?.data).toEqual({ token: b64(`${CANARY}-v2`) });
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });

    // Flows on to sync: the same change event, given to the clone handler, brings the copy in team-a up to date.
    const cloneKube = await handlerKube(env, 'clone', POLICIES);
    const clone = makeCloneHandler({ config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: CLUSTER }), kubeFor: async () => cloneKube, policies: () => POLICIES, observability: testObservability('clone') });
    await clone(changeEvent(DETAIL_TYPES.updated, changed, 'Secret'), {} as never);
    expect((await readSecret('base', 'team-a'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });

    // A later violation restores the NEW last-known-good.
    const mark2 = audit.length;
    await bob.core.deleteNamespacedSecret({ name: 'base', namespace: 'platform' });
    await invoke(recordsAsAwsLogs([await auditRecord('bob', 'delete', 'base', mark2)], LOG_GROUP));
    expect((await readSecret('base'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });
  });

  it('where nobody but ripple is allowed, the forwarder event alone restores within the invocation', async () => {
    const gone = (await readSecret('locked'))!;
    await bob.core.deleteNamespacedSecret({ name: 'locked', namespace: 'platform' });
    const res = await invoke(changeEvent(DETAIL_TYPES.deleted, gone, 'Secret', { changes: [] }));
    expect(res.reports[0]).toMatchObject({ verdict: 'violation', outcome: 're-created from last-known-good' });
    expect((await readSecret('locked'))?.data).toEqual({ token: b64(`${CANARY}-locked`) });
  });

  it('audit mode: reported only (Event on the namespace when the object is gone)', async () => {
    const mark = audit.length;
    await bob.core.deleteNamespacedConfigMap({ name: 'settings', namespace: 'platform' });
    const res = await invoke(recordsAsAwsLogs([await auditRecord('bob', 'delete', 'settings', mark)], LOG_GROUP));
    expect(res.reports[0]).toMatchObject({ actor: 'bob', verdict: 'violation', outcome: 'reported only (audit mode)' });
    await expect(env.admin.core.readNamespacedConfigMap({ name: 'settings', namespace: 'platform' })).rejects.toThrow();
    const events = await env.admin.core.listNamespacedEvent({ namespace: 'platform' });
    expect(events.items.some((e) => e.reason === 'ProtectionViolation' && e.involvedObject.kind === 'Namespace' && /settings/.test(e.message ?? ''))).toBe(true);
    // The snapshot still holds the last-known-good content.
    expect((await readSecret(snapshotName('settings'), RIPPLE_NAMESPACE))?.data).toEqual({ mode: b64('strict') });
  });

  it('the snapshot follows an allowed delete and re-create; a later collection delete that removed nothing restores nothing', async () => {
    // Prepare: alice (allowed) may also create in platform
    await env.admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'config-creator', namespace: 'platform' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }] } as never);
    await env.admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'config-creators', namespace: 'platform' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'config-creator' }, subjects: ['alice', 'bob'].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })) } as never);
    // Act: alice deletes the base, then re-creates it with new content (V3), each audit record delivered
    let mark = audit.length;
    await alice.core.deleteNamespacedSecret({ name: 'base', namespace: 'platform' });
    await invoke(recordsAsAwsLogs([await auditRecord('alice', 'delete', 'base', mark)], LOG_GROUP));
    const absent = await readSecret(snapshotName('base'), RIPPLE_NAMESPACE);
    expect(absent?.metadata?.annotations?.['ripple.dev/snapshot-absent']).toBe('true');
    expect(absent?.data ?? {}).toEqual({});
    mark = audit.length;
    await alice.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'base' }, type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': b64(`{"auths":{"${CANARY}-v3":{}}}`) } } });
    const created = await invoke(recordsAsAwsLogs([await auditRecord('alice', 'create', 'base', mark)], LOG_GROUP));
    expect(created.reports).toEqual([expect.objectContaining({ verdict: 'allowed', verb: 'create', outcome: 'snapshot updated' })]);
    // bob's collection delete matches nothing; its record still names the namespace
    mark = audit.length;
    await bob.core.deleteCollectionNamespacedSecret({ namespace: 'platform', labelSelector: 'matches=nothing' });
    const rec = await eventually(async () => audit.slice(mark).find((e) => e.user.username === 'bob' && e.verb === 'deletecollection'), 'deletecollection record');
    const res = await invoke(recordsAsAwsLogs([rec], LOG_GROUP));
    // Assess: V3 (the admin's re-created dockerconfigjson) stays; nothing restored over it; the snapshot holds V3
    expect(res.reports.every((r) => r.verdict !== 'violation')).toBe(true);
    const base = await readSecret('base');
    expect(base?.type).toBe('kubernetes.io/dockerconfigjson');
    expect(Buffer.from(base!.data!['.dockerconfigjson'], 'base64').toString()).toContain(`${CANARY}-v3`);
    const snap = await readSecret(snapshotName('base'), RIPPLE_NAMESPACE);
    expect(snap?.data).toEqual(base?.data);
  });

  it('a non-exempt create of a deleted base (admission off) is undone: absent stays the last allowed state', async () => {
    // Prepare: the allowed actor deletes the base
    let mark = audit.length;
    await alice.core.deleteNamespacedSecret({ name: 'base', namespace: 'platform' });
    await invoke(recordsAsAwsLogs([await auditRecord('alice', 'delete', 'base', mark)], LOG_GROUP));
    // Act: bob creates a Secret under the protected name with his own value
    mark = audit.length;
    await bob.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'base' }, data: { token: b64(`${CANARY}-bob`) } } });
    const res = await invoke(recordsAsAwsLogs([await auditRecord('bob', 'create', 'base', mark)], LOG_GROUP));
    // Assess: removed, reported as a violation; the snapshot still says absent
    expect(res.reports).toEqual([expect.objectContaining({ actor: 'bob', verb: 'create', verdict: 'violation' })]);
    expect(await readSecret('base')).toBeNull();
    expect((await readSecret(snapshotName('base'), RIPPLE_NAMESPACE))?.metadata?.annotations?.['ripple.dev/snapshot-absent']).toBe('true');
    // a resync afterwards agrees: absent is last-known-good, nothing to do
    const again = await invoke(resync());
    expect(again.reports.find((r) => r.object === 'Secret/platform/base')?.verdict ?? 'ignored').toBe('ignored');
    expect(await readSecret('base')).toBeNull();
  });

  it('never logs Secret data', () => {
    const log = stdout.text();
    expect(log).toContain('protection audit');
    for (const v of [`${CANARY}-v1`, `${CANARY}-v2`, `${CANARY}-locked`, 'tampered']) {
      expect(log).not.toContain(v);
      expect(log).not.toContain(b64(v));
    }
  });
});
