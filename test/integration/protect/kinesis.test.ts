/**
 * Protect for a base held in a cluster of ANOTHER ACCOUNT, its audit records arriving the way a spoke's are
 * delivered on AWS: the cluster's log group subscribed to a CloudWatch Logs destination that puts each payload on
 * the hub's Kinesis stream, read by protect in batches (infra/aws/audit-destination.yml, spoke.yml, clusters.cjs).
 * The embedded cluster plays that cluster, "edge" (RBAC enforced, admission NOT installed); its audit records are
 * its real ones (cluster.onAudit). Without this route an allowed actor's change in such a cluster stays
 * `unattributed` (ADR 0002): never moves the snapshot, never reaches the copies, and violations are not restored.
 */
import type { V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditMessage, messagesAsKinesis, type DataMessage } from '../../../infra/local/dev/logs.ts';
import { makeHandler, type KinesisSummary, type ProtectSummary } from '../../../functions/protect/handler.ts';
import { snapshotName } from '../../../core/snapshot.ts';
import { DETAIL_TYPES, EVENT_SOURCE, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { orNull } from '../../../kube/errors.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { captureStdout, changeEvent, ensureNamespace, eventually, handlerKube, startEnv, testObservability, type Env } from '../rollout/fixture.ts';

const CANARY = 'kinesis-canary-7a41c9';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const HUB_ACCOUNT = '123456789012';
const EDGE_ACCOUNT = '210987654321';
const STREAM = `arn:aws:kinesis:eu-west-1:${HUB_ACCOUNT}:stream/ripple-prod-audit`;
const EDGE_LOG_GROUP = '/aws/eks/edge/cluster';

const POLICY = RipplePolicy.parse({
  apiVersion: 'ripple.dev/v1alpha1',
  kind: 'RipplePolicy',
  metadata: { name: 'regcred' },
  spec: { source: { kind: 'Secret', namespace: 'platform', name: 'regcred', cluster: 'edge' }, protect: { allow: { users: ['alice'] } } },
});

let env: Env;
let stdout: ReturnType<typeof captureStdout>;
let protect: ReturnType<typeof makeHandler>;
const audit: AuditEvent[] = [];
let bob: Kube;
let alice: Kube;
const asked: string[] = [];

const invoke = async (event: object) => (await protect(event, {} as never)) as ProtectSummary & Partial<KinesisSummary>;
/** The forwarder's event, as edge's forwarder sends it. */
const edgeEvent = (...args: Parameters<typeof changeEvent>) => {
  const e = changeEvent(...args);
  return { ...e, detail: { ...e.detail, cluster: 'edge' } };
};
/** The audit record of `user` doing `verb` on platform/regcred (the real one the cluster wrote). */
async function auditRecord(user: string, verb: string, after: number): Promise<AuditEvent> {
  return eventually(async () => audit.slice(after).find((e) => e.user.username === user && e.verb === verb && e.objectRef?.name === 'regcred' && e.objectRef?.namespace === 'platform'), `audit record ${user} ${verb}`);
}
const fromEdge = (records: object[]): DataMessage => auditMessage(records, EDGE_LOG_GROUP, EDGE_ACCOUNT);
const readSecret = (name: string, namespace = 'platform'): Promise<V1Secret | null> => orNull(env.admin.core.readNamespacedSecret({ name, namespace }));

beforeAll(async () => {
  stdout = captureStdout();
  env = await startEnv({ controllers: false });
  env.cluster.onAudit((e) => audit.push(e as AuditEvent));
  await ensureNamespace(env.admin, 'platform');
  const kube = await handlerKube(env, 'protect', [POLICY]);
  protect = makeHandler({
    // the stage: hub (the stack's account and region) and edge (another account); only edge is reachable here
    kubeFor: async (cluster) => {
      asked.push(cluster);
      if (cluster !== 'edge') throw new Error(`test: protect asked for cluster ${cluster}`);
      return kube;
    },
    policies: () => [POLICY],
    observability: testObservability('protect'),
    defaultCluster: () => 'hub',
    stageClusters: () => [{ name: 'hub' }, { name: 'edge', accountId: EDGE_ACCOUNT }],
  });
  await env.admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'regcred' }, type: 'Opaque', data: { token: b64(`${CANARY}-v1`) } } });
  await env.admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'secret-editor', namespace: 'platform' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update', 'patch', 'delete'] }] } as never);
  await env.admin.objects.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'secret-editors', namespace: 'platform' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secret-editor' },
    subjects: ['alice', 'bob'].map((name) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name })),
  } as never);
  bob = kubeFromKubeConfig(env.cluster.kubeConfig({ user: 'bob', groups: ['developers'] }), 'edge');
  alice = kubeFromKubeConfig(env.cluster.kubeConfig({ user: 'alice', groups: ['developers'] }), 'edge');
  // Prepare: the snapshot is seeded (edge's forwarder asks for a resync when it starts)
  const now = new Date().toISOString();
  await invoke({ version: '0', id: 'resync-edge', source: EVENT_SOURCE, account: '0', time: now, region: 'us-east-1', resources: [], 'detail-type': DETAIL_TYPES.resync, detail: { cluster: 'edge', reason: 'startup', observedAt: now } });
  expect((await readSecret(snapshotName('regcred'), RIPPLE_NAMESPACE))?.data).toEqual({ token: b64(`${CANARY}-v1`) });
}, 60_000);

