/**
 * Last-known-good snapshots of protected objects: a Secret `ripple-system/ripple-snapshot-<policy>` holding the
 * protected object's content (a ConfigMap's `data` values too, base64-encoded as Secret data; its `binaryData`
 * keys listed in an annotation). Annotations: ripple.dev/policy, ripple.dev/source (`Kind/ns/name`),
 * ripple.dev/source-fingerprint (keyed fingerprint of the content), and the non-secret shape needed to
 * re-create the object (Secret type, labels). Never written from a violation: only on first sight and from
 * changes by allowed actors.
 *
 * The format, in core because two handlers read it: protect writes it (functions/protect/snapshot.ts holds the
 * I/O), clone syncs the copies of a protected base from it (functions/clone/read.ts), so a change protect judges
 * a violation never reaches a copy. Pure: conversions between a protected object and its snapshot.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANN_POLICY, ANN_SOURCE, ANN_SOURCE_FINGERPRINT, ANNOTATION_PREFIX, LABEL_MANAGED_BY, MANAGED_BY_VALUE, RIPPLE_NAMESPACE, SENSITIVE_ANNOTATIONS, SNAPSHOT_PREFIX, type ObjectKind } from './constants.ts';
import { PermanentError } from './errors.ts';

export const ANN_SNAPSHOT_TYPE = 'ripple.dev/snapshot-type';
export const ANN_SNAPSHOT_BINARY_KEYS = 'ripple.dev/snapshot-binary-keys';
export const ANN_SNAPSHOT_LABELS = 'ripple.dev/snapshot-labels';
export const ANN_SNAPSHOT_IMMUTABLE = 'ripple.dev/snapshot-immutable';
/** The protected object's annotations (JSON), minus ripple's own and those that can hold data in clear. */
export const ANN_SNAPSHOT_ANNOTATIONS = 'ripple.dev/snapshot-annotations';
/** The last allowed change deleted the protected object: the snapshot records absence and holds no data. */
export const ANN_SNAPSHOT_ABSENT = 'ripple.dev/snapshot-absent';

export type ProtectedObject = (V1Secret | V1ConfigMap) & { kind?: string };

export function snapshotName(policy: string): string {
  return `${SNAPSHOT_PREFIX}${policy}`;
}

/** Labels of the protected object, minus nothing: labels hold no secret data. */
function labelsOf(obj: ProtectedObject): Record<string, string> {
  return { ...(obj.metadata?.labels ?? {}) };
}

const SENSITIVE = new Set<string>(SENSITIVE_ANNOTATIONS);

/** Annotations of the protected object worth keeping: not ripple's own, not those that can hold data in clear. */
export function keptAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => !SENSITIVE.has(k) && !k.startsWith(ANNOTATION_PREFIX)));
}

/** The snapshot Secret for `obj` (pure). */
export function buildSnapshot(policy: string, kind: ObjectKind, obj: ProtectedObject, fingerprint: string): V1Secret {
  const ns = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  const annotations: Record<string, string> = {
    [ANN_POLICY]: policy,
    [ANN_SOURCE]: `${kind}/${ns}/${name}`,
    [ANN_SOURCE_FINGERPRINT]: fingerprint,
    [ANN_SNAPSHOT_LABELS]: JSON.stringify(labelsOf(obj)),
  };
  const kept = keptAnnotations(obj.metadata?.annotations);
  if (Object.keys(kept).length) annotations[ANN_SNAPSHOT_ANNOTATIONS] = JSON.stringify(kept);
  if (obj.immutable) annotations[ANN_SNAPSHOT_IMMUTABLE] = 'true';
  let data: Record<string, string>;
  if (kind === 'Secret') {
    const s = obj as V1Secret;
    data = { ...(s.data ?? {}) };
    if (s.type) annotations[ANN_SNAPSHOT_TYPE] = s.type;
  } else {
    const c = obj as V1ConfigMap;
    data = Object.fromEntries(Object.entries(c.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]));
    const binary = Object.keys(c.binaryData ?? {}).sort();
    for (const k of binary) data[k] = c.binaryData![k];
    if (binary.length) annotations[ANN_SNAPSHOT_BINARY_KEYS] = binary.join(',');
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: snapshotName(policy), namespace: RIPPLE_NAMESPACE, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE }, annotations },
    type: 'Opaque',
    data,
  };
}

