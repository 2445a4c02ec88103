/**
 * Pure diffing: previous state (packed, see state.ts) + the object now → the events to send, or none.
 * No I/O, no clock (the context carries `now`), no EventBridge. The watch layer feeds it; the send layer
 * ships what it returns.
 *
 * What leaves this module is identity and hints only: Secret/ConfigMap `data`, `binaryData`, `stringData` and
 * non-allow-listed annotations (including kubectl's last-applied-configuration) are read for the keyed
 * fingerprint and hashes, and never copied into a detail.
 */
import type { KeyObject } from 'node:crypto';
import {
  ANN_METADATA_FINGERPRINT,
  ANN_SOURCE,
  ANN_SOURCE_FINGERPRINT,
  DETAIL_TYPES,
  RIPPLE_NAMESPACE,
  SENSITIVE_ANNOTATIONS,
  SNAPSHOT_PREFIX,
} from '../core/constants.ts';
import { fingerprint, metadataFingerprint } from '../core/fingerprint.ts';
import type { ChangePart, ObjectChangeDetail, ObjectChangeEvent } from '../events/schema.ts';
import type { KindSpec } from './kinds.ts';
import { objectKey, splitKey } from './kinds.ts';
import type { ObjState, Store } from './state.ts';
import { mapHash, shortHash } from './state.ts';

export { Store } from './state.ts';

/** Annotation keys (exact, or prefix ending in `*`) whose values may travel in events. */
export const DEFAULT_ANNOTATION_ALLOW_LIST = [
  'ripple.dev/*',
  'reloader.stakater.com/*',
  'secret.reloader.stakater.com/*',
  'configmap.reloader.stakater.com/*',
  // the copy modes (RippleConfig reflector/replicator): namespace lists and `namespace/name` references, no data
  'reflector.v1.k8s.emberstack.com/*',
  'replicator.v1.mittwald.de/*',
] as const;

export interface DiffContext {
  cluster: string;
  /** HMAC key for fingerprints (the per-cluster key Secret's value); a KeyObject is much faster. */
  key: Buffer | string | KeyObject;
  /** Patterns as in DEFAULT_ANNOTATION_ALLOW_LIST. Sensitive annotations are dropped even if listed. */
  annotationAllowList: readonly string[];
  /** ISO timestamp for observedAt. */
  now: () => string;
}

export type ObjectDetailType = ObjectChangeEvent['detail-type'];
export interface Emission {
  detailType: ObjectDetailType;
  detail: ObjectChangeDetail;
}

const SENSITIVE = new Set<string>(SENSITIVE_ANNOTATIONS);

export function annotationAllowed(key: string, allow: readonly string[]): boolean {
  if (SENSITIVE.has(key)) return false;
  for (const p of allow) {
    if (p.endsWith('*') ? key.startsWith(p.slice(0, -1)) : key === p) return true;
  }
  return false;
}

export function allowedAnnotations(ann: Record<string, string> | null | undefined, allow: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(ann ?? {})) if (annotationAllowed(k, allow)) out[k] = v;
  return out;
}

interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}

export function owners(obj: any): OwnerRef[] {
  const refs: any[] = obj?.metadata?.ownerReferences ?? [];
  return refs.map((r) => ({
    apiVersion: String(r.apiVersion),
    kind: String(r.kind),
    name: String(r.name),
    uid: String(r.uid),
    ...(typeof r.controller === 'boolean' ? { controller: r.controller } : {}),
  }));
}

/** Last writer according to managedFields (latest `time`; the later entry wins a tie). */
export function lastManager(obj: any): string | undefined {
  const mf: any[] = obj?.metadata?.managedFields ?? [];
  let best: any;
  for (const e of mf) {
    if (!e?.manager) continue;
    if (!best || String(e.time ?? '') >= String(best.time ?? '')) best = e;
  }
  return best?.manager;
}

function isTerminating(spec: KindSpec, obj: any): boolean {
  return spec.kind === 'Namespace' && (obj?.status?.phase === 'Terminating' || !!obj?.metadata?.deletionTimestamp);
}

const EVERY_ANNOTATION = ['*'] as const;

/**
 * Hash of the annotations that may travel (allow-listed). For a copy, of all its annotations but the sensitive
 * ones: a copy's annotations that never travel (a propagated one outside the allow-list) are still part of what
 * ripple wrote, so an edit of only those is a change (`changes: ["annotations"]`, judged by `drifted`), not a
 * dropped no-op. Only the hash is kept, in the same 48-bit slot: the state does not grow.
 */
function annotationsHash(md: any, ctx: DiffContext): string {
  return mapHash(allowedAnnotations(md?.annotations, isCopy(md) ? EVERY_ANNOTATION : ctx.annotationAllowList));
}

