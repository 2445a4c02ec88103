'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * The EKS clusters one ripple stage serves, for serverless.yml.
 *
 *   --param="cluster=prod"                 one cluster (the default for events that carry none)
 *   --param="clusters=prod,prod-eu-2"      several clusters in the stack's account and region (the first is the
 *                                          default unless `cluster` names another one)
 *   --param='clusters={"prod":{"endpoint":"https://…","caData":"LS0t…"}}'
 *                                          endpoint + CA given: the handlers make no eks:DescribeCluster call
 *   --param='clusters=[{"name":"prod"},{"name":"us","region":"us-east-1"},
 *                      {"name":"edge","region":"eu-west-1","accountId":"210987654321","externalId":"ripple-prod"}]'
 *                                          clusters in other regions and other accounts (a list of objects, or
 *                                          the same fields in the object form keyed by name)
 *
 * Fields of a cluster: `name`, `region` (default: the stack's), `accountId` (only for a cluster in another account
 * than the stack's), `endpoint` + `caData`, and for another account `externalId` (the spoke stack's ExternalId),
 * `roleArn` (one role for all three functions) or `roleArns` ({clone, protect, rollout}; default
 * `arn:aws:iam::<accountId>:role/ripple-<stage>-<cluster>-<handler>`, the names infra/aws/spoke.yml creates) and
 * `forwarderRoleArn` (default `…:role/ripple-<stage>-<cluster>-forwarder`, the bus policy's principal).
 *
 * Three kinds of cluster (docs/fleet.md, "Other regions and accounts"):
 *   local    the stack's account and region: everything is in this stack (access entries for the function
 *            roles, the forwarder's Pod Identity association, protect's audit-log subscription).
 *   region   the stack's account, another region: the function roles reach it directly (eks:DescribeCluster on
 *            its ARN in that region); its access entries for them and its forwarder's role and association are
 *            in a spoke stack deployed in that region (infra/aws/spoke.yml: CloudFormation is regional).
 *   account  another account: each function assumes its own role there (sts:AssumeRole on exactly those ARNs),
 *            which holds the cluster's access entry and eks:DescribeCluster on it (spoke.yml creates them, trusting
 *            only this stage's function roles, with the ExternalId); its forwarder puts events on this bus, which
 *            a bus policy allows for that account's forwarder role only.
 * The primary cluster (`cluster`) must be local: its audit log is subscribed in serverless.yml.
 *
 * `cluster` is required for every stage but `dev` (LOCAL_STAGES: `npm start`, `npm run package`), which falls
 * back to a cluster named `ripple`: a deploy never targets a cluster nobody named.
 *
 * Exports (each a function the framework calls with its variable resolver):
 *   names         ['prod', ...] every cluster, primary first
 *   localNames    the local ones (the forwarder role's trust: Pod Identity on these clusters)
 *   envClone, envRollout, envProtect   RIPPLE_CLUSTERS for that function: JSON `{ "<cluster>": { "region" } }`,
 *                 plus `endpoint`/`caData` where given and, for another account, that function's `roleArn` and the
 *                 `externalId`
 *   env           the same without role ARNs (kept for configurations that set it on the provider)
 *   summary       the stack output StageClusters (`hub=eu-west-1,us=us-east-1,edge=eu-central-1/210987654321`), which
 *                 `ripple doctor` reads to check every cluster of the stage
 *   describeArns  the IAM resources of eks:DescribeCluster: exactly the clusters of the stack's account
 *   cloneAccessEntryIds  logical ids the deploy-time reconcile (Custom::RippleReconcile) depends on: the clone
 *                 role's access entries and, with clusters in other accounts, its assume-role policy
 *   forwarderAssociations  `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }` (local clusters): a
 *                 property of the deploy-time reconcile, so it runs after every association exists and again
 *                 whenever one is created or replaced; the clone handler then restarts that cluster's forwarder
 *   forwarderNamespace, forwarderServiceAccount  for the ForwarderRole trust policy (session tags)
 *   resources     per local cluster: one AWS::EKS::AccessEntry per handler role (its Kubernetes group from
 *                 core/constants.ts HANDLER_GROUPS), the forwarder's AWS::EKS::PodIdentityAssociation, and for
 *                 every one but the primary the protect function's subscription to /aws/eks/<cluster>/cluster (the
 *                 primary's is the `cloudwatchLog` event in serverless.yml); with clusters in other accounts, one
 *                 AWS::IAM::Policy per function role allowing sts:AssumeRole on its roles there, and one
 *                 AWS::Events::EventBusPolicy per account allowing PutEvents from its forwarder roles; with
 *                 clusters in other regions or accounts, protect's audit stream (AWS::Kinesis::Stream AuditStream,
 *                 its read policy on ProtectRole, its event source mapping; outputs AuditStreamName/Arn), which
 *                 the CloudWatch Logs destinations of infra/aws/audit-destination.yml fill.
 *
 * CommonJS on purpose: the framework `require()`s variable files. The pure parts are exported for tests.
 */
