/**
 * Errors say what happens next. RetryableError: thrown out of a handler so Lambda/EventBridge/SQS retry it and
 * finally dead-letter it. PermanentError: logged with its reason (and reported on the object), not retried.
 * Messages name the object and field, never data: `copy team-a/blogsecret: exists and is not owned by ripple`.
 */
export class RippleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RippleError';
  }
}

export class RetryableError extends RippleError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableError';
  }
}

export class PermanentError extends RippleError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

/** A write lost an optimistic-concurrency race (HTTP 409 Conflict on a stale resourceVersion): re-read and retry. */
export class ConflictError extends RetryableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/** Bad input (policy file, event, flag): the message names the field and says what is allowed. */
export class ValidationError extends PermanentError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValidationError';
  }
}

export function isRetryable(err: unknown): boolean {
  return err instanceof RetryableError;
}
