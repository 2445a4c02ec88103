/** The local Lambda runtime: a real handler module in a worker thread, its own environment, retries, dead letters. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { invokeAsync, LocalFunctionRuntime, type DeadLetterRecord } from '../../../../../infra/local/dev/lambda.ts';
import type { LocalFunction } from '../../../../../infra/local/dev/serverless.ts';

const dir = mkdtempSync(join(tmpdir(), 'ripple-lambda-'));
const file = join(dir, 'handler.ts');
writeFileSync(
  file,
  `let calls = 0;
export const handler = async (event: { mode: string }, context: { functionName: string; awsRequestId: string; getRemainingTimeInMillis(): number }) => {
  calls++;
  console.log(JSON.stringify({ level: 'INFO', message: 'invoked', mode: event.mode }));
  if (event.mode === 'env') return { who: process.env.WHO, fn: context.functionName, remaining: context.getRemainingTimeInMillis() > 0, id: context.awsRequestId };
  if (event.mode === 'fail') throw new Error('boom');
  if (event.mode === 'flaky') { if (calls % 2 === 1) throw new Error('first try fails'); return 'second try'; }
  if (event.mode === 'slow') await new Promise((r) => setTimeout(r, 5000));
  return null;
};
export const notAFunction = 1;
`,
);

const fn = (over: Partial<LocalFunction> = {}): LocalFunction => ({
  name: 'demo',
  handler: 'handler.handler',
  modulePath: 'handler',
  exportName: 'handler',
  timeoutSeconds: 2,
  memorySize: 256,
  environment: {},
  asyncRetry: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 },
  ...over,
});

const logs: string[] = [];
const runtimes: LocalFunctionRuntime[] = [];
const make = (over: Partial<LocalFunction> = {}, env: Record<string, string> = {}, f: string | null = file) => {
  const rt = new LocalFunctionRuntime(fn(over), { file: f, env, region: 'eu-west-1', accountId: '123456789012', onLog: (name, line) => logs.push(`${name}: ${line}`) });
  runtimes.push(rt);
  return rt;
};

afterAll(async () => {
  for (const rt of runtimes) await rt.stop();
});

describe('LocalFunctionRuntime', () => {
  it('invokes the export with a Lambda-like context and the function environment only', async () => {
    const a = make({ name: 'a' }, { WHO: 'function a' });
    const b = make({ name: 'b' }, { WHO: 'function b' });
    const [ra, rb] = await Promise.all([a.invoke({ mode: 'env' }), b.invoke({ mode: 'env' })]);
    expect(ra).toMatchObject({ ok: true, result: { who: 'function a', fn: 'a', remaining: true } });
    expect(rb).toMatchObject({ ok: true, result: { who: 'function b', fn: 'b' } });
    expect((ra as { result: { id: string } }).result.id).toBe(ra.requestId);
    await new Promise((r) => setTimeout(r, 50));
    expect(logs).toContain('a: {"level":"INFO","message":"invoked","mode":"env"}');
  });

  it('returns the error of a failing handler', async () => {
    const r = await make().invoke({ mode: 'fail' });
    expect(r).toMatchObject({ ok: false, error: { name: 'Error', message: 'boom' } });
  });

  it('times out like Lambda', async () => {
    const r = await make({ timeoutSeconds: 0.2 }).invoke({ mode: 'slow' });
    expect(r).toMatchObject({ ok: false, error: { name: 'Sandbox.Timedout', message: 'Task timed out after 0.20 seconds' } });
  });

  it('reports an export that is not a function', async () => {
    const r = await make({ exportName: 'notAFunction' }).invoke({});
    expect(r).toMatchObject({ ok: false, error: { name: 'Runtime.HandlerNotFound' } });
  });

  it('reports a missing module without running anything', async () => {
    const rt = make({ modulePath: 'functions/x/handler', handler: 'functions/x/handler.handler' }, {}, null);
    expect(rt.missing).toBe(true);
    expect(await rt.invoke({})).toMatchObject({ ok: false, error: { name: 'Runtime.ImportModuleError', message: 'functions/x/handler.ts not found (handler functions/x/handler.handler)' } });
  });
});

describe('invokeAsync', () => {
  it('retries maximumRetryAttempts times, then dead-letters with the last error', async () => {
    const dead: DeadLetterRecord[] = [];
    const failures: number[] = [];
    const r = await invokeAsync(make(), { mode: 'fail' }, 'rule r', { retry: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 }, retryDelayMs: () => 1, onAttemptFailed: (n) => failures.push(n), onFailure: (d) => dead.push(d) });
    expect(r.ok).toBe(false);
    expect(failures).toEqual([1, 2, 3]);
    expect(dead).toEqual([expect.objectContaining({ function: 'demo', source: 'rule r', attempts: 3, condition: 'RetriesExhausted', error: expect.objectContaining({ message: 'boom' }), event: { mode: 'fail' } })]);
  });

  it('succeeds on a retry without dead-lettering', async () => {
    const dead: DeadLetterRecord[] = [];
    const r = await invokeAsync(make(), { mode: 'flaky' }, 'rule r', { retry: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 3600 }, retryDelayMs: () => 1, onFailure: (d) => dead.push(d) });
    expect(r).toMatchObject({ ok: true, result: 'second try' });
    expect(dead).toEqual([]);
  });

  it('stops when the next retry would exceed maximumEventAge', async () => {
    const dead: DeadLetterRecord[] = [];
    await invokeAsync(make(), { mode: 'fail' }, 'rule r', { retry: { maximumRetryAttempts: 5, maximumEventAgeSeconds: 60 }, retryDelayMs: () => 120_000, onFailure: (d) => dead.push(d) });
    expect(dead).toEqual([expect.objectContaining({ attempts: 1, condition: 'EventAgeExceeded' })]);
  });

  it('dead-letters at once when the handler is missing', async () => {
    const dead: DeadLetterRecord[] = [];
    await invokeAsync(make({}, {}, null), { any: 1 }, 'schedule s', { retry: { maximumRetryAttempts: 2, maximumEventAgeSeconds: 60 }, retryDelayMs: () => 1, onFailure: (d) => dead.push(d) });
    expect(dead).toEqual([expect.objectContaining({ attempts: 1, condition: 'HandlerMissing' })]);
  });
});