const { readFileSync } = require('node:fs');
const { resolve } = require('node:path');

const { LOCAL_STAGES, HANDLER_ROLES, clusterEntries, parseClusters, stageClusters, refuseSharedClusters, spokeRoleName, partitionOf } = require('./cluster-params.cjs');

const CONSTANTS = resolve(__dirname, '..', '..', 'core', 'constants.ts');

/** HANDLER_GROUPS, RIPPLE_NAMESPACE and FORWARDER_SERVICE_ACCOUNT read from the one TypeScript source. */
function readConstants(file = CONSTANTS) {
  const text = readFileSync(file, 'utf8');
  const block = /export const HANDLER_GROUPS = \{([^}]*)\}/.exec(text);
  if (!block) throw new Error(`${file}: HANDLER_GROUPS not found`);
  const groups = {};
  for (const m of block[1].matchAll(/(\w+):\s*'([^']+)'/g)) groups[m[1]] = m[2];
  const str = (name) => {
    const m = new RegExp(`export const ${name} = '([^']+)'`).exec(text);
    if (!m) throw new Error(`${file}: ${name} not found`);
    return m[1];
  };
  return { groups, namespace: str('RIPPLE_NAMESPACE'), serviceAccount: str('FORWARDER_SERVICE_ACCOUNT'), eventSource: str('EVENT_SOURCE') };
}

