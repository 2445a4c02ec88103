/**
 * `npm run bench -- fleet`: one base, a fleet of embedded clusters (default 3: hub, edge-1, edge-2; FLEET_CLUSTERS=N),
 * each in a process of its own with RBAC enforced and its own fingerprint key, each with FLEET_NAMESPACES (default
 * 1,000) labelled namespaces x 2 Deployments consuming the copy. The policy's base is in hub (`source.cluster: hub`)
 * and its copies go to every cluster (`sync.clusters: ["*"]`). The handlers run as Lambda runs them (one clone
 * handler for the stage, RIPPLE_CLUSTERS naming every cluster; 5 rollout containers; each identity bound to its
 * rendered ClusterRole in each cluster, over the Lambda request path; ./_fanout-harness.ts):
 *   1. initial sync: the clone handler's startup resync from hub (N creates per cluster), and the rollouts those
 *      copies cause;
 *   2. the base is updated in hub (measured): the clone invocation for hub's event (it reads the base once and
 *      writes each cluster's copies side by side), then the rollout handler for the copy-updated events of every
 *      cluster's forwarder (each fingerprinted under its cluster's key; interleaved, as the forwarders send at
 *      once), in SQS batches of 100, 5 in flight.
 * Printed per cluster: clone writes and rollouts against the minimum (N writes, 2N rollouts; every Deployment's
 * generation advanced exactly once), when its last copy and its last rollout landed (ms after the base event was
 * handed to the clone handler: the API server's clock), and its API server's CPU; then the whole chain's wall time
 * and the handlers' CPU. Figures are noisy on a shared machine: the load average is printed beside them.
 */
import type { Context } from 'aws-lambda';
import type { KubernetesObject, V1Deployment, V1Secret } from '@kubernetes/client-node';
import { cpus, loadavg } from 'node:os';
import { DETAIL_TYPES, FINGERPRINT_KEY_SECRET, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../core/constants.ts';
import { fingerprint, newFingerprintKey } from '../core/fingerprint.ts';
import { listAllRaw } from '../kube/paging.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../kube/kubeconfig.ts';
import { parsePolicies } from '../core/policy/load.ts';
import { objectChangeEntry, resyncEntry } from '../events/schema.ts';
import { makeHandler as makeCloneHandler } from '../functions/clone/handler.ts';
import { parseRuntimeConfig } from '../functions/runtime/config.ts';
import type { Kube as LambdaKube } from '../functions/runtime/kube.ts';
import { clusterProcess, cpu, cpuBetween, delivered, FUNCTIONS, lambdaContext, lambdaKube, ms, pool, quiet, s1, SQS_BATCH, SQS_CONCURRENCY, type BenchCluster, type SqsHandler } from './_fanout-harness.ts';

const N = Number(process.env.FLEET_NAMESPACES ?? 1000);
const CLUSTERS = ['hub', ...Array.from({ length: Math.max(1, Number(process.env.FLEET_CLUSTERS ?? 3)) - 1 }, (_, i) => `edge-${i + 1}`)];
const DEPLOYMENTS_PER_NS = 2;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
const CLONE_USER = 'bench-clone';
const ROLLOUT_USER = 'bench-rollout';

const POLICY = parsePolicies(
  `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret, cluster: hub }
  sync:
    clusters: ["*"]
    namespaces: { selector: { matchLabels: { fanout: bench } } }
  reload: { coalesce: 1s }
`,
  'bench/fleet.ts',
);

interface Member {
  name: string;
  cluster: BenchCluster;
  admin: Kube;
  key: Buffer;
  clone: LambdaKube;
  /** One client per rollout container. */
  rollout: LambdaKube[];
}

export async function run(): Promise<void> {
  console.log(`${CLUSTERS.length} clusters (${CLUSTERS.join(', ')}), each in its own process, x ${N} namespaces x ${DEPLOYMENTS_PER_NS} Deployments; base in hub, copies in every cluster; ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} before setup`);
  const members: Member[] = [];
  try {
    for (const name of CLUSTERS) members.push(await member(name));
    await measure(members);
  } finally {
    await Promise.all(members.map((m) => m.cluster.stop()));
  }
}

async function member(name: string): Promise<Member> {
  const t0 = performance.now();
  const cluster = await clusterProcess({ authorization: 'RBAC', controllers: true });
  const admin = kubeFromKubeConfig(await cluster.kubeConfig(), name, { timeoutMs: 60_000, rateLimit: { perSecond: 0 } });
  const key = newFingerprintKey();
  await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } });
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key } } });
  await admin.core.createNamespace({ body: { metadata: { name: 'base' } } });
  if (name === 'hub') await admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'v1' } } });
  const names = Array.from({ length: N }, (_, i) => `team-${String(i).padStart(5, '0')}`);
  await pool(names, 32, async (ns) => {
    await admin.core.createNamespace({ body: { metadata: { name: ns, labels: { fanout: 'bench' } } } });
    for (let d = 0; d < DEPLOYMENTS_PER_NS; d++) {
      const body: V1Deployment = {
        metadata: { name: `app-${d}`, namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: `app-${d}` } },
          template: { metadata: { labels: { app: `app-${d}` } }, spec: { containers: [{ name: 'app', image: 'example/app:1', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'blogsecret', key: 'password' } } }] }] } },
        },
      };
      await admin.apps.createNamespacedDeployment({ namespace: ns, body });
    }
  });
  // The handlers' RBAC as rendered for this cluster's part of the policy (render per cluster: render/index.ts).
  const { renderRbacFiles } = await import('../render/rbac.ts');
  const { clusterView } = await import('../render/index.ts');
  const files = renderRbacFiles(POLICY, clusterView(POLICY, CLUSTERS, name));
  for (const obj of [...files.clone, ...files.rollout]) await admin.objects.create(obj as KubernetesObject);
  const clone = lambdaKube(await cluster.kubeConfig({ user: CLONE_USER, groups: [HANDLER_GROUPS.clone] }), { perSecond: 0 });
  const rolloutKc = await cluster.kubeConfig({ user: ROLLOUT_USER, groups: [HANDLER_GROUPS.rollout] });
  const rollout = Array.from({ length: SQS_CONCURRENCY }, () => lambdaKube(rolloutKc, { perSecond: 0 }));
  console.log(`setup ${name}: ${N} namespaces, ${N * DEPLOYMENTS_PER_NS} Deployments, rendered RBAC for its part, in ${ms(t0)} ms`);
  return { name, cluster, admin, key: Buffer.from(key, 'utf8'), clone, rollout };
}

