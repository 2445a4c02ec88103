/**
 * The Reloader-compatible mode (RippleConfig `reloader`): does a change of Secret/ConfigMap X restart workload W,
 * with stakater Reloader's annotation semantics exactly? Pure functions over plain objects; the rollout planner
 * (plan.ts) calls `reloaderDecision` for objects no reloading policy concerns (reconcile.ts), so restarts keep the
 * fingerprint record, the once-only patch and the coalescing of the policy path.
 *
 * Reloader's checks, in its order (internal/pkg/reload/matcher.go of Reloader v2; the mounted-volume rule of v1):
 *  1. `reloader.stakater.com/ignore: "true"` on the Secret/ConfigMap: never.
 *  2. Which annotations count: the workload's metadata annotations if any of the relevant keys is there (the named
 *     list of this kind, `reloader.stakater.com/search`, `reloader.stakater.com/auto`, the typed auto of this
 *     kind), else the pod template's if one is there, else the workload's. Never a merge of both.
 *  3. `secrets.exclude.reloader.stakater.com/reload` / `configmaps.exclude.reloader.stakater.com/reload`: a
 *     comma list of exact names never reloaded for.
 *  4. `secret.reloader.stakater.com/reload` / `configmap.reloader.stakater.com/reload`: a comma list of regular
 *     expressions, each anchored `^…$` (an invalid one compares as an exact name): restart, whether or not the
 *     template references the object.
 *  5. `reloader.stakater.com/search: "true"` on the workload and `reloader.stakater.com/match: "true"` on the
 *     object: restart if referenced.
 *  6. `reloader.stakater.com/auto: "true"`, or the typed auto of the object's kind
 *     (`secret.reloader.stakater.com/auto` narrows to Secrets, `configmap.…` to ConfigMaps): restart if referenced.
 *  7. `autoReloadAll` (Reloader's --auto-reload-all): restart if referenced, unless `reloader.stakater.com/auto`
 *     or the typed auto says "false".
 *  "Referenced" (auto, search, auto-reload-all): env valueFrom, envFrom, or a volume (direct or projected) that a
 *  container or init container actually mounts; `imagePullSecrets` never count. Values are compared as Reloader
 *  does: "true"/"false" exactly.
 *
 * ripple additions, both so nothing restarts twice: a workload created after the object's last write already
 * started with the current content (a Deployment applied together with its Secret by `kubectl apply -k` or
 * `helm install` is not rolled out again when the create arrives); and the usual fingerprint record.
 *
 * Named-list entries are regular expressions: name-patterns.ts says which are never run (hostile backtracking).
 */
