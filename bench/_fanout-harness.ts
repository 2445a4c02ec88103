/**
 * What `npm run bench -- fanout` runs on: the embedded cluster (in this process, or in a child process:
 * ./_cluster-process.ts), the handlers' way to it (the Lambda request path, context and timeouts), how Lambda
 * invokes them (EventBridge's envelope, the clone's asynchronous retries, the rollout containers fed SQS batches;
 * the longest invocation of each), their silenced observability, the memory sampler, CPU profiles of the measured
 * phase, and timing helpers.
 */
import type { Context } from 'aws-lambda';
import { fork } from 'node:child_process';
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
import { kubeOverHttp, type Kube as LambdaKube } from '../functions/runtime/kube.ts';
import { makeHandler as makeCloneHandler } from '../functions/clone/handler.ts';
import { parseRuntimeConfig } from '../functions/runtime/config.ts';
import { RetryableError } from '../core/errors.ts';
import type { RipplePolicy } from '../core/policy/schema.ts';
import type { PutEntry } from '../events/schema.ts';
import type { RateLimit } from '../kube/rate.ts';
import { EventSourceMapping, LocalQueue } from '../infra/local/dev/sqs.ts';
import { rolloutSettings } from '../render/patterns.ts';

/** What the bench reads from an audit record. */
export interface Audited {
  user: string;
  verb: string;
  resource: string | null;
  uri: string;
  code: number;
  /** When the API server answered (Date.now()). */
  at: number;
}

/** Where the cluster runs: in the handlers' process, or in one of its own (as in production). */
export type Mode = 'in-process' | 'separate process';

/** The cluster as the bench uses it, wherever it runs. */
export interface BenchCluster {
  kubeConfig(o?: { user?: string; groups?: string[] }): Promise<KubeConfig>;
  /** Start, or stop and write to `file`, a CPU profile of the cluster's process (separate process only). */
  profile?(action: 'start' | 'stop', file?: string): Promise<void>;
  /** Audit records so far (complete up to the last sync()). */
  audit: Audited[];
  /** Wait for every audit record of the requests answered so far; the cluster process's CPU usage (null in-process). */
  sync(): Promise<NodeJS.CpuUsage | null>;
  stop(): Promise<void>;
}

export async function inProcessCluster(opts: StartClusterOptions): Promise<BenchCluster> {
  const cluster = await startCluster(opts);
  const audit: Audited[] = [];
  cluster.onAudit((e) => audit.push({ user: e.user.username, verb: e.verb, resource: e.objectRef?.resource ?? null, uri: e.requestURI, code: e.responseStatus.code, at: Date.now() }));
  return { kubeConfig: async (o) => cluster.kubeConfig(o), audit, sync: async () => null, stop: () => cluster.stop() };
}

