/**
 * `ripple doctor` with the real AWS SDK clients against test/support/aws-stub.ts (the services' wire protocols on
 * a local port: only the endpoint changes) and the real kubeconfig path against the embedded cluster carrying
 * the cluster side (the handlers' ClusterRoleBindings, the forwarder's ConfigMap and pods).
 *
 * A healthy stage passes every check; then each check is broken the way it breaks in real life, one at a time,
 * and must fail alone, with what to do. The CLI process itself (exit codes, one line per check) at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../../../cli/commands/doctor.ts';
import { clusterFromContext, type CheckResult } from '../../../../cli/doctor/checks.ts';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../../../../core/constants.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../../kube/kubeconfig.ts';
import { loadPolicies } from '../../../../core/policy/load.ts';
import { startCluster, type EmbeddedCluster } from '../../../../infra/local/cluster/index.ts';
import { AwsStub, type FakeAccount } from '../../../support/aws-stub.ts';
import { applyRenderedRbac } from '../../../support/rbac.ts';

const root = join(import.meta.dirname, '../../../..');
const STAGE = 'test';
const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const CLUSTERS = ['prod-eu', 'prod-eu-2'];
const BUS = `ripple-${STAGE}`;
const ROLE = { clone: `ripple-${STAGE}-CloneRole-AAA`, rollout: `ripple-${STAGE}-RolloutRole-BBB`, protect: `ripple-${STAGE}-ProtectRole-CCC` } as const;
const FORWARDER_ROLE = `arn:aws:iam::${ACCOUNT}:role/ripple-${STAGE}-ForwarderRole-DDD`;
const PROTECT_FN = `ripple-${STAGE}-protect`;
const assocArn = (c: string) => `arn:aws:eks:${REGION}:${ACCOUNT}:podidentityassociation/${c}/a-${c}`;
const queueUrl = (h: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/ripple-${STAGE}-${h}-dlq`;

let cluster: EmbeddedCluster;
let admin: Kube;
let stub: AwsStub;
let dir: string;
let kubeconfig: string;
/** When the forwarder pods were created (the embedded API server stamps them). */
let podsCreated: Date;

