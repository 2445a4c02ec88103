/**
 * Rollout planning. Pure: the changed objects (with their CURRENT keyed fingerprints, re-read by the handler)
 * and the workloads of one namespace in, one patch per workload out.
 *
 * A restart is recorded on the pod template as `ripple.dev/restarted-for` = the sorted list
 * `Kind/name=fingerprint` of the objects it was for (plus `ripple.dev/restarted-at`). A workload whose template
 * already records the current fingerprint of every changed object it consumes is up to date: duplicate
 * deliveries, no-op changes and replays cost nothing. K changed objects in one batch give one patch per
 * workload, i.e. one new revision.
 *
 * Checks run in order and the first reason is reported: not a consumer → kind not reloaded by the policy →
 * opted out → already recorded → paused.
 */
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { ANN_RESTARTED_AT, ANN_RESTARTED_FOR } from '../../core/constants.ts';
import type { LabelSelector, WORKLOAD_KINDS } from '../../core/policy/schema.ts';
import { matchesSelector } from '../../core/policy/select.ts';
import { consumption, findReferences, reloaderSays, type ConsumerSettings, type Consumption, type Reference } from './consumers.ts';
import type { ObjectKind } from '../../core/constants.ts';

export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
/** The policy kinds, and CronJob (the Reloader mode only: a Job is created from its jobTemplate). */
export type RolloutKind = WorkloadKind | 'CronJob' | 'Rollout';

/** Reload settings that apply to one changed object (merged from the policies that concern it). */
export interface ReloadSettings extends ConsumerSettings {
  kinds: readonly RolloutKind[];
  /** Workloads with any of these annotations set to "false" are never restarted. */
  optOutAnnotations: readonly string[];
  /** Policies the settings come from (for reports). */
  policies: readonly string[];
  /** `reload.coalesce` in ms (the longest of the policies): changes within this window make one rollout. */
  coalesceMs: number;
  /** Patch a paused Deployment's template anyway (it rolls out on resume); the Reloader mode sets it. */
  patchPaused?: boolean;
  /** Workloads restarted by name (`reload.targets`), whether or not their pods read the object. */
  targets?: readonly NamedTarget[];
}

/**
 * A `reload.targets` entry: a workload by kind and name, or every workload of the kind whose labels match a selector;
 * in one namespace or wherever the changed object is.
 */
export interface NamedTarget {
  kind: WorkloadKind;
  name?: string;
  selector?: LabelSelector;
  namespace?: string;
}

/** The `reload.targets` entry that chooses `w` (by name or by its labels) for a change of an object in `namespace`, or null. */
function namedBy(settings: ReloadSettings, w: WorkloadView, namespace: string): NamedTarget | null {
  const chooses = (t: NamedTarget) => (t.name !== undefined ? t.name === w.name : t.selector !== undefined && matchesSelector(t.selector, w.labels));
  return settings.targets?.find((t) => t.kind === w.kind && chooses(t) && (t.namespace ?? namespace) === namespace && w.namespace === namespace) ?? null;
}

export interface ChangedObject {
  kind: ObjectKind;
  namespace: string;
  name: string;
  /** Current keyed fingerprint of the object's content. */
  fingerprint: string;
  settings: ReloadSettings;
  /** Decides instead of `consumption` (the Reloader mode: reloader.ts `reloaderDecision`). */
  decide?: (w: WorkloadView) => Consumption;
}

/** What the planner needs of a Deployment/StatefulSet/DaemonSet (see workloads.ts). */
export interface WorkloadView {
  kind: RolloutKind;
  namespace: string;
  name: string;
  /** As listed (for the Event on the restarted workload). */
  uid?: string;
  /** As listed: the patch's precondition (two invocations planning the same restart write it once). */
  resourceVersion?: string;
  annotations: Record<string, string>;
  /** metadata.labels (reload.targets by selector). */
  labels?: Record<string, string>;
  template: V1PodTemplateSpec | undefined;
  paused: boolean;
  /** metadata.creationTimestamp (ISO), when known. */
  createdAt?: string;
}

export interface WorkloadId {
  kind: RolloutKind;
  namespace: string;
  name: string;
}

export interface RestartEntry {
  kind: ObjectKind;
  name: string;
  fingerprint: string;
}

