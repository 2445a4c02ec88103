/**
 * `npm run bench -- fanout`: N namespaces x 2 Deployments each consuming the base Secret's copy, on the embedded
 * cluster with RBAC enforced, for several N in one run (default 1,000, 5,000 and 10,000; FANOUT_SIZES=1000,5000
 * or FANOUT_NAMESPACES=N for one size), each size in a fresh process of its own (./_fanout-child.ts). The handlers run as Lambda would run them: each as its own identity bound
 * to its rendered ClusterRole, over the Lambda request path (kube/http.ts: node:https, token
 * bucket, 429 + Retry-After honoured), the rollout handler as 5 containers (the queue's maximum concurrency),
 * each with its own client:
 *   1. initial sync (clone resync: N creates) and the rollouts those new copies cause;
 *   2. the base is updated: the clone handler for the source event (N copy updates); as in production, the
 *      rollouts run while the clone is still writing: a watch of the copies (the forwarder's part, started
 *      before the change) turns each copy update into its event the moment it is seen and sends it to a local
 *      SQS queue (infra/local/dev/sqs.ts semantics: batches of 100, the batching window and concurrency rendered for
 *      the policy), whose event source mapping feeds the rollout containers. Measured from the clone's invocation
 *      to the last batch processed.
 * Printed per size: wall time per phase, CPU of both processes, writes and rollouts counted from the audit log
 * against the minimum possible (N writes, 2N rollouts; every Deployment's generation must advance by exactly
 * one), the longest invocation of each function against its timeout (serverless.yml: clone 300 s, rollout 60 s;
 * a clone invocation failing as retryable is retried as Lambda would, and counted), the handlers' memory (heap
 * above a post-GC baseline, peak RSS); then a table of all
 * sizes with the cost ratio per namespace (largest / smallest). Goal: 10,000 namespaces <= 20 s, ratio <= 11.
 *
 * Then the same scenario with the API server rate-limited (FANOUT_RATE_LIMITED=<requests/s>@<namespaces>,
 * default 200@5000; "off" skips it): the embedded server answers 429 + Retry-After over the limit and the
 * handlers' clients keep their production default (RIPPLE_KUBE_QPS 100/s per container); it must converge with
 * no failed invocation, writes = minimum, no invocation over its timeout (a verdict line says so). In the unlimited runs the handlers'
 * client-side limit is off (FANOUT_CLIENT_QPS, default 0), so the figures show what the code costs, not the limit.
 *
 * The policy's reload.coalesce is 1s (the copy events are sent the moment the copies are written, so the first
 * batches wait out that window once; see docs/adr/0004-coalescing-holds-per-change-window.md).
 *
 * Profiling: `node --cpu-prof --cpu-prof-dir=D bench/run.ts fanout` profiles the handlers' process;
 * FANOUT_CLUSTER_NODE_ARGS="--cpu-prof --cpu-prof-dir=D" the cluster's.
 *
 * Where the cluster runs (FANOUT_CLUSTER): process (default; the embedded cluster in a child process,
 * ./_cluster-process.ts, as in production where the API server is another machine), in-process (API server,
 * controllers and handlers share this Node process), or both.
 */
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { StartClusterOptions } from '../infra/local/cluster/index.ts';
import { FINGERPRINT_KEY_SECRET, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../core/constants.ts';
import { newFingerprintKey } from '../core/fingerprint.ts';
import { DEFAULT_RATE_LIMIT } from '../kube/http.ts';
import type { RateLimit } from '../kube/rate.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../kube/kubeconfig.ts';
import { parsePolicies } from '../core/policy/load.ts';
import { resyncEntry } from '../events/schema.ts';
import {
  cloneInvoker, clusterProcess, cpu, cpuBetween, delivered, FUNCTIONS, inProcessCluster, mb, memorySampler, ms, phaseProfile, pool, printFailureReasons, rolloutHandlers, rolloutQueue, runRollouts, SQS_CONCURRENCY,
  type Audited, type BenchCluster, type CloneResult, type Invocations, type MemorySample, type Mode, type SqsHandler,
} from './_fanout-harness.ts';
import { printTable, type Summary } from './_fanout-report.ts';
import { copyEvents, forwardCopies, sourceUpdated } from './_fanout-events.ts';

const SIZES = (process.env.FANOUT_SIZES ?? process.env.FANOUT_NAMESPACES ?? '1000,5000,10000').split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
/** FANOUT_CONTROLLERS=0 turns the embedded cluster's workload controllers off (no ReplicaSets per rollout). */
const CONTROLLERS = process.env.FANOUT_CONTROLLERS !== '0';
/** Client-side limit of the handlers in the unlimited runs (0 = off). */
const CLIENT_QPS = Number(process.env.FANOUT_CLIENT_QPS ?? 0);
const RATE_LIMITED = ((v: string) => {
  if (v === 'off') return null;
  const m = /^(\d+)@(\d+)$/.exec(v);
  if (!m) throw new Error(`FANOUT_RATE_LIMITED: expected <requests/s>@<namespaces> or off, got "${v}"`);
  return { perSecond: Number(m[1]), namespaces: Number(m[2]) };
})(process.env.FANOUT_RATE_LIMITED ?? '200@5000');
const DEPLOYMENTS_PER_NS = 2;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
const MODES: Mode[] = ({ 'in-process': ['in-process'], both: ['in-process', 'separate process'] } as Record<string, Mode[]>)[process.env.FANOUT_CLUSTER ?? ''] ?? ['separate process'];

const clusterOptions = (maxRequestsPerSecond?: number): StartClusterOptions => ({ authorization: 'RBAC', controllers: CONTROLLERS, ...(maxRequestsPerSecond ? { maxRequestsPerSecond } : {}) });

const POLICY = parsePolicies(
  `apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret }
  sync:
    namespaces: { selector: { matchLabels: { fanout: bench } } }
  reload: { coalesce: 1s }
`,
  'bench/fanout.ts',
);

async function bindRendered(admin: Kube, handler: 'clone' | 'rollout'): Promise<boolean> {
  try {
    const { renderRbacFiles } = await import('../render/rbac.ts');
    for (const obj of renderRbacFiles(POLICY)[handler]) await admin.objects.create(obj as KubernetesObject);
    return true;
  } catch (err) {
    console.log(`  (rendered RBAC for ${handler} unavailable: ${(err as Error).message.split('\n')[0]}; binding cluster-admin instead)`);
    await admin.objects.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `bench-${handler}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ kind: 'Group', name: HANDLER_GROUPS[handler], apiGroup: 'rbac.authorization.k8s.io' }] } as KubernetesObject);
    return false;
  }
}

export async function run(): Promise<void> {
  const results: Summary[] = [];
  for (const mode of MODES) {
    for (const n of SIZES) {
      console.log(`\n--- ${n} namespaces, cluster ${mode === 'in-process' ? 'in this process (API server, controllers and handlers share one event loop)' : 'in a separate process (as in production)'}; API server unlimited, handlers' client limit ${CLIENT_QPS ? `${CLIENT_QPS}/s` : 'off'} ---`);
      results.push(await isolated({ mode, n, label: 'unlimited', clientLimit: { perSecond: CLIENT_QPS } }));
    }
  }
  if (RATE_LIMITED) {
    const mode = MODES[MODES.length - 1];
    console.log(`\n--- ${RATE_LIMITED.namespaces} namespaces, API server limited to ${RATE_LIMITED.perSecond} requests/s (429 + Retry-After), handlers' client limit ${DEFAULT_RATE_LIMIT.perSecond}/s per container (the default) ---`);
    results.push(await isolated({ mode, n: RATE_LIMITED.namespaces, label: `${RATE_LIMITED.perSecond} req/s`, maxRequestsPerSecond: RATE_LIMITED.perSecond, clientLimit: DEFAULT_RATE_LIMIT }));
  }
  printTable(results, MODES);
}

