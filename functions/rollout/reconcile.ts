/**
 * Rollout for one cluster + namespace group: re-read each changed object, fingerprint it with the cluster key,
 * find the policies that make it a reload trigger, list the workloads, plan one patch per consuming workload
 * (plan.ts, pure), hold while the coalescing window is open, else apply (apply.ts); and the group's log lines.
 */
import type { V1ConfigMap, V1Namespace, V1Secret } from '@kubernetes/client-node';
import { DETAIL_TYPES, type ObjectKind } from '../../core/constants.ts';
import { reloaderMode, type RippleConfig } from '../../core/config/schema.ts';
import { fingerprint } from '../../core/fingerprint.ts';
import type { HandlerDeps } from '../runtime/handler-deps.ts';
import type { Observability } from '../runtime/middleware.ts';
import { applyRollouts, emptyApply, type ApplyResult, type Refresh } from './apply.ts';
import { holdUntil, planRollouts, reloadSettings, type ChangedObject, type RolloutPlan, type WorkloadView } from './plan.ts';
import { limited, type Readers } from './read.ts';
import { viewOf, WORKLOADS } from './workloads.ts';
import { triggeringPolicies, type Group, type Item } from './triggers.ts';
import { policiesForCopy, policiesForSource } from '../../core/policy/select.ts';
import { applyPausePeriods, takeForReloader, type SeenObject } from './reloader-mode.ts';
import type { ChangeEvent } from './reloader.ts';

/** What a group needs of the handler's dependencies (`config`: the RippleConfig, for the Reloader mode). */
export type GroupDeps = Pick<HandlerDeps, 'kubeFor' | 'fingerprintKey' | 'policies'> & { now: () => Date; concurrency: number; config?: () => RippleConfig };

export interface GroupSummary {
  /** Set when the group needs patches but its coalescing window is still open: nothing was written. */
  heldUntil?: number;
  plan: RolloutPlan;
  applied: ApplyResult;
  changed: ChangedObject[];
  notTriggers: string[];
  /** Warnings about the Reloader mode's annotations (an invalid pause period). */
  notes?: string[];
}

