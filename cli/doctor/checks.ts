/**
 * `ripple doctor`: after a deploy, is a stage wired and working? Each check reads what is there (AWS APIs with
 * the user's credentials, the cluster through the user's kubeconfig) and answers ok or fail with what to do.
 * Nothing is written anywhere. The checks, in order (later ones skip when what they need failed):
 *
 *   stack          CloudFormation stack ripple-<stage>: a *_COMPLETE state that is not a rollback; its outputs and
 *                  resources (roles, function, associations: which clusters) for the other checks
 *   bus            the event bus and the three rules: enabled, each with its target
 *   access         per cluster: each handler role's access entry maps it to its group ripple:<handler> only, no
 *                  access policy on top; on the kubeconfig's cluster, the ClusterRoleBinding of that group
 *   pod identity   per cluster: one association for ripple-system/ripple-forwarder, to this stage's forwarder role
 *   forwarder      the kubeconfig's cluster: the forwarder's ConfigMap names this stage's bus, cluster and region
 *   credentials    the kubeconfig's cluster: every forwarder pod was created after the association and carries the
 *                  Pod Identity environment (AWS_CONTAINER_CREDENTIALS_FULL_URI) EKS injects at pod creation
 *   events         the last ripple event that reached the bus (EventBridge MatchedEvents of the three rules), newer
 *                  than the forwarder pods (each forwarder start sends a resync): its last successful PutEvents
 *   audit          per cluster: the protect function's subscription filter on /aws/eks/<cluster>/cluster
 *   dead letters   the three dead-letter queues are empty (the SQS metric the DLQ alarms watch)
 */
