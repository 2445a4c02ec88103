/**
 * Protect handler. Inputs: forwarder events (RippleEvent) about protected objects, `Ripple Resync Requested`
 * (seed missing snapshots, restore unexplained drift where nobody but ripple is allowed), and CloudWatch Logs
 * subscription events carrying EKS audit records — the only input that names the actor.
 *
 * Wiring only: event -> triggers (triggers.ts: the attempts per protected object) -> per object read, plan, apply,
 * report (reconcile.ts) -> a retryable failure is rethrown once every object was tried.
 */
import { isRetryable, PermanentError } from '../../core/errors.ts';
import { handlerDeps, lazyHandler, type HandlerDeps } from '../runtime/handler-deps.ts';
import { errorReason } from '../runtime/middleware.ts';
import { auditRecordsFromEnv, runtimeConfig } from '../runtime/config.ts';
import { protectObject, type AttemptReport, type ProtectSummary } from './reconcile.ts';
import { protectedPolicies, triggersOf } from './triggers.ts';
import { isSourceCluster, sourceClusterOf } from '../../core/policy/fleet.ts';

export type { AttemptReport, ProtectSummary } from './reconcile.ts';

export interface Deps extends HandlerDeps {
  defaultCluster: () => string;
  /** Whether audit records reach protect in this deployment (RIPPLE_AUDIT_RECORDS; plan.ts `auditRecords`). */
  auditRecords: () => boolean;
}

export async function processEvent(deps: Deps, event: unknown): Promise<ProtectSummary> {
  const { logger } = deps.observability();
  const policies = protectedPolicies(deps.policies());
  const { cluster, byPolicy, skipped, correlationId } = triggersOf(event, policies, deps.defaultCluster);
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
  return {
    ...handlerDeps('protect', partial),
    defaultCluster: partial.defaultCluster ?? (() => runtimeConfig().defaultCluster),
    auditRecords: partial.auditRecords ?? (() => auditRecordsFromEnv()),
  };
}

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('protect', () => resolveDeps(partial), (deps, event: unknown): Promise<ProtectSummary> => processEvent(deps, event));
}

export const handler = makeHandler();
