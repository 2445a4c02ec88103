/**
 * The copy modes' decisions (pure): for a source, what its push annotations (Reflector auto, Replicator
 * replicate-to / replicate-to-matching) mean in every namespace; for a pull target (Reflector `reflects`,
 * Replicator `replicate-from`), what its source allows. Each action carries the reason, logged verbatim; nothing is
 * read or written here (reconcile.ts does both).
 *
 * What is copied, as each tool does:
 * - Reflector: `data` (and a ConfigMap's `binaryData`) and the source's labels; a new copy gets the source's Secret
 *   type. Marks: `reflects: ns/name`, `auto-reflects: "True"` on auto copies ("False" on a pull target),
 *   `reflected-version` (the source's resourceVersion), `reflected-at`.
 * - Replicator: the source's keys are set in the target, keys it replicated before and the source no longer has
 *   are removed, the target's own keys are kept (`replicated-keys` says which are the source's); a push copy gets
 *   the source's labels (none with `strip-labels: "true"`), its type, and its ownerReferences only with
 *   `keep-owner-references: "true"`. Marks: `replicated-at`, `replicated-from-version`, `replicated-keys`.
 *
 * Where ripple differs, on purpose (docs/migrating-from-reflector-and-replicator.md):
 * - Content is compared, not resourceVersions: a copy is written only when its data (or labels) differ from what the
 *   source says, so a metadata-only change of the source costs no write, and an edited copy is put back (Reflector
 *   skips a copy whose reflected-version matches; Replicator does so only with --sync-by-content).
 * - A push never overwrites an object that is not its copy (Replicator's push overwrites any same-named object):
 *   it is reported on that object (Warning Event UnmanagedObject) and left alone.
 * - Copies no longer wanted (source deleted, annotation narrowed, source namespace out of `pushFrom`) are deleted
 *   for both tools' push annotations (Replicator leaves a copy behind when a namespace leaves `replicate-to`).
 *   Outside the config's scope (either end) ripple neither creates nor deletes: a copy there is left as it is.
 */
import type { ObjectKind } from '../../../core/constants.ts';
import type { CopyModeConfig, CopyTool } from '../../../core/config/schema.ts';
import { globMatch, type NamespaceLike } from '../../../core/policy/select.ts';
import type { ClonedObject } from '../plan.ts';
import { md, ref, type AnnotationAction } from './actions.ts';
import { dotnetTrue, isReflectorAutoSource, isReplicatorPushSource, parseRef, pushRefused, REFLECTOR, reflectionRefused, reflectorSource, REPLICATOR, replicationRefused, ANN_REPLICATED_FROM, autoReflectionRefused } from './annotations.ts';
import { newReflection, newReplica, over, removeCopy, updateReflection, updateReplica } from './copies.ts';
import { namespaceOutOfScope, sourceOutOfScope } from './scope.ts';

export { ANNOTATION_ACTIONS, isAnnotationWrite, type AnnotationAction, type AnnotationActionType, type RefusalReason } from './actions.ts';

const nsName = (n: NamespaceLike) => n.metadata?.name ?? '';
const terminating = (n: NamespaceLike) => n.metadata?.deletionTimestamp != null || n.status?.phase === 'Terminating';

// ------------------------------------------------------------------------------------------------------------
// push: a source's copies in every namespace
// ------------------------------------------------------------------------------------------------------------

export interface PushInput {
  tool: CopyTool;
  cfg: CopyModeConfig;
  kind: ObjectKind;
  /** Where the source is (or was). */
  source: { namespace: string; name: string };
  /** The source as read now; null when it is gone. */
  object: ClonedObject | null;
  /** The source namespace's labels (for the config's namespace selector), when read. */
  sourceNamespaceLabels?: Record<string, string>;
  /** Namespaces to decide for (all, or the one an event named). */
  namespaces: NamespaceLike[];
  /** Objects of the source's kind and name in those namespaces. */
  existing: ClonedObject[];
  /** ISO time for reflected-at / replicated-at. */
  now: string;
}

/** Is `obj` this source's push copy for `tool`? (Reflector: its own marks; ripple's mark for Replicator, or Replicator's own copy.) */
export function isPushCopy(tool: CopyTool, kind: ObjectKind, source: { namespace: string; name: string }, obj: ClonedObject): boolean {
  const a = md(obj).annotations ?? {};
  if (tool === 'reflector') return dotnetTrue(a[REFLECTOR.autoReflects]) && a[REFLECTOR.reflects]?.trim() === ref(source);
  // Replicator's own push copies name no source (replicated-from-version only): adopting them would let any
  // same-named pusher take them over; ripple's mark names the source (docs/migrating-from-reflector-and-replicator.md)
  return a[ANN_REPLICATED_FROM] === `${kind}/${ref(source)}`;
}

