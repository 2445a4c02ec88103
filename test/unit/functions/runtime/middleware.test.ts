import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PermanentError, RetryableError, ValidationError } from '../../../../core/errors.ts';
import { correlationIdOf, rippleMiddleware } from '../../../../functions/runtime/middleware.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = { log: (s: string) => lines.push(JSON.parse(s)), info: (s: string) => lines.push(JSON.parse(s)), warn: (s: string) => lines.push(JSON.parse(s)), error: (s: string) => lines.push(JSON.parse(s)), debug: (s: string) => lines.push(JSON.parse(s)), trace: () => {} } as unknown as Console;
  const logger = new Logger({ serviceName: 'ripple-test', logLevel: 'INFO' });
  (logger as unknown as { console: Console }).console = sink;
  const metrics = new Metrics({ namespace: 'Ripple', serviceName: 'ripple-test' });
  (metrics as unknown as { console: Console }).console = sink;
  return { lines, obs: () => ({ logger, metrics }) };
}

const context = { functionName: 'clone', awsRequestId: 'req-1', functionVersion: '1', invokedFunctionArn: 'arn', memoryLimitInMB: '128', logGroupName: 'g', logStreamName: 's', callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 1000, done() {}, fail() {}, succeed() {} } as unknown as Context;

describe('rippleMiddleware', () => {
  it.each([
    ['retryable', new RetryableError('copy a/b: HTTP 503'), 'rethrown'],
    ['permanent', new PermanentError('copy a/b: exists and is not owned by ripple'), 'rejected'],
    ['validation', new ValidationError('RIPPLE_CLUSTERS: not valid JSON'), 'rejected'],
    ['schema', (() => { try { z.object({ detail: z.object({ name: z.string() }) }).parse({ detail: {} }); } catch (e) { return e; } })(), 'rejected'],
    ['unknown', new TypeError('boom'), 'rethrown'],
  ])('%s error -> %s', async (_name, error, outcome) => {
    // Prepare
    const { lines, obs } = capture();
    const handler = middy(async () => { throw error; }).use(rippleMiddleware({ handler: 'test', observability: obs }));
    // Act
    const result = await handler({ id: 'evt-42', 'detail-type': 'Kubernetes Object Updated' }, context).then((r) => ({ r }), (e: unknown) => ({ e }));
    // Assess
    if (outcome === 'rethrown') expect('e' in result && result.e).toBe(error);
    else expect('r' in result && (result.r as { status: string }).status).toBe('rejected');
    const logLine = lines.find((l) => l.level === 'WARN' || l.level === 'ERROR')!;
    expect(logLine.correlation_id).toBe('evt-42');
    expect(String(logLine.reason)).toContain(_name === 'schema' ? 'detail.name' : (error as Error).message);
    const emf = lines.find((l) => l._aws);
    expect((emf?._aws as { CloudWatchMetrics: { Namespace: string }[] }).CloudWatchMetrics[0].Namespace).toBe('Ripple');
  });

  it.each([
    [{ id: 'e1', 'detail-type': 'Scheduled Event' }, 'e1'],
    [{ Records: [{ messageId: 'm1' }, { messageId: 'm2' }] }, 'm1'],
    [{ RequestType: 'Create', RequestId: 'cfn-1' }, 'cfn-1'],
    [{ awslogs: { data: '' } }, 'req-1'],
  ])('correlation id of %j is %s', (event, id) => {
    expect(correlationIdOf(event, context)).toBe(id);
  });
});