/** What the forwarder remembers about `obj` (computes the keyed fingerprint). */
export function summarize(spec: KindSpec, obj: any, ctx: DiffContext): ObjState {
  const md = obj.metadata ?? {};
  return {
    uid: String(md.uid ?? ''),
    rv: String(md.resourceVersion ?? ''),
    fp: fingerprint(ctx.key, { kind: spec.kind, type: obj.type, data: obj.data, binaryData: obj.binaryData, metadata: md, status: obj.status }),
    labelsHash: mapHash(md.labels),
    annotationsHash: annotationsHash(md, ctx),
    ownersHash: shortHash(JSON.stringify(owners(obj))),
    immutable: obj.immutable === true,
    terminating: isTerminating(spec, obj),
  };
}

/** Which parts differ; [] means a no-op (e.g. managedFields or resourceVersion churn only). */
export function changedParts(spec: KindSpec, prev: ObjState, next: ObjState): ChangePart[] {
  const parts: ChangePart[] = [];
  const labels = prev.labelsHash !== next.labelsHash;
  if (spec.kind === 'Namespace') {
    // A Namespace's content is its labels and phase.
    if (labels) parts.push('labels');
    if (prev.terminating !== next.terminating || (prev.fp !== next.fp && !labels)) parts.push('status');
  } else {
    if (prev.fp !== next.fp) parts.push('data');
    if (labels) parts.push('labels');
    if (prev.immutable !== next.immutable) parts.push('immutable');
  }
  if (prev.annotationsHash !== next.annotationsHash) parts.push('annotations');
  if (prev.ownersHash !== next.ownersHash) parts.push('ownerReferences');
  return parts;
}

/**
 * Whether a copy differs from what ripple wrote into it. Two checks, both against annotations the clone handler
 * records with every write (functions/clone/plan.ts desiredCopy), both computed from the object in hand:
 * - content: the object's own keyed fingerprint (`st.fp`, already computed) against `ripple.dev/source-fingerprint`
 *   (the source's fingerprint, same key and same content function);
 * - metadata: `metadataFingerprint` of the object's labels and annotations (that annotation itself left out)
 *   against `ripple.dev/metadata-fingerprint`.
 * A copy in sync has both equal; ripple's own writes always do. A copy (it carries `ripple.dev/source`) that
 * lacks either annotation has drifted too: ripple never writes one without them. Removing `ripple.dev/source`
 * itself changes the metadata fingerprint, so an object still carrying the metadata fingerprint is checked as
 * well. undefined for objects that are not copies (none of the three annotations), for protect's last-known-good
 * snapshots (`ripple-system/ripple-snapshot-*`: they name their protected object in `ripple.dev/source` but are
 * not copies), and for Namespaces (their fingerprint is labels + phase, not a copy's content). Only the boolean
 * leaves this function: the state table keeps nothing more for it.
 *
 * Why: managedFields does not record who removed a field, so a user's edit that only removes something from a
 * copy (a data key, a propagated label or annotation, `ripple.dev/policy`) still reports `manager: ripple`;
 * `drifted: true` lets the clone pattern route it anyway.
 */
export function drifted(spec: KindSpec, obj: any, st: ObjState): boolean | undefined {
  if (spec.kind === 'Namespace') return undefined;
  const md = obj?.metadata;
  const annotations = md?.annotations;
  const named = typeof annotations?.[ANN_SOURCE] === 'string';
  const recordedContent: unknown = annotations?.[ANN_SOURCE_FINGERPRINT];
  const recordedMetadata: unknown = annotations?.[ANN_METADATA_FINGERPRINT];
  if (!named && typeof recordedContent !== 'string' && typeof recordedMetadata !== 'string') return undefined;
  if (isSnapshot(md)) return undefined;
  if (typeof recordedContent === 'string' ? recordedContent !== st.fp : named) return true;
  if (typeof recordedMetadata !== 'string') return named;
  return recordedMetadata !== metadataFingerprint(md?.labels, annotations);
}

/** protect's last-known-good snapshot Secrets (functions/protect/snapshot.ts): ripple's, but not copies. */
function isSnapshot(md: any): boolean {
  return md?.namespace === RIPPLE_NAMESPACE && typeof md?.name === 'string' && md.name.startsWith(SNAPSHOT_PREFIX);
}

/** Carries a copy's marks (ripple.dev/source or ripple.dev/metadata-fingerprint) and is not a snapshot. */
function isCopy(md: any): boolean {
  const a = md?.annotations;
  return (typeof a?.[ANN_SOURCE] === 'string' || typeof a?.[ANN_METADATA_FINGERPRINT] === 'string') && !isSnapshot(md);
}

