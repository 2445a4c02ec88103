/**
 * The rollout function's second entry: its schedule (serverless.yml, `{ reason: schedule }` every minute when the
 * Reloader mode is on) resumes the Deployments whose pause period is over (reloader-mode.ts
 * `resumeExpiredPauses`). And how the handler finds the RippleConfig.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { lazyRippleConfig } from '../runtime/ripple-config.ts';
import { reloaderMode, type RippleConfig } from '../../core/config/schema.ts';
import type { HandlerDeps } from '../runtime/handler-deps.ts';
import { runtimeConfig } from '../runtime/config.ts';
import { resumeExpiredPauses } from './reloader-mode.ts';

/** What the schedule sends (no SQS Records). */
export interface ScheduleInput {
  reason: 'schedule';
  cluster?: string;
}

export function isSchedule(event: unknown): event is ScheduleInput {
  return typeof event === 'object' && event !== null && !('Records' in event) && (event as { reason?: unknown }).reason === 'schedule';
}

/** ripple.config.yaml of the policy directory (RIPPLE_POLICY_DIR), loaded on first use; none = every mode off. */
export const lazyConfig = lazyRippleConfig;

/** Resume every Deployment ripple paused whose pause period is over; nothing when the mode is off. */
export async function resumeSweep(deps: Pick<HandlerDeps, 'kubeFor' | 'observability'> & { config: () => RippleConfig; now: () => Date }, event: ScheduleInput): Promise<SQSBatchResponse> {
  const { logger, metrics } = deps.observability();
  if (!reloaderMode(deps.config())) {
    logger.info('schedule: the Reloader mode is off; nothing to resume');
    return { batchItemFailures: [] };
  }
  const cluster = event.cluster ?? runtimeConfig().defaultCluster;
  const kube = await deps.kubeFor(cluster);
  const { resumed, waiting } = await resumeExpiredPauses(kube.raw, deps.now());
  for (const d of resumed) logger.info('pause period over; Deployment resumed', { action: 'resume', cluster, workload: `Deployment/${d}` });
  if (waiting.length) logger.info('paused for their pause period', { cluster, deployments: waiting });
  metrics.addMetric('PausePeriodsResumed', MetricUnit.Count, resumed.length);
  return { batchItemFailures: [] };
}