afterAll(async () => {
  stdout?.restore();
  await env?.stop();
});

describe('protect over the audit stream (a cluster in another account)', () => {
  it("an allowed actor's change: unattributed from the forwarder's event, then attributed by its record from the stream, and the snapshot follows", async () => {
    const mark = audit.length;
    const cur = (await alice.core.readNamespacedSecret({ name: 'regcred', namespace: 'platform' }))!;
    const changed = await alice.core.replaceNamespacedSecret({ name: 'regcred', namespace: 'platform', body: { ...cur, data: { token: b64(`${CANARY}-v2`) } } });
    const early = await invoke(edgeEvent(DETAIL_TYPES.updated, changed, 'Secret', { manager: 'kubectl-edit' }));
    expect(early.reports[0]).toMatchObject({ verdict: 'unattributed' });
    expect((await readSecret(snapshotName('regcred'), RIPPLE_NAMESPACE))?.data).toEqual({ token: b64(`${CANARY}-v1`) });

    // Act: the record arrives in a Kinesis batch, after the destination's health check
    const control: DataMessage = { messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }] };
    const res = await invoke(messagesAsKinesis([control, fromEdge([await auditRecord('alice', 'update', mark)])], STREAM));

    // Assess
    expect(res.reports).toEqual([expect.objectContaining({ actor: 'alice', verdict: 'allowed', outcome: 'snapshot updated', via: 'audit', object: 'Secret/platform/regcred' })]);
    expect(res.batchItemFailures).toEqual([]);
    expect(res.refused).toEqual([]);
    expect((await readSecret(snapshotName('regcred'), RIPPLE_NAMESPACE))?.data).toEqual({ token: b64(`${CANARY}-v2`) });
    expect((await readSecret('regcred'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });
  });

  it('a violation is restored from the stream\'s record; a forged one (same log group name, another account) is refused and moves nothing', async () => {
    // Act: bob tampers with the base; a log group of the hub's account named like edge's claims alice did it
    const mark = audit.length;
    const cur = (await bob.core.readNamespacedSecret({ name: 'regcred', namespace: 'platform' }))!;
    await bob.core.replaceNamespacedSecret({ name: 'regcred', namespace: 'platform', body: { ...cur, data: { token: b64('tampered') } } });
    const real = await auditRecord('bob', 'update', mark);
    const forged = { ...real, auditID: `${real.auditID}-forged`, user: { username: 'alice', groups: ['developers', 'system:authenticated'] } };
    const forgedRes = await invoke(messagesAsKinesis([auditMessage([forged], EDGE_LOG_GROUP, HUB_ACCOUNT)], STREAM));
    expect(forgedRes.reports).toEqual([]);
    expect(forgedRes.refused).toEqual([expect.objectContaining({ logGroup: EDGE_LOG_GROUP, owner: HUB_ACCOUNT, reason: expect.stringMatching(/cluster edge is in account 210987654321/) })]);
    expect(forgedRes.batchItemFailures).toEqual([]);
    // the tampered content did not become last-known-good
    expect((await readSecret(snapshotName('regcred'), RIPPLE_NAMESPACE))?.data).toEqual({ token: b64(`${CANARY}-v2`) });

    // the real record, in a batch with a malformed record and one of a cluster the stage does not serve
    const batch = messagesAsKinesis([auditMessage([real], '/aws/eks/elsewhere/cluster', EDGE_ACCOUNT), fromEdge([real]), fromEdge([])], STREAM);
    batch.Records[2]!.kinesis.data = b64('not gzip');
    const res = await invoke(batch);
    expect(res.reports).toEqual([expect.objectContaining({ actor: 'bob', verdict: 'violation', outcome: 'data restored from last-known-good' })]);
    expect(res.refused?.map((r) => r.sequenceNumber)).toEqual([batch.Records[0]!.kinesis.sequenceNumber, batch.Records[2]!.kinesis.sequenceNumber]);
    expect(res.batchItemFailures).toEqual([]);
    expect((await readSecret('regcred'))?.data).toEqual({ token: b64(`${CANARY}-v2`) });
    expect(asked.every((c) => c === 'edge')).toBe(true);
  });

  it('logs who and why, never the Secret data', () => {
    const log = stdout.text();
    expect(log).toMatch(/"message":"audit records refused"[^\n]*"owner":"123456789012"/);
    expect(log).toMatch(/"RefusedAuditRecords"/);
    for (const v of [`${CANARY}-v1`, `${CANARY}-v2`, 'tampered']) {
      expect(log).not.toContain(v);
      expect(log).not.toContain(b64(v));
    }
  });
});