type CloneResult = { writes: number; failures: unknown[]; clusters?: Record<string, unknown> };

function handlers(members: Member[]) {
  const byName = Object.fromEntries(members.map((m) => [m.name, m]));
  const config = parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'hub', RIPPLE_CLUSTERS: JSON.stringify(Object.fromEntries(CLUSTERS.map((c) => [c, {}]))) });
  const obs = quiet();
  const clone = makeCloneHandler({ config, kubeFor: async (c) => byName[c]!.clone, policies: () => POLICY, observability: () => obs }) as unknown as (e: unknown, c: Context) => Promise<CloneResult>;
  return { clone: (e: unknown) => clone(e, lambdaContext(FUNCTIONS.clone.timeoutMs)), rollouts: rolloutContainers(byName) };
}

async function rolloutContainers(byName: Record<string, Member>): Promise<SqsHandler[]> {
  const mod = (await import('../functions/rollout/handler.ts')) as { makeHandler: (d: object) => unknown };
  const obs = quiet(true);
  return Array.from({ length: SQS_CONCURRENCY }, (_, i) => mod.makeHandler({ kubeFor: async (c: string) => byName[c]!.rollout[i]!, policies: () => POLICY, observability: () => obs, concurrency: 16 }) as SqsHandler);
}

async function runRollouts(rollouts: SqsHandler[], events: object[]): Promise<number> {
  const batches: object[][] = [];
  for (let i = 0; i < events.length; i += SQS_BATCH) batches.push(events.slice(i, i + SQS_BATCH));
  let failed = 0;
  await pool(batches, SQS_CONCURRENCY, async (b, worker) => {
    const records = b.map((e, i) => ({ messageId: `m-${worker}-${i}-${Math.random()}`, body: JSON.stringify(e), attributes: { SentTimestamp: String(Date.now()) }, messageAttributes: {}, eventSource: 'aws:sqs' }));
    failed += (await rollouts[worker]!({ Records: records }, lambdaContext(FUNCTIONS.rollout.timeoutMs))).batchItemFailures.length;
  });
  return failed;
}

/** What each cluster's forwarder would send for the copies there (fingerprinted under that cluster's key). */
async function copyEvents(m: Member, dt: 'created' | 'updated'): Promise<object[]> {
  const all = await listAllRaw<V1Secret>(m.admin.raw, '/api/v1/secrets', { verb: 'list', resource: 'secrets' }, { query: { fieldSelector: 'metadata.name=blogsecret' } });
  return all
    .filter((s) => s.metadata?.namespace !== 'base')
    .map((c) =>
      delivered(
        objectChangeEntry(DETAIL_TYPES[dt], {
          cluster: m.name, apiVersion: 'v1', kind: 'Secret', namespace: c.metadata!.namespace!, name: 'blogsecret', uid: c.metadata!.uid!, resourceVersion: c.metadata!.resourceVersion!,
          labels: c.metadata?.labels ?? {}, annotations: {}, ownerReferences: [], fingerprint: fingerprint(m.key, { kind: 'Secret', type: c.type, data: c.data }), changes: dt === 'updated' ? ['data', 'annotations'] : [], manager: 'ripple', observedAt: new Date().toISOString(),
        }),
      ),
    );
}

/** Round-robin merge: one event of each cluster in turn, as the forwarders' events meet on one queue. */
function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; i < Math.max(0, ...lists.map((l) => l.length)); i++) for (const l of lists) if (i < l.length) out.push(l[i]!);
  return out;
}