/**
 * One run in a fresh process of its own (./_fanout-child.ts), as every size starts on a fresh machine: no heap,
 * garbage or JIT state carried over from the sizes before it, so each size's figures are its own.
 */
async function isolated(o: RunOptions): Promise<Summary> {
  const child = fork(fileURLToPath(new URL('./_fanout-child.ts', import.meta.url)), [JSON.stringify(o)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise<Summary>((resolve, reject) => {
    let summary: Summary | undefined;
    child.on('message', (m: Summary) => (summary = m));
    child.once('error', reject);
    child.once('exit', (code) => (summary && code === 0 ? resolve(summary) : reject(new Error(`fanout run of ${o.n} namespaces (${o.label}) exited with ${code}`))));
  });
}

export interface RunOptions {
  mode: Mode;
  n: number;
  label: string;
  maxRequestsPerSecond?: number;
  clientLimit: RateLimit;
}

export async function runOnce(o: RunOptions): Promise<Summary> {
  const cluster = o.mode === 'in-process' ? await inProcessCluster(clusterOptions(o.maxRequestsPerSecond)) : await clusterProcess(clusterOptions(o.maxRequestsPerSecond));
  try {
    const h = await harness(cluster, o);
    await initialSync(h);
    return await baseUpdate(h, o);
  } finally {
    await cluster.stop();
  }
}

/** One size's run: the cluster, the handlers as their own users, and how to drive them. */
interface Harness {
  N: number;
  cluster: BenchCluster;
  audit: Audited[];
  admin: Kube;
  /** Successful writes by `user` (of `resource`, if given) in the audit records from index `from` on. */
  writesBy(user: string, from: number, resource?: string): number;
  cloneUser: string;
  rolloutUser: string;
  clone(e: unknown): Promise<CloneResult>;
  rollouts: SqsHandler[];
  keyBytes: Buffer;
  invocations: Invocations;
  copyEvents(dt: 'created' | 'updated'): Promise<object[]>;
  runRollouts(events: object[]): Promise<number>;
  /** The rollout queue (local SQS semantics) feeding the rollout containers. */
  rolloutQueue(): ReturnType<typeof rolloutQueue>;
  generations(): Promise<Map<string, number>>;
}

/** The admin client, the scenario (setup()), the clone handler and the rollout containers, each as its own identity. */
async function harness(cluster: BenchCluster, o: RunOptions): Promise<Harness> {
  const N = o.n;
  const audit = cluster.audit;
  const admin = kubeFromKubeConfig(await cluster.kubeConfig(), 'local', { timeoutMs: 60_000, rateLimit: { perSecond: 0 } });
  const writesBy = (user: string, from: number, resource?: string) => audit.slice(from).filter((e) => e.user === user && WRITE_VERBS.has(e.verb) && (!resource || e.resource === resource) && e.code < 400).length;
  // --- setup (admin, group system:masters: exempt from the API server's rate limit) ----------------------
  const key = await setup(admin, N);

  const cloneUser = 'bench-clone';
  const rolloutUser = 'bench-rollout';
  const cloneKc = await cluster.kubeConfig({ user: cloneUser, groups: [HANDLER_GROUPS.clone] });
  const rolloutKc = await cluster.kubeConfig({ user: rolloutUser, groups: [HANDLER_GROUPS.rollout] });
  const invocations: Invocations = { maxMs: { clone: 0, rollout: 0 }, cloneRetries: 0 };
  const clone = cloneInvoker(cloneKc, o.clientLimit, invocations, POLICY);
  const rollouts = await rolloutHandlers(rolloutKc, o.clientLimit, POLICY);
  const keyBytes = Buffer.from(key, 'utf8');
  return {
    N, cluster, audit, admin, writesBy, cloneUser, rolloutUser, clone, rollouts, keyBytes, invocations,
    copyEvents: (dt) => copyEvents(admin, keyBytes, dt),
    runRollouts: (events) => runRollouts(rollouts, events, invocations),
    rolloutQueue: () => rolloutQueue(rollouts, invocations, POLICY),
    generations: () => generations(admin),
  };
}

/** The fingerprint key, the base Secret, N labelled namespaces with their Deployments, the handlers' RBAC; returns the key. */
async function setup(admin: Kube, N: number): Promise<string> {
  const t0 = performance.now();
  const key = newFingerprintKey();
  await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } });
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key } } });
  await admin.core.createNamespace({ body: { metadata: { name: 'base' } } });
  await admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'v1' } } });
  const names = Array.from({ length: N }, (_, i) => `team-${String(i).padStart(5, '0')}`);
  await pool(names, 32, async (ns) => {
    await admin.core.createNamespace({ body: { metadata: { name: ns, labels: { fanout: 'bench' } } } });
    for (let d = 0; d < DEPLOYMENTS_PER_NS; d++) {
      const body: V1Deployment = {
        metadata: { name: `app-${d}`, namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: `app-${d}` } },
          template: {
            metadata: { labels: { app: `app-${d}` } },
            spec: { containers: [{ name: 'app', image: 'example/app:1', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'blogsecret', key: 'password' } } }] }] },
          },
        },
      };
      await admin.apps.createNamespacedDeployment({ namespace: ns, body });
    }
  });
  const fullRbac = (await bindRendered(admin, 'clone')) && (await bindRendered(admin, 'rollout'));
  console.log(`setup: ${N} namespaces, ${N * DEPLOYMENTS_PER_NS} Deployments in ${ms(t0)} ms (RBAC: ${fullRbac ? 'rendered ClusterRoles' : 'cluster-admin fallback'}; workload controllers ${CONTROLLERS ? 'on' : 'off'})`);
  return key;
}

