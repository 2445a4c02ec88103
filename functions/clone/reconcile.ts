/**
 * Clone, for the work items of one cluster: per (policy, scope) read the current state (snapshot.ts), plan
 * (plan.ts, pure), apply (apply.ts), and sum it up; a summary with failures becomes one Retryable/Permanent error.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PermanentError, RetryableError } from '../../core/errors.ts';
import type { RuntimeConfig } from '../runtime/config.ts';
import type { Kube, KubeFor } from '../runtime/kube.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';
import { applyClonePlan, type ApplySummary, type CloneReporter } from './apply.ts';
import { noActions, planClone, type ActionType, type CloneAction } from './plan.ts';
import { newReadCache, readCurrent, scopeLabel, type ReadCache } from './read.ts';
import type { WorkItem } from './triggers.ts';

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
export async function reconcile(deps: { kubeFor: KubeFor; fingerprintKey: (cluster: string, core: Kube['core']) => Promise<Buffer>; config: RuntimeConfig; observability?: Observability; outOfTime?: () => boolean }, cluster: string, items: readonly WorkItem[], trigger = 'manual'): Promise<CloneSummary> {
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
      snapshot = await readCurrent(kube, item.policy, item.scope, cache);
    } catch (err) {
      const src = item.policy.spec.source;
      summary.failures.push({ kind: src.kind, namespace: item.scope.kind === 'all' ? '*' : item.scope.namespace, name: src.name, action: 'skip', retryable: !(err instanceof PermanentError), message: `policy ${item.policy.metadata.name}: reading ${scopeLabel(item.scope)}: ${errorReason(err)}` });
      continue;
    }
    const actions = planClone({ ...snapshot, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate });
    summary.namespaces += actions.length;
    const replan = async (a: CloneAction): Promise<CloneAction> => {
      const fresh = await readCurrent(kube, item.policy, { kind: 'namespace', namespace: a.namespace });
      return planClone({ ...fresh, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate })[0] ?? { kind: a.kind, namespace: a.namespace, name: a.name, action: 'skip', reason: `namespace ${a.namespace} is gone` };
    };
    const applied = await applyClonePlan(actions, { kube, concurrency: deps.config.writeConcurrency, replan, reporter, outOfTime: deps.outOfTime });
    for (const [k, v] of Object.entries(applied.done) as [ActionType, number][]) summary.actions[k] += v;
    summary.writes += applied.writes;
    summary.conflicts += applied.conflicts;
    summary.failures.push(...applied.failures);
    deps.observability?.logger.info('policy reconciled', { policy: item.policy.metadata.name, scope: scopeLabel(item.scope), source: snapshot.origin, actions: applied.done, writes: applied.writes });
  }
  return summary;
}

/** A summary with failures as one error: Retryable if any failure is, else Permanent. */
export function failIfFailed(summary: CloneSummary): void {
  if (summary.failures.length === 0) return;
  const first = summary.failures.slice(0, 3).map((f) => `${f.action} ${f.kind} ${f.namespace}/${f.name}: ${f.message}`).join('; ');
  const text = `${summary.failures.length} cop${summary.failures.length === 1 ? 'y' : 'ies'} not reconciled: ${first}`;
  if (summary.failures.some((f) => f.retryable)) throw new RetryableError(text);
  throw new PermanentError(text);
}

