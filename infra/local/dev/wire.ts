/**
 * The steps `startDev` (./index.ts) runs, in order, each wiring one part of serverless.yml (or of the cluster)
 * locally: cluster, infra/k8s manifests, event bus, functions, queues, rules, schedules, audit-log
 * subscriptions, forwarder. Each takes the session (`Dev`, ./session.ts: options, output, what to stop) and what
 * earlier steps built, and registers how to stop what it started.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { startForwarder } from '../../../forwarder/index.ts';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE, type HandlerName } from '../../../core/constants.ts';
import { parsePatternLimit } from '../../../render/patterns.ts';
import { startCluster, type EmbeddedCluster } from '../cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../eventbridge/index.ts';
import { invokeAsync, LocalFunctionRuntime, type DeadLetterRecord, type InvokeOutcome } from './lambda.ts';
import { LogSubscription } from './logs.ts';
import { applyObjects, readKustomization } from './manifests.ts';
import { parseSchedule, runSchedule, type Schedule } from './schedule.ts';
import { handlerFile, type LocalApp } from './serverless.ts';
import type { Dev } from './session.ts';
import { EventSourceMapping, LocalQueue, type QueueMessage } from './sqs.ts';

export interface ClusterAccess {
  /** The embedded cluster; null with --kubeconfig. */
  cluster: EmbeddedCluster | null;
  adminKc: KubeConfig;
  kubeconfigPath: string;
  /** A kubeconfig file acting as `who` (the embedded cluster), or the --kubeconfig file. */
  kubeconfigFor(who: { user: string; groups: string[] }): string;
}

export async function wireCluster(d: Dev): Promise<ClusterAccess> {
  const { o, out, cwd, stateDir } = d;
  if (o.kubeconfig) {
    const kubeconfigPath = resolve(o.kubeconfig);
    const adminKc = new KubeConfig();
    adminKc.loadFromFile(kubeconfigPath);
    out.item('cluster', `${adminKc.getCurrentCluster()?.server ?? '?'} (from ${o.kubeconfig}; the forwarder and the handlers act with its identity)`);
    return { cluster: null, adminKc, kubeconfigPath, kubeconfigFor: () => kubeconfigPath };
  }
  const cluster = await startCluster({ statePath: undefined, ...(d.o.maxRequestsPerSecond !== undefined ? { maxRequestsPerSecond: d.o.maxRequestsPerSecond } : {}) });
  d.onStop(() => cluster.stop());
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, cluster.kubeconfig(), { mode: 0o600 });
  out.item('cluster', `embedded, ${cluster.url} (kubeconfig ${relative(cwd, kubeconfigPath)})`);
  return {
    cluster,
    adminKc: cluster.kubeConfig(),
    kubeconfigPath,
    kubeconfigFor: (who) => {
      const file = join(stateDir, `kubeconfig-${who.user.replace(/[^a-z0-9-]/gi, '_')}`);
      writeFileSync(file, cluster.kubeconfig(who), { mode: 0o600 });
      return file;
    },
  };
}

/** One embedded cluster of a fleet (`ripple dev --clusters hub,edge`). */
export interface FleetMember {
  name: string;
  access: ClusterAccess;
}

/**
 * Several kubeconfigs (one context each) as one, a context per cluster named after it (its cluster entry too; the
 * user `<cluster>-<user>`), the current context the first. kube/kubeconfig-kube.ts picks the context named like
 * the cluster a handler asks for.
 */
export function mergeKubeconfigs(entries: { name: string; yaml: string }[]): string {
  const docs = entries.map((e) => ({ name: e.name, doc: YAML.parse(e.yaml) as { clusters: { cluster: object }[]; users: { name: string; user: object }[]; contexts: { context: { namespace?: string } }[] } }));
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: docs.map(({ name, doc }) => ({ name, cluster: doc.clusters[0]!.cluster })),
    contexts: docs.map(({ name, doc }) => ({ name, context: { cluster: name, user: `${name}-${doc.users[0]!.name}`, namespace: doc.contexts[0]?.context.namespace ?? 'default' } })),
    'current-context': entries[0]!.name,
    users: docs.map(({ name, doc }) => ({ name: `${name}-${doc.users[0]!.name}`, user: doc.users[0]!.user })),
    preferences: {},
  });
}

