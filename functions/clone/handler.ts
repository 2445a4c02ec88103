/**
 * Clone handler, wiring only: event -> trigger and work items (triggers.ts: the fan-out over the stage's clusters)
 * -> per target cluster read, plan, apply, summary (reconcile.ts) -> metrics and log line. Inputs: RippleEvents (EventBridge), the schedule, and the
 * CloudFormation custom resource (full resync on deploy, answered on its ResponseURL: custom-resource.ts).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { handlerDeps, lazyHandler, type HandlerDeps, type InvocationContext } from '../runtime/handler-deps.ts';
import { createKubeProvider } from '../runtime/kube.ts';
import { loadPolicies } from '../../core/policy/load.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { runtimeConfig, type RuntimeConfig } from '../runtime/config.ts';
import { answerCloudFormation, deployResync, putResponse } from './custom-resource.ts';
import { associationsOf, CFN_RETRY_DELAYS_MS, prepareCluster } from './deploy-checks.ts';
import { failIfFailed, reconcile, reconcileFleet, type CloneSummary } from './reconcile.ts';
import { stageClusters, unknownClusters } from '../../core/policy/fleet.ts';

export type { CloneSummary } from './reconcile.ts';
import { classify, workFor } from './triggers.ts';
import type { RippleConfig } from '../../core/config/schema.ts';
import { lazyRippleConfig } from '../runtime/ripple-config.ts';
import { runCopyModes, withCopyModes } from './annotations/entry.ts';


export interface Deps extends HandlerDeps {
  config: RuntimeConfig;
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
  /** Pause before restarting the forwarder for a new Pod Identity association (deploy-checks.ts). */
  associationSettleMs?: number;
  /** Namespaces per page when all namespaces are reconciled (default PAGE, 500): memory holds two pages. */
  pageSize?: number;
  /** The cluster-wide RippleConfig (ripple.config.yaml): its `reflector`/`replicator` copy modes (annotations/). */
  rippleConfig: () => RippleConfig;
}

function resolveDeps(partial: Partial<Deps>): Deps {
  const config = partial.config ?? runtimeConfig();
  let policies: RipplePolicy[] | null = null;
  return {
    ...handlerDeps('clone', partial),
    config,
    kubeFor: partial.kubeFor ?? createKubeProvider({ config }),
    policies: partial.policies ?? (() => (policies ??= loadPolicies(config.policyDir))),
    respond: partial.respond ?? putResponse,
    cfnRetryDelaysMs: partial.cfnRetryDelaysMs ?? CFN_RETRY_DELAYS_MS,
    timeReserveMs: partial.timeReserveMs ?? 30_000,
    ...(partial.associationSettleMs !== undefined ? { associationSettleMs: partial.associationSettleMs } : {}),
    ...(partial.pageSize !== undefined ? { pageSize: partial.pageSize } : {}),
    rippleConfig: partial.rippleConfig ?? lazyRippleConfig(),
  };
}

export async function processEvent(d: Deps, event: unknown, context?: InvocationContext): Promise<CloneSummary | object> {
  const obs = d.observability();
  const trigger = classify(event, d.config.defaultCluster);
  const stage = stageClusters(d.config);
  const items = workFor(trigger, d.policies(), stage);
  for (const p of d.policies()) {
    const unknown = unknownClusters(p, stage);
    if (unknown.length) obs.logger.warn('policy names clusters this stage does not serve: left out', { policy: p.metadata.name, clusters: unknown.map((u) => u.cluster), stage });
  }
  const remaining = context?.getRemainingTimeInMillis?.();
  const budgetEnds = typeof remaining === 'number' ? performance.now() + remaining - d.timeReserveMs : Infinity;
  const deps = { ...d, observability: obs, outOfTime: () => performance.now() >= budgetEnds };
  if (trigger.type === 'cloudformation') {
    const props = trigger.event.ResourceProperties;
    const busName = typeof props?.BusName === 'string' ? props.BusName : undefined;
    return answerCloudFormation(deps, trigger, () =>
      deployResync(
        d.kubeFor,
        trigger.clusters,
        async (cluster) => {
          // the policies, then the copy modes (Reflector/Replicator annotations) of this cluster
          const summary = withCopyModes(await reconcile(deps, cluster, items, trigger.why), await runCopyModes({ ...deps, concurrency: d.config.writeConcurrency }, { ...trigger, clusters: [cluster] }, stage));
          failIfFailed(summary);
          return summary;
        },
        // one stage per cluster; forwarder pods re-created after the Pod Identity association (deploy-checks.ts)
        (cluster, kube) => prepareCluster(kube, { cluster, busName, associationArn: associationsOf(props)[cluster], settleMs: d.associationSettleMs }),
      ),
    );
  }
  // the copy modes (Reflector/Replicator annotations) after the policies; nothing when none is on
  const summary = withCopyModes(await reconcileFleet(deps, trigger.cluster, items, trigger.why), await runCopyModes({ ...deps, concurrency: d.config.writeConcurrency }, trigger, stage));
  const m = obs.metrics;
  m.addMetric('CopiesCreated', MetricUnit.Count, summary.actions.create);
  m.addMetric('CopiesUpdated', MetricUnit.Count, summary.actions.update + summary.actions['replace-immutable']);
  m.addMetric('CopiesDeleted', MetricUnit.Count, summary.actions.delete);
  m.addMetric('Writes', MetricUnit.Count, summary.writes);
  obs.logger.info('clone run finished', { trigger: summary.trigger, cluster: summary.cluster, clusters: summary.clusters, policies: summary.policies, namespaces: summary.namespaces, actions: summary.actions, writes: summary.writes, conflicts: summary.conflicts, failures: summary.failures.length });
  failIfFailed(summary);
  return summary;
}

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('clone', () => resolveDeps(partial), processEvent);
}

export const handler = makeHandler();
