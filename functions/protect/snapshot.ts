/**
 * Reading and writing protect's last-known-good snapshot Secrets (the format: core/snapshot.ts) through the Kube's
 * core calls (CoreApi, a subset of client-node's CoreV1Api).
 */
import type { V1Secret } from '@kubernetes/client-node';
import { FIELD_MANAGER, RIPPLE_NAMESPACE } from '../../core/constants.ts';
import { snapshotName } from '../../core/snapshot.ts';
import { isNotFound, translateKubeError } from '../../kube/errors.ts';
import type { CoreApi } from '../../kube/typed.ts';


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
