/**
 * API errors as kube-apiserver reports them: a `Status` object (kind Status, status Failure, reason, code,
 * message, details) with the same texts the real server uses.
 */
import type { ResourceType } from './resources.ts';

export interface StatusCause { reason: string; message: string; field?: string }
export interface StatusDetails { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number }

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details?: StatusDetails;
  /** ListMeta of the Status (a 410 for an expired continue token carries a token to continue inconsistently) */
  metadata?: { continue?: string };
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }

  toStatus(): any {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: this.metadata ?? {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** `secrets` or `deployments.apps`, as in messages. */
export function qualified(r: Pick<ResourceType, 'group' | 'plural'>): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

function details(r: Pick<ResourceType, 'group' | 'plural'>, name: string): StatusDetails {
  return { name, ...(r.group ? { group: r.group } : {}), kind: r.plural };
}

export function notFound(r: Pick<ResourceType, 'group' | 'plural'>, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, details(r, name));
}

export function alreadyExists(r: Pick<ResourceType, 'group' | 'plural'>, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, details(r, name));
}

export function conflict(r: Pick<ResourceType, 'group' | 'plural'>, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, details(r, name));
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function forbidden(r: Pick<ResourceType, 'group' | 'plural'>, name: string, why: string, causes?: StatusCause[]): ApiError {
  const what = name ? `${qualified(r)} "${name}"` : qualified(r);
  return new ApiError(403, 'Forbidden', `${what} is forbidden: ${why}`, { ...details(r, name), ...(causes ? { causes } : {}) });
}

export function methodNotSupported(r: Pick<ResourceType, 'group' | 'plural'>, action: string): ApiError {
  return new ApiError(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${qualified(r)}"`, { ...(r.group ? { group: r.group } : {}), kind: r.plural });
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function internal(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message }] } as StatusDetails);
}

/** One field error of a 422 Invalid. */
export interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueDuplicate' | 'FieldValueTooLong' | 'FieldValueNotSupported';
  field: string;
  detail: string;
  value?: unknown;
  /** the value as Go prints it (e.g. `[]string{"/x"}`), used instead of `value` */
  raw?: string;
}

export function fieldErrorText(e: FieldError): string {
  const v = (x: unknown): string => e.raw ?? (typeof x === 'string' ? JSON.stringify(x) : x === undefined ? 'null' : JSON.stringify(x));
  switch (e.type) {
    case 'FieldValueInvalid': return `Invalid value: ${v(e.value)}: ${e.detail}`;
    case 'FieldValueRequired': return `Required value${e.detail ? `: ${e.detail}` : ''}`;
    case 'FieldValueForbidden': return `Forbidden: ${e.detail}`;
    case 'FieldValueDuplicate': return `Duplicate value: ${v(e.value)}`;
    case 'FieldValueTooLong': return `Too long: ${e.detail}`;
    case 'FieldValueNotSupported': return `Unsupported value: ${v(e.value)}: ${e.detail}`;
  }
}

/** 422 Invalid: `Secret "x" is invalid: metadata.name: Invalid value: ...` (several errors in [..., ...]). */
export function invalid(r: Pick<ResourceType, 'group' | 'kind'>, name: string, errors: FieldError[]): ApiError {
  const texts = errors.map((e) => `${e.field}: ${fieldErrorText(e)}`);
  const msg = `${r.kind} "${name}" is invalid: ${texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`}`;
  return new ApiError(422, 'Invalid', msg, {
    name,
    ...(r.group ? { group: r.group } : {}),
    kind: r.kind,
    causes: errors.map((e) => ({ reason: e.type, message: fieldErrorText(e), field: e.field })),
  });
}

export function success(r: Pick<ResourceType, 'group' | 'plural'>, name: string, uid?: string): any {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { ...details(r, name), ...(uid ? { uid } : {}) } };
}
