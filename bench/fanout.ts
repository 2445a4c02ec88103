/**
 * `npm run bench -- fanout`: N namespaces x 2 Deployments each consuming the base Secret's copy, on the embedded
 * cluster with RBAC enforced, for several N in one run (default 1,000, 5,000 and 10,000; FANOUT_SIZES=1000,5000
 * or FANOUT_NAMESPACES=N for one size). The handlers run as Lambda would run them: each as its own identity bound
 * to its rendered ClusterRole, over the Lambda request path (kube/http.ts: node:https, token
 * bucket, 429 + Retry-After honoured), the rollout handler as 5 containers (the queue's maximum concurrency),
 * each with its own client:
 *   1. initial sync (clone resync: N creates) and the rollouts those new copies cause;
 *   2. the base is updated: clone handler for the source event (N copy updates), then the rollout handler for
 *      the N copy-updated events the forwarder would send, in SQS batches of 100 with 5 batches in flight.
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
import type { KubernetesObject, V1Deployment, V1Secret } from '@kubernetes/client-node';
import type { Context } from 'aws-lambda';
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { startCluster, type StartClusterOptions } from '../infra/local/cluster/index.ts';
import type { AuditTuple, ClusterRequest } from './_cluster-process.ts';
import { makeHandler as makeCloneHandler } from '../functions/clone/handler.ts';
import { DETAIL_TYPES, FINGERPRINT_KEY_SECRET, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../core/constants.ts';
import { fingerprint, newFingerprintKey } from '../core/fingerprint.ts';
import { kubeOverHttp, type Kube as LambdaKube } from '../functions/runtime/kube.ts';
import { DEFAULT_RATE_LIMIT } from '../kube/http.ts';
import { listAllRaw } from '../kube/paging.ts';
import type { RateLimit } from '../kube/rate.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../kube/kubeconfig.ts';
import { parsePolicies } from '../core/policy/load.ts';
import { parseRuntimeConfig } from '../functions/runtime/config.ts';
import { RetryableError } from '../core/errors.ts';
import { objectChangeEntry, resyncEntry, type PutEntry } from '../events/schema.ts';

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
const SQS_BATCH = 100;
const SQS_CONCURRENCY = 5;
/** The functions' timeouts and the clone's asynchronous retries, as serverless.yml sets them: no invocation may need more. */
const FUNCTIONS = ((): { clone: { timeoutMs: number; retries: number }; rollout: { timeoutMs: number } } => {
  const doc = parseYaml(readFileSync(fileURLToPath(new URL('../serverless.yml', import.meta.url)), 'utf8')) as {
    provider: { timeout?: number };
    functions: Record<string, { timeout?: number; maximumRetryAttempts?: number }>;
  };
  const timeout = (f: string) => (doc.functions[f]?.timeout ?? doc.provider.timeout ?? 6) * 1000;
  return { clone: { timeoutMs: timeout('clone'), retries: doc.functions.clone?.maximumRetryAttempts ?? 2 }, rollout: { timeoutMs: timeout('rollout') } };
})();
const GOAL_MS = 20_000;
const GOAL_N = 10_000;
const GOAL_RATIO = 11;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
type Mode = 'in-process' | 'separate process';
const MODES: Mode[] = ({ 'in-process': ['in-process'], both: ['in-process', 'separate process'] } as Record<string, Mode[]>)[process.env.FANOUT_CLUSTER ?? ''] ?? ['separate process'];

/** What the bench reads from an audit record. */
interface Audited {
  user: string;
  verb: string;
  resource: string | null;
  uri: string;
  code: number;
}

/** The cluster as the bench uses it, wherever it runs. */
interface BenchCluster {
  kubeConfig(o?: { user?: string; groups?: string[] }): Promise<KubeConfig>;
  /** Start, or stop and write to `file`, a CPU profile of the cluster's process (separate process only). */
  profile?(action: 'start' | 'stop', file?: string): Promise<void>;
  /** Audit records so far (complete up to the last sync()). */
  audit: Audited[];
  /** Wait for every audit record of the requests answered so far; the cluster process's CPU usage (null in-process). */
  sync(): Promise<NodeJS.CpuUsage | null>;
  stop(): Promise<void>;
}

