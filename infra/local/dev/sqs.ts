/**
 * Local SQS queue and Lambda event source mapping, with the semantics the rollout path relies on:
 * visibility timeout, ApproximateReceiveCount, redrive to a dead-letter target after maxReceiveCount receives,
 * batching (batch size, maximum batching window), maximum concurrency, and partial batch failure
 * (ReportBatchItemFailures: only the listed messages come back after the visibility timeout; an invalid item
 * identifier or a thrown error fails the whole batch).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { InvokeOutcome } from './lambda.ts';

export interface QueueMessage {
  messageId: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  firstReceiveAt?: number;
  visibleAt: number;
  receiptHandle?: string;
}

export interface SqsRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: { ApproximateReceiveCount: string; SentTimestamp: string; SenderId: string; ApproximateFirstReceiveTimestamp: string };
  messageAttributes: Record<string, never>;
  md5OfBody: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

export interface QueueOptions {
  name: string;
  arn: string;
  region: string;
  visibilityTimeoutMs: number;
  redrive?: { maxReceiveCount: number; deadLetter: (m: QueueMessage) => void };
  now?: () => number;
}

export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  private opts: QueueOptions;
  private messages = new Map<string, QueueMessage>();
  /** Latest receipt handle -> message id (a delete is O(1), not a scan of the queue). */
  private receipts = new Map<string, string>();
  private listeners = new Set<() => void>();

  constructor(opts: QueueOptions) {
    this.name = opts.name;
    this.arn = opts.arn;
    this.opts = opts;
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  send(body: string): string {
    const messageId = randomUUID();
    this.messages.set(messageId, { messageId, body, sentAt: this.now(), receiveCount: 0, visibleAt: this.now() });
    for (const cb of this.listeners) cb();
    return messageId;
  }

  onSend(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /**
   * Visible messages, oldest first, at most `max`. The map keeps insertion order, which is send order (a message
   * made visible again keeps its place), so this stops after `max` instead of sorting the whole queue: the
   * mapping asks on every send, and a queue of 30,000 records must not cost O(n) per send.
   */
  private visible(max = Infinity): QueueMessage[] {
    const now = this.now();
    const out: QueueMessage[] = [];
    for (const m of this.messages.values()) {
      if (out.length >= max) break;
      if (m.visibleAt <= now) out.push(m);
    }
    return out;
  }

  visibleCount(max = Infinity): number {
    return this.visible(max).length;
  }

  /** Earliest time a currently invisible message becomes visible again, or null. */
  nextVisibleAt(): number | null {
    const now = this.now();
    const times = [...this.messages.values()].map((m) => m.visibleAt).filter((t) => t > now);
    return times.length ? Math.min(...times) : null;
  }

  /** Oldest visible message's send time (the batching window starts there). */
  oldestVisibleSentAt(): number | null {
    const v = this.visible(1);
    return v.length ? v[0].sentAt : null;
  }

  size(): number {
    return this.messages.size;
  }

  /** ReceiveMessage: up to `max` messages become invisible for the visibility timeout. */
  receive(max: number): QueueMessage[] {
    const out: QueueMessage[] = [];
    const now = this.now();
    for (const m of this.visible(max)) {
      if (out.length >= max) break;
      if (this.opts.redrive && m.receiveCount >= this.opts.redrive.maxReceiveCount) {
        // SQS moves a message to the dead-letter queue when a receive would exceed maxReceiveCount
        this.messages.delete(m.messageId);
        if (m.receiptHandle) this.receipts.delete(m.receiptHandle);
        this.opts.redrive.deadLetter(m);
        continue;
      }
      m.receiveCount++;
      m.firstReceiveAt ??= now;
      m.visibleAt = now + this.opts.visibilityTimeoutMs;
      if (m.receiptHandle) this.receipts.delete(m.receiptHandle);
      m.receiptHandle = randomUUID();
      this.receipts.set(m.receiptHandle, m.messageId);
      out.push(m);
    }
    return out;
  }

  delete(receiptHandle: string): boolean {
    const id = this.receipts.get(receiptHandle);
    if (id === undefined) return false;
    this.receipts.delete(receiptHandle);
    return this.messages.delete(id);
  }

  toRecord(m: QueueMessage): SqsRecord {
    return {
      messageId: m.messageId,
      receiptHandle: m.receiptHandle ?? '',
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'AIDAEVENTBRIDGELOCAL',
        ApproximateFirstReceiveTimestamp: String(m.firstReceiveAt ?? m.sentAt),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: this.opts.region,
    };
  }
}

export interface MappingOptions {
  batchSize: number;
  maximumBatchingWindowMs: number;
  reportBatchItemFailures: boolean;
  maximumConcurrency: number;
  invoke: (event: { Records: SqsRecord[] }) => Promise<InvokeOutcome>;
  onBatch?: (info: { records: number; failed: number; outcome: InvokeOutcome }) => void;
}

/** Polls a LocalQueue and invokes the function with SQS batches, as a Lambda event source mapping does. */
export class EventSourceMapping {
  private queue: LocalQueue;
  private opts: MappingOptions;
  private active = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight = new Set<Promise<void>>();
  private offSend: () => void;

  constructor(queue: LocalQueue, opts: MappingOptions) {
    this.queue = queue;
    this.opts = opts;
    this.offSend = queue.onSend(() => this.pump());
    this.pump();
  }

  private schedule(at: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.pump();
    }, Math.max(0, at - Date.now()));
  }

  private pump(): void {
    if (this.stopped) return;
    while (this.active < this.opts.maximumConcurrency) {
      const visible = this.queue.visibleCount(this.opts.batchSize);
      if (visible === 0) {
        const next = this.queue.nextVisibleAt();
        if (next !== null) this.schedule(next);
        return;
      }
      const oldest = this.queue.oldestVisibleSentAt() ?? Date.now();
      const windowEnds = oldest + this.opts.maximumBatchingWindowMs;
      if (visible < this.opts.batchSize && Date.now() < windowEnds) {
        this.schedule(windowEnds);
        return;
      }
      const messages = this.queue.receive(this.opts.batchSize);
      if (messages.length === 0) continue; // all went to the dead-letter target
      this.run(messages.map((m) => this.queue.toRecord(m)));
    }
  }

  private run(records: SqsRecord[]): void {
    this.active++;
    const p = this.opts
      .invoke({ Records: records })
      .then((outcome) => {
        let failed = records.length;
        if (outcome.ok) {
          const failures = this.opts.reportBatchItemFailures ? (outcome.result as { batchItemFailures?: Array<{ itemIdentifier?: string }> } | null)?.batchItemFailures : undefined;
          const ids = new Set(records.map((r) => r.messageId));
          const valid = Array.isArray(failures) ? failures.every((f) => typeof f?.itemIdentifier === 'string' && ids.has(f.itemIdentifier)) : true;
          const retry = new Set(valid && Array.isArray(failures) ? failures.map((f) => f.itemIdentifier as string) : valid ? [] : records.map((r) => r.messageId));
          for (const r of records) if (!retry.has(r.messageId)) this.queue.delete(r.receiptHandle);
          failed = retry.size;
        }
        // failed messages stay invisible until their visibility timeout, then are received again
        this.opts.onBatch?.({ records: records.length, failed, outcome });
      })
      .finally(() => {
        this.active--;
        this.inFlight.delete(p);
        this.pump();
      });
    this.inFlight.add(p);
  }

  /** Resolves when no batch is running. */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  stop(): void {
    this.stopped = true;
    this.offSend();
    if (this.timer) clearTimeout(this.timer);
  }
}
