/**
 * Rollout handler: an SQS batch whose record bodies are EventBridge events (RippleEvent) about Secrets and
 * ConfigMaps. Level-based: the event only says where to look. Wiring: records -> triggers grouped by cluster +
 * namespace (triggers.ts) -> per group read, plan, hold or apply, log (reconcile.ts, read.ts) -> the coalescing
 * wait below. Returns `{ batchItemFailures }`: the records of a group that failed with a retryable error (or
 * whose hold did not fit the invocation, or that were not started for lack of invocation time); malformed or
 * permanently failing records are logged and not retried.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { isRetryable, PermanentError } from '../../core/errors.ts';
import { handlerDeps, lazyHandler, type HandlerDeps, type InvocationContext } from '../runtime/handler-deps.ts';
import { errorReason } from '../runtime/middleware.ts';
import { limiter, pool } from '../runtime/pool.ts';
import { getOne, perNamespace, probing, type Readers } from './read.ts';
import { logGroup, processGroup, type GroupSummary } from './reconcile.ts';
import { groupRecords, type Group } from './triggers.ts';
import { reloaderMode, type RippleConfig } from '../../core/config/schema.ts';
import { isSchedule, lazyConfig, resumeSweep, type ScheduleInput } from './reloader-entry.ts';

export interface Deps extends HandlerDeps {
  now: () => Date;
  /** Requests in flight (reads, lists, patches, Events) across the whole batch. */
  concurrency: number;
  /** Namespace groups processed in parallel. */
  groupConcurrency: number;
  /** Waits (the coalescing hold); tests pass a recording or instant one. */
  sleep: (ms: number) => Promise<void>;
  /**
   * Time an invocation keeps for the work after a coalescing hold. A hold that would leave less than this before
   * the Lambda timeout is not waited out: the held records go back to the queue (batchItemFailures) instead.
   */
  holdReserveMs: number;
  /** The cluster-wide RippleConfig (default: ripple.config.yaml in the policy directory, loaded once). */
  config: () => RippleConfig;
  /**
   * Time an invocation keeps free at its end (default 15 s: one request timeout plus a 429 wait). Once the
   * remaining time falls below it no new namespace group starts: its records go back to the queue
   * (batchItemFailures) unprocessed, so no invocation runs into its timeout on a slow or rate-limited API
   * server; groups already started finish (level-based: SQS redelivers the rest, nothing is written twice).
   */
  timeReserveMs: number;
}

function resolveDeps(partial: Partial<Deps>): Deps {
  return {
    ...handlerDeps('rollout', partial),
    now: partial.now ?? (() => new Date()),
    concurrency: partial.concurrency ?? 16,
    groupConcurrency: partial.groupConcurrency ?? 16,
    sleep: partial.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    holdReserveMs: partial.holdReserveMs ?? 20_000,
    config: partial.config ?? lazyConfig(),
    timeReserveMs: partial.timeReserveMs ?? 15_000,
  };
}

/**
 * One SQS batch. Coalescing (ADR 0004): SQS hands over a batch when its window ends OR as soon as 100 records
 * are there, so a fan-out over many namespaces arrives in full batches long before `reload.coalesce` has passed.
 * Each group is therefore planned first; a group whose plan restarts something while the window of the change
 * (its first record's time + `reload.coalesce`) is still open is held: the batch waits until the latest window
 * ends, then re-reads and re-plans those groups (level-based: the content that is current then) and applies.
 * Later batches carrying the same or newer changes find the workloads already recording the current fingerprint
 * and write nothing. A hold that would not fit in the invocation's remaining time (minus `holdReserveMs`) is
 * not waited out: the held records return to the queue.
 */
