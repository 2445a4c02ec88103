/**
 * The deployed entry point `functions/protect/handler.handler`: dependencies resolved on the first invocation
 * from the environment (RIPPLE_KUBECONFIG, RIPPLE_POLICY_DIR); a CloudWatch Logs delivery whose log group names
 * the cluster.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { recordsAsAwsLogs } from '../../../infra/local/dev/logs.ts';
import type { ProtectSummary } from '../../../functions/protect/handler.ts';
import { DETAIL_TYPES, EVENT_SOURCE } from '../../../core/constants.ts';
import { kubeFromKubeConfig } from '../../../kube/kubeconfig.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { ensureNamespace, eventually, handlerEnvironment, startEnv, type Env } from '../rollout/fixture.ts';

const POLICY_YAML = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: ca-bundle }
spec:
  source: { kind: ConfigMap, namespace: platform, name: ca-bundle }
  protect: {}
`;

let env: Env;
const audit: AuditEvent[] = [];

beforeAll(async () => {
  env = await startEnv({ controllers: false });
  env.cluster.onAudit((e) => audit.push(e as AuditEvent));
  await ensureNamespace(env.admin, 'platform');
  await handlerEnvironment(env, 'protect', 'ca-bundle.yaml', POLICY_YAML);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

it('seeds on resync, then restores a ConfigMap deleted by someone (audit record via CloudWatch Logs)', async () => {
  // Prepare
  const { handler } = await import('../../../functions/protect/handler.ts');
  const ctx = { functionName: 'ripple-protect', awsRequestId: 'r-1' } as never;
  await env.admin.core.createNamespacedConfigMap({ namespace: 'platform', body: { metadata: { name: 'ca-bundle' }, data: { 'ca.crt': 'PEM' } } });
  const now = new Date().toISOString();
  await handler({ version: '0', id: 'resync-1', source: EVENT_SOURCE, account: '0', time: now, region: 'us-east-1', resources: [], 'detail-type': DETAIL_TYPES.resync, detail: { cluster: 'local', reason: 'startup', observedAt: now } }, ctx);

  // Act: admin (system:masters) is not exempt unless the policy says so.
  const mark = audit.length;
  await env.admin.core.deleteNamespacedConfigMap({ name: 'ca-bundle', namespace: 'platform' });
  const rec = await eventually(async () => audit.slice(mark).find((e) => e.verb === 'delete' && e.objectRef?.name === 'ca-bundle'), 'audit record');
  const res = (await handler(recordsAsAwsLogs([rec], '/aws/eks/local/cluster'), ctx)) as ProtectSummary;

  // Assess
  expect(res.reports.map((r) => [r.actor, r.verdict, r.outcome])).toEqual([['admin', 'violation', 're-created from last-known-good']]);
  const back = await kubeFromKubeConfig(env.cluster.kubeConfig()).core.readNamespacedConfigMap({ name: 'ca-bundle', namespace: 'platform' });
  expect(back.data).toEqual({ 'ca.crt': 'PEM' });
});
