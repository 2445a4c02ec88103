/**
 * Apply a rollout plan: one strategic merge patch per workload (field manager `ripple`), then a Kubernetes
 * Event on the workload saying which objects the restart is for (kind/name and fingerprint; never data).
 * Patches run with bounded parallelism (one limiter shared by the whole batch, so N namespaces never open N x M
 * connections at once); a failed patch fails the whole apply (the handler reports the batch
 * items as failures and SQS redelivers; already patched workloads record the fingerprint, so the retry does
 * not restart them again).
 */
import { isNotFound, type Kube } from '../runtime/kube.ts';
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
}

export async function applyRollouts(kube: Pick<Kube, 'raw'>, plan: RolloutPlan, opts: { concurrency?: number; limit?: Limiter } = {}): Promise<ApplyResult> {
  const result: ApplyResult = { patched: [], gone: [], eventErrors: [] };
  const limit = opts.limit ?? limiter(opts.concurrency ?? 16);
  await pool(plan.patches, opts.concurrency ?? 16, async (p) => {
    const { kind, namespace, name } = p.workload;
    try {
      await limit(() => WORKLOADS[kind].patch(kube.raw, namespace, name, p.body));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.gone.push(p);
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
