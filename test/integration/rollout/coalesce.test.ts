/**
 * Coalescing at any size: K changes of a base within `reload.coalesce` -> exactly one rollout per consuming
 * workload, however many namespaces, SQS records and batches carry them.
 *
 * The path is the production one minus the forwarder: every copy write (the clone handler's job, done here by
 * admin as the clone handler would) is followed by the copy-updated event the forwarder sends, put on the local
 * SQS queue (infra/local/dev/sqs.ts: batches of up to 100, batching window = `reload.coalesce`, 5 batches in
 * flight, partial batch failures, visibility timeout), whose event source mapping invokes the real rollout
 * handler (its rendered RBAC, embedded cluster, Lambda context with a 60 s timeout). 50 base updates x N
 * namespaces make 50 x N records: with N = 600 that is 30,000 records in 300+ batches, the first ones full
 * (handed over at once, long before the window ends).
 */
import type { V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventSourceMapping, LocalQueue } from '../../../infra/local/dev/sqs.ts';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { ANN_POLICY, ANN_RESTARTED_FOR, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import type { KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { pool } from '../../../functions/runtime/pool.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { quietObservability } from '../clone/harness.ts';
import { changeEvent, ensureNamespace, fp, handlerKube, startEnv, type Env } from './fixture.ts';

const UPDATES = 50;
/** The function timeout the invocations get (the hold of the longer window fits in it with the 20 s reserve). */
const TIMEOUT_MS = 150_000;
const CASES = [
  { namespaces: 6, coalesce: '10s' },
  { namespaces: 600, coalesce: '90s' },
];
const policyFor = (base: string, coalesce: string) =>
  RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: base }, spec: { source: { kind: 'Secret', namespace: 'platform', name: base }, sync: {}, reload: { kinds: ['Deployment'], coalesce } } });
const POLICIES = CASES.map((c) => policyFor(`coal-${c.namespaces}`, c.coalesce));

let env: Env;
let kube: Kube;
const patchesBy = new Map<string, number>();

beforeAll(async () => {
  env = await startEnv({ controllers: false });
  kube = await handlerKube(env, 'rollout', POLICIES);
  env.cluster.onAudit((e) => {
    if (e.user.username === 'ripple-rollout' && e.verb === 'patch' && e.objectRef?.resource === 'deployments' && e.responseStatus.code < 300) {
      const k = `${e.objectRef.namespace}/${e.objectRef.name}`;
      patchesBy.set(k, (patchesBy.get(k) ?? 0) + 1);
    }
  });
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

function deployment(name: string, secret: string | null): V1Deployment {
  const env = secret ? [{ name: 'V', valueFrom: { secretKeyRef: { name: secret, key: 'value' } } }] : [];
  return { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'app:1', env }] } } } };
}

describe.each(CASES)('coalescing: $namespaces namespaces, 50 base updates within reload.coalesce ($coalesce)', ({ namespaces, coalesce }) => {
  const base = `coal-${namespaces}`;
  const policy = policyFor(base, coalesce);
  const windowMs = Number(coalesce.replace('s', '')) * 1000;
  const names = Array.from({ length: namespaces }, (_, i) => `${base}-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    // Prepare: per namespace a copy of the base and two Deployments, one consuming the copy, one not.
    await pool(names, 16, async (ns) => {
      await ensureNamespace(env.admin, ns);
      const metadata = { name: base, namespace: ns, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: base } };
      await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata, data: { value: b64('v0') } } });
      await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: deployment('consumer', base) });
      await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: deployment('bystander', null) });
    });
  }, 300_000);

  it('makes exactly one rollout per consuming Deployment, for the last content', { timeout: 600_000 }, async () => {
    const handler = makeHandler({ kubeFor: async () => kube, policies: () => [policy], observability: ((o) => () => o)(quietObservability()) });
    const queue = new LocalQueue({ name: `rollout-${base}`, arn: `arn:aws:sqs:us-east-1:000000000000:rollout-${base}`, region: 'us-east-1', visibilityTimeoutMs: 2 * TIMEOUT_MS });
    const batches: { records: number; failed: number }[] = [];
    const mapping = new EventSourceMapping(queue, {
      batchSize: 100,
      maximumBatchingWindowMs: windowMs,
      reportBatchItemFailures: true,
      maximumConcurrency: 5,
      invoke: async (event) => {
        const deadline = Date.now() + TIMEOUT_MS;
        const context = { functionName: 'ripple-rollout', awsRequestId: `r-${batches.length}`, getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context;
        const result = (await handler(event as never, context)) as SQSBatchResponse;
        expect(Date.now(), 'invocation within its timeout').toBeLessThanOrEqual(deadline);
        return { ok: true, result, requestId: context.awsRequestId };
      },
      onBatch: ({ records, failed }) => batches.push({ records, failed }),
    });
    try {
      const gen0 = new Map<string, number>();
      for (const ns of names) gen0.set(ns, (await env.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'consumer' })).metadata!.generation!);

      // Act: 50 updates of the base, each written to every copy (as the clone handler does), each copy write
      // followed by its forwarder event on the rollout queue.
      const t0 = Date.now();
      let last: V1Secret | null = null;
      for (let u = 1; u <= UPDATES; u++) {
        await pool(names, 32, async (ns) => {
          const s = await env.admin.raw.request<V1Secret>('PATCH', `/api/v1/namespaces/${ns}/secrets/${base}`, {
            describe: { verb: 'patch', resource: 'secrets', namespace: ns, name: base },
            body: { data: { value: b64(`v${u}`) } },
            contentType: 'application/merge-patch+json',
          });
          queue.send(JSON.stringify(changeEvent(DETAIL_TYPES.updated, s, 'Secret')));
          last = s;
        });
      }
      const writing = Date.now() - t0;
      expect(writing, 'all updates landed within the window').toBeLessThan(windowMs);
      while (queue.size() > 0) await new Promise((r) => setTimeout(r, 200));
      await mapping.idle();

      // Assess: 50 x N records in many batches, and each consumer patched exactly once, recording the last content.
      const records = batches.reduce((n, b) => n + b.records, 0);
      expect(records).toBeGreaterThanOrEqual(UPDATES * namespaces);
      expect(batches.length).toBeGreaterThan(1);
      const finalFp = fp({ kind: 'Secret', type: last!.type, data: last!.data });
      for (const ns of names) {
        const d = await env.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'consumer' });
        expect(patchesBy.get(`${ns}/consumer`) ?? 0, `${ns}/consumer patches`).toBe(1);
        expect(d.metadata!.generation, `${ns}/consumer generation`).toBe(gen0.get(ns)! + 1);
        expect(d.spec!.template.metadata!.annotations![ANN_RESTARTED_FOR]).toBe(`Secret/${base}=${finalFp}`);
        expect(patchesBy.get(`${ns}/bystander`) ?? 0).toBe(0);
      }
      console.log(`coalescing, ${namespaces} namespaces: ${records} records in ${batches.length} batches (${batches.filter((b) => b.failed).length} returned records to the queue), writes took ${writing} ms, all done after ${Date.now() - t0} ms`);
    } finally {
      mapping.stop();
      await mapping.idle();
    }
  });
});