import type { V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import type { ObjectKind } from '../../core/constants.ts';
import type { ReloaderConfig } from '../../core/config/schema.ts';
import { findReferences, type Consumption, type Reference } from './consumers.ts';
import { nameMatches } from './name-patterns.ts';

export { nameMatches, namePattern } from './name-patterns.ts';

export const RELOADER_ANNOTATIONS = {
  auto: 'reloader.stakater.com/auto',
  secretAuto: 'secret.reloader.stakater.com/auto',
  configMapAuto: 'configmap.reloader.stakater.com/auto',
  secretReload: 'secret.reloader.stakater.com/reload',
  configMapReload: 'configmap.reloader.stakater.com/reload',
  secretExclude: 'secrets.exclude.reloader.stakater.com/reload',
  configMapExclude: 'configmaps.exclude.reloader.stakater.com/reload',
  search: 'reloader.stakater.com/search',
  match: 'reloader.stakater.com/match',
  ignore: 'reloader.stakater.com/ignore',
  pausePeriod: 'deployment.reloader.stakater.com/pause-period',
  pausedAt: 'deployment.reloader.stakater.com/paused-at',
} as const;

const A = RELOADER_ANNOTATIONS;

/** The fingerprint recorded for a deleted object (reloadOnDelete): a later re-creation differs from it. */
export const ABSENT_FINGERPRINT = 'absent';

export type ChangeEvent = 'created' | 'updated' | 'deleted';

/** What the decision needs of the changed object. */
export interface ReloaderChange {
  kind: ObjectKind;
  namespace: string;
  name: string;
  /** The object's annotations (current; for a deletion, those its Deleted event carried). */
  annotations: Record<string, string>;
  /** The strongest event seen for it in the batch: updated > created; deleted when it is gone. */
  event: ChangeEvent;
  /** When the object was last written (ms; max of creationTimestamp and managedFields times), when known. */
  lastWriteAt?: number;
}

/** What the decision needs of a workload (a WorkloadView of plan.ts fits). */
export interface ReloaderWorkload {
  kind: string;
  annotations: Record<string, string>;
  template: V1PodTemplateSpec | undefined;
  /** metadata.creationTimestamp (ISO), when known. */
  createdAt?: string;
}

const typed = (kind: ObjectKind) =>
  kind === 'Secret'
    ? { auto: A.secretAuto, reload: A.secretReload, exclude: A.secretExclude }
    : { auto: A.configMapAuto, reload: A.configMapReload, exclude: A.configMapExclude };

/** Reloader's choice of annotation set: the workload's when it has a relevant key, else the template's when it has one. */
export function selectAnnotations(workload: Record<string, string> | undefined, template: Record<string, string> | undefined, kind: ObjectKind): { annotations: Record<string, string>; from: 'workload' | 'pod template' } {
  const t = typed(kind);
  const relevant = (a: Record<string, string> | undefined) => a !== undefined && [t.reload, A.search, A.auto, t.auto].some((k) => Object.prototype.hasOwnProperty.call(a, k));
  if (relevant(workload)) return { annotations: workload!, from: 'workload' };
  if (relevant(template)) return { annotations: template!, from: 'pod template' };
  return { annotations: workload ?? {}, from: 'workload' };
}

const splitList = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/**
 * References that count for auto / search / auto-reload-all: env and envFrom of containers and init containers,
 * and volumes (direct or projected) only when a container or init container mounts them.
 */
export function mountedReferences(spec: V1PodSpec | undefined, target: { kind: ObjectKind; name: string }): { counted: Reference[]; ignored: Reference[] } {
  const found = findReferences(spec, target);
  const mounted = new Set<string>();
  for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) for (const m of c.volumeMounts ?? []) mounted.add(m.name);
  const counted: Reference[] = [];
  const ignored: Reference[] = [];
  for (const r of found) {
    if (r.form === 'imagePullSecrets') {
      ignored.push(r);
      continue;
    }
    if (r.form === 'volume' || r.form === 'projected') {
      const volume = /^volume (\S+)/.exec(r.where)?.[1] ?? '';
      if (!mounted.has(volume)) {
        ignored.push({ form: r.form, where: `${r.where} (mounted by no container)` });
        continue;
      }
    }
    counted.push(r);
  }
  return { counted, ignored };
}

const no = (reason: string, ignored: Reference[] = [], skip = false): Consumption => ({ restart: false, references: [], ignored, reason, ...(skip ? { skip } : {}) });

