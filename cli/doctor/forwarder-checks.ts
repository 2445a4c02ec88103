/**
 * `ripple doctor`: the checks that read the kubeconfig's cluster (the forwarder's ConfigMap and pods).
 */
import { RIPPLE_NAMESPACE } from '../../core/constants.ts';
import type { CheckResult, DoctorInput } from './checks.ts';
import type { KubeconfigKube } from '../../kube/kubeconfig.ts';
import { errName, errText, iso, type AssociationFacts, type Pod, type StackFacts } from './facts.ts';

const FORWARDER_LABEL = 'app.kubernetes.io/name=ripple-forwarder';
const POD_IDENTITY_ENV = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';

export async function forwarderPods(kube: KubeconfigKube): Promise<Pod[]> {
  const list = await kube.raw.request<{ items?: Pod[] }>('GET', `/api/v1/namespaces/${RIPPLE_NAMESPACE}/pods`, { describe: { verb: 'list', resource: 'pods', namespace: RIPPLE_NAMESPACE }, query: { labelSelector: FORWARDER_LABEL } });
  return list.items ?? [];
}

export async function forwarderConfigCheck(kube: KubeconfigKube, s: StackFacts, cluster: string): Promise<CheckResult> {
  const name = `forwarder ${cluster}`;
  const overlay = 'set it in your overlay (infra/k8s-overlays/<your-cluster>) and kubectl apply -k it';
  try {
    const cm = await kube.raw.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${RIPPLE_NAMESPACE}/configmaps/ripple-forwarder`, { describe: { verb: 'get', resource: 'configmaps', namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' } });
    const d = cm.data ?? {};
    const wrong: string[] = [];
    // A cluster in another account names the hub bus by its ARN (cross-account PutEvents); another region may too.
    const busArn = `arn:${s.partition}:events:${s.region}:${s.account}:event-bus/${s.busName}`;
    const kind = s.placement[cluster]?.kind ?? 'local';
    const busOk = kind === 'account' ? d.RIPPLE_EVENT_BUS_NAME === busArn : d.RIPPLE_EVENT_BUS_NAME === s.busName || d.RIPPLE_EVENT_BUS_NAME === busArn;
    if (!busOk) wrong.push(`RIPPLE_EVENT_BUS_NAME is "${d.RIPPLE_EVENT_BUS_NAME ?? ''}", this stage's bus is "${kind === 'account' ? busArn : s.busName}"${kind === 'account' ? ' (its ARN: the cluster is in another account)' : ''}`);
    if (d.RIPPLE_CLUSTER_NAME !== cluster) wrong.push(`RIPPLE_CLUSTER_NAME is "${d.RIPPLE_CLUSTER_NAME ?? ''}", expected "${cluster}"`);
    if (s.region && d.AWS_REGION !== s.region) wrong.push(`AWS_REGION is "${d.AWS_REGION ?? ''}", the stack${kind === 'local' ? '' : "'s bus"} is in "${s.region}"`);
    if (wrong.length) return { name, status: 'fail', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder: ${wrong.join('; ')}`, fix: `${overlay} (a bus of another stage: one ripple stage per cluster)` };
    return { name, status: 'ok', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder sends to ${s.busName} as cluster ${cluster} in ${s.region}${kind === 'local' ? '' : ' (by ARN, from another ' + (kind === 'account' ? 'account' : 'region') + ')'}` };
  } catch (err) {
    return { name, status: 'fail', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder: ${errName(err) === 'NotFoundError' ? 'missing' : errText(err)}`, fix: 'install the cluster side: kubectl apply -k infra/k8s-overlays/<your-cluster>' };
  }
}

export async function credentialsCheck(input: DoctorInput, cluster: string, association: AssociationFacts, pods: Pod[]): Promise<CheckResult> {
  const name = `credentials ${cluster}`;
  const restart = `kubectl -n ${RIPPLE_NAMESPACE} rollout restart deployment/ripple-forwarder (EKS injects Pod Identity credentials only into pods created after the association; is the eks-pod-identity-agent add-on installed?)`;
  if (!pods.length) return { name, status: 'fail', detail: `no forwarder pods (${FORWARDER_LABEL}) in ${RIPPLE_NAMESPACE}`, fix: 'install the cluster side: kubectl apply -k infra/k8s-overlays/<your-cluster>; kubectl -n ripple-system describe deployment ripple-forwarder' };
  const bad: string[] = [];
  for (const p of pods) {
    const created = p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp) : null;
    const hasEnv = (p.spec?.containers ?? []).some((c) => (c.env ?? []).some((e) => e.name === POD_IDENTITY_ENV));
    if (association.createdAt && created && created < association.createdAt) bad.push(`${p.metadata?.name} created ${iso(created)}, before the association (${iso(association.createdAt)})`);
    else if (!hasEnv) bad.push(`${p.metadata?.name} has no ${POD_IDENTITY_ENV}`);
  }
  if (bad.length) return { name, status: 'fail', detail: `${bad.length} of ${pods.length} forwarder pods without Pod Identity credentials: ${bad.join('; ')}`, fix: restart };
  return { name, status: 'ok', detail: `${pods.length} forwarder pod(s), all created after the association and given ${POD_IDENTITY_ENV}` };
}
