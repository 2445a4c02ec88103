/**
 * `ripple dev` (`npm start`): the whole pipeline on one machine, wired by serverless.yml itself.
 *
 *   embedded cluster (or --kubeconfig) --watch--> forwarder --PutEvents--> local EventBridge
 *     rules from serverless.yml --> clone / protect (async invoke, Lambda retries, dead-letter file)
 *                                --> RolloutQueue (SQS: batching window, batch size, partial failures, redrive)
 *                                      --> rollout
 *     schedule events            --> clone, on a timer (--rate-scale shortens it)
 *     cluster audit log          --> subscription filter --> protect ({ awslogs: { data } })
 *
 * Parts other modules provide (cluster, forwarder, handlers, rendered patterns and manifests) are imported when
 * they exist; a missing one is reported by name with what will not happen, never imitated.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { HANDLER_GROUPS, FORWARDER_SERVICE_ACCOUNT, RIPPLE_NAMESPACE, type HandlerName } from '../../../functions/shared/constants.ts';
import { loadPolicies } from '../../../functions/shared/policy/load.ts';
import { checkRendered, renderFiles, writeRendered } from '../../../functions/shared/render/index.ts';
import { parsePatternLimit } from '../../../functions/shared/render/patterns.ts';
import { startEventBridge, type LocalEventBridge } from '../eventbridge/index.ts';
import { invokeAsync, LocalFunctionRuntime, type DeadLetterRecord, type InvokeOutcome } from './lambda.ts';
import { LogSubscription } from './logs.ts';
import { applyObjects, readKustomization } from './manifests.ts';
import { createOutput, type LogMode, type Output } from './output.ts';
import { runScenario, type StepResult } from './scenario.ts';
import { parseSchedule, runSchedule, type Schedule } from './schedule.ts';
import { handlerFile, loadServerless, type LocalApp } from './serverless.ts';
import { EventSourceMapping, LocalQueue, type QueueMessage } from './sqs.ts';

export interface DevOptions {
  /** Service directory (where serverless.yml, policies/ and infra/k8s live). */
  cwd?: string;
  /** Where the kubeconfigs and dead-letter files go (default <cwd>/.ripple). */
  stateDir?: string;
  serverlessFile?: string;
  stage?: string;
  params?: Record<string, string>;
  /** Run against this cluster instead of the embedded one. */
  kubeconfig?: string;
  /** Run the scenario and exit: 0 only if every step converged. */
  once?: boolean;
  /** Seed and narrate the article's scenario (default true). */
  scenario?: boolean;
  /** Divide schedule rates by this (rate(10 minutes) with 60 -> every 10 s). Default 1. */
  rateScale?: number;
  /** Divide retry delays (SQS visibility timeouts, Lambda async retry delays) by this. Default 60. */
  retryScale?: number;
  stepTimeoutMs?: number;
  /** Port of the local EventBridge (default: any free port). */
  busPort?: number;
  /** Embedded cluster only: requests/s it accepts before answering 429 + Retry-After (absent: unlimited). */
  maxRequestsPerSecond?: number;
  logs?: LogMode;
  color?: boolean;
  write?: (s: string) => void;
  /** Resolves to stop a long-running (not --once) session; default: SIGINT/SIGTERM. */
  until?: Promise<void>;
}

export interface DevSession {
  app: LocalApp;
  bus: LocalEventBridge;
  kubeconfigPath: string;
  missing: string[];
  results: StepResult[];
  /** Invocations so far: function -> source (rule, queue, schedule, log subscription) -> outcomes. */
  invocations(): Record<string, Record<string, { ok: number; failed: number }>>;
  stop(): Promise<void>;
}

type Cluster = {
  url: string;
  kubeconfig(o?: { user?: string; groups?: string[]; namespace?: string }): string;
  kubeConfig(o?: { user?: string; groups?: string[]; namespace?: string }): KubeConfig;
  onAudit(cb: (e: Record<string, unknown>) => void): () => void;
  stop(): Promise<void>;
};

const WHAT_IS_LOST: Record<string, string> = {
  clone: 'copies will not be made, updated or re-created',
  rollout: 'rollouts will not happen',
  protect: 'changes to protected bases will not be reverted or reported',
};

