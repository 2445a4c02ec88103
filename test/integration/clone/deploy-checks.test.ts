/**
 * The deploy-time reconcile (Custom::RippleReconcile) on two embedded clusters with RBAC enforced, running as the
 * clone identity bound to exactly the rendered clone ClusterRole and infra/k8s/forwarder/restart-rbac.yaml, the
 * forwarder installed from infra/k8s/forwarder (its Deployment and ConfigMap). CloudFormation's side is a local
 * HTTP server standing in for the presigned ResponseURL.
 *
 * What it shows: the install order of docs/deploy.md (cluster side first, then the stack) ends with forwarder
 * pods created after the Pod Identity association (the Deployment rolls out a new ReplicaSet once the association
 * ARN is known), again when a cluster is added or its association re-created, never for an unchanged one; and a
 * second stage on a cluster is refused.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { ANN_POD_IDENTITY_ASSOCIATION } from '../../../functions/clone/deploy-checks.ts';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { newFingerprintKey } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { applyRenderedRbac } from '../../support/rbac.ts';
import { CLONE_IDENTITY, lambdaContext, policiesFrom, quietObservability } from './harness.ts';
import { startResponseSink, type ResponseSink } from '../../support/cfn-response.ts';

const root = join(import.meta.dirname, '../../..');
const POLICIES = policiesFrom(`apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: base, name: blogsecret }
`);
const BUS = 'ripple-test';
const ARN = (cluster: string, id: string) => `arn:aws:eks:eu-west-1:123456789012:podidentityassociation/${cluster}/a-${id}`;

function manifests(file: string): KubernetesObject[] {
  return parseAllDocuments(readFileSync(join(root, 'infra/k8s/forwarder', file), 'utf8')).map((d) => d.toJSON() as KubernetesObject);
}

interface Site {
  name: string;
  cluster: EmbeddedCluster;
  admin: Kube;
  clone: Kube;
  audit: AuditEvent[];
}

/** An embedded cluster with the cluster side applied: clone RBAC, the restart Role, the forwarder's ConfigMap and Deployment. */
async function site(name: string, { forwarder = true, bus = BUS } = {}): Promise<Site> {
  const cluster = await startCluster({ authorization: 'RBAC' });
  const admin = kubeFromKubeConfig(cluster.kubeConfig(), name);
  const audit: AuditEvent[] = [];
  cluster.onAudit((e) => audit.push(e));
  await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } });
  await admin.core.createNamespace({ body: { metadata: { name: 'base' } } });
  await applyRenderedRbac(admin, POLICIES, 'clone');
  for (const obj of manifests('restart-rbac.yaml')) await admin.objects.create(obj);
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key: newFingerprintKey() } } });
  if (forwarder) await installForwarder(admin, name, bus);
  return { name, cluster, admin, clone: kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), name), audit };
}

async function installForwarder(admin: Kube, cluster: string, bus: string): Promise<void> {
  const [cm] = manifests('config.yaml') as [KubernetesObject & { data: Record<string, string> }];
  cm.data = { ...cm.data, RIPPLE_CLUSTER_NAME: cluster, RIPPLE_EVENT_BUS_NAME: bus };
  await admin.objects.create(cm);
  for (const obj of manifests('deployment.yaml')) await admin.objects.create(obj);
}