/** The snapshot of an object an allowed actor deleted: absence is its last-known-good state (pure). */
export function buildAbsentSnapshot(policy: string, kind: ObjectKind, namespace: string, name: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: snapshotName(policy),
      namespace: RIPPLE_NAMESPACE,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE },
      annotations: { [ANN_POLICY]: policy, [ANN_SOURCE]: `${kind}/${namespace}/${name}`, [ANN_SNAPSHOT_ABSENT]: 'true' },
    },
    type: 'Opaque',
    data: {},
  };
}

export function snapshotIsAbsent(snap: V1Secret): boolean {
  return snap.metadata?.annotations?.[ANN_SNAPSHOT_ABSENT] === 'true';
}

export interface RestoredContent {
  kind: ObjectKind;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Annotations as kept by `keptAnnotations` (absent in snapshots taken before they were recorded). */
  annotations: Record<string, string>;
  immutable: boolean;
  /** Secret */
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** A string map recorded as JSON in an annotation; {} when absent or unreadable. */
function jsonMap(text: string | undefined): Record<string, string> {
  try {
    const v: unknown = JSON.parse(text ?? '{}');
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}

/** The protected object's content as the snapshot recorded it (pure). */
export function contentFromSnapshot(snap: V1Secret): RestoredContent {
  const ann = snap.metadata?.annotations ?? {};
  const src = ann[ANN_SOURCE] ?? '';
  const m = /^(Secret|ConfigMap)\/([^/]+)\/([^/]+)$/.exec(src);
  if (!m) throw new PermanentError(`snapshot ${RIPPLE_NAMESPACE}/${snap.metadata?.name}: annotation ${ANN_SOURCE} is "${src}", expected "Kind/namespace/name"; delete the snapshot so it is re-seeded`);
  const [, kind, namespace, name] = m as unknown as [string, ObjectKind, string, string];
  const labels = jsonMap(ann[ANN_SNAPSHOT_LABELS]);
  const annotations = keptAnnotations(jsonMap(ann[ANN_SNAPSHOT_ANNOTATIONS]));
  const base = { kind, namespace, name, labels, annotations, immutable: ann[ANN_SNAPSHOT_IMMUTABLE] === 'true' };
  const data = snap.data ?? {};
  if (kind === 'Secret') return { ...base, ...(ann[ANN_SNAPSHOT_TYPE] ? { type: ann[ANN_SNAPSHOT_TYPE] } : {}), data: { ...data } };
  const binaryKeys = new Set((ann[ANN_SNAPSHOT_BINARY_KEYS] ?? '').split(',').filter(Boolean));
  const text: Record<string, string> = {};
  const binary: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (binaryKeys.has(k)) binary[k] = v;
    else text[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  return { ...base, data: text, ...(binaryKeys.size ? { binaryData: binary } : {}) };
}

/** A fingerprintable view (kind/type/data/binaryData) of restored content. */
export function contentLike(c: RestoredContent): { kind: string; type?: string; data?: Record<string, string>; binaryData?: Record<string, string> } {
  return c.kind === 'Secret' ? { kind: c.kind, type: c.type, data: c.data } : { kind: c.kind, data: c.data, binaryData: c.binaryData };
}

/** The snapshot names this protected object (`Kind/namespace/name` in ripple.dev/source). */
export function snapshotOf(snap: V1Secret, kind: ObjectKind, namespace: string, name: string): boolean {
  return snap.metadata?.annotations?.[ANN_SOURCE] === `${kind}/${namespace}/${name}`;
}

/**
 * The protected object as its last-known-good snapshot says it is, shaped like the object the API returns
 * (what clone copies from): null when the last allowed change deleted it.
 */
export function objectFromSnapshot(snap: V1Secret): ProtectedObject | null {
  if (snapshotIsAbsent(snap)) return null;
  const c = contentFromSnapshot(snap);
  const metadata = { name: c.name, namespace: c.namespace, labels: c.labels, annotations: c.annotations };
  const immutable = c.immutable ? { immutable: true } : {};
  if (c.kind === 'Secret') return { apiVersion: 'v1', kind: 'Secret', metadata, type: c.type ?? 'Opaque', data: c.data ?? {}, ...immutable };
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: c.data ?? {}, ...(c.binaryData ? { binaryData: c.binaryData } : {}), ...immutable };
}
