/**
 * The Reloader mode in the rollout handler: which changed objects it takes (scope and event checks, pure), the
 * ChangedObject it hands the planner (its decision is reloader.ts `reloaderDecision`), the pause-period patch, and
 * the resume of Deployments whose pause period is over.
 *
 * The mode takes an object only when no reloading policy concerns it (reconcile.ts): a policy is explicit and
 * keeps its own settings.
 */
import { ANNOTATION_PREFIX, DEFAULT_EXCLUDED_NAMESPACES, FIELD_MANAGER, type ObjectKind } from '../../core/constants.ts';
import type { ReloaderConfig } from '../../core/config/schema.ts';
import { REFERENCE_FORMS, durationMs } from '../../core/policy/schema.ts';
import { globMatch, matchesSelector } from '../../core/policy/select.ts';
import { listAllRaw, type RawApi } from '../runtime/kube.ts';
import type { ChangedObject, ReloadSettings, RolloutPlan, WorkloadView } from './plan.ts';
import { ABSENT_FINGERPRINT, lastWriteAt, parseGoDuration, reloaderDecision, RELOADER_ANNOTATIONS, type ChangeEvent, type ReloaderChange } from './reloader.ts';

/** Label ripple puts on a Deployment it paused for its pause period (the resume sweep lists by it). */
export const LABEL_PAUSED_FOR_PERIOD = `${ANNOTATION_PREFIX}paused-for-period`;

/** The planner's settings for objects the mode takes. */
export function reloaderSettings(cfg: ReloaderConfig): ReloadSettings {
  return {
    kinds: cfg.kinds,
    references: [...REFERENCE_FORMS],
    optOutAnnotations: [],
    reloaderAnnotations: false,
    policies: ['RippleConfig reloader'],
    coalesceMs: durationMs(cfg.coalesce),
    patchPaused: true,
  };
}

/** Why a namespace is out of the mode's scope by name (null = in scope by name; the selector is checked apart). */
export function namespaceOutOfScope(cfg: ReloaderConfig, namespace: string): string | null {
  const { include, exclude } = cfg.namespaces;
  const excluded = exclude.find((g) => globMatch(g, namespace));
  if (excluded !== undefined) return `namespace ${namespace} is excluded by reloader.namespaces.exclude "${excluded}"`;
  if (include.includes(namespace)) return null;
  const byDefault = DEFAULT_EXCLUDED_NAMESPACES.find((g) => globMatch(g, namespace));
  if (byDefault !== undefined) return `namespace ${namespace} is excluded by default ("${byDefault}"); list it by exact name in reloader.namespaces.include`;
  if (!include.some((g) => globMatch(g, namespace))) return `namespace ${namespace} matches no reloader.namespaces.include pattern`;
  return null;
}

/**
 * Which event of the batch counts for one object: a deletion when it is gone; else an update when there is one,
 * else a creation. Null with the reason when the settings leave that event out (Reloader's defaults: creations
 * and deletions do not reload).
 */
export function countedEvent(cfg: ReloaderConfig, seen: ReadonlySet<ChangeEvent>, present: boolean): { event: ChangeEvent } | { skip: string } {
  if (!present) return seen.has('deleted') && cfg.reloadOnDelete ? { event: 'deleted' } : { skip: seen.has('deleted') ? 'deleted, and reloader.reloadOnDelete is off' : 'gone' };
  if (seen.has('updated')) return { event: 'updated' };
  if (seen.has('created') && cfg.reloadOnCreate) return { event: 'created' };
  if (seen.has('deleted') && cfg.reloadOnDelete) return { event: 'deleted' };
  return { skip: seen.has('created') ? 'created, and reloader.reloadOnCreate is off' : 'no content change' };
}

/** Why the object itself is out of scope (kind, label selector), or null. */
export function objectOutOfScope(cfg: ReloaderConfig, kind: ObjectKind, labels: Record<string, string> | undefined): string | null {
  if (!cfg.objects.kinds.includes(kind)) return `${kind} is not in reloader.objects.kinds`;
  if (!matchesSelector(cfg.objects.selector, labels)) return 'labels do not match reloader.objects.selector';
  return null;
}

/** The ChangedObject for the planner: the Reloader decision instead of a policy's consumption. */
export function reloaderChanged(cfg: ReloaderConfig, change: ReloaderChange, fingerprint: string): ChangedObject {
  return {
    kind: change.kind,
    namespace: change.namespace,
    name: change.name,
    fingerprint,
    settings: reloaderSettings(cfg),
    decide: (w: WorkloadView) => reloaderDecision(change, w, cfg),
  };
}

/** Go's time.RFC3339 (what Reloader writes into paused-at). */
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * `deployment.reloader.stakater.com/pause-period` (on the Deployment): a restart for an object the mode took also
 * pauses the Deployment (`spec.paused`, `deployment.reloader.stakater.com/paused-at`, and ripple's label for the
 * resume sweep), so changes within the period roll out together when it ends. A Deployment already paused (by
 * anyone) only gets its template patched: it rolls out when resumed. Mutates the plan's patch bodies.
 */
