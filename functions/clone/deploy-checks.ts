/**
 * What the deploy-time reconcile (Custom::RippleReconcile, infra/aws/bus.yml) does on each cluster before it
 * reconciles, with the clone identity and the Role infra/k8s/forwarder/restart-rbac.yaml gives it:
 *
 * 1. **One stage per cluster**: the forwarder's ConfigMap (ripple-system/ripple-forwarder) must send to this
 *    stage's bus and name this cluster. Another stage's bus means two stages on one cluster (both would clone
 *    and protect the same objects); a wrong cluster name means every event would be routed to the wrong one.
 *    Either fails the deploy with what to change.
 * 2. **Pod Identity credentials**: EKS injects them only into pods created after the forwarder's association
 *    exists. The pod template annotation `ripple.dev/pod-identity-association` is set to the association ARN
 *    (the `ForwarderAssociations` property, a GetAtt of each AWS::EKS::PodIdentityAssociation): when it
 *    differs — the first deploy, a cluster just added to `clusters`, an association re-created — the
 *    Deployment rolls out new pods, which get the credentials. Level-based: an unchanged ARN changes nothing.
 *
 * A cluster without the forwarder yet (ConfigMap or Deployment absent) is not an error here: pods created
 * after this deploy get the credentials anyway. A Forbidden is (the cluster side is not applied).
 */
import { FORWARDER_SERVICE_ACCOUNT, RIPPLE_NAMESPACE } from '../../core/constants.ts';
import { PermanentError } from '../../core/errors.ts';
import { ForbiddenError, orNull, type Kube } from '../runtime/kube.ts';

/** Pod template annotation: the Pod Identity association ARN the forwarder's pods were created after. */
export const ANN_POD_IDENTITY_ASSOCIATION = 'ripple.dev/pod-identity-association';
/** The forwarder's Deployment and ConfigMap (infra/k8s/forwarder/). */
export const FORWARDER_NAME = FORWARDER_SERVICE_ACCOUNT;

export interface DeployCheckInput {
  cluster: string;
  /** This stage's bus (`BusName`); absent: not checked. */
  busName?: string;
  /** This cluster's association ARN (`ForwarderAssociations[cluster]`); absent: no restart. */
  associationArn?: string;
  /**
   * Pause before a restart (default ASSOCIATION_SETTLE_MS): EKS documents associations as eventually consistent
   * ("may take several seconds to be effective"), and a pod created before the association is effective gets no
   * credentials either.
   */
  settleMs?: number;
}

/** See DeployCheckInput.settleMs. Paid only when a restart is due (first deploy, a cluster added). */
export const ASSOCIATION_SETTLE_MS = 15_000;

const FIX_RBAC = `apply the cluster side first (kubectl apply -k infra/k8s or your overlay: Role ${RIPPLE_NAMESPACE}/ripple-clone-forwarder-restart)`;

function forbidden(err: unknown, what: string, cluster: string): never {
  if (err instanceof ForbiddenError) throw new PermanentError(`${cluster}: the clone role may not ${what}: ${FIX_RBAC}`, { cause: err });
  throw err;
}

interface Deployment {
  spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
}

/** The checks and the restart for one cluster; returns what was done, for the CloudFormation Reason. */
export async function prepareCluster(kube: Kube, input: DeployCheckInput): Promise<string> {
  const { cluster, busName, associationArn } = input;
  const notes: string[] = [];
  const cm = busName ? await orNull(kube.core.readNamespacedConfigMap({ name: FORWARDER_NAME, namespace: RIPPLE_NAMESPACE })).catch((err) => forbidden(err, `read ConfigMap ${RIPPLE_NAMESPACE}/${FORWARDER_NAME}`, cluster)) : null;
  if (cm) {
    const data = (cm as { data?: Record<string, string> }).data ?? {};
    const theirBus = data.RIPPLE_EVENT_BUS_NAME;
    // A forwarder in another account or region names the bus by its ARN (…:event-bus/<name>).
    const theirBusName = theirBus?.startsWith('arn:') ? theirBus.slice(theirBus.indexOf(':event-bus/') + ':event-bus/'.length) : theirBus;
    if (theirBus && theirBusName !== busName) {
      throw new PermanentError(
        `${cluster}: its forwarder sends to event bus "${theirBus}" but this stage's bus is "${busName}" (ConfigMap ${RIPPLE_NAMESPACE}/${FORWARDER_NAME}, RIPPLE_EVENT_BUS_NAME). ` +
          `One ripple stage per cluster: if this stage is the cluster's, set RIPPLE_EVENT_BUS_NAME=${busName} in your overlay and apply it; otherwise deploy this stage to another cluster (docs/deploy.md, "Stages")`,
      );
    }
    const theirCluster = data.RIPPLE_CLUSTER_NAME;
    if (theirCluster && theirCluster !== cluster) {
      throw new PermanentError(
        `${cluster}: its forwarder calls the cluster "${theirCluster}" (ConfigMap ${RIPPLE_NAMESPACE}/${FORWARDER_NAME}, RIPPLE_CLUSTER_NAME), so its events would be handled against that cluster: set RIPPLE_CLUSTER_NAME=${cluster} in your overlay and apply it`,
      );
    }
  }
  if (associationArn) {
    const path = `/apis/apps/v1/namespaces/${RIPPLE_NAMESPACE}/deployments/${FORWARDER_NAME}`;
    const describe = { verb: 'get', resource: 'deployments', namespace: RIPPLE_NAMESPACE, name: FORWARDER_NAME };
    const dep = await orNull(kube.raw.request<Deployment>('GET', path, { describe })).catch((err) => forbidden(err, `read Deployment ${RIPPLE_NAMESPACE}/${FORWARDER_NAME}`, cluster));
    if (!dep) {
      notes.push('forwarder not installed yet (its pods will be created with the Pod Identity credentials)');
    } else if (dep.spec?.template?.metadata?.annotations?.[ANN_POD_IDENTITY_ASSOCIATION] === associationArn) {
      notes.push('forwarder pods already created after the Pod Identity association');
    } else {
      await new Promise((r) => setTimeout(r, input.settleMs ?? ASSOCIATION_SETTLE_MS));
      const body = { spec: { template: { metadata: { annotations: { [ANN_POD_IDENTITY_ASSOCIATION]: associationArn } } } } };
      await kube.raw
        .request('PATCH', path, { describe: { ...describe, verb: 'patch' }, body, contentType: 'application/merge-patch+json', discardAnswer: true })
        .catch((err) => forbidden(err, `patch Deployment ${RIPPLE_NAMESPACE}/${FORWARDER_NAME}`, cluster));
      notes.push('forwarder restarted so its pods get the Pod Identity credentials');
    }
  }
  return notes.join(', ');
}

/** `ForwarderAssociations` of the custom resource: `{ cluster: arn }`, strings only. */
export function associationsOf(props: Record<string, unknown> | undefined): Record<string, string> {
  const raw = props?.ForwarderAssociations;
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  return Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length > 0));
}

/**
 * Pauses between attempts of a deploy-time reconcile that failed with a retryable error, most often a 401 right
 * after the access entry was created (EKS takes a while to accept a new principal). About 2 minutes in all, so
 * the last attempt and the answer still fit the custom resource's ServiceTimeout and the function's timeout
 * (both 300 s; checked by test/unit/functions/clone/deploy-checks.test.ts against serverless.yml).
 */
export const CFN_RETRY_DELAYS_MS = [2000, 4000, 8000, 15_000, 30_000, 30_000, 30_000];
