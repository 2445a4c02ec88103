/** Local SQS semantics the rollout path relies on: batching, partial batch failures, visibility, redrive. */
import { describe, expect, it } from 'vitest';
import type { InvokeOutcome } from '../../../../../infra/local/dev/lambda.ts';
import { EventSourceMapping, LocalQueue, type QueueMessage, type SqsRecord } from '../../../../../infra/local/dev/sqs.ts';

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
};

function queue(over: Partial<ConstructorParameters<typeof LocalQueue>[0]> = {}) {
  const dead: QueueMessage[] = [];
  const q = new LocalQueue({ name: 'q', arn: 'arn:aws:sqs:eu-west-1:123456789012:q', region: 'eu-west-1', visibilityTimeoutMs: 50, redrive: { maxReceiveCount: 3, deadLetter: (m) => dead.push(m) }, ...over });
  return { q, dead };
}

const ok = (result: unknown = null): InvokeOutcome => ({ ok: true, result, requestId: 'r' });

describe('EventSourceMapping', () => {
  it('collects messages for the batching window and delivers one batch with the SQS record shape', async () => {
    const { q } = queue();
    const batches: SqsRecord[][] = [];
    const m = new EventSourceMapping(q, { batchSize: 10, maximumBatchingWindowMs: 100, reportBatchItemFailures: true, maximumConcurrency: 2, invoke: async (e) => (batches.push(e.Records), ok()) });
    for (let i = 0; i < 3; i++) q.send(JSON.stringify({ i }));
    await until(() => batches.length === 1);
    await m.idle();
    m.stop();
    expect(batches[0].map((r) => JSON.parse(r.body).i)).toEqual([0, 1, 2]);
    expect(batches[0][0]).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:q', awsRegion: 'eu-west-1', attributes: { ApproximateReceiveCount: '1' }, md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(q.size()).toBe(0);
  });

  it('delivers at once when a full batch is waiting', async () => {
    const { q } = queue();
    const sizes: number[] = [];
    for (let i = 0; i < 5; i++) q.send('{}');
    const m = new EventSourceMapping(q, { batchSize: 2, maximumBatchingWindowMs: 60_000, reportBatchItemFailures: false, maximumConcurrency: 5, invoke: async (e) => (sizes.push(e.Records.length), ok()) });
    await until(() => sizes.length === 2);
    m.stop();
    expect(sizes).toEqual([2, 2]);
    expect(q.size()).toBe(1); // the fifth waits for its window
  });

  it('re-delivers only the reported batchItemFailures after the visibility timeout', async () => {
    const { q } = queue();
    const seen: Array<[string, string]> = [];
    const m = new EventSourceMapping(q, {
      batchSize: 10,
      maximumBatchingWindowMs: 0,
      reportBatchItemFailures: true,
      maximumConcurrency: 2,
      invoke: async (e) => {
        for (const r of e.Records) seen.push([JSON.parse(r.body).n, r.attributes.ApproximateReceiveCount]);
        const bad = e.Records.filter((r) => JSON.parse(r.body).n === 'bad' && r.attributes.ApproximateReceiveCount === '1');
        return ok({ batchItemFailures: bad.map((r) => ({ itemIdentifier: r.messageId })) });
      },
    });
    q.send(JSON.stringify({ n: 'good' }));
    q.send(JSON.stringify({ n: 'bad' }));
    await until(() => q.size() === 0);
    m.stop();
    expect(seen).toEqual([
      ['good', '1'],
      ['bad', '1'],
      ['bad', '2'],
    ]);
  });

  it('treats a thrown error as a failure of the whole batch and an invalid item identifier likewise', async () => {
    const { q } = queue();
    let calls = 0;
    // Both messages wait before the mapping starts, so every delivery is one batch holding both.
    q.send('{"a":1}');
    q.send('{"a":2}');
    const m = new EventSourceMapping(q, {
      batchSize: 10,
      maximumBatchingWindowMs: 0,
      reportBatchItemFailures: true,
      maximumConcurrency: 1,
      invoke: async (e) => {
        calls++;
        expect(e.Records).toHaveLength(2);
        if (calls === 1) return { ok: false, error: { name: 'Error', message: 'x' }, requestId: 'r' };
        if (calls === 2) return ok({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] });
        return ok({ batchItemFailures: [] });
      },
    });
    await until(() => q.size() === 0);
    m.stop();
    expect(calls).toBe(3);
  });

  it('moves a message to the dead-letter target once it was received maxReceiveCount times', async () => {
    const { q, dead } = queue();
    let calls = 0;
    const m = new EventSourceMapping(q, { batchSize: 1, maximumBatchingWindowMs: 0, reportBatchItemFailures: true, maximumConcurrency: 1, invoke: async () => (calls++, { ok: false, error: { name: 'Error', message: 'always' }, requestId: 'r' }) });
    q.send('{"poison":true}');
    await until(() => dead.length === 1);
    m.stop();
    expect(calls).toBe(3);
    expect(dead[0]).toMatchObject({ body: '{"poison":true}', receiveCount: 3 });
  });

  it('runs at most maximumConcurrency batches at once', async () => {
    const { q } = queue();
    let running = 0;
    let peak = 0;
    const m = new EventSourceMapping(q, {
      batchSize: 1,
      maximumBatchingWindowMs: 0,
      reportBatchItemFailures: false,
      maximumConcurrency: 2,
      invoke: async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 20));
        running--;
        return ok();
      },
    });
    for (let i = 0; i < 6; i++) q.send('{}');
    await until(() => q.size() === 0);
    await m.idle();
    m.stop();
    expect(peak).toBe(2);
  });
});
