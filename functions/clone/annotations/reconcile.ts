/**
 * The copy modes' I/O (RippleConfig `reflector:` / `replicator:`): read what a trigger names (triggers.ts), plan
 * (plan.ts, pure), write, report. Level-based: whatever the event said, the source's and the target's annotations
 * are read again here, so a forged or replayed event can only make ripple look at the current state.
 *
 * Reads: the object an event names; the objects of its name in all namespaces (one field-selected list) and the
 * namespaces, only when it pushes or has copies; its pull targets by ripple's label (one label-selected list), and,
 * when its annotations changed or it was created, every object of its kind (paged) for pull targets that name it.
 * A new namespace: every object of the modes' kinds (paged) for push sources. The schedule: every object of the
 * modes' kinds (paged), keeping only references, each then re-read.
 *
 * Writes: only when the content differs (plan.ts); an update is a replace at the read resourceVersion (a conflict
 * re-reads and re-plans, up to 3 times); a delete has uid and resourceVersion preconditions. Refusals and push
 * targets that are not copies get a Warning Event on the object (once per object and reason), a log line and a
 * metric; never any data.
 */
import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { V1Namespace } from '@kubernetes/client-node';
import type { ObjectKind } from '../../../core/constants.ts';
import type { CopyModeConfig, CopyTool } from '../../../core/config/schema.ts';
import { ConflictError, PermanentError, RetryableError } from '../../../core/errors.ts';
import { buildEvent } from '../../runtime/k8s-events.ts';
import { listAll, NotFoundError, orNull, PAGE, pageAfter, type Kube } from '../../runtime/kube.ts';
import type { Observability } from '../../runtime/middleware.ts';
import { pool } from '../../runtime/pool.ts';
import { CLONE_KINDS } from '../kinds.ts';
import type { ClonedObject } from '../plan.ts';
import { ANN_REPLICATED_FROM, dotnetTrue, goBool, isReflectorAutoSource, isReplicatorPushSource, LABEL_PULLS_FROM, parseRef, pullLabelValue, REFLECTOR, REPLICATOR } from './annotations.ts';
import { ANNOTATION_ACTIONS, isAnnotationWrite, isPullTarget, isPushCopy, planPull, planPush, pullSourceOf, type AnnotationAction, type AnnotationActionType } from './plan.ts';
import { needsNamespaceLabels } from './scope.ts';
import type { AnnotationWork } from './triggers.ts';

export interface CopyModeDeps {
  kube: Pick<Kube, 'core' | 'raw'>;
  modes: readonly { tool: CopyTool; cfg: CopyModeConfig }[];
  observability?: Observability;
  now?: () => Date;
  concurrency?: number;
  outOfTime?: () => boolean;
  /** Record Kubernetes Events for refusals and unmanaged objects (default true). */
  events?: boolean;
}

export interface CopyModeFailure {
  kind: string;
  namespace: string;
  name: string;
  action: string;
  retryable: boolean;
  message: string;
}

export interface CopyModeSummary {
  actions: Record<AnnotationActionType, number>;
  writes: number;
  conflicts: number;
  failures: CopyModeFailure[];
}

/** One planned action and how to plan it again from a fresh read (after a conflict). */
interface Planned {
  action: AnnotationAction;
  again: () => Promise<AnnotationAction | null>;
}

type Id = { namespace: string; name: string };
const key = (tool: string, kind: string, id: Id) => `${tool}/${kind}/${id.namespace}/${id.name}`;

