/**
 * The local EventBridge through the real wire protocol: @aws-sdk/client-eventbridge with only the endpoint changed,
 * and the AWS CLI (`aws events … --endpoint-url`) when installed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  InvalidEventPatternException,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEventBridge, type LocalEventBridge } from '../../../../../infra/local/eventbridge/index.ts';

const run = promisify(execFile);
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let bus: LocalEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startEventBridge({ account: '123456789012', region: 'eu-west-1' });
  client = new EventBridgeClient({ endpoint: bus.url, region: 'eu-west-1', credentials, maxAttempts: 1 });
});

afterAll(async () => {
  client?.destroy();
  await bus?.stop();
});

const detail = JSON.stringify({ cluster: 'dev', kind: 'Secret', namespace: 'platform', name: 'blogsecret', changes: ['data'] });

describe('PutEvents', () => {
  it('accepts entries and delivers the real envelope to a matching rule', async () => {
    // Prepare
    const delivered: any[] = [];
    bus.putRule({ name: 'secrets', eventBusName: 'ripple', pattern: { source: ['ripple.kubernetes'], detail: { kind: ['Secret'], changes: ['data'] } }, target: async (e) => void delivered.push(e) });
    bus.putRule({ name: 'configmaps', eventBusName: 'ripple', pattern: { detail: { kind: ['ConfigMap'] } }, target: async (e) => void delivered.push({ wrong: e }) });
    // Act
    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'ripple.kubernetes', DetailType: 'Kubernetes Object Updated', Detail: detail, Resources: ['k8s://dev/Secret/platform/blogsecret'], EventBusName: 'ripple', Time: new Date('2026-11-25T10:00:00.123Z') }] }));
    await bus.idle();
    // Assess
    expect(out.FailedEntryCount).toBe(0);
    const id = out.Entries?.[0].EventId;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(delivered).toEqual([
      {
        version: '0',
        id,
        'detail-type': 'Kubernetes Object Updated',
        source: 'ripple.kubernetes',
        account: '123456789012',
        time: '2026-11-25T10:00:00Z',
        region: 'eu-west-1',
        resources: ['k8s://dev/Secret/platform/blogsecret'],
        detail: JSON.parse(detail),
      },
    ]);
    expect(bus.matchedBy(id as string)).toEqual(['secrets']);
  });

  it('rejects more than 10 entries with ValidationException', async () => {
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 'd', Detail: '{}' }));
    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/less than or equal to 10/) });
  });

  it('reports per-entry errors with FailedEntryCount', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 'd', Detail: '{"ok":true}' },
          { DetailType: 'd', Detail: '{}' },
          { Source: 's', Detail: '{}' },
          { Source: 's', DetailType: 'd' },
          { Source: 's', DetailType: 'd', Detail: 'not json' },
          { Source: 's', DetailType: 'd', Detail: '[1,2]' },
          { Source: 's', DetailType: 'd', Detail: JSON.stringify({ big: 'x'.repeat(1024 * 1024) }) },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(6);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'InvalidArgument', 'InvalidArgument', 'InvalidArgument', 'MalformedDetail', 'MalformedDetail', 'InvalidArgument']);
    expect(out.Entries?.[1].ErrorMessage).toMatch(/Source is a required argument/);
    expect(out.Entries?.[6].ErrorMessage).toMatch(/over the limit of 1048576 bytes/);
  });

  it('accepts an entry of exactly 1 MB', async () => {
    const base = { Source: 's', DetailType: 'd' };
    const overhead = Buffer.byteLength('s') + Buffer.byteLength('d') + Buffer.byteLength('{"p":""}');
    const out = await client.send(new PutEventsCommand({ Entries: [{ ...base, Detail: JSON.stringify({ p: 'y'.repeat(1024 * 1024 - overhead) }) }] }));
    expect(out.FailedEntryCount).toBe(0);
  });

  it('injects ThrottlingException and InternalFailure entries for the next N entries', async () => {
    bus.injectFailures({ code: 'ThrottlingException', count: 2 });
    bus.injectFailures({ code: 'InternalFailure', count: 1 });
    const entries = Array.from({ length: 4 }, (_, i) => ({ Source: 's', DetailType: 'd', Detail: JSON.stringify({ i }) }));
    const out = await client.send(new PutEventsCommand({ Entries: entries }));
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries?.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'InternalFailure', 'ok']);
    const again = await client.send(new PutEventsCommand({ Entries: entries }));
    expect(again.FailedEntryCount).toBe(0);
  });

  it('records every accepted event and notifies onEvent listeners', async () => {
    const seen: any[] = [];
    const off = bus.onEvent((e) => seen.push(e));
    const before = bus.received().length;
    await client.send(new PutEventsCommand({ Entries: [{ Source: 'a', DetailType: 'b', Detail: '{"n":1}' }] }));
    off();
    expect(bus.received().length).toBe(before + 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ source: 'a', 'detail-type': 'b', detail: { n: 1 }, resources: [] });
  });
});

describe('TestEventPattern, PutRule, ListRules, PutTargets, DescribeEventBus', () => {
  const event = JSON.stringify({ id: '1', account: '123456789012', source: 'ripple.kubernetes', time: '2026-11-25T10:00:00Z', region: 'eu-west-1', 'detail-type': 'Kubernetes Object Updated', resources: [], detail: { kind: 'Secret' } });

  it('TestEventPattern answers match / no match', async () => {
    const yes = await client.send(new TestEventPatternCommand({ EventPattern: JSON.stringify({ detail: { kind: ['Secret'] } }), Event: event }));
    const no = await client.send(new TestEventPatternCommand({ EventPattern: JSON.stringify({ detail: { kind: [{ 'anything-but': 'Secret' }] } }), Event: event }));
    expect(yes.Result).toBe(true);
    expect(no.Result).toBe(false);
  });

  it('TestEventPattern rejects an invalid pattern with InvalidEventPatternException and the reason', async () => {
    const err = await client.send(new TestEventPatternCommand({ EventPattern: JSON.stringify({ detail: { kind: 'Secret' } }), Event: event })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidEventPatternException);
    expect((err as Error).message).toBe('Event pattern is not valid. Reason: "kind" must be an object or an array at detail.kind');
  });

  it('TestEventPattern rejects an event without the envelope fields', async () => {
    await expect(client.send(new TestEventPatternCommand({ EventPattern: '{"source":["x"]}', Event: '{"source":"x"}' }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/missing required field\(s\): id, account, time, region, detail-type/) });
  });

  it('PutRule/PutTargets/ListRules/ListTargetsByRule round-trip; rules match delivered events', async () => {
    const put = await client.send(new PutRuleCommand({ Name: 'api-rule', EventPattern: JSON.stringify({ source: ['api.source'] }), EventBusName: 'default' }));
    expect(put.RuleArn).toBe('arn:aws:events:eu-west-1:123456789012:rule/api-rule');
    await client.send(new PutTargetsCommand({ Rule: 'api-rule', Targets: [{ Id: 'q', Arn: 'arn:aws:sqs:eu-west-1:123456789012:q' }] }));
    const rules = await client.send(new ListRulesCommand({ NamePrefix: 'api-' }));
    expect(rules.Rules?.map((r) => r.Name)).toEqual(['api-rule']);
    const targets = await client.send(new ListTargetsByRuleCommand({ Rule: 'api-rule' }));
    expect(targets.Targets?.[0]).toMatchObject({ Id: 'q', Arn: 'arn:aws:sqs:eu-west-1:123456789012:q' });
    const out = await client.send(new PutEventsCommand({ Entries: [{ Source: 'api.source', DetailType: 'x', Detail: '{}' }] }));
    expect(bus.matchedBy(out.Entries?.[0].EventId as string)).toEqual(['api-rule']);
  });

  it('PutRule rejects an invalid pattern', async () => {
    await expect(client.send(new PutRuleCommand({ Name: 'bad', EventPattern: JSON.stringify({ source: [{ numeric: ['>', 'x'] }] }) }))).rejects.toMatchObject({ name: 'InvalidEventPatternException', message: expect.stringMatching(/Value of > must be numeric at source/) });
  });

  it("PutRule and putRule() refuse a pattern over the account's Event pattern size quota (2048 by default, configurable)", async () => {
    // Prepare: patterns of exactly 2048 and 2049 characters.
    const sized = (n: number) => {
      const p = { source: ['x'], detail: { name: [''] } };
      p.detail.name[0] = 'a'.repeat(n - JSON.stringify(p).length);
      return p;
    };
    expect(JSON.stringify(sized(2048))).toHaveLength(2048);
    // Act + Assess: over the API
    await client.send(new PutRuleCommand({ Name: 'at-quota', EventPattern: JSON.stringify(sized(2048)) }));
    await expect(client.send(new PutRuleCommand({ Name: 'over-quota', EventPattern: JSON.stringify(sized(2049)) }))).rejects.toMatchObject({
      name: 'LimitExceededException',
      message: expect.stringMatching(/^Rule over-quota: the event pattern is 2049 characters, over the account's "Event pattern size" quota of 2048; narrow the pattern or raise the quota/),
    });
    // and in process
    expect(() => bus.putRule({ name: 'local-over', pattern: sized(2049), target: async () => {} })).toThrow(/Rule local-over: the event pattern is 2049 characters/);
    // A bus started with a raised quota takes it.
    const raised = await startEventBridge({ patternSizeQuota: 4096 });
    try {
      const c = new EventBridgeClient({ endpoint: raised.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
      await c.send(new PutRuleCommand({ Name: 'raised', EventPattern: JSON.stringify(sized(4096)) }));
      await expect(c.send(new PutRuleCommand({ Name: 'raised-over', EventPattern: JSON.stringify(sized(4097)) }))).rejects.toMatchObject({ name: 'LimitExceededException' });
    } finally {
      await raised.stop();
    }
  });

  it('ListRules includes in-process rules of the bus', async () => {
    const rules = await client.send(new ListRulesCommand({ EventBusName: 'ripple' }));
    expect(rules.Rules?.map((r) => r.Name)).toEqual(['configmaps', 'secrets']);
    expect(JSON.parse(rules.Rules?.[1].EventPattern as string)).toEqual({ source: ['ripple.kubernetes'], detail: { kind: ['Secret'], changes: ['data'] } });
  });

  it('DescribeEventBus knows default and buses in use, and not others', async () => {
    const d = await client.send(new DescribeEventBusCommand({ Name: 'default' }));
    expect(d.Arn).toBe('arn:aws:events:eu-west-1:123456789012:event-bus/default');
    await expect(client.send(new DescribeEventBusCommand({ Name: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

const aws = await run('sh', ['-c', 'command -v aws']).then(
  (r) => r.stdout.trim(),
  () => '',
);

describe.skipIf(!aws)(`AWS CLI (${aws || 'not installed: install awscli to run these'})`, () => {
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_DEFAULT_REGION: 'eu-west-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  const cli = async (...args: string[]) => JSON.parse((await run(aws, [...args, '--endpoint-url', bus.url, '--output', 'json'], { env })).stdout);

  it('aws events put-events reaches the local bus', async () => {
    const delivered: any[] = [];
    bus.putRule({ name: 'cli', pattern: { source: ['cli.test'] }, target: async (e) => void delivered.push(e) });
    const out = await cli('events', 'put-events', '--entries', JSON.stringify([{ Source: 'cli.test', DetailType: 'From CLI', Detail: '{"hello":"world"}' }]));
    await bus.idle();
    expect(out.FailedEntryCount).toBe(0);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toMatchObject({ source: 'cli.test', 'detail-type': 'From CLI', detail: { hello: 'world' }, account: '123456789012', region: 'eu-west-1' });
  });

  it('aws events test-event-pattern answers', async () => {
    const event = JSON.stringify({ id: '1', account: '1', source: 'cli.test', time: '2026-11-25T10:00:00Z', region: 'eu-west-1', 'detail-type': 'x', resources: [], detail: {} });
    const out = await cli('events', 'test-event-pattern', '--event-pattern', '{"source":[{"prefix":"cli."}]}', '--event', event);
    expect(out.Result).toBe(true);
  });
});