/**
 * Validates policies/ and re-renders what derives from it (patterns, admission, RBAC, audit filter, schema) when the
 * checked-in files differ, so the pipeline never runs on files rendered from other policies. An invalid policy
 * throws `ripple validate`'s error (file:line:column and the path), and ripple dev does not start.
 */
function renderFromPolicies(cwd: string, out: Output): void {
  const dir = join(cwd, 'policies');
  if (!existsSync(dir)) {
    const patternsDir = join(cwd, 'events', 'patterns');
    if (!existsSync(patternsDir) || readdirSync(patternsDir).filter((f) => f.endsWith('.json')).length === 0) {
      throw new Error('neither policies/ nor rendered events/patterns/ exist: there is nothing to route; add a policy (docs/policy.md)');
    }
    return;
  }
  const policies = loadPolicies(dir);
  const files = renderFiles('all', policies, { patternLimit: parsePatternLimit(process.env.RIPPLE_PATTERN_LIMIT, 'RIPPLE_PATTERN_LIMIT') });
  const stale = checkRendered('all', files, cwd);
  if (stale.length === 0) return;
  out.step(`policies/ changed since the last render: re-rendering (\`ripple render all\`): ${stale.map((d) => d.split(':')[0]).join(', ')}`);
  writeRendered('all', files, cwd);
}

