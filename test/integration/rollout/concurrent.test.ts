/**
 * Concurrent invocations restart a workload once. SQS runs several rollout invocations at a time, and records
 * for the same content can sit in different batches (a copy's create and update, a redelivery, the forwarder's
 * resync). Each invocation lists the workloads, finds the restart missing and patches: without a precondition
 * both would write, and the Deployment would roll out twice. The patch is conditional on the listed
 * resourceVersion: the second one gets a 409, re-reads the workload, finds the restart recorded and writes
 * nothing (functions/rollout/apply.ts). Run against the embedded cluster as the rollout identity (its rendered
 * RBAC), with writes counted from the cluster's audit stream.
 */
import type { V1Deployment } from '@kubernetes/client-node';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRollouts } from '../../../functions/rollout/apply.ts';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { planRollouts, reloadSettings, type ChangedObject } from '../../../functions/rollout/plan.ts';
import { listWorkloads } from '../../../functions/rollout/workloads.ts';
import { ANN_POLICY, ANN_RESTARTED_FOR, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import type { KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { pool } from '../../../functions/runtime/pool.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { quietObservability } from '../clone/harness.ts';
import { changeEvent, ensureNamespace, fp, handlerKube, sqsBatch, startEnv, type Env } from './fixture.ts';

const BASE = 'shared-ca';
const policy = RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: BASE }, spec: { source: { kind: 'Secret', namespace: 'platform', name: BASE }, sync: {}, reload: { kinds: ['Deployment'] } } });
const NAMESPACES = Array.from({ length: 12 }, (_, i) => `conc-${i}`);
const INVOCATIONS = 6;
const b64 = (s: string) => Buffer.from(s).toString('base64');

let env: Env;
let kube: Kube;
const patches = new Map<string, number>();

function deployment(name: string): V1Deployment {
  const container = { name: 'app', image: 'app:1', env: [{ name: 'CA', valueFrom: { secretKeyRef: { name: BASE, key: 'value' } } }] };
  return { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [container] } } } };
}

beforeAll(async () => {
  env = await startEnv({ controllers: false });
  kube = await handlerKube(env, 'rollout', [policy]);
  env.cluster.onAudit((e) => {
    if (e.user.username === 'ripple-rollout' && e.verb === 'patch' && e.objectRef?.resource === 'deployments' && e.responseStatus.code < 300) {
      const k = `${e.objectRef.namespace}/${e.objectRef.name}`;
      patches.set(k, (patches.get(k) ?? 0) + 1);
    }
  });
  await pool(NAMESPACES, 8, async (ns) => {
    await ensureNamespace(env.admin, ns);
    const metadata = { name: BASE, namespace: ns, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: BASE } };
    await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata, data: { value: b64('v1') } } });
    for (const name of ['web', 'worker']) await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: deployment(name) });
  });
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

/** The copy's change event, as the forwarder sent it a minute ago (its coalescing window long closed). */
async function copyEvent(ns: string) {
  const s = await env.admin.core.readNamespacedSecret({ namespace: ns, name: BASE });
  const e = changeEvent(DETAIL_TYPES.updated, s, 'Secret');
  const past = new Date(Date.now() - 60_000).toISOString();
  return { ...e, time: past, detail: { ...e.detail, observedAt: past } };
}

