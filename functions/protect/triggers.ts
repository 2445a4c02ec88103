/**
 * What a protect invocation is about (pure): the attempts on each protected object, from a forwarder event, a
 * resync, or the EKS audit records of a CloudWatch Logs subscription (the only input that names the actor).
 */
import { DETAIL_TYPES } from '../../core/constants.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { policiesForSource } from '../../core/policy/select.ts';
import { parseRippleEvent, type RippleEvent } from '../../events/schema.ts';
import { attemptFromAudit, auditSourceOf, decodeLogsEvent, isCloudWatchLogsEvent, type LogsPayload, type StageCluster } from './audit.ts';
import type { AuditDelivery } from './kinesis.ts';
import type { Attempt } from './plan.ts';

export type ProtectedPolicy = RipplePolicy & { spec: { protect: NonNullable<RipplePolicy['spec']['protect']> } };

export function protectedPolicies(policies: RipplePolicy[]): ProtectedPolicy[] {
  return policies.filter((p): p is ProtectedPolicy => Boolean(p.spec.protect));
}

export interface Triggers {
  cluster: string;
  byPolicy: Map<ProtectedPolicy, Attempt[]>;
  /** Inputs that concern no protected object, with why. */
  skipped: string[];
  /** The audit log stream and first record id, for log correlation (audit input only). */
  correlationId?: string;
  /** Audit records refused as a whole (not a log group of a cluster of the stage, or of another account), with why. */
  refused?: { reason: string; logGroup: string; owner?: string };
}

export function attemptsFromEvent(e: RippleEvent, policies: ProtectedPolicy[], skipped: string[]): { cluster: string; byPolicy: Map<ProtectedPolicy, Attempt[]> } {
  const byPolicy = new Map<ProtectedPolicy, Attempt[]>();
  if (e['detail-type'] === DETAIL_TYPES.resync) {
    const kinds = e.detail.kinds;
    for (const p of policies) {
      if (kinds && !kinds.includes(p.spec.source.kind)) continue;
      // The verb is decided once the current state is known (protectObject).
      byPolicy.set(p, [{ via: 'resync', verb: 'update', actor: { groups: [] }, at: e.detail.observedAt, id: e.id }]);
    }
    return { cluster: e.detail.cluster, byPolicy };
  }
  const d = e.detail;
  const p = d.namespace ? policiesForSource(policies, d.kind, d.namespace, d.name)[0] : undefined;
  if (!p) {
    skipped.push(`${d.kind} ${d.namespace ?? ''}/${d.name}: not the source of a policy with a protect section`);
    return { cluster: d.cluster, byPolicy };
  }
  const verb = e['detail-type'] === DETAIL_TYPES.deleted ? 'delete' : e['detail-type'] === DETAIL_TYPES.created ? 'create' : 'update';
  byPolicy.set(p, [{ via: 'event', verb, actor: { groups: [], ...(d.manager ? { manager: d.manager } : {}) }, at: d.observedAt, id: e.id }]);
  return { cluster: d.cluster, byPolicy };
}

/** The attempts in a CloudWatch Logs subscription payload of EKS audit records. */
function attemptsFromLogs(payload: LogsPayload, policies: ProtectedPolicy[], skipped: string[]): Map<ProtectedPolicy, Attempt[]> {
  const byPolicy = new Map<ProtectedPolicy, Attempt[]>();
  for (const le of payload.logEvents) {
    const a = attemptFromAudit(le.message);
    if ('skip' in a) {
      skipped.push(`log event ${le.id}: ${a.skip}`);
      continue;
    }
    // A deletecollection names no object: it concerns every protected object of that kind in the namespace; a
    // namespace delete, every protected object in the namespace.
    const concerned =
      a.kind === 'Namespace'
        ? policies.filter((p) => p.spec.source.namespace === a.namespace)
        : a.name === null
          ? policies.filter((p) => p.spec.source.kind === a.kind && p.spec.source.namespace === a.namespace)
          : policiesForSource(policies, a.kind, a.namespace, a.name).slice(0, 1);
    if (concerned.length === 0) {
      skipped.push(a.kind === 'Namespace' ? `log event ${le.id}: namespace ${a.namespace} holds no protected object` : `log event ${le.id}: ${a.kind} ${a.namespace}/${a.name ?? '*'} is not protected`);
      continue;
    }
    for (const p of concerned) byPolicy.set(p, [...(byPolicy.get(p) ?? []), a.attempt]);
  }
  return byPolicy;
}

/**
 * Any direct protect input -> the attempts per protected policy. Throws (schema) on a malformed forwarder event.
 * A CloudWatch Logs payload is acted on only when its log group is the audit log of a cluster of the stage
 * (`stage`; auditSourceOf): otherwise nothing is attempted and `refused` says why.
 */
export function triggersOf(event: unknown, policies: ProtectedPolicy[], defaultCluster: () => string, stage: readonly StageCluster[] = [{ name: defaultCluster() }]): Triggers {
  const skipped: string[] = [];
  if (!isCloudWatchLogsEvent(event)) return { ...attemptsFromEvent(parseRippleEvent(event), policies, skipped), skipped };
  const payload = decodeLogsEvent(event);
  if (payload.messageType === 'CONTROL_MESSAGE') return { cluster: defaultCluster(), byPolicy: new Map(), skipped: ['CloudWatch Logs control message'] };
  // a direct subscription is only ever made from the stack's own log groups: no account to compare but a cluster's own
  const source = auditSourceOf(payload, stage, null);
  if ('refused' in source) {
    return { cluster: defaultCluster(), byPolicy: new Map(), skipped: [`audit records refused: ${source.refused}`], refused: { reason: source.refused, logGroup: payload.logGroup, ...(payload.owner ? { owner: payload.owner } : {}) } };
  }
  return auditTriggers({ cluster: source.cluster, payload }, policies);
}

/** The attempts in the audit records of one cluster (a direct subscription's payload, or a Kinesis delivery). */
export function auditTriggers(d: Pick<AuditDelivery, 'cluster' | 'payload'>, policies: ProtectedPolicy[]): Triggers {
  const skipped: string[] = [];
  const first = d.payload.logEvents[0];
  return {
    cluster: d.cluster,
    byPolicy: attemptsFromLogs(d.payload, policies, skipped),
    skipped,
    ...(first ? { correlationId: `${d.payload.logStream ?? d.payload.logGroup}/${first.id}` } : {}),
  };
}
