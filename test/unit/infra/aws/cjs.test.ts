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
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../../../../core/constants.ts';
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
    expect(clusters.readConstants()).toEqual({ groups: { ...HANDLER_GROUPS }, namespace: RIPPLE_NAMESPACE, serviceAccount: FORWARDER_SERVICE_ACCOUNT });
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