import { CloudFormationClient, DescribeStacksCommand, ListStackResourcesCommand, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeSubscriptionFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeAccessEntryCommand, DescribePodIdentityAssociationCommand, EKSClient, ListAssociatedAccessPoliciesCommand, ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import { DescribeEventBusCommand, DescribeRuleCommand, EventBridgeClient, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE, type HandlerName } from '../../core/constants.ts';
import type { KubeconfigKube } from '../../kube/kubeconfig.ts';

export type Status = 'ok' | 'fail' | 'skip';
export interface CheckResult {
  /** Short name, one word or two: `stack`, `access prod-eu`, ... */
  name: string;
  status: Status;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface DoctorClients {
  cfn: Pick<CloudFormationClient, 'send'>;
  events: Pick<EventBridgeClient, 'send'>;
  eks: Pick<EKSClient, 'send'>;
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  logs: Pick<CloudWatchLogsClient, 'send'>;
}

export interface DoctorInput {
  stage: string;
  clients: DoctorClients;
  /**
   * The kubeconfig: its API, context name, the context's cluster entry (an EKS ARN, eksctl's NAME.<region>.eksctl.io,
   * or a name) and `--cluster` when given. null: no kubeconfig (the in-cluster checks fail).
   */
  kube: { api: KubeconfigKube; context: string; contextCluster?: string; cluster?: string } | null;
  /** Why there is no kube (shown on the checks that need it). */
  kubeProblem?: string;
  /** How far back to look for the forwarder's events (ms). */
  sinceMs?: number;
  now?: () => number;
}

const HANDLERS: HandlerName[] = ['clone', 'rollout', 'protect'];
const ROLE_ID: Record<HandlerName, string> = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' };
const DLQ_OUTPUT = { clone: 'CloneDlqUrl', protect: 'ProtectDlqUrl', rollout: 'RolloutDlqUrl' } as const;
const FORWARDER_LABEL = 'app.kubernetes.io/name=ripple-forwarder';
const POD_IDENTITY_ENV = 'AWS_CONTAINER_CREDENTIALS_FULL_URI';
const ASSOCIATION_ARN = /^arn:[^:]+:eks:[^:]+:\d+:podidentityassociation\/([^/]+)\/([^/]+)$/;

interface StackFacts {
  name: string;
  region: string;
  account: string;
  partition: string;
  outputs: Record<string, string>;
  physical: Record<string, string>;
  clusters: string[];
  /** Association ARN per cluster, as the stack created it. */
  associations: Record<string, string>;
  busName: string;
}

interface AssociationFacts {
  arn: string;
  createdAt: Date | null;
}

const errName = (err: unknown) => (err as { name?: string }).name ?? 'Error';
const errText = (err: unknown) => `${errName(err)}: ${(err as Error).message}`;
const iso = (d: Date | number) => new Date(d).toISOString().replace(/\.\d{3}Z$/, 'Z');
const ago = (ms: number) => (ms < 90_000 ? `${Math.round(ms / 1000)}s` : ms < 5_400_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);

async function stackCheck(input: DoctorInput): Promise<[CheckResult, StackFacts | null]> {
  const name = `ripple-${input.stage}`;
  const deploy = `npx osls deploy --stage ${input.stage} --param="cluster=<cluster>"`;
  let stack;
  try {
    stack = (await input.clients.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0];
  } catch (err) {
    if (/does not exist/.test((err as Error).message)) return [{ name: 'stack', status: 'fail', detail: `${name} does not exist (region?)`, fix: `deploy it: ${deploy} (docs/deploy.md), or pass --region` }, null];
    return [{ name: 'stack', status: 'fail', detail: `${name}: ${errText(err)}`, fix: 'check your AWS credentials and region (cloudformation:DescribeStacks)' }, null];
  }
  if (!stack) return [{ name: 'stack', status: 'fail', detail: `${name} does not exist`, fix: `deploy it: ${deploy}` }, null];
  const status = stack.StackStatus ?? 'UNKNOWN';
  const arn = /^arn:([^:]+):cloudformation:([^:]+):(\d+):/.exec(stack.StackId ?? '');
  const outputs = Object.fromEntries((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  // ListStackResources pages (DescribeStackResources stops at 100 resources; each cluster adds 4 to 6)
  const resources: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await input.clients.cfn.send(new ListStackResourcesCommand({ StackName: name, ...(token ? { NextToken: token } : {}) }));
    resources.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token);
  const physical = Object.fromEntries(resources.map((r) => [r.LogicalResourceId ?? '', r.PhysicalResourceId ?? '']));
  const associations: Record<string, string> = {};
  for (const r of resources) {
    const m = r.ResourceType === 'AWS::EKS::PodIdentityAssociation' ? ASSOCIATION_ARN.exec(r.PhysicalResourceId ?? '') : null;
    if (m) associations[m[1]!] = r.PhysicalResourceId!;
  }
  const facts: StackFacts = {
    name,
    partition: arn?.[1] ?? 'aws',
    region: arn?.[2] ?? '',
    account: arn?.[3] ?? '',
    outputs,
    physical,
    clusters: Object.keys(associations),
    associations,
    busName: outputs.RippleBusName ?? `ripple-${input.stage}`,
  };
  const when = stack.LastUpdatedTime ?? stack.CreationTime;
  const detail = `${name} ${status}${when ? ` (${iso(when)})` : ''}, clusters ${facts.clusters.join(', ') || 'none'}`;
  if (status === 'ROLLBACK_COMPLETE' || status === 'ROLLBACK_FAILED') {
    return [{ name: 'stack', status: 'fail', detail, fix: `the first deploy failed and was rolled back; read why (aws cloudformation describe-stack-events --stack-name ${name}), fix it, then remove the stack (npx osls remove --stage ${input.stage}) and deploy again` }, null];
  }
  if (/_IN_PROGRESS$/.test(status)) return [{ name: 'stack', status: 'fail', detail, fix: 'a deploy or removal is running: wait for it, then run ripple doctor again' }, facts];
  if (status === 'UPDATE_ROLLBACK_COMPLETE') return [{ name: 'stack', status: 'fail', detail, fix: `the last deploy failed and was rolled back (the stack runs the previous version); read why: aws cloudformation describe-stack-events --stack-name ${name}` }, facts];
  if (!/_COMPLETE$/.test(status) || /DELETE/.test(status)) return [{ name: 'stack', status: 'fail', detail, fix: `see aws cloudformation describe-stack-events --stack-name ${name}` }, null];
  if (!facts.clusters.length) return [{ name: 'stack', status: 'fail', detail, fix: 'the stack has no forwarder pod identity association: deploy this version of serverless.yml' }, facts];
  return [{ name: 'stack', status: 'ok', detail }, facts];
}

async function busCheck(input: DoctorInput, s: StackFacts): Promise<CheckResult> {
  const fix = `deploy the stage again (npx osls deploy --stage ${input.stage} ...); a rule someone disabled: aws events enable-rule --event-bus-name ${s.busName} --name <rule>`;
  try {
    await input.clients.events.send(new DescribeEventBusCommand({ Name: s.busName }));
  } catch (err) {
    return { name: 'bus', status: 'fail', detail: `event bus ${s.busName}: ${errText(err)}`, fix };
  }
  const problems: string[] = [];
  for (const h of ['clone', 'protect', 'rollout']) {
    const rule = `ripple-${input.stage}-${h}`;
    try {
      const r = await input.clients.events.send(new DescribeRuleCommand({ Name: rule, EventBusName: s.busName }));
      if (r.State !== 'ENABLED') problems.push(`${rule} is ${r.State ?? 'in an unknown state'}`);
      const targets = (await input.clients.events.send(new ListTargetsByRuleCommand({ Rule: rule, EventBusName: s.busName }))).Targets ?? [];
      if (!targets.length) problems.push(`${rule} has no target`);
      else if (targets.some((t) => !t.DeadLetterConfig?.Arn)) problems.push(`${rule}: a target without dead-letter queue`);
    } catch (err) {
      problems.push(`${rule}: ${errText(err)}`);
    }
  }
  if (problems.length) return { name: 'bus', status: 'fail', detail: `event bus ${s.busName}: ${problems.join('; ')}`, fix };
  return { name: 'bus', status: 'ok', detail: `event bus ${s.busName}, rules ripple-${input.stage}-clone/-protect/-rollout enabled with their targets and dead-letter queues` };
}

function roleArn(s: StackFacts, h: HandlerName): string {
  return `arn:${s.partition}:iam::${s.account}:role/${s.physical[ROLE_ID[h]] ?? `<${ROLE_ID[h]}>`}`;
}

async function accessCheck(input: DoctorInput, s: StackFacts, cluster: string, kubeCluster: string | null): Promise<CheckResult> {
  const name = `access ${cluster}`;
  const problems: string[] = [];
  const fixes = new Set<string>();
  for (const h of HANDLERS) {
    const principalArn = roleArn(s, h);
    try {
      const entry = (await input.clients.eks.send(new DescribeAccessEntryCommand({ clusterName: cluster, principalArn }))).accessEntry;
      const groups = entry?.kubernetesGroups ?? [];
      if (groups.length !== 1 || groups[0] !== HANDLER_GROUPS[h]) {
        problems.push(`${h}: groups [${groups.join(', ')}], expected [${HANDLER_GROUPS[h]}]`);
        fixes.add('deploy the stage again: the access entries are the stack\'s (infra/aws/clusters.cjs)');
      }
      const policies = (await input.clients.eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: cluster, principalArn }))).associatedAccessPolicies ?? [];
      if (policies.length) {
        problems.push(`${h}: access policies ${policies.map((p) => p.policyArn?.split('/').pop()).join(', ')} on top of its group (more than ripple needs)`);
        fixes.add(`aws eks disassociate-access-policy --cluster-name ${cluster} --principal-arn <role> --policy-arn <policy> (ripple's permissions are the ClusterRoles in infra/k8s/rbac/)`);
      }
    } catch (err) {
      problems.push(`${h}: ${errName(err) === 'ResourceNotFoundException' ? 'no access entry' : errText(err)}`);
      fixes.add(errName(err) === 'ResourceNotFoundException' ? 'deploy the stage again (the access entries are in the stack); the cluster must use authentication mode API or API_AND_CONFIG_MAP' : 'check your AWS credentials (eks:DescribeAccessEntry, eks:ListAssociatedAccessPolicies)');
    }
  }
  let inCluster = '';
  if (input.kube && kubeCluster === cluster) {
    // The rendered RBAC (infra/k8s/rbac/) binds each group with ClusterRoleBindings and/or RoleBindings.
    type Bindings = { items?: { subjects?: { kind: string; name: string }[] }[] };
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    try {
      const lists = await Promise.all(
        ['clusterrolebindings', 'rolebindings'].map((resource) => input.kube!.api.raw.request<Bindings>('GET', `${rbac}/${resource}`, { describe: { verb: 'list', resource } })),
      );
      const groups = new Set(lists.flatMap((l) => (l.items ?? []).flatMap((b) => (b.subjects ?? []).filter((x) => x.kind === 'Group').map((x) => x.name))));
      const unbound = HANDLERS.filter((h) => !groups.has(HANDLER_GROUPS[h]));
      if (unbound.length) {
        problems.push(`no (Cluster)RoleBinding for group ${unbound.map((h) => HANDLER_GROUPS[h]).join(', ')} in the cluster`);
        fixes.add('apply the cluster side: kubectl apply -k infra/k8s-overlays/<your-cluster>');
      }
    } catch (err) {
      problems.push(`listing role bindings: ${errText(err)}`);
      fixes.add('check your kubeconfig (list clusterrolebindings, rolebindings)');
    }
    inCluster = '; the cluster binds each group (infra/k8s/rbac/)';
  }
  if (problems.length) return { name, status: 'fail', detail: problems.join('; '), fix: [...fixes].join('; ') };
  return { name, status: 'ok', detail: `clone, rollout, protect roles -> groups ${HANDLERS.map((h) => HANDLER_GROUPS[h]).join(', ')}, no access policies${inCluster}` };
}