export async function processBatch(deps: Deps, event: SQSEvent, context?: InvocationContext): Promise<SQSBatchResponse> {
  const { logger, metrics } = deps.observability();
  const failures: string[] = [];
  const groups = groupRecords(event.Records ?? [], logger, deps.now().getTime(), { deletes: reloaderMode(deps.config())?.reloadOnDelete });
  const totals = { triggered: 0, skipped: 0, upToDate: 0, retryable: 0, permanent: 0, held: 0, returned: 0, deferred: 0 };
  // Every read, list and write of the batch goes through one limiter. Reads are per namespace (a GET per changed
  // object, one list per workload kind): an all-namespaces list per batch would cost O(cluster) per batch, i.e.
  // O(N^2) for a fan-out of N namespaces over N/100 batches. Kinds the cluster holds none of are not listed per
  // namespace (one presence probe per kind and batch: read.ts `probing`).
  const readers: Readers = { read: getOne, list: probing(perNamespace), limit: limiter(deps.concurrency) };
  const report = (g: Group, s: GroupSummary) => {
    logGroup(logger, g, s);
    totals.triggered += s.applied.patched.length;
    totals.skipped += s.plan.skipped.length;
    totals.upToDate += s.plan.upToDate.length + s.applied.settled.length;
  };
  const failed = (g: Group, err: unknown) => {
    const retry = isRetryable(err) || !(err instanceof PermanentError);
    logger[retry ? 'warn' : 'error'](retry ? 'namespace failed; records returned for retry' : 'namespace failed permanently; records not retried', {
      cluster: g.cluster,
      namespace: g.namespace,
      reason: errorReason(err),
    });
    totals[retry ? 'retryable' : 'permanent'] += 1;
    if (retry) failures.push(...g.items.map((i) => i.messageId));
  };
  const remainingMs = () => context?.getRemainingTimeInMillis?.() ?? Infinity;
  /** Out of time: the group's records go back to the queue, unprocessed. */
  const deferred = (g: Group): boolean => {
    if (remainingMs() >= deps.timeReserveMs) return false;
    totals.deferred += 1;
    failures.push(...g.items.map((i) => i.messageId));
    return true;
  };
  const held: { g: Group; until: number }[] = [];
  await pool([...groups.values()], deps.groupConcurrency, async (g) => {
    if (deferred(g)) return;
    try {
      const s = await processGroup(deps, g.cluster, g.namespace, g.items, readers, { hold: true });
      if (s.heldUntil !== undefined) held.push({ g, until: s.heldUntil });
      else report(g, s);
    } catch (err) {
      failed(g, err);
    }
  });
  if (held.length > 0) {
    const until = Math.max(...held.map((h) => h.until));
    const wait = Math.max(0, until - deps.now().getTime());
    const remaining = context?.getRemainingTimeInMillis?.() ?? Infinity;
    if (remaining - wait < deps.holdReserveMs) {
      totals.returned += held.length;
      for (const { g } of held) failures.push(...g.items.map((i) => i.messageId));
      logger.info('coalescing window open past the invocation time left; records returned to the queue', { namespaces: held.length, waitMs: wait, remainingMs: remaining });
    } else {
      totals.held += held.length;
      logger.info('coalescing: waiting for the window of the changes to end before restarting', { namespaces: held.length, waitMs: wait });
      await deps.sleep(wait);
      await pool(held, deps.groupConcurrency, async ({ g }) => {
        if (deferred(g)) return;
        try {
          report(g, await processGroup(deps, g.cluster, g.namespace, g.items, readers, { hold: false }));
        } catch (err) {
          failed(g, err);
        }
      });
    }
  }
  metrics.addMetric('RolloutsTriggered', MetricUnit.Count, totals.triggered);
  metrics.addMetric('RolloutsSkipped', MetricUnit.Count, totals.skipped);
  metrics.addMetric('RolloutsUpToDate', MetricUnit.Count, totals.upToDate);
  if (totals.held) metrics.addMetric('RolloutsHeldForCoalescing', MetricUnit.Count, totals.held);
  if (totals.returned) metrics.addMetric('RolloutsReturnedForCoalescing', MetricUnit.Count, totals.returned);
  if (totals.deferred) {
    metrics.addMetric('RolloutsDeferredForTime', MetricUnit.Count, totals.deferred);
    logger.info('invocation time nearly spent: namespaces not started returned to the queue', { namespaces: totals.deferred, reserveMs: deps.timeReserveMs });
  }
  if (totals.retryable) metrics.addMetric('RetryableErrors', MetricUnit.Count, totals.retryable);
  if (totals.permanent) metrics.addMetric('PermanentErrors', MetricUnit.Count, totals.permanent);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('rollout', () => resolveDeps(partial), (deps, event: SQSEvent | ScheduleInput, context): Promise<SQSBatchResponse> =>
    // the schedule (the Reloader mode's pause periods) sends no Records: reloader-entry.ts
    isSchedule(event) ? resumeSweep(deps, event) : processBatch(deps, event as SQSEvent, context),
  );
}

export const handler = makeHandler();
