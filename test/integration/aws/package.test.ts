/**
 * `npm run package` (render + `osls package`) with no AWS credentials at all, then the CloudFormation template
 * it wrote is read back and checked: the rules carry exactly the rendered patterns, every target has its retry
 * policy and dead-letter queue, every queue EventBridge writes to has a policy allowing that rule only, IAM is
 * least privilege, and the observability pieces exist. Slow (esbuild + the framework): packaged once.
 *
 * Then three more packages, one after the other (they share esbuild's work directory): the default parameters
 * (`osls package` alone), everything configured (a VPC, an alarm topic, two clusters, stage prod), and stage
 * prod without `cluster` (must fail naming it). cfn-lint is not installable here, so the template shapes it
 * rejected (issue 13: E3033 on `Fn::If [cond, [''], NoValue]` alarm actions, W8003 on a condition comparing two
 * constants, W3005 from the framework) and the references it checks are asserted directly (`lintShapes`);
 * docs/deploy.md shows how to run cfn-lint itself in CI.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { FORWARDER_SERVICE_ACCOUNT, HANDLER_GROUPS, HANDLERS, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { savedQueries } from '../../../cli/logs/queries.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const require = createRequire(import.meta.url);
const { policiesHash } = require(join(root, 'infra/aws/policies-hash.cjs')) as { policiesHash: (dir?: string) => string };

const STAGE = 'dev';
const CLUSTERS = ['ci-primary', 'ci-second'];
const FN = { clone: 'CloneLambdaFunction', rollout: 'RolloutLambdaFunction', protect: 'ProtectLambdaFunction' } as const;
const ROLE = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' } as const;
const DLQ = { clone: 'CloneDlq', rollout: 'RolloutDlq', protect: 'ProtectDlq' } as const;

type Res = { Type: string; Properties: any; DependsOn?: string | string[] };
let resources: Record<string, Res> = {};
let output = '';

function readJson(rel: string): any {
  return JSON.parse(readFileSync(join(root, rel), 'utf8'));
}

/** Runs `npm run package` with an environment that has no AWS credentials, no AWS config and a fresh HOME. */
function packageOffline(): Promise<{ code: number | null; output: string }> {
  const home = mkdtempSync(join(tmpdir(), 'ripple-package-home-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_')) env[k] = v;
  Object.assign(env, { HOME: home, AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
  // npm puts the project's Node (the `node` dev dependency) first on PATH for the script.
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm ? [process.execPath, [npm]] : ['npm', [] as string[]];
  return new Promise((done, fail) => {
    const child = spawn(cmd, [...args, 'run', 'package', '--', `--param=cluster=${CLUSTERS[0]}`, `--param=clusters=${CLUSTERS.join(',')}`], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', fail);
    child.on('close', (code) => {
      rmSync(home, { recursive: true, force: true });
      done({ code, output: out });
    });
  });
}

function ofType(type: string): [string, Res][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function ruleNamedIn(all: Record<string, Res>, name: string): Res {
  const found = Object.values(all).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.Name === name);
  expect(found, `rule ${name}`).toHaveLength(1);
  return found[0]!;
}

function ruleNamed(name: string): Res {
  const found = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Name === name);
  expect(found, `rule ${name}`).toHaveLength(1);
  return found[0]![1];
}

const getAtt = (id: string, attr = 'Arn') => ({ 'Fn::GetAtt': [id, attr] });
const ruleArn = (rule: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/ripple-${STAGE}/${rule}` });

function asList<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

/** `osls package` with these arguments into a fresh directory: exit code, output and the template (when written). */
function oslsPackage(args: string[]): Promise<{ code: number | null; output: string; template: any }> {
  const home = mkdtempSync(join(tmpdir(), 'ripple-package-home-'));
  const out = mkdtempSync(join(tmpdir(), 'ripple-package-out-'));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('RIPPLE_')) env[k] = v;
  Object.assign(env, { HOME: home, AWS_CONFIG_FILE: join(home, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/osls/bin/serverless.js'), 'package', '--package', out, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const file = join(out, 'cloudformation-template-update-stack.json');
      const template = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
      rmSync(home, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
      done({ code, output: text, template });
    });
  });
}

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ripple-alarms';
const SUBNETS = ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'];
const SGS = ['sg-0123456789abcdef0'];
const FULL_CLUSTERS = ['prod-eu', 'prod-eu-2'];
let defaults: { code: number | null; output: string; template: any };
let full: { code: number | null; output: string; template: any };
let noCluster: { code: number | null; output: string; template: any };
let fleet: { code: number | null; output: string; template: any };
const EDGE_ACCOUNT = '210987654321';
/** Three clusters: the stack's own, one in another region (same account), one in another account. */
const FLEET_CLUSTERS = [
  { name: 'hub' },
  { name: 'us', region: 'us-east-1' },
  { name: 'edge', region: 'eu-central-1', accountId: EDGE_ACCOUNT, externalId: 'ripple-prod-edge' },
];

beforeAll(async () => {
  // These first: a package into another directory clears .serverless/, which `npm run package` fills last.
  defaults = await oslsPackage(['--stage', 'dev']);
  full = await oslsPackage([
    '--stage', 'prod',
    `--param=cluster=${FULL_CLUSTERS[0]}`, `--param=clusters=${FULL_CLUSTERS.join(',')}`,
    `--param=vpcSubnetIds=${SUBNETS.join(',')}`, `--param=vpcSecurityGroupIds=${SGS.join(',')}`,
    `--param=alarmTopicArn=${TOPIC}`,
  ]);
  noCluster = await oslsPackage(['--stage', 'prod']);
  fleet = await oslsPackage(['--stage', 'prod', '--region', 'eu-west-1', '--param=cluster=hub', `--param=clusters=${JSON.stringify(FLEET_CLUSTERS)}`]);
  const run = await packageOffline();
  output = run.output;
  if (run.code !== 0) throw new Error(`npm run package failed (exit ${run.code}):\n${run.output}`);
  resources = readJson('.serverless/cloudformation-template-update-stack.json').Resources;
}, 900_000);

describe('npm run package (offline, no AWS credentials)', () => {
  it('packages every function with its bundle and the policies', () => {
    expect(output).toMatch(/Service packaged/);
    const policyFiles = readdirSync(join(root, 'policies')).filter((f) => /\.ya?ml$/.test(f));
    for (const h of HANDLERS) {
      const zip = join(root, '.serverless', `${h}.zip`);
      expect(existsSync(zip), zip).toBe(true);
      const names = zipEntries(readFileSync(zip));
      // The bundle (and its source map) and the policies, nothing else.
      expect(names.sort()).toEqual([`functions/${h}/handler.mjs`, `functions/${h}/handler.mjs.map`, ...policyFiles.map((f) => `policies/${f}`)].sort());
      const fn = resources[FN[h]]!.Properties;
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: `functions/${h}/handler.handler`, Role: getAtt(ROLE[h]) });
      expect(fn.Environment.Variables).toMatchObject({ RIPPLE_CLUSTER_NAME: CLUSTERS[0], RIPPLE_POLICY_DIR: '/var/task/policies' });
      expect(Object.keys(JSON.parse(fn.Environment.Variables.RIPPLE_CLUSTERS))).toEqual(CLUSTERS);
    }
  });

  it('creates the bus and an archive of every ripple event on it', () => {
    expect(resources.RippleBus).toMatchObject({ Type: 'AWS::Events::EventBus', Properties: { Name: `ripple-${STAGE}` } });
    const [[, archive]] = ofType('AWS::Events::Archive') as [[string, Res]];
    expect(archive.Properties).toMatchObject({ SourceArn: getAtt('RippleBus'), EventPattern: { source: ['ripple.kubernetes'] } });
    expect(archive.Properties.RetentionDays).toBeGreaterThan(0);
  });

  it.each([
    ['clone', 'clone.json', getAtt(FN.clone)],
    ['protect', 'protect.json', getAtt(FN.protect)],
    ['rollout', 'rollout.json', getAtt('RolloutQueue')],
  ] as const)('%s rule: the rendered pattern, its target, retry policy and dead-letter queue', (h, patternFile, targetArn) => {
    const rule = ruleNamed(`ripple-${STAGE}-${h}`);
    expect(rule.Properties.EventBusName).toEqual({ Ref: 'RippleBus' });
    expect(rule.Properties.EventPattern).toEqual(readJson(`events/patterns/${patternFile}`));
    expect(rule.Properties.Targets).toHaveLength(1);
    const [target] = rule.Properties.Targets;
    expect(target.Arn).toEqual(targetArn);
    expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 });
    expect(target.DeadLetterConfig).toEqual({ Arn: getAtt(DLQ[h]) });
  });

  it('every queue EventBridge writes to allows exactly its rule', () => {
    const policies = ofType('AWS::SQS::QueuePolicy').map(([, r]) => r.Properties);
    const policyFor = (queue: string) => {
      const found = policies.filter((p) => p.Queues.some((q: any) => q.Ref === queue));
      expect(found, `queue policy of ${queue}`).toHaveLength(1);
      return found[0].PolicyDocument.Statement as any[];
    };
    const expected: [string, unknown][] = [
      [DLQ.clone, ruleArn(`ripple-${STAGE}-clone`)],
      [DLQ.protect, ruleArn(`ripple-${STAGE}-protect`)],
      [DLQ.rollout, getAtt('RolloutRule')],
      ['RolloutQueue', getAtt('RolloutRule')],
    ];
    for (const [queue, source] of expected) {
      const statements = policyFor(queue);
      const allows = statements.filter((x) => x.Effect === 'Allow');
      expect(allows).toHaveLength(1);
      expect(allows[0]).toMatchObject({ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: getAtt(queue) });
      expect(allows[0].Condition).toEqual({ ArnEquals: { 'aws:SourceArn': source } });
      // and nobody reaches it without TLS
      expect(statements.filter((x) => x.Effect === 'Deny')).toEqual([{ Sid: 'DenyInsecureTransport', Effect: 'Deny', Principal: '*', Action: 'sqs:*', Resource: getAtt(queue), Condition: { Bool: { 'aws:SecureTransport': 'false' } } }]);
    }
    // every queue of the stack has such a policy
    expect(ofType('AWS::SQS::Queue').map(([id]) => id).sort()).toEqual(expected.map(([q]) => q).sort());
  });

  it('rollout path: queue -> Lambda with the rendered batching settings, partial batch responses and redrive', () => {
    const settings = readJson('events/patterns/rollout-settings.json');
    const mappings = ofType('AWS::Lambda::EventSourceMapping').map(([, r]) => r.Properties);
    expect(mappings).toHaveLength(1);
    expect(mappings[0]).toMatchObject({
      EventSourceArn: getAtt('RolloutQueue'),
      FunctionName: getAtt(FN.rollout),
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: settings.maximumBatchingWindow,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: settings.maximumConcurrency },
    });
    const queue = resources.RolloutQueue!.Properties;
    expect(queue.RedrivePolicy).toEqual({ deadLetterTargetArn: getAtt(DLQ.rollout), maxReceiveCount: 5 });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(resources[FN.rollout]!.Properties.Timeout);
  });

  it('protect subscribes to every cluster audit log group with the rendered filter', () => {
    const filter = readJson('events/patterns/protect-audit-filter.json');
    expect(typeof filter).toBe('string');
    const subs = ofType('AWS::Logs::SubscriptionFilter').map(([, r]) => r.Properties);
    expect(subs.map((s) => s.LogGroupName).sort()).toEqual(CLUSTERS.map((c) => `/aws/eks/${c}/cluster`).sort());
    for (const s of subs) expect(s).toMatchObject({ FilterPattern: filter, DestinationArn: getAtt(FN.protect) });
    // CloudWatch Logs may invoke protect for exactly these log groups.
    const logPermissions = ofType('AWS::Lambda::Permission').filter(([, r]) => JSON.stringify(r.Properties.Principal).includes('logs.'));
    expect(logPermissions).toHaveLength(CLUSTERS.length);
    for (const c of CLUSTERS) {
      const forCluster = logPermissions.filter(([, r]) => JSON.stringify(r.Properties.SourceArn).includes(`/aws/eks/${c}/cluster`));
      expect(forCluster, c).toHaveLength(1);
      expect(forCluster[0]![1].Properties).toMatchObject({ Action: 'lambda:InvokeFunction', FunctionName: getAtt(FN.protect) });
    }
  });

  it.each(['clone', 'protect'] as const)('%s: failed async invocations go to its DLQ after Lambda retries', (h) => {
    const configs = ofType('AWS::Lambda::EventInvokeConfig').filter(([, r]) => r.Properties.FunctionName.Ref === FN[h]);
    expect(configs).toHaveLength(1);
    expect(configs[0]![1].Properties.DestinationConfig).toEqual({ OnFailure: { Destination: getAtt(DLQ[h]) } });
  });

  it('reconciles every 10 minutes and on each deploy that changes the policies', () => {
    const schedules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    expect(schedules).toHaveLength(2);
    expect(schedules[0]![1].Properties).toMatchObject({ ScheduleExpression: 'rate(10 minutes)', Targets: [{ Arn: getAtt(FN.clone) }] });
    // the Reloader mode's pause-period sweep (rollout-settings.json pauseSweep): off unless ripple.config.yaml turns the mode on
    expect(schedules[1]![1].Properties).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'DISABLED', Targets: [{ Arn: getAtt(FN.rollout) }] });
    const [[, reconcile]] = ofType('Custom::RippleReconcile') as [[string, Res]];
    expect(reconcile.Properties).toMatchObject({ ServiceToken: getAtt(FN.clone), PoliciesHash: policiesHash(join(root, 'policies')), Clusters: CLUSTERS, BusName: { Ref: 'RippleBus' } });
    // It waits for the clone role's access entries on every cluster, or its first run could not reach them.
    const cloneEntries = ofType('AWS::EKS::AccessEntry').filter(([, r]) => r.Properties.PrincipalArn['Fn::GetAtt'][0] === 'CloneRole').map(([id]) => id);
    expect(cloneEntries).toHaveLength(CLUSTERS.length);
    expect(asList(reconcile.DependsOn ?? []).sort()).toEqual(cloneEntries.sort());
  });

  it('install order: the deploy-time reconcile runs after every forwarder pod identity association exists, and again when one changes', () => {
    // A GetAtt of each association's ARN: CloudFormation creates the association first, and a new or re-created
    // association (a cluster added) changes the property, so the clone function is called and restarts that
    // cluster's forwarder (test/integration/clone/deploy-checks.test.ts shows the restart).
    const [[, reconcile]] = ofType('Custom::RippleReconcile') as [[string, Res]];
    const associations = Object.fromEntries(ofType('AWS::EKS::PodIdentityAssociation').map(([id, r]) => [r.Properties.ClusterName, id]));
    expect(Object.keys(associations).sort()).toEqual([...CLUSTERS].sort());
    expect(reconcile.Properties.ForwarderAssociations).toEqual(Object.fromEntries(CLUSTERS.map((c) => [c, getAtt(associations[c]!, 'AssociationArn')])));
  });

  it('IAM: one role per function, least privilege, no wildcard resource or action', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['CloneRole', 'ForwarderRole', 'ProtectRole', 'RolloutRole']);
    const statements = (id: string) => (resources[id]!.Properties.Policies as any[]).flatMap((p) => p.PolicyDocument.Statement as any[]);
    const wildcard: string[] = [];
    for (const [id] of roles) {
      for (const s of statements(id)) {
        for (const r of asList(s.Resource)) if (JSON.stringify(r).includes('*')) wildcard.push(`${id}:${s.Sid}`);
        for (const a of asList(s.Action)) expect(a, `${id}:${s.Sid}`).not.toContain('*');
        expect(s.Effect).toBe('Allow');
      }
    }
    // No statement needs a `*`: log permissions name the function's own log group (its ARN ends in `:*`, as
    // CloudWatch Logs requires, but comes from GetAtt), and metrics are EMF log lines.
    expect(wildcard).toEqual([]);
    const clusterArns = CLUSTERS.map((c) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:eks:\${AWS::Region}:\${AWS::AccountId}:cluster/${c}` }));
    const expected: Record<string, Record<string, [string[], unknown[]]>> = {
      CloneRole: { OwnLogs: [['logs:CreateLogStream', 'logs:PutLogEvents'], [getAtt('CloneLogGroup')]], DescribeClusters: [['eks:DescribeCluster'], clusterArns], FailedInvocations: [['sqs:SendMessage'], [getAtt(DLQ.clone)]] },
      RolloutRole: {
        OwnLogs: [['logs:CreateLogStream', 'logs:PutLogEvents'], [getAtt('RolloutLogGroup')]],
        DescribeClusters: [['eks:DescribeCluster'], clusterArns],
        RolloutQueue: [['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'], [getAtt('RolloutQueue')]],
      },
      ProtectRole: { OwnLogs: [['logs:CreateLogStream', 'logs:PutLogEvents'], [getAtt('ProtectLogGroup')]], DescribeClusters: [['eks:DescribeCluster'], clusterArns], FailedInvocations: [['sqs:SendMessage'], [getAtt(DLQ.protect)]] },
      ForwarderRole: { PutEventsOnRippleBus: [['events:PutEvents'], [getAtt('RippleBus')]] },
    };
    for (const [id, bySid] of Object.entries(expected)) {
      const got = Object.fromEntries(statements(id).map((s) => [s.Sid, [asList(s.Action).sort(), asList(s.Resource)]]));
      expect(got, id).toEqual(bySid);
    }
    for (const h of HANDLERS) {
      expect(resources[ROLE[h]]!.Properties.AssumeRolePolicyDocument.Statement).toEqual([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]);
    }
    // The forwarder's role: only EKS Pod Identity, for the forwarder's service account on this stage's clusters
    // (the session tags Pod Identity sets), in this account.
    expect(resources.ForwarderRole!.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Sid: 'ForwarderServiceAccountOnTheseClusters',
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: {
          StringEquals: {
            'aws:SourceAccount': { Ref: 'AWS::AccountId' },
            'aws:RequestTag/eks-cluster-name': CLUSTERS,
            'aws:RequestTag/kubernetes-namespace': RIPPLE_NAMESPACE,
            'aws:RequestTag/kubernetes-service-account': FORWARDER_SERVICE_ACCOUNT,
          },
        },
      },
    ]);
    // No VPC: no network-interface permissions anywhere.
    expect(JSON.stringify(resources)).not.toContain('ec2:');
  });

  it('EKS: each handler role is mapped to its Kubernetes group on every cluster; the forwarder gets pod identity', () => {
    const entries = ofType('AWS::EKS::AccessEntry').map(([, r]) => r.Properties);
    expect(entries).toHaveLength(HANDLERS.length * CLUSTERS.length);
    for (const c of CLUSTERS) {
      for (const h of HANDLERS) {
        const e = entries.filter((x) => x.ClusterName === c && x.PrincipalArn['Fn::GetAtt'][0] === ROLE[h]);
        expect(e, `${h} on ${c}`).toHaveLength(1);
        expect(e[0]).toEqual({ ClusterName: c, PrincipalArn: getAtt(ROLE[h]), Type: 'STANDARD', KubernetesGroups: [HANDLER_GROUPS[h]] });
      }
    }
    const pods = ofType('AWS::EKS::PodIdentityAssociation').map(([, r]) => r.Properties);
    expect(pods).toEqual(CLUSTERS.map((c) => ({ ClusterName: c, Namespace: RIPPLE_NAMESPACE, ServiceAccount: FORWARDER_SERVICE_ACCOUNT, RoleArn: getAtt('ForwarderRole') })));
  });

  it('log groups keep logs for the configured retention', () => {
    for (const h of HANDLERS) {
      const id = `${h[0]!.toUpperCase()}${h.slice(1)}LogGroup`;
      expect(resources[id]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: `/aws/lambda/ripple-${STAGE}-${h}`, RetentionInDays: 30 } });
    }
  });

  it('saved Logs Insights queries are the ones `ripple logs` runs', () => {
    const defs = ofType('AWS::Logs::QueryDefinition').map(([, r]) => r.Properties);
    const saved = savedQueries();
    expect(defs).toHaveLength(saved.length);
    for (const q of saved) {
      const d = defs.find((x) => x.Name === `ripple-${STAGE}/${q.title}`);
      expect(d, q.title).toBeDefined();
      expect(d.QueryString).toBe(q.queryString);
      expect(d.LogGroupNames).toEqual(q.handlers.map((h) => ({ Ref: `${h[0]!.toUpperCase()}${h.slice(1)}LogGroup` })));
    }
  });

  it('alarms: DLQ depth, handler errors, violations, forwarder silence', () => {
    const alarms = Object.fromEntries(ofType('AWS::CloudWatch::Alarm').map(([, r]) => [r.Properties.AlarmName, r.Properties]));
    for (const h of HANDLERS) {
      expect(alarms[`ripple-${STAGE}-${h}-dlq-not-empty`]).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: getAtt(DLQ[h], 'QueueName') }], Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarms[`ripple-${STAGE}-${h}-errors`]).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: { Ref: FN[h] } }] });
    }
    expect(alarms[`ripple-${STAGE}-protection-violations`]).toMatchObject({ Namespace: 'Ripple', MetricName: 'ProtectionViolations', Dimensions: [{ Name: 'service', Value: 'ripple-protect' }], ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    const silence = alarms[`ripple-${STAGE}-forwarder-silent`];
    expect(silence).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: 1, TreatMissingData: 'breaching' });
    const rules = (silence.Metrics as any[]).filter((m) => m.MetricStat).map((m) => m.MetricStat.Metric.Dimensions.find((d: any) => d.Name === 'RuleName').Value);
    expect(rules.sort()).toEqual(HANDLERS.map((h) => `ripple-${STAGE}-${h}`).sort());
  });

  it('dashboard body is valid JSON once substituted', () => {
    const [[, dash]] = ofType('AWS::CloudWatch::Dashboard') as [[string, Res]];
    const body = (dash.Properties.DashboardBody['Fn::Sub'] as string).replace(/\$\{[^}]+\}/g, 'x');
    const widgets = JSON.parse(body).widgets as any[];
    expect(widgets.length).toBeGreaterThanOrEqual(6);
    for (const ref of (dash.Properties.DashboardBody['Fn::Sub'] as string).matchAll(/\$\{([A-Za-z]+)(?:\.[A-Za-z]+)?\}/g)) {
      if (!ref[1]!.startsWith('AWS')) expect(resources[ref[1]!], ref[0]).toBeDefined();
    }
  });
});

