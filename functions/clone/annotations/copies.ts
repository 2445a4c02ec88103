/**
 * What a copy looks like, per tool (pure): a new copy, and an existing copy or pull target brought to its source,
 * with the tool's own marks; a write only when something differs (plan.ts decides where). See plan.ts for what is
 * copied and where ripple differs from the tools.
 */
import type { ObjectKind } from '../../../core/constants.ts';
import type { CopyTool } from '../../../core/config/schema.ts';
import type { ClonedObject } from '../plan.ts';
import { md, ref, type AnnotationAction, type At } from './actions.ts';
import { ANN_REPLICATED_FROM, goBool, LABEL_PULLS_FROM, pullLabelValue, REFLECTOR, REPLICATOR } from './annotations.ts';

function sameMap(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && a![k] === b![k]);
}

/** Names of the parts that differ (data, binaryData, labels, type, ownerReferences, annotations:<key>): never values. */
function differs(desired: ClonedObject, actual: ClonedObject, annotationKeys: readonly string[], opts: { type?: boolean; owners?: boolean } = {}): string[] {
  const out: string[] = [];
  if (!sameMap(desired.data, actual.data)) out.push('data');
  if (!sameMap(desired.binaryData, actual.binaryData)) out.push('binaryData');
  if (!sameMap(md(desired).labels, md(actual).labels)) out.push('labels');
  if (opts.type && desired.kind === 'Secret' && (desired.type ?? 'Opaque') !== (actual.type ?? 'Opaque')) out.push('type');
  if (opts.owners && JSON.stringify(md(desired).ownerReferences ?? []) !== JSON.stringify(md(actual).ownerReferences ?? [])) out.push('ownerReferences');
  for (const k of annotationKeys) if (md(desired).annotations?.[k] !== md(actual).annotations?.[k]) out.push(`annotation ${k}`);
  return out;
}

/** The object written over `existing`: its identity and resourceVersion kept (a replace at that version). */
export function over(existing: ClonedObject, patch: { data?: Record<string, string>; binaryData?: Record<string, string>; labels?: Record<string, string>; annotations: Record<string, string>; ownerReferences?: unknown[] }): ClonedObject {
  const m = md(existing);
  const obj: ClonedObject = {
    ...existing,
    metadata: {
      ...m,
      labels: patch.labels ?? m.labels,
      annotations: patch.annotations,
      ...(patch.ownerReferences !== undefined ? { ownerReferences: patch.ownerReferences } : {}),
    },
  };
  if (patch.data !== undefined) obj.data = patch.data;
  if (patch.binaryData !== undefined) obj.binaryData = patch.binaryData;
  if (obj.data && Object.keys(obj.data).length === 0) delete obj.data;
  if (obj.binaryData && Object.keys(obj.binaryData).length === 0) delete obj.binaryData;
  return obj;
}

export const content = (kind: ObjectKind, src: ClonedObject) => ({
  data: { ...(src.data ?? {}) },
  ...(kind === 'ConfigMap' ? { binaryData: { ...(src.binaryData ?? {}) } } : {}),
});

export function removeCopy(tool: CopyTool, at: Omit<At, 'reason'>, existing: ClonedObject, reason: string): AnnotationAction {
  const uid = md(existing).uid ?? '';
  const resourceVersion = md(existing).resourceVersion ?? '';
  if (tool === 'reflector') return { ...at, action: 'delete', uid, resourceVersion, reason };
  const a = md(existing).annotations ?? {};
  const replicated = (a[REPLICATOR.replicatedKeys] ?? '').split(',').filter(Boolean);
  const keys = [...Object.keys(existing.data ?? {}), ...Object.keys(existing.binaryData ?? {})].sort();
  if (keys.every((k) => replicated.includes(k))) return { ...at, action: 'delete', uid, resourceVersion, reason };
  // DeleteReplicatedResource: the object holds keys of its own: only the replicated keys (and replicated-keys) go;
  // ripple's mark stays (the clone identity's admission writes only marked objects), so this is done once
  if (a[REPLICATOR.replicatedKeys] === undefined) return { ...at, action: 'skip', reason: `${reason}; only its own keys are left` };
  const data = Object.fromEntries(Object.entries(existing.data ?? {}).filter(([k]) => !replicated.includes(k)));
  const binaryData = Object.fromEntries(Object.entries(existing.binaryData ?? {}).filter(([k]) => !replicated.includes(k)));
  const { [REPLICATOR.replicatedKeys]: _keys, ...annotations } = a;
  const object = over(existing, { data, ...(at.kind === 'ConfigMap' ? { binaryData } : {}), annotations });
  return { ...at, action: 'update', object, differs: ['data'], reason: `${reason}; it holds keys of its own, so only the replicated keys are removed` };
}

