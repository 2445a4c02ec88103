/**
 * Apply a rollout plan: one strategic merge patch per workload (field manager `ripple`), then a Kubernetes
 * Event on the workload saying which objects the restart is for (kind/name and fingerprint; never data).
 * Patches run with bounded parallelism (one limiter shared by the whole batch, so N namespaces never open N x M
 * connections at once); a failed patch fails the whole apply (the handler reports the batch
 * items as failures and SQS redelivers; already patched workloads record the fingerprint, so the retry does
 * not restart them again).
 *
 * Each patch is conditional on the workload's listed resourceVersion. A 409 Conflict means the workload changed
 * since it was read: perhaps a concurrent invocation (another SQS batch with a record for the same content) already
 * restarted it. `refresh` re-reads that one workload and re-plans it; nothing left to do (already restarted for the
 * current content, gone, or no longer a consumer) ends it without a write, else the fresh patch is tried again
 * (a few times, then the error goes back to SQS: level-based, the retry re-plans). So concurrent invocations
 * restart a workload once.
 */
import { isNotFound, retryOnConflict, type Kube } from '../runtime/kube.ts';
import { recordEvent } from '../runtime/k8s-events.ts';
import { limiter, pool, type Limiter } from '../runtime/pool.ts';
import type { RolloutPlan, WorkloadPatch } from './plan.ts';
import { WORKLOADS } from './workloads.ts';

export interface ApplyResult {
  patched: WorkloadPatch[];
  /** Workloads deleted between the list and the patch (nothing to restart). */
  gone: WorkloadPatch[];
  /** Events that could not be recorded (the patch itself succeeded): names only. */
  eventErrors: string[];
  /** Patches that met a 409 and, re-read, had nothing left to do (e.g. restarted meanwhile by a concurrent invocation). */
  settled: WorkloadPatch[];
}

/** Re-read one workload after a 409 and re-plan it: the patch to try now, or null when nothing is left to do. */
export type Refresh = (p: WorkloadPatch) => Promise<WorkloadPatch | null>;

export const emptyApply = (): ApplyResult => ({ patched: [], gone: [], eventErrors: [], settled: [] });

export async function applyRollouts(kube: Pick<Kube, 'raw'>, plan: RolloutPlan, opts: { concurrency?: number; limit?: Limiter; refresh?: Refresh } = {}): Promise<ApplyResult> {
  const result = emptyApply();
  const limit = opts.limit ?? limiter(opts.concurrency ?? 16);
  await pool(plan.patches, opts.concurrency ?? 16, async (planned) => {
    const { kind, namespace, name } = planned.workload;
    let p: WorkloadPatch | null;
    try {
      p = await retryOnConflict(async (attempt) => {
        const next = attempt === 1 ? planned : await opts.refresh!(planned);
        if (next) await limit(() => WORKLOADS[kind].patch(kube.raw, namespace, name, next.body));
        return next;
      }, { attempts: opts.refresh ? 5 : 1 });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.gone.push(planned);
      return;
    }
    if (!p) {
      result.settled.push(planned);
      return;
    }
    result.patched.push(p);
    try {
      await limit(() => recordEvent(kube, { apiVersion: 'apps/v1', kind, namespace, name, ...(p.uid ? { uid: p.uid } : {}) }, {
        reason: 'RestartTriggered',
        message: `ripple restarted ${kind} ${namespace}/${name} for ${p.changed.map((c) => `${c.kind} ${c.name}`).join(', ')} (${p.restartedFor})`,
        component: 'rollout',
      }));
    } catch (err) {
      result.eventErrors.push(`${kind} ${namespace}/${name}: ${(err as Error).message}`);
    }
  });
  return result;
}
