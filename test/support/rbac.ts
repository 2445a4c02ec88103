/**
 * Handler identities for the integration tests: a handler runs as user `ripple-<handler>` in group
 * `ripple:<handler>` (the group the rendered ClusterRoleBinding names), bound to exactly the RBAC objects the
 * renderer gives it for the policies under test. The forwarder runs as its ServiceAccount.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE, type HandlerName } from '../../core/constants.ts';
import type { KubeconfigKube as Kube } from '../../kube/kubeconfig.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { renderRbacFiles } from '../../render/rbac.ts';

/** The user and groups a handler's kubeconfig carries (`cluster.kubeConfig(handlerIdentity('clone'))`). */
export function handlerIdentity(handler: HandlerName): { user: string; groups: string[] } {
  return { user: `ripple-${handler}`, groups: [HANDLER_GROUPS[handler]] };
}

/** The forwarder's ServiceAccount as the API server sees it (the subject of the rendered forwarder bindings). */
export const FORWARDER_IDENTITY = {
  user: `system:serviceaccount:${RIPPLE_NAMESPACE}:${FORWARDER_SERVICE_ACCOUNT}`,
  groups: ['system:serviceaccounts', `system:serviceaccounts:${RIPPLE_NAMESPACE}`],
};

/** Create (as admin) the RBAC objects rendered for these parts and policies; objects that already exist are kept. */
export async function applyRenderedRbac(admin: Kube, policies: RipplePolicy[], ...parts: ('forwarder' | HandlerName)[]): Promise<void> {
  const rendered = renderRbacFiles(policies);
  for (const part of parts) {
    for (const obj of rendered[part]) {
      try {
        await admin.objects.create(obj as KubernetesObject);
      } catch (err) {
        if ((err as Error).name !== 'ConflictError') throw err;
      }
    }
  }
}