async function generations(admin: Kube): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for (const d of (await admin.apps.listDeploymentForAllNamespaces()).items) m.set(`${d.metadata!.namespace}/${d.metadata!.name}`, d.metadata!.generation ?? 0);
  return m;
}

/** Phase 1: the clone handler's startup resync (N creates), then the rollouts the new copies cause. */
async function initialSync(h: Harness): Promise<void> {
  const { N, cluster, audit, writesBy, cloneUser, rolloutUser, clone } = h;
  await cluster.sync();
  const mark = audit.length;
  const t0 = performance.now();
  const first = await clone(delivered(resyncEntry({ cluster: 'local', reason: 'startup', observedAt: new Date().toISOString() })));
  const cloneMs1 = ms(t0);
  const tR = performance.now();
  const failed1 = await h.runRollouts(await h.copyEvents('created'));
  const rolloutMs1 = ms(tR);
  await cluster.sync();
  console.log(`initial sync: clone ${cloneMs1} ms, ${writesBy(cloneUser, mark)} writes (minimum ${N}), failures ${first.failures.length}; rollout ${rolloutMs1} ms, ${writesBy(rolloutUser, mark, 'deployments')} rollouts (minimum ${N * DEPLOYMENTS_PER_NS}), failed records ${failed1}`);

  printFailureReasons();
}

