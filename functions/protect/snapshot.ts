/**
 * Last-known-good snapshots of protected objects: a Secret `ripple-system/ripple-snapshot-<policy>` holding the
 * protected object's content (a ConfigMap's `data` values too, base64-encoded as Secret data; its `binaryData`
 * keys listed in an annotation). Annotations: ripple.dev/policy, ripple.dev/source (`Kind/ns/name`),
 * ripple.dev/source-fingerprint (keyed fingerprint of the content), and the non-secret shape needed to
 * re-create the object (Secret type, labels). Never written from a violation: only on first sight and from
 * changes by allowed actors.
 *
 * The pure half converts between a protected object and its snapshot; the I/O half reads and writes the
 * snapshot Secret through the Kube's core calls (CoreApi, a subset of client-node's CoreV1Api).
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANN_POLICY, ANN_SOURCE, ANN_SOURCE_FINGERPRINT, FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY_VALUE, RIPPLE_NAMESPACE, SNAPSHOT_PREFIX, type ObjectKind } from '../../core/constants.ts';
import { PermanentError } from '../../core/errors.ts';
import { isNotFound, translateKubeError } from '../../kube/errors.ts';
import type { CoreApi } from '../../kube/typed.ts';

export const ANN_SNAPSHOT_TYPE = 'ripple.dev/snapshot-type';
export const ANN_SNAPSHOT_BINARY_KEYS = 'ripple.dev/snapshot-binary-keys';
export const ANN_SNAPSHOT_LABELS = 'ripple.dev/snapshot-labels';
export const ANN_SNAPSHOT_IMMUTABLE = 'ripple.dev/snapshot-immutable';
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
  immutable: boolean;
  /** Secret */
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
}

/** The protected object's content as the snapshot recorded it (pure). */
export function contentFromSnapshot(snap: V1Secret): RestoredContent {
  const ann = snap.metadata?.annotations ?? {};
  const src = ann[ANN_SOURCE] ?? '';
  const m = /^(Secret|ConfigMap)\/([^/]+)\/([^/]+)$/.exec(src);
  if (!m) throw new PermanentError(`snapshot ${RIPPLE_NAMESPACE}/${snap.metadata?.name}: annotation ${ANN_SOURCE} is "${src}", expected "Kind/namespace/name"; delete the snapshot so it is re-seeded`);
  const [, kind, namespace, name] = m as unknown as [string, ObjectKind, string, string];
  let labels: Record<string, string>;
  try {
    labels = JSON.parse(ann[ANN_SNAPSHOT_LABELS] ?? '{}') as Record<string, string>;
  } catch {
    labels = {};
  }
  const base = { kind, namespace, name, labels, immutable: ann[ANN_SNAPSHOT_IMMUTABLE] === 'true' };
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

// ---- I/O ----

export async function readSnapshot(core: CoreApi, policy: string): Promise<V1Secret | null> {
  const name = snapshotName(policy);
  try {
    return await core.readNamespacedSecret({ name, namespace: RIPPLE_NAMESPACE });
  } catch (err) {
    if (isNotFound(err)) return null;
    throw translateKubeError(err, { verb: 'get', resource: 'secrets', namespace: RIPPLE_NAMESPACE, name });
  }
}

/** Create or replace the snapshot Secret (replace carries the read resourceVersion: a race is a ConflictError). */
export async function writeSnapshot(core: CoreApi, body: V1Secret, existing: V1Secret | null): Promise<void> {
  const name = body.metadata!.name!;
  try {
    if (!existing) {
      await core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body, fieldManager: FIELD_MANAGER });
    } else {
      const next = { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata?.resourceVersion } };
      await core.replaceNamespacedSecret({ name, namespace: RIPPLE_NAMESPACE, body: next, fieldManager: FIELD_MANAGER });
    }
  } catch (err) {
    throw translateKubeError(err, { verb: existing ? 'update' : 'create', resource: 'secrets', namespace: RIPPLE_NAMESPACE, name });
  }
}
