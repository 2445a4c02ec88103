/**
 * An invocation never runs into its timeout (issue 15): once its remaining time falls below the reserve, the
 * rollout handler starts no new namespace group and returns those records to the queue (batchItemFailures)
 * unprocessed; the redelivery restarts exactly what is left. Real rollout handler (its rendered RBAC), embedded
 * cluster; patches counted from the audit log. The records are fresh, so the first pass holds them for the
 * coalescing window (1 s) and the guard acts on the held pass.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { ANN_POLICY, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import type { KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { quietObservability } from '../clone/harness.ts';
import { changeEvent, ensureNamespace, handlerKube, sqsBatch, startEnv, type Env } from './fixture.ts';

const BASE = 'bounded-cfg';
const POLICY = RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: BASE }, spec: { source: { kind: 'Secret', namespace: 'platform', name: BASE }, sync: {}, reload: { kinds: ['Deployment'], coalesce: '1s' } } });
const NAMES = ['bounded-r-a', 'bounded-r-b', 'bounded-r-c'];
const b64 = (s: string) => Buffer.from(s).toString('base64');

let env: Env;
let kube: Kube;
const patches: string[] = [];

function consumer(): V1Deployment {
  return {
    metadata: { name: 'consumer' },
    spec: { selector: { matchLabels: { app: 'c' } }, template: { metadata: { labels: { app: 'c' } }, spec: { containers: [{ name: 'app', image: 'app:1', env: [{ name: 'V', valueFrom: { secretKeyRef: { name: BASE, key: 'value' } } }] }] } } },
  };
}

/** A Lambda context whose remaining time is what `remaining()` says at each call. */
const contextWith = (remaining: () => number) => ({ functionName: 'ripple-rollout', awsRequestId: 'r', getRemainingTimeInMillis: remaining }) as unknown as Context;

beforeAll(async () => {
  env = await startEnv({ controllers: false });
  kube = await handlerKube(env, 'rollout', [POLICY]);
  env.cluster.onAudit((e) => {
    if (e.user.username === 'ripple-rollout' && e.verb === 'patch' && e.objectRef?.resource === 'deployments' && e.responseStatus.code < 300) patches.push(e.objectRef.namespace!);
  });
  for (const ns of NAMES) {
    await ensureNamespace(env.admin, ns);
    await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: BASE, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: BASE } }, data: { value: b64('v1') } } });
    await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: consumer() });
  }
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('rollout: work bounded by the invocation time', () => {
  it('starts no group once the remaining time is below the reserve, returns those records, and the redelivery restarts exactly the rest', async () => {
    // Prepare: one record per namespace; groups one at a time; 60 s left for the first group, then 5 s
    const events = await Promise.all(NAMES.map(async (ns) => changeEvent(DETAIL_TYPES.updated, await env.admin.core.readNamespacedSecret({ namespace: ns, name: BASE }), 'Secret')));
    const batch = sqsBatch(events);
    // The remaining time falls to 5 s once the first namespace's patch has been answered.
    let patched = false;
    const watched = { ...kube, raw: { ...kube.raw, request: async (method: string, path: string, o?: object) => {
      const r = await kube.raw.request(method as never, path, o);
      if (method === 'PATCH') patched = true;
      return r;
    } } } as Kube;
    const handler = makeHandler({ kubeFor: async () => watched, policies: () => [POLICY], observability: ((o) => () => o)(quietObservability()), groupConcurrency: 1 });
    const shrinking = contextWith(() => (patched ? 5_000 : 60_000));

    // Act 1
    const first = (await handler(batch as never, shrinking)) as SQSBatchResponse;
    await new Promise((r) => setTimeout(r, 50)); // the audit record of the last answer

    // Assess: one namespace restarted, the two others returned unprocessed
    expect(patches).toHaveLength(1);
    const returned = first.batchItemFailures.map((f) => f.itemIdentifier);
    expect(returned).toHaveLength(2);
    const done = patches[0]!;
    const left = batch.Records.filter((r) => JSON.parse(r.body).detail.namespace !== done).map((r) => r.messageId);
    expect(returned.sort()).toEqual(left.sort());

    // Act 2: SQS redelivers the returned records, with time to spare
    const again = (await handler({ Records: batch.Records.filter((r) => returned.includes(r.messageId)) } as never, contextWith(() => 60_000))) as SQSBatchResponse;

    // Assess: each namespace restarted exactly once overall
    expect(again.batchItemFailures).toEqual([]);
    expect([...patches].sort()).toEqual([...NAMES].sort());
  });

  it('with less than the reserve left from the start, nothing is written and every record goes back', async () => {
    const before = patches.length;
    const events = await Promise.all(NAMES.map(async (ns) => changeEvent(DETAIL_TYPES.updated, await env.admin.core.readNamespacedSecret({ namespace: ns, name: BASE }), 'Secret')));
    const handler = makeHandler({ kubeFor: async () => kube, policies: () => [POLICY], observability: ((o) => () => o)(quietObservability()) });
    const res = (await handler(sqsBatch(events) as never, contextWith(() => 10_000))) as SQSBatchResponse;
    expect(res.batchItemFailures).toHaveLength(NAMES.length);
    expect(patches.length).toBe(before);
  });
});
