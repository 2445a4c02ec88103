/** serverless.yml -> local wiring: variables, CloudFormation references, events and resources. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerless, rateMs, ServerlessConfigError, type ServerlessIo } from '../../../../../infra/local/dev/serverless.ts';

function memoryIo(files: Record<string, string | object>): ServerlessIo {
  const abs = (p: string) => resolve('/svc', p);
  const table = new Map(Object.entries(files).map(([k, v]) => [abs(k), v]));
  return {
    exists: (p) => table.has(p),
    readText: (p) => {
      const v = table.get(p);
      if (typeof v !== 'string') throw new Error(`no text file ${p}`);
      return v;
    },
    importModule: async (p) => table.get(p),
  };
}

const fixture = `
service: shop
params:
  default:
    cluster: \${env:CLUSTER, 'main'}
    busName: shop-\${sls:stage}
  prod:
    cluster: prod-cluster
provider:
  name: aws
  stage: \${opt:stage, 'dev'}
  region: \${opt:region, 'eu-central-1'}
  timeout: 20
  environment:
    CLUSTER: \${param:cluster}
    FROM_JS: \${file(./vars.cjs):env}
    SELF: \${self:custom.greeting}
custom:
  greeting: hello-\${sls:stage}
functions:
  ingest:
    handler: src/ingest.handler
    maximumRetryAttempts: 1
    destinations:
      onFailure: { type: sqs, arn: !GetAtt IngestDlq.Arn }
    events:
      - eventBridge:
          eventBus: !Ref Bus
          pattern: \${file(./patterns/ingest.json)}
          retryPolicy: { maximumEventAge: 600, maximumRetryAttempts: 3 }
          deadLetterQueueArn: { 'Fn::GetAtt': [IngestDlq, Arn] }
      - schedule: { rate: rate(5 minutes), input: { reason: schedule } }
      - schedule: cron(0 12 * * ? *)
  worker:
    handler: src/worker.main
    timeout: 5
    events:
      - sqs:
          arn: { 'Fn::GetAtt': [WorkQueue, Arn] }
          batchSize: 25
          maximumBatchingWindow: \${file(./patterns/settings.json):window}
          functionResponseType: ReportBatchItemFailures
          maximumConcurrency: 3
  audit:
    handler: src/audit.handler
    events:
      - cloudwatchLog:
          logGroup: /aws/eks/\${param:cluster}/cluster
          filter: \${file(./patterns/filter.json)}
resources:
  - Resources:
      Bus:
        Type: AWS::Events::EventBus
        Properties:
          Name: \${param:busName}
      WorkRule:
        Type: AWS::Events::Rule
        Properties:
          EventBusName: { Ref: Bus }
          EventPattern: { detail: { kind: [Work] } }
          Targets:
            - Arn: !GetAtt WorkQueue.Arn
              Id: q
              RetryPolicy: { MaximumEventAgeInSeconds: 120, MaximumRetryAttempts: 2 }
              DeadLetterConfig: { Arn: { 'Fn::GetAtt': [WorkDlq, Arn] } }
      WorkQueue:
        Type: AWS::SQS::Queue
        Properties:
          QueueName: shop-\${sls:stage}-work
          VisibilityTimeout: 30
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [WorkDlq, Arn] }, maxReceiveCount: 4 }
      WorkDlq: { Type: AWS::SQS::Queue, Properties: { QueueName: shop-work-dlq } }
      IngestDlq: { Type: AWS::SQS::Queue }
      Policy:
        Type: AWS::SQS::QueuePolicy
        Properties:
          PolicyDocument:
            Resource: { 'Fn::Sub': 'arn:\${AWS::Partition}:sqs:\${AWS::Region}:\${AWS::AccountId}:x' }
  - \${file(./missing.yml)}
`;

const files = {
  'serverless.yml': fixture,
  'patterns/ingest.json': JSON.stringify({ source: ['shop'] }),
  'patterns/settings.json': JSON.stringify({ window: 7 }),
  'patterns/filter.json': JSON.stringify('{ $.verb = "delete" }'),
  'vars.cjs': { env: async (ctx: { resolveVariable: (v: string) => Promise<unknown>; options: { stage: string } }) => `${await ctx.resolveVariable('param:cluster')}@${ctx.options.stage}` },
};

describe('loadServerless', () => {
  it('resolves variables and wires events and resources (Prepare/Act/Assess)', async () => {
    // Act
    const app = await loadServerless('/svc/serverless.yml', { io: memoryIo(files), env: {} });
    // Assess
    expect(app).toMatchObject({ service: 'shop', stage: 'dev', region: 'eu-central-1', params: { cluster: 'main', busName: 'shop-dev' } });
    const ingest = app.functions.find((f) => f.name === 'ingest');
    expect(ingest).toMatchObject({ modulePath: 'src/ingest', exportName: 'handler', timeoutSeconds: 20, asyncRetry: { maximumRetryAttempts: 1, maximumEventAgeSeconds: 21600 }, onFailure: 'queue:IngestDlq' });
    expect(ingest?.environment).toEqual({ CLUSTER: 'main', FROM_JS: 'main@dev', SELF: 'hello-dev' });
    expect(app.rules).toEqual([
      { name: 'shop-dev-ingest-rule-1', eventBusName: 'shop-dev', pattern: { source: ['shop'] }, target: { type: 'function', function: 'ingest' }, retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeSeconds: 600 }, deadLetterQueue: 'IngestDlq', source: 'functions.ingest.events[0]' },
      { name: 'WorkRule', eventBusName: 'shop-dev', pattern: { detail: { kind: ['Work'] } }, target: { type: 'queue', queue: 'WorkQueue' }, retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 120 }, deadLetterQueue: 'WorkDlq', source: 'resources.WorkRule.Properties.Targets[0]' },
    ]);
    expect(app.queues.find((q) => q.logicalId === 'WorkQueue')).toEqual({ logicalId: 'WorkQueue', name: 'shop-dev-work', visibilityTimeoutSeconds: 30, redrive: { deadLetterQueue: 'WorkDlq', maxReceiveCount: 4 } });
    expect(app.sqsEvents).toEqual([{ function: 'worker', queue: 'WorkQueue', batchSize: 25, maximumBatchingWindowSeconds: 7, reportBatchItemFailures: true, maximumConcurrency: 3, enabled: true }]);
    expect(app.schedules.map((s) => [s.function, s.expression, s.rateMs, s.input])).toEqual([
      ['ingest', 'rate(5 minutes)', 300_000, { reason: 'schedule' }],
      ['ingest', 'cron(0 12 * * ? *)', null, undefined],
    ]);
    expect(app.logSubscriptions).toEqual([{ function: 'audit', name: 'shop-dev-audit-cloudwatchLog-1', logGroup: '/aws/eks/main/cluster', filterPattern: '{ $.verb = "delete" }' }]);
    expect(app.buses).toEqual(['shop-dev']);
    expect(app.notes.some((n) => n.includes('resources[1] skipped') && n.includes('./missing.yml does not exist'))).toBe(true);
  });

  it('takes --stage, params per stage, env and --param', async () => {
    const prod = await loadServerless('/svc/serverless.yml', { io: memoryIo(files), env: {}, options: { stage: 'prod' } });
    expect(prod.params.cluster).toBe('prod-cluster');
    expect(prod.queues.find((q) => q.logicalId === 'WorkQueue')?.name).toBe('shop-prod-work');
    const env = await loadServerless('/svc/serverless.yml', { io: memoryIo(files), env: { CLUSTER: 'from-env' } });
    expect(env.params.cluster).toBe('from-env');
    const cli = await loadServerless('/svc/serverless.yml', { io: memoryIo(files), env: { CLUSTER: 'from-env' }, params: { cluster: 'from-cli' } });
    expect(cli.logSubscriptions[0].logGroup).toBe('/aws/eks/from-cli/cluster');
  });

  it('names the missing pattern file', async () => {
    const { 'patterns/ingest.json': _, ...rest } = files;
    await expect(loadServerless('/svc/serverless.yml', { io: memoryIo(rest), env: {} })).rejects.toThrow(/functions\.ingest\.events\[0\]\.eventBridge\.pattern: cannot resolve \$\{file\(\.\/patterns\/ingest\.json\)\}: \.\/patterns\/ingest\.json does not exist/);
  });

  it.each([
    ['an unknown variable source', fixture.replace('${opt:region, \'eu-central-1\'}', '${ssm:/x}'), /unsupported variable source "ssm"/],
    ['a reference to an undefined resource', fixture.replace("arn: { 'Fn::GetAtt': [WorkQueue, Arn] }", "arn: { 'Fn::GetAtt': [Nope, Arn] }"), /functions\.worker\.events\[0\]\.sqs\.arn: refers to resource Nope/],
    ['a handler without an export name', fixture.replace('handler: src/worker.main', 'handler: worker'), /functions\.worker\.handler: "worker" must be <module path>\.<export name>/],
  ])('rejects %s with a message naming the place', async (_name, text, message) => {
    await expect(loadServerless('/svc/serverless.yml', { io: memoryIo({ ...files, 'serverless.yml': text }), env: {} })).rejects.toThrow(message);
  });

  it('ServerlessConfigError is what it throws', async () => {
    await expect(loadServerless('/svc/none.yml', { io: memoryIo(files) })).rejects.toBeInstanceOf(ServerlessConfigError);
  });
});

describe('the repository serverless.yml', () => {
  const root = resolve(import.meta.dirname, '../../../../..');
  // rendered files may not exist in a fresh clone before `ripple render all`; stand-ins keep this test about wiring
  const standIns: Record<string, string> = {
    'clone.json': '{"source":["ripple.kubernetes"]}',
    'protect.json': '{"source":["ripple.kubernetes"]}',
    'rollout.json': '{"source":["ripple.kubernetes"]}',
    'protect-audit-filter.json': '"{ $.objectRef.resource = \\"secrets\\" }"',
    'rollout-settings.json': '{"maximumBatchingWindow":10,"maximumConcurrency":5}',
  };
  const io: ServerlessIo = {
    exists: (p) => existsSync(p) || (p.startsWith(join(root, 'events', 'patterns')) && p.split('/').pop()! in standIns),
    readText: (p) => (existsSync(p) ? readFileSync(p, 'utf8') : standIns[p.split('/').pop()!]),
    importModule: async (p) => {
      const mod = (await import(p)) as { default?: unknown };
      return mod.default ?? mod;
    },
  };

  it('wires clone and protect from their eventBridge events, rollout through RolloutRule -> RolloutQueue -> sqs, the schedule and the audit subscription', async () => {
    const app = await loadServerless(join(root, 'serverless.yml'), { io, env: {} });
    expect(app.functions.map((f) => [f.name, f.modulePath, f.exportName])).toEqual([
      ['clone', 'functions/clone/handler', 'handler'],
      ['rollout', 'functions/rollout/handler', 'handler'],
      ['protect', 'functions/protect/handler', 'handler'],
    ]);
    const byTarget = Object.fromEntries(app.rules.map((r) => [r.target.type === 'queue' ? `queue:${r.target.queue}` : r.target.function, r]));
    expect(byTarget.clone).toMatchObject({ eventBusName: 'ripple-dev', retryPolicy: { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 }, deadLetterQueue: 'CloneDlq' });
    expect(byTarget.protect).toMatchObject({ eventBusName: 'ripple-dev', deadLetterQueue: 'ProtectDlq' });
    expect(byTarget['queue:RolloutQueue']).toMatchObject({ name: 'ripple-dev-rollout', eventBusName: 'ripple-dev', deadLetterQueue: 'RolloutDlq' });
    expect(app.queues.find((q) => q.logicalId === 'RolloutQueue')).toMatchObject({ visibilityTimeoutSeconds: 360, redrive: { deadLetterQueue: 'RolloutDlq', maxReceiveCount: 5 } });
    expect(app.sqsEvents).toEqual([expect.objectContaining({ function: 'rollout', queue: 'RolloutQueue', batchSize: 100, reportBatchItemFailures: true })]);
    expect(app.schedules).toEqual([
      expect.objectContaining({ function: 'clone', rateMs: 600_000, input: { reason: 'schedule' } }),
      // the Reloader mode's pause-period sweep: off unless policies/ripple.config.yaml turns the mode on
      expect.objectContaining({ function: 'rollout', rateMs: 60_000, input: { reason: 'schedule' }, enabled: false }),
    ]);
    expect(app.logSubscriptions).toEqual([expect.objectContaining({ function: 'protect', logGroup: '/aws/eks/ripple/cluster' })]);
    expect(app.params.cluster).toBe('ripple');
  });

  it('parses rate expressions', () => {
    expect([rateMs('rate(1 minute)'), rateMs('rate(2 hours)'), rateMs('rate(1 day)'), rateMs('cron(0 * * * ? *)')]).toEqual([60_000, 7_200_000, 86_400_000, null]);
  });
});