/** Phase 2: the base is updated; the clone handler, then the rollouts for the N copy events (measured); the checks; a report. */
async function baseUpdate(h: Harness, o: { mode: Mode; label: string }): Promise<Summary> {
  const before = await h.generations();
  const measured = await measureUpdate(h);
  const checked = await checkUpdate(h, measured, before);
  printFailureReasons();
  return reportUpdate(h, o, measured, checked);
}

/** What the base update cost: wall and CPU time (clone, then whole chain), memory, failures, longest invocations. */
interface Measured {
  /** Index of the first audit record of the phase. */
  mark: number;
  /** The copy-updated events the rollouts were given. */
  events: object[];
  cloneMs: number;
  cloneCpu: number;
  /** When the last copy event reached the queue (ms from the start). */
  lastEventMs: number;
  totalMs: number;
  totalCpu: number;
  clusterCpu: number | null;
  mem: MemorySample;
  cloneFailures: number;
  failedRecords: number;
  maxInvocationMs: { clone: number; rollout: number };
  cloneRetries: number;
}

/** The base Secret's data changed, then the measured chain: the clone invocation for its event, the rollouts for the copies'. */
async function measureUpdate(h: Harness): Promise<Measured> {
  const { N, cluster, audit, admin, clone, keyBytes, invocations } = h;
  const src = await admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
  src.data = { password: Buffer.from('v2').toString('base64') };
  const updated = await admin.core.replaceNamespacedSecret({ namespace: 'base', name: 'blogsecret', body: src });
  const clusterCpu0 = await cluster.sync();
  const mark = audit.length;
  invocations.maxMs = { clone: 0, rollout: 0 };
  const retriesBefore = invocations.cloneRetries;
  const forwarded = forwardCopies(h, updated.metadata!.resourceVersion!);
  const memory = memorySampler();
  memory.mark('clone');
  const stopProfile = await phaseProfile(cluster, N);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const second = await clone(sourceUpdated(updated, keyBytes));
  memory.mark('rollout');
  const cloneMs = ms(t0);
  const cloneCpu = cpu(cpu0);
  const { events, failedRecords, lastEventAt } = await forwarded.done();
  const totalMs = ms(t0);
  const lastEventMs = Math.round(lastEventAt - t0);
  const totalCpu = cpu(cpu0);
  const mem = memory.stop();
  await stopProfile();
  const clusterCpu = cpuBetween(clusterCpu0, await cluster.sync());
  return {
    mark, events, cloneMs, cloneCpu, lastEventMs, totalMs, totalCpu, clusterCpu, mem, cloneFailures: second.failures.length, failedRecords,
    maxInvocationMs: { ...invocations.maxMs }, cloneRetries: invocations.cloneRetries - retriesBefore,
  };
}

