/**
 * The Reloader mode (policies/ripple.config.yaml `reloader`) on the embedded cluster, RBAC enforced: the rollout
 * handler runs as group ripple:rollout with exactly its rendered ClusterRole plus the mode's rendered
 * `ripple-rollout-reloader`, no policy at all. One case per Reloader annotation and flag; restarts are read back
 * from the cluster (template record, generation, the ReplicaSets the Deployment controller makes, Jobs).
 */
import type { V1ConfigMap, V1Deployment, V1PodSpec, V1Secret } from '@kubernetes/client-node';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ANN_RESTARTED_FOR, DETAIL_TYPES } from '../../../core/constants.ts';
import { RippleConfig, type RippleConfigInput } from '../../../core/config/schema.ts';
import { makeHandler } from '../../../functions/rollout/handler.ts';
import { LABEL_PAUSED_FOR_PERIOD } from '../../../functions/rollout/reloader-mode.ts';
import type { KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { renderReloaderAdmission, renderReloaderRbac } from '../../../render/reloader.ts';
import { renderIdentityAdmission } from '../../../render/admission.ts';
import { explainReloader, formatReloaderExplain } from '../../../cli/explain/reloader.ts';
import { captureStdout, changeEvent, ensureNamespace, eventually, handlerKube, sqsBatch, startEnv, testObservability, type Env } from './fixture.ts';

const CANARY = 'reloader-canary-51c2';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const config = (reloader: RippleConfigInput['reloader']) => RippleConfig.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RippleConfig', reloader: { enabled: true, ...reloader } });

let env: Env;
let kube: Kube;
let stdout: ReturnType<typeof captureStdout>;
let now = () => new Date();

/** A handler with this config (the same identity and RBAC for all). */
function handlerWith(cfg: RippleConfig) {
  return makeHandler({ kubeFor: async () => kube, policies: () => [], config: () => cfg, observability: testObservability('rollout'), sleep: async () => {}, now: () => now() });
}
const DEFAULT = config({});
const invoke = async (h: ReturnType<typeof handlerWith>, events: object[]): Promise<SQSBatchResponse> => (await h(sqsBatch(events), {} as never)) as SQSBatchResponse;

beforeAll(async () => {
  stdout = captureStdout();
  env = await startEnv();
  kube = await handlerKube(env, 'rollout', []);
  // the mode's RBAC, rendered for a config that covers every case below (all namespaces, CronJobs, selectors)
  const cfg = config({ kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob', 'Rollout'], namespaces: { include: ['*'], selector: { matchExpressions: [{ key: 'reloader-off', operator: 'DoesNotExist' }] } } });
  // and the admission that holds the rollout identity to its job (ripple-rollout-identity, ripple-rollout-reloader-identity)
  for (const obj of [...renderReloaderRbac(cfg), ...renderReloaderAdmission(cfg), ...renderIdentityAdmission()]) await env.admin.objects.create(obj as KubernetesObject);
}, 60_000);

afterAll(async () => {
  stdout?.restore();
  await env?.stop();
});

let nsSeq = 0;
async function namespace(labels: Record<string, string> = {}): Promise<string> {
  const ns = `rl-${++nsSeq}-${Math.random().toString(36).slice(2, 6)}`;
  await ensureNamespace(env.admin, ns, labels);
  return ns;
}

async function secret(ns: string, name: string, value: string, annotations: Record<string, string> = {}): Promise<V1Secret> {
  return env.admin.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name, annotations }, data: { value: b64(value) } } });
}
async function configMap(ns: string, name: string, value: string, annotations: Record<string, string> = {}): Promise<V1ConfigMap> {
  return env.admin.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, annotations }, data: { value } } });
}
/** Change the content and return the event the forwarder would send. */
async function update(kind: 'Secret' | 'ConfigMap', ns: string, name: string, value: string) {
  if (kind === 'Secret') {
    const s = await env.admin.core.readNamespacedSecret({ name, namespace: ns });
    return changeEvent(DETAIL_TYPES.updated, await env.admin.core.replaceNamespacedSecret({ name, namespace: ns, body: { ...s, data: { value: b64(value) } } }), 'Secret');
  }
  const c = await env.admin.core.readNamespacedConfigMap({ name, namespace: ns });
  return changeEvent(DETAIL_TYPES.updated, await env.admin.core.replaceNamespacedConfigMap({ name, namespace: ns, body: { ...c, data: { value } } }) as V1Secret, 'ConfigMap');
}

