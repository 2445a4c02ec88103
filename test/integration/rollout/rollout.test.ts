/**
 * Rollout handler on the embedded cluster, RBAC enforced: the handler acts as group ripple:rollout bound to
 * exactly its rendered ClusterRole. Revisions are counted from what the cluster's own workload controllers make
 * (ReplicaSets for Deployments, ControllerRevisions for StatefulSets and DaemonSets).
 */
import type { KubernetesObject, V1Container, V1PodSpec } from '@kubernetes/client-node';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import type { WorkloadKind } from '../../../functions/rollout/plan.ts';
import { ANN_POLICY, ANN_RESTARTED_FOR, DETAIL_TYPES, LABEL_MANAGED_BY } from '../../../core/constants.ts';
import { RetryableError } from '../../../core/errors.ts';
import type { KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { RipplePolicy } from '../../../core/policy/schema.ts';
import { captureStdout, changeEvent, ensureNamespace, eventually, handlerKube, sqsBatch, startEnv, testObservability, type Env } from './fixture.ts';

const CANARY = 'canary-value-7f3a9c';
const b64 = (s: string) => Buffer.from(s).toString('base64');

const policy = (name: string, kind: 'Secret' | 'ConfigMap', src: string, reload: object = {}) =>
  RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name }, spec: { source: { kind, namespace: 'platform', name: src }, sync: {}, reload } });
const POLICIES = [
  policy('base-db', 'Secret', 'db', { reloaderAnnotations: true }),
  policy('base-cfg', 'ConfigMap', 'cfg'),
  policy('base-a', 'Secret', 'a'),
  policy('base-b', 'Secret', 'b'),
  policy('base-c', 'ConfigMap', 'c'),
  policy('base-named', 'Secret', 'named', { targets: [{ kind: 'Deployment', name: 'busybox' }] }),
  policy('base-labelled', 'Secret', 'labelled', { targets: [{ kind: 'Deployment', selector: { matchLabels: { tier: 'restart-me' } } }] }),
];

let env: Env;
let kube: Kube;
let stdout: ReturnType<typeof captureStdout>;
let handler: ReturnType<typeof makeHandler>;

const invoke = async (events: object[]): Promise<SQSBatchResponse> => (await handler(sqsBatch(events), {} as never)) as SQSBatchResponse;

async function copy(kind: 'Secret' | 'ConfigMap', namespace: string, name: string, value: string, policyName: string) {
  const metadata = { name, namespace, labels: { [LABEL_MANAGED_BY]: 'ripple' }, annotations: { [ANN_POLICY]: policyName } };
  if (kind === 'Secret') return env.admin.core.createNamespacedSecret({ namespace, body: { metadata, data: { value: b64(value) } } });
  return env.admin.core.createNamespacedConfigMap({ namespace, body: { metadata, data: { value } } });
}

async function change(kind: 'Secret' | 'ConfigMap', namespace: string, name: string, value: string) {
  if (kind === 'Secret') {
    const s = await env.admin.core.readNamespacedSecret({ name, namespace });
    return env.admin.core.replaceNamespacedSecret({ name, namespace, body: { ...s, data: { value: b64(value) } } });
  }
  const c = await env.admin.core.readNamespacedConfigMap({ name, namespace });
  return env.admin.core.replaceNamespacedConfigMap({ name, namespace, body: { ...c, data: { value } } });
}

/** The event the forwarder would send after `change`. */
async function updated(kind: 'Secret' | 'ConfigMap', namespace: string, name: string, opts: Parameters<typeof changeEvent>[3] = {}) {
  const obj = kind === 'Secret' ? await env.admin.core.readNamespacedSecret({ name, namespace }) : await env.admin.core.readNamespacedConfigMap({ name, namespace });
  return changeEvent(DETAIL_TYPES.updated, obj, kind, opts);
}

type Ref = { form: 'env' | 'envFrom' | 'volume' | 'projected' | 'init'; kind: 'Secret' | 'ConfigMap'; name: string };

