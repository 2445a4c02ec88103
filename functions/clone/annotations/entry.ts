/**
 * The copy modes' hook in the clone handler: which clusters a trigger concerns, one reconcile per cluster, and the
 * result folded into the clone summary (its failures make the invocation fail, retryable or not, as a policy's).
 * Nothing runs (and nothing is read) when no mode is on.
 */
import { copyModes, type RippleConfig } from '../../../core/config/schema.ts';
import type { KubeFor } from '../../runtime/kube.ts';
import type { Observability } from '../../runtime/middleware.ts';
import type { CloneSummary } from '../reconcile.ts';
import type { Trigger } from '../triggers.ts';
import { reconcileCopyModes, type CopyModeSummary } from './reconcile.ts';
import { annotationWork } from './triggers.ts';

export interface CopyModeHookDeps {
  kubeFor: KubeFor;
  rippleConfig: () => RippleConfig;
  observability?: Observability;
  outOfTime?: () => boolean;
  concurrency?: number;
}

/** Run the copy modes for a trigger (every stage cluster for a schedule without one); null when no mode is on or nothing to do. */
export async function runCopyModes(d: CopyModeHookDeps, trigger: Trigger, stage: readonly string[]): Promise<Record<string, CopyModeSummary> | null> {
  const modes = copyModes(d.rippleConfig());
  const work = annotationWork(trigger, modes);
  if (!work) return null;
  const clusters = trigger.type === 'schedule' && trigger.every ? [...new Set([trigger.cluster, ...stage])] : trigger.type === 'cloudformation' ? trigger.clusters : [trigger.cluster];
  const out: Record<string, CopyModeSummary> = {};
  for (const cluster of clusters) {
    const kube = await d.kubeFor(cluster);
    out[cluster] = await reconcileCopyModes({ kube, modes, observability: d.observability, outOfTime: d.outOfTime, concurrency: d.concurrency }, work);
    d.observability?.logger.info('copy modes reconciled', { cluster, modes: modes.map((m) => m.tool), work: work.type === 'object' ? `${work.kind} ${work.namespace}/${work.name}` : work.type === 'namespace' ? `Namespace ${work.name}` : 'all', actions: out[cluster].actions, writes: out[cluster].writes });
  }
  return out;
}

/** The clone summary with the copy modes' writes and failures added. */
export function withCopyModes(summary: CloneSummary, copies: Record<string, CopyModeSummary> | null): CloneSummary & { copyModes?: Record<string, CopyModeSummary> } {
  if (!copies) return summary;
  const all = Object.entries(copies);
  return {
    ...summary,
    writes: summary.writes + all.reduce((n, [, s]) => n + s.writes, 0),
    failures: [...summary.failures, ...all.flatMap(([cluster, s]) => s.failures.map((f) => ({ ...f, action: 'update' as const, cluster, message: `${f.action}: ${f.message}` })))],
    copyModes: copies,
  };
}
