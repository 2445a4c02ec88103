/**
 * Rollout for one cluster + namespace group: re-read each changed object, fingerprint it with the cluster key,
 * find the policies that make it a reload trigger, list the workloads, plan one patch per consuming workload
 * (plan.ts, pure), hold while the coalescing window is open, else apply (apply.ts); and the group's log lines.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ObjectKind } from '../../core/constants.ts';
import { fingerprint } from '../../core/fingerprint.ts';
import type { HandlerDeps } from '../runtime/handler-deps.ts';
import type { Observability } from '../runtime/middleware.ts';
import { applyRollouts, type ApplyResult } from './apply.ts';
import { holdUntil, planRollouts, reloadSettings, type ChangedObject, type RolloutPlan } from './plan.ts';
import { limited, type Readers } from './read.ts';
import { triggeringPolicies, type Group, type Item } from './triggers.ts';

/** What a group needs of the handler's dependencies. */
export type GroupDeps = Pick<HandlerDeps, 'kubeFor' | 'fingerprintKey' | 'policies'> & { now: () => Date; concurrency: number };

export interface GroupSummary {
  /** Set when the group needs patches but its coalescing window is still open: nothing was written. */
  heldUntil?: number;
  plan: RolloutPlan;
  applied: ApplyResult;
  changed: ChangedObject[];
  notTriggers: string[];
}

export async function processGroup(deps: GroupDeps, cluster: string, namespace: string, items: Item[], readers: Readers, opts: { hold: boolean }): Promise<GroupSummary> {
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const policies = deps.policies();
  const notTriggers: string[] = [];
  const unique = new Map<string, { kind: ObjectKind; name: string }>();
  for (const { event } of items) unique.set(`${event.detail.kind}/${event.detail.name}`, { kind: event.detail.kind as ObjectKind, name: event.detail.name });
  const changed: ChangedObject[] = [];
  for (const { kind, name } of unique.values()) {
    const obj = await limited(readers, () => readers.read(kube, kind, namespace, name));
    if (!obj) {
      notTriggers.push(`${kind} ${namespace}/${name}: gone`);
      continue;
    }
    const settings = reloadSettings(triggeringPolicies(policies, kind, obj));
    if (!settings) {
      notTriggers.push(`${kind} ${namespace}/${name}: no policy with a reload section concerns it`);
      continue;
    }
    changed.push({ kind, namespace, name, fingerprint: fingerprint(key, { kind, type: (obj as V1Secret).type, data: obj.data, binaryData: (obj as V1ConfigMap).binaryData }), settings });
  }
  const empty: RolloutPlan = { patches: [], skipped: [], upToDate: [], reported: [] };
  if (changed.length === 0) return { plan: empty, applied: { patched: [], gone: [], eventErrors: [] }, changed, notTriggers };
  const kinds = [...new Set(changed.flatMap((c) => c.settings.kinds))];
  const workloads = await limited(readers, () => readers.list(kube, namespace, kinds));
  const plan = planRollouts(changed, workloads, deps.now());
  if (opts.hold) {
    const until = holdUntil(plan, changed, firstChangeAt(items));
    if (until > deps.now().getTime()) return { heldUntil: until, plan, applied: { patched: [], gone: [], eventErrors: [] }, changed, notTriggers };
  }
  const applied = await applyRollouts(kube, plan, { concurrency: deps.concurrency, limit: readers.limit });
  return { plan, applied, changed, notTriggers };
}

/** Earliest change time per `Kind/name` among the records of one namespace group. */
function firstChangeAt(items: readonly Item[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { event, changedAt } of items) {
    const k = `${event.detail.kind}/${event.detail.name}`;
    out.set(k, Math.min(out.get(k) ?? Infinity, changedAt));
  }
  return out;
}

/** The group's outcome as log lines: what was restarted, skipped, reported, and what was not a trigger. */
export function logGroup(logger: Observability['logger'], g: Group, s: GroupSummary): void {
  for (const reason of s.notTriggers) logger.info('not a rollout trigger', { cluster: g.cluster, namespace: g.namespace, reason });
  const wl = (w: { kind: string; namespace: string; name: string }) => ({ workload: `${w.kind}/${w.namespace}/${w.name}`, kind: w.kind, namespace: w.namespace, name: w.name });
  for (const p of s.applied.gone) logger.info('workload gone before its restart', { action: 'skip', cluster: g.cluster, ...wl(p.workload), reason: 'deleted between list and patch' });
  for (const e of s.applied.eventErrors) logger.warn('could not record the Kubernetes Event', { cluster: g.cluster, reason: e });
  for (const p of s.applied.patched) {
    logger.info('restart triggered', { action: 'restart', cluster: g.cluster, ...wl(p.workload), objects: p.changed.map((c) => `${c.kind}/${g.namespace}/${c.name}`), restartedFor: p.restartedFor, references: p.references.map((r) => r.where) });
  }
  for (const sk of s.plan.skipped) logger.info('restart skipped', { action: 'skip', cluster: g.cluster, ...wl(sk.workload), objects: [`${sk.object.kind}/${g.namespace}/${sk.object.name}`], reason: sk.reason });
  for (const r of s.plan.reported) logger.info('reference reported, not restarted', { action: 'report', cluster: g.cluster, ...wl(r.workload), objects: [`${r.object.kind}/${g.namespace}/${r.object.name}`], reason: r.reason });
  logger.info('namespace processed', { cluster: g.cluster, namespace: g.namespace, records: g.items.length, changedObjects: s.changed.length, patches: s.applied.patched.length, skipped: s.plan.skipped.length, upToDate: s.plan.upToDate.length });
}
