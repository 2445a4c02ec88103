/**
 * Workload kinds the cluster holds none of are not listed in each namespace (functions/rollout/read.ts
 * `probing`): one all-namespaces list with limit=1 per kind and batch says whether any exists. Checked from the
 * embedded API server's audit log, as the handler's own identity (its rendered ClusterRole), with restarts
 * counted on the workloads themselves.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { ANN_POLICY, ANN_RESTARTED_FOR, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import type { AuditEvent } from '../../../infra/local/cluster/index.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { changeEvent, ensureNamespace, handlerKube, sqsBatch, startEnv, testObservability, type Env } from './fixture.ts';

const POLICIES = [RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'base-db' }, spec: { source: { kind: 'Secret', namespace: 'platform', name: 'db' }, sync: {}, reload: {} } })];

let env: Env;
let handler: ReturnType<typeof makeHandler>;
const audit: AuditEvent[] = [];
const invoke = async (events: object[]): Promise<SQSBatchResponse> => (await handler(sqsBatch(events), {} as never)) as SQSBatchResponse;

async function copyIn(namespace: string, value: string) {
  const metadata = { name: 'db', namespace, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: 'base-db' } };
  const existing = await env.admin.core.readNamespacedSecret({ name: 'db', namespace }).catch(() => null);
  const data = { value: Buffer.from(value).toString('base64') };
  const s = existing
    ? await env.admin.core.replaceNamespacedSecret({ name: 'db', namespace, body: { ...existing, data } })
    : await env.admin.core.createNamespacedSecret({ namespace, body: { metadata, data } });
  return changeEvent(existing ? DETAIL_TYPES.updated : DETAIL_TYPES.created, s, 'Secret');
}

async function consumer(kind: 'Deployment' | 'StatefulSet', namespace: string, name: string) {
  const labels = { app: name };
  const template = { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [{ secretRef: { name: 'db' } }] }] } };
  const spec = kind === 'Deployment' ? { replicas: 1, selector: { matchLabels: labels }, template } : { replicas: 1, serviceName: name, selector: { matchLabels: labels }, template };
  await env.admin.objects.create({ apiVersion: 'apps/v1', kind, metadata: { name, namespace }, spec } as KubernetesObject & { spec: object });
}

const restartedFor = async (kind: 'Deployment' | 'StatefulSet', namespace: string, name: string) =>
  (kind === 'Deployment' ? await env.admin.apps.readNamespacedDeployment({ name, namespace }) : await env.admin.apps.readNamespacedStatefulSet({ name, namespace })).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR];

/** The handler's list requests of `resource` since audit index `from`: all-namespaces probes and per-namespace lists. */
function lists(resource: string, from: number) {
  const mine = audit.slice(from).filter((e) => e.user.username === 'ripple-rollout' && e.verb === 'list' && e.objectRef?.resource === resource);
  return { probes: mine.filter((e) => !e.objectRef?.namespace).map((e) => e.requestURI), perNamespace: mine.filter((e) => e.objectRef?.namespace).length };
}

beforeAll(async () => {
  env = await startEnv();
  env.cluster.onAudit((e) => audit.push(e));
  const kube = await handlerKube(env, 'rollout', POLICIES);
  handler = makeHandler({ kubeFor: async () => kube, policies: () => POLICIES, observability: testObservability('rollout'), sleep: async () => {} });
  for (const ns of ['probe-a', 'probe-b', 'probe-c']) await ensureNamespace(env.admin, ns);
}, 60_000);

afterAll(async () => {
  await env?.stop();
});

describe('rollout: workload kinds probed once per batch', () => {
  it('a kind the cluster has none of is probed once, not listed per namespace; the kinds it has are', async () => {
    await consumer('Deployment', 'probe-a', 'web');
    await consumer('Deployment', 'probe-b', 'web');
    const events = [await copyIn('probe-a', 'v1'), await copyIn('probe-b', 'v1')];
    const from = audit.length;

    expect((await invoke(events)).batchItemFailures).toEqual([]);

    // reload.kinds defaults to all three: StatefulSets and DaemonSets exist nowhere, so one probe each and no list per namespace
    for (const r of ['statefulsets', 'daemonsets']) {
      expect(lists(r, from), r).toEqual({ probes: [`/apis/apps/v1/${r}?limit=1`], perNamespace: 0 });
    }
    // each namespace is listed twice (planned, held for its coalescing window, re-read: ADR 0004); probed once per batch
    expect(lists('deployments', from)).toEqual({ probes: ['/apis/apps/v1/deployments?limit=1'], perNamespace: 4 });
    expect(await restartedFor('Deployment', 'probe-a', 'web')).toMatch(/^Secret\/db=hmac-sha256:/);
    expect(await restartedFor('Deployment', 'probe-b', 'web')).toMatch(/^Secret\/db=hmac-sha256:/);
  });

  it('once one exists anywhere, the kind is listed in each namespace again and its consumers restarted', async () => {
    await consumer('StatefulSet', 'probe-c', 'elsewhere');
    await consumer('StatefulSet', 'probe-a', 'db-reader');
    const events = [await copyIn('probe-a', 'v2'), await copyIn('probe-b', 'v2')];
    const from = audit.length;

    expect((await invoke(events)).batchItemFailures).toEqual([]);

    expect(lists('statefulsets', from)).toEqual({ probes: ['/apis/apps/v1/statefulsets?limit=1'], perNamespace: 4 });
    expect(lists('daemonsets', from)).toEqual({ probes: ['/apis/apps/v1/daemonsets?limit=1'], perNamespace: 0 });
    expect(await restartedFor('StatefulSet', 'probe-a', 'db-reader')).toMatch(/^Secret\/db=hmac-sha256:/);
    expect(await restartedFor('StatefulSet', 'probe-c', 'elsewhere')).toBeUndefined();
  });
});
