/**
 * The one middy middleware every ripple handler uses: `rippleMiddleware({ handler: 'clone' })`.
 * - before: Powertools Logger gets the Lambda context and a correlation id (EventBridge event id, first SQS
 *   message id, first Kinesis record's eventID, CloudFormation RequestId, else the Lambda request id).
 * - after: EMF metrics (namespace "Ripple") are flushed.
 * - onError (`rippleMiddlewareOnError`): RetryableError -> logged (warn) and rethrown, so Lambda / EventBridge /
 *   SQS retry and finally dead-letter it; PermanentError and schema errors (ZodError) -> logged with the reason,
 *   counted, and NOT rethrown (the response says what happened); anything else -> logged and rethrown.
 * Only error names and messages are logged, never causes or objects (no Secret data can reach a log line).
 *
 * Observability objects are created lazily on the first invocation (env is read then, never at import time).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj, Request } from '@middy/core';
import type { Context } from 'aws-lambda';
import { isZodError, type core as zc } from '../../core/zod.ts';
import type { HandlerName } from '../../core/constants.ts';
import { PermanentError, RetryableError } from '../../core/errors.ts';

export const METRICS_NAMESPACE = 'Ripple';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

const created = new Map<string, Observability>();

/** Logger + Metrics for a handler, one pair per process. */
export function observability(handler: HandlerName | string): Observability {
  let o = created.get(handler);
  if (!o) {
    o = {
      logger: new Logger({ serviceName: `ripple-${handler}` }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: `ripple-${handler}` }),
    };
    created.set(handler, o);
  }
  return o;
}

/** The id that ties a handler's log lines to the event that caused them. */
export function correlationIdOf(event: unknown, context?: Partial<Context>): string | undefined {
  const e = (event ?? {}) as Record<string, unknown>;
  if (typeof e.id === 'string' && typeof e['detail-type'] === 'string') return e.id;
  const records = e.Records as { messageId?: string; eventID?: string }[] | undefined;
  if (Array.isArray(records) && typeof records[0]?.messageId === 'string') return records[0].messageId;
  if (Array.isArray(records) && typeof records[0]?.eventID === 'string') return records[0].eventID;
  if (typeof e.RequestId === 'string') return e.RequestId;
  return context?.awsRequestId;
}

/** `detail.name: Invalid input; source: ...` — the fields a schema rejected, never their values. */
export function schemaErrorMessage(err: zc.$ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(event)'}: ${i.message}`)
    .join('; ');
}

export type ErrorClass = 'retryable' | 'permanent' | 'schema' | 'unknown';

export function classifyError(err: unknown): ErrorClass {
  if (err instanceof RetryableError) return 'retryable';
  if (isZodError(err)) return 'schema';
  if (err instanceof PermanentError) return 'permanent';
  return 'unknown';
}

/** The reason line for an error: its name and message (never its cause, which may carry response bodies). */
export function errorReason(err: unknown): string {
  if (isZodError(err)) return `event rejected by schema: ${schemaErrorMessage(err)}`;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

export interface RippleMiddlewareOptions {
  handler: HandlerName | string;
  observability?: () => Observability;
}

export function rippleMiddleware(opts: RippleMiddlewareOptions): MiddlewareObj<unknown, unknown, Error, Context> {
  const obs = opts.observability ?? (() => observability(opts.handler));

  const rippleMiddlewareBefore = (request: Request<unknown, unknown, Error, Context>): void => {
    const { logger } = obs();
    if (request.context && typeof request.context === 'object' && 'functionName' in request.context) logger.addContext(request.context);
    logger.setCorrelationId(correlationIdOf(request.event, request.context) ?? 'none');
  };

  const rippleMiddlewareAfter = (): void => {
    const { metrics } = obs();
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };

  const rippleMiddlewareOnError = (request: Request<unknown, unknown, Error, Context>): void => {
    const { logger, metrics } = obs();
    const err: unknown = request.error;
    const kind = classifyError(err);
    const reason = errorReason(err);
    if (kind === 'retryable') {
      logger.warn('retryable error; rethrown for retry', { errorClass: kind, reason });
      metrics.addMetric('RetryableErrors', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      return; // request.error stays set: middy rethrows
    }
    if (kind === 'permanent' || kind === 'schema') {
      logger.error('permanent error; not retried', { errorClass: kind, reason });
      metrics.addMetric(kind === 'schema' ? 'RejectedEvents' : 'PermanentErrors', MetricUnit.Count, 1);
      metrics.publishStoredMetrics();
      request.response = { status: 'rejected', reason };
      request.error = null;
      return;
    }
    logger.error('unexpected error; rethrown for retry', { errorClass: kind, reason });
    metrics.addMetric('UnexpectedErrors', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  };

  return { before: rippleMiddlewareBefore, after: rippleMiddlewareAfter, onError: rippleMiddlewareOnError, name: 'ripple' };
}
