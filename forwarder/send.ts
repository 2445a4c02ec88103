/**
 * Shipping events: a bounded queue in front of PutEvents.
 *
 * - Batches of ≤ 10 entries and ≤ 1 MiB (EventBridge's entry-size arithmetic), sent as soon as 10 are ready or
 *   the oldest has waited `lingerMs`, with up to `concurrency` calls in flight.
 * - Entries that fail with ThrottlingException or InternalFailure are retried with exponential backoff and
 *   full jitter; any other code is counted, logged (detail type and resource, never the detail) and not retried.
 * - `enqueue` resolves when there is room: a full queue slows whoever feeds it (the watch), nothing is dropped.
 * - Per resource (an entry's first `Resources` ARN), entries are delivered in the order they were queued: an entry
 *   waits while an earlier one for the same resource is in flight or waiting for a retry, so a throttled event
 *   can never land after a newer one and leave the bus's last word on an object stale. At most one entry per
 *   resource is in flight; other resources are not held up. Entries without a resource (resync) are unordered.
 * - `stop(graceMs)` flushes what is queued and reports what could not be sent in time.
 */
import type { PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PutEntry } from '../events/schema.ts';
import type { Log } from './log.ts';
import { errorFields, silentLog } from './log.ts';
import { Metrics } from './metrics.ts';

export type PutEventsResult = Pick<PutEventsCommandOutput, 'FailedEntryCount' | 'Entries'>;
/** The one call to the outside world; the default is the real SDK client. */
export type PutEventsFn = (entries: PutEntry[]) => Promise<PutEventsResult>;

export const RETRYABLE_CODES = new Set(['ThrottlingException', 'InternalFailure']);
export const MAX_ENTRIES_PER_CALL = 10;
export const MAX_CALL_BYTES = 1024 * 1024;

export function eventBridgePut(client: EventBridgeClient): PutEventsFn {
  return (entries) => client.send(new PutEventsCommand({ Entries: entries }));
}

/** EventBridge's size arithmetic for one entry: Time (14 bytes) + Source + DetailType + Detail + Resources. */
export function entrySize(e: PutEntry): number {
  let n = 14 + Buffer.byteLength(e.Source) + Buffer.byteLength(e.DetailType) + Buffer.byteLength(e.Detail);
  for (const r of e.Resources ?? []) n += Buffer.byteLength(r);
  return n;
}

/** What batching needs to know of a queued entry. */
export interface Batchable {
  /** Ordering key: the entry's resource, if any. */
  resource: string | undefined;
  size: number;
}

/**
 * The next PutEvents call from the head of `queue` (pure; the Sender's only batching): entries in queue order,
 * ≤ maxEntries and ≤ maxBytes (an entry above maxBytes goes alone), skipping entries whose resource is `busy`
 * (in flight or waiting for a retry) or already in this batch — one entry per resource at a time. Returns the
 * batch, the skipped entries (`held`, to keep their place at the head) and how many queue entries were looked at
 * (`scanned`: the caller replaces `queue[0, scanned)` by `held`).
 */
export function nextBatch<T extends Batchable>(queue: readonly T[], busy: ReadonlySet<string>, maxEntries = MAX_ENTRIES_PER_CALL, maxBytes = MAX_CALL_BYTES): { batch: T[]; held: T[]; scanned: number } {
  const batch: T[] = [];
  const held: T[] = [];
  const taken = new Set<string>();
  let bytes = 0;
  let i = 0;
  for (; i < queue.length && batch.length < maxEntries; i++) {
    const next = queue[i]!;
    if (next.resource !== undefined && (busy.has(next.resource) || taken.has(next.resource))) {
      held.push(next);
      continue;
    }
    if (batch.length && bytes + next.size > maxBytes) break;
    batch.push(next);
    bytes += next.size;
    if (next.resource !== undefined) taken.add(next.resource);
  }
  return { batch, held, scanned: i };
}

