/**
 * EKS control-plane audit records as they reach the protect handler: a CloudWatch Logs subscription event
 * `{ awslogs: { data: base64(gzip(JSON)) } }` whose `logEvents[].message` are audit.k8s.io/v1 Event JSON.
 * Pure decoding into change attempts on Secrets/ConfigMaps, and deletes of namespaces (which take the protected
 * objects in them along); records that are not ResponseComplete, about anything else, or not parseable are
 * dropped with a reason.
 */
import { gunzipSync } from 'node:zlib';
import * as z from '../../core/zod.ts';
import { ValidationError } from '../../core/errors.ts';
import type { Attempt } from './plan.ts';
import type { ObjectKind } from '../../core/constants.ts';

export interface CloudWatchLogsEvent {
  awslogs: { data: string };
}

export interface LogsPayload {
  messageType: string;
  owner?: string;
  logGroup: string;
  logStream?: string;
  subscriptionFilters?: string[];
  logEvents: { id: string; timestamp: number; message: string }[];
}

const AuditRecord = z.object({
  kind: z.literal('Event'),
  apiVersion: z.string(),
  auditID: z.string(),
  stage: z.string(),
  verb: z.string(),
  user: z.object({ username: z.string(), groups: z.optional(z.array(z.string())) }),
  impersonatedUser: z.optional(z.object({ username: z.string(), groups: z.optional(z.array(z.string())) })),
  objectRef: z.optional(
    z.object({
      resource: z.optional(z.string()),
      namespace: z.optional(z.string()),
      name: z.optional(z.string()),
      apiGroup: z.optional(z.string()),
      subresource: z.optional(z.string()),
    }),
  ),
  responseStatus: z.optional(z.object({ code: z.optional(z.number()) })),
  stageTimestamp: z.optional(z.string()),
  requestReceivedTimestamp: z.optional(z.string()),
  annotations: z.optional(z.record(z.string(), z.string())),
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export function isCloudWatchLogsEvent(e: unknown): e is CloudWatchLogsEvent {
  return typeof (e as CloudWatchLogsEvent | null)?.awslogs?.data === 'string';
}

export function decodeLogsEvent(e: CloudWatchLogsEvent): LogsPayload {
  return decodeLogsData(e.awslogs.data, 'awslogs.data');
}

/**
 * base64(gzip(JSON)) of a CloudWatch Logs subscription payload -> the payload: the `awslogs.data` of a direct
 * subscription and the `kinesis.data` of a record a CloudWatch Logs destination put on a Kinesis stream carry the
 * same bytes. `where` names the field in errors.
 */
export function decodeLogsData(data: string, where: string): LogsPayload {
  let text: string;
  try {
    text = gunzipSync(Buffer.from(data, 'base64')).toString('utf8');
  } catch (err) {
    throw new ValidationError(`${where}: not base64 of gzip data (${(err as Error).message})`);
  }
  let payload: LogsPayload;
  try {
    payload = JSON.parse(text) as LogsPayload;
  } catch {
    throw new ValidationError(`${where}: the decompressed payload is not JSON`);
  }
  if (!payload || typeof payload !== 'object') throw new ValidationError(`${where}: the decompressed payload is not a JSON object`);
  if (payload.messageType === 'CONTROL_MESSAGE') return { ...payload, logEvents: Array.isArray(payload.logEvents) ? payload.logEvents : [] };
  if (!Array.isArray(payload.logEvents)) throw new ValidationError(`${where}: logEvents is missing`);
  if (typeof payload.logGroup !== 'string') throw new ValidationError(`${where}: logGroup is missing`);
  return payload;
}

/** `/aws/eks/<cluster>/cluster` -> `<cluster>`; null for any other group name. */
export function clusterOfLogGroup(logGroup: string): string | null {
  return /^\/aws\/eks\/([^/]+)\/cluster$/.exec(logGroup)?.[1] ?? null;
}

/** A cluster of the stage, as protect knows it: `accountId` only for a cluster in another account than the stack's. */
export interface StageCluster {
  name: string;
  accountId?: string;
}

/**
 * Which cluster of the stage a subscription payload's audit records come from, or why they are refused. The log
 * group must be `/aws/eks/<cluster>/cluster` of a cluster of the stage, and its account (`owner`) that cluster's:
 * its `accountId`, or the stack's own (`ownAccount`: the Kinesis stream's account; unknown for a direct
 * subscription, which CloudWatch Logs only makes from the stack's own log groups). A log group of the same name
 * in any other account is someone else's log, whatever records it holds: refused, never trusted.
 */
export function auditSourceOf(payload: Pick<LogsPayload, 'logGroup' | 'owner'>, stage: readonly StageCluster[], ownAccount: string | null): { cluster: string } | { refused: string } {
  const name = clusterOfLogGroup(payload.logGroup);
  if (name === null) return { refused: `log group ${payload.logGroup} is not an EKS cluster's audit log (/aws/eks/<cluster>/cluster)` };
  const c = stage.find((s) => s.name === name);
  if (!c) return { refused: `log group ${payload.logGroup}: cluster ${name} is not a cluster of this stage (${stage.map((s) => s.name).join(', ')})` };
  const expected = c.accountId ?? ownAccount;
  if (expected !== null && payload.owner !== expected) {
    return { refused: `log group ${payload.logGroup} of account ${payload.owner ?? '(none)'}: cluster ${name} is in account ${expected}${c.accountId ? '' : " (the stack's)"}` };
  }
  return { cluster: name };
}

export interface AuditAttempt {
  /** `Namespace`: the delete of a namespace (`namespace` is its name): it concerns every protected object in it. */
  kind: ObjectKind | 'Namespace';
  namespace: string;
  /** null for a deletecollection: every object of the kind in the namespace is concerned. */
  name: string | null;
  attempt: Attempt;
  /** authorization.k8s.io/decision, when present. */
  authorization?: string;
}

const KINDS: Record<string, ObjectKind> = { secrets: 'Secret', configmaps: 'ConfigMap' };

/** One audit record -> an attempt on a Secret/ConfigMap, or a reason why not. */
export function attemptFromAudit(message: string): AuditAttempt | { skip: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(message);
  } catch {
    return { skip: 'log message is not JSON' };
  }
  const parsed = AuditRecord.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return { skip: `not an audit.k8s.io Event (${i?.path.join('.') || '(record)'}: ${i?.message})` };
  }
  const r = parsed.data;
  if (r.stage !== 'ResponseComplete') return { skip: `stage ${r.stage}` };
  const ref = r.objectRef;
  const who = r.impersonatedUser ?? r.user;
  const attempt = (): Attempt => ({
    via: 'audit',
    verb: r.verb,
    actor: { username: who.username, groups: who.groups ?? [] },
    ...(r.responseStatus?.code !== undefined ? { code: r.responseStatus.code } : {}),
    at: r.stageTimestamp ?? r.requestReceivedTimestamp ?? '',
    id: r.auditID,
  });
  if (ref?.resource === 'namespaces' && (ref.apiGroup ?? '') === '' && !ref.subresource) {
    if (r.verb !== 'delete' || !ref.name) return { skip: `namespace ${ref.name ?? '(collection)'}: ${r.verb} is not a delete of one namespace` };
    return { kind: 'Namespace', namespace: ref.name, name: null, authorization: r.annotations?.['authorization.k8s.io/decision'], attempt: { ...attempt(), scope: 'namespace' } };
  }
  const kind = ref?.resource ? KINDS[ref.resource] : undefined;
  if (!ref || !kind || (ref.apiGroup ?? '') !== '' || ref.subresource) return { skip: `not a Secret/ConfigMap (${ref?.resource ?? 'no objectRef'})` };
  if (!ref.namespace) return { skip: `${kind} without namespace (${r.verb} across namespaces)` };
  if (!ref.name && r.verb !== 'deletecollection') return { skip: `${kind} without a name (${r.verb} on a collection)` };
  // With impersonation, the effective actor is the impersonated user (`who`).
  return { kind, namespace: ref.namespace, name: ref.name ?? null, authorization: r.annotations?.['authorization.k8s.io/decision'], attempt: attempt() };
}
