/**
 * Local Lambda runtime: each function runs in its own worker thread with its own environment, imports the module
 * named by `handler:` and is invoked with real Lambda event shapes. Two invocation types, as in AWS:
 * - invoke(): RequestResponse (what the SQS event source mapping does), the outcome is returned;
 * - invokeAsync(): Event (EventBridge, schedules, CloudWatch Logs subscriptions). A failure is retried per the
 *   function's asynchronous retry settings (maximumRetryAttempts, maximumEventAge), then handed to onFailure
 *   (the local dead-letter file).
 * A missing handler module is never faked: the function is reported missing and its events are counted as lost.
 */
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { LocalFunction, RetryConfig } from './serverless.ts';

export interface InvokeError {
  name: string;
  message: string;
  stack?: string;
}

export type InvokeOutcome = { ok: true; result: unknown; requestId: string } | { ok: false; error: InvokeError; requestId: string };

export interface RuntimeOptions {
  /** Absolute path of the handler module, or null when it does not exist. */
  file: string | null;
  env: Record<string, string>;
  region: string;
  accountId: string;
  /** Every line the function writes to stdout/stderr (Powertools JSON lines). */
  onLog: (fn: string, line: string, stream: 'stdout' | 'stderr') => void;
}

export class LocalFunctionRuntime {
  readonly fn: LocalFunction;
  readonly file: string | null;
  private opts: RuntimeOptions;
  private worker: Worker | null = null;
  private nextId = 1;
  private pending = new Map<number, (o: { ok: boolean; result?: unknown; error?: InvokeError }) => void>();
  private stopped = false;

  constructor(fn: LocalFunction, opts: RuntimeOptions) {
    this.fn = fn;
    this.file = opts.file;
    this.opts = opts;
  }

  get missing(): boolean {
    return this.file === null;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./lambda-worker.ts', import.meta.url), {
      workerData: {
        file: this.file,
        exportName: this.fn.exportName,
        functionName: this.fn.name,
        timeoutMs: this.fn.timeoutSeconds * 1000,
        memorySize: this.fn.memorySize,
        region: this.opts.region,
        accountId: this.opts.accountId,
        logGroupName: `/aws/lambda/${this.fn.name}`,
      },
      env: this.opts.env,
      stdout: true,
      stderr: true,
    });
    createInterface({ input: worker.stdout }).on('line', (l) => this.opts.onLog(this.fn.name, l, 'stdout'));
    createInterface({ input: worker.stderr }).on('line', (l) => this.opts.onLog(this.fn.name, l, 'stderr'));
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: InvokeError }) => {
      const cb = this.pending.get(m.id);
      this.pending.delete(m.id);
      cb?.(m);
    });
    const fail = (err: InvokeError) => {
      for (const cb of this.pending.values()) cb({ ok: false, error: err });
      this.pending.clear();
      this.worker = null;
    };
    worker.on('error', (err) => fail({ name: 'Runtime.ExitError', message: `the ${this.fn.name} runtime crashed: ${err.message}`, stack: err.stack }));
    worker.on('exit', (code) => {
      if (!this.stopped) fail({ name: 'Runtime.ExitError', message: `the ${this.fn.name} runtime exited with code ${code}` });
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** RequestResponse invocation. */
  async invoke(event: unknown): Promise<InvokeOutcome> {
    const requestId = randomUUID();
    if (!this.file) {
      return { ok: false, requestId, error: { name: 'Runtime.ImportModuleError', message: `${this.fn.modulePath}.ts not found (handler ${this.fn.handler})` } };
    }
    if (this.stopped) return { ok: false, requestId, error: { name: 'Runtime.Stopped', message: 'the local runner is stopping' } };
    const worker = this.start();
    const id = this.nextId++;
    const outcome = await new Promise<{ ok: boolean; result?: unknown; error?: InvokeError }>((resolve) => {
      this.pending.set(id, resolve);
      worker.ref();
      worker.postMessage({ id, event, requestId });
    });
    if (this.pending.size === 0) this.worker?.unref();
    return outcome.ok ? { ok: true, result: outcome.result, requestId } : { ok: false, error: outcome.error as InvokeError, requestId };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

export interface AsyncInvokeOptions {
  retry: RetryConfig;
  /** Delay before retry n (1-based); AWS waits about 1 then 2 minutes, the local runner shortens it. */
  retryDelayMs: (attempt: number) => number;
  /** When the event was first sent (maximumEventAge counts from here). */
  sentAt?: number;
  onAttemptFailed?: (attempt: number, error: InvokeError) => void;
  /** After the last attempt: the on-failure destination (local dead-letter file). */
  onFailure: (record: DeadLetterRecord) => void;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeadLetterRecord {
  time: string;
  function: string;
  /** What delivered the event (rule name, schedule, log subscription). */
  source: string;
  attempts: number;
  condition: 'RetriesExhausted' | 'EventAgeExceeded' | 'HandlerMissing' | 'MaxReceiveCountExceeded';
  error: InvokeError;
  event: unknown;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Event (asynchronous) invocation with Lambda's retry behaviour; resolves with the final outcome. */
export async function invokeAsync(rt: LocalFunctionRuntime, event: unknown, source: string, o: AsyncInvokeOptions): Promise<InvokeOutcome> {
  const sleep = o.sleep ?? defaultSleep;
  const sentAt = o.sentAt ?? Date.now();
  const maxAttempts = 1 + Math.max(0, o.retry.maximumRetryAttempts);
  let last: InvokeOutcome | null = null;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    last = await rt.invoke(event);
    if (last.ok) return last;
    if (rt.missing) {
      o.onFailure({ time: new Date().toISOString(), function: rt.fn.name, source, attempts: attempt, condition: 'HandlerMissing', error: last.error, event });
      return last;
    }
    o.onAttemptFailed?.(attempt, last.error);
    if (attempt === maxAttempts) break;
    const delay = o.retryDelayMs(attempt);
    if (Date.now() + delay - sentAt > o.retry.maximumEventAgeSeconds * 1000) {
      o.onFailure({ time: new Date().toISOString(), function: rt.fn.name, source, attempts: attempt, condition: 'EventAgeExceeded', error: last.error, event });
      return last;
    }
    await sleep(delay);
  }
  const error = last && !last.ok ? last.error : { name: 'Error', message: 'unknown failure' };
  o.onFailure({ time: new Date().toISOString(), function: rt.fn.name, source, attempts: maxAttempts, condition: 'RetriesExhausted', error, event });
  return last as InvokeOutcome;
}
