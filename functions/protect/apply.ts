/**
 * Carry out protection actions against the cluster (field manager `ripple`, acting as group ripple:protect):
 * seed/update the last-known-good snapshot from the current object; restore the object from the snapshot
 * (re-create if deleted, rewrite data if altered, delete + create when type or immutability forbid an update).
 * Then report: a Kubernetes Event on the object, or on its namespace when it is gone.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { FIELD_MANAGER, RIPPLE_NAMESPACE, type ObjectKind } from '../../core/constants.ts';
import { PermanentError } from '../../core/errors.ts';
import { recordEvent } from '../runtime/k8s-events.ts';
import { orNull, retryOnConflict, type Kube } from '../runtime/kube.ts';
import { readNamespaceState, restoreNamespace, withAccess } from './access.ts';
import type { Action } from './plan.ts';
import { buildAbsentSnapshot, buildSnapshot, contentFromSnapshot, snapshotIsAbsent, snapshotName, type RestoredContent } from '../../core/snapshot.ts';
import { readSnapshot, writeSnapshot } from './snapshot.ts';

export type ProtectedObj = V1Secret | V1ConfigMap;

export interface Target {
  policy: string;
  kind: ObjectKind;
  namespace: string;
  name: string;
}

export async function readObject(kube: Pick<Kube, 'core'>, t: Pick<Target, 'kind' | 'namespace' | 'name'>): Promise<ProtectedObj | null> {
  return t.kind === 'Secret'
    ? orNull(kube.core.readNamespacedSecret({ name: t.name, namespace: t.namespace }))
    : orNull(kube.core.readNamespacedConfigMap({ name: t.name, namespace: t.namespace }));
}

function bodyFrom(c: RestoredContent, base?: ProtectedObj): ProtectedObj {
  const metadata = base
    ? { ...base.metadata, managedFields: undefined }
    : { name: c.name, namespace: c.namespace, labels: c.labels, ...(Object.keys(c.annotations).length ? { annotations: c.annotations } : {}) };
  if (c.kind === 'Secret') {
    return { apiVersion: 'v1', kind: 'Secret', metadata, ...(c.type ? { type: c.type } : {}), data: c.data ?? {}, ...(c.immutable ? { immutable: true } : {}) } as V1Secret;
  }
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: c.data ?? {}, ...(c.binaryData ? { binaryData: c.binaryData } : {}), ...(c.immutable ? { immutable: true } : {}) } as V1ConfigMap;
}

async function create(kube: Pick<Kube, 'core'>, c: RestoredContent): Promise<void> {
  const body = bodyFrom(c);
  if (c.kind === 'Secret') await kube.core.createNamespacedSecret({ namespace: c.namespace, body: body as V1Secret, fieldManager: FIELD_MANAGER });
  else await kube.core.createNamespacedConfigMap({ namespace: c.namespace, body: body as V1ConfigMap, fieldManager: FIELD_MANAGER });
}

async function rewrite(kube: Pick<Kube, 'core'>, c: RestoredContent): Promise<void> {
  await retryOnConflict(async () => {
    const base = await readObject(kube, c);
    if (!base) return create(kube, c);
    const body = bodyFrom(c, base);
    // Keep the object's own type/immutability (rewrite is only planned when they allow an update).
    if (c.kind === 'Secret') {
      (body as V1Secret).type = (base as V1Secret).type;
      await kube.core.replaceNamespacedSecret({ name: c.name, namespace: c.namespace, body: body as V1Secret, fieldManager: FIELD_MANAGER });
    } else {
      await kube.core.replaceNamespacedConfigMap({ name: c.name, namespace: c.namespace, body: body as V1ConfigMap, fieldManager: FIELD_MANAGER });
    }
  });
}

async function replace(kube: Pick<Kube, 'core'>, c: RestoredContent): Promise<void> {
  const current = await readObject(kube, c);
  if (current) {
    const uid = current.metadata?.uid;
    const opts = { name: c.name, namespace: c.namespace, body: { preconditions: uid ? { uid } : undefined } };
    if (c.kind === 'Secret') await orNull(kube.core.deleteNamespacedSecret(opts));
    else await orNull(kube.core.deleteNamespacedConfigMap(opts));
  }
  await create(kube, c);
}

/** Delete the object a violating create left (uid precondition: only the object read here). */
async function remove(kube: Pick<Kube, 'core'>, t: Pick<Target, 'kind' | 'namespace' | 'name'>): Promise<void> {
  const current = await readObject(kube, t);
  if (!current) return;
  const uid = current.metadata?.uid;
  const opts = { name: t.name, namespace: t.namespace, body: { preconditions: uid ? { uid } : undefined } };
  if (t.kind === 'Secret') await orNull(kube.core.deleteNamespacedSecret(opts));
  else await orNull(kube.core.deleteNamespacedConfigMap(opts));
}

