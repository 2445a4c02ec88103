/**
 * Batching, retry and backpressure rules of the sender, driven through its one outside seam (the PutEvents
 * function). The same paths run against the local EventBridge with the real SDK in
 * test/integration/forwarder/forwarder.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { PutEntry } from '../../../events/schema.ts';
import type { PutEventsFn, PutEventsResult } from '../../../forwarder/send.ts';
import { backoffMs, entrySize, isRetryableCallError, nextBatch, Sender } from '../../../forwarder/send.ts';
import { Metrics } from '../../../forwarder/metrics.ts';

function entry(i: number, detailBytes = 20): PutEntry {
  return { Source: 'ripple.kubernetes', DetailType: 'Kubernetes Object Updated', Detail: JSON.stringify({ i, pad: 'x'.repeat(detailBytes) }), Resources: [`k8s://dev/Secret/n/s${i}`] };
}

/** Records calls; `answer` decides each entry's fate. */
function recorder(answer: (e: PutEntry, call: number) => string | undefined = () => undefined) {
  const calls: PutEntry[][] = [];
  const put: PutEventsFn = async (entries) => {
    calls.push(entries);
    const Entries = entries.map((e) => {
      const code = answer(e, calls.length);
      return code ? { ErrorCode: code, ErrorMessage: 'injected' } : { EventId: `id-${calls.length}` };
    });
    return { FailedEntryCount: Entries.filter((x) => 'ErrorCode' in x).length, Entries } as PutEventsResult;
  };
  return { calls, put };
}

const fast = { sleep: () => Promise.resolve(), random: () => 0.5, lingerMs: 5 };

