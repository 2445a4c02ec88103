/**
 * The deployed entry point `functions/rollout/handler.handler`: its dependencies are resolved on the first
 * invocation from the environment (RIPPLE_KUBECONFIG, RIPPLE_POLICY_DIR), never at import time.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ANN_POLICY, ANN_RESTARTED_FOR, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { changeEvent, ensureNamespace, eventually, handlerEnvironment, sqsBatch, startEnv, type Env } from './fixture.ts';

const POLICY_YAML = `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: app-config }
spec:
  source: { kind: ConfigMap, namespace: platform, name: app-config }
  sync: {}
  reload: { coalesce: 1s }
`;

let env: Env;

beforeAll(async () => {
  env = await startEnv();
  await ensureNamespace(env.admin, 'team-e');
  await handlerEnvironment(env, 'rollout', 'app-config.yaml', POLICY_YAML);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

it('resolves its dependencies from the environment on first use and restarts the consumer', async () => {
  // Prepare
  const { handler } = await import('../../../functions/rollout/handler.ts');
  const metadata = { name: 'app-config', namespace: 'team-e', labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: 'app-config' } };
  const cm = await env.admin.core.createNamespacedConfigMap({ namespace: 'team-e', body: { metadata, data: { mode: 'a' } } });
  await env.admin.apps.createNamespacedDeployment({
    namespace: 'team-e',
    body: { metadata: { name: 'web' }, spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:1', envFrom: [{ configMapRef: { name: 'app-config' } }] }] } } } },
  });

  // Act
  const res = (await handler(sqsBatch([changeEvent(DETAIL_TYPES.created, cm, 'ConfigMap')]), { functionName: 'ripple-rollout', awsRequestId: 'r-1' } as never)) as SQSBatchResponse;

  // Assess
  expect(res.batchItemFailures).toEqual([]);
  const ann = await eventually(async () => (await env.admin.apps.readNamespacedDeployment({ name: 'web', namespace: 'team-e' })).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR], 'restarted-for');
  expect(ann).toMatch(/^ConfigMap\/app-config=hmac-sha256:/);
});