/** Per-run reads shared by every mode and item (namespaces listed at most once). */
class Reader {
  private namespaces?: Promise<V1Namespace[]>;
  private nsLabels = new Map<string, Promise<V1Namespace | null>>();
  readonly kube: Pick<Kube, 'core' | 'raw'>;
  constructor(kube: Pick<Kube, 'core' | 'raw'>) {
    this.kube = kube;
  }
  allNamespaces(): Promise<V1Namespace[]> {
    return (this.namespaces ??= listAll((p) => this.kube.core.listNamespace(p)));
  }
  namespace(name: string): Promise<V1Namespace | null> {
    let n = this.nsLabels.get(name);
    if (!n) {
      n = orNull(this.kube.core.readNamespace({ name }));
      this.nsLabels.set(name, n);
    }
    return n;
  }
  async labelsOf(cfg: CopyModeConfig, name: string): Promise<Record<string, string> | undefined> {
    if (!needsNamespaceLabels(cfg)) return undefined;
    return (await this.namespace(name))?.metadata?.labels ?? {};
  }
  private objects = new Map<string, Promise<ClonedObject | null>>();
  private names = new Map<string, Promise<ClonedObject[]>>();
  /** One object, read once per run (both modes, every target naming it); `fresh` re-reads it (a re-plan after a conflict). */
  read(kind: ObjectKind, id: Id, fresh = false): Promise<ClonedObject | null> {
    const k = `${kind}/${id.namespace}/${id.name}`;
    let o = fresh ? undefined : this.objects.get(k);
    if (!o) {
      o = orNull(CLONE_KINDS[kind].read(this.kube.core, id.namespace, id.name));
      this.objects.set(k, o);
    }
    return o;
  }
  named(kind: ObjectKind, name: string): Promise<ClonedObject[]> {
    const k = `${kind}/${name}`;
    let l = this.names.get(k);
    if (!l) {
      l = CLONE_KINDS[kind].listNamed(this.kube.core, name);
      this.names.set(k, l);
    }
    return l;
  }
  /** Objects of a kind carrying a label selector, in all namespaces. */
  async labelled(kind: ObjectKind, selector: string): Promise<ClonedObject[]> {
    const list = (p: { limit: number; _continue?: string }) =>
      kind === 'Secret' ? this.kube.core.listSecretForAllNamespaces({ labelSelector: selector, ...p }) : this.kube.core.listConfigMapForAllNamespaces({ labelSelector: selector, ...p });
    return (await listAll(list)).map((o) => ({ ...(o as ClonedObject), apiVersion: 'v1', kind }));
  }
  /** Every object of a kind, page by page: `keep` sees each and returns what to hold (references, never data). */
  async scan<T>(kind: ObjectKind, keep: (o: ClonedObject) => T | null): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const res = await pageAfter(token, (t) => {
        const p = { limit: PAGE, ...(t ? { _continue: t } : {}) };
        return kind === 'Secret' ? this.kube.core.listSecretForAllNamespaces(p) : this.kube.core.listConfigMapForAllNamespaces(p);
      });
      for (const o of res.items) {
        const k = keep({ ...(o as ClonedObject), apiVersion: 'v1', kind });
        if (k !== null) out.push(k);
      }
      token = res.metadata?._continue || undefined;
    } while (token);
    return out;
  }
}

const idOf = (o: ClonedObject): Id => ({ namespace: o.metadata?.namespace ?? '', name: o.metadata?.name ?? '' });
const modeKinds = (cfg: CopyModeConfig, kind: ObjectKind) => cfg.objects.kinds.includes(kind);

/** The push copy's source, from its marks (Reflector `reflects` on an auto copy; ripple's mark for Replicator). */
function copySourceOf(tool: CopyTool, annotations: Record<string, string> | undefined): Id | null {
  if (tool === 'reflector') return dotnetTrue(annotations?.[REFLECTOR.autoReflects]) ? parseRef(annotations?.[REFLECTOR.reflects], 'reflector') : null;
  const mark = annotations?.[ANN_REPLICATED_FROM];
  if (!mark) return null;
  const [, namespace, name] = mark.split('/');
  return namespace && name ? { namespace, name } : null;
}

const isPushSource = (tool: CopyTool, o: ClonedObject) => (tool === 'reflector' ? isReflectorAutoSource(o.metadata?.annotations) : isReplicatorPushSource(o.metadata?.annotations));

class Planner {
  readonly planned = new Map<string, Planned>();
  readonly r: Reader;
  readonly now: () => Date;
  constructor(r: Reader, now: () => Date) {
    this.r = r;
    this.now = now;
  }

  private add(p: Planned) {
    const a = p.action;
    const k = key(a.tool, a.kind, a);
    if (!this.planned.has(k)) this.planned.set(k, p);
  }

