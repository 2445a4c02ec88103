/**
 * Shared setup for the clone integration tests: an embedded cluster with RBAC enforced, the clone handler
 * running as a user in group `ripple:clone` bound to exactly the rendered clone ClusterRole, the fingerprint key
 * Secret (as the forwarder creates it), and a write counter fed by the cluster's audit log.
 */
import type { CoreV1Api, KubernetesObject } from '@kubernetes/client-node';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { startCluster, type EmbeddedCluster, type StartClusterOptions } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE, DETAIL_TYPES } from '../../../core/constants.ts';
import { detailOf } from '../../support/events.ts';
import { newFingerprintKey } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { parsePolicies } from '../../../core/policy/load.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { objectChangeEntry, resyncEntry, type PutEntry } from '../../../events/schema.ts';
import { applyRenderedRbac, handlerIdentity } from '../../support/rbac.ts';
import type { LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';

/** The clone handler's user and group (bound to the rendered clone ClusterRole). */
export const CLONE_IDENTITY = handlerIdentity('clone');
export const CLONE_USER = CLONE_IDENTITY.user;
export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Quiet Powertools (the tests read summaries and the cluster, not log lines). */
export function quietObservability(capture?: string[]) {
  const logger = new Logger({ serviceName: 'ripple-clone', logLevel: capture ? 'DEBUG' : 'SILENT' });
  const metrics = new Metrics({ namespace: 'Ripple', serviceName: 'ripple-clone' });
  const sink = (line: string) => capture?.push(line);
  const console = { log: sink, info: sink, warn: sink, error: sink, debug: sink, trace: sink };
  (logger as unknown as { console: unknown }).console = console;
  (metrics as unknown as { console: unknown }).console = console;
  return { logger, metrics };
}

export const lambdaContext = {
  functionName: 'ripple-clone',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ripple-clone',
  memoryLimitInMB: '512',
  awsRequestId: 'test-request',
  logGroupName: '/aws/lambda/ripple-clone',
  logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 300_000,
  done() {},
  fail() {},
  succeed() {},
} as unknown as Context;

export interface CloneEnv {
  cluster: EmbeddedCluster;
  admin: Kube;
  key: string;
  audit: AuditEvent[];
  /** Writes made by the clone handler's identity since the last `resetWrites()`. */
  writes(): AuditEvent[];
  resetWrites(): void;
  /** The clone handler as the clone identity; `logs` collects every log line and EMF document it writes. */
  handler(policies: RipplePolicy[], logs?: string[]): (event: unknown) => Promise<any>;
  /** A delivered EventBridge event for a PutEntry (what the bus hands a Lambda target). */
  delivered(entry: PutEntry): object;
  changeEvent(detailType: 'created' | 'updated' | 'deleted', obj: KubernetesObject & { data?: Record<string, string>; type?: string }): object;
  resyncEvent(): object;
  stop(): Promise<void>;
}

let seq = 0;

export async function startCloneEnv(policies: RipplePolicy[], clusterOptions: Omit<StartClusterOptions, 'authorization'> = {}): Promise<CloneEnv> {
  const cluster = await startCluster({ ...clusterOptions, authorization: 'RBAC' });
  const admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  const audit: AuditEvent[] = [];
  cluster.onAudit((e) => audit.push(e));

  // RBAC: exactly the rendered clone ClusterRole, bound to the clone group.
  await applyRenderedRbac(admin, policies, 'clone');
  await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } }).catch(() => {});
  const key = newFingerprintKey();
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key } } });

  const cloneKube = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
  const config = parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local', RIPPLE_WRITE_CONCURRENCY: '16' });
  let mark = 0;
  const keyBytes = Buffer.from(key, 'utf8');

  function delivered(entry: PutEntry): object {
    return { version: '0', id: `evt-${++seq}`, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
  }

  return {
    cluster,
    admin,
    key,
    audit,
    writes: () => audit.slice(mark).filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb)),
    resetWrites: () => {
      mark = audit.length;
    },
    handler: (ps, logs) => {
      const obs = quietObservability(logs);
      return makeHandler({ config, kubeFor: async () => cloneKube, policies: () => ps, observability: () => obs, cfnRetryDelaysMs: [10, 10] }) as unknown as (event: unknown) => Promise<any>;
    },
    delivered,
    changeEvent(dt, obj) {
      return delivered(objectChangeEntry(DETAIL_TYPES[dt] as never, detailOf('local', dt, obj, keyBytes)));
    },
    resyncEvent: () => delivered(resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() })),
    stop: () => cluster.stop(),
  };
}

/** The clone handler as Lambda invokes it, `(event, context)`, running as the clone identity on `cluster`; log lines are dropped. */
export function cloneHandlerOn(cluster: EmbeddedCluster, policies: RipplePolicy[]): (event: unknown, context: unknown) => Promise<unknown> {
  const obs = quietObservability();
  return makeHandler({
    config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'local' }),
    kubeFor: async () => kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local'),
    policies: () => policies,
    observability: () => obs,
  }) as unknown as (event: unknown, context: unknown) => Promise<unknown>;
}

/**
 * The clone handler on `cluster` as the target of the bus's `ripple-clone` rule (as serverless.yml wires it):
 * `onHandled` sees each delivered event and the handler's result; target errors are pushed to `targetErrors`.
 */
export function routeToClone(
  bus: LocalEventBridge,
  cluster: EmbeddedCluster,
  policies: RipplePolicy[],
  pattern: object,
  targetErrors: unknown[],
  onHandled: (event: unknown, result: unknown) => void = () => {},
): void {
  const clone = cloneHandlerOn(cluster, policies);
  bus.onTargetError((_rule, _event, err) => targetErrors.push(err));
  bus.putRule({ name: 'ripple-clone', eventBusName: 'ripple', pattern, target: async (event) => onHandled(event, await clone(event, lambdaContext)) });
}

/**
 * `eventually(what, probe, timeoutMs = 15 s)`: polls `probe` every 50 ms until it returns a truthy value; on
 * timeout it fails naming `what` and the state `diagnose()` describes (events handled, target errors).
 */
export function poller(diagnose: () => string) {
  return async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 15_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe();
      if (v) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; ${diagnose()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
}

export function policiesFrom(yaml: string): RipplePolicy[] {
  return parsePolicies(yaml, 'test.yaml');
}

export async function secretIn(core: CoreV1Api, namespace: string, name: string) {
  return core.readNamespacedSecret({ namespace, name }).catch((e: { name?: string }) => {
    if (e.name === 'NotFoundError') return null;
    throw e;
  });
}

export const b64 = (s: string) => Buffer.from(s).toString('base64');