export function applyPausePeriods(plan: RolloutPlan, workloads: readonly WorkloadView[], fromMode: ReadonlySet<string>, now: Date): string[] {
  const notes: string[] = [];
  const byId = new Map(workloads.map((w) => [`${w.kind}/${w.namespace}/${w.name}`, w]));
  for (const p of plan.patches) {
    if (p.workload.kind !== 'Deployment' || !p.changed.some((c) => fromMode.has(`${c.kind}/${c.name}`))) continue;
    const w = byId.get(`Deployment/${p.workload.namespace}/${p.workload.name}`);
    const raw = w?.annotations[RELOADER_ANNOTATIONS.pausePeriod];
    if (!w || raw === undefined || w.paused) continue;
    if (parseGoDuration(raw) === null) {
      notes.push(`Deployment ${w.namespace}/${w.name}: ${RELOADER_ANNOTATIONS.pausePeriod} "${raw}" is not a duration (e.g. "5m"); restarted without a pause`);
      continue;
    }
    p.body.spec.paused = true;
    p.body.metadata = { ...p.body.metadata, annotations: { [RELOADER_ANNOTATIONS.pausedAt]: rfc3339(now) }, labels: { [LABEL_PAUSED_FOR_PERIOD]: 'true' } };
  }
  return notes;
}

interface PausedDeployment {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { paused?: boolean };
}

/** When a Deployment ripple paused is due to resume (ms), or null when it is not one of those or has no valid period. */
export function resumeAt(d: PausedDeployment): number | null {
  const ann = d.metadata?.annotations ?? {};
  const period = parseGoDuration(ann[RELOADER_ANNOTATIONS.pausePeriod]);
  const at = Date.parse(ann[RELOADER_ANNOTATIONS.pausedAt] ?? '');
  if (!d.spec?.paused) return null;
  // an unparsable paused-at or period resumes at once (as Reloader does)
  if (period === null || !Number.isFinite(at)) return 0;
  return at + period;
}

/**
 * The resume sweep (the rollout function's schedule): every Deployment ripple paused for its pause period whose
 * period is over is resumed (`spec.paused: false`, paused-at and the label removed). One list per sweep, by label.
 */
export async function resumeExpiredPauses(raw: RawApi, now: Date): Promise<{ resumed: string[]; waiting: string[] }> {
  const list = await listAllRaw<PausedDeployment>(raw, '/apis/apps/v1/deployments', { verb: 'list', resource: 'deployments' }, { query: { labelSelector: `${LABEL_PAUSED_FOR_PERIOD}=true` } });
  const resumed: string[] = [];
  const waiting: string[] = [];
  for (const d of list) {
    const ns = d.metadata?.namespace ?? '';
    const name = d.metadata?.name ?? '';
    const at = resumeAt(d);
    if (at !== null && at > now.getTime()) {
      waiting.push(`${ns}/${name}`);
      continue;
    }
    await raw.request('PATCH', `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}`, {
      describe: { verb: 'patch', resource: 'deployments', namespace: ns, name },
      // resume only what ripple paused; a Deployment someone resumed already just loses the marks
      body: { metadata: { labels: { [LABEL_PAUSED_FOR_PERIOD]: null }, annotations: { [RELOADER_ANNOTATIONS.pausedAt]: null } }, ...(at !== null ? { spec: { paused: false } } : {}) },
      contentType: 'application/strategic-merge-patch+json',
      query: { fieldManager: FIELD_MANAGER },
      discardAnswer: true,
    });
    resumed.push(`${ns}/${name}`);
  }
  return { resumed, waiting };
}

/** The events a batch carries for one object, and what its latest one said about it (for a deleted object). */
export interface SeenObject {
  events: Set<ChangeEvent>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/**
 * Whether the mode takes this object (null object = gone): a ChangedObject for the planner, or why not.
 * `namespaceLabels` is called only when a namespace selector is configured.
 */
export async function takeForReloader(
  cfg: ReloaderConfig,
  id: { kind: ObjectKind; namespace: string; name: string },
  obj: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string | Date; managedFields?: { time?: string | Date }[] } } | null,
  seen: SeenObject,
  fingerprint: () => string,
  namespaceLabels: () => Promise<Record<string, string> | undefined>,
): Promise<ChangedObject | string> {
  const ns = namespaceOutOfScope(cfg, id.namespace);
  if (ns) return ns;
  const counted = countedEvent(cfg, seen.events, obj !== null);
  if ('skip' in counted) return counted.skip;
  const md = obj?.metadata;
  const out = objectOutOfScope(cfg, id.kind, obj ? md?.labels : seen.labels);
  if (out) return out;
  if (cfg.namespaces.selector && !matchesSelector(cfg.namespaces.selector, await namespaceLabels())) return `namespace ${id.namespace} labels do not match reloader.namespaces.selector`;
  const change: ReloaderChange = {
    ...id,
    annotations: (obj ? md?.annotations : seen.annotations) ?? {},
    event: counted.event,
    ...(obj ? { lastWriteAt: lastWriteAt(md) } : {}),
  };
  return reloaderChanged(cfg, change, obj ? fingerprint() : ABSENT_FINGERPRINT);
}
