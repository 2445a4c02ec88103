/**
 * Clone planning: pure. Given a policy, its source (or null when absent), the namespaces in scope and the
 * same-named objects found in them, say what to do with each namespace — nothing is read or written here.
 *
 * - A namespace that should hold a copy (policy/select.ts `namespaceSkipReason` is null) and has none: create.
 * - Our copy (label app.kubernetes.io/managed-by=ripple AND annotation ripple.dev/source naming this source)
 *   that differs in data, type, immutable, labels or annotations from the desired copy: ONE write (update,
 *   a full replace at the copy's resourceVersion, so edits to labels/annotations are reverted too); an
 *   up-to-date copy: no write.
 * - Immutable copies whose content must change: delete + re-create (`replace-immutable`) only when
 *   `sync.replaceImmutable` is true, otherwise `report-immutable`. A Secret type change is always a replace
 *   (the API server refuses to change `type`).
 * - A same-named object ripple does not manage: `report-unmanaged`, never written.
 * - Our copy in a namespace that no longer should hold one: delete. Source absent: copies deleted or kept per
 *   `sync.onSourceDelete`. Terminating namespaces: skipped.
 * - `sync.mode: once`: a namespace without a copy gets one only when the run may create (`CloneInput.mayCreate`: a
 *   namespace created or selected, the policy deployed); a copy, once there, is never written again (edits kept,
 *   not deleted with the source or when the namespace stops being selected).
 * The source object itself is never an action target (a copy next to it has another name: select.ts).
 */
import {
  ANN_METADATA_FINGERPRINT,
  ANN_POLICY,
  ANN_SOURCE,
  ANN_SOURCE_FINGERPRINT,
  ANNOTATION_PREFIX,
  LABEL_MANAGED_BY,
  LABEL_SET,
  MANAGED_BY_VALUE,
  SENSITIVE_ANNOTATIONS,
  type ObjectKind,
} from '../../core/constants.ts';
import { fingerprint, metadataFingerprint } from '../../core/fingerprint.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { globMatch, namespaceSkipReason, setOf, targetName, type NamespaceLike } from '../../core/policy/select.ts';


/** A Secret or ConfigMap as the API returns it (plain JSON). */
export interface ClonedObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: unknown;
    finalizers?: string[];
    ownerReferences?: unknown[];
  };
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

/** Parts of a copy that can differ from the desired copy (names only, never values). */
export type Part = 'data' | 'type' | 'immutable' | 'labels' | 'annotations';

interface Target {
  kind: ObjectKind;
  namespace: string;
  name: string;
  reason: string;
}
export type CloneAction =
  | (Target & { action: 'create'; object: ClonedObject })
  | (Target & { action: 'update'; object: ClonedObject; differs: Part[] })
  | (Target & { action: 'replace-immutable'; object: ClonedObject; differs: Part[]; uid: string })
  | (Target & { action: 'delete'; uid: string; resourceVersion: string })
  | (Target & { action: 'skip' })
  | (Target & { action: 'report-unmanaged'; uid?: string })
  | (Target & { action: 'report-immutable'; uid?: string; differs: Part[] });
export type ActionType = CloneAction['action'];

export interface CloneInput {
  policy: RipplePolicy;
  source: ClonedObject | null;
  /** Namespaces in scope (all of them for a full sync, one for a namespace or copy event). */
  namespaces: NamespaceLike[];
  /** Objects of the source's kind named like the target, in the namespaces in scope (managed or not). */
  copies: ClonedObject[];
  fingerprintKey: string | Buffer;
  /**
   * The run was triggered by an update of a copy that names ripple as its last field manager (triggers.ts
   * `WorkItem.ownWrite`). A copy that then differs from the desired copy only by labels or annotations *added*
   * (every desired one present with its value, content in sync) is skipped: a user's addition would name the
   * user as manager, so these were added to ripple's own write by admission, and rewriting them away would loop
   * (write, mutated again, drifted, write...). The scheduled reconcile still rewrites it, as before.
   */
  ownWrite?: boolean;
  /**
   * `sync.mode: once` only: whether this run may make a missing copy (a namespace was created or relabelled, or the
   * policy deployed). Other runs (resyncs, source and copy events) leave once-mode namespaces as they are.
   */
  mayCreate?: boolean;
}

