/**
 * Protect handler. Inputs: forwarder events (RippleEvent) about protected objects, `Ripple Resync Requested`
 * (seed missing snapshots, restore unexplained drift where nobody but ripple is allowed), and EKS audit records —
 * the only input that names the actor — from a CloudWatch Logs subscription (the stack's own clusters) or, for
 * clusters in other regions and accounts, from the hub's Kinesis stream (kinesis.ts).
 *
 * Wiring only: event -> triggers (triggers.ts: the attempts per protected object) -> per object read, plan, apply,
 * report (reconcile.ts) -> a retryable failure is rethrown once every object was tried. A Kinesis batch is one
 * such run per cluster; a cluster's failure is answered as a batch item failure (its first record), so the stream
 * retries from there while the other clusters' records count as processed.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { isRetryable, PermanentError } from '../../core/errors.ts';
import { handlerDeps, lazyHandler, type HandlerDeps } from '../runtime/handler-deps.ts';
import { errorReason } from '../runtime/middleware.ts';
import { auditRecordsFromEnv, runtimeConfig } from '../runtime/config.ts';
import { protectObject, type AttemptReport, type ProtectSummary } from './reconcile.ts';
import { auditTriggers, protectedPolicies, triggersOf, type ProtectedPolicy, type Triggers } from './triggers.ts';
import { isKinesisEvent, kinesisDeliveries, type KinesisEvent, type RefusedRecord } from './kinesis.ts';
import type { StageCluster } from './audit.ts';
import { isSourceCluster, sourceClusterOf, stageClusters } from '../../core/policy/fleet.ts';

export type { AttemptReport, ProtectSummary } from './reconcile.ts';

export interface Deps extends HandlerDeps {
  defaultCluster: () => string;
  /** The stage's clusters (primary first), with the account of those in another account: whose audit logs count. */
  stageClusters: () => StageCluster[];
  /** Whether audit records reach protect in this deployment (RIPPLE_AUDIT_RECORDS; plan.ts `auditRecords`). */
  auditRecords: () => boolean;
}

/** A Kinesis batch's answer: the summary, the records refused, and where the stream must retry from. */
export interface KinesisSummary extends ProtectSummary {
  refused: RefusedRecord[];
  batchItemFailures: { itemIdentifier: string }[];
}

export async function processEvent(deps: Deps, event: unknown): Promise<ProtectSummary | KinesisSummary> {
  const policies = protectedPolicies(deps.policies());
  if (isKinesisEvent(event)) return processKinesis(deps, event, policies);
  const triggers = triggersOf(event, policies, deps.defaultCluster, deps.stageClusters());
  if (triggers.refused) reportRefused(deps, [triggers.refused]);
  return protectTriggers(deps, triggers);
}

async function processKinesis(deps: Deps, event: KinesisEvent, policies: ProtectedPolicy[]): Promise<KinesisSummary> {
  const { logger } = deps.observability();
  const { deliveries, refused, ignored } = kinesisDeliveries(event, deps.stageClusters());
  reportRefused(deps, refused);
  const reports: AttemptReport[] = [];
  const skipped = [...ignored];
  const batchItemFailures: { itemIdentifier: string }[] = [];
  await Promise.all(
    deliveries.map(async (d) => {
      const { correlationId: _, ...triggers } = auditTriggers(d, policies);
      try {
        const s = await protectTriggers(deps, triggers);
        reports.push(...s.reports);
        skipped.push(...s.skipped);
      } catch (err) {
        logger.warn('audit records of a cluster not processed; the stream retries them', { cluster: d.cluster, records: d.sequenceNumbers.length, reason: errorReason(err) });
        batchItemFailures.push({ itemIdentifier: d.sequenceNumbers[0]! });
      }
    }),
  );
  return { reports, skipped, refused, batchItemFailures };
}

/** Refused audit deliveries: a warning each (log group, account, why; never a record's content) and a metric. */
function reportRefused(deps: Deps, refused: { reason: string; logGroup?: string; owner?: string; sequenceNumber?: string }[]): void {
  if (!refused.length) return;
  const { logger, metrics } = deps.observability();
  for (const r of refused) logger.warn('audit records refused', { ...r });
  metrics.addMetric('RefusedAuditRecords', MetricUnit.Count, refused.length);
}

/** Protect every object the triggers concern, in their cluster; a retryable failure is rethrown once all were tried. */
async function protectTriggers(deps: Deps, t: Triggers): Promise<ProtectSummary> {
  const { logger } = deps.observability();
  const { cluster, byPolicy, skipped, correlationId } = t;
  // A policy that names its source's cluster (core/policy/fleet.ts) is protected there only; a same-named object
  // in another cluster is not its base. (The primary cluster stands first in the stage.)
  const stage = [deps.defaultCluster()];
  for (const policy of [...byPolicy.keys()]) {
    if (isSourceCluster(policy, stage, cluster)) continue;
    byPolicy.delete(policy);
    skipped.push(`policy ${policy.metadata.name}: its source is in cluster ${sourceClusterOf(policy, stage)}, not ${cluster}`);
  }
  if (correlationId) logger.setCorrelationId(correlationId);
  for (const s of skipped) logger.debug('not a protection attempt', { reason: s });
  const reports: AttemptReport[] = [];
  let retryable: unknown = null;
  await Promise.all(
    [...byPolicy].map(async ([policy, attempts]) => {
      try {
        reports.push(...(await protectObject(deps, cluster, policy, attempts, { auditRecords: deps.auditRecords() })));
      } catch (err) {
        const object = `${policy.spec.source.kind}/${policy.spec.source.namespace}/${policy.spec.source.name}`;
        if (isRetryable(err) || !(err instanceof PermanentError)) {
          logger.warn('protection failed; will be retried', { policy: policy.metadata.name, object, reason: errorReason(err) });
          retryable ??= err;
        } else {
          logger.error('protection failed permanently', { policy: policy.metadata.name, object, reason: errorReason(err) });
        }
      }
    }),
  );
  if (retryable) throw retryable;
  return { reports, skipped };
}

function resolveDeps(partial: Partial<Deps>): Deps {
  const defaultCluster = partial.defaultCluster ?? (() => runtimeConfig().defaultCluster);
  return {
    ...handlerDeps('protect', partial),
    defaultCluster,
    stageClusters:
      partial.stageClusters ??
      (partial.defaultCluster
        ? () => [{ name: defaultCluster() }]
        : () => {
            const config = runtimeConfig();
            return stageClusters(config).map((name) => ({ name, ...(config.clusters[name]?.accountId ? { accountId: config.clusters[name].accountId } : {}) }));
          }),
    auditRecords: partial.auditRecords ?? (() => auditRecordsFromEnv()),
  };
}

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('protect', () => resolveDeps(partial), (deps, event: unknown): Promise<ProtectSummary | KinesisSummary> => processEvent(deps, event));
}

export const handler = makeHandler();