/**
 * `--clusters a,b`: one embedded API server per cluster; `.ripple/kubeconfig` holds one context per cluster named
 * after it (current: the first), and each handler's kubeconfig too (its identity in every cluster).
 */
export async function wireFleet(d: Dev, names: string[]): Promise<{ members: FleetMember[]; kubeconfigPath: string; kubeconfigFor(who: { user: string; groups: string[] }): string }> {
  const { out, cwd, stateDir } = d;
  const clusters: { name: string; cluster: EmbeddedCluster }[] = [];
  for (const name of names) {
    const cluster = await startCluster({ statePath: undefined, ...(d.o.maxRequestsPerSecond !== undefined ? { maxRequestsPerSecond: d.o.maxRequestsPerSecond } : {}) });
    d.onStop(() => cluster.stop());
    clusters.push({ name, cluster });
  }
  const kubeconfigPath = join(stateDir, 'kubeconfig');
  writeFileSync(kubeconfigPath, mergeKubeconfigs(clusters.map((c) => ({ name: c.name, yaml: c.cluster.kubeconfig() }))), { mode: 0o600 });
  const kubeconfigFor = (who: { user: string; groups: string[] }) => {
    const file = join(stateDir, `kubeconfig-${who.user.replace(/[^a-z0-9-]/gi, '_')}`);
    writeFileSync(file, mergeKubeconfigs(clusters.map((c) => ({ name: c.name, yaml: c.cluster.kubeconfig(who) }))), { mode: 0o600 });
    return file;
  };
  for (const c of clusters) out.item('cluster', `${c.name}: embedded, ${c.cluster.url} (context ${c.name} in ${relative(cwd, kubeconfigPath)})`);
  const members = clusters.map(({ name, cluster }) => ({
    name,
    access: {
      cluster,
      adminKc: cluster.kubeConfig(),
      kubeconfigPath,
      kubeconfigFor: (who: { user: string; groups: string[] }) => {
        const file = join(stateDir, `kubeconfig-${name}-${who.user.replace(/[^a-z0-9-]/gi, '_')}`);
        writeFileSync(file, cluster.kubeconfig(who), { mode: 0o600 });
        return file;
      },
    },
  }));
  return { members, kubeconfigPath, kubeconfigFor };
}

const NOT_APPLIED_KINDS = new Set(['Deployment', 'PodDisruptionBudget', 'Service', 'NetworkPolicy']);

/**
 * infra/k8s (namespace, forwarder RBAC, handler RBAC, admission policies) applied; the forwarder's Deployment and
 * friends are not (it runs in-process). Returns a step that applies again what waited for a namespace.
 */