/** `Secret/team-a/blogsecret`: the value of ripple.dev/source on copies. */
export function sourceRef(policy: RipplePolicy): string {
  const s = policy.spec.source;
  return `${s.kind}/${s.namespace}/${s.name}`;
}

function isEmpty(m: Record<string, string> | undefined | null): boolean {
  return !m || Object.keys(m).length === 0;
}

function sameMap(a: Record<string, string> | undefined | null, b: Record<string, string> | undefined | null): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && (a ?? {})[k] === (b ?? {})[k]);
}

function pick(m: Record<string, string> | undefined, globs: readonly string[], keep: (k: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (keep(k) && globs.some((g) => globMatch(g, k))) out[k] = v;
  }
  return out;
}

const SENSITIVE = new Set<string>(SENSITIVE_ANNOTATIONS);

/**
 * Why ripple must not write this same-named object for this policy, or null when it is our copy. Ours = it
 * names this source in ripple.dev/source, or carries the managed-by=ripple label and names no other source
 * (so a copy whose label OR annotation was edited away is still recognised, and reverted). An object with
 * neither mark is never ours.
 */
export function ownershipProblem(policy: RipplePolicy, obj: ClonedObject): string | null {
  const where = `${obj.kind ?? policy.spec.source.kind} ${obj.metadata?.namespace}/${obj.metadata?.name}`;
  const label = obj.metadata?.labels?.[LABEL_MANAGED_BY];
  const src = obj.metadata?.annotations?.[ANN_SOURCE];
  if (src === sourceRef(policy)) return null;
  if (src !== undefined) {
    return `${where}: is managed by ripple for another source (${ANN_SOURCE} is "${src}", expected "${sourceRef(policy)}")`;
  }
  if (label === MANAGED_BY_VALUE) return null;
  return `${where}: exists and is not owned by ripple (label ${LABEL_MANAGED_BY} ${label === undefined ? 'missing' : `is "${label}"`})`;
}

/**
 * The copy ripple wants in `namespace`: content of the source, propagated metadata, ripple's marks
 * (ripple.dev/source, ripple.dev/source-fingerprint, ripple.dev/policy, ripple.dev/metadata-fingerprint).
 */
export function desiredCopy(policy: RipplePolicy, source: ClonedObject, namespace: string, fingerprintKey: string | Buffer): ClonedObject {
  const kind = policy.spec.source.kind;
  const propagate = policy.spec.sync?.propagate ?? { labels: ['*'], annotations: [] };
  const labels = pick(source.metadata?.labels, propagate.labels, (k) => k !== LABEL_MANAGED_BY && k !== LABEL_SET);
  labels[LABEL_MANAGED_BY] = MANAGED_BY_VALUE;
  // a set's copies are found by this label (functions/clone/sets.ts), whatever their names
  const set = setOf(policy);
  if (set) labels[LABEL_SET] = set.metadata.name;
  const annotations = pick(source.metadata?.annotations, propagate.annotations, (k) => !SENSITIVE.has(k) && !k.startsWith(ANNOTATION_PREFIX));
  annotations[ANN_SOURCE] = sourceRef(policy);
  annotations[ANN_SOURCE_FINGERPRINT] = fingerprint(fingerprintKey, { kind, type: source.type, data: source.data, binaryData: source.binaryData });
  annotations[ANN_POLICY] = policy.metadata.name;
  // Last, over the final labels and annotations: the forwarder recomputes it from the copy it sees (drifted).
  annotations[ANN_METADATA_FINGERPRINT] = metadataFingerprint(labels, annotations);
  const obj: ClonedObject = { apiVersion: 'v1', kind, metadata: { name: targetName(policy), namespace, labels, annotations } };
  if (kind === 'Secret') obj.type = source.type ?? 'Opaque';
  if (!isEmpty(source.data)) obj.data = { ...source.data };
  if (kind === 'ConfigMap' && !isEmpty(source.binaryData)) obj.binaryData = { ...source.binaryData };
  if (source.immutable) obj.immutable = true;
  return obj;
}