/**
 * Why the source's push annotations put no copy in `ns` (null: a copy belongs there). `outOfScope`: the config's
 * scope (not the annotations) says no: ripple neither creates nor deletes there, whatever a copy there was made by.
 */
function pushWhyNot(input: PushInput, ns: NamespaceLike): { reason: string; outOfScope: boolean } | null {
  const { tool, cfg, object, source } = input;
  const name = nsName(ns);
  const scope = (reason: string | null) => (reason === null ? null : { reason, outOfScope: true });
  const no = (reason: string | null) => (reason === null ? null : { reason, outOfScope: false });
  const target = namespaceOutOfScope(tool, cfg, name, ns.metadata?.labels);
  if (target) return scope(target);
  if (!object) return no(`source ${input.kind} ${ref(source)} is gone`);
  const src = sourceOutOfScope(tool, cfg, source.namespace, md(object).labels, input.sourceNamespaceLabels, input.kind);
  if (src) return scope(src);
  if (object.type === 'kubernetes.io/service-account-token') return no('a Secret of type kubernetes.io/service-account-token is not pushed (the token controller owns it; the API server refuses a copy without its service account)');
  if (!cfg.pushFrom.some((g) => globMatch(g, source.namespace))) return no(`source namespace ${source.namespace} matches no ${tool}.pushFrom pattern: it may not push`);
  const a = md(object).annotations;
  if (tool === 'reflector') {
    if (!isReflectorAutoSource(a)) return no(`source is no auto-reflection source (${REFLECTOR.allowed} and ${REFLECTOR.autoEnabled} "true")`);
    return no(autoReflectionRefused(reflectorSource(a), name));
  }
  if (!isReplicatorPushSource(a)) return no(`source does not push (no ${REPLICATOR.replicateTo} or ${REPLICATOR.replicateToMatching}, or it is a ${REPLICATOR.replicateFrom} target)`);
  return no(pushRefused(a, source.namespace, name, ns.metadata?.labels));
}

/** The push plan of one source over the given namespaces (the source's own namespace is never a target). */
export function planPush(input: PushInput): AnnotationAction[] {
  const { tool, kind, source } = input;
  const byNs = new Map(input.existing.map((o) => [md(o).namespace ?? '', o]));
  const out: AnnotationAction[] = [];
  for (const ns of input.namespaces) {
    const namespace = nsName(ns);
    if (namespace === source.namespace) continue;
    const at = { tool, kind, namespace, name: source.name };
    const existing = byNs.get(namespace) ?? null;
    const ours = existing !== null && isPushCopy(tool, kind, source, existing);
    const whyNot = pushWhyNot(input, ns);
    if (whyNot !== null) {
      if (ours && !whyNot.outOfScope && !terminating(ns) && md(existing).deletionTimestamp == null) out.push(removeCopy(tool, at, existing!, `no longer wanted: ${whyNot.reason}`));
      else out.push({ ...at, action: 'skip', reason: whyNot.outOfScope && ours ? `${whyNot.reason}; the copy there is left as it is` : whyNot.reason });
      continue;
    }
    if (terminating(ns)) {
      out.push({ ...at, action: 'skip', reason: `namespace ${namespace} is terminating` });
      continue;
    }
    const object = input.object!;
    if (!existing) {
      out.push({ ...at, action: 'create', object: tool === 'reflector' ? newReflection(kind, source, object, namespace, input.now) : newReplica(kind, source, object, namespace, input.now), reason: 'copy missing' });
      continue;
    }
    if (!ours) {
      const a = md(existing).annotations ?? {};
      const pulls = isPullTarget(tool, existing) ? pullSourceOf(tool, existing) : null;
      if (pulls && pulls.namespace === source.namespace && pulls.name === source.name) {
        out.push({ ...at, action: 'skip', reason: `a pull target of ${ref(source)} is there: it gets the content by its pull` });
        continue;
      }
      const what =
        a[REFLECTOR.reflects] !== undefined || a[REPLICATOR.replicateFrom] !== undefined
          ? 'a pull target (it names its own source)'
          : tool === 'replicator' && a[REPLICATOR.replicatedFromVersion] !== undefined && a[ANN_REPLICATED_FROM] === undefined
            ? `a copy Replicator made, which names no source (annotate it ${ANN_REPLICATED_FROM}=${kind}/${ref(source)} to let ripple keep it, or delete it)`
            : 'not a copy of this source';
      out.push({ ...at, action: 'report-unmanaged', uid: md(existing).uid, reason: `${kind} ${namespace}/${source.name} exists and is ${what}; not overwritten` });
      continue;
    }
    if (md(existing).deletionTimestamp != null) {
      out.push({ ...at, action: 'skip', reason: 'copy is being deleted; it is re-created when the deletion is seen' });
      continue;
    }
    out.push(tool === 'reflector' ? updateReflection(at, source, object, existing, true, input.now) : updateReplica(at, source, object, existing, input.now, true));
  }
  return out;
}

