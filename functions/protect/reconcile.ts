/**
 * Protect, for one protected object and the attempts seen on it: read the current object and its last-known-good
 * snapshot, plan every attempt (plan.ts), let only the latest change act (settle), apply (apply.ts), then report
 * each attempt: one structured audit line (actor, groups, verb, object, verdict, outcome), an EMF metric and — for
 * allowed, denied and violating attempts — a Kubernetes Event on the object. Object data never appears in any of them.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { fingerprint } from '../../core/fingerprint.ts';
import type { HandlerDeps } from '../runtime/handler-deps.ts';
import { errorReason } from '../runtime/middleware.ts';
import { withAccess } from './access.ts';
import { applyProtect, readObject, reportEvent, type ProtectedObj, type Target } from './apply.ts';
import { planProtect, settle, type Attempt, type ProtectDecision, type SnapshotState, type Verdict } from './plan.ts';
import { contentFromSnapshot, contentLike, snapshotIsAbsent } from '../../core/snapshot.ts';
import { readSnapshot } from './snapshot.ts';
import { baseName } from '../../core/policy/select.ts';
import type { ProtectedPolicy } from './triggers.ts';

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
export async function protectObject(deps: HandlerDeps, cluster: string, policy: ProtectedPolicy, attempts: Attempt[], opts: { auditRecords?: boolean } = {}): Promise<AttemptReport[]> {
  const { logger, metrics } = deps.observability();
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const src = policy.spec.source;
  const t: Target = { policy: policy.metadata.name, kind: src.kind, namespace: src.namespace, name: baseName(policy) };
  const fp = (o: ProtectedObj): string => fingerprint(key, contentOf(src.kind, o));
  // its RoleBinding in the object's namespace is gone when that namespace was re-created: access.ts restores it;
  // in a terminating or deleted namespace the object is going or gone: read as absent
  const [obj, snap] = await Promise.all([withAccess(kube, t.namespace, () => readObject(kube, t), () => null), readSnapshot(kube.core, t.policy)]);
  const current = obj ? { fingerprint: fp(obj), type: (obj as V1Secret).type, immutable: obj.immutable === true, ...lastWrite(obj) } : null;
  let snapshot: SnapshotState | null = null;
  if (snap && snapshotIsAbsent(snap)) snapshot = { fingerprint: '', absent: true };
  else if (snap) {
    const c = contentFromSnapshot(snap);
    snapshot = { fingerprint: fingerprint(key, contentLike(c)), ...(c.type ? { type: c.type } : {}) };
  }
  // A resync saw no request: absence reads as a deletion, anything else as an update.
  const seen = attempts.map((a) => (a.via === 'resync' ? { ...a, verb: obj ? 'update' : 'delete' } : a));
  const planned = settle(seen.map((attempt) => ({ attempt, decision: planProtect({ policy: { name: t.policy, protect: policy.spec.protect }, current, snapshot, attempt, auditRecords: opts.auditRecords ?? true }) })));
  const actions = planned.flatMap((p) => p.decision.actions);
  const applied = await applyProtect(kube, t, actions, fp);
  for (const w of applied.writes) {
    if (w === 'namespace re-created') metrics.addMetric('ProtectedNamespacesRestored', MetricUnit.Count, 1);
    else if (w === 're-created' || w === 'data restored' || w === 'replaced' || w === 'removed') metrics.addMetric('ProtectionRestores', MetricUnit.Count, 1);
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

