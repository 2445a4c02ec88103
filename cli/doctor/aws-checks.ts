/**
 * `ripple doctor`: the checks that read AWS (stack, bus, access entries, pod identity, events, audit
 * subscription, dead letters); the order and what each needs: cli/doctor/checks.ts.
 */
import { DescribeStacksCommand, ListStackResourcesCommand, type StackResourceSummary } from '@aws-sdk/client-cloudformation';
import { GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { DescribeSubscriptionFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeAccessEntryCommand, DescribePodIdentityAssociationCommand, ListAssociatedAccessPoliciesCommand, ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import { DescribeEventBusCommand, DescribeRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE, type HandlerName } from '../../core/constants.ts';
import type { CheckResult, DoctorInput } from './checks.ts';
import { ago, errName, errText, iso, parseStageClusters, type AssociationFacts, type Pod, type StackFacts } from './facts.ts';
import type { KubeconfigKube } from '../../kube/kubeconfig.ts';

const HANDLERS: HandlerName[] = ['clone', 'rollout', 'protect'];
const ROLE_ID: Record<HandlerName, string> = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' };
const DLQ_OUTPUT = { clone: 'CloneDlqUrl', protect: 'ProtectDlqUrl', rollout: 'RolloutDlqUrl' } as const;
const ASSOCIATION_ARN = /^arn:[^:]+:eks:[^:]+:\d+:podidentityassociation\/([^/]+)\/([^/]+)$/;

export async function stackCheck(input: DoctorInput): Promise<[CheckResult, StackFacts | null]> {
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
  const region = arn?.[2] ?? '';
  // Every cluster of the stage (output StageClusters); a stack deployed before it: those with an association.
  const placement = parseStageClusters(outputs.StageClusters, region) ?? Object.fromEntries(Object.keys(associations).map((c) => [c, { kind: 'local' as const, region }]));
  const facts: StackFacts = {
    name,
    partition: arn?.[1] ?? 'aws',
    region,
    account: arn?.[3] ?? '',
    outputs,
    physical,
    clusters: Object.keys(placement),
    associations,
    busName: outputs.RippleBusName ?? `ripple-${input.stage}`,
    placement,
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

export async function busCheck(input: DoctorInput, s: StackFacts): Promise<CheckResult> {
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

/** The EKS client for a cluster's region (the stack's own for local clusters). */
function eksFor(input: DoctorInput, s: StackFacts, cluster: string) {
  const p = s.placement[cluster];
  return p?.kind === 'region' && input.clients.eksIn ? input.clients.eksIn(p.region) : input.clients.eks;
}

/** The spoke stack's forwarder role of a cluster in another region (infra/aws/spoke.yml). */
function spokeForwarderRole(s: StackFacts, stage: string, cluster: string): string {
  return `arn:${s.partition}:iam::${s.account}:role/ripple-${stage}-${cluster}-forwarder`;
}

export function roleArn(s: StackFacts, h: HandlerName): string {
  return `arn:${s.partition}:iam::${s.account}:role/${s.physical[ROLE_ID[h]] ?? `<${ROLE_ID[h]}>`}`;
}

export async function accessCheck(input: DoctorInput, s: StackFacts, cluster: string, kube: KubeconfigKube | null): Promise<CheckResult> {
  const name = `access ${cluster}`;
  const problems: string[] = [];
  const fixes = new Set<string>();
  const where = s.placement[cluster];
  const eks = eksFor(input, s, cluster);
  // A cluster in another account: its access entries map the roles the functions assume there, in that account
  // (its spoke stack); your credentials here cannot read them. Only the cluster's bindings are checked.
  const spoke = where?.kind === 'account';
  for (const h of spoke ? [] : HANDLERS) {
    const principalArn = roleArn(s, h);
    try {
      const entry = (await eks.send(new DescribeAccessEntryCommand({ clusterName: cluster, principalArn }))).accessEntry;
      const groups = entry?.kubernetesGroups ?? [];
      if (groups.length !== 1 || groups[0] !== HANDLER_GROUPS[h]) {
        problems.push(`${h}: groups [${groups.join(', ')}], expected [${HANDLER_GROUPS[h]}]`);
        fixes.add('deploy the stage again: the access entries are the stack\'s (infra/aws/clusters.cjs)');
      }
      const policies = (await eks.send(new ListAssociatedAccessPoliciesCommand({ clusterName: cluster, principalArn }))).associatedAccessPolicies ?? [];
      if (policies.length) {
        problems.push(`${h}: access policies ${policies.map((p) => p.policyArn?.split('/').pop()).join(', ')} on top of its group (more than ripple needs)`);
        fixes.add(`aws eks disassociate-access-policy --cluster-name ${cluster} --principal-arn <role> --policy-arn <policy> (ripple's permissions are the ClusterRoles in infra/k8s/rbac/)`);
      }
    } catch (err) {
      problems.push(`${h}: ${errName(err) === 'ResourceNotFoundException' ? 'no access entry' : errText(err)}`);
      const deploy = where?.kind === 'region' ? `deploy its spoke stack in ${where.region} (infra/aws/spoke.yml, docs/fleet.md)` : 'deploy the stage again (the access entries are in the stack)';
      fixes.add(errName(err) === 'ResourceNotFoundException' ? `${deploy}; the cluster must use authentication mode API or API_AND_CONFIG_MAP` : 'check your AWS credentials (eks:DescribeAccessEntry, eks:ListAssociatedAccessPolicies)');
    }
  }
  let inCluster = '';
  if (kube) {
    // The rendered RBAC (infra/k8s/rbac/) binds each group with ClusterRoleBindings and/or RoleBindings.
    type Bindings = { items?: { subjects?: { kind: string; name: string }[] }[] };
    const rbac = '/apis/rbac.authorization.k8s.io/v1';
    try {
      const lists = await Promise.all(
        ['clusterrolebindings', 'rolebindings'].map((resource) => kube.raw.request<Bindings>('GET', `${rbac}/${resource}`, { describe: { verb: 'list', resource } })),
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
  if (spoke) {
    const acct = `account ${where.accountId}`;
    if (!kube) return { name, status: 'skip', detail: `${acct}: its access entries are its spoke stack's (the roles the functions assume there); no kubeconfig context for the cluster to check its bindings` };
    return { name, status: 'ok', detail: `${acct}: access entries in its spoke stack (not readable from here)${inCluster}` };
  }
  const region = where?.kind === 'region' ? ` (${where.region}, from its spoke stack)` : '';
  return { name, status: 'ok', detail: `clone, rollout, protect roles -> groups ${HANDLERS.map((h) => HANDLER_GROUPS[h]).join(', ')}, no access policies${region}${inCluster}` };
}

export async function associationCheck(input: DoctorInput, s: StackFacts, cluster: string): Promise<[CheckResult, AssociationFacts | null]> {
  const name = `pod identity ${cluster}`;
  const who = `${RIPPLE_NAMESPACE}/${FORWARDER_SERVICE_ACCOUNT}`;
  const where = s.placement[cluster];
  if (where?.kind === 'account') return [{ name, status: 'skip', detail: `account ${where.accountId}: the forwarder's association is its spoke stack's (run ripple doctor there for it)` }, null];
  const eks = eksFor(input, s, cluster);
  const regional = where?.kind === 'region';
  try {
    const list = (await eks.send(new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT }))).associations ?? [];
    if (!list.length) return [{ name, status: 'fail', detail: `no association for ${who}`, fix: `${regional ? `deploy its spoke stack in ${where.region} (infra/aws/spoke.yml)` : 'deploy the stage again (the association is in the stack)'}; the cluster needs the eks-pod-identity-agent add-on` }, null];
    const id = list[0]!.associationId!;
    const a = (await eks.send(new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: id }))).association;
    const expected = regional ? spokeForwarderRole(s, input.stage, cluster) : s.outputs.ForwarderRoleArn;
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

export async function eventsCheck(input: DoctorInput, s: StackFacts, pods: Pod[] | null): Promise<CheckResult> {
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

export async function auditCheck(input: DoctorInput, s: StackFacts, cluster: string): Promise<CheckResult> {
  const name = `audit ${cluster}`;
  const where = s.placement[cluster];
  const group = `/aws/eks/${cluster}/cluster`;
  const destination = `ripple-${input.stage}-audit`;
  if (where?.kind === 'account') {
    return { name, status: 'skip', detail: `in account ${where.accountId}: its spoke stack subscribes ${group} to the audit destination ${destination} of ${where.region} (infra/aws/audit-destination.yml); not readable from this account (docs/fleet.md)` };
  }
  // another region of this account: subscribed by its spoke stack to that region's destination, read there
  const remote = where?.kind === 'region';
  const fn = s.physical.ProtectLambdaFunction ?? `ripple-${input.stage}-protect`;
  const target = remote ? `destination ${destination} (${where.region})` : fn;
  const isOurs = (arn: string) => (remote ? arn.endsWith(`:destination:${destination}`) : arn.endsWith(`:function:${fn}`));
  const logs = remote && input.clients.logsIn ? input.clients.logsIn(where.region) : input.clients.logs;
  const region = remote ? ` --region ${where.region}` : '';
  try {
    const filters = (await logs.send(new DescribeSubscriptionFiltersCommand({ logGroupName: group }))).subscriptionFilters ?? [];
    const ours = filters.filter((f) => isOurs(f.destinationArn ?? ''));
    if (!ours.length) {
      const fix = filters.length >= 2 ? 'CloudWatch Logs allows two subscription filters per log group: free one (another stage?), then deploy again' : remote ? `deploy infra/aws/audit-destination.yml in ${where.region} (the hub's account), then the spoke stack with its AuditDestinationArn and AuditFilterPattern (docs/fleet.md, "Adding a cluster")` : 'deploy the stage again (the subscription is in the stack)';
      return { name, status: 'fail', detail: `${group} has ${filters.length} subscription filter(s), none to ${target}${filters.length >= 2 ? ' (both slots taken)' : ''}`, fix };
    }
    return { name, status: 'ok', detail: `${group} -> ${target} (${filters.length} of 2 subscription filters used)` };
  } catch (err) {
    if (errName(err) === 'ResourceNotFoundException') return { name, status: 'fail', detail: `${group} does not exist`, fix: `turn on audit logging: aws eks update-cluster-config --name ${cluster}${region} --logging '{"clusterLogging":[{"types":["audit"],"enabled":true}]}', then deploy again` };
    return { name, status: 'fail', detail: `${group}: ${errText(err)}`, fix: 'check your AWS credentials (logs:DescribeSubscriptionFilters)' };
  }
}

export async function deadLetterCheck(input: DoctorInput, s: StackFacts): Promise<CheckResult> {
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