const clusterOptions = (maxRequestsPerSecond?: number): StartClusterOptions => ({ authorization: 'RBAC', controllers: CONTROLLERS, ...(maxRequestsPerSecond ? { maxRequestsPerSecond } : {}) });

async function inProcessCluster(opts: StartClusterOptions): Promise<BenchCluster> {
  const cluster = await startCluster(opts);
  const audit: Audited[] = [];
  cluster.onAudit((e) => audit.push({ user: e.user.username, verb: e.verb, resource: e.objectRef?.resource ?? null, uri: e.requestURI, code: e.responseStatus.code }));
  return { kubeConfig: async (o) => cluster.kubeConfig(o), audit, sync: async () => null, stop: () => cluster.stop() };
}

async function clusterProcess(opts: StartClusterOptions): Promise<BenchCluster> {
  // FANOUT_CLUSTER_NODE_ARGS: node flags for the cluster process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const execArgv = (process.env.FANOUT_CLUSTER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = fork(fileURLToPath(new URL('./_cluster-process.ts', import.meta.url)), [JSON.stringify(opts)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const audit: Audited[] = [];
  const waiting = new Map<number, (v: unknown) => void>();
  let ids = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cluster process exited (${code})`)));
    child.on('message', (m: { type: string; id?: number; value?: unknown; events?: AuditTuple[] }) => {
      if (m.type === 'ready') resolve();
      else if (m.type === 'audit') for (const [user, verb, resource, uri, code] of m.events!) audit.push({ user, verb, resource, uri, code });
      else if (m.type === 'reply') waiting.get(m.id!)?.(m.value);
    });
  });
  await ready;
  const call = <T>(m: ClusterRequest): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = ++ids;
      waiting.set(id, resolve as (v: unknown) => void);
      child.send({ ...m, id });
    });
  return {
    async kubeConfig(o) {
      const kc = new KubeConfig();
      kc.loadFromString(await call<string>({ type: 'kubeconfig', opts: o }));
      return kc;
    },
    audit,
    profile: async (action, file) => void (await call(action === 'start' ? { type: 'profile', action } : { type: 'profile', action, file: file! })),
    sync: () => call<NodeJS.CpuUsage>({ type: 'sync' }),
    async stop() {
      await call({ type: 'stop' });
      await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
    },
  };
}

/** A Kube over the Lambda request path (as on EKS: node:https, bearer token, CA; token bucket; 429 retries). */
function lambdaKube(kc: KubeConfig, rateLimit: RateLimit): LambdaKube {
  const cluster = kc.getCurrentCluster()!;
  const token = kc.getCurrentUser()!.token!;
  return kubeOverHttp('local', { server: cluster.server, ca: Buffer.from(cluster.caData!, 'base64'), prepare: async (ro) => void (ro.headers.Authorization = `Bearer ${token}`) }, { timeoutMs: 60_000, rateLimit });
}

interface Summary {
  label: string;
  mode: Mode;
  n: number;
  cloneMs: number;
  totalMs: number;
  handlersCpu: number;
  clusterCpu: number | null;
  load: number;
  cloneWrites: number;
  rollouts: number;
  advancedOnce: number;
  deployments: number;
  dupRollouts: number;
  failedRecords: number;
  cloneFailures: number;
  /** Longest invocation of each function (against its timeout). */
  maxInvocationMs: { clone: number; rollout: number };
  /** Clone invocations that failed (retryable) and were retried, as Lambda's asynchronous retry would. */
  cloneRetries: number;
  peakHeapMb: number;
  /** Heap growth above the baseline (after a full GC, before the phase): clone invocation, then rollouts. */
  cloneHeapMb: number;
  rolloutHeapMb: number;
  peakRssMb: number;
  throttled: number;
  exact: boolean;
}

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

/** Reasons the rollout handler logged for failed namespace groups (names only), to print a summary. */
const failureReasons = new Map<string, number>();

function quiet(capture = false) {
  const logger = new Logger({ serviceName: 'ripple-bench', logLevel: capture ? 'WARN' : 'SILENT' });
  if (capture) {
    const take = (line: string) => {
      const r = JSON.parse(line) as { message?: string; reason?: string };
      const key = `${r.message}: ${(r.reason ?? '').replace(/team-\d+/g, 'team-N').slice(0, 160)}`;
      failureReasons.set(key, (failureReasons.get(key) ?? 0) + 1);
    };
    (logger as unknown as { console: Partial<Console> }).console = { log: take, info: take, warn: take, error: take, debug: take, trace: take };
  }
  const metrics = new Metrics({ namespace: 'Ripple', serviceName: 'ripple-bench' });
  (metrics as unknown as { console: Pick<Console, 'log'> }).console = { log: () => {} };
  return { logger, metrics };
}

/** A Lambda context whose remaining time counts down from the function timeout. */
function lambdaContext(timeoutMs: number): Context {
  const deadline = performance.now() + timeoutMs;
  return { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())) } as unknown as Context;
}

let seq = 0;
function delivered(entry: PutEntry): object {
  return { version: '0', id: `bench-${++seq}`, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T, worker: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async (_, w) => {
    while (next < items.length) await fn(items[next++], w);
  }));
}

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

function ms(t0: number): number {
  return Math.round(performance.now() - t0);
}

/** CPU time of this process since `from`, in ms. */
function cpu(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return Math.round((d.user + d.system) / 1000);
}

function cpuBetween(a: NodeJS.CpuUsage | null, b: NodeJS.CpuUsage | null): number | null {
  return a && b ? Math.round((b.user - a.user + b.system - a.system) / 1000) : null;
}

const s1 = (x: number) => (x / 1000).toFixed(1);

/** A full GC (for the heap baseline), without starting node with --expose-gc. */
const fullGc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Peak heap and RSS of this process (the handlers' and the bench's) while `mark` names the part running. Sampled
 * every 20 ms with cheap calls (v8 heap statistics, process.memoryUsage.rss()).
 */
function memorySampler(): { mark(part: string): void; stop(): { baseline: number; peakRss: number; peaks: Map<string, number> } } {
  fullGc();
  const baseline = getHeapStatistics().used_heap_size;
  let part = '';
  let peakRss = process.memoryUsage.rss();
  const peaks = new Map<string, number>();
  const sample = () => {
    const h = getHeapStatistics().used_heap_size;
    if (h > (peaks.get(part) ?? 0)) peaks.set(part, h);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 20);
  return {
    mark(p) {
      sample();
      part = p;
    },
    stop() {
      sample();
      clearInterval(timer);
      return { baseline, peakRss, peaks };
    },
  };
}
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * FANOUT_PROFILE=<dir>: CPU profiles of the base-update phase only (handlers' process and cluster's process),
 * written as <dir>/<N>-handlers.cpuprofile and <dir>/<N>-cluster.cpuprofile (open in Chrome DevTools).
 */
async function phaseProfile(cluster: BenchCluster, n: number): Promise<() => Promise<void>> {
  const dir = process.env.FANOUT_PROFILE;
  if (!dir) return async () => {};
  const { Session } = await import('node:inspector/promises');
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  await cluster.profile?.('start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${dir}/${n}-handlers.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
    await cluster.profile?.('stop', `${dir}/${n}-cluster.cpuprofile`);
  };
}

export async function run(): Promise<void> {
  const results: Summary[] = [];
  for (const mode of MODES) {
    for (const n of SIZES) {
      console.log(`\n--- ${n} namespaces, cluster ${mode === 'in-process' ? 'in this process (API server, controllers and handlers share one event loop)' : 'in a separate process (as in production)'}; API server unlimited, handlers' client limit ${CLIENT_QPS ? `${CLIENT_QPS}/s` : 'off'} ---`);
      results.push(await runOnce({ mode, n, label: 'unlimited', clientLimit: { perSecond: CLIENT_QPS } }));
    }
  }
  if (RATE_LIMITED) {
    const mode = MODES[MODES.length - 1];
    console.log(`\n--- ${RATE_LIMITED.namespaces} namespaces, API server limited to ${RATE_LIMITED.perSecond} requests/s (429 + Retry-After), handlers' client limit ${DEFAULT_RATE_LIMIT.perSecond}/s per container (the default) ---`);
    results.push(await runOnce({ mode, n: RATE_LIMITED.namespaces, label: `${RATE_LIMITED.perSecond} req/s`, maxRequestsPerSecond: RATE_LIMITED.perSecond, clientLimit: DEFAULT_RATE_LIMIT }));
  }
  console.log(`\nbase update, whole chain (N copies, 2N Deployments), ${cpus().length} CPUs; machine shared with other work, see load:`);
  console.log('  run           cluster            N  wall (clone)     CPU handlers + cluster  ms/ns  writes   rollouts  once        dup  failed  longest clone/rollout (timeouts)  heap +clone/+rollout  429s  load');
  for (const r of results) {
    console.log(
      `  ${r.label.padEnd(12)}  ${r.mode.padEnd(16)} ${String(r.n).padStart(6)}  ${`${s1(r.totalMs)} s (${s1(r.cloneMs)} s)`.padEnd(15)}  ${`${s1(r.handlersCpu)} + ${r.clusterCpu === null ? '-' : s1(r.clusterCpu)} s`.padEnd(22)}  ${(r.totalMs / r.n).toFixed(2).padStart(5)}  ${r.cloneWrites === r.n ? '= min' : `${r.cloneWrites}/${r.n}`}   ${r.rollouts === 2 * r.n ? '= min   ' : `${r.rollouts}/${2 * r.n}`}  ${`${r.advancedOnce}/${r.deployments}`.padEnd(11)} ${String(r.dupRollouts).padStart(3)}  ${String(r.failedRecords + r.cloneFailures + r.cloneRetries).padStart(6)}  ${`${s1(r.maxInvocationMs.clone)}/${s1(r.maxInvocationMs.rollout)} s`.padStart(11)} (<= ${s1(FUNCTIONS.clone.timeoutMs)}/${s1(FUNCTIONS.rollout.timeoutMs)} s)  ${`+${r.cloneHeapMb}/+${r.rolloutHeapMb} MB`.padStart(20)}  ${String(r.throttled).padStart(4)}  ${r.load.toFixed(1)}`,
    );
  }
  for (const r of results.filter((x) => x.label !== 'unlimited')) {
    const failed = r.failedRecords + r.cloneFailures + r.cloneRetries;
    const inTime = r.maxInvocationMs.clone <= FUNCTIONS.clone.timeoutMs && r.maxInvocationMs.rollout <= FUNCTIONS.rollout.timeoutMs;
    console.log(`  ${r.label}, ${r.n} namespaces: converged with writes = minimum and every Deployment rolled out once: ${r.exact ? 'yes' : 'NO'}; failed invocations/records: ${failed}; no invocation over its timeout: ${inTime ? 'yes' : 'NO'}; ${r.throttled} requests answered 429: ${r.exact && failed === 0 && inTime ? 'MET' : 'NOT MET'}`);
  }
  for (const mode of MODES) {
    const runs = results.filter((r) => r.mode === mode && r.label === 'unlimited').sort((a, b) => a.n - b.n);
    if (runs.length < 2) continue;
    const [small, large] = [runs[0], runs[runs.length - 1]];
    const ratio = large.totalMs / small.totalMs;
    const cpuRatio = (large.handlersCpu + (large.clusterCpu ?? 0)) / (small.handlersCpu + (small.clusterCpu ?? 0));
    const goal = runs.find((r) => r.n === GOAL_N);
    console.log(`  ${mode}: cost ratio ${large.n}/${small.n} (x${large.n / small.n} the work): wall x${ratio.toFixed(1)}, CPU x${cpuRatio.toFixed(1)} (goal <= ${GOAL_RATIO}): ${ratio <= GOAL_RATIO ? 'MET' : 'NOT MET'}${goal ? `; ${GOAL_N} namespaces in ${s1(goal.totalMs)} s (goal <= ${s1(GOAL_MS)} s): ${goal.totalMs <= GOAL_MS && goal.exact ? 'MET' : 'NOT MET'}` : ''}`);
  }
}