/** Reflector deletes its auto copy; Replicator deletes a copy holding only replicated keys, else removes those keys. */
// ------------------------------------------------------------------------------------------------------------
// pull: one target naming its source
// ------------------------------------------------------------------------------------------------------------

export interface PullInput {
  tool: CopyTool;
  cfg: CopyModeConfig;
  kind: ObjectKind;
  /** The target as read now (it carries `reflects` or `replicate-from`). */
  target: ClonedObject;
  targetNamespaceLabels?: Record<string, string>;
  /** The source it names, as read now (null: not found). */
  source: ClonedObject | null;
  sourceNamespaceLabels?: Record<string, string>;
  now: string;
}

/** The source a pull target names, or null when it names none (or the annotation is not `namespace/name`). */
export function pullSourceOf(tool: CopyTool, target: ClonedObject): { namespace: string; name: string } | null {
  const a = md(target).annotations ?? {};
  if (tool === 'reflector') return dotnetTrue(a[REFLECTOR.autoReflects]) ? null : parseRef(a[REFLECTOR.reflects], 'reflector');
  return parseRef(a[REPLICATOR.replicateFrom], 'replicator');
}

/** Does the target ask to pull for this tool at all (the annotation is there, well formed or not)? */
export function isPullTarget(tool: CopyTool, target: ClonedObject): boolean {
  const a = md(target).annotations ?? {};
  if (tool === 'reflector') return a[REFLECTOR.reflects] !== undefined && !dotnetTrue(a[REFLECTOR.autoReflects]);
  return a[REPLICATOR.replicateFrom] !== undefined;
}

/** What a pull target gets: its source's content when the source allows its namespace; a refusal reported otherwise. */
export function planPull(input: PullInput): AnnotationAction {
  const { tool, cfg, kind, target } = input;
  const namespace = md(target).namespace ?? '';
  const name = md(target).name ?? '';
  const at = { tool, kind, namespace, name };
  const uid = md(target).uid;
  const annotation = tool === 'reflector' ? REFLECTOR.reflects : REPLICATOR.replicateFrom;
  const scope = namespaceOutOfScope(tool, cfg, namespace, input.targetNamespaceLabels);
  if (scope) return { ...at, action: 'skip', reason: scope };
  const source = pullSourceOf(tool, target);
  if (!source) {
    // Reflector: not a reflection at all; Replicator: "Invalid source location" (logged, nothing done)
    const raw = md(target).annotations?.[annotation];
    return { ...at, action: 'refuse', uid, why: 'PullInvalid', reason: `${annotation} "${raw}" is not "namespace/name"; nothing copied` };
  }
  if (md(target).deletionTimestamp != null) return { ...at, action: 'skip', reason: 'target is being deleted' };
  if (source.namespace === namespace && source.name === name) return { ...at, action: 'skip', reason: 'names itself' };
  const src = input.source;
  if (!src) {
    const a = md(target).annotations ?? {};
    if (tool === 'replicator' && a[REPLICATOR.replicatedFromVersion] !== undefined && (target.data !== undefined || target.binaryData !== undefined)) {
      // PatchDeleteDependent: the source was deleted: the target's data is removed
      const object = over(target, { data: {}, ...(kind === 'ConfigMap' ? { binaryData: {} } : {}), annotations: { ...a } });
      delete object.data;
      delete object.binaryData;
      return { ...at, action: 'update', object, differs: ['data'], reason: `source ${kind} ${ref(source)} is gone: the replicated data is removed (as Replicator does)` };
    }
    const left = tool === 'reflector' ? 'left as it is (as Reflector does)' : 'nothing copied';
    return { ...at, action: 'refuse', uid, why: 'PullSourceMissing', reason: `source ${kind} ${ref(source)} (${annotation}) not found; ${left}` };
  }
  const srcScope = sourceOutOfScope(tool, cfg, source.namespace, md(src).labels, input.sourceNamespaceLabels, kind);
  if (srcScope) return { ...at, action: 'refuse', uid, why: 'PullRefused', reason: `source ${kind} ${ref(source)} is outside the ${tool} mode's scope (${srcScope}); nothing copied` };
  const sa = md(src).annotations;
  const refused = tool === 'reflector' ? reflectionRefused(reflectorSource(sa), namespace) : replicationRefused(sa, namespace);
  if (refused) return { ...at, action: 'refuse', uid, why: 'PullRefused', reason: `source ${kind} ${ref(source)} does not allow namespace ${namespace}: ${refused}; nothing copied` };
  return tool === 'reflector' ? updateReflection(at, source, src, target, false, input.now) : updateReplica(at, source, src, target, input.now, false);
}