/** Which parts of `actual` differ from `desired` (empty = up to date). */
export function differingParts(desired: ClonedObject, actual: ClonedObject): Part[] {
  const parts: Part[] = [];
  if (!sameMap(desired.data, actual.data) || !sameMap(desired.binaryData, actual.binaryData)) parts.push('data');
  if (desired.kind === 'Secret' && (desired.type ?? 'Opaque') !== (actual.type ?? 'Opaque')) parts.push('type');
  if ((desired.immutable ?? false) !== (actual.immutable ?? false)) parts.push('immutable');
  if (!sameMap(desired.metadata?.labels, actual.metadata?.labels)) parts.push('labels');
  if (!sameMap(desired.metadata?.annotations, actual.metadata?.annotations)) parts.push('annotations');
  return parts;
}

function contains(actual: Record<string, string> | undefined, wanted: Record<string, string> | undefined): boolean {
  return Object.entries(wanted ?? {}).every(([k, v]) => actual?.[k] === v);
}

/** `actual` differs from `desired` only by labels/annotations it has in addition (none removed or changed). */
function onlyAdditions(desired: ClonedObject, actual: ClonedObject, differs: Part[]): boolean {
  return (
    differs.every((p) => p === 'labels' || p === 'annotations') &&
    contains(actual.metadata?.labels, desired.metadata?.labels) &&
    contains(actual.metadata?.annotations, desired.metadata?.annotations)
  );
}

/** Named checks on the source itself: a reason it cannot be cloned, or null. */
export function sourceProblem(policy: RipplePolicy, source: ClonedObject): string | null {
  if (policy.spec.source.kind === 'Secret' && source.type === 'kubernetes.io/service-account-token') {
    return `source ${sourceRef(policy)}: Secret type kubernetes.io/service-account-token cannot be cloned (the token controller owns it)`;
  }
  return null;
}

/** `sync.mode: once`: a copy where none is, when the run may create; nothing else, ever. */
function onceForNamespace(input: CloneInput, at: Omit<Target, 'reason'>, skipWhy: string | null, copy: ClonedObject | null): CloneAction {
  const { policy, source } = input;
  if (skipWhy !== null) return { ...at, action: 'skip', reason: skipWhy };
  if (copy) {
    const problem = ownershipProblem(policy, copy);
    if (problem) return { ...at, action: 'report-unmanaged', uid: copy.metadata?.uid, reason: problem };
    return { ...at, action: 'skip', reason: 'sync.mode once: the copy was made; it is the namespace\'s to keep or change' };
  }
  if (!source) return { ...at, action: 'skip', reason: `source ${sourceRef(policy)} is absent` };
  if (!input.mayCreate) return { ...at, action: 'skip', reason: 'sync.mode once: copies are made when a namespace is created or selected, or the policy deployed; not re-created' };
  return { ...at, action: 'create', object: desiredCopy(policy, source, at.namespace, input.fingerprintKey), reason: 'copy missing (sync.mode once: made once)' };
}