function podSpec(refs: Ref[], extra: Partial<V1PodSpec> = {}): V1PodSpec {
  const app: V1Container = { name: 'app', image: 'registry.example/app:1', env: [], envFrom: [] };
  const init: V1Container = { name: 'init', image: 'registry.example/init:1', env: [] };
  const volumes: V1PodSpec['volumes'] = [];
  for (const [i, r] of refs.entries()) {
    const keyRef = r.kind === 'Secret' ? { secretKeyRef: { name: r.name, key: 'value' } } : { configMapKeyRef: { name: r.name, key: 'value' } };
    if (r.form === 'env') app.env!.push({ name: `V${i}`, valueFrom: keyRef });
    if (r.form === 'init') init.env!.push({ name: `V${i}`, valueFrom: keyRef });
    if (r.form === 'envFrom') app.envFrom!.push(r.kind === 'Secret' ? { secretRef: { name: r.name } } : { configMapRef: { name: r.name } });
    if (r.form === 'volume') volumes.push(r.kind === 'Secret' ? { name: `v${i}`, secret: { secretName: r.name } } : { name: `v${i}`, configMap: { name: r.name } });
    if (r.form === 'projected') volumes.push({ name: `p${i}`, projected: { sources: [r.kind === 'Secret' ? { secret: { name: r.name } } : { configMap: { name: r.name } }] } });
  }
  return { containers: [app], ...(refs.some((r) => r.form === 'init') ? { initContainers: [init] } : {}), volumes, ...extra };
}

async function createWorkload(kind: WorkloadKind, namespace: string, name: string, spec: V1PodSpec, opts: { annotations?: Record<string, string>; paused?: boolean; labels?: Record<string, string> } = {}) {
  const labels = { app: name };
  const template = { metadata: { labels }, spec };
  const metadata = { name, namespace, ...(opts.annotations ? { annotations: opts.annotations } : {}), ...(opts.labels ? { labels: opts.labels } : {}) };
  const selector = { matchLabels: labels };
  const body: KubernetesObject & { spec: object } =
    kind === 'Deployment'
      ? { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 1, selector, template, ...(opts.paused ? { paused: true } : {}) } }
      : kind === 'StatefulSet'
        ? { apiVersion: 'apps/v1', kind, metadata, spec: { replicas: 1, serviceName: name, selector, template } }
        : { apiVersion: 'apps/v1', kind, metadata, spec: { selector, template } };
  await env.admin.objects.create(body);
}

async function readWorkload(kind: WorkloadKind, namespace: string, name: string) {
  if (kind === 'Deployment') return env.admin.apps.readNamespacedDeployment({ name, namespace });
  if (kind === 'StatefulSet') return env.admin.apps.readNamespacedStatefulSet({ name, namespace });
  return env.admin.apps.readNamespacedDaemonSet({ name, namespace });
}

/** Revisions the cluster's controllers made for a workload. */
async function revisions(kind: WorkloadKind, namespace: string, name: string): Promise<number> {
  const w = await readWorkload(kind, namespace, name);
  const uid = w.metadata!.uid!;
  const owned = (items: { metadata?: { ownerReferences?: { uid: string }[] } }[]) => items.filter((i) => i.metadata?.ownerReferences?.some((o) => o.uid === uid)).length;
  if (kind === 'Deployment') return owned((await env.admin.apps.listNamespacedReplicaSet({ namespace })).items);
  return owned((await env.admin.apps.listNamespacedControllerRevision({ namespace })).items);
}

/** Wait until the controllers have caught up with the workload's template, then count its revisions. */
async function settledRevisions(kind: WorkloadKind, namespace: string, name: string, atLeast = 1): Promise<number> {
  return eventually(async () => {
    const w = await readWorkload(kind, namespace, name);
    const observed = (w.status as { observedGeneration?: number } | undefined)?.observedGeneration;
    if (observed !== undefined && observed < (w.metadata?.generation ?? 0)) return undefined;
    const n = await revisions(kind, namespace, name);
    return n >= atLeast ? n : undefined;
  }, `${kind} ${namespace}/${name} revisions >= ${atLeast}`);
}

async function generation(kind: WorkloadKind, namespace: string, name: string): Promise<number> {
  return (await readWorkload(kind, namespace, name)).metadata?.generation ?? 0;
}

const KINDS: WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];
/** Every (reference form, object kind) pair appears at least once across the kinds. */
const FORMS: Record<WorkloadKind, Ref[]> = {
  Deployment: [
    { form: 'env', kind: 'Secret', name: 'db' },
    { form: 'envFrom', kind: 'ConfigMap', name: 'cfg' },
    { form: 'volume', kind: 'Secret', name: 'db' },
    { form: 'projected', kind: 'ConfigMap', name: 'cfg' },
    { form: 'init', kind: 'Secret', name: 'db' },
  ],
  StatefulSet: [
    { form: 'env', kind: 'ConfigMap', name: 'cfg' },
    { form: 'envFrom', kind: 'Secret', name: 'db' },
    { form: 'volume', kind: 'ConfigMap', name: 'cfg' },
    { form: 'projected', kind: 'Secret', name: 'db' },
    { form: 'init', kind: 'ConfigMap', name: 'cfg' },
  ],
  DaemonSet: [
    { form: 'env', kind: 'Secret', name: 'db' },
    { form: 'envFrom', kind: 'Secret', name: 'db' },
    { form: 'volume', kind: 'ConfigMap', name: 'cfg' },
    { form: 'projected', kind: 'Secret', name: 'db' },
    { form: 'init', kind: 'ConfigMap', name: 'cfg' },
  ],
};
const short = (k: WorkloadKind) => ({ Deployment: 'deploy', StatefulSet: 'sts', DaemonSet: 'ds' })[k];