export function newReflection(kind: ObjectKind, source: { namespace: string; name: string }, src: ClonedObject, namespace: string, now: string): ClonedObject {
  return newCopy(kind, source.name, namespace, src, {
    labels: md(src).labels,
    annotations: { [REFLECTOR.autoReflects]: 'True', [REFLECTOR.reflects]: ref(source), [REFLECTOR.reflectedVersion]: md(src).resourceVersion ?? '', [REFLECTOR.reflectedAt]: now },
  });
}

/** A copy of `src` named `name` in `namespace` with the given marks: the source's content, a Secret's type, no empty data maps. */
function newCopy(kind: ObjectKind, name: string, namespace: string, src: ClonedObject, meta: { labels?: Record<string, string>; annotations: Record<string, string>; ownerReferences?: unknown[] }): ClonedObject {
  const obj: ClonedObject = {
    apiVersion: 'v1',
    kind,
    metadata: {
      name,
      namespace,
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      annotations: meta.annotations,
      ...(meta.ownerReferences?.length ? { ownerReferences: meta.ownerReferences } : {}),
    } as ClonedObject['metadata'],
    ...content(kind, src),
  };
  if (kind === 'Secret') obj.type = src.type ?? 'Opaque';
  if (obj.binaryData && Object.keys(obj.binaryData).length === 0) delete obj.binaryData;
  if (obj.data && Object.keys(obj.data).length === 0) delete obj.data;
  return obj;
}

/** A reflection (auto copy or pull target) brought to the source: data and labels replaced, Reflector's marks set. */
export function updateReflection(at: Omit<At, 'reason'>, source: { namespace: string; name: string }, src: ClonedObject, existing: ClonedObject, auto: boolean, now: string): AnnotationAction {
  const marks = { [REFLECTOR.autoReflects]: auto ? 'True' : 'False', [REFLECTOR.reflects]: ref(source) };
  const labels = { ...(md(src).labels ?? {}), ...(auto ? {} : { [LABEL_PULLS_FROM]: pullLabelValue('reflector', at.kind, source) }) };
  const desired = over(existing, { ...content(at.kind, src), labels, annotations: { ...(md(existing).annotations ?? {}), ...marks } });
  const diff = differs(desired, existing, auto ? [REFLECTOR.autoReflects, REFLECTOR.reflects] : []);
  if (diff.length === 0) return { ...at, action: 'skip', reason: 'up to date (content and labels as the source)' };
  desired.metadata!.annotations = { ...desired.metadata!.annotations, [REFLECTOR.reflectedVersion]: md(src).resourceVersion ?? '', [REFLECTOR.reflectedAt]: now };
  return { ...at, action: 'update', object: desired, differs: diff, reason: `differs from ${ref(source)} in ${diff.join(', ')}` };
}

function replicatedKeys(src: ClonedObject): string[] {
  return [...new Set([...Object.keys(src.data ?? {}), ...Object.keys(src.binaryData ?? {})])].sort();
}

export function newReplica(kind: ObjectKind, source: { namespace: string; name: string }, src: ClonedObject, namespace: string, now: string): ClonedObject {
  const a = md(src).annotations ?? {};
  const strip = goBool(a[REPLICATOR.stripLabels]) === true;
  const keep = goBool(a[REPLICATOR.keepOwnerReferences]) === true;
  return newCopy(kind, source.name, namespace, src, {
    ...(strip ? {} : { labels: md(src).labels }),
    annotations: {
      [REPLICATOR.replicatedAt]: now,
      [REPLICATOR.replicatedFromVersion]: md(src).resourceVersion ?? '',
      [REPLICATOR.replicatedKeys]: replicatedKeys(src).join(','),
      [ANN_REPLICATED_FROM]: `${kind}/${ref(source)}`,
    },
    ...(keep ? { ownerReferences: md(src).ownerReferences } : {}),
  });
}