const envFrom = (secrets: string[], cms: string[] = []): V1PodSpec => ({
  containers: [{ name: 'app', image: 'registry.example/app:1', envFrom: [...secrets.map((n) => ({ secretRef: { name: n } })), ...cms.map((n) => ({ configMapRef: { name: n } }))] }],
});

async function deployment(ns: string, name: string, spec: V1PodSpec, opts: { annotations?: Record<string, string>; templateAnnotations?: Record<string, string>; paused?: boolean } = {}): Promise<V1Deployment> {
  const labels = { app: name };
  return env.admin.apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name, annotations: opts.annotations ?? {} },
      spec: { replicas: 1, selector: { matchLabels: labels }, ...(opts.paused ? { paused: true } : {}), template: { metadata: { labels, annotations: opts.templateAnnotations ?? {} }, spec } },
    },
  });
}
async function setPaused(ns: string, name: string, paused: boolean) {
  const d = await env.admin.apps.readNamespacedDeployment({ name, namespace: ns });
  await env.admin.apps.replaceNamespacedDeployment({ name, namespace: ns, body: { ...d, spec: { ...d.spec!, paused } } });
}
const read = (ns: string, name: string) => env.admin.apps.readNamespacedDeployment({ name, namespace: ns });
const recorded = async (ns: string, name: string) => (await read(ns, name)).spec?.template.metadata?.annotations?.[ANN_RESTARTED_FOR];
const generation = async (ns: string, name: string) => (await read(ns, name)).metadata?.generation ?? 0;
/** ReplicaSets the cluster's Deployment controller made for it. */
async function replicaSets(ns: string, name: string): Promise<number> {
  const uid = (await read(ns, name)).metadata!.uid!;
  return (await env.admin.apps.listNamespacedReplicaSet({ namespace: ns })).items.filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === uid)).length;
}

/** Deployments (by name) and whether a change restarts them; every other name must stay untouched. */
async function expectRestarts(ns: string, expected: Record<string, boolean>, before: Map<string, number>) {
  for (const [name, restarts] of Object.entries(expected)) {
    const gen = await generation(ns, name);
    expect({ name, restarted: gen > before.get(name)! }).toEqual({ name, restarted: restarts });
    if (restarts) expect(await recorded(ns, name)).toMatch(/^(Secret|ConfigMap)\/[a-z0-9-]+=(hmac-sha256:[0-9a-f]{32}|absent)$/);
    else expect(await recorded(ns, name)).toBeUndefined();
  }
}
async function generations(ns: string, names: string[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(names.map(async (n) => [n, await generation(ns, n)] as [string, number])));
}

