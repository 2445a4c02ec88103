/**
 * Audit records through the hub's Kinesis stream (clusters in other regions and accounts): real gzip payloads as a
 * CloudWatch Logs destination puts them, decoded by the same code as a direct subscription; control messages
 * ignored; a malformed record, a log group that is no cluster's of the stage, or one of the wrong account refused
 * without failing the batch. Then the handler over such a batch, with no cluster reachable for the refused ones.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { isKinesisEvent, kinesisDeliveries, streamAccountOf } from '../../../../functions/protect/kinesis.ts';
import { auditSourceOf } from '../../../../functions/protect/audit.ts';
import { triggersOf, protectedPolicies } from '../../../../functions/protect/triggers.ts';
import { makeHandler, type KinesisSummary } from '../../../../functions/protect/handler.ts';
import { auditMessage, encodeAwsLogs, messagesAsKinesis, recordsAsAwsLogs, type DataMessage } from '../../../../infra/local/dev/logs.ts';
import { RipplePolicy } from '../../../../core/policy/schema.ts';
import { RetryableError } from '../../../../core/errors.ts';
import { testObservability } from '../../../integration/rollout/fixture.ts';

const HUB = '123456789012';
const EDGE = '210987654321';
const STREAM = `arn:aws:kinesis:eu-west-1:${HUB}:stream/ripple-prod-audit`;
const STAGE = [{ name: 'hub' }, { name: 'us' }, { name: 'edge', accountId: EDGE }];

const record = (over: object = {}) => ({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'Metadata',
  auditID: `a-${Math.random()}`,
  stage: 'ResponseComplete',
  verb: 'update',
  user: { username: 'alice', groups: ['platform-admins', 'system:authenticated'] },
  objectRef: { resource: 'secrets', namespace: 'platform', name: 'regcred', apiVersion: 'v1' },
  responseStatus: { code: 200 },
  stageTimestamp: '2026-12-04T09:00:00.000000Z',
  ...over,
});
const control: DataMessage = { messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Kinesis stream.' }] };

describe('isKinesisEvent', () => {
  it.each([
    [messagesAsKinesis([auditMessage([record()], '/aws/eks/us/cluster', HUB)], STREAM), true],
    [{ Records: [{ eventSource: 'aws:sqs', body: '{}' }] }, false],
    [{ Records: [] }, false],
    [recordsAsAwsLogs([record()], '/aws/eks/hub/cluster'), false],
  ])('%#', (event, expected) => {
    expect(isKinesisEvent(event)).toBe(expected);
  });

  it('the stream account comes from the event source ARN only', () => {
    expect(streamAccountOf(STREAM)).toBe(HUB);
    expect(streamAccountOf(`arn:aws-cn:kinesis:cn-north-1:${HUB}:stream/x`)).toBe(HUB);
    expect(streamAccountOf(`arn:aws:sqs:eu-west-1:${HUB}:x`)).toBeNull();
    expect(streamAccountOf(undefined)).toBeNull();
  });
});

describe('kinesisDeliveries', () => {
  it('decodes real gzip payloads and groups each cluster\'s records, in stream order, into one delivery', () => {
    const [r1, r2, r3] = [record({ auditID: 'one' }), record({ auditID: 'two' }), record({ auditID: 'three' })];
    const event = messagesAsKinesis([auditMessage([r1], '/aws/eks/us/cluster', HUB), auditMessage([r2], '/aws/eks/edge/cluster', EDGE), auditMessage([r3], '/aws/eks/us/cluster', HUB, 'kube-apiserver-audit-2')], STREAM);
    const { deliveries, refused, ignored } = kinesisDeliveries(event, STAGE);
    expect(refused).toEqual([]);
    expect(ignored).toEqual([]);
    expect(deliveries.map((d) => [d.cluster, d.payload.logEvents.map((e) => JSON.parse(e.message).auditID), d.sequenceNumbers])).toEqual([
      ['us', ['one', 'three'], [event.Records[0]!.kinesis.sequenceNumber, event.Records[2]!.kinesis.sequenceNumber]],
      ['edge', ['two'], [event.Records[1]!.kinesis.sequenceNumber]],
    ]);
    // the input batch is left as it was (one payload's log events were not extended in place)
    expect(kinesisDeliveries(event, STAGE).deliveries[0]!.payload.logEvents).toHaveLength(2);
  });

  it('ignores CONTROL_MESSAGEs (the destination\'s health checks)', () => {
    const { deliveries, refused, ignored } = kinesisDeliveries(messagesAsKinesis([control], STREAM), STAGE);
    expect([deliveries, refused]).toEqual([[], []]);
    expect(ignored).toEqual([expect.stringMatching(/control message/)]);
  });

  it('refuses malformed records, naming the record and the field, and keeps the rest of the batch', () => {
    const event = messagesAsKinesis([auditMessage([record()], '/aws/eks/us/cluster', HUB), auditMessage([record()], '/aws/eks/us/cluster', HUB), auditMessage([record()], '/aws/eks/us/cluster', HUB), auditMessage([record()], '/aws/eks/us/cluster', HUB)], STREAM);
    const [notGzip, notJson, noEvents] = [event.Records[0]!, event.Records[1]!, event.Records[2]!];
    notGzip.kinesis.data = Buffer.from('plain text').toString('base64');
    notJson.kinesis.data = gzipSync('nope').toString('base64');
    noEvents.kinesis.data = gzipSync(JSON.stringify({ messageType: 'DATA_MESSAGE', logGroup: '/aws/eks/us/cluster', owner: HUB })).toString('base64');
    const { deliveries, refused } = kinesisDeliveries(event, STAGE);
    expect(refused.map((r) => [r.sequenceNumber, r.reason])).toEqual([
      [notGzip.kinesis.sequenceNumber, expect.stringMatching(new RegExp(`^record ${notGzip.kinesis.sequenceNumber}: kinesis.data: not base64 of gzip data`))],
      [notJson.kinesis.sequenceNumber, expect.stringMatching(/kinesis.data: the decompressed payload is not JSON/)],
      [noEvents.kinesis.sequenceNumber, expect.stringMatching(/kinesis.data: logEvents is missing/)],
    ]);
    expect(deliveries.map((d) => d.sequenceNumbers)).toEqual([[event.Records[3]!.kinesis.sequenceNumber]]);
  });

  it.each([
    ['not an EKS audit log group', '/aws/lambda/ripple-prod-protect', HUB, /is not an EKS cluster's audit log/],
    ['a cluster the stage does not serve', '/aws/eks/other/cluster', HUB, /cluster other is not a cluster of this stage \(hub, us, edge\)/],
    ['a same-named log group in another account (a spoke forging the hub-account cluster "us")', '/aws/eks/us/cluster', EDGE, new RegExp(`of account ${EDGE}: cluster us is in account ${HUB} \\(the stack's\\)`)],
    ['the other account\'s cluster claimed from a third account', '/aws/eks/edge/cluster', '999999999999', new RegExp(`cluster edge is in account ${EDGE}`)],
    ['the other account\'s cluster claimed from the hub account', '/aws/eks/edge/cluster', HUB, new RegExp(`of account ${HUB}: cluster edge is in account ${EDGE}`)],
  ])('refuses %s', (_what, logGroup, owner, reason) => {
    const { deliveries, refused } = kinesisDeliveries(messagesAsKinesis([auditMessage([record()], logGroup, owner)], STREAM), STAGE);
    expect(deliveries).toEqual([]);
    expect(refused).toEqual([{ sequenceNumber: expect.any(String), reason: expect.stringMatching(reason), logGroup, owner }]);
  });

  it('refuses a record that did not come through an event source mapping of a stream (no stream ARN)', () => {
    const event = messagesAsKinesis([auditMessage([record()], '/aws/eks/us/cluster', HUB)], STREAM);
    delete (event.Records[0] as { eventSourceARN?: string }).eventSourceARN;
    expect(kinesisDeliveries(event, STAGE).refused[0]!.reason).toMatch(/eventSourceARN \(none\) is not a Kinesis stream ARN/);
  });
});

describe('the direct subscription (awslogs) is checked the same way', () => {
  const policies = protectedPolicies([RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'regcred' }, spec: { source: { kind: 'Secret', namespace: 'platform', name: 'regcred' }, protect: { allow: { groups: ['platform-admins'] } } } })]);

  it('a log group of a cluster the stage does not serve is refused, not attributed to the primary', () => {
    const t = triggersOf(recordsAsAwsLogs([record()], '/aws/eks/elsewhere/cluster'), policies, () => 'hub', STAGE);
    expect(t.byPolicy.size).toBe(0);
    expect(t.refused?.reason).toMatch(/cluster elsewhere is not a cluster of this stage/);
    const ok = triggersOf(recordsAsAwsLogs([record()], '/aws/eks/us/cluster'), policies, () => 'hub', STAGE);
    expect([ok.cluster, ok.byPolicy.size, ok.refused]).toEqual(['us', 1, undefined]);
  });

  it('a direct subscription never speaks for a cluster of another account', () => {
    expect(auditSourceOf({ logGroup: '/aws/eks/edge/cluster', owner: HUB }, STAGE, null)).toEqual({ refused: expect.stringMatching(/cluster edge is in account 210987654321/) });
    expect(auditSourceOf({ logGroup: '/aws/eks/hub/cluster', owner: '000000000000' }, STAGE, null)).toEqual({ cluster: 'hub' });
  });
});

describe('protect handler over a Kinesis batch', () => {
  const policy = RipplePolicy.parse({ apiVersion: 'ripple.dev/v1alpha1', kind: 'RipplePolicy', metadata: { name: 'regcred' }, spec: { source: { kind: 'Secret', namespace: 'platform', name: 'regcred' }, protect: {} } });

  it('refused and malformed records are reported, never fail the batch, and reach no cluster; a cluster that fails is retried from its first record only', async () => {
    const asked: string[] = [];
    const handler = makeHandler({
      policies: () => [policy],
      defaultCluster: () => 'hub',
      stageClusters: () => STAGE,
      observability: testObservability('protect'),
      kubeFor: async (cluster) => {
        asked.push(cluster);
        throw new RetryableError(`cluster ${cluster}: unreachable`);
      },
    });
    const event = messagesAsKinesis([control, auditMessage([record()], '/aws/eks/us/cluster', EDGE), auditMessage([record()], '/aws/eks/edge/cluster', EDGE), auditMessage([record()], '/aws/eks/edge/cluster', EDGE)], STREAM);
    event.Records.push({ ...event.Records[1]!, kinesis: { ...event.Records[1]!.kinesis, sequenceNumber: '1', data: encodeAwsLogs(control).awslogs.data.slice(0, 10) } });
    const res = (await handler(event, {} as never)) as KinesisSummary;
    expect(asked).toEqual(['edge']);
    expect(res.refused.map((r) => r.sequenceNumber)).toEqual([event.Records[1]!.kinesis.sequenceNumber, '1']);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: event.Records[2]!.kinesis.sequenceNumber }]);
    expect(res.skipped).toContain(`record ${event.Records[0]!.kinesis.sequenceNumber}: CloudWatch Logs control message`);
  });
});