  /** A source's push over `namespaces` (all when omitted). `object` undefined = read it. */
  async push(tool: CopyTool, cfg: CopyModeConfig, kind: ObjectKind, source: Id, opts: { object?: ClonedObject | null; only?: string } = {}): Promise<void> {
    const object = opts.object !== undefined ? opts.object : await this.r.read(kind, source);
    const existing = opts.only !== undefined ? [await this.r.read(kind, { namespace: opts.only, name: source.name })].filter((o): o is ClonedObject => o !== null) : await this.r.named(kind, source.name);
    // nothing pushes and nothing was pushed: no namespace list
    if ((!object || !isPushSource(tool, object)) && !existing.some((o) => isPushCopy(tool, kind, source, o))) return;
    const namespaces = opts.only !== undefined ? [await this.r.namespace(opts.only)].filter((n): n is V1Namespace => n !== null) : await this.r.allNamespaces();
    const plan = (obj: ClonedObject | null, ns: V1Namespace[], ex: ClonedObject[], srcNsLabels: Record<string, string> | undefined) =>
      planPush({ tool, cfg, kind, source, object: obj, sourceNamespaceLabels: srcNsLabels, namespaces: ns, existing: ex, now: this.now().toISOString() });
    const srcLabels = await this.r.labelsOf(cfg, source.namespace);
    for (const action of plan(object, namespaces, existing, srcLabels)) {
      this.add({
        action,
        again: async () => {
          const [obj, ns, ex] = await Promise.all([this.r.read(kind, source, true), orNull(this.r.kube.core.readNamespace({ name: action.namespace })), this.r.read(kind, { namespace: action.namespace, name: source.name }, true)]);
          return ns ? (plan(obj, [ns], ex ? [ex] : [], srcLabels)[0] ?? null) : null;
        },
      });
    }
  }

  /** One pull target (re-read) against the source it names. */
  async pull(tool: CopyTool, cfg: CopyModeConfig, kind: ObjectKind, target: Id, object?: ClonedObject | null): Promise<void> {
    const once = async (t: ClonedObject | null, fresh = false): Promise<AnnotationAction | null> => {
      if (!t || !isPullTarget(tool, t)) return null;
      const src = pullSourceOf(tool, t);
      const source = src ? await this.r.read(kind, src, fresh) : null;
      const [tl, sl] = await Promise.all([this.r.labelsOf(cfg, target.namespace), src ? this.r.labelsOf(cfg, src.namespace) : Promise.resolve(undefined)]);
      return planPull({ tool, cfg, kind, target: t, targetNamespaceLabels: tl, source, sourceNamespaceLabels: sl, now: this.now().toISOString() });
    };
    const action = await once(object !== undefined ? object : await this.r.read(kind, target));
    if (action) this.add({ action, again: async () => once(await this.r.read(kind, target, true), true) });
  }

  /** Pull targets naming `source`: by ripple's label, and with `scan` by reading every object of the kind. */
  async pullTargetsOf(tool: CopyTool, cfg: CopyModeConfig, kind: ObjectKind, source: Id, scan: boolean): Promise<void> {
    const byLabel = await this.r.labelled(kind, `${LABEL_PULLS_FROM}=${pullLabelValue(tool, kind, source)}`);
    const targets = new Map(byLabel.map((o) => [key(tool, kind, idOf(o)), idOf(o)]));
    if (scan) {
      for (const id of await this.r.scan(kind, (o) => {
        const s = isPullTarget(tool, o) ? pullSourceOf(tool, o) : null;
        return s && s.namespace === source.namespace && s.name === source.name ? idOf(o) : null;
      }))
        targets.set(key(tool, kind, id), id);
    }
    for (const id of targets.values()) await this.pull(tool, cfg, kind, id);
  }
}