/** `replicate-once` (on the source or the target): a target replicated before is left as it is, unless the source's replicate-once-version moved. */
function onceDone(src: ClonedObject, target: ClonedObject): boolean {
  const s = md(src).annotations ?? {};
  const t = md(target).annotations ?? {};
  const once = goBool(s[REPLICATOR.replicateOnce]) === true || goBool(t[REPLICATOR.replicateOnce]) === true;
  if (!once || t[REPLICATOR.replicatedFromVersion] === undefined) return false;
  const version = s[REPLICATOR.replicateOnceVersion];
  return version === undefined || version === t[REPLICATOR.replicateOnceVersion];
}

/**
 * Replicator's merge into a target (push copy or pull target): the source's keys set, keys replicated before and
 * gone from the source removed, the target's own keys kept. A push copy also takes the source's labels (none with
 * strip-labels) and, with keep-owner-references, its ownerReferences.
 */
export function updateReplica(at: Omit<At, 'reason'>, source: { namespace: string; name: string }, src: ClonedObject, existing: ClonedObject, now: string, push: boolean): AnnotationAction {
  if (onceDone(src, existing)) return { ...at, action: 'skip', reason: `${REPLICATOR.replicateOnce}: replicated once already (${REPLICATOR.replicateOnceVersion} unchanged)` };
  const a = md(existing).annotations ?? {};
  const prev = a[REPLICATOR.replicatedKeys] === undefined ? [] : a[REPLICATOR.replicatedKeys].split(',');
  const keys = replicatedKeys(src);
  const merge = (mine: Record<string, string> | undefined, theirs: Record<string, string> | undefined) => {
    const out: Record<string, string> = { ...(mine ?? {}) };
    for (const k of prev) if (!(k in (theirs ?? {}))) delete out[k];
    return { ...out, ...(theirs ?? {}) };
  };
  const data = merge(existing.data, src.data);
  const binaryData = at.kind === 'ConfigMap' ? merge(existing.binaryData, src.binaryData) : undefined;
  const sa = md(src).annotations ?? {};
  const labels = push
    ? goBool(sa[REPLICATOR.stripLabels]) === true
      ? {}
      : { ...(md(src).labels ?? {}) }
    : { ...(md(existing).labels ?? {}), [LABEL_PULLS_FROM]: pullLabelValue('replicator', at.kind, source) };
  const keep = push && goBool(sa[REPLICATOR.keepOwnerReferences]) === true;
  const annotations: Record<string, string> = { ...a, [REPLICATOR.replicatedKeys]: keys.join(','), ...(push ? { [ANN_REPLICATED_FROM]: `${at.kind}/${ref(source)}` } : {}) };
  if (sa[REPLICATOR.replicateOnceVersion] !== undefined) annotations[REPLICATOR.replicateOnceVersion] = sa[REPLICATOR.replicateOnceVersion];
  const desired = over(existing, { data, ...(binaryData ? { binaryData } : {}), labels, annotations, ...(keep ? { ownerReferences: md(src).ownerReferences ?? [] } : {}) });
  const diff = differs(desired, existing, [REPLICATOR.replicatedKeys, ...(push ? [ANN_REPLICATED_FROM] : []), REPLICATOR.replicateOnceVersion], { owners: keep });
  if (diff.length === 0) return { ...at, action: 'skip', reason: 'up to date (the source\'s keys as the source)' };
  desired.metadata!.annotations = { ...annotations, [REPLICATOR.replicatedAt]: now, [REPLICATOR.replicatedFromVersion]: md(src).resourceVersion ?? '' };
  return { ...at, action: 'update', object: desired, differs: diff, reason: `differs from ${ref(source)} in ${diff.join(', ')}` };
}