describe('reloader mode: workload annotations (opt-in; no policy)', () => {
  it('auto, typed auto, named regex lists, search + match, exclude, auto: "false", unmounted volumes', async () => {
    // Prepare: one namespace, Secret db (+ db-main, match-me) and ConfigMap cfg, one Deployment per annotation.
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await secret(ns, 'db-main', 'v1');
    await secret(ns, 'match-me', 'v1', { 'reloader.stakater.com/match': 'true' });
    await configMap(ns, 'cfg', 'v1');
    const unmounted: V1PodSpec = { containers: [{ name: 'app', image: 'i' }], volumes: [{ name: 'v', secret: { secretName: 'db' } }] };
    const mounted: V1PodSpec = { containers: [{ name: 'app', image: 'i', volumeMounts: [{ name: 'v', mountPath: '/v' }] }], volumes: [{ name: 'v', secret: { secretName: 'db' } }] };
    const cases: [string, V1PodSpec, Record<string, string>, { template?: boolean }?][] = [
      ['none', envFrom(['db']), {}],
      ['auto', envFrom(['db']), { 'reloader.stakater.com/auto': 'true' }],
      ['auto-template', envFrom(['db']), { 'reloader.stakater.com/auto': 'true' }, { template: true }],
      ['auto-false', envFrom(['db']), { 'reloader.stakater.com/auto': 'false' }],
      ['auto-unmounted', unmounted, { 'reloader.stakater.com/auto': 'true' }],
      ['auto-mounted', mounted, { 'reloader.stakater.com/auto': 'true' }],
      ['typed-secret', envFrom(['db'], ['cfg']), { 'secret.reloader.stakater.com/auto': 'true' }],
      ['typed-configmap', envFrom(['db'], ['cfg']), { 'configmap.reloader.stakater.com/auto': 'true' }],
      ['named', envFrom([]), { 'secret.reloader.stakater.com/reload': 'other, db' }],
      ['named-regex', envFrom([]), { 'secret.reloader.stakater.com/reload': 'db-.*' }],
      ['named-configmap', envFrom([]), { 'configmap.reloader.stakater.com/reload': 'db' }],
      ['search', envFrom(['db', 'match-me']), { 'reloader.stakater.com/search': 'true' }],
      ['excluded', envFrom(['db']), { 'reloader.stakater.com/auto': 'true', 'secrets.exclude.reloader.stakater.com/reload': 'db' }],
    ];
    for (const [name, spec, ann, o] of cases) await deployment(ns, name, spec, o?.template ? { templateAnnotations: ann } : { annotations: ann });
    const names = cases.map(([n]) => n);
    const h = handlerWith(DEFAULT);

    // Act 1: Secret db changes.
    let before = await generations(ns, names);
    expect((await invoke(h, [await update('Secret', ns, 'db', `${CANARY}-2`)])).batchItemFailures).toEqual([]);
    // Assess 1
    await expectRestarts(ns, { none: false, auto: true, 'auto-template': true, 'auto-false': false, 'auto-unmounted': false, 'auto-mounted': true, 'typed-secret': true, 'typed-configmap': false, named: true, 'named-regex': false, 'named-configmap': false, search: false, excluded: false }, before);

    // Act 2: db-main (named by regex) and match-me (search + match) change; then ConfigMap cfg.
    before = await generations(ns, names);
    expect((await invoke(h, [await update('Secret', ns, 'db-main', 'v2'), await update('Secret', ns, 'match-me', 'v2')])).batchItemFailures).toEqual([]);
    for (const [n, restarts] of Object.entries({ 'named-regex': true, search: true, named: false, auto: false })) expect({ n, r: (await generation(ns, n)) > before.get(n)! }).toEqual({ n, r: restarts });
    before = await generations(ns, names);
    expect((await invoke(h, [await update('ConfigMap', ns, 'cfg', 'v2')])).batchItemFailures).toEqual([]);
    for (const [n, restarts] of Object.entries({ 'typed-configmap': true, 'typed-secret': false })) expect({ n, r: (await generation(ns, n)) > before.get(n)! }).toEqual({ n, r: restarts });

    // Act 3: the same event again (at-least-once delivery) restarts nothing.
    before = await generations(ns, names);
    const s = await env.admin.core.readNamespacedSecret({ name: 'db', namespace: ns });
    expect((await invoke(h, [changeEvent(DETAIL_TYPES.updated, s, 'Secret')])).batchItemFailures).toEqual([]);
    for (const n of names) expect(await generation(ns, n)).toBe(before.get(n));
    expect(stdout.text()).toMatch(/mounted by no container/);
  });

  it('reloader.stakater.com/ignore: "true" on the Secret: nobody restarts', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1', { 'reloader.stakater.com/ignore': 'true' });
    await deployment(ns, 'named', envFrom(['db']), { annotations: { 'secret.reloader.stakater.com/reload': 'db' } });
    const before = await generations(ns, ['named']);
    expect((await invoke(handlerWith(DEFAULT), [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { named: false }, before);
  });
});

describe('reloader mode: flags', () => {
  it('autoReloadAll: every consumer restarts unless it says auto: "false"; non-consumers do not', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await deployment(ns, 'plain', envFrom(['db']));
    await deployment(ns, 'opted-out', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'false' } });
    await deployment(ns, 'typed-opt-out', envFrom(['db']), { annotations: { 'secret.reloader.stakater.com/auto': 'false' } });
    await deployment(ns, 'bystander', envFrom(['other']));
    const before = await generations(ns, ['plain', 'opted-out', 'typed-opt-out', 'bystander']);
    expect((await invoke(handlerWith(config({ autoReloadAll: true })), [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { plain: true, 'opted-out': false, 'typed-opt-out': false, bystander: false }, before);
  });

  it('reloadOnCreate off (default): a created Secret restarts nothing; on: older consumers restart, one created together does not', async () => {
    const ns = await namespace();
    await deployment(ns, 'older', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
    // the Deployment must be older than the Secret by a whole second (timestamps have seconds)
    await new Promise((r) => setTimeout(r, 1100));
    const s = await secret(ns, 'db', 'v1');
    await deployment(ns, 'together', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
    const created = changeEvent(DETAIL_TYPES.created, s, 'Secret');
    const before = await generations(ns, ['older', 'together']);

    expect((await invoke(handlerWith(DEFAULT), [created])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { older: false, together: false }, before);

    expect((await invoke(handlerWith(config({ reloadOnCreate: true })), [created])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { older: true, together: false }, before);
    expect(stdout.text()).toMatch(/together with or after the last write of Secret db/);
  });

  it('reloadOnDelete off (default): nothing; on: consumers restart once, recording the deletion', async () => {
    const ns = await namespace();
    const s = await secret(ns, 'db', 'v1', { 'reloader.stakater.com/auto': 'x' });
    await deployment(ns, 'consumer', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
    await env.admin.core.deleteNamespacedSecret({ name: 'db', namespace: ns });
    const deleted = changeEvent(DETAIL_TYPES.deleted, s, 'Secret');
    const before = await generations(ns, ['consumer']);

    expect((await invoke(handlerWith(DEFAULT), [deleted])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { consumer: false }, before);

    const h = handlerWith(config({ reloadOnDelete: true }));
    expect((await invoke(h, [deleted])).batchItemFailures).toEqual([]);
    await expectRestarts(ns, { consumer: true }, before);
    expect(await recorded(ns, 'consumer')).toBe('Secret/db=absent');
    const gen = await generation(ns, 'consumer');
    expect((await invoke(h, [deleted])).batchItemFailures).toEqual([]);
    expect(await generation(ns, 'consumer')).toBe(gen);
  });

  it('namespaces: excluded names and a namespace selector leave objects out', async () => {
    const excluded = await namespace();
    const unlabelled = await namespace({ 'reloader-off': 'yes' });
    const cfg = config({ namespaces: { include: ['*'], exclude: [excluded], selector: { matchExpressions: [{ key: 'reloader-off', operator: 'DoesNotExist' }] } } });
    for (const ns of [excluded, unlabelled]) {
      await secret(ns, 'db', 'v1');
      await deployment(ns, 'auto', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
      const before = await generations(ns, ['auto']);
      expect((await invoke(handlerWith(cfg), [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
      await expectRestarts(ns, { auto: false }, before);
    }
    expect(stdout.text()).toMatch(/is excluded by reloader\.namespaces\.exclude/);
    expect(stdout.text()).toMatch(/labels do not match reloader\.namespaces\.selector/);
  });
});

describe('reloader mode: paused Deployments, pause-period, CronJobs', () => {
  it('a paused Deployment gets its template patched and rolls out when resumed', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await deployment(ns, 'paused', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
    await eventually(async () => ((await replicaSets(ns, 'paused')) >= 1 ? true : undefined), 'first ReplicaSet');
    await setPaused(ns, 'paused', true); // kubectl rollout pause
    const rs = await replicaSets(ns, 'paused');

    expect((await invoke(handlerWith(DEFAULT), [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
    expect(await recorded(ns, 'paused')).toMatch(/^Secret\/db=/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await replicaSets(ns, 'paused')).toBe(rs);

    await setPaused(ns, 'paused', false); // kubectl rollout resume
    expect(await eventually(async () => ((await replicaSets(ns, 'paused')) > rs ? true : undefined), 'a new ReplicaSet after resume')).toBe(true);
  });

  it('deployment.reloader.stakater.com/pause-period: the restart pauses it; the schedule resumes it when the period is over', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await deployment(ns, 'cool', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true', 'deployment.reloader.stakater.com/pause-period': '5m' } });
    const h = handlerWith(DEFAULT);
    expect((await invoke(h, [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
    let d = await read(ns, 'cool');
    expect(d.spec?.paused).toBe(true);
    expect(d.metadata?.annotations?.['deployment.reloader.stakater.com/paused-at']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(d.metadata?.labels?.[LABEL_PAUSED_FOR_PERIOD]).toBe('true');

    // a second change within the period: recorded on the template, still paused
    expect((await invoke(h, [await update('Secret', ns, 'db', 'v3')])).batchItemFailures).toEqual([]);
    expect((await read(ns, 'cool')).spec?.paused).toBe(true);

    // the schedule before the period is over: nothing; after: resumed
    await h({ reason: 'schedule', cluster: 'local' } as never, {} as never);
    expect((await read(ns, 'cool')).spec?.paused).toBe(true);
    now = () => new Date(Date.now() + 6 * 60_000);
    try {
      await h({ reason: 'schedule', cluster: 'local' } as never, {} as never);
    } finally {
      now = () => new Date();
    }
    d = await read(ns, 'cool');
    expect(d.spec?.paused).toBe(false);
    expect(d.metadata?.annotations?.['deployment.reloader.stakater.com/paused-at']).toBeUndefined();
    expect(d.metadata?.labels?.[LABEL_PAUSED_FOR_PERIOD]).toBeUndefined();
  });

  it('CronJob: a change creates one Job from the jobTemplate (owned by the CronJob); a redelivery creates none', async () => {
    const ns = await namespace();
    await configMap(ns, 'cfg', 'v1');
    await env.admin.objects.create({
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace: ns, annotations: { 'configmap.reloader.stakater.com/reload': 'cfg' } },
      spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.example/job:1' }] } } } } },
    } as KubernetesObject);
    const h = handlerWith(DEFAULT);
    const ev = await update('ConfigMap', ns, 'cfg', 'v2');
    expect((await invoke(h, [ev])).batchItemFailures).toEqual([]);
    expect((await invoke(h, [ev])).batchItemFailures).toEqual([]);
    const jobs = (await kubectlLikeList(ns)).filter((j) => j.metadata?.ownerReferences?.some((o: { kind: string; name: string }) => o.kind === 'CronJob' && o.name === 'nightly'));
    expect(jobs).toHaveLength(1);
    expect(jobs[0].metadata.annotations['cronjob.kubernetes.io/instantiate']).toBe('manual');
    expect(jobs[0].spec.template.metadata.annotations[ANN_RESTARTED_FOR]).toMatch(/^ConfigMap\/cfg=hmac-sha256:/);
  });
});

describe('reloader mode: Argo Rollouts (kinds: [..., Rollout], as --is-Argo-Rollouts)', () => {
  it('an annotated Rollout restarts (its pod template records the change); not listed: untouched; identity held to the restart annotations', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await env.admin.objects.create({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'canary', namespace: ns, annotations: { 'reloader.stakater.com/auto': 'true' } },
      spec: { replicas: 1, selector: { matchLabels: { app: 'canary' } }, template: { metadata: { labels: { app: 'canary' } }, spec: envFrom(['db']) }, strategy: { canary: { steps: [{ setWeight: 20 }] } } },
    } as KubernetesObject);
    const rollout = async () => (await env.admin.objects.read({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', metadata: { name: 'canary', namespace: ns } })) as any;

    // default kinds (Reloader without --is-Argo-Rollouts): not touched
    expect((await invoke(handlerWith(DEFAULT), [await update('Secret', ns, 'db', 'v2')])).batchItemFailures).toEqual([]);
    expect((await rollout()).spec.template.metadata.annotations?.[ANN_RESTARTED_FOR]).toBeUndefined();
    // listed: restarted once
    const h = handlerWith(config({ kinds: ['Deployment', 'Rollout'] }));
    const ev = await update('Secret', ns, 'db', 'v3');
    expect((await invoke(h, [ev])).batchItemFailures).toEqual([]);
    const r = await rollout();
    expect(r.spec.template.metadata.annotations[ANN_RESTARTED_FOR]).toMatch(/^Secret\/db=hmac-sha256:/);
    expect((await invoke(h, [ev])).batchItemFailures).toEqual([]);
    expect((await rollout()).metadata.generation).toBe(r.metadata.generation);
    // the identity may not change anything else of a Rollout
    await expect(
      kube.raw.request('PATCH', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/rollouts/canary`, { body: { spec: { template: { spec: { serviceAccountName: 'admin' } } } }, contentType: 'application/merge-patch+json' }),
    ).rejects.toThrow(/only a Rollout's pod template ripple.dev\/restarted-\* annotations/);
  });
});

describe('ripple explain --reloader', () => {
  it('says per workload whether a change restarts it and which rule decided', async () => {
    const ns = await namespace();
    await secret(ns, 'db', 'v1');
    await deployment(ns, 'auto', envFrom(['db']), { annotations: { 'reloader.stakater.com/auto': 'true' } });
    await deployment(ns, 'plain', envFrom(['db']));
    const r = await explainReloader(env.admin, DEFAULT, `Secret/${ns}/db`);
    expect(r.notATrigger).toBeNull();
    expect(r.rows).toEqual([
      { workload: 'Deployment/auto', restart: true, reason: 'reloader.stakater.com/auto: "true" on the workload; consumes Secret db via container app envFrom[0]' },
      { workload: 'Deployment/plain', restart: false, reason: expect.stringMatching(/^no Reloader annotation selects Secret db/) },
    ]);
    expect((await explainReloader(env.admin, DEFAULT, `Secret/${ns}/db`, 'created')).notATrigger).toBe('created, and reloader.reloadOnCreate is off');
    expect(formatReloaderExplain(r)).toContain('1 of 2 workloads would restart');
  });
});

describe('reloader mode: the rollout identity is held to its job on CronJobs and Jobs (admission)', () => {
  it('may not create a Job no CronJob controls, nor change a CronJob beyond the restart annotations', async () => {
    const ns = await namespace();
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c', namespace: ns }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'job', image: 'registry.example/job:1' }] } } } } } };
    await env.admin.objects.create(cron as KubernetesObject);
    const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: ns }, spec: { template: { metadata: { annotations: { [ANN_RESTARTED_FOR]: 'x' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'x', image: 'evil' }] } } } };
    await expect(kube.objects.create(job as KubernetesObject)).rejects.toThrow(/creates only Jobs controlled by a CronJob/);
    const path = `/apis/batch/v1/namespaces/${ns}/cronjobs/c`;
    const patch = (body: object) => kube.raw.request('PATCH', path, { body, contentType: 'application/strategic-merge-patch+json' });
    await expect(patch({ spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'job', image: 'evil' }] } } } } } })).rejects.toThrow(/only a CronJob's jobTemplate ripple.dev\/restarted-\* annotations/);
    await expect(patch({ spec: { schedule: '* * * * *' } })).rejects.toThrow(/only a CronJob's jobTemplate/);
    await patch({ spec: { jobTemplate: { spec: { template: { metadata: { annotations: { [ANN_RESTARTED_FOR]: 'ConfigMap/x=absent' } } } } } } });
    // and on Deployments (ripple-rollout-identity): the pause fields yes, the image no
    await deployment(ns, 'd', envFrom([]));
    const dpath = `/apis/apps/v1/namespaces/${ns}/deployments/d`;
    const dpatch = (body: object) => kube.raw.request('PATCH', dpath, { body, contentType: 'application/strategic-merge-patch+json' });
    await expect(dpatch({ spec: { template: { spec: { containers: [{ name: 'app', image: 'evil' }] } } } })).rejects.toThrow(/may change only the pod template's ripple.dev\/restarted-\* annotations/);
    await dpatch({ spec: { paused: true }, metadata: { annotations: { 'deployment.reloader.stakater.com/paused-at': '2026-01-01T00:00:00Z' } } });
  });
});

async function kubectlLikeList(ns: string): Promise<any[]> {
  const res = await env.admin.objects.list('batch/v1', 'Job', ns);
  return res.items as any[];
}

describe('reloader mode: logs', () => {
  it('never contain Secret data', () => {
    const log = stdout.text();
    expect(log).toContain('restart triggered');
    expect(log).not.toContain(CANARY);
    expect(log).not.toContain(b64(`${CANARY}-2`));
  });
});