async function generations(m: Member): Promise<Map<string, number>> {
  const g = new Map<string, number>();
  for (const d of (await m.admin.apps.listDeploymentForAllNamespaces()).items) g.set(`${d.metadata!.namespace}/${d.metadata!.name}`, d.metadata!.generation ?? 0);
  return g;
}

const writesBy = (m: Member, user: string, from: number, resource?: string) => m.cluster.audit.slice(from).filter((e) => e.user === user && WRITE_VERBS.has(e.verb) && (!resource || e.resource === resource) && e.code < 400);

async function measure(members: Member[]): Promise<void> {
  const hub = members[0]!;
  const h = handlers(members);
  const rollouts = await h.rollouts;
  // 1. initial sync
  await Promise.all(members.map((m) => m.cluster.sync()));
  let marks = members.map((m) => m.cluster.audit.length);
  let t0 = performance.now();
  const first = await h.clone(delivered(resyncEntry({ cluster: 'hub', reason: 'startup', observedAt: new Date().toISOString() })));
  const cloneMs1 = ms(t0);
  const created = interleave(await Promise.all(members.map((m) => copyEvents(m, 'created'))));
  const failed1 = await runRollouts(rollouts, created);
  await Promise.all(members.map((m) => m.cluster.sync()));
  console.log(`initial sync: clone ${cloneMs1} ms (failures ${first.failures.length}), rollouts ${ms(t0)} ms in all (failed records ${failed1}); writes per cluster: ${members.map((m, i) => `${m.name} ${writesBy(m, CLONE_USER, marks[i]!).length}`).join(', ')} (minimum ${N} each)`);

  // 2. the base updated in hub: measured
  const before = await Promise.all(members.map(generations));
  const src = await hub.admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
  src.data = { password: Buffer.from('v2').toString('base64') };
  const updated = await hub.admin.core.replaceNamespacedSecret({ namespace: 'base', name: 'blogsecret', body: src });
  const cpu0s = await Promise.all(members.map((m) => m.cluster.sync()));
  marks = members.map((m) => m.cluster.audit.length);
  const event = delivered(
    objectChangeEntry(DETAIL_TYPES.updated, {
      cluster: 'hub', apiVersion: 'v1', kind: 'Secret', namespace: 'base', name: 'blogsecret', uid: updated.metadata!.uid!, resourceVersion: updated.metadata!.resourceVersion!,
      labels: {}, annotations: {}, ownerReferences: [], fingerprint: fingerprint(hub.key, { kind: 'Secret', type: updated.type, data: updated.data }), changes: ['data'], observedAt: new Date().toISOString(),
    }),
  );
  const wall0 = Date.now();
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const second = await h.clone(event);
  const cloneMs = ms(t0);
  const cloneCpu = cpu(cpu0);
  // every cluster's forwarder sends at once: their events interleaved on the queue
  const updatedEvents = interleave(await Promise.all(members.map((m) => copyEvents(m, 'updated'))));
  const failed = await runRollouts(rollouts, updatedEvents);
  const totalMs = ms(t0);
  const totalCpu = cpu(cpu0);
  const cpu1s = await Promise.all(members.map((m) => m.cluster.sync()));
  const after = await Promise.all(members.map(generations));
  console.log(`\nbase update in hub -> every copy and consumer in every cluster: ${s1(totalMs)} s wall (clone invocation ${s1(cloneMs)} s), handlers' CPU ${s1(totalCpu)} s (clone ${s1(cloneCpu)} s); clone failures ${second.failures.length}, failed rollout records ${failed}; load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs`);
  console.log('  cluster   copies written (min)   last copy at   rollouts (min)   Deployments advanced once   last rollout at   API server CPU');
  let exact = second.failures.length === 0 && failed === 0;
  members.forEach((m, i) => {
    const writes = writesBy(m, CLONE_USER, marks[i]!);
    const rolls = writesBy(m, ROLLOUT_USER, marks[i]!, 'deployments');
    let once = 0;
    for (const [k, g] of after[i]!) if (g === (before[i]!.get(k) ?? 0) + 1) once++;
    const lastCopy = writes.length ? Math.max(...writes.map((e) => e.at)) - wall0 : 0;
    const lastRoll = rolls.length ? Math.max(...rolls.map((e) => e.at)) - wall0 : 0;
    const cpuMs = cpuBetween(cpu0s[i]!, cpu1s[i]!);
    exact &&= writes.length === N && rolls.length === N * DEPLOYMENTS_PER_NS && once === after[i]!.size;
    console.log(
      `  ${m.name.padEnd(8)}  ${`${writes.length} (${N})`.padEnd(21)}  ${`${s1(lastCopy)} s`.padEnd(13)}  ${`${rolls.length} (${N * DEPLOYMENTS_PER_NS})`.padEnd(15)}  ${`${once}/${after[i]!.size}`.padEnd(26)}  ${`${s1(lastRoll)} s`.padEnd(16)}  ${cpuMs === null ? '-' : `${s1(cpuMs)} s`}`,
    );
  });
  console.log(`  every cluster converged with writes = minimum and each Deployment rolled out once: ${exact ? 'yes' : 'NO'}`);
}