async function importIfExists<T>(file: string): Promise<T | null> {
  if (!existsSync(file)) return null;
  return (await import(pathToFileURL(file).href)) as T;
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Start the pipeline (and the scenario); with `once`, stop afterwards. Resolves to the exit code. */
export async function runDev(o: DevOptions = {}): Promise<number> {
  const write = o.write ?? ((s: string) => void process.stdout.write(s));
  const out = createOutput(write, { color: o.color ?? Boolean(process.stdout.isTTY), logs: o.logs ?? (process.stdout.isTTY ? 'pretty' : 'json') });
  let session: DevSession;
  try {
    session = await startDev(o, out);
  } catch (err) {
    out.fail(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (o.once) {
    await session.stop();
    const failed = session.results.filter((r) => !r.converged);
    if (session.missing.length) out.warn(`missing: ${session.missing.join('; ')}`);
    if (failed.length || session.results.length === 0) {
      out.fail(session.results.length === 0 ? 'the scenario did not run' : `${failed.length} of ${session.results.length} steps did not converge: ${failed.map((f) => f.title).join('; ')}`);
      return 1;
    }
    out.ok(`all ${session.results.length} steps converged`);
    return 0;
  }
  const relPath = relative(process.cwd(), session.kubeconfigPath);
  const rel = !relPath || relPath.startsWith('..') ? session.kubeconfigPath : relPath;
  const busName = String(session.app.params.busName ?? session.app.buses[0] ?? 'default');
  const resync = JSON.stringify([{ Source: 'ripple.kubernetes', DetailType: 'Ripple Resync Requested', EventBusName: busName, Detail: JSON.stringify({ cluster: String(session.app.params.cluster ?? 'local'), reason: 'manual', observedAt: '2026-01-01T00:00:00Z' }) }]);
  out.heading('\nripple is running. Try:');
  out.line(`  export KUBECONFIG=${rel}`);
  out.line('  kubectl get secrets -A -l app.kubernetes.io/managed-by=ripple');
  out.line(`  kubectl -n platform patch secret blogsecret -p '{"stringData":{"password":"changed"}}'`);
  out.line('  kubectl -n team-a get rs -l app=blog; kubectl -n team-a get deployment blog -o jsonpath="{.spec.template.metadata.annotations}"');
  out.line('  kubectl create namespace team-x && kubectl -n team-x get secret blogsecret');
  out.line('  kubectl --as=alice -n platform delete secret blogsecret');
  out.line(`  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws events put-events --region ${session.app.region} --endpoint-url ${session.bus.url} --entries '${resync}'`);
  out.line('Ctrl-C stops.');
  await (o.until ??
    new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    }));
  await session.stop();
  out.line('stopped.');
  return 0;
}

export async function startDev(o: DevOptions, out: Output): Promise<DevSession> {
  const cwd = resolve(o.cwd ?? process.cwd());
  const stateDir = resolve(o.stateDir ?? join(cwd, '.ripple'));
  const dlqDir = join(stateDir, 'dlq');
  mkdirSync(dlqDir, { recursive: true });
  const retryScale = o.retryScale ?? 60;
  const rateScale = o.rateScale ?? 1;
  const stopFns: Array<() => Promise<void> | void> = [];
  const missing: string[] = [];
  const stop = async () => {
    for (const f of stopFns.reverse()) {
      try {
        await f();
      } catch {
        // keep stopping the rest
      }
    }
  };

  try {
    // ---- policies/ checked first (file:line:col, as `ripple validate` does); rendered files brought up to date
    renderFromPolicies(cwd, out);

    // ---- serverless.yml
    const slsFile = resolve(cwd, o.serverlessFile ?? 'serverless.yml');
    const app = await loadServerless(slsFile, { options: o.stage ? { stage: o.stage } : {}, params: o.params ?? {} });
    out.heading(`ripple dev: ${relative(cwd, slsFile)} (service ${app.service}, stage ${app.stage}, region ${app.region})`);

    // ---- cluster
    let adminKc: KubeConfig;
    let kubeconfigPath: string;
    let cluster: Cluster | null = null;
    const kubeconfigFor: (who: { user: string; groups: string[] }) => string = (who) => {
      if (!cluster) return kubeconfigPath;
      const file = join(stateDir, `kubeconfig-${who.user.replace(/[^a-z0-9-]/gi, '_')}`);
      writeFileSync(file, cluster.kubeconfig(who), { mode: 0o600 });
      return file;
    };
    if (o.kubeconfig) {
      kubeconfigPath = resolve(o.kubeconfig);
      adminKc = new KubeConfig();
      adminKc.loadFromFile(kubeconfigPath);
      out.item('cluster', `${adminKc.getCurrentCluster()?.server ?? '?'} (from ${o.kubeconfig}; the forwarder and the handlers act with its identity)`);
    } else {
      const mod = await importIfExists<{ startCluster: (opts?: object) => Promise<Cluster> }>(join(cwd, 'infra', 'local', 'cluster', 'index.ts'));
      if (!mod) throw new Error('infra/local/cluster/index.ts not found: the embedded cluster is not built yet; run against a real cluster with --kubeconfig FILE');
      cluster = await mod.startCluster({ statePath: undefined, ...(o.maxRequestsPerSecond !== undefined ? { maxRequestsPerSecond: o.maxRequestsPerSecond } : {}) });
      const c = cluster;
      stopFns.push(() => c.stop());
      kubeconfigPath = join(stateDir, 'kubeconfig');
      writeFileSync(kubeconfigPath, cluster.kubeconfig(), { mode: 0o600 });
      adminKc = cluster.kubeConfig();
      out.item('cluster', `embedded, ${cluster.url} (kubeconfig ${relative(cwd, kubeconfigPath)})`);
    }

    // ---- infra/k8s: namespace, forwarder RBAC, handler RBAC, admission policies
    const k8sDir = join(cwd, 'infra', 'k8s');
    const { manifests, missing: missingManifests } = readKustomization(k8sDir);
    for (const m of missingManifests) missing.push(`infra/k8s/${m} not found: ${m.startsWith('rbac') ? 'the handlers have no RBAC' : m.startsWith('admission') ? 'bases are not protected by admission' : 'not applied'}`);
    const skipped = manifests.filter((m) => m.object.kind === 'Deployment' || m.object.kind === 'PodDisruptionBudget' || m.object.kind === 'Service' || m.object.kind === 'NetworkPolicy');
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
    const applyWaiting = async () => {
      if (!waiting.length) return;
      const again = await applyObjects(adminKc, toApply.map((m) => m.object).filter((obj) => waiting.some((w) => w.ref === `${obj.kind} ${obj.metadata?.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata?.name}`)));
      for (const a of again) {
        if (a.action === 'failed') out.warn(`${a.ref}: ${a.error}`);
        else out.ok(`applied ${a.ref} (its namespace exists now)`);
      }
    };

    // ---- local EventBridge
    // The same "Event pattern size" quota `ripple render` assumed (RIPPLE_PATTERN_LIMIT, else 2048): a pattern
    // over it fails here as it would fail `serverless deploy`.
    const patternSizeQuota = parsePatternLimit(process.env.RIPPLE_PATTERN_LIMIT, 'RIPPLE_PATTERN_LIMIT');
    const bus = await startEventBridge({ account: app.accountId, region: app.region, port: o.busPort, patternSizeQuota });
    stopFns.push(() => bus.stop());
    const clusterName = String(app.params.cluster ?? 'local');
    out.item('event bus', `${bus.url} (${app.buses.join(', ') || 'no bus'})`);

    // ---- functions
    const dlqWrite = (fn: string, record: DeadLetterRecord) => {
      const file = join(dlqDir, `${fn}.jsonl`);
      appendFileSync(file, `${JSON.stringify(record)}\n`);
      out.fail(`${fn}: ${record.condition} after ${record.attempts} attempt(s) (${record.source}): ${record.error.name}: ${record.error.message} -> ${relative(cwd, file)}`);
    };
    const runtimes = new Map<string, LocalFunctionRuntime>();
    for (const fn of app.functions) {
      const file = handlerFile(cwd, fn.modulePath);
      const group = HANDLER_GROUPS[fn.name as HandlerName];
      const env: Record<string, string> = {
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
        LAMBDA_TASK_ROOT: cwd,
        RIPPLE_POLICY_DIR: join(cwd, 'policies'),
        RIPPLE_CLUSTER_NAME: clusterName,
        RIPPLE_KUBECONFIG: kubeconfigFor({ user: `ripple-${fn.name}`, groups: group ? [group] : [] }),
        POWERTOOLS_SERVICE_NAME: fn.name,
      };
      const rt = new LocalFunctionRuntime(fn, { file, env, region: app.region, accountId: app.accountId, onLog: out.functionLog });
      stopFns.push(() => rt.stop());
      runtimes.set(fn.name, rt);
      if (file) out.item('function', `${fn.name.padEnd(8)} ${relative(cwd, file)}#${fn.exportName}${group && cluster ? ` (acts as group ${group})` : ''}`);
      else {
        const msg = `${fn.modulePath}.ts not found: ${WHAT_IS_LOST[fn.name] ?? `events for ${fn.name} are not processed`}`;
        missing.push(msg);
        out.warn(msg);
      }
    }
    const stats: Record<string, Record<string, { ok: number; failed: number }>> = {};
    const count = (fn: string, source: string, ok: boolean) => {
      const s = ((stats[fn] ??= {})[source] ??= { ok: 0, failed: 0 });
      if (ok) s.ok++;
      else s.failed++;
    };
    const asyncInvoke = (fn: string, event: unknown, source: string, retry = app.functions.find((f) => f.name === fn)?.asyncRetry): Promise<InvokeOutcome> => {
      const rt = runtimes.get(fn);
      if (!rt) throw new Error(`serverless.yml: no function ${fn}`);
      const kind = source.replace(/ \(.*\)$/, '');
      return invokeAsync(rt, event, source, {
        retry: retry ?? { maximumRetryAttempts: 2, maximumEventAgeSeconds: 21600 },
        retryDelayMs: (n) => (n * 60_000) / retryScale,
        onAttemptFailed: (n, e) => out.warn(`${fn}: attempt ${n} failed (${source}): ${e.name}: ${e.message}`),
        onFailure: (r) => dlqWrite(fn, r),
      }).then((outcome) => (count(fn, kind, outcome.ok), outcome));
    };

    // ---- queues and their consumers
    const queues = new Map<string, LocalQueue>();
    for (const q of app.queues) {
      const consumer = app.sqsEvents.find((e) => e.queue === q.logicalId)?.function ?? q.name;
      queues.set(
        q.logicalId,
        new LocalQueue({
          name: q.name,
          arn: `arn:aws:sqs:${app.region}:${app.accountId}:${q.name}`,
          region: app.region,
          visibilityTimeoutMs: (q.visibilityTimeoutSeconds * 1000) / retryScale,
          ...(q.redrive
            ? {
                redrive: {
                  maxReceiveCount: q.redrive.maxReceiveCount,
                  deadLetter: (m: QueueMessage) =>
                    dlqWrite(consumer, { time: new Date().toISOString(), function: consumer, source: `queue ${q.name} -> ${q.redrive?.deadLetterQueue}`, attempts: m.receiveCount, condition: 'MaxReceiveCountExceeded', error: { name: 'MaxReceiveCountExceeded', message: `received ${m.receiveCount} times without success` }, event: JSON.parse(m.body) }),
                },
              }
            : {}),
        }),
      );
    }
    const mappings: EventSourceMapping[] = [];
    for (const e of app.sqsEvents) {
      const queue = queues.get(e.queue) as LocalQueue;
      const rt = runtimes.get(e.function) as LocalFunctionRuntime;
      if (!e.enabled) continue;
      if (rt.missing) {
        out.warn(`queue ${queue.name}: not consumed (${e.function} is missing); messages stay in the queue`);
        continue;
      }
      const mapping = new EventSourceMapping(queue, {
        batchSize: e.batchSize,
        maximumBatchingWindowMs: e.maximumBatchingWindowSeconds * 1000,
        reportBatchItemFailures: e.reportBatchItemFailures,
        maximumConcurrency: e.maximumConcurrency ?? 1000,
        invoke: (event) => rt.invoke(event),
        onBatch: ({ records, failed, outcome }) => {
          count(e.function, `queue ${queue.name}`, outcome.ok && failed === 0);
          if (!outcome.ok) out.warn(`${e.function}: batch of ${records} failed: ${outcome.error.name}: ${outcome.error.message} (retried after the visibility timeout)`);
          else if (failed) out.warn(`${e.function}: ${failed} of ${records} records reported as failed (batchItemFailures): retried after the visibility timeout`);
        },
      });
      mappings.push(mapping);
      stopFns.push(() => mapping.stop());
      out.item('sqs', `${queue.name} -> ${e.function} (batch ${e.batchSize}, window ${e.maximumBatchingWindowSeconds}s${e.reportBatchItemFailures ? ', partial batch failures' : ''}${e.maximumConcurrency ? `, max concurrency ${e.maximumConcurrency}` : ''}; visibility timeout ${queue === undefined ? '?' : `${(app.queues.find((q) => q.logicalId === e.queue)?.visibilityTimeoutSeconds ?? 30) / retryScale}s locally`})`);
    }

    // ---- rules
    for (const rule of app.rules) {
      if (rule.target.type === 'queue') {
        const queue = queues.get(rule.target.queue);
        if (!queue) {
          out.warn(`rule ${rule.name}: queue ${rule.target.queue} is not defined; not wired`);
          continue;
        }
        bus.putRule({ name: rule.name, eventBusName: rule.eventBusName, pattern: rule.pattern, target: async (event) => void queue.send(JSON.stringify(rule.input ?? event)) });
        out.item('rule', `${rule.name} (${rule.eventBusName}) -> queue ${queue.name}`);
      } else {
        const fn = rule.target.function;
        bus.putRule({ name: rule.name, eventBusName: rule.eventBusName, pattern: rule.pattern, target: async (event) => void (await asyncInvoke(fn, rule.input ?? event, `rule ${rule.name}`)) });
        out.item('rule', `${rule.name} (${rule.eventBusName}) -> ${fn}`);
      }
    }

    // ---- schedules
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
        void asyncInvoke(s.function, event, `schedule ${s.name}`);
      };
      if (s.rateMs !== null) {
        const every = s.rateMs / rateScale;
        const timer = setInterval(() => fire(`${s.expression}${rateScale !== 1 ? ` (÷${rateScale})` : ''}`), every);
        timer.unref();
        stopFns.push(() => clearInterval(timer));
        out.item('schedule', `${s.expression} -> ${s.function}${rateScale !== 1 ? ` (every ${(every / 1000).toFixed(1)}s with --rate-scale ${rateScale})` : ''}`);
        continue;
      }
      // cron(...): each firing at its UTC time (--rate-scale does not apply).
      const { first, stop } = runSchedule(schedule, () => fire(s.expression));
      stopFns.push(stop);
      out.item('schedule', `${s.expression} -> ${s.function} (${first ? `next ${first.toISOString().replace(/\.\d{3}Z$/, 'Z')}, UTC` : 'never fires again'})`);
    }

    // ---- audit log -> CloudWatch Logs subscriptions
    for (const sub of app.logSubscriptions) {
      if (!cluster) {
        out.warn(`log group ${sub.logGroup}: a real cluster's audit log is not readable locally; ${sub.function} gets no audit records`);
        continue;
      }
      const subscription = new LogSubscription({
        name: sub.name,
        owner: app.accountId,
        logGroup: sub.logGroup,
        logStream: `kube-apiserver-audit-${Math.random().toString(16).slice(2, 34).padEnd(32, '0')}`,
        filterPattern: sub.filterPattern,
        flushMs: 500,
        deliver: (event, message) => void asyncInvoke(sub.function, event, `log subscription ${sub.name} (${message.logEvents.length} records)`),
      });
      const off = cluster.onAudit((e) => subscription.put(JSON.stringify(e), Date.parse(String(e.stageTimestamp ?? '')) || Date.now()));
      stopFns.push(() => {
        off();
        subscription.flush();
        subscription.stop();
      });
      out.item('audit log', `${sub.logGroup} -> ${sub.function} (filter ${sub.filterPattern || '(all)'})`);
    }
    for (const n of app.notes) out.note(n);

    // ---- forwarder
    const fwd = await importIfExists<{ startForwarder: (cfg: object, deps?: object) => Promise<{ stop(graceMs?: number): Promise<unknown>; synced?: Promise<void> }> }>(join(cwd, 'forwarder', 'index.ts'));
    const busName = String(app.params.busName ?? app.buses[0] ?? 'default');
    if (!fwd) {
      const msg = 'forwarder/index.ts not found: no Kubernetes change reaches the bus (nothing will be copied, rolled out or protected by events)';
      missing.push(msg);
      out.warn(msg);
    } else {
      const sa = { user: `system:serviceaccount:${RIPPLE_NAMESPACE}:${FORWARDER_SERVICE_ACCOUNT}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${RIPPLE_NAMESPACE}`] };
      const kc = new KubeConfig();
      if (cluster) kc.loadFromString(cluster.kubeconfig(sa));
      else kc.loadFromFile(kubeconfigPath);
      const forwarder = await fwd.startForwarder({
        cluster: clusterName,
        kubeConfig: kc,
        eventBusName: busName,
        eventBridge: { endpoint: bus.url, region: app.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
        identity: 'ripple-dev',
        leaderElection: false,
        httpPort: null,
      }, {
        log: (level: string, msg: string, fields?: Record<string, unknown>) => out.functionLog('forwarder', JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }), 'stdout'),
      });
      stopFns.push(async () => void (await forwarder.stop(2000)));
      out.item('forwarder', `in-process as ${cluster ? sa.user : 'the kubeconfig identity'}, cluster "${clusterName}" -> bus ${busName}`);
    }

    // ---- scenario
    let results: StepResult[] = [];
    if (o.scenario === false) await applyWaiting();
    else {
      const policies = await importIfExists<{ loadPolicies: (dir: string) => Array<{ spec: { source: { kind: string; namespace: string; name: string }; protect?: { message: string } } }> }>(join(cwd, 'functions', 'shared', 'policy', 'load.ts'));
      const list = policies ? policies.loadPolicies(join(cwd, 'policies')) : [];
      out.item('policies', `${list.length} from policies/ (${list.map((p) => `${p.spec.source.kind} ${p.spec.source.namespace}/${p.spec.source.name}`).join(', ') || 'none'})`);
      const base = list.find((p) => p.spec.source.kind === 'Secret' && p.spec.source.name === 'blogsecret') ?? list.find((p) => p.spec.source.kind === 'Secret');
      out.heading('\nscenario (the article: protect, clone and sync, reload)');
      if (!base) {
        await applyWaiting();
        out.fail('no Secret policy in policies/: the scenario needs one (policies/blogsecret.yaml)');
      } else {
        results = await runScenario({
          kc: adminKc,
          kubeconfigPath,
          source: { namespace: base.spec.source.namespace, name: base.spec.source.name },
          protectMessage: base.spec.protect?.message ?? null,
          stepTimeoutMs: o.stepTimeoutMs ?? 30_000,
          out,
          kubectl: which('kubectl'),
          afterSeed: applyWaiting,
        });
      }
      await bus.idle();
      for (const m of mappings) await m.idle();
    }
    const dlqFiles = readdirSync(dlqDir).filter((f) => f.endsWith('.jsonl'));
    if (dlqFiles.length) out.note(`dead-letter files: ${dlqFiles.map((f) => relative(cwd, join(dlqDir, f))).join(', ')}`);
    const summary = Object.entries(stats).map(([fn, bySource]) => `${fn} (${Object.entries(bySource).map(([src, n]) => `${src}: ${n.ok} ok${n.failed ? `, ${n.failed} failed` : ''}`).join('; ')})`);
    if (o.scenario !== false) out.item('invocations', summary.join(', ') || 'none');
    return { app, bus, kubeconfigPath, missing, results, stop, invocations: () => structuredClone(stats) };
  } catch (err) {
    await stop();
    throw err;
  }
}