export async function clusterProcess(opts: StartClusterOptions): Promise<BenchCluster> {
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
      else if (m.type === 'audit') for (const [user, verb, resource, uri, code, at] of m.events!) audit.push({ user, verb, resource, uri, code, at });
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
export function lambdaKube(kc: KubeConfig, rateLimit: RateLimit): LambdaKube {
  const cluster = kc.getCurrentCluster()!;
  const token = kc.getCurrentUser()!.token!;
  return kubeOverHttp('local', { server: cluster.server, ca: Buffer.from(cluster.caData!, 'base64'), prepare: async (ro) => void (ro.headers.Authorization = `Bearer ${token}`) }, { timeoutMs: 60_000, rateLimit });
}

/** The functions' timeouts and the clone's asynchronous retries, as serverless.yml sets them: no invocation may need more. */
export const FUNCTIONS = ((): { clone: { timeoutMs: number; retries: number }; rollout: { timeoutMs: number } } => {
  const doc = parseYaml(readFileSync(fileURLToPath(new URL('../serverless.yml', import.meta.url)), 'utf8')) as {
    provider: { timeout?: number };
    functions: Record<string, { timeout?: number; maximumRetryAttempts?: number }>;
  };
  const timeout = (f: string) => (doc.functions[f]?.timeout ?? doc.provider.timeout ?? 6) * 1000;
  return { clone: { timeoutMs: timeout('clone'), retries: doc.functions.clone?.maximumRetryAttempts ?? 2 }, rollout: { timeoutMs: timeout('rollout') } };
})();

/** A Lambda context whose remaining time counts down from the function timeout. */
export function lambdaContext(timeoutMs: number): Context {
  const deadline = performance.now() + timeoutMs;
  return { functionName: 'bench', awsRequestId: 'bench', getRemainingTimeInMillis: () => Math.max(0, Math.round(deadline - performance.now())) } as unknown as Context;
}

let seq = 0;
/** An entry as EventBridge delivers it to a target. */
export function delivered(entry: PutEntry): object {
  return { version: '0', id: `bench-${++seq}`, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}

/** The rollout queue's batch size and maximum concurrency (containers), as serverless.yml sets them. */
export const SQS_BATCH = 100;
export const SQS_CONCURRENCY = 5;

export type SqsHandler = (e: unknown, c: Context) => Promise<{ batchItemFailures: unknown[] }>;
export type CloneResult = { writes: number; failures: unknown[] };

/** Longest invocation of each function (since maxMs was last reset), and the clone invocations retried so far. */
export interface Invocations {
  maxMs: { clone: number; rollout: number };
  cloneRetries: number;
}

/** Run one invocation of `fn`, recording its duration in `inv.maxMs[fn]` if it is the longest so far. */
async function timed<T>(inv: Invocations, fn: 'clone' | 'rollout', run: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await run();
  } finally {
    inv.maxMs[fn] = Math.max(inv.maxMs[fn], performance.now() - t);
  }
}

/**
 * The clone handler over the Lambda request path, invoked with its function timeout. A retryable failure (e.g. the
 * time budget spent before every copy was written) is retried as Lambda's asynchronous invocation retries it
 * (maximumRetryAttempts), at once rather than after Lambda's 1-2 min delays; counted in `inv.cloneRetries`.
 */
export function cloneInvoker(cloneKc: KubeConfig, clientLimit: RateLimit, inv: Invocations, policies: RipplePolicy[]): (e: unknown) => Promise<CloneResult> {
  const cloneKube = lambdaKube(cloneKc, clientLimit);
  const config = parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' });
  const cloneObs = quiet();
  const cloneHandler = makeCloneHandler({ config, kubeFor: async () => cloneKube, policies: () => policies, observability: () => cloneObs }) as unknown as (e: unknown, c: Context) => Promise<CloneResult>;
  return async (e) => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await timed(inv, 'clone', () => cloneHandler(e, lambdaContext(FUNCTIONS.clone.timeoutMs)));
      } catch (err) {
        if (!(err instanceof RetryableError) || attempt >= FUNCTIONS.clone.retries) throw err;
        inv.cloneRetries++;
      }
    }
  };
}

/** One handler per container (the queue's maximum concurrency), each with its own client and token bucket. */
export async function rolloutHandlers(rolloutKc: KubeConfig, clientLimit: RateLimit, policies: RipplePolicy[]): Promise<SqsHandler[]> {
  let rollouts: SqsHandler[] = [];
  try {
    const mod = (await import('../functions/rollout/handler.ts')) as { makeHandler: (d: object) => unknown };
    const rolloutObs = quiet(true);
    rollouts = Array.from({ length: SQS_CONCURRENCY }, () => {
      const kube = lambdaKube(rolloutKc, clientLimit);
      return mod.makeHandler({ kubeFor: async () => kube, policies: () => policies, observability: () => rolloutObs, concurrency: 16 }) as SqsHandler;
    });
  } catch (err) {
    console.log(`rollout handler unavailable (${(err as Error).message.split('\n')[0]}): rollouts not measured`);
  }
  return rollouts;
}

/** The events in SQS batches through the rollout containers, SQS_CONCURRENCY in flight; returns the failed records. */
export async function runRollouts(rollouts: SqsHandler[], events: object[], inv: Invocations): Promise<number> {
  if (rollouts.length === 0) return 0;
  const batches: object[][] = [];
  for (let i = 0; i < events.length; i += SQS_BATCH) batches.push(events.slice(i, i + SQS_BATCH));
  let failed = 0;
  await pool(batches, SQS_CONCURRENCY, async (b, worker) => {
    const sent = String(Date.now());
    const records = b.map((e, i) => ({ messageId: `m-${seq}-${i}`, body: JSON.stringify(e), attributes: { SentTimestamp: sent }, messageAttributes: {}, eventSource: 'aws:sqs' }));
    const res = await timed(inv, 'rollout', () => rollouts[worker]({ Records: records }, lambdaContext(FUNCTIONS.rollout.timeoutMs)));
    failed += res.batchItemFailures.length;
  });
  return failed;
}

