/**
 * The variable files serverless.yml loads (CommonJS, `require()`d by the framework): cluster parameters,
 * per-cluster resources, the policies hash and the saved-queries fallback.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_SOURCE, FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../../../../core/constants.ts';
import { parse as parseYaml } from 'yaml';
import { errorsQuery, savedQueries } from '../../../../cli/logs/queries.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const require = createRequire(import.meta.url);
const clusters = require(join(root, 'infra/aws/clusters.cjs'));
const { policiesHash } = require(join(root, 'infra/aws/policies-hash.cjs'));
const observability = require(join(root, 'infra/aws/observability.cjs'));
const vpc = require(join(root, 'infra/aws/vpc.cjs'));

describe('clusters.cjs parseClusters', () => {
  it.each([
    ['prod', '', ['prod']],
    ['prod', 'prod,eu-2', ['prod', 'eu-2']],
    ['eu-2', 'prod eu-2', ['eu-2', 'prod']],
    ['', 'a,b', ['a', 'b']],
    ['prod', '{"prod":{},"b":{"region":"eu-west-1"}}', ['prod', 'b']],
    ['prod', 'prod,prod', ['prod']],
  ])('cluster=%j clusters=%j -> %j', (cluster, list, expected) => {
    expect(clusters.parseClusters(cluster, list)).toEqual(expected);
  });

  it.each([
    ['', '', /param "cluster" is required: deploy with --param="cluster=<EKS cluster name>"/],
    ['prod', 'bad/name', /param "clusters": "bad\/name" is not an EKS cluster name/],
    ['prod', '{nope', /param "clusters": not valid JSON/],
  ])('rejects cluster=%j clusters=%j', (cluster, list, message) => {
    expect(() => clusters.parseClusters(cluster, list)).toThrow(message);
  });
});

describe('clusters.cjs resources', () => {
  it('reads the handler groups, namespace and service account from core/constants.ts', () => {
    expect(clusters.readConstants()).toEqual({ groups: { ...HANDLER_GROUPS }, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT, eventSource: EVENT_SOURCE });
  });

  it('one access entry per handler and a pod identity association per cluster; audit subscriptions for all but the first', () => {
    const { Resources } = clusters.clusterResources(['prod', 'prod_b']);
    const types = Object.entries(Resources).map(([id, r]: [string, any]) => `${id} ${r.Type}`);
    expect(types.sort()).toEqual(
      [
        'CloneAccessEntryProd AWS::EKS::AccessEntry',
        'RolloutAccessEntryProd AWS::EKS::AccessEntry',
        'ProtectAccessEntryProd AWS::EKS::AccessEntry',
        'ForwarderPodIdentityProd AWS::EKS::PodIdentityAssociation',
        'CloneAccessEntryProdB AWS::EKS::AccessEntry',
        'RolloutAccessEntryProdB AWS::EKS::AccessEntry',
        'ProtectAccessEntryProdB AWS::EKS::AccessEntry',
        'ForwarderPodIdentityProdB AWS::EKS::PodIdentityAssociation',
        'ProtectAuditPermissionProdB AWS::Lambda::Permission',
        'ProtectAuditSubscriptionProdB AWS::Logs::SubscriptionFilter',
      ].sort(),
    );
    expect(Resources.ProtectAccessEntryProdB.Properties).toEqual({ ClusterName: 'prod_b', PrincipalArn: { 'Fn::GetAtt': ['ProtectRole', 'Arn'] }, Type: 'STANDARD', KubernetesGroups: [HANDLER_GROUPS.protect] });
    expect(Resources.ProtectAuditSubscriptionProdB.Properties).toMatchObject({ LogGroupName: '/aws/eks/prod_b/cluster', FilterPattern: JSON.parse(readFileSync(join(root, 'events/patterns/protect-audit-filter.json'), 'utf8')) });
  });

  it('distinct logical ids for cluster names that normalise alike', () => {
    const ids = Object.keys(clusters.clusterResources(['a-b', 'a_b']).Resources).filter((id) => id.startsWith('ForwarderPodIdentity'));
    expect(ids).toEqual(['ForwarderPodIdentityAB', 'ForwarderPodIdentityAB2']);
    const cloneEntries = Object.keys(clusters.clusterResources(['a-b', 'a_b']).Resources).filter((id) => id.startsWith('CloneAccessEntry'));
    expect(clusters.cloneEntryIds(['a-b', 'a_b'])).toEqual(cloneEntries);
    expect(cloneEntries).toEqual(['CloneAccessEntryAB', 'CloneAccessEntryAB2']);
  });

  it('a missing handler group is an error naming the file', () => {
    expect(() => clusters.clusterResources(['prod'], { groups: { clone: 'ripple:clone' }, namespace: 'ripple-system', serviceAccount: 'f' })).toThrow(/HANDLER_GROUPS has no group for "rollout"/);
  });

  it('framework entry points resolve params through the variable resolver', async () => {
    const params: Record<string, string> = { 'param:cluster': 'prod', 'param:clusters': 'prod,b', 'param:region': 'eu-central-1' };
    const ctx = { resolveVariable: async (v: string) => params[v] };
    expect(await clusters.names(ctx)).toEqual(['prod', 'b']);
    expect(JSON.parse(await clusters.env(ctx))).toEqual({ prod: { region: 'eu-central-1' }, b: { region: 'eu-central-1' } });
    expect(await clusters.describeArns(ctx)).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/prod' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/b' },
    ]);
  });
});

describe('clusters.cjs: cluster required, endpoint + CA, one stage per cluster, install order', () => {
  const ctxFor = (values: Record<string, unknown>) => ({ resolveVariable: async (v: string) => values[v] });

  it('stage dev falls back to the cluster `ripple`; any other stage without a cluster fails naming the parameter and the stage', async () => {
    expect(await clusters.names(ctxFor({ 'sls:stage': 'dev', 'param:cluster': '', 'param:clusters': '' }))).toEqual(['ripple']);
    await expect(clusters.names(ctxFor({ 'sls:stage': 'prod', 'param:cluster': '', 'param:clusters': '' }))).rejects.toThrow('param "cluster" is required for stage "prod": deploy with --param="cluster=<EKS cluster name>" (or set RIPPLE_CLUSTER_NAME, or params.prod.cluster in serverless.yml)');
    expect(await clusters.names(ctxFor({ 'sls:stage': 'prod', 'param:cluster': '', 'param:clusters': 'a,b' }))).toEqual(['a', 'b']);
    expect(await clusters.primary(ctxFor({ 'sls:stage': 'prod', 'param:cluster': 'b', 'param:clusters': 'a,b' }))).toBe('b');
  });

  it('RIPPLE_CLUSTERS carries endpoint and caData where the clusters JSON gives them (no eks:DescribeCluster then)', async () => {
    const json = JSON.stringify({ a: { endpoint: 'https://A.gr7.eu-west-1.eks.amazonaws.com', caData: 'LS0tQ0E=' }, b: {} });
    const env = JSON.parse(await clusters.env(ctxFor({ 'sls:stage': 'prod', 'param:cluster': 'a', 'param:clusters': json, 'param:region': 'eu-west-1' })));
    expect(env).toEqual({ a: { region: 'eu-west-1', endpoint: 'https://A.gr7.eu-west-1.eks.amazonaws.com', caData: 'LS0tQ0E=' }, b: { region: 'eu-west-1' } });
  });

  it.each([
    ['{"a":{"endpoint":"https://x"}}', /a: give both endpoint and caData/],
    ['{"a":{"endpoint":"http://x","caData":"Y"}}', /a\.endpoint: must be an https:\/\/ URL/],
    ['{"a":{"server":"https://x"}}', /a\.server: unknown field/],
  ])('rejects clusters=%s', (json, message) => {
    expect(() => clusters.clusterEntries(json)).toThrow(message);
  });

  it('refuses a second stage on a cluster another stage under params names (dev and default do not count)', () => {
    const params = { default: { cluster: 'shared' }, dev: { cluster: 'prod-eu' }, prod: { cluster: 'prod-eu' }, staging: { cluster: 'staging', clusters: 'staging,prod-eu-2' } };
    expect(() => clusters.refuseSharedClusters('canary', ['prod-eu'], params)).toThrow(/stage "canary" and stage "prod" \(params\.prod in serverless\.yml\) both use cluster "prod-eu": one ripple stage per cluster/);
    expect(() => clusters.refuseSharedClusters('canary', ['x', 'prod-eu-2'], params)).toThrow(/stage "staging".*"prod-eu-2"/);
    expect(() => clusters.refuseSharedClusters('prod', ['prod-eu'], params)).not.toThrow();
    expect(() => clusters.refuseSharedClusters('canary', ['shared', 'other'], params)).not.toThrow();
  });

  it('the package-time refusal is wired: names() reads params of every stage', async () => {
    const ctx = ctxFor({ 'sls:stage': 'canary', 'param:cluster': 'prod-eu', 'param:clusters': '', 'self:params, null': { prod: { cluster: 'prod-eu' } } });
    await expect(clusters.names(ctx)).rejects.toThrow(/one ripple stage per cluster/);
  });

  it('the deploy-time reconcile gets a GetAtt of every association (same logical ids as the resources)', () => {
    const refs = clusters.associationRefs(['a-b', 'a_b']);
    const ids = Object.keys(clusters.clusterResources(['a-b', 'a_b']).Resources).filter((id) => id.startsWith('ForwarderPodIdentity'));
    expect(refs).toEqual({ 'a-b': { 'Fn::GetAtt': [ids[0], 'AssociationArn'] }, a_b: { 'Fn::GetAtt': [ids[1], 'AssociationArn'] } });
  });
});

describe('clusters.cjs: other regions and other accounts', () => {
  const EDGE = '210987654321';
  const fleet = JSON.stringify([
    { name: 'hub' },
    { name: 'us', region: 'us-east-1' },
    { name: 'edge', accountId: EDGE, externalId: 'ripple-prod-edge' },
  ]);
  const resolved = () => clusters.stageClusters({ cluster: 'hub', clusters: fleet, stage: 'prod', region: 'eu-west-1' });

  it('classifies each cluster: local, another region, another account (its roles named as spoke.yml names them)', () => {
    expect(resolved()).toEqual([
      { name: 'hub', kind: 'local', region: 'eu-west-1', stage: 'prod' },
      { name: 'us', kind: 'region', region: 'us-east-1', stage: 'prod' },
      {
        name: 'edge', kind: 'account', region: 'eu-west-1', stage: 'prod', accountId: EDGE, externalId: 'ripple-prod-edge',
        roleArns: { clone: `arn:aws:iam::${EDGE}:role/ripple-prod-edge-clone`, rollout: `arn:aws:iam::${EDGE}:role/ripple-prod-edge-rollout`, protect: `arn:aws:iam::${EDGE}:role/ripple-prod-edge-protect` },
      },
    ]);
    // the object form keyed by name and a YAML value (params in serverless.yml) say the same
    const keyed = { hub: {}, us: { region: 'us-east-1' }, edge: { accountId: EDGE, externalId: 'ripple-prod-edge' } };
    expect(clusters.stageClusters({ cluster: 'hub', clusters: JSON.stringify(keyed), stage: 'prod', region: 'eu-west-1' })).toEqual(resolved());
    expect(clusters.stageClusters({ cluster: 'hub', clusters: JSON.parse(fleet), stage: 'prod', region: 'eu-west-1' })).toEqual(resolved());
    // the same region named explicitly is local
    expect(clusters.stageClusters({ cluster: 'a', clusters: '[{"name":"a","region":"eu-west-1"}]', stage: 'prod', region: 'eu-west-1' })[0].kind).toBe('local');
  });

  it('the stack holds access entries, association and audit subscription for local clusters only; each function may assume exactly its role in the other account; the bus admits that account\'s forwarder role only', () => {
    const { Resources } = clusters.clusterResources(resolved());
    const ids = Object.keys(Resources).sort();
    expect(ids).toEqual(
      ['CloneAccessEntryHub', 'RolloutAccessEntryHub', 'ProtectAccessEntryHub', 'ForwarderPodIdentityHub', 'CloneAssumeClusterRolesPolicy', 'RolloutAssumeClusterRolesPolicy', 'ProtectAssumeClusterRolesPolicy', `RippleBusPolicy${EDGE}`, 'AuditStream', 'ProtectAuditStreamPolicy', 'ProtectAuditStreamMapping'].sort(),
    );
    for (const [h, role] of [['Clone', 'CloneRole'], ['Rollout', 'RolloutRole'], ['Protect', 'ProtectRole']] as const) {
      expect(Resources[`${h}AssumeClusterRolesPolicy`].Properties).toEqual({
        PolicyName: `ripple-${h.toLowerCase()}-cluster-roles`,
        Roles: [{ Ref: role }],
        PolicyDocument: { Version: '2012-10-17', Statement: [{ Sid: 'AssumeClusterRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [`arn:aws:iam::${EDGE}:role/ripple-prod-edge-${h.toLowerCase()}`] }] },
      });
    }
    expect(Resources[`RippleBusPolicy${EDGE}`].Properties).toEqual({
      EventBusName: { Ref: 'RippleBus' },
      StatementId: `ripple-forwarders-${EDGE}`,
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${EDGE}:root` },
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': ['RippleBus', 'Arn'] },
        Condition: { ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${EDGE}:role/ripple-prod-edge-forwarder`] }, StringEquals: { 'events:source': EVENT_SOURCE } },
      },
    });
    expect(clusters.describeArnsFor(resolved())).toEqual([
      { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/hub' },
      { 'Fn::Sub': 'arn:${AWS::Partition}:eks:us-east-1:${AWS::AccountId}:cluster/us' },
    ]);
    expect(clusters.cloneEntryIds(resolved())).toEqual(['CloneAccessEntryHub', 'CloneAssumeClusterRolesPolicy']);
    expect(clusters.associationRefs(resolved())).toEqual({ hub: { 'Fn::GetAtt': ['ForwarderPodIdentityHub', 'AssociationArn'] } });
  });

  it('RIPPLE_CLUSTERS per function: its own role in the other account and the ExternalId', () => {
    const env = (h?: string) => JSON.parse(clusters.clustersEnvFor(resolved(), h));
    expect(env('rollout')).toEqual({
      hub: { region: 'eu-west-1' },
      us: { region: 'us-east-1' },
      edge: { region: 'eu-west-1', accountId: EDGE, roleArn: `arn:aws:iam::${EDGE}:role/ripple-prod-edge-rollout`, externalId: 'ripple-prod-edge' },
    });
    expect(env().edge).not.toHaveProperty('roleArn');
  });

  it('the StageClusters output ripple doctor reads: name=region, /account for another account', () => {
    expect(clusters.clustersSummary(resolved())).toBe(`hub=eu-west-1,us=us-east-1,edge=eu-west-1/${EDGE}`);
  });

  it('roleArn (one role) and roleArns (one per function) override the default names', () => {
    const one = clusters.stageClusters({ cluster: 'hub', clusters: JSON.stringify({ hub: {}, e: { accountId: EDGE, externalId: 'xx', roleArn: `arn:aws:iam::${EDGE}:role/ops/ripple` } }), stage: 'prod', region: 'eu-west-1' })[1];
    expect(one.roleArns).toEqual({ clone: `arn:aws:iam::${EDGE}:role/ops/ripple`, rollout: `arn:aws:iam::${EDGE}:role/ops/ripple`, protect: `arn:aws:iam::${EDGE}:role/ops/ripple` });
  });

  it.each([
    ['[{"name":"hub"},{"name":"e","accountId":"12345"}]', /\[1\] \(e\)\.accountId: "12345" is not an AWS account id/],
    ['[{"name":"hub"},{"name":"e","region":"Europe"}]', /\[1\] \(e\)\.region: "Europe" is not an AWS region/],
    ['[{"name":"hub"},{"name":"e","roleArn":"arn:aws:iam::210987654321:role/x"}]', /\(e\)\.roleArn: only for a cluster in another account; give its accountId/],
    ['[{"name":"hub"},{"name":"e","accountId":"210987654321"}]', /e\.externalId: required for a cluster in another account/],
    ['[{"name":"hub"},{"name":"e","accountId":"210987654321","externalId":"xx","roleArn":"arn:aws:iam::999999999999:role/x"}]', /\(e\)\.roleArn: the role is in account 999999999999, the cluster in 210987654321/],
    ['[{"name":"hub"},{"name":"e","accountId":"210987654321","externalId":"xx","roleArns":{"clone":"arn:aws:iam::210987654321:role/x"}}]', /roleArns\.rollout: missing/],
    ['[{"name":"hub"},{"region":"us-east-1"}]', /\[1\]: give the cluster's name/],
    ['[{"name":"hub"},{"name":"hub"}]', /cluster "hub" is listed twice/],
    ['[{"name":"hub","region":"us-east-1"}]', /the primary cluster "hub" must be in the stack's account and region \(eu-west-1\)/],
    ['[{"name":"hub"},{"name":"a-very-long-cluster-name-for-the-role","accountId":"210987654321","externalId":"xx"}]', /longer than IAM's 64 characters/],
  ])('rejects clusters=%s', (json, message) => {
    expect(() => clusters.stageClusters({ cluster: 'hub', clusters: json, stage: 'production-stage', region: 'eu-west-1' })).toThrow(message);
  });

  it('the framework entry points: names, localNames and per-function env from the resolver', async () => {
    const ctx = { resolveVariable: async (v: string) => ({ 'param:cluster': 'hub', 'param:clusters': fleet, 'param:region': 'eu-west-1', 'sls:stage': 'prod' })[v] };
    expect(await clusters.names(ctx)).toEqual(['hub', 'us', 'edge']);
    expect(await clusters.localNames(ctx)).toEqual(['hub']);
    expect(JSON.parse(await clusters.envProtect(ctx)).edge.roleArn).toBe(`arn:aws:iam::${EDGE}:role/ripple-prod-edge-protect`);
  });
});

describe('clusters.cjs: protect\'s audit stream (clusters in other regions or accounts)', () => {
  const EDGE = '210987654321';
  const of = (list: object[]) => clusters.clusterResources(clusters.stageClusters({ cluster: 'hub', clusters: JSON.stringify(list), stage: 'prod', region: 'eu-west-1' }));

  it.each([
    ['another region, same account', [{ name: 'hub' }, { name: 'us', region: 'us-east-1' }]],
    ['another account, same region', [{ name: 'hub' }, { name: 'edge', accountId: EDGE, externalId: 'xx' }]],
  ])('%s: one stream, protect\'s read policy on it, its event source mapping, the outputs the destinations need', (_what, list) => {
    const { Resources, Outputs } = of(list);
    expect(Resources.AuditStream.Properties).toMatchObject({ Name: clusters.auditStreamName('prod'), ShardCount: 1, RetentionPeriodHours: 24, StreamEncryption: { EncryptionType: 'KMS' } });
    expect(Resources.ProtectAuditStreamPolicy.Properties.PolicyDocument.Statement).toEqual([{ Sid: 'ReadAuditStream', Effect: 'Allow', Action: clusters.AUDIT_STREAM_READ, Resource: { 'Fn::GetAtt': ['AuditStream', 'Arn'] } }]);
    expect(clusters.AUDIT_STREAM_READ.every((a: string) => /^kinesis:(Describe|Get|List)/.test(a))).toBe(true);
    expect(Resources.ProtectAuditStreamMapping).toMatchObject({ DependsOn: ['ProtectAuditStreamPolicy'], Properties: { FunctionResponseTypes: ['ReportBatchItemFailures'], BisectBatchOnFunctionError: true } });
    expect(Object.keys(Outputs)).toEqual(['AuditStreamName', 'AuditStreamArn']);
  });

  it('none when every cluster is local (the single-cluster and same-region stacks are unchanged)', () => {
    const out = clusters.clusterResources(['a', 'b']);
    expect(Object.keys(out)).toEqual(['Resources']);
    expect(JSON.stringify(out)).not.toContain('kinesis');
    expect(Object.keys(out.Resources).filter((id) => id.includes('AuditStream'))).toEqual([]);
  });
});

describe('audit-destination.yml (the hub account\'s CloudWatch Logs destination per region)', () => {
  const t = parseYaml(readFileSync(join(root, 'infra/aws/audit-destination.yml'), 'utf8'));
  const R = t.Resources;
  const stream = { 'Fn::Sub': 'arn:${AWS::Partition}:kinesis:${HubRegion}:${AWS::AccountId}:stream/${StreamName}' };

  it('targets the hub\'s stream by the name clusters.cjs gives it, in this account (a destination\'s stream is its own account\'s)', () => {
    expect(R.AuditDestination.Properties.TargetArn).toEqual(stream);
    expect(R.AuditDestination.Properties.DestinationName).toEqual({ 'Fn::Sub': 'ripple-${Stage}-audit' });
    expect(clusters.auditStreamName('${Stage}')).toBe('ripple-${Stage}-audit');
    expect(t.Outputs.AuditDestinationArn.Value).toEqual({ 'Fn::GetAtt': ['AuditDestination', 'Arn'] });
  });

  it('least privilege: only CloudWatch Logs of this region, for this account and the sender accounts, may assume the role, which may only PutRecord on that stream', () => {
    const [trust, ...more] = R.AuditDestinationRole.Properties.AssumeRolePolicyDocument.Statement;
    expect(more).toEqual([]);
    expect(trust).toMatchObject({ Effect: 'Allow', Principal: { Service: 'logs.amazonaws.com' }, Action: 'sts:AssumeRole' });
    expect(trust.Condition.ArnLike).toEqual({ 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:logs:${AWS::Region}:*:*' } });
    const [cond, withSenders, alone] = trust.Condition.StringLike['aws:SourceArn']['Fn::If'];
    expect(cond).toBe('HasSenders');
    expect(alone).toEqual([{ 'Fn::Sub': 'arn:*:logs:*:${AWS::AccountId}:*' }]);
    // what CloudFormation makes of the sender list: one ARN pattern per account (evaluated here as it would be)
    const [sep, sub] = withSenders['Fn::Split'];
    const [template, vars] = sub['Fn::Sub'];
    const senders = ['210987654321', '109876543210'];
    const joined = senders.join(vars.Senders['Fn::Join'][0]);
    const arns = template.replace('${AWS::AccountId}', '123456789012').replace('${Senders}', joined).split(sep);
    expect(arns).toEqual(['arn:*:logs:*:123456789012:*', 'arn:*:logs:*:210987654321:*', 'arn:*:logs:*:109876543210:*']);
    expect(R.AuditDestinationRole.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement)).toEqual([{ Sid: 'PutOnTheAuditStream', Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: stream }]);
  });

  it('the destination policy lets exactly the sender accounts subscribe, to this destination only (none without senders)', () => {
    const [cond, sub, none] = R.AuditDestination.Properties.DestinationPolicy['Fn::If'];
    expect([cond, none]).toEqual(['HasSenders', { Ref: 'AWS::NoValue' }]);
    const [text, vars] = sub['Fn::Sub'];
    const policy = JSON.parse(text.replace('${Accounts}', ['210987654321', '109876543210'].join(vars.Accounts['Fn::Join'][0])).replace(/\$\{([^}]+)\}/g, (_: string, v: string) => ({ 'AWS::Partition': 'aws', 'AWS::Region': 'eu-central-1', 'AWS::AccountId': '123456789012', Stage: 'prod' })[v] ?? v));
    expect(policy.Statement).toEqual([
      { Sid: 'SenderAccountsSubscribe', Effect: 'Allow', Principal: { AWS: ['210987654321', '109876543210'] }, Action: 'logs:PutSubscriptionFilter', Resource: 'arn:aws:logs:eu-central-1:123456789012:destination:ripple-prod-audit' },
    ]);
    expect(JSON.stringify(t)).not.toMatch(/"Resource":"\*"|"Action":"[a-z]+:\*"|"Principal":"\*"/);
  });
});

describe('spoke.yml (the other region\'s or account\'s side)', () => {
  const spoke = parseYaml(readFileSync(join(root, 'infra/aws/spoke.yml'), 'utf8'));
  const R = spoke.Resources;

  it('names the roles as clusters.cjs expects them and maps each to its handler group', () => {
    for (const h of ['clone', 'rollout', 'protect'] as const) {
      const id = `${h[0]!.toUpperCase()}${h.slice(1)}`;
      expect(R[`${id}Role`].Properties.RoleName['Fn::If'][2]).toEqual({ 'Fn::Sub': clusters.spokeRoleName('${Stage}', '${ClusterName}', h) });
      expect(R[`${id}AccessEntry`].Properties.KubernetesGroups).toEqual([HANDLER_GROUPS[h]]);
      expect(R[`${id}AccessEntry`].Properties.PrincipalArn).toEqual({ 'Fn::If': ['OtherAccount', { 'Fn::GetAtt': [`${id}Role`, 'Arn'] }, { Ref: `Hub${id}RoleArn` }] });
    }
    expect(R.ForwarderRole.Properties.RoleName['Fn::If'][2]).toEqual({ 'Fn::Sub': clusters.spokeRoleName('${Stage}', '${ClusterName}', 'forwarder') });
    expect(R.ForwarderPodIdentity.Properties).toMatchObject({ Namespace: RIPPLE_NAMESPACE, ServiceAccount: FORWARDER_SERVICE_ACCOUNT });
    const tags = R.ForwarderRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals;
    expect(tags).toMatchObject({ 'aws:RequestTag/kubernetes-namespace': RIPPLE_NAMESPACE, 'aws:RequestTag/kubernetes-service-account': FORWARDER_SERVICE_ACCOUNT, 'aws:RequestTag/eks-cluster-name': { Ref: 'ClusterName' } });
  });

  it('least privilege: each role trusts exactly its hub function role with the ExternalId, may only describe its cluster; the forwarder only PutEvents on the hub bus', () => {
    for (const id of ['Clone', 'Rollout', 'Protect']) {
      const [trust] = R[`${id}Role`].Properties.AssumeRolePolicyDocument.Statement;
      expect(trust).toMatchObject({ Effect: 'Allow', Principal: { AWS: { Ref: `Hub${id}RoleArn` } }, Action: 'sts:AssumeRole' });
      expect(trust.Condition.StringEquals['sts:ExternalId']).toEqual({ Ref: 'ExternalId' });
      expect(R[`${id}Role`].Condition).toBe('OtherAccount');
      const statements = R[`${id}Role`].Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement);
      expect(statements).toEqual([{ Sid: 'DescribeThisCluster', Effect: 'Allow', Action: 'eks:DescribeCluster', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/${ClusterName}' } }]);
    }
    expect(R.ForwarderRole.Properties.Policies[0].PolicyDocument.Statement).toEqual([
      { Sid: 'PutEventsOnHubBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubBusName}' } },
    ]);
    expect(JSON.stringify(spoke)).not.toMatch(/"Resource":"\*"|"Action":"[a-z]+:\*"/);
  });

  it('subscribes the cluster\'s audit log to the destination of its region with the hub\'s rendered filter, only when given one, and never with an empty pattern', () => {
    expect(R.AuditSubscription).toEqual({
      Type: 'AWS::Logs::SubscriptionFilter',
      Condition: 'HasAuditDestination',
      Properties: { FilterName: { 'Fn::Sub': 'ripple-${Stage}-protect' }, LogGroupName: { 'Fn::Sub': '/aws/eks/${ClusterName}/cluster' }, FilterPattern: { Ref: 'AuditFilterPattern' }, DestinationArn: { Ref: 'AuditDestinationArn' } },
    });
    // no RoleArn: a destination delivers with its own role; the spoke creates no role for it
    expect(R.AuditSubscription.Properties).not.toHaveProperty('RoleArn');
    expect(spoke.Conditions.HasAuditDestination).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AuditDestinationArn' }, ''] }] });
    expect(spoke.Rules.AuditFilterWithDestination.Assertions[0].Assert).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AuditFilterPattern' }, ''] }] });
    // the pattern the hub renders fits the parameter
    const rendered = JSON.parse(readFileSync(join(root, 'events/patterns/protect-audit-filter.json'), 'utf8'));
    expect(rendered.length).toBeLessThanOrEqual(spoke.Parameters.AuditFilterPattern.MaxLength);
    expect(new RegExp(spoke.Parameters.AuditDestinationArn.AllowedPattern).test('arn:aws:logs:eu-central-1:123456789012:destination:ripple-prod-audit')).toBe(true);
    expect(new RegExp(spoke.Parameters.AuditDestinationArn.AllowedPattern).test('arn:aws:kinesis:eu-central-1:123456789012:stream/ripple-prod-audit')).toBe(false);
  });
});

describe('vpc.cjs', () => {
  it('no VPC params: no provider.vpc and nothing added', () => {
    expect(vpc.vpcConfig('', '')).toBeNull();
    expect(vpc.vpcResources(null)).toEqual({});
  });

  it('both params: provider.vpc, and one policy on the three function roles that each function waits for', () => {
    const v = vpc.vpcConfig('subnet-0123456789abcdef0, subnet-0123456789abcdef1', 'sg-0123456789abcdef0');
    expect(v).toEqual({ subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'], securityGroupIds: ['sg-0123456789abcdef0'] });
    const r = vpc.vpcResources(v);
    expect(r.Resources[vpc.POLICY_ID].Properties.Roles).toEqual([{ Ref: 'CloneRole' }, { Ref: 'RolloutRole' }, { Ref: 'ProtectRole' }]);
    expect(r.Resources[vpc.POLICY_ID].Properties.PolicyDocument.Statement[0].Action).toEqual(vpc.ENI_ACTIONS);
    expect(r.extensions).toEqual({ CloneLambdaFunction: { DependsOn: [vpc.POLICY_ID] }, RolloutLambdaFunction: { DependsOn: [vpc.POLICY_ID] }, ProtectLambdaFunction: { DependsOn: [vpc.POLICY_ID] } });
  });

  it.each([
    ['subnet-0123456789abcdef0', '', /param "vpcSecurityGroupIds": missing/],
    ['', 'sg-0123456789abcdef0', /param "vpcSubnetIds": missing/],
    ['subnet-xyz', 'sg-0123456789abcdef0', /param "vpcSubnetIds": "subnet-xyz" is not a subnet id/],
    ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef0', /param "vpcSecurityGroupIds": "subnet-0123456789abcdef0" is not a security group id/],
  ])('rejects subnets=%j groups=%j', (subnets, groups, message) => {
    expect(() => vpc.vpcConfig(subnets, groups)).toThrow(message);
  });
});

describe('observability.cjs alarm actions', () => {
  it('no topic: nothing (the alarms carry no action keys); a topic: AlarmActions and OKActions on every alarm', () => {
    expect(observability.alarmActionsFor('')).toEqual({});
    const ids = observability.alarmIds();
    expect(ids).toHaveLength(8);
    const arn = 'arn:aws:sns:eu-west-1:123456789012:ops';
    expect(observability.alarmActionsFor(arn)).toEqual({ extensions: Object.fromEntries(ids.map((id: string) => [id, { Properties: { AlarmActions: [arn], OKActions: [arn] } }])) });
  });

  it('a value that is not an SNS topic ARN is an error naming the parameter', () => {
    expect(() => observability.alarmActionsFor('ops-topic')).toThrow(/param "alarmTopicArn": "ops-topic" is not an SNS topic ARN/);
  });
});

describe('policies-hash.cjs', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('changes with a policy file content or name, ignores other files and order of creation', () => {
    dir = mkdtempSync(join(tmpdir(), 'ripple-hash-'));
    const empty = policiesHash(dir);
    writeFileSync(join(dir, 'a.yaml'), 'x: 1\n');
    writeFileSync(join(dir, 'b.yml'), 'y: 2\n');
    const two = policiesHash(dir);
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    expect(policiesHash(dir)).toBe(two);
    writeFileSync(join(dir, 'a.yaml'), 'x: 2\n');
    const changed = policiesHash(dir);
    expect(new Set([empty, two, changed]).size).toBe(3);
    expect(changed).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(policiesHash(join(dir, 'missing'))).toBe(empty);
  });
});

describe('observability.cjs', () => {
  it('saved-queries.json (the fallback for frameworks on an older Node) equals cli/logs/queries.ts; regenerate with `node infra/aws/observability.cjs --write-saved-queries`', () => {
    const json = JSON.parse(readFileSync(join(root, 'infra/aws/saved-queries.json'), 'utf8'));
    expect(json).toEqual({ savedQueries: JSON.parse(JSON.stringify(savedQueries())), dashboardErrorsQuery: errorsQuery(50) });
  });

  it('query definitions name the stage folder and reference the log group resources', () => {
    const defs = observability.queryDefinitions('prod');
    expect(Object.keys(defs)).toEqual(['QueryObjectHistory', 'QueryRestarts', 'QueryViolations', 'QueryErrorsByHandler']);
    expect(defs.QueryViolations.Properties).toMatchObject({ Name: 'ripple-prod/Protection violations', LogGroupNames: [{ Ref: 'ProtectLogGroup' }] });
  });
});