async function associationCheck(input: DoctorInput, s: StackFacts, cluster: string): Promise<[CheckResult, AssociationFacts | null]> {
  const name = `pod identity ${cluster}`;
  const who = `${RIPPLE_NAMESPACE}/${FORWARDER_SERVICE_ACCOUNT}`;
  try {
    const list = (await input.clients.eks.send(new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT }))).associations ?? [];
    if (!list.length) return [{ name, status: 'fail', detail: `no association for ${who}`, fix: `deploy the stage again (the association is in the stack); the cluster needs the eks-pod-identity-agent add-on` }, null];
    const id = list[0]!.associationId!;
    const a = (await input.clients.eks.send(new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: id }))).association;
    const expected = s.outputs.ForwarderRoleArn;
    if (expected && a?.roleArn !== expected) {
      return [{ name, status: 'fail', detail: `${who} is associated with role ${a?.roleArn}, not this stage's ${expected}`, fix: 'another stage (or someone) owns this cluster\'s forwarder: one ripple stage per cluster (docs/deploy.md, "Stages")' }, null];
    }
    const arn = a?.associationArn ?? list[0]!.associationArn ?? '';
    const createdAt = a?.createdAt ? new Date(a.createdAt) : null;
    return [{ name, status: 'ok', detail: `${who} -> ${a?.roleArn ?? '?'} (created ${createdAt ? iso(createdAt) : '?'})` }, { arn, createdAt }];
  } catch (err) {
    return [{ name, status: 'fail', detail: `${who}: ${errText(err)}`, fix: 'check your AWS credentials (eks:ListPodIdentityAssociations, eks:DescribePodIdentityAssociation) and the cluster name' }, null];
  }
}