/** Exponential backoff with full jitter: random in [0, min(cap, base·2^attempt)]. */
export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Is a whole-call failure (the SDK already retried it) worth retrying? Network errors, 5xx, 429, throttling. */
export function isRetryableCallError(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (RETRYABLE_CODES.has(e?.name ?? '') || e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  return status === undefined || status === 429 || status >= 500;
}

export interface SenderOptions {
  put: PutEventsFn;
  maxQueue?: number;
  maxEntries?: number;
  maxBytes?: number;
  lingerMs?: number;
  concurrency?: number;
  retryBaseMs?: number;
  retryCapMs?: number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  metrics?: Metrics;
  log?: Log;
}

interface Item extends Batchable {
  entry: PutEntry;
  at: number;
  attempts: number;
}

const unrefSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class Sender {
  private readonly o: Required<SenderOptions>;
  private readonly queue: Item[] = [];
  private retrying = 0;
  private inflight = 0;
  private stopping = false;
  private abandoned = false;
  private flushWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private wakeUp: (() => void) | null = null;
  /** Resources with an entry in flight or waiting for a retry: their later entries wait. */
  private readonly busy = new Set<string>();
  private readonly loop: Promise<void>;

  constructor(opts: SenderOptions) {
    this.o = {
      maxQueue: 1000,
      maxEntries: MAX_ENTRIES_PER_CALL,
      maxBytes: MAX_CALL_BYTES,
      lingerMs: 20,
      concurrency: 4,
      retryBaseMs: 100,
      retryCapMs: 20_000,
      sleep: unrefSleep,
      random: Math.random,
      now: Date.now,
      metrics: new Metrics(),
      log: silentLog,
      ...opts,
    };
    this.o.metrics.collect(() => this.o.metrics.set('queue_depth', undefined, this.depth()));
    this.loop = this.run();
  }

  /** Entries queued, waiting for a retry or in flight. */
  depth(): number {
    return this.queue.length + this.retrying + this.inflightEntries;
  }
  private inflightEntries = 0;

  /** Queue one entry; resolves once it is queued (waits while the queue is full). */
  async enqueue(entry: PutEntry): Promise<void> {
    if (this.stopping) throw new Error('sender is stopping; event not queued');
    while (this.queue.length + this.retrying >= this.o.maxQueue) {
      await new Promise<void>((r) => this.spaceWaiters.push(r));
      if (this.stopping) throw new Error('sender is stopping; event not queued');
    }
    this.queue.push({ entry, resource: entry.Resources?.[0], size: entrySize(entry), at: this.o.now(), attempts: 0 });
    this.wake();
  }

  /** Resolves when everything queued so far has been sent (or given up). */
  flush(): Promise<void> {
    if (this.depth() === 0) return Promise.resolve();
    const p = new Promise<void>((r) => this.flushWaiters.push(r));
    this.wake();
    return p;
  }

  /** Flush within `graceMs`, then stop. Returns how many entries could not be sent in time. */
  async stop(graceMs = 10_000): Promise<{ unsent: number }> {
    this.stopping = true;
    for (const w of this.spaceWaiters.splice(0)) w();
    this.wake();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.loop.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    const unsent = timedOut ? this.depth() : 0;
    if (timedOut) {
      this.abandoned = true;
      this.queue.length = 0;
      this.wake();
      this.o.metrics.inc('events_unsent_on_stop_total', undefined, unsent);
      this.o.log('error', 'shutdown grace period over; events not sent', { unsent, graceMs });
    }
    for (const w of this.flushWaiters.splice(0)) w();
    return { unsent };
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = null;
    w?.();
  }

  private waitWake(ms?: number): Promise<void> {
    return new Promise<void>((r) => {
      let t: NodeJS.Timeout | undefined;
      this.wakeUp = () => {
        if (t) clearTimeout(t);
        r();
      };
      if (ms !== undefined) t = setTimeout(() => this.wake(), Math.max(1, ms));
    });
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.abandoned) return;
      const idle = this.queue.length === 0 && this.retrying === 0 && this.inflight === 0;
      if (idle) {
        for (const w of this.flushWaiters.splice(0)) w();
        if (this.stopping) return;
      }
      if (this.queue.length === 0 || this.inflight >= this.o.concurrency) {
        await this.waitWake();
        continue;
      }
      const urgent = this.stopping || this.flushWaiters.length > 0;
      if (!urgent && this.queue.length < this.o.maxEntries) {
        const wait = this.o.lingerMs - (this.o.now() - this.queue[0].at);
        if (wait > 0) {
          await this.waitWake(wait);
          continue;
        }
      }
      const batch = this.takeBatch();
      if (batch.length === 0) {
        // Everything queued waits behind an earlier entry for its resource; a settled call wakes us.
        await this.waitWake();
        continue;
      }
      this.inflight++;
      this.inflightEntries += batch.length;
      void this.send(batch).then((again) => {
        for (const i of batch) if (i.resource !== undefined && !again.includes(i)) this.busy.delete(i.resource);
        if (again.length) void this.retry(again);
        this.inflight--;
        this.inflightEntries -= batch.length;
        this.wake();
      });
    }
  }

  /** Take the next call's entries off the queue (nextBatch); their resources are busy until the call settles. */
  private takeBatch(): Item[] {
    const { batch, held, scanned } = nextBatch(this.queue, this.busy, this.o.maxEntries, this.o.maxBytes);
    if (held.length) this.queue.splice(0, scanned, ...held);
    else this.queue.splice(0, scanned);
    for (const i of batch) if (i.resource !== undefined) this.busy.add(i.resource);
    if (batch.length) for (const w of this.spaceWaiters.splice(0)) w();
    return batch;
  }

  /** One PutEvents call; returns the entries to retry. Never throws. */
  private async send(batch: Item[]): Promise<Item[]> {
    const m = this.o.metrics;
    m.inc('put_calls_total');
    m.inc('put_entries_total', undefined, batch.length);
    let res: PutEventsResult;
    try {
      res = await this.o.put(batch.map((i) => i.entry));
    } catch (err) {
      const code = (err as { name?: string })?.name ?? 'Error';
      const retry = isRetryableCallError(err);
      m.inc('put_failures_total', { code, retried: String(retry) }, batch.length);
      if (retry) {
        this.o.log('warn', 'PutEvents call failed; retrying its entries', { entries: batch.length, ...errorFields(err) });
        return batch;
      }
      this.o.log('error', 'PutEvents call rejected; entries not retried', { entries: batch.length, ...errorFields(err), resources: batch.map((i) => i.entry.Resources?.[0] ?? i.entry.DetailType) });
      return [];
    }
    const results = res.Entries ?? [];
    const again: Item[] = [];
    batch.forEach((item, i) => {
      const r = results[i];
      if (r && !r.ErrorCode) {
        m.inc('events_sent_total', { detail_type: item.entry.DetailType });
        return;
      }
      const code = r?.ErrorCode ?? 'MissingResult';
      const retry = RETRYABLE_CODES.has(code);
      m.inc('put_failures_total', { code, retried: String(retry) });
      if (retry) again.push(item);
      else this.o.log('error', 'PutEvents entry rejected; not retried', { code, errorMessage: r?.ErrorMessage, detailType: item.entry.DetailType, resource: item.entry.Resources?.[0] });
    });
    return again;
  }

  private async retry(items: Item[]): Promise<void> {
    this.retrying += items.length; // synchronously, before the in-flight count drops: depth() stays exact
    const attempt = Math.max(...items.map((i) => i.attempts));
    await this.o.sleep(backoffMs(attempt, this.o.retryBaseMs, this.o.retryCapMs, this.o.random));
    this.retrying -= items.length;
    for (const i of items) if (i.resource !== undefined) this.busy.delete(i.resource);
    if (this.abandoned) return;
    for (const i of items) i.attempts++;
    this.queue.unshift(...items.map((i) => ({ ...i, at: 0 })));
    this.wake();
  }
}
