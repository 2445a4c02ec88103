/**
 * Clone handler, wiring only: event -> trigger and work items (triggers.ts) -> per cluster read, plan, apply,
 * summary (reconcile.ts) -> metrics and log line. Inputs: RippleEvents (EventBridge), the schedule, and the
 * CloudFormation custom resource (full resync on deploy, answered on its ResponseURL: custom-resource.ts).
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { fingerprintKeyCache } from '../../kube/fingerprint-key.ts';
import { createKubeProvider, type Kube, type KubeFor } from '../runtime/kube.ts';
import { observability, rippleMiddleware, type Observability } from '../runtime/middleware.ts';
import { loadPolicies } from '../../core/policy/load.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { runtimeConfig, type RuntimeConfig } from '../runtime/config.ts';
import { answerCloudFormation, deployResync, putResponse } from './custom-resource.ts';
import { failIfFailed, reconcile, type CloneSummary } from './reconcile.ts';

export type { CloneSummary } from './reconcile.ts';
import { classify, workFor } from './triggers.ts';


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
  /**
   * Time kept free at the end of an invocation (default 30 s: a request timeout plus 429 waits): once the
   * remaining time falls below it, no new copy write starts and the invocation fails as retryable; the retry
   * continues where it stopped (level-based).
   */
  timeReserveMs: number;
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
    cfnRetryDelaysMs: partial.cfnRetryDelaysMs ?? [2000, 5000],
    timeReserveMs: partial.timeReserveMs ?? 30_000,
  };
}

export function makeHandler(partial: Partial<Deps> = {}) {
  let deps: Deps | null = null;
  const obs = () => (deps ??= resolveDeps(partial)).observability;

  async function main(event: unknown, context?: Context): Promise<CloneSummary | object> {
    deps ??= resolveDeps(partial);
    const remaining = context?.getRemainingTimeInMillis?.();
    const budgetEnds = typeof remaining === 'number' ? performance.now() + remaining - deps.timeReserveMs : Infinity;
    const d = { ...deps, outOfTime: () => performance.now() >= budgetEnds };
    const trigger = classify(event, d.config.defaultCluster);
    const items = workFor(trigger, d.policies);
    if (trigger.type === 'cloudformation') {
      return answerCloudFormation(d, trigger, () => deployResync(d.kubeFor, trigger.clusters, async (cluster) => {
        const summary = await reconcile(d, cluster, items, trigger.why);
        failIfFailed(summary);
        return summary;
      }));
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