interface Pod {
  metadata?: { name?: string; creationTimestamp?: string | Date };
  spec?: { containers?: { name?: string; env?: { name: string }[] }[] };
  status?: { phase?: string };
}

async function forwarderPods(input: DoctorInput): Promise<Pod[]> {
  const list = await input.kube!.api.raw.request<{ items?: Pod[] }>('GET', `/api/v1/namespaces/${RIPPLE_NAMESPACE}/pods`, { describe: { verb: 'list', resource: 'pods', namespace: RIPPLE_NAMESPACE }, query: { labelSelector: FORWARDER_LABEL } });
  return list.items ?? [];
}

async function forwarderConfigCheck(input: DoctorInput, s: StackFacts, cluster: string): Promise<CheckResult> {
  const name = `forwarder ${cluster}`;
  const overlay = 'set it in your overlay (infra/k8s-overlays/<your-cluster>) and kubectl apply -k it';
  try {
    const cm = await input.kube!.api.raw.request<{ data?: Record<string, string> }>('GET', `/api/v1/namespaces/${RIPPLE_NAMESPACE}/configmaps/ripple-forwarder`, { describe: { verb: 'get', resource: 'configmaps', namespace: RIPPLE_NAMESPACE, name: 'ripple-forwarder' } });
    const d = cm.data ?? {};
    const wrong: string[] = [];
    if (d.RIPPLE_EVENT_BUS_NAME !== s.busName) wrong.push(`RIPPLE_EVENT_BUS_NAME is "${d.RIPPLE_EVENT_BUS_NAME ?? ''}", this stage's bus is "${s.busName}"`);
    if (d.RIPPLE_CLUSTER_NAME !== cluster) wrong.push(`RIPPLE_CLUSTER_NAME is "${d.RIPPLE_CLUSTER_NAME ?? ''}", expected "${cluster}"`);
    if (s.region && d.AWS_REGION !== s.region) wrong.push(`AWS_REGION is "${d.AWS_REGION ?? ''}", the stack is in "${s.region}"`);
    if (wrong.length) return { name, status: 'fail', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder: ${wrong.join('; ')}`, fix: `${overlay} (a bus of another stage: one ripple stage per cluster)` };
    return { name, status: 'ok', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder sends to ${s.busName} as cluster ${cluster} in ${s.region}` };
  } catch (err) {
    return { name, status: 'fail', detail: `ConfigMap ${RIPPLE_NAMESPACE}/ripple-forwarder: ${errName(err) === 'NotFoundError' ? 'missing' : errText(err)}`, fix: 'install the cluster side: kubectl apply -k infra/k8s-overlays/<your-cluster>' };
  }
}