/** PascalCase, alphanumeric: a CloudFormation logical id part for a cluster name. */
function logicalPart(name) {
  return name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

/** Logical-id part per cluster: PascalCase name, made unique by position when two names normalise alike. */
function clusterParts(names) {
  const seen = new Set();
  return names.map((name, i) => {
    let part = logicalPart(name) || `Cluster${i + 1}`;
    if (seen.has(part)) part = `${part}${i + 1}`;
    seen.add(part);
    return part;
  });
}

/** Strings (names) or resolved clusters -> resolved clusters (a bare name is a local cluster). */
function asClusters(list) {
  return list.map((c) => (typeof c === 'string' ? { name: c, kind: 'local' } : c));
}

/** eks:DescribeCluster resources: the clusters of the stack's account, each in its region. */
function clusterArn(c) {
  if (c.kind === 'region') return { 'Fn::Sub': `arn:\${AWS::Partition}:eks:${c.region}:\${AWS::AccountId}:cluster/${c.name}` };
  return { 'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${c.name}` };
}

function describeArns(list) {
  return asClusters(list).filter((c) => c.kind !== 'account').map(clusterArn);
}

const ASSUME_POLICY = (handler) => `${logicalPart(handler)}AssumeClusterRolesPolicy`;

/** Logical ids the deploy-time reconcile waits for: the clone role's local access entries, its assume-role policy. */
function cloneAccessEntryIds(list) {
  const all = asClusters(list);
  const parts = clusterParts(all.map((c) => c.name));
  const ids = all.flatMap((c, i) => (c.kind === 'local' ? [`CloneAccessEntry${parts[i]}`] : []));
  if (all.some((c) => c.kind === 'account')) ids.push(ASSUME_POLICY('clone'));
  return ids;
}

/** The CloudFormation resources for these clusters (see the header). */
function clusterResources(list, constants = readConstants()) {
  const all = asClusters(list);
  const parts = clusterParts(all.map((c) => c.name));
  const Resources = {};
  all.forEach((c, i) => {
    if (c.kind === 'local') Object.assign(Resources, localClusterResources(c.name, parts[i], i === 0, constants));
  });
  Object.assign(Resources, otherAccountResources(all.filter((c) => c.kind === 'account'), constants));
  const audit = auditStreamResources(all);
  Object.assign(Resources, audit.Resources);
  return audit.Outputs ? { Resources, Outputs: audit.Outputs } : { Resources };
}

/**
 * Protect's audit records from clusters in other regions or accounts. CloudWatch Logs delivers a subscription to a
 * Lambda function of the log group's own account and region only, and to a CloudWatch Logs *destination* of its
 * own region, which may put into a Kinesis stream of another region: so one stream here (one shard, encrypted, the
 * minimum retention), filled by a destination per region of such clusters (infra/aws/audit-destination.yml, in
 * this account) that their spoke stacks' subscription filters point at (infra/aws/spoke.yml), and read by protect
 * through an event source mapping. Only CloudWatch Logs (the destinations' role) puts records into it; only
 * protect's role reads it. Nothing of it when every cluster is local.
 */
function auditStreamResources(all) {
  const remote = all.filter((c) => c.kind !== 'local');
  if (!remote.length) return { Resources: {} };
  const stream = { 'Fn::GetAtt': [AUDIT_STREAM, 'Arn'] };
  return {
    Resources: {
      [AUDIT_STREAM]: {
        Type: 'AWS::Kinesis::Stream',
        Properties: {
          Name: auditStreamName(remote[0].stage ?? 'dev'),
          StreamModeDetails: { StreamMode: 'PROVISIONED' },
          ShardCount: 1,
          // the minimum: protect reads within seconds; a day leaves time to replay what the DLQ reports
          RetentionPeriodHours: 24,
          StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        },
      },
      ProtectAuditStreamPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'ripple-protect-audit-stream',
          Roles: [{ Ref: 'ProtectRole' }],
          PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'ReadAuditStream', Effect: 'Allow', Action: AUDIT_STREAM_READ, Resource: stream }] },
        },
      },
      // As protect's other inputs: a batch that keeps failing is retried for up to an hour (8 attempts; bisected
      // to isolate the record at fault, which does not count as an attempt), then reported to its DLQ (the
      // shard and sequence numbers: replay them from the stream within its retention). A cluster's retryable
      // failure is a batch item failure (the stream resumes from its first record), a refused record none.
      ProtectAuditStreamMapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        DependsOn: ['ProtectAuditStreamPolicy'],
        Properties: {
          EventSourceArn: stream,
          FunctionName: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
          StartingPosition: 'TRIM_HORIZON',
          BatchSize: 100,
          MaximumBatchingWindowInSeconds: 5,
          ParallelizationFactor: 1,
          BisectBatchOnFunctionError: true,
          MaximumRetryAttempts: 8,
          MaximumRecordAgeInSeconds: 3600,
          FunctionResponseTypes: ['ReportBatchItemFailures'],
          DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['ProtectDlq', 'Arn'] } } },
        },
      },
    },
    Outputs: {
      // for infra/aws/audit-destination.yml (StreamName, HubRegion) in each region of such clusters
      AuditStreamName: { Description: 'protect\'s audit stream, the target of each region\'s CloudWatch Logs destination (infra/aws/audit-destination.yml)', Value: { Ref: AUDIT_STREAM } },
      AuditStreamArn: { Value: stream },
    },
  };
}

const AUDIT_STREAM = 'AuditStream';
/** What protect's event source mapping needs of the stream, nothing more (no kinesis:ListStreams, no writes). */
const AUDIT_STREAM_READ = ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'];

/** The stream's name, `ripple-<stage>-audit` (the destinations' default target, audit-destination.yml). */
function auditStreamName(stage) {
  return `ripple-${stage}-audit`;
}