export async function wireManifests(d: Dev, adminKc: KubeConfig): Promise<() => Promise<void>> {
  const { out, cwd, missing } = d;
  const { manifests, missing: missingManifests } = readKustomization(join(cwd, 'infra', 'k8s'));
  for (const m of missingManifests) missing.push(`infra/k8s/${m} not found: ${m.startsWith('rbac') ? 'the handlers have no RBAC' : m.startsWith('admission') ? 'bases are not protected by admission' : 'not applied'}`);
  const skipped = manifests.filter((m) => NOT_APPLIED_KINDS.has(m.object.kind ?? ''));
  const toApply = manifests.filter((m) => !skipped.includes(m));
  // namespaces and CRD-free cluster objects first, as kubectl apply orders them
  toApply.sort((a, b) => Number(b.object.kind === 'Namespace') - Number(a.object.kind === 'Namespace'));
  const applied = await applyObjects(adminKc, toApply.map((m) => m.object));
  const failedApply = applied.filter((a) => a.action === 'failed');
  const kinds = [...new Set(applied.filter((a) => a.action !== 'failed').map((a) => a.ref.split(' ')[0]))];
  out.item('applied', `infra/k8s: ${applied.length - failedApply.length} objects (${kinds.join(', ') || 'none'}); not applied: ${skipped.map((s) => `${s.object.kind} ${s.object.metadata?.name}`).join(', ') || 'nothing'} (the forwarder runs in-process)`);
  // objects in namespaces that do not exist yet (a policy's source namespace) are applied again after the seed
  const waiting = failedApply.filter((f) => /namespaces? "[^"]+" not found/.test(f.error ?? ''));
  for (const f of failedApply) if (!waiting.includes(f)) out.warn(`${f.ref}: ${f.error}`);
  if (waiting.length) out.note(`${waiting.map((w) => w.ref).join(', ')}: namespace does not exist yet; applied again once it does`);
  const refOf = (obj: (typeof toApply)[number]['object']) => `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`;
  return async () => {
    if (!waiting.length) return;
    const again = await applyObjects(adminKc, toApply.map((m) => m.object).filter((obj) => waiting.some((w) => w.ref === refOf(obj))));
    for (const a of again) {
      if (a.action === 'failed') out.warn(`${a.ref}: ${a.error}`);
      else out.ok(`applied ${a.ref} (its namespace exists now)`);
    }
  };
}

/** The local EventBridge, with the same "Event pattern size" quota `ripple render` assumed (a pattern over it fails here as at deploy). */
export async function wireBus(d: Dev, app: LocalApp): Promise<LocalEventBridge> {
  const patternSizeQuota = parsePatternLimit(process.env.RIPPLE_PATTERN_LIMIT, 'RIPPLE_PATTERN_LIMIT');
  const bus = await startEventBridge({ account: app.accountId, region: app.region, port: d.o.busPort, patternSizeQuota });
  d.onStop(() => bus.stop());
  d.out.item('event bus', `${bus.url} (${app.buses.join(', ') || 'no bus'})`);
  return bus;
}

const WHAT_IS_LOST: Record<string, string> = {
  clone: 'copies will not be made, updated or re-created',
  rollout: 'rollouts will not happen',
  protect: 'changes to protected bases will not be reverted or reported',
};

export type InvocationStats = Record<string, Record<string, { ok: number; failed: number }>>;

export interface Functions {
  runtimes: Map<string, LocalFunctionRuntime>;
  /** Lambda's asynchronous invocation (retries, dead-letter file), counted in `stats`. */
  asyncInvoke(fn: string, event: unknown, source: string): Promise<InvokeOutcome>;
  /** Count one invocation outcome. */
  count(fn: string, source: string, ok: boolean): void;
  /** Write a dead-letter record and say so. */
  deadLetter(fn: string, record: DeadLetterRecord): void;
  stats: InvocationStats;
}

function functionEnv(d: Dev, app: LocalApp, fn: LocalApp['functions'][number], clusterName: string, kubeconfig: string, auditRecords: boolean, fleet: string[] | null): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TZ: 'UTC',
    ...fn.environment,
    AWS_REGION: app.region,
    AWS_DEFAULT_REGION: app.region,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    LAMBDA_TASK_ROOT: d.cwd,
    RIPPLE_POLICY_DIR: join(d.cwd, 'policies'),
    RIPPLE_CLUSTER_NAME: clusterName,
    RIPPLE_KUBECONFIG: kubeconfig,
    // a fleet: every cluster of the stage (the kubeconfig has a context named after each)
    ...(fleet ? { RIPPLE_CLUSTERS: JSON.stringify(Object.fromEntries(fleet.map((c) => [c, {}]))) } : {}),
    POWERTOOLS_SERVICE_NAME: fn.name,
    // a cluster ripple did not start: its audit log is not readable here (wireAuditLog)
    ...(auditRecords ? {} : { RIPPLE_AUDIT_RECORDS: 'off' }),
  };
}