/** Plan what the work asks for, in every mode. */
async function planWork(p: Planner, modes: CopyModeDeps['modes'], work: AnnotationWork): Promise<void> {
  if (work.type === 'object') {
    const { kind } = work;
    const id = { namespace: work.namespace, name: work.name };
    const object = await p.r.read(kind, id);
    for (const { tool, cfg } of modes) {
      if (!modeKinds(cfg, kind)) continue;
      // as a source: its push copies, its pull targets
      await p.push(tool, cfg, kind, id, { object });
      // a scan for pull targets not labelled yet only when it now allows pulls and its annotations changed (or it appeared)
      await p.pullTargetsOf(tool, cfg, kind, id, work.annotationsChanged && object !== null && allowsPulls(tool, object));
      // as a pull target
      if (object && isPullTarget(tool, object)) await p.pull(tool, cfg, kind, id, object);
      // as a copy (edited or deleted): its source's push, in this namespace
      const from = copySourceOf(tool, object ? object.metadata?.annotations : work.annotations);
      if (from && !(from.namespace === id.namespace && from.name === id.name)) await p.push(tool, cfg, kind, from, { only: id.namespace });
    }
    return;
  }
  if (work.type === 'namespace') {
    const ns = await p.r.namespace(work.name);
    if (!ns) return;
    for (const kind of kindsOf(modes)) {
      const sources = await p.r.scan(kind, (o) => {
        const tools = modes.filter((m) => modeKinds(m.cfg, kind) && isPushSource(m.tool, o));
        return tools.length ? { id: idOf(o), tools } : null;
      });
      for (const s of sources) for (const { tool, cfg } of s.tools) await p.push(tool, cfg, kind, s.id, { only: work.name });
    }
    return;
  }
  // everything: one scan per kind for every mode, keeping references only
  for (const kind of kindsOf(modes)) {
    const found = await p.r.scan(kind, (o) => {
      const roles = modes.filter((m) => modeKinds(m.cfg, kind)).flatMap((m): Role[] => {
        if (isPushSource(m.tool, o)) return [{ ...m, role: 'source', from: null }];
        if (isPullTarget(m.tool, o)) return [{ ...m, role: 'target', from: null }];
        const from = copySourceOf(m.tool, o.metadata?.annotations);
        return from ? [{ ...m, role: 'copy', from }] : [];
      });
      return roles.length ? { id: idOf(o), roles } : null;
    });
    const sources = new Set(found.flatMap((f) => f.roles.filter((r) => r.role === 'source').map((r) => `${r.tool}/${f.id.namespace}/${f.id.name}`)));
    for (const f of found) {
      for (const r of f.roles) {
        if (r.role === 'source') await p.push(r.tool, r.cfg, kind, f.id);
        else if (r.role === 'target') await p.pull(r.tool, r.cfg, kind, f.id);
        // a copy whose source no longer pushes (or is gone): planned in its namespace (deleted when unwanted)
        else if (r.from && !sources.has(`${r.tool}/${r.from.namespace}/${r.from.name}`)) await p.push(r.tool, r.cfg, kind, r.from, { only: f.id.namespace });
      }
    }
  }
}

/** What an object is to a mode, in a scan. */
type Role = { tool: CopyTool; cfg: CopyModeConfig; role: 'source' | 'target' | 'copy'; from: Id | null };

const kindsOf = (modes: CopyModeDeps['modes']): ObjectKind[] => [...new Set(modes.flatMap((m) => m.cfg.objects.kinds))];

/** The object allows pulls for this tool (so a pull target naming it may be waiting). */
function allowsPulls(tool: CopyTool, o: ClonedObject): boolean {
  const a = o.metadata?.annotations;
  return tool === 'reflector' ? dotnetTrue(a?.[REFLECTOR.allowed]) : goBool(a?.[REPLICATOR.allowed]) === true;
}

const TERMINATING = /being terminated|is terminating/i;

