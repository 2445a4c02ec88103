/**
 * What `npm run bench -- fanout` runs on: the embedded cluster (in this process, or in a child process:
 * ./_cluster-process.ts), the handlers' way to it (the Lambda request path), their silenced observability, and
 * timing helpers.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { startCluster, type StartClusterOptions } from '../infra/local/cluster/index.ts';
import type { AuditTuple, ClusterRequest } from './_cluster-process.ts';
import { kubeOverHttp, type Kube as LambdaKube } from '../functions/runtime/kube.ts';
import type { RateLimit } from '../kube/rate.ts';

/** What the bench reads from an audit record. */
export interface Audited {
  user: string;
  verb: string;
  resource: string | null;
  uri: string;
  code: number;
}

/** The cluster as the bench uses it, wherever it runs. */
export interface BenchCluster {
  kubeConfig(o?: { user?: string; groups?: string[] }): Promise<KubeConfig>;
  /** Audit records so far (complete up to the last sync()). */
  audit: Audited[];
  /** Wait for every audit record of the requests answered so far; the cluster process's CPU usage (null in-process). */
  sync(): Promise<NodeJS.CpuUsage | null>;
  stop(): Promise<void>;
}

export async function inProcessCluster(opts: StartClusterOptions): Promise<BenchCluster> {
  const cluster = await startCluster(opts);
  const audit: Audited[] = [];
  cluster.onAudit((e) => audit.push({ user: e.user.username, verb: e.verb, resource: e.objectRef?.resource ?? null, uri: e.requestURI, code: e.responseStatus.code }));
  return { kubeConfig: async (o) => cluster.kubeConfig(o), audit, sync: async () => null, stop: () => cluster.stop() };
}

export async function clusterProcess(opts: StartClusterOptions): Promise<BenchCluster> {
  const child = fork(fileURLToPath(new URL('./_cluster-process.ts', import.meta.url)), [JSON.stringify(opts)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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

/** Reasons the rollout handler logged for failed namespace groups (names only), to print a summary. */
export const failureReasons = new Map<string, number>();

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