/** serverless.yml's functions as local Lambda runtimes, each acting as its handler group; a missing handler file is reported. */
export function wireFunctions(d: Dev, app: LocalApp, access: ClusterAccess, clusterName: string, fleet: string[] | null = null): Functions {
  const { out, cwd } = d;
  const deadLetter = (fn: string, record: DeadLetterRecord) => {
    const file = join(d.dlqDir, `${fn}.jsonl`);
    appendFileSync(file, `${JSON.stringify(record)}\n`);
    out.fail(`${fn}: ${record.condition} after ${record.attempts} attempt(s) (${record.source}): ${record.error.name}: ${record.error.message} -> ${relative(cwd, file)}`);
  };
  const runtimes = new Map<string, LocalFunctionRuntime>();
  for (const fn of app.functions) {
    const file = handlerFile(cwd, fn.modulePath);
    const group = HANDLER_GROUPS[fn.name as HandlerName];
    const env = functionEnv(d, app, fn, clusterName, access.kubeconfigFor({ user: `ripple-${fn.name}`, groups: group ? [group] : [] }), access.cluster !== null, fleet);
    const rt = new LocalFunctionRuntime(fn, { file, env, region: app.region, accountId: app.accountId, onLog: out.functionLog });
    d.onStop(() => rt.stop());
    runtimes.set(fn.name, rt);
    if (file) out.item('function', `${fn.name.padEnd(8)} ${relative(cwd, file)}#${fn.exportName}${group && access.cluster ? ` (acts as group ${group})` : ''}`);
    else {
      const msg = `${fn.modulePath}.ts not found: ${WHAT_IS_LOST[fn.name] ?? `events for ${fn.name} are not processed`}`;
      d.missing.push(msg);
      out.warn(msg);
    }
  }
  const stats: InvocationStats = {};
  const count = (fn: string, source: string, ok: boolean) => {
    const s = ((stats[fn] ??= {})[source] ??= { ok: 0, failed: 0 });
    if (ok) s.ok++;
    else s.failed++;
  };
  const asyncInvoke = (fn: string, event: unknown, source: string): Promise<InvokeOutcome> => {
    const rt = runtimes.get(fn);
    if (!rt) throw new Error(`serverless.yml: no function ${fn}`);
    const kind = source.replace(/ \(.*\)$/, '');
    return invokeAsync(rt, event, source, {
      retry: app.functions.find((f) => f.name === fn)?.asyncRetry ?? { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
      retryDelayMs: (n) => (n * 60_000) / d.retryScale,
      onAttemptFailed: (n, e) => out.warn(`${fn}: attempt ${n} failed (${source}): ${e.name}: ${e.message}`),
      onFailure: (r) => deadLetter(fn, r),
    }).then((outcome) => (count(fn, kind, outcome.ok), outcome));
  };
  return { runtimes, asyncInvoke, count, deadLetter, stats };
}

/** SQS queues (visibility timeouts ÷ retryScale, redrive to a dead-letter file) and their event source mappings. */
export function wireQueues(d: Dev, app: LocalApp, fns: Functions): { queues: Map<string, LocalQueue>; mappings: EventSourceMapping[] } {
  const queues = new Map<string, LocalQueue>();
  for (const q of app.queues) {
    const consumer = app.sqsEvents.find((e) => e.queue === q.logicalId)?.function ?? q.name;
    const deadLetter = (m: QueueMessage) =>
      fns.deadLetter(consumer, { time: new Date().toISOString(), function: consumer, source: `queue ${q.name} -> ${q.redrive?.deadLetterQueue}`, attempts: m.receiveCount, condition: 'MaxReceiveCountExceeded', error: { name: 'MaxReceiveCountExceeded', message: `received ${m.receiveCount} times without success` }, event: JSON.parse(m.body) });
    queues.set(
      q.logicalId,
      new LocalQueue({
        name: q.name,
        arn: `arn:aws:sqs:${app.region}:${app.accountId}:${q.name}`,
        region: app.region,
        visibilityTimeoutMs: (q.visibilityTimeoutSeconds * 1000) / d.retryScale,
        ...(q.redrive ? { redrive: { maxReceiveCount: q.redrive.maxReceiveCount, deadLetter } } : {}),
      }),
    );
  }
  const mappings: EventSourceMapping[] = [];
  for (const e of app.sqsEvents) {
    const queue = queues.get(e.queue) as LocalQueue;
    const rt = fns.runtimes.get(e.function) as LocalFunctionRuntime;
    if (!e.enabled) continue;
    if (rt.missing) {
      d.out.warn(`queue ${queue.name}: not consumed (${e.function} is missing); messages stay in the queue`);
      continue;
    }
    const mapping = new EventSourceMapping(queue, {
      batchSize: e.batchSize,
      maximumBatchingWindowMs: e.maximumBatchingWindowSeconds * 1000,
      reportBatchItemFailures: e.reportBatchItemFailures,
      maximumConcurrency: e.maximumConcurrency ?? 1000,
      invoke: (event) => rt.invoke(event),
      onBatch: ({ records, failed, outcome }) => {
        fns.count(e.function, `queue ${queue.name}`, outcome.ok && failed === 0);
        if (!outcome.ok) d.out.warn(`${e.function}: batch of ${records} failed: ${outcome.error.name}: ${outcome.error.message} (retried after the visibility timeout)`);
        else if (failed) d.out.warn(`${e.function}: ${failed} of ${records} records reported as failed (batchItemFailures): retried after the visibility timeout`);
      },
    });
    mappings.push(mapping);
    d.onStop(() => mapping.stop());
    const visibility = (app.queues.find((q) => q.logicalId === e.queue)?.visibilityTimeoutSeconds ?? 30) / d.retryScale;
    d.out.item('sqs', `${queue.name} -> ${e.function} (batch ${e.batchSize}, window ${e.maximumBatchingWindowSeconds}s${e.reportBatchItemFailures ? ', partial batch failures' : ''}${e.maximumConcurrency ? `, max concurrency ${e.maximumConcurrency}` : ''}; visibility timeout ${visibility}s locally)`);
  }
  return { queues, mappings };
}

/** EventBridge rules: to a queue, or an asynchronous function invocation. */
export function wireRules(d: Dev, app: LocalApp, bus: LocalEventBridge, fns: Functions, queues: Map<string, LocalQueue>): void {
  for (const rule of app.rules) {
    if (rule.target.type === 'queue') {
      const queue = queues.get(rule.target.queue);
      if (!queue) {
        d.out.warn(`rule ${rule.name}: queue ${rule.target.queue} is not defined; not wired`);
        continue;
      }
      bus.putRule({ name: rule.name, eventBusName: rule.eventBusName, pattern: rule.pattern, target: async (event) => void queue.send(JSON.stringify(rule.input ?? event)) });
      d.out.item('rule', `${rule.name} (${rule.eventBusName}) -> queue ${queue.name}`);
    } else {
      const fn = rule.target.function;
      bus.putRule({ name: rule.name, eventBusName: rule.eventBusName, pattern: rule.pattern, target: async (event) => void (await fns.asyncInvoke(fn, rule.input ?? event, `rule ${rule.name}`)) });
      d.out.item('rule', `${rule.name} (${rule.eventBusName}) -> ${fn}`);
    }
  }
}

/** Schedules: rate(...) on a timer (÷ rateScale), cron(...) at its UTC times. */
export function wireSchedules(d: Dev, app: LocalApp, fns: Functions): void {
  const { out, rateScale } = d;
  for (const s of app.schedules) {
    if (!s.enabled) continue;
    let schedule: Schedule;
    try {
      schedule = parseSchedule(s.expression);
    } catch (err) {
      out.warn(`${(err as Error).message}; not scheduled (EventBridge would refuse it at deploy)`);
      continue;
    }
    const ruleArn = `arn:aws:events:${app.region}:${app.accountId}:rule/${s.name}`;
    const fire = (label: string) => {
      const event = s.input ?? { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: app.accountId, time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), region: app.region, resources: [ruleArn], detail: {} };
      out.step(`schedule ${label} -> ${s.function}`);
      void fns.asyncInvoke(s.function, event, `schedule ${s.name}`);
    };
    if (s.rateMs !== null) {
      const every = s.rateMs / rateScale;
      const timer = setInterval(() => fire(`${s.expression}${rateScale !== 1 ? ` (÷${rateScale})` : ''}`), every);
      timer.unref();
      d.onStop(() => clearInterval(timer));
      out.item('schedule', `${s.expression} -> ${s.function}${rateScale !== 1 ? ` (every ${(every / 1000).toFixed(1)}s with --rate-scale ${rateScale})` : ''}`);
      continue;
    }
    const { first, stop } = runSchedule(schedule, () => fire(s.expression));
    d.onStop(stop);
    out.item('schedule', `${s.expression} -> ${s.function} (${first ? `next ${first.toISOString().replace(/\.\d{3}Z$/, 'Z')}, UTC` : 'never fires again'})`);
  }
}

