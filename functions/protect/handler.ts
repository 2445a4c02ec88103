/**
 * Protect handler. Inputs: forwarder events (RippleEvent) about protected objects, `Ripple Resync Requested`
 * (seed missing snapshots, restore unexplained drift where nobody but ripple is allowed), and CloudWatch Logs
 * subscription events carrying EKS audit records — the only input that names the actor.
 *
 * Per protected object: read the current object and its last-known-good snapshot, plan every attempt
 * (plan.ts), let only the latest change act (settle), apply (apply.ts), then report each attempt: one
 * structured audit line (actor, groups, verb, object, verdict, outcome), an EMF metric and — for allowed,
 * denied and violating attempts — a Kubernetes Event on the object (on its namespace if it is gone).
 * Object data never appears in any of them.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { DETAIL_TYPES } from '../../core/constants.ts';
import { isRetryable, PermanentError } from '../../core/errors.ts';
import { fingerprint } from '../../core/fingerprint.ts';
import { handlerDeps, lazyHandler, type HandlerDeps } from '../runtime/handler-deps.ts';
import { errorReason } from '../runtime/middleware.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { policiesForSource } from '../../core/policy/select.ts';
import { runtimeConfig } from '../runtime/config.ts';
import { parseRippleEvent, type RippleEvent } from '../../events/schema.ts';
import { attemptFromAudit, clusterOfLogGroup, decodeLogsEvent, isCloudWatchLogsEvent } from './audit.ts';
import { applyProtect, readObject, reportEvent, type ProtectedObj, type Target } from './apply.ts';
import { planProtect, settle, type Attempt, type ProtectDecision, type SnapshotState, type Verdict } from './plan.ts';
import { contentFromSnapshot, contentLike, readSnapshot, snapshotIsAbsent } from './snapshot.ts';

export interface Deps extends HandlerDeps {
  defaultCluster: () => string;
}

/** One audit line (also the handler's answer). `action` = verdict, for the saved Logs Insights queries. */
export interface AttemptReport {
  action: Verdict;
  policy: string;
  object: string;
  kind: string;
  namespace: string;
  name: string;
  actor: string;
  groups: string[];
  verb: string;
  via: Attempt['via'];
  id: string;
  verdict: Verdict;
  outcome: string;
  reason: string;
}

export interface ProtectSummary {
  reports: AttemptReport[];
  skipped: string[];
}

type ProtectedPolicy = RipplePolicy & { spec: { protect: NonNullable<RipplePolicy['spec']['protect']> } };

function protectedPolicies(policies: RipplePolicy[]): ProtectedPolicy[] {
  return policies.filter((p): p is ProtectedPolicy => Boolean(p.spec.protect));
}

const METRIC: Record<Verdict, string | null> = {
  violation: 'ProtectionViolations',
  denied: 'ProtectionDenied',
  allowed: 'ProtectionAllowedChanges',
  unattributed: 'ProtectionUnattributedChanges',
  own: null,
  ignored: null,
};

const EVENT: Partial<Record<Verdict, { reason: string; type: 'Normal' | 'Warning' }>> = {
  violation: { reason: 'ProtectionViolation', type: 'Warning' },
  denied: { reason: 'ProtectionDenied', type: 'Warning' },
  allowed: { reason: 'ProtectedObjectChanged', type: 'Normal' },
};

/** max(managedFields[].time) — when the object was last written (second precision). */
function lastWrite(o: ProtectedObj): { lastWriteAt?: string } {
  const times = (o.metadata?.managedFields ?? []).map((f) => (f.time ? new Date(f.time as unknown as string | Date).getTime() : NaN)).filter(Number.isFinite);
  return times.length ? { lastWriteAt: new Date(Math.max(...times)).toISOString() } : {};
}

function contentOf(kind: string, o: ProtectedObj): { kind: string; type?: string; data?: Record<string, string>; binaryData?: Record<string, string> } {
  return { kind, type: (o as V1Secret).type, data: o.data, binaryData: (o as V1ConfigMap).binaryData };
}

