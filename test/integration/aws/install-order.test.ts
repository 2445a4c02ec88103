/**
 * docs/deploy.md's install order, step by step, offline: the cluster side first (forwarder running), then the
 * stack (its association, then the deploy-time reconcile), then `ripple doctor`. Ends with forwarder pods that
 * carry Pod Identity credentials and no manual restart.
 *
 * Real: the embedded cluster with RBAC (the clone identity bound to the rendered RBAC and
 * infra/k8s/forwarder/restart-rbac.yaml), the forwarder's manifests from infra/k8s/forwarder, the clone handler
 * answering the custom resource, `ripple doctor` through the AWS SDK against test/support/aws-stub.ts.
 * Stood in for, as small as possible: EKS itself — the stub's association records, and `podsFor()` below, which
 * does what the ReplicaSet controller, the kubelet and the EKS Pod Identity webhook do to pods (the embedded
 * cluster runs no pods): the newest ReplicaSet's pods exist, older ones are gone, and a pod gets
 * AWS_CONTAINER_CREDENTIALS_FULL_URI only if an association existed when it was created.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { runDoctor } from '../../../cli/commands/doctor.ts';
import type { CheckResult } from '../../../cli/doctor/checks.ts';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { FINGERPRINT_KEY_SECRET, FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { newFingerprintKey } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { CLONE_IDENTITY, lambdaContext, quietObservability } from '../clone/harness.ts';
import { AwsStub, type FakeAccount } from '../../support/aws-stub.ts';
import { applyRenderedRbac } from '../../support/rbac.ts';
import { startResponseSink, type ResponseSink } from '../../support/cfn-response.ts';

const root = join(import.meta.dirname, '../../..');
const STAGE = 'prod';
const CLUSTER = 'prod-eu';
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const BUS = `ripple-${STAGE}`;
const ASSOCIATION = `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${CLUSTER}/a-1`;
const FORWARDER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ripple-prod-ForwarderRole-X`;
const POLICIES = loadPolicies(join(root, 'policies'));

const manifests = (file: string) => parseAllDocuments(readFileSync(join(root, 'infra/k8s/forwarder', file), 'utf8')).map((d) => d.toJSON() as KubernetesObject & { data?: Record<string, string> });

interface Site {
  cluster: EmbeddedCluster;
  admin: Kube;
  kubeconfig: string;
}

/** The cluster side as `kubectl apply -k <overlay>` leaves it (step 2 of the docs). */
async function clusterSide(dir: string): Promise<Site> {
  const cluster = await startCluster({ authorization: 'RBAC' });
  const admin = kubeFromKubeConfig(cluster.kubeConfig(), CLUSTER);
  for (const ns of [RIPPLE_NAMESPACE, 'platform']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await applyRenderedRbac(admin, POLICIES, 'clone', 'rollout', 'protect');
  for (const obj of manifests('restart-rbac.yaml')) await admin.objects.create(obj);
  const [cm] = manifests('config.yaml');
  await admin.objects.create({ ...cm!, data: { ...cm!.data, RIPPLE_CLUSTER_NAME: CLUSTER, RIPPLE_EVENT_BUS_NAME: BUS, AWS_REGION: REGION } } as KubernetesObject);
  for (const obj of manifests('deployment.yaml')) await admin.objects.create(obj);
  // the forwarder creates its fingerprint key on start
  await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key: newFingerprintKey() } } });
  const kubeconfig = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(kubeconfig, cluster.kubeConfig().exportConfig());
  return { cluster, admin, kubeconfig };
}