describe('pure rules', () => {
  it('entry size follows EventBridge arithmetic', () => {
    const e: PutEntry = { Source: 'ripple.kubernetes', DetailType: 'cd', Detail: 'é', Resources: ['r1', 'r2'] };
    expect(entrySize(e)).toBe(14 + 17 + 2 + 2 + 4);
  });

  it.each([
    [25, 10, 1_000_000, [10, 10, 5]],
    [10, 10, 1_000_000, [10]],
    [5, 10, 250, [2, 2, 1]],
    [3, 10, 50, [1, 1, 1]],
  ])('nextBatch drains %i items in calls of ≤%i entries, ≤%i bytes (an oversized entry goes alone)', (n, maxEntries, maxBytes, sizes) => {
    let queue = Array.from({ length: n }, (_, i) => ({ resource: `r${i}`, size: 100 }));
    const calls: number[] = [];
    while (queue.length) {
      const { batch, held, scanned } = nextBatch(queue, new Set(), maxEntries, maxBytes);
      calls.push(batch.length);
      queue = [...held, ...queue.slice(scanned)];
    }
    expect(calls).toEqual(sizes);
  });

  it('nextBatch takes one entry per resource, skips busy resources and keeps skipped entries in order at the head', () => {
    const q = ['a', 'b', 'a', 'c', undefined, undefined, 'd'].map((resource, i) => ({ resource, size: 1, i }));
    const { batch, held, scanned } = nextBatch(q, new Set(['c']), 4);
    expect(batch.map((e) => e.i)).toEqual([0, 1, 4, 5]);
    expect(held.map((e) => e.i)).toEqual([2, 3]);
    expect(scanned).toBe(6);
  });

  it('backoff grows, is capped and jittered', () => {
    expect(backoffMs(0, 100, 1000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 1000, () => 1)).toBe(800);
    expect(backoffMs(10, 100, 1000, () => 1)).toBe(1000);
    expect(backoffMs(10, 100, 1000, () => 0.25)).toBe(250);
  });

  it.each([
    [{ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, true],
    [{ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, true],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'ECONNREFUSED' }, true],
    [{ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, false],
  ])('call error %o retryable → %s', (err, expected) => {
    expect(isRetryableCallError(err)).toBe(expected);
  });
});

describe('Sender', () => {
  it('sends 25 queued entries in calls of 10, 10, 5', async () => {
    const rec = recorder();
    const s = new Sender({ put: rec.put, ...fast, lingerMs: 1000, concurrency: 1 });
    for (let i = 0; i < 25; i++) await s.enqueue(entry(i));
    await s.flush();
    expect(rec.calls.map((c) => c.length)).toEqual([10, 10, 5]);
    await s.stop();
  });

  it('keeps each call within the byte limit', async () => {
    const rec = recorder();
    const s = new Sender({ put: rec.put, ...fast, maxBytes: 3_000, concurrency: 1 });
    for (let i = 0; i < 6; i++) await s.enqueue(entry(i, 1_000));
    await s.flush();
    for (const c of rec.calls) expect(c.reduce((n, e) => n + entrySize(e), 0)).toBeLessThanOrEqual(3_000);
    expect(rec.calls.flat()).toHaveLength(6);
    await s.stop();
  });

  it('retries ThrottlingException and InternalFailure entries until delivered; never the others', async () => {
    // Prepare: entry 1 throttled twice, entry 2 InternalFailure once, entry 3 rejected for good.
    const seen = new Map<string, number>();
    const rec = recorder((e) => {
      const n = (seen.get(e.Detail) ?? 0) + 1;
      seen.set(e.Detail, n);
      const i = JSON.parse(e.Detail).i;
      if (i === 1 && n <= 2) return 'ThrottlingException';
      if (i === 2 && n <= 1) return 'InternalFailure';
      if (i === 3) return 'MalformedDetail';
      return undefined;
    });
    const metrics = new Metrics();
    const logs: string[] = [];
    const s = new Sender({ put: rec.put, ...fast, metrics, log: (_l, msg, f) => logs.push(`${msg} ${JSON.stringify(f)}`) });
    // Act
    for (let i = 0; i < 5; i++) await s.enqueue(entry(i));
    await s.flush();
    // Assess
    const attempts = (i: number) => rec.calls.flat().filter((e) => JSON.parse(e.Detail).i === i).length;
    expect([0, 1, 2, 3, 4].map(attempts)).toEqual([1, 3, 2, 1, 1]);
    expect(metrics.get('put_failures_total', { code: 'ThrottlingException', retried: 'true' })).toBe(2);
    expect(metrics.get('put_failures_total', { code: 'InternalFailure', retried: 'true' })).toBe(1);
    expect(metrics.get('put_failures_total', { code: 'MalformedDetail', retried: 'false' })).toBe(1);
    expect(metrics.total('events_sent_total')).toBe(4);
    expect(logs.some((l) => l.includes('MalformedDetail') && l.includes('k8s://dev/Secret/n/s3'))).toBe(true);
    expect(logs.join('\n')).not.toContain('"pad"');
    await s.stop();
  });

  it('keeps per-resource order across retries: a newer entry for a resource waits for the throttled older one', async () => {
    // Prepare: s7's first version is throttled once; its retry waits until released. Regression: the newer
    // version used to go out in the next call and the retried older one landed last, leaving the bus's last
    // event for the object stale.
    const same = (i: number): PutEntry => ({ ...entry(i), Resources: ['k8s://dev/Secret/n/s7'] });
    const delivered: number[] = [];
    let throttled = false;
    const put: PutEventsFn = async (entries) => {
      const Entries = entries.map((e) => {
        const i = JSON.parse(e.Detail).i;
        if (i === 1 && !throttled) {
          throttled = true;
          return { ErrorCode: 'ThrottlingException', ErrorMessage: 'injected' };
        }
        delivered.push(i);
        return { EventId: `id-${i}` };
      });
      return { FailedEntryCount: Entries.filter((x) => 'ErrorCode' in x).length, Entries } as PutEventsResult;
    };
    let releaseRetry!: () => void;
    const retryGate = new Promise<void>((r) => (releaseRetry = r));
    const s = new Sender({ put, random: () => 0.5, lingerMs: 0, sleep: () => retryGate });
    // Act: v1 is throttled; then v2 and v3 of the same object and an unrelated entry are queued.
    await s.enqueue(same(1));
    for (let n = 0; n < 100 && !throttled; n++) await new Promise((r) => setTimeout(r, 1));
    await s.enqueue(same(2));
    await s.enqueue(entry(9));
    await s.enqueue(same(3));
    for (let n = 0; n < 100 && !delivered.includes(9); n++) await new Promise((r) => setTimeout(r, 1));
    // Assess: other resources are not held up; the object's newer versions wait for the retry.
    expect(delivered).toEqual([9]);
    releaseRetry();
    await s.flush();
    expect(delivered.filter((i) => i !== 9)).toEqual([1, 2, 3]);
    await s.stop();
  });

  it('backpressure: enqueue waits while the queue is full, and nothing is dropped', async () => {
    // Prepare: a bus that answers only when released.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const delivered: PutEntry[] = [];
    const put: PutEventsFn = async (entries) => {
      await gate;
      delivered.push(...entries);
      return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'x' })) };
    };
    const s = new Sender({ put, ...fast, maxQueue: 5, maxEntries: 2, concurrency: 1, lingerMs: 0 });
    // Act
    let queued = 0;
    const producer = (async () => {
      for (let i = 0; i < 20; i++) {
        await s.enqueue(entry(i));
        queued++;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    // Assess: at most one call (≤ 2 entries) in flight + 5 queued; the producer is held.
    expect(queued).toBeGreaterThanOrEqual(5);
    expect(queued).toBeLessThanOrEqual(7);
    expect(s.depth()).toBe(queued);
    release();
    await producer;
    await s.flush();
    expect(delivered.map((e) => JSON.parse(e.Detail).i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await s.stop();
  });

  it('stop() flushes lingering entries within the grace period', async () => {
    const rec = recorder();
    const s = new Sender({ put: rec.put, ...fast, lingerMs: 60_000 });
    for (let i = 0; i < 3; i++) await s.enqueue(entry(i));
    expect(await s.stop(5_000)).toEqual({ unsent: 0 });
    expect(rec.calls.flat()).toHaveLength(3);
  });

  it('stop() reports what could not be sent when the grace period runs out', async () => {
    const metrics = new Metrics();
    const put: PutEventsFn = async (entries) => ({ FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: 'ThrottlingException' })) });
    const s = new Sender({ put, metrics, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: () => 1, retryBaseMs: 20, lingerMs: 0 });
    for (let i = 0; i < 4; i++) await s.enqueue(entry(i));
    expect(await s.stop(100)).toEqual({ unsent: 4 });
    expect(metrics.get('events_unsent_on_stop_total')).toBe(4);
    await expect(s.enqueue(entry(9))).rejects.toThrow(/stopping/);
  });
});