/** Plan, act and report for one protected object and the attempts seen on it. */
async function protectObject(deps: Deps, cluster: string, policy: ProtectedPolicy, attempts: Attempt[]): Promise<AttemptReport[]> {
  const { logger, metrics } = deps.observability();
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const src = policy.spec.source;
  const t: Target = { policy: policy.metadata.name, kind: src.kind, namespace: src.namespace, name: src.name };
  const fp = (o: ProtectedObj): string => fingerprint(key, contentOf(src.kind, o));
  const [obj, snap] = await Promise.all([readObject(kube, t), readSnapshot(kube.core, t.policy)]);
  const current = obj ? { fingerprint: fp(obj), type: (obj as V1Secret).type, immutable: obj.immutable === true, ...lastWrite(obj) } : null;
  let snapshot: SnapshotState | null = null;
  if (snap && snapshotIsAbsent(snap)) snapshot = { fingerprint: '', absent: true };
  else if (snap) {
    const c = contentFromSnapshot(snap);
    snapshot = { fingerprint: fingerprint(key, contentLike(c)), ...(c.type ? { type: c.type } : {}) };
  }
  // A resync saw no request: absence reads as a deletion, anything else as an update.
  const seen = attempts.map((a) => (a.via === 'resync' ? { ...a, verb: obj ? 'update' : 'delete' } : a));
  const planned = settle(seen.map((attempt) => ({ attempt, decision: planProtect({ policy: { name: t.policy, protect: policy.spec.protect }, current, snapshot, attempt }) })));
  const actions = planned.flatMap((p) => p.decision.actions);
  const applied = await applyProtect(kube, t, actions, fp);
  for (const w of applied.writes) {
    if (w === 're-created' || w === 'data restored' || w === 'replaced' || w === 'removed') metrics.addMetric('ProtectionRestores', MetricUnit.Count, 1);
    else metrics.addMetric('SnapshotUpdates', MetricUnit.Count, 1);
  }
  const object = `${t.kind}/${t.namespace}/${t.name}`;
  const reports: AttemptReport[] = [];
  for (const { attempt, decision } of planned) {
    const r = report(t.policy, t, attempt, decision);
    reports.push(r);
    const m = METRIC[decision.verdict];
    if (m) metrics.addMetric(m, MetricUnit.Count, 1);
    if (decision.verdict === 'ignored' || decision.verdict === 'own') {
      logger.debug('protection audit', { ...r });
      continue;
    }
    (decision.verdict === 'violation' || decision.verdict === 'denied' ? logger.warn : logger.info).call(logger, 'protection audit', { ...r });
    const ev = EVENT[decision.verdict];
    if (ev) {
      const message = `${r.actor} ${attempt.verb} ${t.kind} ${t.namespace}/${t.name}: ${decision.verdict} (${decision.reason}); ${decision.outcome}`;
      try {
        await reportEvent(kube, t, { ...ev, message });
      } catch (err) {
        logger.warn('could not record the Kubernetes Event', { object, reason: errorReason(err) });
      }
    }
  }
  return reports;
}

function report(policy: string, t: Target, a: Attempt, d: ProtectDecision): AttemptReport {
  const actor = a.actor.username ?? (a.actor.manager ? `unknown (field manager ${a.actor.manager})` : 'unknown');
  return { action: d.verdict, policy, object: `${t.kind}/${t.namespace}/${t.name}`, kind: t.kind, namespace: t.namespace, name: t.name, actor, groups: a.actor.groups, verb: a.verb, via: a.via, id: a.id, verdict: d.verdict, outcome: d.outcome, reason: d.reason };
}

function attemptsFromEvent(e: RippleEvent, policies: ProtectedPolicy[], skipped: string[]): { cluster: string; byPolicy: Map<ProtectedPolicy, Attempt[]> } {
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

export async function processEvent(deps: Deps, event: unknown): Promise<ProtectSummary> {
  const { logger } = deps.observability();
  const policies = protectedPolicies(deps.policies());
  const skipped: string[] = [];
  let cluster: string;
  let byPolicy = new Map<ProtectedPolicy, Attempt[]>();
  if (isCloudWatchLogsEvent(event)) {
    const payload = decodeLogsEvent(event);
    if (payload.messageType === 'CONTROL_MESSAGE') return { reports: [], skipped: ['CloudWatch Logs control message'] };
    cluster = clusterOfLogGroup(payload.logGroup) ?? deps.defaultCluster();
    if (payload.logEvents[0]) logger.setCorrelationId(`${payload.logStream ?? payload.logGroup}/${payload.logEvents[0].id}`);
    for (const le of payload.logEvents) {
      const a = attemptFromAudit(le.message);
      if ('skip' in a) {
        skipped.push(`log event ${le.id}: ${a.skip}`);
        continue;
      }
      // A deletecollection names no object: it concerns every protected object of that kind in the namespace.
      const concerned = a.name === null ? policies.filter((p) => p.spec.source.kind === a.kind && p.spec.source.namespace === a.namespace) : policiesForSource(policies, a.kind, a.namespace, a.name).slice(0, 1);
      if (concerned.length === 0) {
        skipped.push(`log event ${le.id}: ${a.kind} ${a.namespace}/${a.name ?? '*'} is not protected`);
        continue;
      }
      for (const p of concerned) byPolicy.set(p, [...(byPolicy.get(p) ?? []), a.attempt]);
    }
  } else {
    const parsed = attemptsFromEvent(parseRippleEvent(event), policies, skipped);
    cluster = parsed.cluster;
    byPolicy = parsed.byPolicy;
  }
  for (const s of skipped) logger.debug('not a protection attempt', { reason: s });
  const reports: AttemptReport[] = [];
  let retryable: unknown = null;
  await Promise.all(
    [...byPolicy].map(async ([policy, attempts]) => {
      try {
        reports.push(...(await protectObject(deps, cluster, policy, attempts)));
      } catch (err) {
        const object = `${policy.spec.source.kind}/${policy.spec.source.namespace}/${policy.spec.source.name}`;
        if (isRetryable(err) || !(err instanceof PermanentError)) {
          logger.warn('protection failed; will be retried', { policy: policy.metadata.name, object, reason: errorReason(err) });
          retryable ??= err;
        } else {
          logger.error('protection failed permanently', { policy: policy.metadata.name, object, reason: errorReason(err) });
        }
      }
    }),
  );
  if (retryable) throw retryable;
  return { reports, skipped };
}

function resolveDeps(partial: Partial<Deps>): Deps {
  return {
    ...handlerDeps('protect', partial),
    defaultCluster: partial.defaultCluster ?? (() => runtimeConfig().defaultCluster),
  };
}

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('protect', () => resolveDeps(partial), (deps, event: unknown): Promise<ProtectSummary> => processEvent(deps, event));
}

export const handler = makeHandler();
