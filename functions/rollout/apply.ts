/**
 * Apply a rollout plan: one strategic merge patch per workload (field manager `ripple`), then a Kubernetes
 * Event on the workload saying which objects the restart is for (kind/name and fingerprint; never data).
 * Patches run with bounded parallelism (one limiter shared by the whole batch, so N namespaces never open N x M
 * connections at once); a failed patch fails the whole apply (the handler reports the batch
 * items as failures and SQS redelivers; already patched workloads record the fingerprint, so the retry does
 * not restart them again).
 */
import { isNotFound, type Kube } from '../shared/kube/index.ts';
import { recordEvent } from '../shared/events.ts';
import type { RolloutPlan, WorkloadPatch } from './plan.ts';
import { WORKLOADS } from './workloads.ts';

export interface ApplyResult {
  patched: WorkloadPatch[];
  /** Workloads deleted between the list and the patch (nothing to restart). */
  gone: WorkloadPatch[];
  /** Events that could not be recorded (the patch itself succeeded): names only. */
  eventErrors: string[];
}

/** At most `limit` callers inside at once (shared by all namespace groups of a batch). */
export type Limiter = <T>(fn: () => Promise<T>) => Promise<T>;
export function limiter(limit: number): Limiter {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (fn) => {
    if (active >= limit) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let first: unknown;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      try {
        await fn(items[next++]);
      } catch (err) {
        // Every item still runs (no write left dangling); the first error is rethrown at the end.
        if (!failed) [failed, first] = [true, err];
      }
    }
  });
  await Promise.all(workers);
  if (failed) throw first;
}

export async function applyRollouts(kube: Pick<Kube, 'raw'>, plan: RolloutPlan, opts: { concurrency?: number; instance?: string; limit?: Limiter } = {}): Promise<ApplyResult> {
  const result: ApplyResult = { patched: [], gone: [], eventErrors: [] };
  const limit = opts.limit ?? limiter(opts.concurrency ?? 16);
  await pool(plan.patches, opts.concurrency ?? 16, async (p) => {
    const { kind, namespace, name } = p.workload;
    let obj;
    try {
      obj = await limit(() => WORKLOADS[kind].patch(kube.raw, namespace, name, p.body));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      result.gone.push(p);
      return;
    }
    result.patched.push(p);
    try {
      await limit(() => recordEvent(kube, { apiVersion: 'apps/v1', kind, namespace, name, uid: obj.metadata?.uid }, {
        reason: 'RestartTriggered',
        message: `ripple restarted ${kind} ${namespace}/${name} for ${p.changed.map((c) => `${c.kind} ${c.name}`).join(', ')} (${p.restartedFor})`,
        component: 'rollout',
        ...(opts.instance ? { instance: opts.instance } : {}),
      }));
    } catch (err) {
      result.eventErrors.push(`${kind} ${namespace}/${name}: ${(err as Error).message}`);
    }
  });
  return result;
}