beforeAll(async () => {
  stdout = captureStdout();
  env = await startEnv();
  kube = await handlerKube(env, 'rollout', POLICIES);
  handler = makeHandler({
    kubeFor: async (cluster) => {
      if (cluster === 'unreachable') throw new RetryableError('cluster unreachable: connection refused');
      return kube;
    },
    policies: () => POLICIES,
    observability: testObservability('rollout'),
    // These events are fresh, so each restart would first wait out its coalescing window (10 s); the waiting
    // itself is tested in coalesce.test.ts.
    sleep: async () => {},
  });
}, 60_000);

afterAll(async () => {
  stdout?.restore();
  await env?.stop();
});

describe('rollout: consumers of a changed copy', () => {
  const ns = 'rollout-forms';
  const consumers: [WorkloadKind, string][] = KINDS.flatMap((k) => FORMS[k].map((r) => [k, `${short(k)}-${r.form.toLowerCase()}-${r.kind.toLowerCase()}`] as [WorkloadKind, string]));
  const bystanders: [WorkloadKind, string][] = [...KINDS.map((k) => [k, `${short(k)}-other`] as [WorkloadKind, string]), ['Deployment', 'deploy-pull-secret'], ['Deployment', 'deploy-paused'], ['Deployment', 'deploy-opted-out']];
  const before = new Map<string, number>();

  beforeAll(async () => {
    // Prepare: copies of two bases, one workload per kind x reference form, and bystanders.
    await ensureNamespace(env.admin, ns);
    await copy('Secret', ns, 'db', `${CANARY}-1`, 'base-db');
    await copy('ConfigMap', ns, 'cfg', 'cfg-1', 'base-cfg');
    await copy('Secret', ns, 'unrelated', 'x', 'base-db');
    for (const k of KINDS) {
      for (const r of FORMS[k]) await createWorkload(k, ns, `${short(k)}-${r.form.toLowerCase()}-${r.kind.toLowerCase()}`, podSpec([r]));
      await createWorkload(k, ns, `${short(k)}-other`, podSpec([{ form: 'env', kind: 'Secret', name: 'unrelated' }]));
    }
    await createWorkload('Deployment', ns, 'deploy-pull-secret', podSpec([], { imagePullSecrets: [{ name: 'db' }] }));
    await createWorkload('Deployment', ns, 'deploy-paused', podSpec([{ form: 'env', kind: 'Secret', name: 'db' }]), { paused: true });
    await createWorkload('Deployment', ns, 'deploy-opted-out', podSpec([{ form: 'envFrom', kind: 'Secret', name: 'db' }]), { annotations: { 'ripple.dev/reload': 'false' } });
    await createWorkload('Deployment', ns, 'deploy-reloader-named', podSpec([]), { annotations: { 'secret.reloader.stakater.com/reload': 'db' } });
    // A paused Deployment makes no ReplicaSet at all (as in Kubernetes): at least 0 revisions.
    for (const [k, n] of [...consumers, ...bystanders, ['Deployment', 'deploy-reloader-named'] as [WorkloadKind, string]]) before.set(`${k}/${n}`, await settledRevisions(k, ns, n, n === 'deploy-paused' ? 0 : 1));
  }, 120_000);

  it('restarts exactly the consumers, one new revision each, for all three kinds and every reference form', async () => {
    // Act: both copies change; the batch carries both events.
    await change('Secret', ns, 'db', `${CANARY}-2`);
    await change('ConfigMap', ns, 'cfg', 'cfg-2');
    const res = await invoke([await updated('Secret', ns, 'db'), await updated('ConfigMap', ns, 'cfg')]);

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    for (const [k, n] of [...consumers, ['Deployment', 'deploy-reloader-named'] as [WorkloadKind, string]]) {
      expect(await settledRevisions(k, ns, n, before.get(`${k}/${n}`)! + 1), `${k} ${n}`).toBe(before.get(`${k}/${n}`)! + 1);
      const w = await readWorkload(k, ns, n);
      expect(w.spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toMatch(/^(Secret\/db|ConfigMap\/cfg)=hmac-sha256:[0-9a-f]{32}$/);
    }
    for (const [k, n] of bystanders) {
      expect(await settledRevisions(k, ns, n, n === 'deploy-paused' ? 0 : 1), `${k} ${n}`).toBe(before.get(`${k}/${n}`));
      expect((await readWorkload(k, ns, n)).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toBeUndefined();
    }
    const log = stdout.text();
    expect(log).toContain('Deployment/rollout-forms/deploy-paused');
    expect(log).toMatch(/paused \(spec\.paused: true\)/);
    expect(log).toMatch(/opted out \(annotation ripple\.dev\/reload: \\?"false\\?"\)/);
    expect(log).toMatch(/pull secrets are not reloaded/);
    // A Kubernetes Event on a restarted workload says what the restart was for.
    const events = await env.admin.core.listNamespacedEvent({ namespace: ns });
    expect(events.items.some((e) => e.reason === 'RestartTriggered' && e.involvedObject.name === 'deploy-env-secret' && e.involvedObject.kind === 'Deployment')).toBe(true);
  });

  it('duplicate delivery and no-op changes restart nothing', async () => {
    const gens = new Map<string, number>();
    for (const [k, n] of consumers) gens.set(`${k}/${n}`, await generation(k, ns, n));
    const counts = new Map<string, number>();
    for (const [k, n] of consumers) counts.set(`${k}/${n}`, await settledRevisions(k, ns, n));

    // Act 1: the same events again (at-least-once delivery, replay).
    const dup = [await updated('Secret', ns, 'db'), await updated('ConfigMap', ns, 'cfg')];
    expect((await invoke(dup)).batchItemFailures).toEqual([]);
    expect((await invoke(dup)).batchItemFailures).toEqual([]);
    // Act 2: a write with identical data (resourceVersion moves, content does not) reported as a data change.
    const s = await change('Secret', ns, 'db', `${CANARY}-2`);
    expect((await invoke([changeEvent(DETAIL_TYPES.updated, s, 'Secret', { changes: ['data'] })])).batchItemFailures).toEqual([]);

    // Assess: no template changed, no revision made.
    for (const [k, n] of consumers) {
      expect(await generation(k, ns, n), `${k} ${n}`).toBe(gens.get(`${k}/${n}`));
      expect(await settledRevisions(k, ns, n), `${k} ${n}`).toBe(counts.get(`${k}/${n}`));
    }
  });
});

describe('rollout: coalescing and batch failures', () => {
  const ns = 'rollout-k';

  it('K changed objects in one batch -> one rollout per workload', async () => {
    // Prepare
    await ensureNamespace(env.admin, ns);
    await copy('Secret', ns, 'a', 'a-1', 'base-a');
    await copy('Secret', ns, 'b', 'b-1', 'base-b');
    await copy('ConfigMap', ns, 'c', 'c-1', 'base-c');
    const refs: Ref[] = [
      { form: 'env', kind: 'Secret', name: 'a' },
      { form: 'volume', kind: 'Secret', name: 'b' },
      { form: 'envFrom', kind: 'ConfigMap', name: 'c' },
    ];
    for (const k of KINDS) await createWorkload(k, ns, `${short(k)}-all`, podSpec(refs));
    const before = new Map<WorkloadKind, number>();
    for (const k of KINDS) before.set(k, await settledRevisions(k, ns, `${short(k)}-all`));

    // Act: three objects change within one batching window -> one SQS batch.
    await change('Secret', ns, 'a', 'a-2');
    await change('Secret', ns, 'b', 'b-2');
    await change('ConfigMap', ns, 'c', 'c-2');
    const batch = sqsBatch([await updated('Secret', ns, 'a'), await updated('Secret', ns, 'b'), await updated('ConfigMap', ns, 'c')]);
    const res = (await handler(batch, {} as never)) as SQSBatchResponse;

    // Assess
    expect(res.batchItemFailures).toEqual([]);
    for (const k of KINDS) {
      expect(await settledRevisions(k, ns, `${short(k)}-all`, before.get(k)! + 1)).toBe(before.get(k)! + 1);
      const ann = (await readWorkload(k, ns, `${short(k)}-all`)).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR];
      expect(ann?.split(',').map((e) => e.split('=')[0])).toEqual(['ConfigMap/c', 'Secret/a', 'Secret/b']);
    }
  });

  it('reports failures per item: retryable groups fail, malformed records are dropped, others succeed', async () => {
    await change('Secret', ns, 'a', 'a-3');
    const good = await updated('Secret', ns, 'a');
    const unreachable = { ...good, id: 'other-cluster', detail: { ...good.detail, cluster: 'unreachable' } };
    const batch = sqsBatch([good, unreachable, { not: 'an event' }]);
    const res = (await handler(batch, {} as never)) as SQSBatchResponse;
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: batch.Records[1].messageId }]);
    expect(stdout.text()).toMatch(/record rejected by schema/);
  });
});