async function credentialsCheck(input: DoctorInput, cluster: string, association: AssociationFacts, pods: Pod[]): Promise<CheckResult> {
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

async function eventsCheck(input: DoctorInput, s: StackFacts, pods: Pod[] | null): Promise<CheckResult> {
  const now = (input.now ?? Date.now)();
  const sinceMs = input.sinceMs ?? 24 * 3_600_000;
  const rules = ['clone', 'protect', 'rollout'].map((h) => `ripple-${input.stage}-${h}`);
  const queries: MetricDataQuery[] = rules.map((rule, i) => ({
    Id: `m${i}`,
    MetricStat: { Metric: { Namespace: 'AWS/Events', MetricName: 'MatchedEvents', Dimensions: [{ Name: 'EventBusName', Value: s.busName }, { Name: 'RuleName', Value: rule }] }, Period: 300, Stat: 'Sum' },
    ReturnData: true,
  }));
  const logs = `kubectl -n ${RIPPLE_NAMESPACE} logs deployment/ripple-forwarder | grep -i -E 'putevents|denied|credential'`;
  let last = 0;
  try {
    const out = await input.clients.cloudwatch.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(now - sinceMs), EndTime: new Date(now), ScanBy: 'TimestampDescending' }));
    for (const r of out.MetricDataResults ?? []) {
      (r.Timestamps ?? []).forEach((t, i) => {
        if ((r.Values?.[i] ?? 0) > 0) last = Math.max(last, new Date(t).getTime());
      });
    }
  } catch (err) {
    return { name: 'events', status: 'fail', detail: `MatchedEvents on ${s.busName}: ${errText(err)}`, fix: 'check your AWS credentials (cloudwatch:GetMetricData)' };
  }
  if (!last) return { name: 'events', status: 'fail', detail: `no ripple event reached ${s.busName} in the last ${ago(sinceMs)}`, fix: `the forwarder's PutEvents fail or it is not running: ${logs}; run ripple doctor again a few minutes after a restart (metrics lag)` };
  // Each forwarder start sends a resync: the newest pod's start must be followed by an event on the bus. A
  // metric period is 5 minutes, so an event counts from the start of its period.
  const newest = Math.max(0, ...(pods ?? []).map((p) => (p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).getTime() : 0)));
  if (newest && last + 300_000 < newest) {
    return { name: 'events', status: 'fail', detail: `last ripple event on ${s.busName} at ${iso(last)}, before the newest forwarder pod started (${iso(newest)}, ${ago(now - newest)} ago)`, fix: `the forwarder started but nothing reached the bus since (no credentials? ${logs}); metrics lag a few minutes: run again if it just started` };
  }
  return { name: 'events', status: 'ok', detail: `last ripple event reached ${s.busName} ${ago(now - last)} ago (${iso(last)}, 5-minute metric periods)` };
}