/** A cluster of the stack's account and region: access entries, the forwarder's association, the audit subscription. */
function localClusterResources(name, part, primary, constants) {
  const Resources = {};
  for (const [handler, role] of Object.entries(HANDLER_ROLES)) {
    const group = constants.groups[handler];
    if (!group) throw new Error(`core/constants.ts: HANDLER_GROUPS has no group for "${handler}"`);
    Resources[`${logicalPart(handler)}AccessEntry${part}`] = {
      Type: 'AWS::EKS::AccessEntry',
      Properties: { ClusterName: name, PrincipalArn: { 'Fn::GetAtt': [role, 'Arn'] }, Type: 'STANDARD', KubernetesGroups: [group] },
    };
  }
  Resources[`ForwarderPodIdentity${part}`] = {
    Type: 'AWS::EKS::PodIdentityAssociation',
    Properties: { ClusterName: name, Namespace: constants.namespace, ServiceAccount: constants.serviceAccount, RoleArn: { 'Fn::GetAtt': ['ForwarderRole', 'Arn'] } },
  };
  if (!primary) {
    // the primary's subscription is the `cloudwatchLog` event in serverless.yml
    const logGroup = `/aws/eks/${name}/cluster`;
    Resources[`ProtectAuditPermission${part}`] = {
      Type: 'AWS::Lambda::Permission',
      Properties: {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] },
        Principal: { 'Fn::Sub': 'logs.${AWS::Region}.amazonaws.com' },
        SourceArn: { 'Fn::Sub': `arn:\${AWS::Partition}:logs:\${AWS::Region}:\${AWS::AccountId}:log-group:${logGroup}:*` },
      },
    };
    Resources[`ProtectAuditSubscription${part}`] = {
      Type: 'AWS::Logs::SubscriptionFilter',
      DependsOn: [`ProtectAuditPermission${part}`],
      Properties: { LogGroupName: logGroup, FilterPattern: readAuditFilter(), DestinationArn: { 'Fn::GetAtt': ['ProtectLambdaFunction', 'Arn'] } },
    };
  }
  return Resources;
}

/**
 * Clusters in other accounts: each function may assume exactly its own role in each of them, nothing else; their
 * forwarders put events on this bus directly (their role's identity policy allows it; cross-account, the bus must
 * too): one bus policy statement per account, for its forwarder roles only and ripple's event source only.
 */
function otherAccountResources(remote, constants) {
  const Resources = {};
  if (!remote.length) return Resources;
  for (const [handler, role] of Object.entries(HANDLER_ROLES)) {
    Resources[ASSUME_POLICY(handler)] = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: `ripple-${handler}-cluster-roles`,
        Roles: [{ Ref: role }],
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'AssumeClusterRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [...new Set(remote.map((c) => c.roleArns[handler]))] }] },
      },
    };
  }
  const byAccount = new Map();
  for (const c of remote) byAccount.set(c.accountId, [...(byAccount.get(c.accountId) ?? []), c]);
  for (const [account, cs] of byAccount) {
    Resources[`RippleBusPolicy${account}`] = {
      Type: 'AWS::Events::EventBusPolicy',
      Properties: {
        EventBusName: { Ref: 'RippleBus' },
        StatementId: `ripple-forwarders-${account}`,
        Statement: {
          Effect: 'Allow',
          Principal: { AWS: `arn:${partitionOf(cs[0].region)}:iam::${account}:root` },
          Action: 'events:PutEvents',
          Resource: { 'Fn::GetAtt': ['RippleBus', 'Arn'] },
          Condition: { ArnEquals: { 'aws:PrincipalArn': cs.map((c) => forwarderRoleArn(c)) }, StringEquals: { 'events:source': constants.eventSource ?? 'ripple.kubernetes' } },
        },
      },
    };
  }
  return Resources;
}

/** The forwarder role the spoke stack creates in another account: `ripple-<stage>-<cluster>-forwarder`. */
function forwarderRoleArn(c) {
  return c.forwarderRoleArn ?? `arn:${partitionOf(c.region)}:iam::${c.accountId}:role/${spokeRoleName(c.stage ?? 'dev', c.name, 'forwarder')}`;
}

function readAuditFilter() {
  const file = resolve(__dirname, '..', '..', 'events', 'patterns', 'protect-audit-filter.json');
  const value = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof value !== 'string') throw new Error(`${file}: expected a JSON string (a CloudWatch Logs filter pattern)`);
  return value;
}