async function forwarder(s: Site) {
  return s.admin.apps.readNamespacedDeployment({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
}

/** The Deployment's rollout revision once the embedded controller caught up (a new ReplicaSet = new pods). */
async function revision(s: Site): Promise<string> {
  const until = Date.now() + 5000;
  for (;;) {
    const d = await forwarder(s);
    const rev = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    if (rev && d.status?.observedGeneration === d.metadata?.generation) return rev;
    if (Date.now() > until) throw new Error(`forwarder on ${s.name}: no settled revision (${JSON.stringify(d.status)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const clonePatches = (s: Site, from: number) => s.audit.slice(from).filter((e) => e.user.username === CLONE_IDENTITY.user && e.verb === 'patch' && e.objectRef?.resource === 'deployments');

let a: Site;
let b: Site;
let sink: ResponseSink;
let answers: any[] = [];
let invoke: (event: object) => Promise<void>;

beforeAll(async () => {
  sink = await startResponseSink('/presigned?sig=x');
  answers = sink.answers;
  [a, b] = await Promise.all([site('alpha'), site('beta', { forwarder: false })]);
  const sites: Record<string, Site> = { alpha: a, beta: b };
  const handler = makeHandler({
    config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'alpha' }),
    kubeFor: async (c) => sites[c]!.clone,
    policies: () => POLICIES,
    observability: ((o) => () => o)(quietObservability()),
    cfnRetryDelaysMs: [10, 10],
    associationSettleMs: 0,
  }) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  invoke = async (event) => {
    await handler(event, lambdaContext);
  };
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.cluster.stop(), b?.cluster.stop()]);
  await sink?.stop();
});

function cfn(RequestType: 'Create' | 'Update', associations: Record<string, string>, busName = BUS, clusters = Object.keys(associations)) {
  answers.length = 0;
  return {
    RequestType,
    ResponseURL: sink.url,
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ripple-test/1',
    RequestId: `req-${RequestType}`,
    LogicalResourceId: 'PoliciesReconcile',
    ResourceType: 'Custom::RippleReconcile',
    ...(RequestType === 'Update' ? { PhysicalResourceId: 'ripple-clone-resync-alpha' } : {}),
    ResourceProperties: { ServiceToken: 'arn', Clusters: clusters, PoliciesHash: 'h', ForwarderAssociations: associations, BusName: busName },
  };
}

describe('deploy-time reconcile: forwarder pods get the Pod Identity credentials', () => {
  it('Create (cluster side applied first, as docs/deploy.md says): the forwarder is restarted after the association exists', async () => {
    // Prepare: the forwarder runs, created before any association
    expect(await revision(a)).toBe('1');
    const from = a.audit.length;
    // Act
    await invoke(cfn('Create', { alpha: ARN('alpha', '1') }));
    // Assess: one answer, SUCCESS; the pod template names the association; a new ReplicaSet (new pods) rolled out
    expect(answers.map((x) => x.Status)).toEqual(['SUCCESS']);
    expect(answers[0].Reason).toMatch(/alpha: forwarder restarted so its pods get the Pod Identity credentials/);
    expect((await forwarder(a)).spec?.template.metadata?.annotations?.[ANN_POD_IDENTITY_ASSOCIATION]).toBe(ARN('alpha', '1'));
    expect(await revision(a)).toBe('2');
    expect(clonePatches(a, from)).toHaveLength(1);
  });

  it('Update with the same association (a policy change): no restart', async () => {
    const from = a.audit.length;
    await invoke(cfn('Update', { alpha: ARN('alpha', '1') }));
    expect(answers.map((x) => x.Status)).toEqual(['SUCCESS']);
    expect(answers[0].Reason).toMatch(/alpha: forwarder pods already created after the Pod Identity association/);
    expect(clonePatches(a, from)).toEqual([]);
    expect(await revision(a)).toBe('2');
  });

  it('a cluster added whose forwarder is not installed yet: SUCCESS, nothing to restart; installed later, the next deploy restarts it', async () => {
    // Act 1: beta is in `clusters` but its cluster side is not applied yet
    await invoke(cfn('Update', { alpha: ARN('alpha', '1'), beta: ARN('beta', '1') }));
    expect(answers.map((x) => x.Status)).toEqual(['SUCCESS']);
    expect(answers[0].Reason).toMatch(/beta: forwarder not installed yet/);
    // Act 2: the forwarder is installed (its pods are created after the association: fine); a re-created
    // association (new ARN) restarts it, alpha's unchanged one does not
    await installForwarder(b.admin, 'beta', BUS);
    const fromA = a.audit.length;
    await invoke(cfn('Update', { alpha: ARN('alpha', '1'), beta: ARN('beta', '2') }));
    expect(answers.map((x) => x.Status)).toEqual(['SUCCESS']);
    expect(answers[0].Reason).toMatch(/beta: forwarder restarted/);
    expect(await revision(b)).toBe('2');
    expect(clonePatches(a, fromA)).toEqual([]);
  });

  it('the forwarder of another stage (its ConfigMap names another bus): FAILED naming both buses, nothing restarted', async () => {
    const from = a.audit.length;
    await invoke(cfn('Update', { alpha: ARN('alpha', '9') }, 'ripple-staging'));
    expect(answers.map((x) => x.Status)).toEqual(['FAILED']);
    expect(answers[0].Reason).toMatch(/alpha: its forwarder sends to event bus "ripple-test" but this stage's bus is "ripple-staging".*One ripple stage per cluster/);
    expect(clonePatches(a, from)).toEqual([]);
  });

  it('a forwarder configured for another cluster name: FAILED with the setting to change', async () => {
    const cm = await b.admin.core.readNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
    const wrong = await b.admin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...cm, data: { ...cm.data, RIPPLE_CLUSTER_NAME: 'my-cluster' } } });
    await invoke(cfn('Update', { beta: ARN('beta', '2') }));
    await b.admin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...wrong, data: cm.data } });
    expect(answers.map((x) => x.Status)).toEqual(['FAILED']);
    expect(answers[0].Reason).toMatch(/beta: its forwarder calls the cluster "my-cluster".*set RIPPLE_CLUSTER_NAME=beta/);
  });

  it('a cluster in another account or region (no association in this stack) whose forwarder names the bus by its ARN: accepted; an ARN of another bus is not', async () => {
    const cm = await b.admin.core.readNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
    const set = async (bus: string) => {
      const now = await b.admin.core.readNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
      await b.admin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...now, data: { ...cm.data, RIPPLE_EVENT_BUS_NAME: bus } } });
    };
    await set(`arn:aws:events:eu-west-1:123456789012:event-bus/${BUS}`);
    const from = b.audit.length;
    await invoke(cfn('Update', { alpha: ARN('alpha', '1') }, BUS, ['alpha', 'beta']));
    expect(answers.map((x) => x.Status)).toEqual(['SUCCESS']);
    expect(clonePatches(b, from)).toEqual([]); // its association is its spoke stack's: nothing to restart from here
    await set('arn:aws:events:eu-west-1:123456789012:event-bus/ripple-staging');
    await invoke(cfn('Update', { alpha: ARN('alpha', '1') }, BUS, ['alpha', 'beta']));
    await set(cm.data!.RIPPLE_EVENT_BUS_NAME!);
    expect(answers.map((x) => x.Status)).toEqual(['FAILED']);
    expect(answers[0].Reason).toMatch(/beta: its forwarder sends to event bus "arn:aws:events:eu-west-1:123456789012:event-bus\/ripple-staging" but this stage's bus is "ripple-test"/);
  });

  it('without the restart Role (cluster side not applied): FAILED saying what to apply', async () => {
    await a.admin.objects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'ripple-clone-forwarder-restart', namespace: RIPPLE_NAMESPACE } });
    await invoke(cfn('Update', { alpha: ARN('alpha', '3') }));
    expect(answers.map((x) => x.Status)).toEqual(['FAILED']);
    expect(answers[0].Reason).toMatch(/alpha: the clone role may not read ConfigMap ripple-system\/ripple-forwarder: apply the cluster side first/);
  });
});