async function auditCheck(input: DoctorInput, s: StackFacts, cluster: string): Promise<CheckResult> {
  const name = `audit ${cluster}`;
  const group = `/aws/eks/${cluster}/cluster`;
  const fn = s.physical.ProtectLambdaFunction ?? `ripple-${input.stage}-protect`;
  try {
    const filters = (await input.clients.logs.send(new DescribeSubscriptionFiltersCommand({ logGroupName: group }))).subscriptionFilters ?? [];
    const ours = filters.filter((f) => (f.destinationArn ?? '').endsWith(`:function:${fn}`));
    if (!ours.length) {
      return { name, status: 'fail', detail: `${group} has ${filters.length} subscription filter(s), none to ${fn}${filters.length >= 2 ? ' (both slots taken)' : ''}`, fix: filters.length >= 2 ? 'CloudWatch Logs allows two subscription filters per log group: free one (another stage?), then deploy again' : 'deploy the stage again (the subscription is in the stack)' };
    }
    return { name, status: 'ok', detail: `${group} -> ${fn} (${filters.length} of 2 subscription filters used)` };
  } catch (err) {
    if (errName(err) === 'ResourceNotFoundException') return { name, status: 'fail', detail: `${group} does not exist`, fix: `turn on audit logging: aws eks update-cluster-config --name ${cluster} --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}', then deploy again` };
    return { name, status: 'fail', detail: `${group}: ${errText(err)}`, fix: 'check your AWS credentials (logs:DescribeSubscriptionFilters)' };
  }
}

async function deadLetterCheck(input: DoctorInput, s: StackFacts): Promise<CheckResult> {
  const now = (input.now ?? Date.now)();
  const queues = (['clone', 'protect', 'rollout'] as const).map((h) => ({ h, url: s.outputs[DLQ_OUTPUT[h]] ?? '', name: (s.outputs[DLQ_OUTPUT[h]] ?? '').split('/').pop() || `ripple-${input.stage}-${h}-dlq` }));
  const queries: MetricDataQuery[] = queues.map((q, i) => ({
    Id: `q${i}`,
    MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: q.name }] }, Period: 300, Stat: 'Maximum' },
    ReturnData: true,
  }));
  let results;
  try {
    results = (await input.clients.cloudwatch.send(new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(now - 3_600_000), EndTime: new Date(now), ScanBy: 'TimestampDescending' }))).MetricDataResults ?? [];
  } catch (err) {
    return { name: 'dead letters', status: 'fail', detail: errText(err), fix: 'check your AWS credentials (cloudwatch:GetMetricData)' };
  }
  const depth = queues.map((q, i) => {
    const r = results.find((x) => x.Id === `q${i}`);
    return { ...q, depth: r?.Values?.length ? Number(r.Values[0]) : 0 };
  });
  const full = depth.filter((q) => q.depth > 0);
  const summary = depth.map((q) => `${q.name} ${q.depth}`).join(', ');
  if (full.length) {
    return { name: 'dead letters', status: 'fail', detail: `messages waiting: ${summary}`, fix: `read them (aws sqs receive-message --queue-url ${full[0]!.url || '<url>'}), fix the cause (ripple logs --stage ${input.stage} --errors), then redrive (docs/deploy.md, "Checking it works")` };
  }
  return { name: 'dead letters', status: 'ok', detail: `empty: ${summary} (latest 5-minute maximum)` };
}