export interface ApplyOutcome {
  /** What was written, e.g. `snapshot updated`, `re-created`; empty when nothing was. */
  writes: string[];
}

/**
 * Run the state actions for one protected object. `fingerprintOf` computes the keyed fingerprint of the
 * current object for the snapshot annotation.
 */
export async function applyProtect(kube: Pick<Kube, 'core' | 'raw'>, t: Target, actions: Action[], fingerprintOf: (o: ProtectedObj) => string): Promise<ApplyOutcome> {
  const writes: string[] = [];
  for (const a of actions) {
    if (a.do === 'restore' && a.how === 'recreate-namespace') {
      const snap = await readSnapshot(kube.core, t.policy);
      if (!snap || snapshotIsAbsent(snap)) continue; // an allowed change moved the snapshot meanwhile
      const content = contentFromSnapshot(snap);
      const ns = await restoreNamespace(kube, t.namespace, t.policy);
      if (ns.namespaceCreated) writes.push('namespace re-created');
      if (!(await readObject(kube, t))) {
        await create(kube, content);
        writes.push('re-created');
      }
      continue;
    }
    await withAccess(kube, t.namespace, () => applyOne(kube, t, a, fingerprintOf, writes));
  }
  return { writes };
}

async function applyOne(kube: Pick<Kube, 'core'>, t: Target, a: Action, fingerprintOf: (o: ProtectedObj) => string, writes: string[]): Promise<void> {
  if (a.do === 'seed-snapshot' || a.do === 'update-snapshot') {
    await retryOnConflict(async () => {
      const current = await readObject(kube, t);
      if (!current) return;
      const existing = await readSnapshot(kube.core, t.policy);
      await writeSnapshot(kube.core, buildSnapshot(t.policy, t.kind, current, fingerprintOf(current)), existing);
    });
    writes.push(a.do === 'seed-snapshot' ? 'snapshot seeded' : 'snapshot updated');
    return;
  }
  if (a.do === 'mark-absent') {
    await retryOnConflict(async () => {
      // re-created meanwhile: that create's own record moves the snapshot (not so when the namespace went: the
      // namespace controller removes the object later)
      if (!a.withNamespace && (await readObject(kube, t))) return;
      await writeSnapshot(kube.core, buildAbsentSnapshot(t.policy, t.kind, t.namespace, t.name), await readSnapshot(kube.core, t.policy));
    });
    writes.push('snapshot marked absent');
    return;
  }
  const snap = await readSnapshot(kube.core, t.policy);
  if (!snap) throw new PermanentError(`${t.kind} ${t.namespace}/${t.name}: policy ${t.policy}: no last-known-good snapshot to restore from`);
  if (a.how === 'remove') {
    if (!snapshotIsAbsent(snap)) return; // an allowed change moved the snapshot meanwhile: nothing to undo
    await remove(kube, t);
    writes.push('removed');
    return;
  }
  const content = contentFromSnapshot(snap);
  if (content.kind !== t.kind || content.namespace !== t.namespace || content.name !== t.name) {
    throw new PermanentError(`snapshot of policy ${t.policy} holds ${content.kind} ${content.namespace}/${content.name}, not ${t.kind} ${t.namespace}/${t.name} (the policy's source changed); delete the snapshot so it is re-seeded`);
  }
  if (a.how === 'recreate') {
    try {
      await create(kube, content);
    } catch (err) {
      // Someone re-created it meanwhile: fall back to a rewrite of its data.
      if ((err as Error).name !== 'ConflictError') throw err;
      await rewrite(kube, content);
    }
    writes.push('re-created');
  } else if (a.how === 'rewrite') {
    await rewrite(kube, content);
    writes.push('data restored');
  } else {
    await replace(kube, content);
    writes.push('replaced');
  }
}

/**
 * Kubernetes Event on the object; on its namespace when the object is gone; on the policy's snapshot in
 * ripple-system when the namespace is gone too (a deleted namespace holds no Events).
 */
export async function reportEvent(kube: Pick<Kube, 'core' | 'raw'>, t: Target, e: { reason: string; message: string; type: 'Normal' | 'Warning' }): Promise<void> {
  const obj = await withAccess(kube, t.namespace, () => readObject(kube, t), () => null);
  let involved;
  if (obj) involved = { apiVersion: 'v1', kind: t.kind, namespace: t.namespace, name: t.name, uid: obj.metadata?.uid };
  else if ((await readNamespaceState(kube, t.namespace)) === 'present') involved = { apiVersion: 'v1', kind: 'Namespace', namespace: t.namespace, name: t.namespace };
  else involved = { apiVersion: 'v1', kind: 'Secret', namespace: RIPPLE_NAMESPACE, name: snapshotName(t.policy) };
  await recordEvent(kube, involved, { ...e, component: 'protect' });
}