describe('rollout: named restart targets (reload.targets)', () => {
  it('restart the named workload although its pods do not read the object, once per content', async () => {
    const ns = 'rollout-named';
    await ensureNamespace(env.admin, ns);
    await copy('Secret', ns, 'named', 'n-1', 'base-named');
    await createWorkload('Deployment', ns, 'busybox', podSpec([]));
    await createWorkload('Deployment', ns, 'bystander', podSpec([]));
    const before = await settledRevisions('Deployment', ns, 'busybox', 1);
    await change('Secret', ns, 'named', 'n-2');
    const ev = await updated('Secret', ns, 'named');
    expect((await invoke([ev])).batchItemFailures).toEqual([]);
    expect(await settledRevisions('Deployment', ns, 'busybox', before + 1)).toBe(before + 1);
    expect((await readWorkload('Deployment', ns, 'busybox')).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toMatch(/^Secret\/named=hmac-sha256:/);
    expect((await readWorkload('Deployment', ns, 'bystander')).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toBeUndefined();
    // the same event again: nothing
    expect((await invoke([ev])).batchItemFailures).toEqual([]);
    expect(await settledRevisions('Deployment', ns, 'busybox', before + 1)).toBe(before + 1);
  });
});

describe('rollout: restart targets chosen by label (reload.targets[].selector)', () => {
  it('restart every workload of the kind whose labels match, although their pods do not read the object, once per content', async () => {
    const ns = 'rollout-labelled';
    await ensureNamespace(env.admin, ns);
    await copy('Secret', ns, 'labelled', 'l-1', 'base-labelled');
    await createWorkload('Deployment', ns, 'front', podSpec([]), { labels: { tier: 'restart-me' } });
    await createWorkload('Deployment', ns, 'back', podSpec([]), { labels: { tier: 'restart-me' } });
    await createWorkload('Deployment', ns, 'other', podSpec([]), { labels: { tier: 'keep' } });
    const front = await settledRevisions('Deployment', ns, 'front', 1);
    const back = await settledRevisions('Deployment', ns, 'back', 1);
    await change('Secret', ns, 'labelled', 'l-2');
    const ev = await updated('Secret', ns, 'labelled');
    expect((await invoke([ev])).batchItemFailures).toEqual([]);
    expect(await settledRevisions('Deployment', ns, 'front', front + 1)).toBe(front + 1);
    expect(await settledRevisions('Deployment', ns, 'back', back + 1)).toBe(back + 1);
    expect((await readWorkload('Deployment', ns, 'front')).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toMatch(/^Secret\/labelled=hmac-sha256:/);
    expect((await readWorkload('Deployment', ns, 'other')).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR]).toBeUndefined();
    // the same content again: nothing
    expect((await invoke([ev])).batchItemFailures).toEqual([]);
    expect(await settledRevisions('Deployment', ns, 'front', front + 1)).toBe(front + 1);
  });
});

describe('rollout: objects no policy names (the name-free pattern lets their events through)', () => {
  it('are dropped before any read (the role may not read them)', async () => {
    const ns = 'rollout-strangers';
    await ensureNamespace(env.admin, ns);
    const s = await env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'stranger' }, data: { value: b64('x') } } });
    const res = await invoke([changeEvent(DETAIL_TYPES.updated, s, 'Secret', { changes: ['data'] })]);
    expect(res.batchItemFailures).toEqual([]);
    const log = stdout.text();
    expect(log).toContain('Secret rollout-strangers/stranger: not the source or a copy of a policy with a reload section');
    expect(log).not.toMatch(/stranger[^\n]*forbidden/i);
  });
});

describe('rollout: logs', () => {
  it('never contain Secret data', () => {
    const log = stdout.text();
    expect(log).toContain('restart triggered');
    expect(log).not.toContain(CANARY);
    expect(log).not.toContain(b64(`${CANARY}-1`));
    expect(log).not.toContain(b64(`${CANARY}-2`));
  });
});