/** What the ReplicaSet controller, kubelet and Pod Identity webhook would do (see the header). */
async function podsFor(site: Site, account: FakeAccount): Promise<void> {
  const until = Date.now() + 5000;
  let newest: { metadata?: { name?: string; annotations?: Record<string, string> }; spec?: { replicas?: number } } | undefined;
  for (;;) {
    const dep = await site.admin.apps.readNamespacedDeployment({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
    const rev = dep.metadata?.annotations?.['deployment.kubernetes.io/revision'];
    const sets = (await site.admin.apps.listNamespacedReplicaSet({ namespace: RIPPLE_NAMESPACE })).items;
    newest = sets.find((rs) => rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === rev);
    if (newest && dep.status?.observedGeneration === dep.metadata?.generation) break;
    if (Date.now() > until) throw new Error('the forwarder Deployment did not settle');
    await new Promise((r) => setTimeout(r, 20));
  }
  const pods = (await site.admin.core.listNamespacedPod({ namespace: RIPPLE_NAMESPACE })).items;
  for (const p of pods) if (!p.metadata!.name!.startsWith(`${newest.metadata!.name}-`)) await site.admin.core.deleteNamespacedPod({ namespace: RIPPLE_NAMESPACE, name: p.metadata!.name! });
  const associated = (account.associations[CLUSTER] ?? []).some((a) => a.namespace === RIPPLE_NAMESPACE && a.serviceAccount === FORWARDER_SERVICE_ACCOUNT && a.createdAt.getTime() <= Date.now());
  for (let i = 0; i < (newest.spec?.replicas ?? 0); i++) {
    const name = `${newest.metadata!.name}-${i}`;
    if (pods.some((p) => p.metadata?.name === name)) continue;
    const env = associated ? [{ name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' }] : [];
    await site.admin.core.createNamespacedPod({
      namespace: RIPPLE_NAMESPACE,
      body: { metadata: { name, labels: { 'app.kubernetes.io/name': 'ripple-forwarder' } }, spec: { serviceAccountName: FORWARDER_SERVICE_ACCOUNT, containers: [{ name: 'forwarder', image: 'ripple-forwarder:0.1.0', env }] } },
    });
  }
}

/** The AWS side once `osls deploy` created the stack (step 3): the stack, its access entries, the association. */
function deployed(): FakeAccount {
  const roles = { clone: 'ripple-prod-CloneRole-A', rollout: 'ripple-prod-RolloutRole-B', protect: 'ripple-prod-ProtectRole-C' } as const;
  const now = Date.now();
  return {
    region: REGION,
    accountId: ACCOUNT,
    stacks: {
      [`ripple-${STAGE}`]: {
        status: 'CREATE_COMPLETE',
        outputs: { RippleBusName: BUS, ForwarderRoleArn: FORWARDER_ROLE, CloneDlqUrl: `https://sqs/${ACCOUNT}/ripple-prod-clone-dlq`, ProtectDlqUrl: `https://sqs/${ACCOUNT}/ripple-prod-protect-dlq`, RolloutDlqUrl: `https://sqs/${ACCOUNT}/ripple-prod-rollout-dlq` },
        resources: [
          { logicalId: 'CloneRole', physicalId: roles.clone, type: 'AWS::IAM::Role' },
          { logicalId: 'RolloutRole', physicalId: roles.rollout, type: 'AWS::IAM::Role' },
          { logicalId: 'ProtectRole', physicalId: roles.protect, type: 'AWS::IAM::Role' },
          { logicalId: 'ProtectLambdaFunction', physicalId: 'ripple-prod-protect', type: 'AWS::Lambda::Function' },
          { logicalId: 'ForwarderPodIdentityProdEu', physicalId: ASSOCIATION, type: 'AWS::EKS::PodIdentityAssociation' },
        ],
      },
    },
    buses: [BUS],
    rules: Object.fromEntries(['clone', 'protect', 'rollout'].map((h) => [`${BUS}/ripple-prod-${h}`, { state: 'ENABLED', targets: [{ Id: h, Arn: `arn:${h}`, DeadLetterConfig: { Arn: `arn:${h}-dlq` } }] }])),
    accessEntries: Object.fromEntries((['clone', 'rollout', 'protect'] as const).map((h) => [`${CLUSTER}|arn:aws:iam::${ACCOUNT}:role/${roles[h]}`, { kubernetesGroups: [HANDLER_GROUPS[h]], type: 'STANDARD', policies: [] }])),
    associations: { [CLUSTER]: [{ associationId: 'a-1', associationArn: ASSOCIATION, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT, roleArn: FORWARDER_ROLE, createdAt: new Date(now - 1000) }] },
    // the new leader's startup resync reached the bus (within the metric period of its pods' start)
    metrics: { [`MatchedEvents|${BUS},ripple-prod-clone`]: [{ t: new Date(now), v: 1 }] },
    subscriptionFilters: { [`/aws/eks/${CLUSTER}/cluster`]: [{ filterName: 'ripple-prod-protect', destinationArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ripple-prod-protect` }] },
  };
}

let stub: AwsStub;
let sink: ResponseSink;
let answers: any[] = [];
let dir = '';
const sites: Site[] = [];

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  dir = mkdtempSync(join(tmpdir(), 'ripple-install-order-'));
  stub = new AwsStub({ region: REGION, accountId: ACCOUNT, stacks: {}, buses: [], rules: {}, accessEntries: {}, associations: {}, metrics: {}, subscriptionFilters: {} });
  await stub.start();
  sink = await startResponseSink('/presigned');
  answers = sink.answers;
});

afterAll(async () => {
  await Promise.all(sites.map((s) => s.cluster.stop()));
  await stub?.stop();
  await sink?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The deploy-time reconcile as CloudFormation calls it once the association exists, with the rendered template's properties. */
async function deployTimeReconcile(site: Site, properties: Record<string, unknown>): Promise<void> {
  const handler = makeHandler({
    config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: CLUSTER }),
    kubeFor: async () => kubeFromKubeConfig(site.cluster.kubeConfig(CLONE_IDENTITY), CLUSTER),
    policies: () => POLICIES,
    observability: ((o) => () => o)(quietObservability()),
    associationSettleMs: 0,
  }) as unknown as (e: unknown, c: unknown) => Promise<unknown>;
  answers.length = 0;
  await handler(
    { RequestType: 'Create', ResponseURL: sink.url, StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/ripple-prod/1`, RequestId: 'r', LogicalResourceId: 'PoliciesReconcile', ResourceType: 'Custom::RippleReconcile', ResourceProperties: { ServiceToken: 'x', PoliciesHash: 'h', ...properties } },
    lambdaContext,
  );
}

async function doctor(site: Site): Promise<CheckResult[]> {
  return runDoctor({ stage: STAGE, region: REGION, endpoint: stub.url, kubeconfig: site.kubeconfig, cluster: CLUSTER }, { print: () => {} });
}

describe('docs/deploy.md, step by step', () => {
  it('cluster side, then the stack: the forwarder pods end up with Pod Identity credentials, no manual restart; ripple doctor passes', async () => {
    // Step 2: the cluster side; its pods start before any association exists: no credentials.
    const site = await clusterSide(dir);
    sites.push(site);
    await podsFor(site, stub.account);
    const before = (await site.admin.core.listNamespacedPod({ namespace: RIPPLE_NAMESPACE })).items;
    expect(before).toHaveLength(2);
    expect(before.every((p) => !(p.spec?.containers[0]?.env ?? []).length)).toBe(true);
    // Step 3: the stack. CloudFormation creates the association, then calls the reconcile (the template's
    // ForwarderAssociations/BusName; test/integration/aws/package.test.ts checks the template wires them).
    stub.account = deployed();
    await deployTimeReconcile(site, { Clusters: [CLUSTER], ForwarderAssociations: { [CLUSTER]: ASSOCIATION }, BusName: BUS });
    expect(answers.map((a) => a.Status)).toEqual(['SUCCESS']);
    await podsFor(site, stub.account);
    // Step 4: ripple doctor.
    const results = await doctor(site);
    expect(results.filter((r) => r.status !== 'ok').map((r) => `${r.name}: ${r.detail}`)).toEqual([]);
    const after = (await site.admin.core.listNamespacedPod({ namespace: RIPPLE_NAMESPACE })).items;
    expect(after).toHaveLength(2);
    expect(after.every((p) => p.spec?.containers[0]?.env?.some((e) => e.name === 'AWS_CONTAINER_CREDENTIALS_FULL_URI'))).toBe(true);
  });

  it('the same order without the restart (a stack that does not pass the associations): ripple doctor catches the pods without credentials', async () => {
    stub.account = { region: REGION, accountId: ACCOUNT, stacks: {}, buses: [], rules: {}, accessEntries: {}, associations: {}, metrics: {}, subscriptionFilters: {} };
    const site = await clusterSide(dir);
    sites.push(site);
    await podsFor(site, stub.account);
    stub.account = deployed();
    await deployTimeReconcile(site, { Clusters: [CLUSTER] });
    expect(answers.map((a) => a.Status)).toEqual(['SUCCESS']);
    await podsFor(site, stub.account);
    const results = await doctor(site);
    const credentials = results.find((r) => r.name === `credentials ${CLUSTER}`)!;
    expect(credentials.status).toBe('fail');
    expect(credentials.fix).toMatch(/rollout restart deployment\/ripple-forwarder/);
  });
});
