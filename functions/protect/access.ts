/**
 * Protect keeps its own access to a namespace it guards. Its permissions on a protected object come from a
 * RoleBinding `ripple-protect` in the object's namespace (render/rbac.ts): that binding goes when the namespace is
 * deleted, and a re-created namespace (by an allowed actor, or by protect restoring a violating namespace delete)
 * starts without it. So, from the cluster-wide `ripple-protect-recover` role, protect may:
 * - create a namespace that holds a protected object (admission `ripple-protect-identity` names which), and
 * - create its own RoleBinding there (that name, that ClusterRole, its group only: admission again; RBAC `bind` on
 *   that one ClusterRole, as the API server requires of a binding the creator does not already hold).
 * Nothing else: it never deletes or changes a namespace or a binding.
 */
import { FIELD_MANAGER, HANDLER_GROUPS, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../core/constants.ts';
import { RetryableError } from '../../core/errors.ts';
import { orNull, type Kube } from '../runtime/kube.ts';

/** The protect handler's RoleBinding (and the ClusterRole it binds) in each protected object's namespace. */
export const PROTECT_BINDING = 'ripple-protect';
/** On a namespace protect re-created: which policy's object it was re-created for. */
export const ANN_RECREATED_FOR = 'ripple.dev/recreated-for';

const RBAC_PATH = '/apis/rbac.authorization.k8s.io/v1';

interface NamespaceState {
  metadata?: { name?: string; deletionTimestamp?: unknown };
  status?: { phase?: string };
}

type Raw = Pick<Kube, 'raw'>;

export async function readNamespaceState(kube: Raw, name: string): Promise<'present' | 'terminating' | 'absent'> {
  const ns = await orNull(kube.raw.request<NamespaceState>('GET', `/api/v1/namespaces/${encodeURIComponent(name)}`, { describe: { verb: 'get', resource: 'namespaces', name } }));
  if (!ns) return 'absent';
  return ns.metadata?.deletionTimestamp != null || ns.status?.phase === 'Terminating' ? 'terminating' : 'present';
}

/** The binding protect's access in `namespace` rests on (render/rbac.ts renders the same object). */
export function protectBinding(namespace: string): object {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: PROTECT_BINDING, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY_VALUE, 'app.kubernetes.io/part-of': 'ripple', 'app.kubernetes.io/component': 'protect' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PROTECT_BINDING },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: HANDLER_GROUPS.protect }],
  };
}

async function createIgnoringExists(kube: Raw, path: string, body: object, describe: { verb: string; resource: string; namespace?: string; name?: string }): Promise<boolean> {
  try {
    await kube.raw.request('POST', path, { describe, query: { fieldManager: FIELD_MANAGER }, body, discardAnswer: true });
    return true;
  } catch (err) {
    if ((err as Error).name === 'ConflictError') return false; // already there (409 AlreadyExists)
    throw err;
  }
}

/** Re-create protect's RoleBinding in `namespace` (no-op when it is there). True when it was created. */
export function restoreBinding(kube: Raw, namespace: string): Promise<boolean> {
  return createIgnoringExists(kube, `${RBAC_PATH}/namespaces/${encodeURIComponent(namespace)}/rolebindings`, protectBinding(namespace), { verb: 'create', resource: 'rolebindings', namespace, name: PROTECT_BINDING });
}

export interface NamespaceRestore {
  namespaceCreated: boolean;
  bindingCreated: boolean;
}

/**
 * Make `namespace` usable for restoring a protected object: wait (up to `waitMs`) for a terminating namespace to
 * go, create it when absent, and make sure protect's RoleBinding is in it. A namespace still terminating after
 * the wait is a RetryableError: the retry continues (level-based).
 */
export async function restoreNamespace(kube: Raw, namespace: string, policy: string, opts: { waitMs?: number; pollMs?: number } = {}): Promise<NamespaceRestore> {
  const end = Date.now() + (opts.waitMs ?? 20_000);
  let state = await readNamespaceState(kube, namespace);
  while (state === 'terminating' && Date.now() < end) {
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
    state = await readNamespaceState(kube, namespace);
  }
  if (state === 'terminating') throw new RetryableError(`namespace ${namespace} is still terminating; the protected object of policy ${policy} is re-created once it is gone`);
  let namespaceCreated = false;
  if (state === 'absent') {
    const body = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, annotations: { [ANN_RECREATED_FOR]: policy } } };
    namespaceCreated = await createIgnoringExists(kube, '/api/v1/namespaces', body, { verb: 'create', resource: 'namespaces', name: namespace });
  }
  const bindingCreated = await restoreBinding(kube, namespace);
  return { namespaceCreated, bindingCreated };
}

/**
 * Run `fn`, which acts on the protected object in `namespace`; when the API server refuses it for lack of
 * permission (403, not a terminating namespace), restore protect's RoleBinding there and run it once more. When
 * the namespace is terminating or gone (its RoleBinding may already be), `gone` answers instead, if given.
 */
export async function withAccess<T>(kube: Raw, namespace: string, fn: () => Promise<T>, gone?: () => T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if ((err as Error).name !== 'ForbiddenError' || /being terminated/.test((err as Error).message)) throw err;
    if ((await readNamespaceState(kube, namespace)) !== 'present') {
      if (gone) return gone();
      throw err;
    }
    await restoreBinding(kube, namespace);
    return fn();
  }
}