export interface WorkloadPatch {
  workload: WorkloadId;
  /** The listed workload's uid, when known (the restart's Event names it: `kubectl describe` matches on it). */
  uid?: string;
  /** The changed objects this restart is for (sorted). */
  changed: RestartEntry[];
  /** How each changed object is consumed (names of containers/volumes; never values). */
  references: Reference[];
  restartedFor: string;
  restartedAt: string;
  /**
   * Strategic merge patch body (pod template annotations; the Reloader mode's pause-period adds spec.paused + an
   * annotation). `metadata.resourceVersion`, the listed one, makes it conditional: a workload changed since it was
   * read (e.g. restarted by a concurrent invocation for the same content) answers 409, and apply.ts re-reads it.
   */
  body: { spec: { template: { metadata: { annotations: Record<string, string> } }; paused?: boolean }; metadata?: { resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> } };
}

export interface Skipped {
  workload: WorkloadId;
  object: { kind: ObjectKind; name: string };
  reason: string;
}

export interface RolloutPlan {
  patches: WorkloadPatch[];
  /** Consumers deliberately not restarted (opt-out, paused, kind not reloaded). */
  skipped: Skipped[];
  /** Consumers already restarted for the current fingerprint. */
  upToDate: Skipped[];
  /** References reported but never restarted (imagePullSecrets, forms outside reload.references). */
  reported: Skipped[];
}

/** `reload.coalesce` in ms; the schema's default (10s) when absent or not a duration. */
function coalesceMs(d: string | undefined): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(d ?? '10s');
  if (!m) return 10_000;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

const entryKey = (e: { kind: string; name: string }): string => `${e.kind}/${e.name}`;

/** Parse `Kind/name=fingerprint,…`; malformed items are dropped (the annotation is ours, but users can edit it). */
export function parseRestartedFor(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (value ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const key = item.slice(0, eq).trim();
    const fp = item.slice(eq + 1).trim();
    if (/^(Secret|ConfigMap)\/[^/=,]+$/.test(key) && fp) out.set(key, fp);
  }
  return out;
}