/** What the audit log and the Deployments say about the base update, and what a duplicate delivery costs. */
interface Checked {
  cloneWrites: number;
  rolloutCount: number;
  throttled: number;
  cloneRequests: string;
  rolloutRequests: string;
  advancedOnce: number;
  deployments: number;
  dupRollouts: number;
}

/** Writes, rollouts and 429s from the audit log; Deployments whose generation advanced once; then a duplicate delivery. */
async function checkUpdate(h: Harness, m: Measured, before: Map<string, number>): Promise<Checked> {
  const { cluster, audit, writesBy, cloneUser, rolloutUser } = h;
  const cloneWrites = writesBy(cloneUser, m.mark);
  const rolloutCount = writesBy(rolloutUser, m.mark, 'deployments');
  const throttled = audit.slice(m.mark).filter((e) => e.code === 429).length;
  const cloneRequests = requestsBy(audit, m.mark, cloneUser);
  const rolloutRequests = requestsBy(audit, m.mark, rolloutUser);
  const after = await h.generations();
  let advancedOnce = 0;
  for (const [k, g] of after) if (g === (before.get(k) ?? 0) + 1) advancedOnce++;
  // A duplicate delivery of the same batch: must cost zero rollouts.
  const markDup = audit.length;
  await h.runRollouts(m.events);
  await cluster.sync();
  const dupRollouts = writesBy(rolloutUser, markDup, 'deployments');
  return { cloneWrites, rolloutCount, throttled, cloneRequests, rolloutRequests, advancedOnce, deployments: after.size, dupRollouts };
}