/** Does a change of the object restart the workload in the Reloader mode? The reason says which rule decided. */
export function reloaderDecision(change: ReloaderChange, w: ReloaderWorkload, cfg: Pick<ReloaderConfig, 'autoReloadAll'>): Consumption {
  const what = `${change.kind} ${change.name}`;
  const t = typed(change.kind);
  const { annotations: ann, from } = selectAnnotations(w.annotations, w.template?.metadata?.annotations, change.kind);
  const named = splitList(ann[t.reload]).find((e) => nameMatches(e, change.name));
  // a deliberate "no" is reported (as a skip) only for workloads that use or name the object, not for every bystander
  const uses = named !== undefined || findReferences(w.template?.spec, change).some((r) => r.form !== 'imagePullSecrets');
  if (change.annotations[A.ignore] === 'true') return no(`${what} has ${A.ignore}: "true"`, [], uses);
  if (splitList(ann[t.exclude]).includes(change.name)) return no(`${what} is in ${t.exclude} (on the ${from})`, [], uses);
  const createdAfter = createdAfterChange(change, w);
  if (named !== undefined) {
    if (createdAfter) return no(createdAfter, [], true);
    return { restart: true, references: [], ignored: [], reason: `${t.reload} on the ${from} names ${change.name}${named === change.name ? '' : ` (pattern "${named}")`}` };
  }
  let rule: string | null = null;
  if (ann[A.search] === 'true' && change.annotations[A.match] === 'true') rule = `${A.search}: "true" on the ${from} and ${A.match}: "true" on ${what}`;
  else if (ann[A.auto] === 'true') rule = `${A.auto}: "true" on the ${from}`;
  else if (ann[t.auto] === 'true') rule = `${t.auto}: "true" on the ${from}`;
  else if (cfg.autoReloadAll) {
    if (ann[A.auto] === 'false') return no(`opted out (${A.auto}: "false" on the ${from}) of autoReloadAll`, [], uses);
    if (ann[t.auto] === 'false') return no(`opted out (${t.auto}: "false" on the ${from}) of autoReloadAll`, [], uses);
    rule = 'autoReloadAll';
  }
  if (rule === null) {
    const optedOut = ann[A.auto] === 'false' ? ` (${A.auto}: "false")` : '';
    return no(`no Reloader annotation selects ${what}${optedOut}: opt in with ${A.auto}, ${t.auto}, ${t.reload} or ${A.search} + ${A.match}`);
  }
  const { counted, ignored } = mountedReferences(w.template?.spec, change);
  if (counted.length === 0) {
    const why = ignored.length ? `only via ${ignored.map((r) => r.where).join('; ')}` : 'not at all';
    return no(`${rule}, but the template references ${what} ${why}`, ignored);
  }
  if (createdAfter) return no(createdAfter, ignored, true);
  return { restart: true, references: counted, ignored, reason: `${rule}; consumes ${what} via ${counted.map((r) => r.where).join('; ')}` };
}

/**
 * A workload created after the object's last write started with the current content: not restarted. For a
 * create event a workload created in the same second counts as created together (`kubectl apply -k`, `helm
 * install`); for an update only a strictly later creation does (timestamps have whole seconds).
 */
function createdAfterChange(change: ReloaderChange, w: ReloaderWorkload): string | null {
  if (change.event === 'deleted' || change.lastWriteAt === undefined || !w.createdAt) return null;
  const created = Date.parse(w.createdAt);
  if (!Number.isFinite(created)) return null;
  const after = change.event === 'created' ? created >= change.lastWriteAt : created > change.lastWriteAt;
  if (!after) return null;
  return `${w.kind} was created at ${w.createdAt}, ${change.event === 'created' ? 'together with or after' : 'after'} the last write of ${change.kind} ${change.name}: its pods started with the current content`;
}

/** Go's time.ParseDuration for what pause periods use (`30s`, `5m`, `1h30m`, `1.5h`, `500ms`); null when invalid or not positive. */
export function parseGoDuration(v: string | undefined): number | null {
  if (!v) return null;
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(v)) !== null) {
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  if (pos !== v.length || pos === 0) return null;
  return total > 0 ? total : null;
}

/** The object's last write (ms): the latest of creationTimestamp and managedFields[].time; undefined when none parses. */
export function lastWriteAt(md: { creationTimestamp?: string | Date; managedFields?: { time?: string | Date }[] } | undefined): number | undefined {
  const times = [md?.creationTimestamp, ...(md?.managedFields ?? []).map((f) => f.time)]
    .map((t) => (t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN))
    .filter((t) => Number.isFinite(t));
  return times.length ? Math.max(...times) : undefined;
}