export function formatRestartedFor(entries: Map<string, string>): string {
  return [...entries.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function optOutReason(w: WorkloadView, annotations: readonly string[]): string | null {
  const ann = { ...(w.template?.metadata?.annotations ?? {}), ...w.annotations };
  for (const a of annotations) {
    if (ann[a]?.toLowerCase() === 'false') return `opted out (annotation ${a}: "false")`;
  }
  return null;
}

function stillReferenced(w: WorkloadView, key: string): boolean {
  const [kind, name] = key.split('/') as [ObjectKind, string];
  if (findReferences(w.template?.spec, { kind, name }).some((r) => r.form !== 'imagePullSecrets')) return true;
  const ann = { ...(w.template?.metadata?.annotations ?? {}), ...w.annotations };
  return reloaderSays(ann, { kind, name }).named;
}

function compareIds(a: WorkloadId, b: WorkloadId): number {
  const ka = `${a.kind}/${a.namespace}/${a.name}`;
  const kb = `${b.kind}/${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * One patch per workload that consumes at least one changed object whose current fingerprint it does not
 * record yet. `now` is the restart time written to `ripple.dev/restarted-at`.
 */
export function planRollouts(changed: readonly ChangedObject[], workloads: readonly WorkloadView[], now: Date): RolloutPlan {
  const plan: RolloutPlan = { patches: [], skipped: [], upToDate: [], reported: [] };
  // The same object twice in a batch (duplicate delivery): keep one, the handler re-read it once anyway.
  const objects = [...new Map(changed.map((c) => [`${c.namespace}/${entryKey(c)}`, c])).values()];
  for (const w of [...workloads].sort(compareIds)) {
    const id: WorkloadId = { kind: w.kind, namespace: w.namespace, name: w.name };
    const recorded = parseRestartedFor(w.template?.metadata?.annotations?.[ANN_RESTARTED_FOR]);
    const needed: RestartEntry[] = [];
    const references: Reference[] = [];
    const pendingSkips: Skipped[] = [];
    for (const obj of objects) {
      if (obj.namespace !== w.namespace) continue;
      const target = { kind: obj.kind, name: obj.name };
      const found = obj.decide ? obj.decide(w) : consumption(w.annotations, w.template, target, obj.settings);
      const named = !found.restart && !found.skip && !obj.decide ? namedBy(obj.settings, w, obj.namespace) : null;
      const c = named ? { ...found, restart: true, reason: `${named.name !== undefined ? 'named' : 'chosen by label'} in reload.targets of policy ${obj.settings.policies.join(', ')}` } : found;
      if (!c.restart) {
        if (c.skip) plan.skipped.push({ workload: id, object: target, reason: c.reason });
        else if (c.ignored.length > 0) plan.reported.push({ workload: id, object: target, reason: c.reason });
        continue;
      }
      if (c.ignored.length > 0) plan.reported.push({ workload: id, object: target, reason: `also ${c.ignored.map((r) => r.where).join('; ')} (reported, not a reason to restart)` });
      if (!obj.settings.kinds.includes(w.kind)) {
        plan.skipped.push({ workload: id, object: target, reason: `${w.kind} is not in reload.kinds of policy ${obj.settings.policies.join(', ')}` });
        continue;
      }
      const optOut = optOutReason(w, obj.settings.optOutAnnotations);
      if (optOut) {
        plan.skipped.push({ workload: id, object: target, reason: optOut });
        continue;
      }
      if (recorded.get(entryKey(obj)) === obj.fingerprint) {
        plan.upToDate.push({ workload: id, object: target, reason: `already restarted for ${entryKey(obj)}=${obj.fingerprint}` });
        continue;
      }
      if (w.paused && !obj.settings.patchPaused) {
        pendingSkips.push({ workload: id, object: target, reason: `${w.kind} is paused (spec.paused: true); not restarted` });
        continue;
      }
      needed.push({ kind: obj.kind, name: obj.name, fingerprint: obj.fingerprint });
      references.push(...c.references);
    }
    plan.skipped.push(...pendingSkips);
    if (needed.length === 0) continue;
    // Keep what earlier restarts recorded for objects the template still consumes; drop the rest.
    const named = new Set(objects.filter((o) => namedBy(o.settings, w, o.namespace)).map((o) => entryKey(o)));
    const next = new Map([...recorded].filter(([k]) => named.has(k) || stillReferenced(w, k)));
    for (const e of needed) next.set(entryKey(e), e.fingerprint);
    const restartedFor = formatRestartedFor(next);
    const restartedAt = now.toISOString();
    plan.patches.push({
      workload: id,
      ...(w.uid ? { uid: w.uid } : {}),
      changed: needed.sort((a, b) => (entryKey(a) < entryKey(b) ? -1 : entryKey(a) > entryKey(b) ? 1 : 0)),
      references,
      restartedFor,
      restartedAt,
      body: {
        ...(w.resourceVersion ? { metadata: { resourceVersion: w.resourceVersion } } : {}),
        spec: { template: { metadata: { annotations: { [ANN_RESTARTED_FOR]: restartedFor, [ANN_RESTARTED_AT]: restartedAt } } } },
      },
    });
  }
  return plan;
}

/**
 * Until when a plan must wait before it may write (coalescing): for each patch, each object it restarts for
 * changed first at `firstChangeAt` (`Kind/name` -> ms) and coalesces for its `reload.coalesce`; the latest end of
 * those windows. 0 when the plan writes nothing (nothing to wait for).
 */
export function holdUntil(plan: RolloutPlan, changed: readonly ChangedObject[], firstChangeAt: ReadonlyMap<string, number>): number {
  let until = 0;
  const settings = new Map(changed.map((c) => [entryKey(c), c.settings]));
  for (const p of plan.patches) {
    for (const e of p.changed) {
      const at = firstChangeAt.get(entryKey(e));
      const window = settings.get(entryKey(e))?.coalesceMs ?? 0;
      if (at !== undefined) until = Math.max(until, at + window);
    }
  }
  return until;
}

/**
 * Merge the reload sections of the policies that concern one object (union of kinds, reference forms and
 * opt-out annotations; Reloader annotations if any policy enables them). Null when none has a reload section.
 */
export function reloadSettings(policies: readonly { metadata: { name: string }; spec: { reload?: { kinds: readonly WorkloadKind[]; references: readonly ConsumerSettings['references'][number][]; optOutAnnotation: string; reloaderAnnotations: boolean; coalesce?: string; targets?: readonly NamedTarget[] } } }[]): ReloadSettings | null {
  const withReload = policies.filter((p) => p.spec.reload);
  if (withReload.length === 0) return null;
  const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
  return {
    kinds: uniq(withReload.flatMap((p) => p.spec.reload!.kinds)),
    references: uniq(withReload.flatMap((p) => p.spec.reload!.references)),
    optOutAnnotations: uniq(withReload.map((p) => p.spec.reload!.optOutAnnotation)),
    reloaderAnnotations: withReload.some((p) => p.spec.reload!.reloaderAnnotations),
    policies: withReload.map((p) => p.metadata.name).sort(),
    coalesceMs: Math.max(...withReload.map((p) => coalesceMs(p.spec.reload!.coalesce))),
    ...(withReload.some((p) => p.spec.reload!.targets) ? { targets: withReload.flatMap((p) => p.spec.reload!.targets ?? []) } : {}),
  };
}