const skip = (name: string, why: string): CheckResult => ({ name, status: 'skip', detail: why });

/** Runs every check; results in the order of the header. */
export async function runChecks(input: DoctorInput): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const [stack, s] = await stackCheck(input);
  out.push(stack);
  if (!s) {
    for (const n of ['bus', 'access', 'pod identity', 'forwarder', 'credentials', 'events', 'audit', 'dead letters']) out.push(skip(n, 'needs the stack'));
    return out;
  }
  out.push(await busCheck(input, s));
  const kubeCluster = input.kube ? (input.kube.cluster ?? clusterFromContext(input.kube.contextCluster, s.clusters)) : null;
  for (const c of s.clusters) out.push(await accessCheck(input, s, c, kubeCluster));
  const associations: Record<string, AssociationFacts> = {};
  for (const c of s.clusters) {
    const [r, a] = await associationCheck(input, s, c);
    out.push(r);
    if (a) associations[c] = a;
  }
  let pods: Pod[] | null = null;
  if (!input.kube || !kubeCluster) {
    const why = input.kubeProblem ?? (input.kube ? `the kubeconfig context ${input.kube.context} (cluster ${input.kube.contextCluster ?? '?'}) is none of the stage's clusters (${s.clusters.join(', ')})` : 'no kubeconfig');
    out.push({ name: 'forwarder', status: 'fail', detail: why, fix: 'run with --kubeconfig FILE / --context NAME for the cluster (and --cluster NAME when the stage has several)' });
    out.push(skip('credentials', 'needs the cluster'));
  } else if (!s.clusters.includes(kubeCluster)) {
    out.push({ name: `forwarder ${kubeCluster}`, status: 'fail', detail: `cluster ${kubeCluster} is not one of the stage's (${s.clusters.join(', ')})`, fix: 'pass --cluster with one of them, or add it to the `clusters` param and deploy' });
    out.push(skip('credentials', 'needs one of the stage\'s clusters'));
  } else {
    out.push(await forwarderConfigCheck(input, s, kubeCluster));
    try {
      pods = await forwarderPods(input);
    } catch (err) {
      out.push({ name: `credentials ${kubeCluster}`, status: 'fail', detail: `listing forwarder pods: ${errText(err)}`, fix: 'check your kubeconfig (pods list in ripple-system)' });
    }
    if (pods) {
      const a = associations[kubeCluster];
      out.push(a ? await credentialsCheck(input, kubeCluster, a, pods) : skip(`credentials ${kubeCluster}`, 'needs the pod identity association'));
    }
  }
  out.push(await eventsCheck(input, s, pods));
  for (const c of s.clusters) out.push(await auditCheck(input, s, c));
  out.push(await deadLetterCheck(input, s));
  return out;
}

/** One line per check: mark, name, detail; a failure adds what to do on the same line. */
export function formatResult(r: CheckResult): string {
  const mark = r.status === 'ok' ? '✓' : r.status === 'fail' ? '✗' : '-';
  return `${mark} ${r.name.padEnd(22)} ${r.detail}${r.status === 'fail' && r.fix ? ` -> ${r.fix}` : ''}`;
}

/** The EKS cluster name a kubeconfig context points at (`arn:...:cluster/NAME`, `NAME.<region>.eksctl.io`, or as is). */
export function clusterFromContext(clusterEntry: string | undefined, known: string[]): string | null {
  if (!clusterEntry) return null;
  const arn = /:cluster\/([^/]+)$/.exec(clusterEntry);
  const candidates = [arn?.[1], clusterEntry.split('.')[0], clusterEntry].filter((x): x is string => !!x);
  return candidates.find((c) => known.includes(c)) ?? null;
}