function healthy(): FakeAccount {
  const now = Date.now();
  const rules: FakeAccount['rules'] = {};
  for (const h of ['clone', 'protect', 'rollout']) {
    rules[`${BUS}/ripple-${STAGE}-${h}`] = { state: 'ENABLED', targets: [{ Id: h, Arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ripple-${STAGE}-${h}`, DeadLetterConfig: { Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:ripple-${STAGE}-${h}-dlq` } }] };
  }
  const accessEntries: FakeAccount['accessEntries'] = {};
  for (const c of CLUSTERS) for (const h of ['clone', 'rollout', 'protect'] as const) accessEntries[`${c}|arn:aws:iam::${ACCOUNT}:role/${ROLE[h]}`] = { kubernetesGroups: [HANDLER_GROUPS[h]], type: 'STANDARD', policies: [] };
  const associations: FakeAccount['associations'] = {};
  for (const c of CLUSTERS) associations[c] = [{ associationId: `a-${c}`, associationArn: assocArn(c), namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT, roleArn: FORWARDER_ROLE, createdAt: new Date(podsCreated.getTime() - 120_000) }];
  return {
    region: REGION,
    accountId: ACCOUNT,
    stacks: {
      [`ripple-${STAGE}`]: {
        status: 'UPDATE_COMPLETE',
        outputs: { RippleBusName: BUS, ForwarderRoleArn: FORWARDER_ROLE, CloneDlqUrl: queueUrl('clone'), ProtectDlqUrl: queueUrl('protect'), RolloutDlqUrl: queueUrl('rollout') },
        resources: [
          { logicalId: 'CloneRole', physicalId: ROLE.clone, type: 'AWS::IAM::Role' },
          { logicalId: 'RolloutRole', physicalId: ROLE.rollout, type: 'AWS::IAM::Role' },
          { logicalId: 'ProtectRole', physicalId: ROLE.protect, type: 'AWS::IAM::Role' },
          { logicalId: 'ProtectLambdaFunction', physicalId: PROTECT_FN, type: 'AWS::Lambda::Function' },
          { logicalId: 'ForwarderPodIdentityProdEu', physicalId: assocArn('prod-eu'), type: 'AWS::EKS::PodIdentityAssociation' },
          { logicalId: 'ForwarderPodIdentityProdEu2', physicalId: assocArn('prod-eu-2'), type: 'AWS::EKS::PodIdentityAssociation' },
        ],
      },
    },
    buses: [BUS],
    rules,
    accessEntries,
    associations,
    metrics: {
      // the forwarder's startup resync matched the clone rule after the pods started
      [`MatchedEvents|${BUS},ripple-${STAGE}-clone`]: [{ t: new Date(now - 60_000), v: 1 }, { t: new Date(now - 3_600_000), v: 4 }],
      [`ApproximateNumberOfMessagesVisible|ripple-${STAGE}-clone-dlq`]: [{ t: new Date(now - 300_000), v: 0 }],
    },
    subscriptionFilters: Object.fromEntries(CLUSTERS.map((c) => [`/aws/eks/${c}/cluster`, [{ filterName: `ripple-${STAGE}-protect-audit`, destinationArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${PROTECT_FN}` }]])),
  };
}

function forwarderPod(name: string, withEnv = true) {
  return {
    metadata: { name, namespace: RIPPLE_NAMESPACE, labels: { 'app.kubernetes.io/name': 'ripple-forwarder' } },
    spec: {
      serviceAccountName: FORWARDER_SERVICE_ACCOUNT,
      containers: [
        {
          name: 'forwarder',
          image: 'ripple-forwarder:0.1.0',
          // what the EKS Pod Identity webhook injects into pods created after the association
          env: withEnv
            ? [
                { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
                { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE', value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token' },
              ]
            : [],
        },
      ],
    },
  };
}

async function doctor(extra: Record<string, string> = {}): Promise<{ results: CheckResult[]; lines: string[] }> {
  const lines: string[] = [];
  const results = await runDoctor({ stage: STAGE, region: REGION, endpoint: stub.url, kubeconfig, cluster: 'prod-eu', ...extra }, { print: (l) => lines.push(l) });
  return { results, lines };
}

/** The results that failed, as `name` (checks are compared by name). */
const failed = (rs: CheckResult[]) => rs.filter((r) => r.status === 'fail').map((r) => r.name);
const result = (rs: CheckResult[], name: string) => rs.find((r) => r.name === name)!;

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
  process.env.AWS_SECRET_ACCESS_KEY = 'secret';
  cluster = await startCluster({ authorization: 'RBAC' });
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'prod-eu');
  dir = mkdtempSync(join(tmpdir(), 'ripple-doctor-'));
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, cluster.kubeConfig().exportConfig());
  // The cluster side as `kubectl apply -k` leaves it: the handlers' bindings, the forwarder's ConfigMap and pods.
  for (const ns of [RIPPLE_NAMESPACE, 'platform']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
  await applyRenderedRbac(admin, loadPolicies(join(root, 'policies')), 'clone', 'rollout', 'protect');
  await admin.core.createNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: 'ripple-forwarder' }, data: { RIPPLE_CLUSTER_NAME: 'prod-eu', RIPPLE_EVENT_BUS_NAME: BUS, AWS_REGION: REGION } } });
  for (const n of ['ripple-forwarder-7d9f-a', 'ripple-forwarder-7d9f-b']) await admin.core.createNamespacedPod({ namespace: RIPPLE_NAMESPACE, body: forwarderPod(n) });
  const pod = await admin.core.readNamespacedPod({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder-7d9f-a' });
  podsCreated = new Date(pod.metadata!.creationTimestamp!);
  stub = new AwsStub(healthy());
  await stub.start();
}, 60_000);

afterAll(async () => {
  await stub?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stub.account = healthy();
});

describe('ripple doctor on a healthy stage', () => {
  it('passes every check, one line each, through the real SDK clients and kubeconfig', async () => {
    const { results, lines } = await doctor();
    expect(failed(results), lines.join('\n')).toEqual([]);
    expect(results.map((r) => `${r.status} ${r.name}`)).toEqual([
      'ok stack',
      'ok bus',
      'ok access prod-eu',
      'ok access prod-eu-2',
      'ok pod identity prod-eu',
      'ok pod identity prod-eu-2',
      'ok forwarder prod-eu',
      'ok credentials prod-eu',
      // no kubeconfig context for prod-eu-2: its in-cluster checks say so (a stack without StageClusters: the
      // clusters are those with an association)
      'skip forwarder prod-eu-2',
      'ok events',
      'ok audit prod-eu',
      'ok audit prod-eu-2',
      'ok dead letters',
    ]);
    expect(lines.at(-1)).toBe('all checks passed');
    expect(lines.filter((l) => l.startsWith('✓ '))).toHaveLength(results.length - 1);
    expect(result(results, 'credentials prod-eu').detail).toMatch(/2 forwarder pod\(s\), all created after the association/);
    expect(result(results, 'access prod-eu').detail).toMatch(/the cluster binds each group/);
    // it asked each service what it should
    expect(new Set(stub.calls.map((c) => `${c.service}.${c.operation}`))).toEqual(
      new Set([
        'cloudformation.DescribeStacks',
        'cloudformation.ListStackResources',
        'eventbridge.DescribeEventBus',
        'eventbridge.DescribeRule',
        'eventbridge.ListTargetsByRule',
        'eks.DescribeAccessEntry',
        'eks.ListAssociatedAccessPolicies',
        'eks.ListPodIdentityAssociations',
        'eks.DescribePodIdentityAssociation',
        'cloudwatch.GetMetricData',
        'logs.DescribeSubscriptionFilters',
      ]),
    );
  });
});

describe('each check fails alone, saying what to do', () => {
  const stack = () => stub.account.stacks[`ripple-${STAGE}`]!;

  const cases: [string, () => void, string, RegExp][] = [
    [
      'stack: a first deploy that rolled back (ROLLBACK_COMPLETE)',
      () => (stack().status = 'ROLLBACK_COMPLETE'),
      'stack',
      /remove the stack \(npx osls remove --stage test\) and deploy again/,
    ],
    ['bus: a rule someone disabled', () => (stub.account.rules[`${BUS}/ripple-${STAGE}-protect`]!.state = 'DISABLED'), 'bus', /aws events enable-rule/],
    [
      'access: an access policy on top of the handler group (cluster admin)',
      () => stub.account.accessEntries[`prod-eu-2|arn:aws:iam::${ACCOUNT}:role/${ROLE.rollout}`]!.policies.push('arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy'),
      'access prod-eu-2',
      /aws eks disassociate-access-policy/,
    ],
    [
      'access: an access entry with another group',
      () => (stub.account.accessEntries[`prod-eu|arn:aws:iam::${ACCOUNT}:role/${ROLE.clone}`]!.kubernetesGroups = ['system:masters']),
      'access prod-eu',
      /deploy the stage again/,
    ],
    [
      "pod identity: the forwarder's service account is another stage's",
      () => (stub.account.associations['prod-eu-2']![0]!.roleArn = `arn:aws:iam::${ACCOUNT}:role/ripple-prod-ForwarderRole-EEE`),
      'pod identity prod-eu-2',
      /one ripple stage per cluster/,
    ],
    [
      'credentials: the association was created after the pods (the docs order bug of issue 13)',
      () => (stub.account.associations['prod-eu']![0]!.createdAt = new Date(podsCreated.getTime() + 60_000)),
      'credentials prod-eu',
      /kubectl -n ripple-system rollout restart deployment\/ripple-forwarder/,
    ],
    [
      'events: nothing reached the bus',
      () => (stub.account.metrics = { [`ApproximateNumberOfMessagesVisible|ripple-${STAGE}-clone-dlq`]: [] }),
      'events',
      /kubectl -n ripple-system logs deployment\/ripple-forwarder/,
    ],
    [
      'events: the last event is older than the running forwarder pods (it lost its credentials when restarted)',
      () => (stub.account.metrics[`MatchedEvents|${BUS},ripple-${STAGE}-clone`] = [{ t: new Date(podsCreated.getTime() - 3_600_000), v: 5 }]),
      'events',
      /the forwarder started but nothing reached the bus since/,
    ],
    [
      'audit: the subscription filter is gone and the other slot is taken twice',
      () =>
        (stub.account.subscriptionFilters['/aws/eks/prod-eu/cluster'] = [
          { filterName: 'other-a', destinationArn: 'arn:aws:lambda:eu-west-1:1:function:other' },
          { filterName: 'other-b', destinationArn: 'arn:aws:firehose:eu-west-1:1:deliverystream/x' },
        ]),
      'audit prod-eu',
      /two subscription filters per log group/,
    ],
    ['audit: audit logging off (no log group)', () => delete stub.account.subscriptionFilters['/aws/eks/prod-eu-2/cluster'], 'audit prod-eu-2', /aws eks update-cluster-config --name prod-eu-2 --logging/],
    ['dead letters: messages in a DLQ', () => (stub.account.metrics[`ApproximateNumberOfMessagesVisible|ripple-${STAGE}-rollout-dlq`] = [{ t: new Date(Date.now() - 120_000), v: 3 }]), 'dead letters', /aws sqs receive-message --queue-url https:\/\/sqs\.eu-west-1\.amazonaws\.com\/123456789012\/ripple-test-rollout-dlq/],
  ];
  it.each(cases)('%s', async (_what, breakIt, check, fix) => {
    breakIt();
    const { results, lines } = await doctor();
    expect(failed(results)).toEqual([check]);
    expect(result(results, check).fix).toMatch(fix);
    const line = lines.find((l) => l.startsWith(`✗ ${check} `));
    expect(line, lines.join('\n')).toContain(' -> ');
    expect(lines.at(-1)).toBe('1 check(s) failed');
  });

  it('stack: no stack at all -> the deploy command; everything else skipped', async () => {
    delete stub.account.stacks[`ripple-${STAGE}`];
    const { results } = await doctor();
    expect(failed(results)).toEqual(['stack']);
    expect(result(results, 'stack').fix).toMatch(/npx osls deploy --stage test/);
    expect(results.filter((r) => r.status === 'skip')).toHaveLength(8);
  });

  it('access: a ClusterRoleBinding missing in the cluster', async () => {
    await admin.objects.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'ripple-rollout' } });
    try {
      const { results } = await doctor();
      expect(failed(results)).toEqual(['access prod-eu']);
      expect(result(results, 'access prod-eu').detail).toMatch(/no \(Cluster\)RoleBinding for group ripple:rollout in the cluster/);
      expect(result(results, 'access prod-eu').fix).toMatch(/kubectl apply -k/);
    } finally {
      await applyRenderedRbac(admin, loadPolicies(join(root, 'policies')), 'rollout');
    }
  });

  it("forwarder: its ConfigMap sends to another stage's bus", async () => {
    const cm = await admin.core.readNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
    const changed = await admin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...cm, data: { ...cm.data, RIPPLE_EVENT_BUS_NAME: 'ripple-staging' } } });
    try {
      const { results } = await doctor();
      expect(failed(results)).toEqual(['forwarder prod-eu']);
      expect(result(results, 'forwarder prod-eu').detail).toMatch(/RIPPLE_EVENT_BUS_NAME is "ripple-staging", this stage's bus is "ripple-test"/);
      expect(result(results, 'forwarder prod-eu').fix).toMatch(/overlay/);
    } finally {
      await admin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...changed, data: cm.data } });
    }
  });

  it('credentials: a pod without the Pod Identity environment (no agent add-on, or created before the association)', async () => {
    await admin.core.createNamespacedPod({ namespace: RIPPLE_NAMESPACE, body: forwarderPod('ripple-forwarder-old', false) });
    try {
      const { results } = await doctor();
      // the new pod is newer than the last event too: both say so
      expect(failed(results)).toContain('credentials prod-eu');
      expect(result(results, 'credentials prod-eu').detail).toMatch(/1 of 3 forwarder pods without Pod Identity credentials: ripple-forwarder-old has no AWS_CONTAINER_CREDENTIALS_FULL_URI/);
    } finally {
      await admin.core.deleteNamespacedPod({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder-old' });
    }
  });

  it('forwarder: a kubeconfig context that is none of the stage clusters', async () => {
    const { results } = await doctor({ cluster: '' });
    expect(failed(results)).toEqual(['forwarder']);
    expect(result(results, 'forwarder').fix).toMatch(/--cluster NAME/);
  });
});

describe('ripple doctor on a fleet: a cluster in another region and one in another account', () => {
  const EDGE_ACCOUNT = '210987654321';
  const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`;
  let edge: EmbeddedCluster;
  let edgeAdmin: Kube;
  let fleetKubeconfig = '';

  function fleetAccount(): FakeAccount {
    const a = healthy();
    const stack = a.stacks[`ripple-${STAGE}`]!;
    stack.outputs.StageClusters = `prod-eu=${REGION},us=us-east-1,edge=eu-central-1/${EDGE_ACCOUNT}`;
    stack.resources = stack.resources.filter((r) => r.logicalId !== 'ForwarderPodIdentityProdEu2');
    // us: the hub's roles mapped by its spoke stack's access entries, its own forwarder role
    for (const h of ['clone', 'rollout', 'protect'] as const) a.accessEntries[`us|arn:aws:iam::${ACCOUNT}:role/${ROLE[h]}`] = { kubernetesGroups: [HANDLER_GROUPS[h]], type: 'STANDARD', policies: [] };
    // us: its audit log subscribed (its spoke stack) to the audit destination of us-east-1
    a.subscriptionFilters['/aws/eks/us/cluster'] = [{ filterName: `ripple-${STAGE}-protect`, destinationArn: `arn:aws:logs:us-east-1:${ACCOUNT}:destination:ripple-${STAGE}-audit` }];
    a.associations.us = [{ associationId: 'a-us', associationArn: `arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/us/a-us`, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT, roleArn: `arn:aws:iam::${ACCOUNT}:role/ripple-${STAGE}-us-forwarder`, createdAt: new Date(podsCreated.getTime() - 120_000) }];
    return a;
  }

  async function fleetDoctor() {
    const lines: string[] = [];
    const results = await runDoctor({ stage: STAGE, region: REGION, endpoint: stub.url, kubeconfig: fleetKubeconfig, context: 'prod-eu' }, { print: (l) => lines.push(l) });
    return { results, lines };
  }

  beforeAll(async () => {
    // edge: its own cluster side (bindings, a forwarder sending to the hub bus by ARN, in the hub's region)
    edge = await startCluster({ authorization: 'RBAC' });
    edgeAdmin = kubeFromKubeConfig(edge.kubeConfig(), 'edge');
    for (const ns of [RIPPLE_NAMESPACE, 'platform']) await edgeAdmin.core.createNamespace({ body: { metadata: { name: ns } } });
    await applyRenderedRbac(edgeAdmin, loadPolicies(join(root, 'policies')), 'clone', 'rollout', 'protect');
    await edgeAdmin.core.createNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: 'ripple-forwarder' }, data: { RIPPLE_CLUSTER_NAME: 'edge', RIPPLE_EVENT_BUS_NAME: BUS_ARN, AWS_REGION: REGION } } });
    await edgeAdmin.core.createNamespacedPod({ namespace: RIPPLE_NAMESPACE, body: forwarderPod('ripple-forwarder-edge-a') });
    // one kubeconfig, a context per cluster named after it (us: none)
    const { KubeConfig } = await import('@kubernetes/client-node');
    const parts = [['prod-eu', cluster], ['edge', edge]] as const;
    const merged = new KubeConfig();
    merged.loadFromOptions({
      clusters: parts.map(([n, c]) => ({ ...c.kubeConfig().getCurrentCluster()!, name: n })),
      users: parts.map(([n, c]) => ({ ...c.kubeConfig().getCurrentUser()!, name: `${n}-admin` })),
      contexts: parts.map(([n]) => ({ name: n, cluster: n, user: `${n}-admin` })),
      currentContext: 'prod-eu',
    });
    fleetKubeconfig = join(dir, 'fleet-kubeconfig');
    writeFileSync(fleetKubeconfig, merged.exportConfig());
  }, 60_000);

  afterAll(async () => {
    await edge?.stop();
  });

  beforeEach(() => {
    stub.account = fleetAccount();
  });

  it('checks every cluster of the stage, each where it is; the other account\'s AWS side is left to its spoke stack', async () => {
    const { results, lines } = await fleetDoctor();
    expect(failed(results), lines.join('\n')).toEqual([]);
    expect(results.map((r) => `${r.status} ${r.name}`)).toEqual([
      'ok stack',
      'ok bus',
      'ok access prod-eu',
      'ok access us',
      'ok access edge', // its bindings, through its context
      'ok pod identity prod-eu',
      'ok pod identity us',
      'skip pod identity edge',
      'ok forwarder prod-eu',
      'ok credentials prod-eu',
      'skip forwarder us',
      'ok forwarder edge',
      'skip credentials edge',
      'ok events',
      'ok audit prod-eu',
      'ok audit us',
      'skip audit edge',
      'ok dead letters',
    ]);
    // us was read in us-east-1 with the spoke's forwarder role expected; prod-eu in the stack's region
    const eksRegions = (op: string) => new Set(stub.calls.filter((c) => c.service === 'eks' && c.operation === op).map((c) => c.region));
    expect(eksRegions('DescribeAccessEntry')).toEqual(new Set([REGION, 'us-east-1']));
    // us's audit log was read in its region; edge's is its account's business
    expect(stub.calls.filter((c) => c.service === 'logs' && c.region === 'us-east-1').length).toBeGreaterThan(0);
    expect(result(results, 'audit us').detail).toBe(`/aws/eks/us/cluster -> destination ripple-${STAGE}-audit (us-east-1) (1 of 2 subscription filters used)`);
    expect(result(results, 'audit edge').detail).toMatch(/in account 210987654321: its spoke stack subscribes \/aws\/eks\/edge\/cluster to the audit destination ripple-test-audit of eu-central-1/);
    expect(result(results, 'pod identity us').detail).toContain(`ripple-${STAGE}-us-forwarder`);
    expect(result(results, 'forwarder edge').detail).toMatch(/by ARN, from another account/);
    expect(result(results, 'access edge').detail).toMatch(/account 210987654321: access entries in its spoke stack.*the cluster binds each group/);
    expect(result(results, 'forwarder us').detail).toMatch(/aws eks update-kubeconfig --name us --region us-east-1 --alias us/);
  });

  it('another region\'s audit log not subscribed to its region\'s destination: fails naming the two stacks to deploy', async () => {
    stub.account.subscriptionFilters['/aws/eks/us/cluster'] = [{ filterName: 'other', destinationArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${PROTECT_FN}` }];
    const { results } = await fleetDoctor();
    expect(result(results, 'audit us')).toMatchObject({ status: 'fail', detail: `/aws/eks/us/cluster has 1 subscription filter(s), none to destination ripple-${STAGE}-audit (us-east-1)`, fix: expect.stringMatching(/deploy infra\/aws\/audit-destination.yml in us-east-1 \(the hub's account\), then the spoke stack with its AuditDestinationArn/) });
    delete stub.account.subscriptionFilters['/aws/eks/us/cluster'];
    expect(result((await fleetDoctor()).results, 'audit us').fix).toMatch(/aws eks update-cluster-config --name us --region us-east-1 --logging/);
  });

  it('fails per cluster: the other account\'s forwarder naming the bus without its ARN, the other region\'s access entry missing', async () => {
    const cm = await edgeAdmin.core.readNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' });
    const changed = await edgeAdmin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...cm, data: { ...cm.data, RIPPLE_EVENT_BUS_NAME: BUS } } });
    delete stub.account.accessEntries[`us|arn:aws:iam::${ACCOUNT}:role/${ROLE.rollout}`];
    try {
      const { results } = await fleetDoctor();
      expect(failed(results)).toEqual(['access us', 'forwarder edge']);
      expect(result(results, 'access us').fix).toMatch(/deploy its spoke stack in us-east-1/);
      expect(result(results, 'forwarder edge').detail).toMatch(`this stage's bus is "${BUS_ARN}" (its ARN: the cluster is in another account)`);
    } finally {
      await edgeAdmin.core.replaceNamespacedConfigMap({ namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder', body: { ...changed, data: cm.data } });
    }
  });

  it('edge unreachable (its API server stopped): its in-cluster checks fail naming it, the others pass', async () => {
    const { results } = await fleetDoctor();
    expect(failed(results)).toEqual([]);
    await edge.stop();
    const after = await fleetDoctor();
    expect(failed(after.results).sort()).toEqual(['access edge', 'credentials edge', 'forwarder edge']);
    expect(result(after.results, 'forwarder edge').detail).toMatch(/ConfigMap ripple-system\/ripple-forwarder: /);
  });
});

describe('clusterFromContext', () => {
  it.each([
    ['arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu', 'prod-eu'],
    ['prod-eu-2.eu-west-1.eksctl.io', 'prod-eu-2'],
    ['prod-eu', 'prod-eu'],
    ['kind-local', null],
    [undefined, null],
  ])('%s -> %s', (entry, expected) => {
    expect(clusterFromContext(entry, CLUSTERS)).toBe(expected);
  });
});

describe('the ripple doctor command', () => {
  function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, ['cli/ripple.ts', 'doctor', ...args], { cwd: root, timeout: 60_000, env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' } }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  }
  const args = () => ['--stage', STAGE, '--region', REGION, '--endpoint', stub.url, '--kubeconfig', kubeconfig, '--cluster', 'prod-eu'];

  it('exits 0 when every check passes, 1 when one fails; one line per check', async () => {
    const ok = await cli(args());
    expect(ok.code, ok.stderr).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ripple doctor: stage test/);
    expect(lines.filter((l) => /^[✓✗-] /.test(l))).toHaveLength(13);
    stub.account.rules[`${BUS}/ripple-${STAGE}-clone`]!.state = 'DISABLED';
    const bad = await cli(args());
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^✗ bus +event bus ripple-test: ripple-test-clone is DISABLED -> /m);
  });
});