/**
 * The template shapes cfn-lint (v1.51.5) rejected or warned about before issue 13, and the references it checks:
 * a list of problems, empty when the template is clean.
 *  - E3033 (string too short): an empty string anywhere a resource property takes a value, e.g. the alarm actions'
 *    `Fn::If [HasAlarmTopic, [''], NoValue]` when no topic was given;
 *  - W8003/W1001: a condition that compares two constants (always true or false), or a condition nobody uses;
 *  - E3005/E1012/E1010: DependsOn, Ref and GetAtt naming a resource (or parameter) the template lacks;
 *  - W3005: a DependsOn already implied by a Ref/GetAtt, unless suppressed with cfn-lint Metadata (the framework's);
 *  - E3002: AlarmActions/OKActions of more than 5 ARNs.
 */
function lintShapes(template: any): string[] {
  const problems: string[] = [];
  const res: Record<string, any> = template.Resources ?? {};
  const conditions: Record<string, unknown> = template.Conditions ?? {};
  const known = new Set([...Object.keys(res), ...Object.keys(template.Parameters ?? {})]);
  const isPseudo = (id: string) => id.startsWith('AWS::');
  const refsOf = (value: unknown, into = new Set<string>()): Set<string> => {
    if (Array.isArray(value)) value.forEach((v) => refsOf(v, into));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        if (k === 'Ref' && typeof v === 'string') into.add(v);
        else if (k === 'Fn::GetAtt') into.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]!);
        else if (k === 'Fn::Sub') {
          const text = Array.isArray(v) ? String(v[0]) : String(v);
          for (const m of text.matchAll(/\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z.]+)?\}/g)) into.add(m[1]!);
          if (Array.isArray(v)) refsOf(v[1], into);
        } else refsOf(v, into);
      }
    }
    return into;
  };
  const walk = (value: unknown, path: string, visit: (v: unknown, path: string) => void) => {
    visit(value, path);
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, visit));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`, visit);
  };
  const usedConditions = new Set<string>();
  for (const [id, r] of Object.entries(res)) {
    if (r.Condition) usedConditions.add(r.Condition);
    walk(r.Properties ?? {}, `${id}.Properties`, (v, path) => {
      // Lambda environment values and Fn::Join delimiters may be empty; nothing else may
      if (v === '' && !/\.Environment\.Variables\.|Fn::Join\[0\]$/.test(path)) problems.push(`E3033 ${path}: empty string`);
      if (v && typeof v === 'object' && !Array.isArray(v) && 'Fn::If' in v) usedConditions.add(String((v as any)['Fn::If'][0]));
    });
    for (const ref of refsOf(r.Properties ?? {})) if (!isPseudo(ref) && !known.has(ref)) problems.push(`E1012 ${id}: Ref/GetAtt of unknown ${ref}`);
    const deps = asList(r.DependsOn ?? []) as string[];
    for (const d of deps) if (!res[d]) problems.push(`E3005 ${id}: DependsOn unknown ${d}`);
    const implied = deps.filter((d) => refsOf(r.Properties ?? {}).has(d));
    const suppressed = (r.Metadata?.['cfn-lint']?.config?.ignore_checks ?? []).includes('W3005');
    if (implied.length && !suppressed) problems.push(`W3005 ${id}: DependsOn ${implied.join(', ')} already implied by Ref/GetAtt`);
    for (const key of ['AlarmActions', 'OKActions']) {
      const actions = r.Properties?.[key];
      if (Array.isArray(actions) && actions.length > 5) problems.push(`E3002 ${id}.${key}: must be a list of at most 5 ARNs`);
    }
  }
  for (const [name, def] of Object.entries(conditions)) {
    const text = JSON.stringify(def);
    if (!/"Ref"|"Fn::FindInMap"|"Condition"/.test(text)) problems.push(`W8003 Conditions.${name}: compares constants only (${text})`);
    if (!usedConditions.has(name)) problems.push(`W1001 Conditions.${name}: not used`);
  }
  return problems;
}

describe('templates cfn-lint would accept, for the default and the fully configured parameters', () => {
  it('the lint check can fail: the shapes issue 13 found are reported', () => {
    const broken = structuredClone(defaults.template);
    broken.Conditions = { HasAlarmTopic: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] } };
    broken.Resources.CloneErrorsAlarm.Properties.AlarmActions = { 'Fn::If': ['HasAlarmTopic', [''], { Ref: 'AWS::NoValue' }] };
    delete broken.Resources.CloneLambdaFunction.Metadata;
    broken.Resources.PoliciesReconcile.DependsOn = ['NoSuchEntry'];
    const problems = lintShapes(broken);
    expect([...new Set(problems.map((p) => p.split(' ')[0]))].sort()).toEqual(['E3005', 'E3033', 'W3005', 'W8003'].sort());
    expect(problems).toContain("E3033 CloneErrorsAlarm.Properties.AlarmActions.Fn::If[1][0]: empty string");
  });

  it.each([
    ['default parameters (osls package --stage dev)', () => defaults],
    ['VPC + alarm topic + two clusters (stage prod)', () => full],
  ])('%s: packaged, no lint problems', (_name, get) => {
    const run = get();
    expect(run.code, run.output).toBe(0);
    expect(lintShapes(run.template)).toEqual([]);
  });

  it('default: no alarm actions at all, no condition, no VPC, cluster `ripple` (stage dev only)', () => {
    const t = defaults.template;
    expect(t.Conditions).toBeUndefined();
    const alarms = Object.values(t.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(8);
    for (const a of alarms) {
      expect(a.Properties).not.toHaveProperty('AlarmActions');
      expect(a.Properties).not.toHaveProperty('OKActions');
    }
    expect(t.Resources.CloneLambdaFunction.Properties.VpcConfig).toBeUndefined();
    expect(JSON.stringify(t.Resources)).not.toContain('ec2:');
    expect(t.Resources.CloneLambdaFunction.Properties.Environment.Variables.RIPPLE_CLUSTER_NAME).toBe('ripple');
  });

  it('fully configured: every alarm notifies the topic; functions in the VPC, their roles allowed the network interfaces first', () => {
    const t = full.template;
    const alarms = Object.values(t.Resources as Record<string, any>).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    for (const a of alarms) expect([a.Properties.AlarmActions, a.Properties.OKActions]).toEqual([[TOPIC], [TOPIC]]);
    const policies = Object.entries(t.Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::IAM::Policy');
    expect(policies).toHaveLength(1);
    const [policyId, policy] = policies[0]!;
    expect(policy.Properties.Roles).toEqual(HANDLERS.map((h) => ({ Ref: ROLE[h] })));
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'VpcNetworkInterfaces',
        Effect: 'Allow',
        Action: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        Resource: '*',
      },
    ]);
    for (const h of HANDLERS) {
      const fn = t.Resources[FN[h]];
      expect(fn.Properties.VpcConfig).toEqual({ SubnetIds: SUBNETS, SecurityGroupIds: SGS });
      expect(asList(fn.DependsOn)).toContain(policyId);
    }
    // The roles themselves are unchanged: the VPC permissions are only in that policy.
    for (const h of HANDLERS) expect(JSON.stringify(t.Resources[ROLE[h]])).not.toContain('ec2:');
    expect(t.Resources.PoliciesReconcile.Properties.Clusters).toEqual(FULL_CLUSTERS);
    expect(t.Resources.ForwarderRole.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['aws:RequestTag/eks-cluster-name']).toEqual(FULL_CLUSTERS);
  });

  it('osls package --stage prod without --param cluster=... fails, naming the parameter and how to give it', () => {
    expect(noCluster.code).not.toBe(0);
    expect(noCluster.template).toBeNull();
    expect(noCluster.output).toContain('param "cluster" is required for stage "prod": deploy with --param="cluster=<EKS cluster name>"');
  });
});

describe('osls package with three clusters: one in another region, one in another account', () => {
  const R = () => fleet.template.Resources as Record<string, Res>;
  const roleArn = (h: string) => `arn:aws:iam::${EDGE_ACCOUNT}:role/ripple-prod-edge-${h}`;

  it('packages, with no lint problems', () => {
    expect(fleet.code, fleet.output).toBe(0);
    expect(lintShapes(fleet.template)).toEqual([]);
  });

  it('each function gets RIPPLE_CLUSTERS with every cluster, its region, and its own role in the other account', () => {
    for (const h of HANDLERS) {
      const env = R()[FN[h]]!.Properties.Environment.Variables;
      expect(env.RIPPLE_CLUSTER_NAME).toBe('hub');
      expect(JSON.parse(env.RIPPLE_CLUSTERS)).toEqual({
        hub: { region: 'eu-west-1' },
        us: { region: 'us-east-1' },
        edge: { region: 'eu-central-1', accountId: EDGE_ACCOUNT, roleArn: roleArn(h), externalId: 'ripple-prod-edge' },
      });
    }
  });

  it('IAM: eks:DescribeCluster on the clusters of this account in their regions; sts:AssumeRole only on the function\'s own role in the other account', () => {
    for (const h of HANDLERS) {
      const statements = (R()[ROLE[h]]!.Properties.Policies as any[]).flatMap((p) => p.PolicyDocument.Statement as any[]);
      expect(statements.find((x) => x.Sid === 'DescribeClusters').Resource).toEqual([
        { 'Fn::Sub': 'arn:${AWS::Partition}:eks:${AWS::Region}:${AWS::AccountId}:cluster/hub' },
        { 'Fn::Sub': 'arn:${AWS::Partition}:eks:us-east-1:${AWS::AccountId}:cluster/us' },
      ]);
      expect(JSON.stringify(statements)).not.toContain('sts:');
    }
    const policies = Object.entries(R()).filter(([id, r]) => r.Type === 'AWS::IAM::Policy' && id.endsWith('AssumeClusterRolesPolicy'));
    expect(policies.map(([id]) => id).sort()).toEqual(['CloneAssumeClusterRolesPolicy', 'ProtectAssumeClusterRolesPolicy', 'RolloutAssumeClusterRolesPolicy']);
    // and no other policy but protect's read of the audit stream
    expect(Object.entries(R()).filter(([, r]) => r.Type === 'AWS::IAM::Policy').map(([id]) => id).sort()).toEqual([...policies.map(([id]) => id), 'ProtectAuditStreamPolicy'].sort());
    for (const h of HANDLERS) {
      const [, policy] = policies.find(([id]) => id.toLowerCase().startsWith(h))!;
      expect(policy.Properties.Roles).toEqual([{ Ref: ROLE[h] }]);
      expect(policy.Properties.PolicyDocument.Statement).toEqual([{ Sid: 'AssumeClusterRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: [roleArn(h)] }]);
    }
    // The deploy-time reconcile reaches the other account's cluster only once the clone role may assume its role there.
    expect(asList(R().PoliciesReconcile!.DependsOn ?? [])).toEqual(['CloneAccessEntryHub', 'CloneAssumeClusterRolesPolicy']);
    expect(R().PoliciesReconcile!.Properties.Clusters).toEqual(['hub', 'us', 'edge']);
  });

  it('EKS resources only for the stack\'s own cluster (the others\' are in their spoke stacks); the forwarder role trusts Pod Identity on it only', () => {
    const clustersOf = (type: string) => [...new Set(Object.values(R()).filter((r) => r.Type === type).map((r) => r.Properties.ClusterName ?? r.Properties.LogGroupName))];
    expect(clustersOf('AWS::EKS::AccessEntry')).toEqual(['hub']);
    expect(clustersOf('AWS::EKS::PodIdentityAssociation')).toEqual(['hub']);
    expect(clustersOf('AWS::Logs::SubscriptionFilter')).toEqual(['/aws/eks/hub/cluster']);
    expect(R().ForwarderRole!.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals['aws:RequestTag/eks-cluster-name']).toEqual(['hub']);
    expect(Object.keys(R().PoliciesReconcile!.Properties.ForwarderAssociations)).toEqual(['hub']);
  });

  it('the bus admits PutEvents of ripple events from the other account\'s forwarder role only', () => {
    const policies = Object.values(R()).filter((r) => r.Type === 'AWS::Events::EventBusPolicy');
    expect(policies.map((p) => p.Properties)).toEqual([
      {
        EventBusName: { Ref: 'RippleBus' },
        StatementId: `ripple-forwarders-${EDGE_ACCOUNT}`,
        Statement: {
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${EDGE_ACCOUNT}:root` },
          Action: 'events:PutEvents',
          Resource: getAtt('RippleBus'),
          Condition: { ArnEquals: { 'aws:PrincipalArn': [`arn:aws:iam::${EDGE_ACCOUNT}:role/ripple-prod-edge-forwarder`] }, StringEquals: { 'events:source': 'ripple.kubernetes' } },
        },
      },
    ]);
    // and the hub outputs the function roles its spoke stacks trust, and every cluster for ripple doctor
    for (const h of HANDLERS) expect(fleet.template.Outputs[`${ROLE[h]}Arn`]).toEqual({ Value: getAtt(ROLE[h]) });
    expect(fleet.template.Outputs.StageClusters.Value).toBe(`hub=eu-west-1,us=us-east-1,edge=eu-central-1/${EDGE_ACCOUNT}`);
  });

  it('protect reads the audit records of the other region\'s and account\'s clusters from one encrypted Kinesis shard: its mapping, its DLQ, read permission on that stream only', () => {
    const streams = Object.entries(R()).filter(([, r]) => r.Type === 'AWS::Kinesis::Stream');
    expect(streams.map(([id]) => id)).toEqual(['AuditStream']);
    expect(streams[0]![1].Properties).toEqual({ Name: 'ripple-prod-audit', StreamModeDetails: { StreamMode: 'PROVISIONED' }, ShardCount: 1, RetentionPeriodHours: 24, StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' } });
    const mappings = Object.values(R()).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties.EventSourceArn) === JSON.stringify(getAtt('AuditStream')));
    expect(mappings).toHaveLength(1);
    const [mapping] = mappings;
    expect(mapping!.Properties).toEqual({
      EventSourceArn: getAtt('AuditStream'),
      FunctionName: getAtt(FN.protect),
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: true,
      // as protect's EventBridge target: 8 attempts within an hour, then its DLQ
      MaximumRetryAttempts: ruleNamedIn(R(), 'ripple-prod-protect').Properties.Targets[0].RetryPolicy.MaximumRetryAttempts,
      MaximumRecordAgeInSeconds: ruleNamedIn(R(), 'ripple-prod-protect').Properties.Targets[0].RetryPolicy.MaximumEventAgeInSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: getAtt(DLQ.protect) } },
    });
    // created once protect's role may read the stream (Lambda checks when the mapping is created)
    expect(asList(mapping!.DependsOn ?? [])).toEqual(['ProtectAuditStreamPolicy']);
    const policy = R().ProtectAuditStreamPolicy!.Properties;
    expect(policy.Roles).toEqual([{ Ref: ROLE.protect }]);
    expect(policy.PolicyDocument.Statement).toEqual([
      { Sid: 'ReadAuditStream', Effect: 'Allow', Action: ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards'], Resource: getAtt('AuditStream') },
    ]);
    // no other identity of the stack may touch it (CloudWatch Logs puts through the destinations' role, in their own stacks)
    const others = Object.entries(R()).filter(([id, r]) => id !== 'ProtectAuditStreamPolicy' && id !== 'AuditStream' && id !== 'ProtectAuditStreamMapping' && (r.Type === 'AWS::IAM::Role' || r.Type === 'AWS::IAM::Policy'));
    for (const [id, r] of others) expect(JSON.stringify(r), id).not.toContain('kinesis:');
    // protect already may send to its DLQ (its async failures): the mapping's failure destination needs nothing more
    const protectStatements = (R()[ROLE.protect]!.Properties.Policies as any[]).flatMap((p) => p.PolicyDocument.Statement as any[]);
    expect(protectStatements.find((x) => x.Sid === 'FailedInvocations')).toMatchObject({ Action: 'sqs:SendMessage', Resource: [getAtt(DLQ.protect)] });
    // the destinations (infra/aws/audit-destination.yml) take the stream's name from the hub's outputs
    expect(fleet.template.Outputs.AuditStreamName).toMatchObject({ Value: { Ref: 'AuditStream' } });
    expect(fleet.template.Outputs.AuditStreamArn).toEqual({ Value: getAtt('AuditStream') });
  });

  it('the single-cluster templates have none of it', () => {
    for (const t of [defaults.template, full.template]) {
      const types = Object.values(t.Resources as Record<string, Res>).map((r) => r.Type);
      expect(types).not.toContain('AWS::Events::EventBusPolicy');
      expect(types).not.toContain('AWS::Kinesis::Stream');
      expect(JSON.stringify(t.Resources)).not.toContain('AssumeClusterRoles');
      expect(JSON.stringify(t.Resources)).not.toContain('kinesis');
      expect(Object.values(t.Resources as Record<string, Res>).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping').map((r) => r.Properties.FunctionName)).toEqual([getAtt(FN.rollout)]);
      expect(t.Outputs).not.toHaveProperty('AuditStreamName');
    }
  });
});

/** File names in a zip (central directory), enough to check what was packaged. */
function zipEntries(buf: Buffer): string[] {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  if (eocd < 0) throw new Error('not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    names.push(buf.toString('utf8', p + 46, p + 46 + nameLen));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}