/** A Created/Updated/Deleted detail from the object in hand. `drifted` is given for Created/Updated only. */
export function detailFromObject(spec: KindSpec, obj: any, st: ObjState, ctx: DiffContext, extra: { changes: ChangePart[]; previousFingerprint?: string; drifted?: boolean }): ObjectChangeDetail {
  const md = obj.metadata ?? {};
  const manager = lastManager(obj);
  return {
    cluster: ctx.cluster,
    apiVersion: spec.apiVersion,
    kind: spec.kind,
    ...(spec.namespaced && md.namespace ? { namespace: String(md.namespace) } : {}),
    name: String(md.name),
    uid: st.uid,
    resourceVersion: st.rv,
    labels: { ...(md.labels ?? {}) },
    annotations: allowedAnnotations(md.annotations, ctx.annotationAllowList),
    ownerReferences: owners(obj),
    fingerprint: st.fp,
    ...(extra.previousFingerprint ? { previousFingerprint: extra.previousFingerprint } : {}),
    changes: extra.changes,
    ...(spec.kind === 'Secret' && typeof obj.type === 'string' ? { type: obj.type } : {}),
    ...(manager ? { manager } : {}),
    ...(extra.drifted !== undefined ? { drifted: extra.drifted } : {}),
    observedAt: ctx.now(),
  };
}

/** A Deleted detail from memory alone (relist found the object gone): identity and last fingerprint. */
export function detailFromState(spec: KindSpec, key: string, st: ObjState, ctx: DiffContext): ObjectChangeDetail {
  const { namespace, name } = splitKey(key);
  return {
    cluster: ctx.cluster,
    apiVersion: spec.apiVersion,
    kind: spec.kind,
    ...(spec.namespaced && namespace ? { namespace } : {}),
    name,
    uid: st.uid,
    resourceVersion: st.rv,
    labels: {},
    annotations: {},
    ownerReferences: [],
    fingerprint: st.fp,
    changes: [],
    observedAt: ctx.now(),
  };
}

export interface ObserveResult {
  emissions: Emission[];
  /** Why nothing was emitted (for metrics/logs), when nothing was. */
  noop?: 'same-resource-version' | 'no-change';
}

/**
 * An object seen alive (watch ADDED/MODIFIED, or a list item): update the store, return what to send.
 * `silent` records state without emitting (the initial list).
 */
export function observe(store: Store, spec: KindSpec, obj: any, ctx: DiffContext, silent = false): ObserveResult {
  const key = objectKey(obj);
  const uid = String(obj.metadata?.uid ?? '');
  const rv = String(obj.metadata?.resourceVersion ?? '');
  if (rv !== '') {
    const known = store.identity(key);
    if (known && known.rv === rv && known.uid === uid) return { emissions: [], noop: 'same-resource-version' };
  }
  const prev = store.get(key);
  const next = summarize(spec, obj, ctx);
  store.set(key, next);
  if (silent) return { emissions: [] };
  if (prev === undefined) {
    return { emissions: [{ detailType: DETAIL_TYPES.created, detail: detailFromObject(spec, obj, next, ctx, { changes: [], drifted: drifted(spec, obj, next) }) }] };
  }
  if (prev.uid !== next.uid) {
    // Deleted and re-created while we were not looking (e.g. across a 410 gap).
    return {
      emissions: [
        { detailType: DETAIL_TYPES.deleted, detail: detailFromState(spec, key, prev, ctx) },
        { detailType: DETAIL_TYPES.created, detail: detailFromObject(spec, obj, next, ctx, { changes: [], drifted: drifted(spec, obj, next) }) },
      ],
    };
  }
  const changes = changedParts(spec, prev, next);
  if (changes.length === 0) return { emissions: [], noop: 'no-change' };
  return {
    emissions: [
      {
        detailType: DETAIL_TYPES.updated,
        detail: detailFromObject(spec, obj, next, ctx, { changes, previousFingerprint: prev.fp !== next.fp ? prev.fp : undefined, drifted: drifted(spec, obj, next) }),
      },
    ],
  };
}

/** Watch DELETED: forget it, say so. */
export function observeDeleted(store: Store, spec: KindSpec, obj: any, ctx: DiffContext): ObserveResult {
  const key = objectKey(obj);
  store.delete(key);
  const st = summarize(spec, obj, ctx);
  return { emissions: [{ detailType: DETAIL_TYPES.deleted, detail: detailFromObject(spec, obj, st, ctx, { changes: [] }) }] };
}

/**
 * A relist (start-up, or after 410 Gone): feed every listed item to `item`, then call `end` to synthesize
 * Deleted for what the list no longer holds. Items whose resourceVersion did not move cost no hashing.
 */
export class Relist {
  private readonly store: Store;
  private readonly spec: KindSpec;
  private readonly ctx: DiffContext;
  private readonly silent: boolean;

  constructor(store: Store, spec: KindSpec, ctx: DiffContext, silent: boolean) {
    this.store = store;
    this.spec = spec;
    this.ctx = ctx;
    this.silent = silent;
    // A relist that was cut short (watch restarted mid-list) must not leave marks that hide deletions.
    this.store.clearMarks();
  }

  item(obj: any): ObserveResult {
    const r = observe(this.store, this.spec, obj, this.ctx, this.silent);
    this.store.mark(objectKey(obj));
    return r;
  }

  end(): Emission[] {
    const gone = this.store.sweep();
    if (this.silent) return [];
    return gone.map(({ key, state }) => ({ detailType: DETAIL_TYPES.deleted, detail: detailFromState(this.spec, key, state, this.ctx) }));
  }
}
