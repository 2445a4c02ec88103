/**
 * Clone handler: parse -> read snapshot -> plan -> apply -> summary, per (policy, scope) the trigger asks for.
 * Inputs: RippleEvents (EventBridge), the schedule, and the CloudFormation custom resource (full resync on
 * deploy, answered on its ResponseURL). See triggers.ts for what each one looks at.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from '../shared/constants.ts';
import { PermanentError, RetryableError } from '../shared/errors.ts';
import { fingerprintKeyCache } from '../shared/fingerprint-key.ts';
import { createKubeProvider, orNull, type Kube, type KubeFor } from '../shared/kube/index.ts';
import { errorReason, observability, rippleMiddleware, type Observability } from '../shared/middleware.ts';
import { loadPolicies } from '../shared/policy/load.ts';
import type { RipplePolicy } from '../shared/policy/schema.ts';
import { runtimeConfig, type RuntimeConfig } from '../shared/runtime.ts';
import { applyClonePlan, type ApplySummary, type CloneReporter } from './apply.ts';
import { noActions, planClone, type ActionType, type CloneAction } from './plan.ts';
import { newReadCache, readSnapshot, scopeLabel, type ReadCache } from './snapshot.ts';
import { classify, workFor, type CloudFormationEvent, type Trigger, type WorkItem } from './triggers.ts';
import { associationsOf, CFN_RETRY_DELAYS_MS, prepareCluster } from './deploy-checks.ts';

export interface Deps {
  config: RuntimeConfig;
  kubeFor: KubeFor;
  policies: RipplePolicy[];
  fingerprintKey: (cluster: string, core: Kube['core']) => Promise<Buffer>;
  observability: Observability;
  /** PUT a CloudFormation custom-resource response. */
  respond: (url: string, body: object) => Promise<void>;
  /** Pauses between in-invocation retries of a deploy-time reconcile that failed with a retryable error. */
  cfnRetryDelaysMs: number[];
  /** Pause before restarting the forwarder for a new Pod Identity association (deploy-checks.ts). */
  associationSettleMs?: number;
}

export interface CloneSummary {
  trigger: string;
  cluster: string;
  policies: number;
  namespaces: number;
  actions: Record<ActionType, number>;
  writes: number;
  conflicts: number;
  failures: ApplySummary['failures'];
}

async function putResponse(url: string, body: object): Promise<void> {
  const text = JSON.stringify(body);
  const res = await fetch(url, { method: 'PUT', body: text, headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(text)) }, signal: AbortSignal.timeout(10_000) }).catch((err: unknown) => {
    throw new RetryableError(`CloudFormation response PUT failed: ${(err as Error).message}`);
  });
  if (!res.ok) throw new RetryableError(`CloudFormation response PUT answered HTTP ${res.status}`);
}

function resolveDeps(partial: Partial<Deps>): Deps {
  const config = partial.config ?? runtimeConfig();
  return {
    config,
    kubeFor: partial.kubeFor ?? createKubeProvider({ config }),
    policies: partial.policies ?? loadPolicies(config.policyDir),
    fingerprintKey: partial.fingerprintKey ?? fingerprintKeyCache(),
    observability: partial.observability ?? observability('clone'),
    respond: partial.respond ?? putResponse,
    cfnRetryDelaysMs: partial.cfnRetryDelaysMs ?? CFN_RETRY_DELAYS_MS,
    ...(partial.associationSettleMs !== undefined ? { associationSettleMs: partial.associationSettleMs } : {}),
  };
}

function reporterFor(obs: Observability): CloneReporter {
  return {
    report: (a, message) => {
      obs.logger.warn(a.action === 'report-unmanaged' ? 'same-named object not managed by ripple: left alone' : 'immutable copy differs: not replaced', { kind: a.kind, namespace: a.namespace, name: a.name, reason: message });
      obs.metrics.addMetric(a.action === 'report-unmanaged' ? 'UnmanagedObjects' : 'ImmutableCopiesNotReplaced', MetricUnit.Count, 1);
    },
    wrote: (a) => obs.logger.debug('copy written', { action: a.action, kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason }),
    skipped: (a) => obs.logger.debug('nothing to do', { kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason }),
    eventFailed: (a, message) => obs.logger.warn('could not record Kubernetes Event', { kind: a.kind, namespace: a.namespace, name: a.name, reason: message }),
  };
}

/** Reconcile the given work items on one cluster (one policy failing to read does not stop the others). */
export async function reconcile(deps: Pick<Deps, 'kubeFor' | 'fingerprintKey' | 'config'> & { observability?: Observability }, cluster: string, items: readonly WorkItem[], trigger = 'manual'): Promise<CloneSummary> {
  const summary: CloneSummary = {
    trigger,
    cluster,
    policies: items.length,
    namespaces: 0,
    actions: noActions(),
    writes: 0,
    conflicts: 0,
    failures: [],
  };
  if (items.length === 0) return summary;
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const cache: ReadCache = newReadCache();
  const reporter = deps.observability ? reporterFor(deps.observability) : undefined;
  for (const item of items) {
    let snapshot;
    try {
      snapshot = await readSnapshot(kube, item.policy, item.scope, cache);
    } catch (err) {
      const src = item.policy.spec.source;
      summary.failures.push({ kind: src.kind, namespace: item.scope.kind === 'all' ? '*' : item.scope.namespace, name: src.name, action: 'skip', retryable: !(err instanceof PermanentError), message: `policy ${item.policy.metadata.name}: reading ${scopeLabel(item.scope)}: ${errorReason(err)}` });
      continue;
    }
    const actions = planClone({ ...snapshot, fingerprintKey: key, ownWrite: item.ownWrite });
    summary.namespaces += actions.length;
    const replan = async (a: CloneAction): Promise<CloneAction> => {
      const fresh = await readSnapshot(kube, item.policy, { kind: 'namespace', namespace: a.namespace });
      return planClone({ ...fresh, fingerprintKey: key, ownWrite: item.ownWrite })[0] ?? { kind: a.kind, namespace: a.namespace, name: a.name, action: 'skip', reason: `namespace ${a.namespace} is gone` };
    };
    const applied = await applyClonePlan(actions, { kube, concurrency: deps.config.writeConcurrency, replan, reporter });
    for (const [k, v] of Object.entries(applied.done) as [ActionType, number][]) summary.actions[k] += v;
    summary.writes += applied.writes;
    summary.conflicts += applied.conflicts;
    summary.failures.push(...applied.failures);
    deps.observability?.logger.info('policy reconciled', { policy: item.policy.metadata.name, scope: scopeLabel(item.scope), actions: applied.done, writes: applied.writes });
  }
  return summary;
}