/** `user`'s requests in the audit records from index `mark` on, by verb and resource (each error status apart: 409, 429, ...), most frequent first. */
function requestsBy(audit: Audited[], mark: number, user: string): string {
  const m = new Map<string, number>();
  for (const e of audit.slice(mark)) {
    if (e.user !== user) continue;
    const k = `${e.verb} ${e.resource ?? e.uri}${e.code >= 400 ? ` (${e.code})` : ''}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
}

/** The base update's lines of the report, and its summary for the table. */
function reportUpdate(h: Harness, o: { mode: Mode; label: string }, m: Measured, c: Checked): Summary {
  const { N, rollouts } = h;
  const { mem, clusterCpu, totalCpu } = m;
  const peakHeapMb = mb(Math.max(...mem.peaks.values()));
  const cloneHeapMb = mb((mem.peaks.get('clone') ?? mem.baseline) - mem.baseline);
  const rolloutHeapMb = mb((mem.peaks.get('rollout') ?? mem.baseline) - mem.baseline);
  const peakRssMb = mb(mem.peakRss);
  console.log(`base update: clone ${m.cloneMs} ms wall, ${m.cloneCpu} ms CPU${clusterCpu === null ? '' : ' in this process'}, rollouts running alongside from the first copy event (${c.cloneWrites} writes, minimum ${N}; failures ${m.cloneFailures}); last copy event seen at ${m.lastEventMs} ms`);
  console.log(`             clone requests: ${c.cloneRequests}`);
  if (rollouts.length) console.log(`             rollout requests: ${c.rolloutRequests}`);
  if (rollouts.length) {
    console.log(`             rollouts ${c.rolloutCount} (minimum ${N * DEPLOYMENTS_PER_NS}); Deployments whose generation advanced exactly once: ${c.advancedOnce}/${c.deployments}; failed records ${m.failedRecords}`);
    console.log(`             duplicate delivery of all ${m.events.length} copy events: ${c.dupRollouts} rollouts (minimum 0)`);
  }
  const load = loadavg()[0];
  const cpuText = clusterCpu === null ? `${totalCpu} ms CPU (cluster and handlers in this one process)` : `CPU: handlers ${totalCpu} ms (this process) + cluster ${clusterCpu} ms (its own process)`;
  console.log(`             total ${m.totalMs} ms wall, ${cpuText}; longest invocation clone ${Math.round(m.maxInvocationMs.clone)} ms (timeout ${FUNCTIONS.clone.timeoutMs} ms), rollout ${Math.round(m.maxInvocationMs.rollout)} ms (timeout ${FUNCTIONS.rollout.timeoutMs} ms); clone invocations retried ${m.cloneRetries}; ${c.throttled} answers 429; load average ${load.toFixed(1)} on ${cpus().length} CPUs`);
  console.log(`             memory of this process${clusterCpu === null ? ' (cluster included)' : ''}: heap baseline ${mb(mem.baseline)} MB (the bench's own records included), peak ${peakHeapMb} MB; above the baseline: +${cloneHeapMb} MB during the clone invocation (rollouts alongside), +${rolloutHeapMb} MB during the rollouts after it (${SQS_CONCURRENCY} containers; the bench's growing audit and event records included); peak RSS ${peakRssMb} MB`);
  const exact = c.cloneWrites === N && (rollouts.length === 0 || (c.rolloutCount === N * DEPLOYMENTS_PER_NS && c.advancedOnce === c.deployments && c.dupRollouts === 0));
  return {
    label: o.label, mode: o.mode, n: N, cloneMs: m.cloneMs, totalMs: m.totalMs, handlersCpu: totalCpu, clusterCpu, load, cloneWrites: c.cloneWrites, rollouts: c.rolloutCount, advancedOnce: c.advancedOnce,
    deployments: c.deployments, dupRollouts: c.dupRollouts, failedRecords: m.failedRecords, cloneFailures: m.cloneFailures, maxInvocationMs: m.maxInvocationMs, cloneRetries: m.cloneRetries,
    peakHeapMb, cloneHeapMb, rolloutHeapMb, peakRssMb, throttled: c.throttled, exact,
  };
}