async function runOnce(o: { mode: Mode; n: number; label: string; maxRequestsPerSecond?: number; clientLimit: RateLimit }): Promise<Summary> {
  const N = o.n;
  const cluster = o.mode === 'in-process' ? await inProcessCluster(clusterOptions(o.maxRequestsPerSecond)) : await clusterProcess(clusterOptions(o.maxRequestsPerSecond));
  const audit = cluster.audit;
  const admin = kubeFromKubeConfig(await cluster.kubeConfig(), 'local', { timeoutMs: 60_000, rateLimit: { perSecond: 0 } });
  const writesBy = (user: string, from: number, resource?: string) => audit.slice(from).filter((e) => e.user === user && WRITE_VERBS.has(e.verb) && (!resource || e.resource === resource) && e.code < 400).length;
  try {
    // --- setup (admin, group system:masters: exempt from the API server's rate limit) ----------------------
    let t0 = performance.now();
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

    const cloneUser = 'bench-clone';
    const rolloutUser = 'bench-rollout';
    const cloneKc = await cluster.kubeConfig({ user: cloneUser, groups: [HANDLER_GROUPS.clone] });
    const rolloutKc = await cluster.kubeConfig({ user: rolloutUser, groups: [HANDLER_GROUPS.rollout] });
    const cloneKube = lambdaKube(cloneKc, o.clientLimit);
    const config = parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' });
    const cloneObs = quiet();
    const cloneHandler = makeCloneHandler({ config, kubeFor: async () => cloneKube, policies: () => POLICY, observability: () => cloneObs }) as unknown as (e: unknown, c: Context) => Promise<{ writes: number; failures: unknown[] }>;
    let maxInvocationMs = { clone: 0, rollout: 0 };
    let cloneRetries = 0;
    const timed = async <T>(fn: 'clone' | 'rollout', run: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await run();
      } finally {
        maxInvocationMs[fn] = Math.max(maxInvocationMs[fn], performance.now() - t);
      }
    };
    // A retryable failure (e.g. the time budget spent before every copy was written) is retried as Lambda's
    // asynchronous invocation retries it (maximumRetryAttempts), at once rather than after Lambda's 1-2 min delays.
    const clone = async (e: unknown) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await timed('clone', () => cloneHandler(e, lambdaContext(FUNCTIONS.clone.timeoutMs)));
        } catch (err) {
          if (!(err instanceof RetryableError) || attempt >= FUNCTIONS.clone.retries) throw err;
          cloneRetries++;
        }
      }
    };

    type SqsHandler = (e: unknown, c: Context) => Promise<{ batchItemFailures: unknown[] }>;
    // One handler per container (the queue's maximum concurrency), each with its own client and token bucket.
    let rollouts: SqsHandler[] = [];
    try {
      const mod = (await import('../functions/rollout/handler.ts')) as { makeHandler: (d: object) => unknown };
      const rolloutObs = quiet(true);
      rollouts = Array.from({ length: SQS_CONCURRENCY }, () => {
        const kube = lambdaKube(rolloutKc, o.clientLimit);
        return mod.makeHandler({ kubeFor: async () => kube, policies: () => POLICY, observability: () => rolloutObs, concurrency: 16 }) as SqsHandler;
      });
    } catch (err) {
      console.log(`rollout handler unavailable (${(err as Error).message.split('\n')[0]}): rollouts not measured`);
    }

    const keyBytes = Buffer.from(key, 'utf8');
    const copyEvents = async (dt: 'created' | 'updated') => {
      // What the forwarder would send for each copy (it runs elsewhere in production): read as plain JSON, paged.
      const all = await listAllRaw<V1Secret>(admin.raw, '/api/v1/secrets', { verb: 'list', resource: 'secrets' }, { query: { fieldSelector: 'metadata.name=blogsecret' } });
      const copies = all.filter((s) => s.metadata?.namespace !== 'base');
      return copies.map((c) =>
        delivered(
          objectChangeEntry(DETAIL_TYPES[dt], {
            cluster: 'local', apiVersion: 'v1', kind: 'Secret', namespace: c.metadata!.namespace!, name: 'blogsecret', uid: c.metadata!.uid!, resourceVersion: c.metadata!.resourceVersion!,
            labels: c.metadata?.labels ?? {}, annotations: {}, ownerReferences: [], fingerprint: fingerprint(keyBytes, { kind: 'Secret', type: c.type, data: c.data }), changes: dt === 'updated' ? ['data', 'annotations'] : [], manager: 'ripple', observedAt: new Date().toISOString(),
          }),
        ),
      );
    };
    const runRollouts = async (events: object[]): Promise<number> => {
      if (rollouts.length === 0) return 0;
      const batches: object[][] = [];
      for (let i = 0; i < events.length; i += SQS_BATCH) batches.push(events.slice(i, i + SQS_BATCH));
      let failed = 0;
      await pool(batches, SQS_CONCURRENCY, async (b, worker) => {
        const sent = String(Date.now());
        const records = b.map((e, i) => ({ messageId: `m-${seq}-${i}`, body: JSON.stringify(e), attributes: { SentTimestamp: sent }, messageAttributes: {}, eventSource: 'aws:sqs' }));
        const res = await timed('rollout', () => rollouts[worker]({ Records: records }, lambdaContext(FUNCTIONS.rollout.timeoutMs)));
        failed += res.batchItemFailures.length;
      });
      return failed;
    };
    const generations = async () => {
      const m = new Map<string, number>();
      for (const d of (await admin.apps.listDeploymentForAllNamespaces()).items) m.set(`${d.metadata!.namespace}/${d.metadata!.name}`, d.metadata!.generation ?? 0);
      return m;
    };

    // --- phase 1: initial sync -------------------------------------------------------------------------
    await cluster.sync();
    let mark = audit.length;
    t0 = performance.now();
    const first = await clone(delivered(resyncEntry({ cluster: 'local', reason: 'startup', observedAt: new Date().toISOString() })));
    const cloneMs1 = ms(t0);
    const tR = performance.now();
    const failed1 = await runRollouts(await copyEvents('created'));
    const rolloutMs1 = ms(tR);
    await cluster.sync();
    console.log(`initial sync: clone ${cloneMs1} ms, ${writesBy(cloneUser, mark)} writes (minimum ${N}), failures ${first.failures.length}; rollout ${rolloutMs1} ms, ${writesBy(rolloutUser, mark, 'deployments')} rollouts (minimum ${N * DEPLOYMENTS_PER_NS}), failed records ${failed1}`);

    for (const [reason, n] of failureReasons) console.log(`  rollout log (${n}x): ${reason}`);
    failureReasons.clear();

    // --- phase 2: base update --------------------------------------------------------------------------
    const before = await generations();
    const src = await admin.core.readNamespacedSecret({ namespace: 'base', name: 'blogsecret' });
    src.data = { password: Buffer.from('v2').toString('base64') };
    const updated = await admin.core.replaceNamespacedSecret({ namespace: 'base', name: 'blogsecret', body: src });
    const clusterCpu0 = await cluster.sync();
    mark = audit.length;
    maxInvocationMs = { clone: 0, rollout: 0 };
    const retriesBefore = cloneRetries;
    const memory = memorySampler();
    memory.mark('clone');
    const stopProfile = await phaseProfile(cluster, N);
    t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const sourceEvent = delivered(
      objectChangeEntry(DETAIL_TYPES.updated, {
        cluster: 'local', apiVersion: 'v1', kind: 'Secret', namespace: 'base', name: 'blogsecret', uid: updated.metadata!.uid!, resourceVersion: updated.metadata!.resourceVersion!,
        labels: {}, annotations: {}, ownerReferences: [], fingerprint: fingerprint(keyBytes, { kind: 'Secret', type: updated.type, data: updated.data }), changes: ['data'], observedAt: new Date().toISOString(),
      }),
    );
    const second = await clone(sourceEvent);
    memory.mark('rollout');
    const cloneMs = ms(t0);
    const cloneCpu = cpu(cpu0);
    const events = await copyEvents('updated');
    const failed2 = await runRollouts(events);
    const totalMs = ms(t0);
    const totalCpu = cpu(cpu0);
    const mem = memory.stop();
    await stopProfile();
    const clusterCpu = cpuBetween(clusterCpu0, await cluster.sync());
    const cloneWrites = writesBy(cloneUser, mark);
    const rolloutCount = writesBy(rolloutUser, mark, 'deployments');
    const throttled = audit.slice(mark).filter((e) => e.code === 429).length;
    const requestsBy = (user: string) => {
      const m = new Map<string, number>();
      for (const e of audit.slice(mark)) if (e.user === user) m.set(`${e.verb} ${e.resource ?? e.uri}${e.code === 429 ? ' (429)' : ''}`, (m.get(`${e.verb} ${e.resource ?? e.uri}${e.code === 429 ? ' (429)' : ''}`) ?? 0) + 1);
      return [...m].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
    };
    const cloneRequests = requestsBy(cloneUser);
    const rolloutRequests = requestsBy(rolloutUser);
    const updateMaxInvocation = { ...maxInvocationMs };
    const updateRetries = cloneRetries - retriesBefore;
    const after = await generations();
    let advancedOnce = 0;
    for (const [k, g] of after) if (g === (before.get(k) ?? 0) + 1) advancedOnce++;
    // A duplicate delivery of the same batch: must cost zero rollouts.
    const markDup = audit.length;
    await runRollouts(events);
    await cluster.sync();
    const dupRollouts = writesBy(rolloutUser, markDup, 'deployments');

    for (const [reason, n] of failureReasons) console.log(`  rollout log (${n}x): ${reason}`);
    failureReasons.clear();
    const peakHeapMb = mb(Math.max(...mem.peaks.values()));
    const cloneHeapMb = mb((mem.peaks.get('clone') ?? mem.baseline) - mem.baseline);
    const rolloutHeapMb = mb((mem.peaks.get('rollout') ?? mem.baseline) - mem.baseline);
    const peakRssMb = mb(mem.peakRss);
    console.log(`base update: clone ${cloneMs} ms wall, ${cloneCpu} ms CPU${clusterCpu === null ? '' : ' in this process'} (${cloneWrites} writes, minimum ${N}; failures ${second.failures.length})`);
    console.log(`             clone requests: ${cloneRequests}`);
    if (rollouts.length) console.log(`             rollout requests: ${rolloutRequests}`);
    if (rollouts.length) {
      console.log(`             rollouts ${rolloutCount} (minimum ${N * DEPLOYMENTS_PER_NS}); Deployments whose generation advanced exactly once: ${advancedOnce}/${after.size}; failed records ${failed2}`);
      console.log(`             duplicate delivery of all ${events.length} copy events: ${dupRollouts} rollouts (minimum 0)`);
    }
    const load = loadavg()[0];
    const cpuText = clusterCpu === null ? `${totalCpu} ms CPU (cluster and handlers in this one process)` : `CPU: handlers ${totalCpu} ms (this process) + cluster ${clusterCpu} ms (its own process)`;
    console.log(`             total ${totalMs} ms wall, ${cpuText}; longest invocation clone ${Math.round(updateMaxInvocation.clone)} ms (timeout ${FUNCTIONS.clone.timeoutMs} ms), rollout ${Math.round(updateMaxInvocation.rollout)} ms (timeout ${FUNCTIONS.rollout.timeoutMs} ms); clone invocations retried ${updateRetries}; ${throttled} answers 429; load average ${load.toFixed(1)} on ${cpus().length} CPUs`);
    console.log(`             memory of this process${clusterCpu === null ? ' (cluster included)' : ''}: heap baseline ${mb(mem.baseline)} MB (the bench's own records included), peak ${peakHeapMb} MB; above the baseline: +${cloneHeapMb} MB during the clone invocation, +${rolloutHeapMb} MB during the rollouts (${SQS_CONCURRENCY} containers; the bench's growing audit and event records included); peak RSS ${peakRssMb} MB`);
    const exact = cloneWrites === N && (rollouts.length === 0 || (rolloutCount === N * DEPLOYMENTS_PER_NS && advancedOnce === after.size && dupRollouts === 0));
    return {
      label: o.label, mode: o.mode, n: N, cloneMs, totalMs, handlersCpu: totalCpu, clusterCpu, load, cloneWrites, rollouts: rolloutCount, advancedOnce, deployments: after.size, dupRollouts,
      failedRecords: failed2, cloneFailures: second.failures.length, maxInvocationMs: updateMaxInvocation, cloneRetries: updateRetries, peakHeapMb, cloneHeapMb, rolloutHeapMb, peakRssMb, throttled, exact,
    };
  } finally {
    await cluster.stop();
  }
}
