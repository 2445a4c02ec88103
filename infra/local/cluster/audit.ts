/**
 * The audit log: audit.k8s.io/v1 Events at level Metadata, stage ResponseComplete — the local stand-in for the
 * EKS control-plane audit log. Level Metadata means no request or response bodies, ever: the event type has no
 * field for them, so Secret data cannot end up here. Events go to subscribers and optionally to a JSON-lines file.
 *
 * Pipeline use (server.ts), once per request after the response status is known:
 *   audit.record(auditEvent({ requestURI: req.url, verb, user: authenticatedUser, impersonatedUser, sourceIPs: [ip],
 *     userAgent, objectRef, code: status, status/reason/message for failures, received,
 *     annotations: { ...authorizationAnnotations(decision), ...admissionResult.auditAnnotations } }));
 * `verb` is the kube verb (get, list, watch, create, update, patch, delete, deletecollection).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { UserInfo } from './auth.ts';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata';
  auditID: string;
  stage: 'ResponseComplete';
  requestURI: string;
  verb: string;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: { resource: string; namespace?: string; name?: string; apiGroup?: string; apiVersion: string; resourceVersion?: string; subresource?: string };
  responseStatus: { metadata: Record<string, never>; code: number; status?: string; reason?: string; message?: string };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations: Record<string, string>;
}

export const ANNOTATION_DECISION = 'authorization.k8s.io/decision';
export const ANNOTATION_REASON = 'authorization.k8s.io/reason';

/** Audit timestamps as the real server writes them: RFC 3339 with microseconds (`...T10:00:00.123456Z`). */
export function microTime(d: Date = new Date()): string {
  // toISOString always ends in `.sssZ` (years 0-9999)
  const iso = d.toISOString();
  return `${iso.slice(0, -1)}000Z`;
}

/** The `authorization.k8s.io/*` annotations of an authorization decision. */
export function authorizationAnnotations(d: { allowed: boolean; reason: string }): Record<string, string> {
  return { [ANNOTATION_DECISION]: d.allowed ? 'allow' : 'forbid', [ANNOTATION_REASON]: d.reason };
}

/** Builds an event from the pipeline's facts; never takes bodies. */
export function auditEvent(input: {
  requestURI: string;
  verb: string;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditEvent['objectRef'];
  code: number;
  status?: string;
  reason?: string;
  message?: string;
  received?: Date;
  completed?: Date;
  annotations?: Record<string, string>;
  auditID?: string;
}): AuditEvent {
  const failure = input.code >= 300;
  const responseStatus: AuditEvent['responseStatus'] = { metadata: {}, code: input.code };
  if (failure) {
    responseStatus.status = input.status ?? 'Failure';
    if (input.reason) responseStatus.reason = input.reason;
    if (input.message) responseStatus.message = input.message;
  }
  const e: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: input.auditID ?? randomUUID(),
    stage: 'ResponseComplete',
    requestURI: input.requestURI,
    verb: input.verb,
    user: copyUser(input.user),
    sourceIPs: input.sourceIPs ?? [],
    responseStatus,
    requestReceivedTimestamp: microTime(input.received ?? new Date()),
    stageTimestamp: microTime(input.completed ?? new Date()),
    annotations: { ...(input.annotations ?? {}) },
  };
  if (input.impersonatedUser) e.impersonatedUser = copyUser(input.impersonatedUser);
  if (input.userAgent) e.userAgent = input.userAgent;
  if (input.objectRef) e.objectRef = pickObjectRef(input.objectRef);
  return e;
}

function copyUser(u: UserInfo): UserInfo {
  return { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: [...u.groups], ...(u.extra ? { extra: structuredClone(u.extra) } : {}) };
}

/** Only the reference fields pass, whatever the caller hands in (a whole object must never slip through). */
function pickObjectRef(r: NonNullable<AuditEvent['objectRef']>): NonNullable<AuditEvent['objectRef']> {
  const out: NonNullable<AuditEvent['objectRef']> = { resource: r.resource, apiVersion: r.apiVersion };
  if (r.namespace) out.namespace = r.namespace;
  if (r.name) out.name = r.name;
  if (r.apiGroup) out.apiGroup = r.apiGroup;
  if (r.resourceVersion) out.resourceVersion = r.resourceVersion;
  if (r.subresource) out.subresource = r.subresource;
  return out;
}

export class AuditLog {
  private readonly subscribers = new Set<(e: AuditEvent) => void>();
  private readonly stream: WriteStream | null;
  private closed = false;

  constructor(opts: { file?: string } = {}) {
    this.stream = opts.file ? createWriteStream(opts.file, { flags: 'a', encoding: 'utf8' }) : null;
    // a failing audit file must not crash the server; report it once
    this.stream?.on('error', (err) => { console.error(`audit log file ${opts.file}: ${err.message}`); });
  }

  /** Delivers `e` to every subscriber (a throwing subscriber does not stop the others) and appends it to the file. */
  record(e: AuditEvent): void {
    if (this.closed) return;
    for (const cb of [...this.subscribers]) {
      try { cb(e); } catch (err) {
        console.error(`audit subscriber failed: ${(err as Error).message}`);
      }
    }
    this.stream?.write(`${JSON.stringify(e)}\n`);
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(cb: (e: AuditEvent) => void): () => void {
    this.subscribers.add(cb);
    return () => { this.subscribers.delete(cb); };
  }

  /** Stops delivery and flushes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subscribers.clear();
    const s = this.stream;
    if (s) await new Promise<void>((resolve) => s.end(() => resolve()));
  }
}