/**
 * The embedded cluster's audit log through CloudWatch Logs subscription filters to their functions. In a fleet, each
 * cluster's log arrives as EKS names it, `/aws/eks/<cluster>/cluster` (protect takes the cluster from the group).
 */
export function wireAuditLog(d: Dev, app: LocalApp, cluster: EmbeddedCluster | null, fns: Functions, fleetCluster?: string): void {
  for (const listed of app.logSubscriptions) {
    const sub = fleetCluster ? { ...listed, name: `${listed.name}-${fleetCluster}`, logGroup: `/aws/eks/${fleetCluster}/cluster` } : listed;
    if (!cluster) {
      d.out.warn(`log group ${sub.logGroup}: a real cluster's audit log is not readable locally; ${sub.function} gets no audit records`);
      continue;
    }
    const subscription = new LogSubscription({
      name: sub.name,
      owner: app.accountId,
      logGroup: sub.logGroup,
      logStream: `kube-apiserver-audit-${Math.random().toString(16).slice(2, 34).padEnd(32, '0')}`,
      filterPattern: sub.filterPattern,
      flushMs: 500,
      deliver: (event, message) => void fns.asyncInvoke(sub.function, event, `log subscription ${sub.name} (${message.logEvents.length} records)`),
    });
    const off = cluster.onAudit((e) => subscription.put(JSON.stringify(e), Date.parse(String(e.stageTimestamp ?? '')) || Date.now()));
    d.onStop(() => {
      off();
      subscription.flush();
      subscription.stop();
    });
    d.out.item('audit log', `${sub.logGroup} -> ${sub.function} (filter ${sub.filterPattern || '(all)'})`);
  }
}