function forNamespace(input: CloneInput, ns: NamespaceLike, copy: ClonedObject | null): CloneAction {
  const { policy, source, fingerprintKey } = input;
  const kind = policy.spec.source.kind;
  const namespace = ns.metadata?.name ?? '';
  const name = targetName(policy);
  const at = { kind, namespace, name };
  const skipWhy = namespaceSkipReason(policy, ns);
  if (policy.spec.sync?.mode === 'once') return onceForNamespace(input, at, skipWhy, copy);
  const owned = copy ? ownershipProblem(policy, copy) === null : false;

  if (skipWhy !== null) {
    const terminating = ns.metadata?.deletionTimestamp != null || ns.status?.phase === 'Terminating';
    if (copy && owned && !terminating && namespace !== policy.spec.source.namespace) {
      return { ...at, action: 'delete', uid: copy.metadata?.uid ?? '', resourceVersion: copy.metadata?.resourceVersion ?? '', reason: `no longer selected: ${skipWhy}` };
    }
    return { ...at, action: 'skip', reason: skipWhy };
  }
  if (!source) {
    if (!copy) return { ...at, action: 'skip', reason: `source ${sourceRef(policy)} is absent` };
    if (!owned) return { ...at, action: 'skip', reason: `source ${sourceRef(policy)} is absent; ${ownershipProblem(policy, copy)}` };
    if ((policy.spec.sync?.onSourceDelete ?? 'delete') === 'keep') {
      return { ...at, action: 'skip', reason: `source ${sourceRef(policy)} is absent; copy kept (sync.onSourceDelete: keep)` };
    }
    return { ...at, action: 'delete', uid: copy.metadata?.uid ?? '', resourceVersion: copy.metadata?.resourceVersion ?? '', reason: `source ${sourceRef(policy)} is absent (sync.onSourceDelete: delete)` };
  }
  const desired = desiredCopy(policy, source, namespace, fingerprintKey);
  if (!copy) return { ...at, action: 'create', object: desired, reason: 'copy missing' };
  if (!owned) return { ...at, action: 'report-unmanaged', uid: copy.metadata?.uid, reason: ownershipProblem(policy, copy)! };
  if (copy.metadata?.deletionTimestamp != null) return { ...at, action: 'skip', reason: 'copy is being deleted; it is re-created when the deletion is seen' };
  const differs = differingParts(desired, copy);
  if (differs.length === 0) return { ...at, action: 'skip', reason: 'up to date' };
  if (input.ownWrite && onlyAdditions(desired, copy, differs)) {
    return { ...at, action: 'skip', reason: `differs only by ${differs.join(' and ')} added to ripple's own write (admission mutation?); left to the scheduled reconcile` };
  }
  const uid = copy.metadata?.uid ?? '';
  if (differs.includes('type')) {
    return { ...at, action: 'replace-immutable', object: desired, differs, uid, reason: `differs in ${differs.join(', ')}; Secret type cannot change in place` };
  }
  const contentChange = differs.includes('data') || (differs.includes('immutable') && copy.immutable === true);
  if (copy.immutable === true && contentChange) {
    if (policy.spec.sync?.replaceImmutable) {
      return { ...at, action: 'replace-immutable', object: desired, differs, uid, reason: `immutable copy differs in ${differs.join(', ')}; replaced (sync.replaceImmutable: true)` };
    }
    return {
      ...at,
      action: 'report-immutable',
      uid: copy.metadata?.uid,
      differs,
      reason: `${kind} ${namespace}/${name}: immutable copy differs in ${differs.join(', ')}; not replaced (set sync.replaceImmutable: true to delete and re-create it)`,
    };
  }
  const object: ClonedObject = {
    ...desired,
    metadata: {
      ...desired.metadata,
      resourceVersion: copy.metadata?.resourceVersion,
      ...(copy.metadata?.finalizers?.length ? { finalizers: copy.metadata.finalizers } : {}),
      ...(copy.metadata?.ownerReferences?.length ? { ownerReferences: copy.metadata.ownerReferences } : {}),
    },
  };
  return { ...at, action: 'update', object, differs, reason: `differs in ${differs.join(', ')}` };
}

/** One action per namespace in scope. */
export function planClone(input: CloneInput): CloneAction[] {
  const { policy } = input;
  if (!policy.spec.sync) return [];
  const name = targetName(policy);
  const byNamespace = new Map<string, ClonedObject>();
  for (const c of input.copies) {
    if (c.metadata?.name === name && c.metadata.namespace) byNamespace.set(c.metadata.namespace, c);
  }
  if (input.source) {
    const problem = sourceProblem(policy, input.source);
    if (problem) {
      return input.namespaces.map((ns) => ({ kind: policy.spec.source.kind, namespace: ns.metadata?.name ?? '', name, action: 'skip' as const, reason: problem }));
    }
  }
  return input.namespaces.map((ns) => forNamespace(input, ns, byNamespace.get(ns.metadata?.name ?? '') ?? null));
}

/** Actions that write. */
export function isWrite(a: CloneAction): boolean {
  return a.action === 'create' || a.action === 'update' || a.action === 'delete' || a.action === 'replace-immutable';
}

/** A fresh count per action type, all zero. */
export function noActions(): Record<ActionType, number> {
  return { create: 0, update: 0, 'replace-immutable': 0, delete: 0, skip: 0, 'report-unmanaged': 0, 'report-immutable': 0 };
}