async function write(kube: Pick<Kube, 'raw'>, a: Extract<AnnotationAction, { action: 'create' | 'update' | 'delete' }>): Promise<void> {
  const ops = CLONE_KINDS[a.kind];
  if (a.action === 'create') await ops.create(kube.raw, a.namespace, a.object);
  else if (a.action === 'update') await ops.replace(kube.raw, a.namespace, a.name, a.object);
  else {
    try {
      await ops.remove(kube.raw, a.namespace, a.name, { uid: a.uid, resourceVersion: a.resourceVersion });
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}

/** Events already recorded by this container (a warm Lambda does not ask again). */
const recorded = new Set<string>();

const EVENT_REASON: Record<string, string> = { 'report-unmanaged': 'UnmanagedObject' };

async function report(d: CopyModeDeps, a: Extract<AnnotationAction, { action: 'refuse' | 'report-unmanaged' }>): Promise<void> {
  const obs = d.observability;
  const reason = a.action === 'refuse' ? a.why : EVENT_REASON[a.action];
  obs?.logger.warn(a.action === 'refuse' ? 'pull not performed' : 'same-named object is not a copy: left alone', { mode: a.tool, kind: a.kind, namespace: a.namespace, name: a.name, event: reason, reason: a.reason });
  obs?.metrics.addMetric(a.action === 'refuse' ? 'PullsRefused' : 'UnmanagedObjects', MetricUnit.Count, 1);
  if (d.events === false) return;
  const h = createHash('sha256').update(`${a.tool}/${reason}/${a.kind}/${a.namespace}/${a.name}/${a.uid ?? ''}/${a.reason}`).digest('hex').slice(0, 12);
  const name = `${a.name.slice(0, 200)}.ripple-${h}`;
  const k = `${a.namespace}/${name}`;
  if (recorded.has(k)) return;
  if (recorded.size > 10_000) recorded.clear();
  const body = buildEvent(
    { apiVersion: 'v1', kind: a.kind, namespace: a.namespace, name: a.name, uid: a.uid },
    { reason, message: `ripple (${a.tool} annotations) did not ${a.action === 'refuse' ? 'copy into' : 'write'} ${a.kind} ${a.namespace}/${a.name}: ${a.reason}`, type: 'Warning', component: 'clone' },
  );
  body.metadata = { name, namespace: a.namespace };
  try {
    await d.kube.core.createNamespacedEvent({ namespace: a.namespace, body });
    recorded.add(k);
  } catch (err) {
    if (err instanceof ConflictError) recorded.add(k);
    else obs?.logger.warn('could not record Kubernetes Event', { kind: a.kind, namespace: a.namespace, name: a.name, reason: err instanceof Error ? err.message : String(err) });
  }
}

/** The plan only (`ripple explain --copies`): what reconcileCopyModes would do for `work`; reads, never writes. */
export async function planCopyModes(kube: Pick<Kube, 'core' | 'raw'>, modes: CopyModeDeps['modes'], work: AnnotationWork, now = () => new Date()): Promise<AnnotationAction[]> {
  const planner = new Planner(new Reader(kube), now);
  await planWork(planner, modes, work);
  return [...planner.planned.values()].map((p) => p.action);
}

/** Reconcile what `work` names in every mode that is on: plan, write the differences, report refusals. */
export async function reconcileCopyModes(d: CopyModeDeps, work: AnnotationWork): Promise<CopyModeSummary> {
  const summary: CopyModeSummary = { actions: Object.fromEntries(ANNOTATION_ACTIONS.map((a) => [a, 0])) as Record<AnnotationActionType, number>, writes: 0, conflicts: 0, failures: [] };
  const planner = new Planner(new Reader(d.kube), d.now ?? (() => new Date()));
  await planWork(planner, d.modes, work);
  const obs = d.observability;
  await pool([...planner.planned.values()], d.concurrency ?? 8, async (p) => {
    let a: AnnotationAction | null = p.action;
    for (let attempt = 1; a; attempt++) {
      if (!isAnnotationWrite(a)) {
        summary.actions[a.action]++;
        if (a.action === 'refuse' || a.action === 'report-unmanaged') await report(d, a);
        else obs?.logger.debug('copy mode: nothing to do', { mode: a.tool, kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason });
        return;
      }
      if (d.outOfTime?.()) {
        summary.failures.push({ kind: a.kind, namespace: a.namespace, name: a.name, action: a.action, retryable: true, message: 'not written in this invocation: its time budget is spent' });
        return;
      }
      try {
        summary.writes++;
        await write(d.kube, a);
        summary.actions[a.action]++;
        obs?.logger.debug('copy mode: written', { mode: a.tool, action: a.action, kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason });
        return;
      } catch (err) {
        if ((err instanceof ConflictError || (err instanceof NotFoundError && a.action === 'update')) && attempt < 4) {
          summary.conflicts++;
          a = await p.again();
          continue;
        }
        if (a.action === 'create' && (err instanceof NotFoundError || TERMINATING.test(err instanceof Error ? err.message : ''))) {
          summary.actions.skip++;
          return;
        }
        summary.failures.push({ kind: a.kind, namespace: a.namespace, name: a.name, action: a.action, retryable: err instanceof RetryableError || !(err instanceof PermanentError), message: err instanceof Error ? err.message : String(err) });
        return;
      }
    }
  });
  if (obs) {
    obs.metrics.addMetric('AnnotationCopiesCreated', MetricUnit.Count, summary.actions.create);
    obs.metrics.addMetric('AnnotationCopiesUpdated', MetricUnit.Count, summary.actions.update);
    obs.metrics.addMetric('AnnotationCopiesDeleted', MetricUnit.Count, summary.actions.delete);
  }
  return summary;
}