/** The forwarder, in-process, as its ServiceAccount (embedded cluster) or the kubeconfig's identity. */
export async function wireForwarder(d: Dev, app: LocalApp, access: ClusterAccess, bus: LocalEventBridge, clusterName: string, busName: string): Promise<{ stop(ms?: number): Promise<unknown> }> {
  const sa = { user: `system:serviceaccount:${RIPPLE_NAMESPACE}:${FORWARDER_SERVICE_ACCOUNT}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${RIPPLE_NAMESPACE}`] };
  const kc = new KubeConfig();
  if (access.cluster) kc.loadFromString(access.cluster.kubeconfig(sa));
  else kc.loadFromFile(access.kubeconfigPath);
  const forwarder = await startForwarder(
    {
      cluster: clusterName,
      kubeConfig: kc,
      eventBusName: busName,
      eventBridge: { endpoint: bus.url, region: app.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
      identity: 'ripple-dev',
      leaderElection: false,
      httpPort: null,
    },
    { log: (level, msg, fields) => d.out.functionLog('forwarder', JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }), 'stdout') },
  );
  d.onStop(async () => void (await forwarder.stop(2000)));
  d.out.item('forwarder', `in-process as ${access.cluster ? sa.user : 'the kubeconfig identity'}, cluster "${clusterName}" -> bus ${busName}`);
  return forwarder;
}