/**
 * The rollout queue as production runs it, fed while the clone is still writing: events go in as the forwarder
 * would send them (one per copy change, the moment it is seen), and a local SQS queue with Lambda's event source
 * mapping semantics (infra/local/dev/sqs.ts: batches of SQS_BATCH, the batching window and concurrency rendered
 * for `policies`, partial batch failures redelivered after the visibility timeout) hands batches to the rollout
 * containers. `drained()` resolves when every event sent has been processed and deleted; with the failed records.
 */
export function rolloutQueue(rollouts: SqsHandler[], inv: Invocations, policies: RipplePolicy[]): { send(e: object): void; drained(): Promise<number> } {
  if (rollouts.length === 0) return { send: () => {}, drained: async () => 0 };
  // the event source mapping's settings as `ripple render` derives them from these policies (serverless.yml reads them)
  const settings = rolloutSettings(policies);
  if (settings.maximumConcurrency > rollouts.length) throw new Error(`bench: maximum concurrency ${settings.maximumConcurrency} needs as many rollout containers (${rollouts.length})`);
  const queue = new LocalQueue({ name: 'bench-rollout', arn: 'arn:aws:sqs:eu-west-1:123456789012:bench-rollout', region: 'eu-west-1', visibilityTimeoutMs: 6 * FUNCTIONS.rollout.timeoutMs });
  const free = [...rollouts];
  let failed = 0;
  const mapping = new EventSourceMapping(queue, {
    batchSize: SQS_BATCH,
    maximumBatchingWindowMs: settings.maximumBatchingWindow * 1000,
    reportBatchItemFailures: true,
    maximumConcurrency: settings.maximumConcurrency,
    invoke: async (event) => {
      const container = free.pop()!;
      try {
        const result = await timed(inv, 'rollout', () => container(event, lambdaContext(FUNCTIONS.rollout.timeoutMs)));
        return { ok: true, result, requestId: 'bench' };
      } catch (err) {
        return { ok: false, error: { name: (err as Error).name, message: (err as Error).message }, requestId: 'bench' };
      } finally {
        free.push(container);
      }
    },
    onBatch: (b) => void (failed += b.failed),
  });
  return {
    send: (e) => void queue.send(JSON.stringify(e)),
    async drained() {
      while (queue.size() > 0) {
        await mapping.idle();
        if (queue.size() > 0) await new Promise((r) => setTimeout(r, 10));
      }
      mapping.stop();
      return failed;
    },
  };
}

/** Reasons the rollout handler logged for failed namespace groups (names only), to print a summary. */
export const failureReasons = new Map<string, number>();

/** Print the failure reasons logged since the last call, and forget them. */
export function printFailureReasons(): void {
  for (const [reason, n] of failureReasons) console.log(`  rollout log (${n}x): ${reason}`);
  failureReasons.clear();
}

export function quiet(capture = false) {
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

export async function pool<T>(items: readonly T[], limit: number, fn: (item: T, worker: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async (_, w) => {
    while (next < items.length) await fn(items[next++], w);
  }));
}

export function ms(t0: number): number {
  return Math.round(performance.now() - t0);
}

/** CPU time of this process since `from`, in ms. */
export function cpu(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return Math.round((d.user + d.system) / 1000);
}

export function cpuBetween(a: NodeJS.CpuUsage | null, b: NodeJS.CpuUsage | null): number | null {
  return a && b ? Math.round((b.user - a.user + b.system - a.system) / 1000) : null;
}

export const s1 = (x: number) => (x / 1000).toFixed(1);

/** A full GC (for the heap baseline), without starting node with --expose-gc. */
const fullGc: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/** What memorySampler() saw: the heap after a full GC at its start, peak RSS, and the peak heap of each part. */
export interface MemorySample {
  baseline: number;
  peakRss: number;
  peaks: Map<string, number>;
}

/**
 * Peak heap and RSS of this process (the handlers' and the bench's) while `mark` names the part running. Sampled
 * every 100 ms with cheap calls (v8 heap statistics, process.memoryUsage.rss()).
 */
export function memorySampler(): { mark(part: string): void; stop(): MemorySample } {
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
  // every 100 ms (was 20 ms: at 10,000 namespaces the sampling itself cost ~0.5 s of this process's CPU)
  const timer = setInterval(sample, 100);
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
export const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

/**
 * FANOUT_PROFILE=<dir>: CPU profiles of the base-update phase only (handlers' process and cluster's process),
 * written as <dir>/<N>-handlers.cpuprofile and <dir>/<N>-cluster.cpuprofile (open in Chrome DevTools).
 */
export async function phaseProfile(cluster: BenchCluster, n: number): Promise<() => Promise<void>> {
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