describe('concurrent rollout invocations', () => {
  it(`${INVOCATIONS} invocations whose batches carry the same change restart each consumer once`, { timeout: 60_000 }, async () => {
    const handler = makeHandler({ kubeFor: async () => kube, policies: () => [policy], observability: ((o) => () => o)(quietObservability()) });
    const events = await Promise.all(NAMESPACES.map(copyEvent));
    const results = await Promise.all(Array.from({ length: INVOCATIONS }, () => handler(sqsBatch(events), {} as never) as Promise<SQSBatchResponse>));

    expect(results.flatMap((r) => r.batchItemFailures)).toEqual([]);
    const recorded = `Secret/${BASE}=${fp({ kind: 'Secret', type: 'Opaque', data: { value: b64('v1') } })}`;
    for (const ns of NAMESPACES) {
      for (const name of ['web', 'worker']) {
        const d = await env.admin.apps.readNamespacedDeployment({ namespace: ns, name });
        expect(patches.get(`${ns}/${name}`) ?? 0, `${ns}/${name} patches`).toBe(1);
        expect(d.metadata!.generation, `${ns}/${name} generation`).toBe(2);
        expect(d.spec!.template.metadata!.annotations![ANN_RESTARTED_FOR]).toBe(recorded);
      }
      const restarts = (await env.admin.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === 'RestartTriggered');
      expect(restarts, `${ns}: one RestartTriggered Event per Deployment`).toHaveLength(2);
    }
  });

  it('a workload changed by someone else between list and patch is re-read and restarted once, keeping their change', { timeout: 30_000 }, async () => {
    const ns = 'conc-other-writer';
    await ensureNamespace(env.admin, ns);
    const metadata = { name: BASE, namespace: ns, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: BASE } };
    const copy = await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata, data: { value: b64('v2') } } });
    await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    const changed: ChangedObject[] = [{ kind: 'Secret', namespace: ns, name: BASE, fingerprint: fp({ kind: 'Secret', type: copy.type, data: copy.data }), settings: reloadSettings([policy])! }];
    const plan = planRollouts(changed, await listWorkloads(kube.raw, ns, ['Deployment']), new Date());
    expect(plan.patches).toHaveLength(1);
    // someone scales it after ripple listed it: the listed resourceVersion is stale
    await env.admin.raw.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, {
      describe: { verb: 'patch', resource: 'deployments', namespace: ns, name: 'web' },
      body: { spec: { replicas: 3 } },
      contentType: 'application/merge-patch+json',
    });
    let refreshed = 0;
    const refresh = async () => {
      refreshed += 1;
      return planRollouts(changed, await listWorkloads(kube.raw, ns, ['Deployment']), new Date()).patches[0] ?? null;
    };
    const result = await applyRollouts(kube, plan, { refresh });
    expect(refreshed).toBe(1);
    expect(result.patched.map((p) => p.workload.name)).toEqual(['web']);
    const d = await env.admin.apps.readNamespacedDeployment({ namespace: ns, name: 'web' });
    expect(d.spec!.replicas).toBe(3);
    expect(d.spec!.template.metadata!.annotations![ANN_RESTARTED_FOR]).toBe(plan.patches[0].restartedFor);
    expect(patches.get(`${ns}/web`)).toBe(1);

    // the same stale plan again: the 409's re-read finds the restart recorded, and nothing is written
    const again = await applyRollouts(kube, plan, { refresh });
    expect(again.patched).toEqual([]);
    expect(again.settled.map((p) => p.workload.name)).toEqual(['web']);
    expect(patches.get(`${ns}/web`)).toBe(1);
  });

  it('a namespace admin who edits the workload after every re-read gets no restart written; after 5 attempts the error goes back to SQS', { timeout: 30_000 }, async () => {
    const ns = 'conc-hostile-editor';
    await ensureNamespace(env.admin, ns);
    const metadata = { name: BASE, namespace: ns, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: BASE } };
    const copy = await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata, data: { value: b64('v3') } } });
    await env.admin.apps.createNamespacedDeployment({ namespace: ns, body: deployment('web') });
    const changed: ChangedObject[] = [{ kind: 'Secret', namespace: ns, name: BASE, fingerprint: fp({ kind: 'Secret', type: copy.type, data: copy.data }), settings: reloadSettings([policy])! }];
    let edits = 0;
    const edit = () => env.admin.raw.request('PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/web`, {
      describe: { verb: 'patch', resource: 'deployments', namespace: ns, name: 'web' },
      body: { spec: { replicas: 2 + (++edits % 2) } },
      contentType: 'application/merge-patch+json',
    });
    const planNow = async () => planRollouts(changed, await listWorkloads(kube.raw, ns, ['Deployment']), new Date());
    const plan = await planNow();
    await edit();
    let refreshed = 0;
    // the editor strikes between each re-read and its patch
    const refresh = async () => {
      refreshed += 1;
      const p = (await planNow()).patches[0] ?? null;
      await edit();
      return p;
    };
    await expect(applyRollouts(kube, plan, { refresh })).rejects.toMatchObject({ name: 'ConflictError' });
    expect(refreshed).toBe(4);
    expect(patches.get(`${ns}/web`) ?? 0).toBe(0);

    // SQS redelivers once the editor stops: restarted once
    const retry = await applyRollouts(kube, await planNow(), { refresh: async () => (await planNow()).patches[0] ?? null });
    expect(retry.patched.map((p) => p.workload.name)).toEqual(['web']);
    expect(patches.get(`${ns}/web`)).toBe(1);
  });
});