/** `{ "<cluster>": GetAtt ForwarderPodIdentity<X>.AssociationArn }` for the local clusters (see the header). */
function forwarderAssociations(list) {
  const all = asClusters(list);
  const parts = clusterParts(all.map((c) => c.name));
  return Object.fromEntries(all.flatMap((c, i) => (c.kind === 'local' ? [[c.name, { 'Fn::GetAtt': [`ForwarderPodIdentity${parts[i]}`, 'AssociationArn'] }]] : [])));
}

/** RIPPLE_CLUSTERS for the handlers (see the header); `handler` adds that function's role ARN in other accounts. */
function clustersEnvFor(list, handler) {
  return JSON.stringify(
    Object.fromEntries(
      asClusters(list).map((c) => {
        const e = { region: c.region };
        if (c.endpoint) Object.assign(e, { endpoint: c.endpoint, caData: c.caData });
        if (c.kind === 'account') {
          e.accountId = c.accountId;
          if (handler) e.roleArn = c.roleArns[handler];
          if (c.externalId) e.externalId = c.externalId;
        }
        return [c.name, e];
      }),
    ),
  );
}

/**
 * The stack output StageClusters, for `ripple doctor`: `name=region` per cluster, `/accountId` for another
 * account, comma separated (short: a CloudFormation output value is limited in size).
 */
function clustersSummary(list) {
  return asClusters(list)
    .map((c) => `${c.name}=${c.region ?? ''}${c.kind === 'account' ? `/${c.accountId}` : ''}`)
    .join(',');
}

/** RIPPLE_CLUSTERS (no role ARNs) from the raw params: kept for tests and older callers. */
function clustersEnv(names, clusters, region) {
  const entries = clusterEntries(clusters);
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, { region, ...(entries[n] ?? {}) }])));
}

async function clustersFrom({ resolveVariable }) {
  const cluster = await resolveVariable('param:cluster');
  const clusters = await resolveVariable('param:clusters');
  const stage = await resolveVariable('sls:stage');
  const region = (await resolveVariable('param:region')) || 'eu-west-1';
  const empty = typeof clusters === 'string' || clusters === undefined || clusters === null ? !String(clusters ?? '').trim() : false;
  // `dev` (npm start, npm run package) falls back to `ripple`; every other stage must name its cluster.
  const fallback = !cluster && empty && LOCAL_STAGES.includes(stage) ? 'ripple' : cluster;
  const list = stageClusters({ cluster: fallback, clusters, stage, region });
  refuseSharedClusters(stage, list.map((c) => c.name), await resolveVariable('self:params, null'));
  return list;
}

async function namesFrom(ctx) {
  return (await clustersFrom(ctx)).map((c) => c.name);
}

module.exports = {
  names: async (ctx) => namesFrom(ctx),
  localNames: async (ctx) => (await clustersFrom(ctx)).filter((c) => c.kind === 'local').map((c) => c.name),
  env: async (ctx) => clustersEnvFor(await clustersFrom(ctx)),
  envClone: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'clone'),
  envRollout: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'rollout'),
  envProtect: async (ctx) => clustersEnvFor(await clustersFrom(ctx), 'protect'),
  summary: async (ctx) => clustersSummary(await clustersFrom(ctx)),
  describeArns: async (ctx) => describeArns(await clustersFrom(ctx)),
  resources: async (ctx) => clusterResources(await clustersFrom(ctx)),
  cloneAccessEntryIds: async (ctx) => cloneAccessEntryIds(await clustersFrom(ctx)),
  forwarderAssociations: async (ctx) => forwarderAssociations(await clustersFrom(ctx)),
  primary: async (ctx) => (await namesFrom(ctx))[0],
  forwarderNamespace: () => readConstants().namespace,
  forwarderServiceAccount: () => readConstants().serviceAccount,
  LOCAL_STAGES,
  HANDLER_ROLES,
  clusterEntries,
  stageClusters,
  refuseSharedClusters,
  clustersEnv,
  clustersEnvFor,
  clustersSummary,
  describeArnsFor: describeArns,
  associationRefs: forwarderAssociations,
  parseClusters,
  clusterResources,
  cloneEntryIds: cloneAccessEntryIds,
  forwarderRoleArn,
  auditStreamName,
  AUDIT_STREAM_READ,
  spokeRoleName,
  readConstants,
  logicalPart,
};