export async function processGroup(deps: GroupDeps, cluster: string, namespace: string, items: Item[], readers: Readers, opts: { hold: boolean }): Promise<GroupSummary> {
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const policies = deps.policies();
  const mode = reloaderMode(deps.config?.());
  const seen = mode ? seenObjects(items) : null;
  const fromMode = new Set<string>();
  const namespaceLabels = async () => (await limited(readers, () => kube.raw.request<V1Namespace>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}`, { describe: { verb: 'get', resource: 'namespaces', name: namespace } }))).metadata?.labels;
  const notTriggers: string[] = [];
  const unique = new Map<string, { kind: ObjectKind; name: string }>();
  for (const { event } of items) unique.set(`${event.detail.kind}/${event.detail.name}`, { kind: event.detail.kind as ObjectKind, name: event.detail.name });
  const changed: ChangedObject[] = [];
  const reloading = policies.filter((p) => p.spec.reload);
  for (const { kind, name } of unique.values()) {
    // an object no reloading policy names (a widened pattern lets it through) is not read: the role may not allow it
    if (!mode && policiesForSource(reloading, kind, namespace, name).length === 0 && policiesForCopy(reloading, kind, name).length === 0) {
      notTriggers.push(`${kind} ${namespace}/${name}: not the source or a copy of a policy with a reload section`);
      continue;
    }
    const obj = await limited(readers, () => readers.read(kube, kind, namespace, name));
    const settings = obj && reloadSettings(triggeringPolicies(policies, kind, obj));
    if (!settings && mode && seen) {
      // no reloading policy concerns it: the Reloader mode decides (reloader-mode.ts)
      const fp = () => fingerprint(key, { kind, type: (obj as V1Secret).type, data: obj!.data, binaryData: (obj as V1ConfigMap).binaryData });
      const taken = await takeForReloader(mode, { kind, namespace, name }, obj, seen.get(`${kind}/${name}`)!, fp, namespaceLabels);
      if (typeof taken === 'string') notTriggers.push(`${kind} ${namespace}/${name}: ${taken}`);
      else {
        changed.push(taken);
        fromMode.add(`${kind}/${name}`);
      }
      continue;
    }
    if (!obj) {
      notTriggers.push(`${kind} ${namespace}/${name}: gone`);
      continue;
    }
    if (!settings) {
      notTriggers.push(`${kind} ${namespace}/${name}: no policy with a reload section concerns it`);
      continue;
    }
    changed.push({ kind, namespace, name, fingerprint: fingerprint(key, { kind, type: (obj as V1Secret).type, data: obj.data, binaryData: (obj as V1ConfigMap).binaryData }), settings });
  }
  const empty: RolloutPlan = { patches: [], skipped: [], upToDate: [], reported: [] };
  if (changed.length === 0) return { plan: empty, applied: emptyApply(), changed, notTriggers };
  const kinds = [...new Set(changed.flatMap((c) => c.settings.kinds))];
  const workloads = await limited(readers, () => readers.list(kube, namespace, kinds));
  // the group's plan, and (after a 409) one workload's again, against the same changed objects
  const planFor = (views: WorkloadView[]) => {
    const now = deps.now();
    const plan = planRollouts(changed, views, now);
    return { plan, notes: fromMode.size ? applyPausePeriods(plan, views, fromMode, now) : [] };
  };
  const { plan, notes } = planFor(workloads);
  if (opts.hold) {
    const until = holdUntil(plan, changed, firstChangeAt(items));
    if (until > deps.now().getTime()) return { heldUntil: until, plan, applied: emptyApply(), changed, notTriggers, notes };
  }
  // after a 409: the one workload as it is now
  const refresh: Refresh = async (p) => {
    const obj = await limited(readers, () => WORKLOADS[p.workload.kind].get(kube.raw, namespace, p.workload.name));
    return obj ? (planFor([viewOf(p.workload.kind, obj)]).plan.patches[0] ?? null) : null;
  };
  const applied = await applyRollouts(kube, plan, { concurrency: deps.concurrency, limit: readers.limit, refresh });
  return { plan, applied, changed, notTriggers, notes };
}

const EVENT_OF: Record<string, ChangeEvent> = { [DETAIL_TYPES.created]: 'created', [DETAIL_TYPES.updated]: 'updated', [DETAIL_TYPES.deleted]: 'deleted' };

/** Per `Kind/name`: the events of the group's records, and the labels/annotations its last record carried. */
function seenObjects(items: readonly Item[]): Map<string, SeenObject> {
  const out = new Map<string, SeenObject>();
  for (const { event } of items) {
    const k = `${event.detail.kind}/${event.detail.name}`;
    const s = out.get(k) ?? { events: new Set<ChangeEvent>(), labels: {}, annotations: {} };
    s.events.add(EVENT_OF[event['detail-type']]);
    s.labels = event.detail.labels;
    s.annotations = event.detail.annotations;
    out.set(k, s);
  }
  return out;
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
  for (const reason of s.notes ?? []) logger.warn('reloader annotation not honoured', { cluster: g.cluster, namespace: g.namespace, reason });
  const wl = (w: { kind: string; namespace: string; name: string }) => ({ workload: `${w.kind}/${w.namespace}/${w.name}`, kind: w.kind, namespace: w.namespace, name: w.name });
  for (const p of s.applied.gone) logger.info('workload gone before its restart', { action: 'skip', cluster: g.cluster, ...wl(p.workload), reason: 'deleted between list and patch' });
  for (const p of s.applied.settled) logger.info('restart already done', { action: 'skip', cluster: g.cluster, ...wl(p.workload), reason: 'changed since it was listed (409); re-read, it needs no restart (restarted meanwhile, e.g. by a concurrent invocation, or no longer a consumer)' });
  for (const e of s.applied.eventErrors) logger.warn('could not record the Kubernetes Event', { cluster: g.cluster, reason: e });
  for (const p of s.applied.patched) {
    logger.info('restart triggered', { action: 'restart', cluster: g.cluster, ...wl(p.workload), objects: p.changed.map((c) => `${c.kind}/${g.namespace}/${c.name}`), restartedFor: p.restartedFor, references: p.references.map((r) => r.where) });
  }
  for (const sk of s.plan.skipped) logger.info('restart skipped', { action: 'skip', cluster: g.cluster, ...wl(sk.workload), objects: [`${sk.object.kind}/${g.namespace}/${sk.object.name}`], reason: sk.reason });
  for (const r of s.plan.reported) logger.info('reference reported, not restarted', { action: 'report', cluster: g.cluster, ...wl(r.workload), objects: [`${r.object.kind}/${g.namespace}/${r.object.name}`], reason: r.reason });
  logger.info('namespace processed', { cluster: g.cluster, namespace: g.namespace, records: g.items.length, changedObjects: s.changed.length, patches: s.applied.patched.length, skipped: s.plan.skipped.length, upToDate: s.plan.upToDate.length + s.applied.settled.length });
}