function failIfFailed(summary: CloneSummary): void {
  if (summary.failures.length === 0) return;
  const first = summary.failures.slice(0, 3).map((f) => `${f.action} ${f.kind} ${f.namespace}/${f.name}: ${f.message}`).join('; ');
  const text = `${summary.failures.length} cop${summary.failures.length === 1 ? 'y' : 'ies'} not reconciled: ${first}`;
  if (summary.failures.some((f) => f.retryable)) throw new RetryableError(text);
  throw new PermanentError(text);
}

async function answerCloudFormation(deps: Deps, trigger: Extract<Trigger, { type: 'cloudformation' }>, work: () => Promise<{ reason: string; data: Record<string, unknown> }>): Promise<object> {
  const e: CloudFormationEvent = trigger.event;
  const base = { PhysicalResourceId: e.PhysicalResourceId ?? `ripple-clone-resync-${trigger.cluster}`, StackId: e.StackId, RequestId: e.RequestId, LogicalResourceId: e.LogicalResourceId, NoEcho: false };
  let body: object | null = null;
  // A transient error (throttling, a 5xx, a key not there yet) is retried here a few times: CloudFormation
  // does not redeliver, and a FAILED answer rolls the deploy back.
  for (let attempt = 0; !body; attempt++) {
    try {
      const { reason, data } = e.RequestType === 'Delete' ? { reason: 'nothing to do on delete', data: {} } : await work();
      body = { ...base, Status: 'SUCCESS', Reason: reason, Data: data };
    } catch (err) {
      const delay = deps.cfnRetryDelaysMs[attempt];
      if (err instanceof RetryableError && delay !== undefined) {
        deps.observability.logger.warn('deploy-time reconcile failed; retrying before answering CloudFormation', { attempt: attempt + 1, reason: errorReason(err) });
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      body = { ...base, Status: 'FAILED', Reason: errorReason(err).slice(0, 3000) };
    }
  }
  await deps.respond(e.ResponseURL, body);
  return body;
}

export function makeHandler(partial: Partial<Deps> = {}) {
  let deps: Deps | null = null;
  const obs = () => (deps ??= resolveDeps(partial)).observability;

  async function main(event: unknown, _context?: Context): Promise<CloneSummary | object> {
    deps ??= resolveDeps(partial);
    const d = deps;
    const trigger = classify(event, d.config.defaultCluster);
    const items = workFor(trigger, d.policies);
    if (trigger.type === 'cloudformation') {
      return answerCloudFormation(d, trigger, async () => {
        const data: Record<string, unknown> = { Writes: 0 };
        const reasons: string[] = [];
        const props = trigger.event.ResourceProperties;
        for (const cluster of trigger.clusters) {
          const kube = await d.kubeFor(cluster);
          // one stage per cluster; forwarder pods re-created after the Pod Identity association (deploy-checks.ts)
          const prepared = await prepareCluster(kube, { cluster, busName: typeof props?.BusName === 'string' ? props.BusName : undefined, associationArn: associationsOf(props)[cluster], settleMs: d.associationSettleMs });
          if (prepared) reasons.push(`${cluster}: ${prepared}`);
          const keySecret = await orNull(kube.core.readNamespacedSecret({ name: FINGERPRINT_KEY_SECRET, namespace: RIPPLE_NAMESPACE }));
          if (!keySecret) {
            reasons.push(`${cluster}: not synced yet (${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET} is absent; the forwarder creates it and requests a resync on start)`);
            continue;
          }
          const summary = await reconcile(d, cluster, items, trigger.why);
          failIfFailed(summary);
          data.Writes = (data.Writes as number) + summary.writes;
          reasons.push(`${cluster}: ${summary.policies} policies, ${summary.writes} writes`);
        }
        return { reason: reasons.join('; '), data };
      });
    }
    const summary = await reconcile(d, trigger.cluster, items, trigger.why);
    const m = d.observability.metrics;
    m.addMetric('CopiesCreated', MetricUnit.Count, summary.actions.create);
    m.addMetric('CopiesUpdated', MetricUnit.Count, summary.actions.update + summary.actions['replace-immutable']);
    m.addMetric('CopiesDeleted', MetricUnit.Count, summary.actions.delete);
    m.addMetric('Writes', MetricUnit.Count, summary.writes);
    d.observability.logger.info('clone run finished', { trigger: summary.trigger, cluster: summary.cluster, policies: summary.policies, namespaces: summary.namespaces, actions: summary.actions, writes: summary.writes, conflicts: summary.conflicts, failures: summary.failures.length });
    failIfFailed(summary);
    return summary;
  }

  return middy(main).use(rippleMiddleware({ handler: 'clone', observability: obs }));
}

export const handler = makeHandler();
