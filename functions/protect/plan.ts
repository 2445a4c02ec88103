/**
 * Protection planning. Pure: a protected object's current state, its last-known-good snapshot and one change
 * attempt (who, what, whether the API server accepted it) in; a verdict and the actions out.
 *
 * Who changed it comes from an EKS audit record (user.username, user.groups, verb, responseStatus.code) — the
 * only source that names the actor. A forwarder event carries only the last field manager: enough to recognise
 * ripple's own writes (manager `ripple`), not enough to tell an allowed actor from anyone else. So an
 * unattributed change is a violation only when the policy allows nobody but ripple; otherwise it waits for its
 * audit record (verdict `unattributed`), because restoring then could revert an allowed actor's change.
 *
 * Verdicts, first match wins: not a change (get/list/watch), or an event/resync showing no drift from
 * the snapshot → `ignored`; ripple's own write → `own`;
 * rejected by the API server (status >= 400: RBAC or admission) → `denied`; operation not in
 * protect.operations → `allowed`; actor in protect.allow → `allowed`; no actor known → `unattributed` (or
 * `violation` when nobody is allowed); otherwise → `violation`.
 * Actions: allowed → update the snapshot from the current state; violation in enforce mode → restore from the
 * snapshot (re-create if deleted, rewrite data if altered, delete + create when type/immutability forbid an
 * update; delete when the last allowed change deleted it); violation in audit mode → report only. No snapshot yet
 * → seed it from the current state (first sight), never restore.
 * The snapshot follows every allowed change — create, replace and delete ("absent" is a state too: `mark-absent`) —
 * so a restore never writes content older than the last allowed change. CREATE is always guarded, whatever
 * protect.operations says (as admission does). A DELETE record whose object is still there changed nothing (a
 * collection delete that matched nothing, a dry run): ignored.
 */
import { HANDLER_GROUPS, FIELD_MANAGER, NAMESPACE_CONTROLLER_USERS } from '../../core/constants.ts';
import type { Protect } from '../../core/policy/schema.ts';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';
export type Verdict = 'ignored' | 'own' | 'denied' | 'allowed' | 'unattributed' | 'violation';

export interface Actor {
  /** Absent when only a forwarder event (field manager) is known. */
  username?: string;
  groups: string[];
  /** Last field manager (forwarder events). */
  manager?: string;
}

export interface Attempt {
  /** Where the attempt was learnt: an audit record, a forwarder event, or a resync comparison. */
  via: 'audit' | 'event' | 'resync';
  /** Kubernetes verb: update, patch, delete, deletecollection, create, get… */
  verb: string;
  actor: Actor;
  /** HTTP status of the request (audit records); absent = the change happened. */
  code?: number;
  /** When it happened (audit stageTimestamp / event observedAt), ISO 8601. */
  at: string;
  /** auditID or event id. */
  id: string;
  /**
   * `namespace`: the attempt is the delete of the protected object's namespace (an audit record), which takes the
   * object along: judged like a delete of the object by the same actor.
   */
  scope?: 'namespace';
}

/** What the planner needs of the object now (null = gone). */
export interface CurrentState {
  fingerprint: string;
  type?: string;
  immutable?: boolean;
  /** Latest write (max managedFields[].time, second precision), ISO 8601. */
  lastWriteAt?: string;
}

export interface SnapshotState {
  fingerprint: string;
  type?: string;
  /** The last allowed change deleted the object: absent is its last-known-good state. */
  absent?: boolean;
}

export interface ProtectInput {
  policy: { name: string; protect: Protect };
  current: CurrentState | null;
  snapshot: SnapshotState | null;
  attempt: Attempt;
  /**
   * Whether audit records reach protect (default true). False: no record will ever name the actor of an
   * unattributed change, so it is decided without one: in enforce mode admission refused everyone but the allowed
   * actors, so a change that landed is taken as allowed; in audit mode the actor cannot be known and the snapshot
   * follows the object (reported as unattributed: nothing is contained).
   */
  auditRecords?: boolean;
}

export type Action =
  | { do: 'seed-snapshot' }
  | { do: 'update-snapshot' }
  /**
   * The last allowed change deleted the object: the snapshot records absence (its content is dropped). `withNamespace`:
   * its namespace was deleted, so it is recorded absent even while the namespace controller has not removed it yet.
   */
  | { do: 'mark-absent'; withNamespace?: boolean }
  /** `recreate-namespace`: once the deleted namespace is gone, create it (with protect's RoleBinding) and the object. */
  | { do: 'restore'; how: 'recreate' | 'rewrite' | 'replace' | 'remove' | 'recreate-namespace' };

export interface ProtectDecision {
  verdict: Verdict;
  operation: Operation | null;
  /** State actions (snapshot, restore). Empty = report only. */
  actions: Action[];
  /** What happens / happened, for the audit line and the Kubernetes Event. */
  outcome: string;
  reason: string;
}

export const OWN_GROUP = HANDLER_GROUPS.protect;

export function operationOf(verb: string): Operation | null {
  if (verb === 'create') return 'CREATE';
  if (verb === 'update' || verb === 'patch') return 'UPDATE';
  if (verb === 'delete' || verb === 'deletecollection') return 'DELETE';
  return null;
}

/** `system:serviceaccount:<ns>:<name>` for a policy's `ns/name` entry. */
export function serviceAccountUser(entry: string): string {
  const [ns, name] = entry.split('/');
  return `system:serviceaccount:${ns}:${name}`;
}

/** Why the actor is allowed by protect.allow, or null. */
export function allowedBy(allow: Protect['allow'], actor: Actor): string | null {
  if (!actor.username) return null;
  if (allow.users.includes(actor.username)) return `user ${actor.username} is in protect.allow.users`;
  const sa = allow.serviceAccounts.find((e) => serviceAccountUser(e) === actor.username);
  if (sa) return `service account ${sa} is in protect.allow.serviceAccounts`;
  const g = actor.groups.find((x) => allow.groups.includes(x));
  if (g) return `group ${g} is in protect.allow.groups`;
  return null;
}

export function nobodyAllowed(allow: Protect['allow']): boolean {
  return allow.users.length === 0 && allow.groups.length === 0 && allow.serviceAccounts.length === 0;
}

export function isOwn(actor: Actor): boolean {
  return actor.groups.includes(OWN_GROUP) || (!actor.username && actor.manager === FIELD_MANAGER);
}

function actorText(a: Actor): string {
  return a.username ? `user ${a.username}` : a.manager ? `unknown actor (field manager ${a.manager})` : 'unknown actor';
}

/**
 * True when the object was written again after this audit record's request (managedFields time, in a later
 * second): the current state is not what this attempt left, so the later write's own record decides.
 */
export function writtenAfter(current: CurrentState | null, attempt: Attempt): boolean {
  if (!current?.lastWriteAt || attempt.via !== 'audit') return false;
  const w = Date.parse(current.lastWriteAt);
  const a = Date.parse(attempt.at);
  return Number.isFinite(w) && Number.isFinite(a) && Math.floor(w / 1000) > Math.floor(a / 1000);
}

const LATER = 'written again after this request; the later write decides';

function restoreAction(current: CurrentState | null, snapshot: SnapshotState): Action | null {
  if (snapshot.absent) return current ? { do: 'restore', how: 'remove' } : null;
  if (!current) return { do: 'restore', how: 'recreate' };
  if (current.fingerprint === snapshot.fingerprint) return null;
  if ((snapshot.type !== undefined && current.type !== undefined && snapshot.type !== current.type) || current.immutable) {
    return { do: 'restore', how: 'replace' };
  }
  return { do: 'restore', how: 'rewrite' };
}

function snapshotAction(current: CurrentState | null, snapshot: SnapshotState | null): Action | null {
  if (!current) return snapshot && !snapshot.absent ? { do: 'mark-absent' } : null;
  if (!snapshot) return { do: 'seed-snapshot' };
  return !snapshot.absent && current.fingerprint === snapshot.fingerprint ? null : { do: 'update-snapshot' };
}

/** The object is as the snapshot says (the same content, or absent and recorded as absent). */
function matchesSnapshot(current: CurrentState | null, snapshot: SnapshotState): boolean {
  return snapshot.absent ? !current : !!current && current.fingerprint === snapshot.fingerprint;
}

const ALLOWED_OUTCOME: Record<Action['do'], string> = {
  'seed-snapshot': 'snapshot seeded',
  'update-snapshot': 'snapshot updated',
  'mark-absent': 'object deleted by an allowed actor; snapshot records it absent',
  restore: 'restored',
};

/**
 * The delete of the namespace holding the protected object (an audit record). The namespace takes the object
 * along, so it is judged as a delete of the object by that actor: allowed → the snapshot records it absent (clone
 * then treats the source as deleted); a violation → reported, and in enforce mode the namespace, protect's binding
 * in it and the object are re-created from last-known-good once the namespace is gone. In audit mode the copies
 * keep last-known-good (clone copies protected objects from the snapshot), so nothing downstream changes.
 */
function planNamespaceDelete(input: ProtectInput): ProtectDecision {
  const { policy, snapshot, attempt } = input;
  const { actor } = attempt;
  const ns = `namespace of the protected object deleted by ${actorText(actor)}`;
  if (attempt.code !== undefined && attempt.code >= 400) {
    return { verdict: 'denied', operation: 'DELETE', actions: [], outcome: `namespace delete rejected by the API server (HTTP ${attempt.code}); nothing changed`, reason: `${actorText(actor)} attempted to delete the namespace` };
  }
  const absent: Action[] = snapshot && !snapshot.absent ? [{ do: 'mark-absent', withNamespace: true }] : [];
  const allowedOutcome = absent.length ? 'namespace deleted by an allowed actor; snapshot records the object absent' : 'namespace deleted by an allowed actor; snapshot already says absent';
  if (!policy.protect.operations.includes('DELETE')) return { verdict: 'allowed', operation: 'DELETE', actions: absent, outcome: allowedOutcome, reason: `${ns}; DELETE is not in protect.operations` };
  const by = allowedBy(policy.protect.allow, actor);
  if (by) return { verdict: 'allowed', operation: 'DELETE', actions: absent, outcome: allowedOutcome, reason: `${ns}; ${by}` };
  const reason = `${ns}; ${actor.username ? `${actorText(actor)} is not in protect.allow` : 'no actor named'}`;
  if (!snapshot) return { verdict: 'violation', operation: 'DELETE', actions: [], outcome: 'no last-known-good snapshot; cannot restore', reason };
  if (snapshot.absent) return { verdict: 'violation', operation: 'DELETE', actions: [], outcome: 'the object was already absent, as last-known-good; nothing to restore', reason };
  if (policy.protect.mode === 'audit') return { verdict: 'violation', operation: 'DELETE', actions: [], outcome: 'reported only (audit mode); copies keep last-known-good', reason };
  return { verdict: 'violation', operation: 'DELETE', actions: [{ do: 'restore', how: 'recreate-namespace' }], outcome: 'namespace and object re-created from last-known-good once the namespace is gone', reason };
}

export function planProtect(input: ProtectInput): ProtectDecision {
  const { policy, current, snapshot, attempt } = input;
  const { actor } = attempt;
  const op = operationOf(attempt.verb);
  const seed: Action[] = !snapshot && current ? [{ do: 'seed-snapshot' }] : [];
  const seedNote = seed.length ? '; snapshot seeded (first sight)' : '';

  if (attempt.via === 'audit' && isOwn(actor)) return { verdict: 'own', operation: op, actions: seed, outcome: `ripple's own write${seedNote}`, reason: `${actorText(actor)} is ripple (group ${OWN_GROUP})` };
  if (attempt.scope === 'namespace') return planNamespaceDelete(input);
  if (!op) return { verdict: 'ignored', operation: null, actions: seed, outcome: `no change attempt${seedNote}`, reason: `verb ${attempt.verb} does not alter the object` };
  if (attempt.via !== 'audit' && !current && !snapshot) {
    return { verdict: 'ignored', operation: null, actions: [], outcome: 'object absent and no snapshot was ever taken; nothing to protect or restore', reason: `no state to compare (${attempt.via})` };
  }
  if (attempt.via !== 'audit' && current && !snapshot) {
    return { verdict: 'ignored', operation: null, actions: [{ do: 'seed-snapshot' }], outcome: 'first sight: snapshot seeded from the current state', reason: `no earlier state to compare with (${attempt.via})` };
  }
  if (attempt.via !== 'audit' && snapshot && matchesSnapshot(current, snapshot)) {
    return { verdict: 'ignored', operation: null, actions: [], outcome: snapshot.absent ? 'absent, as last-known-good' : 'content matches last-known-good', reason: `no content drift seen (${attempt.via})` };
  }
  if (isOwn(actor)) return { verdict: 'own', operation: op, actions: seed, outcome: `ripple's own write${seedNote}`, reason: `${actorText(actor)} is ripple (group ${OWN_GROUP} / field manager ${FIELD_MANAGER})` };
  if (attempt.code !== undefined && attempt.code >= 400) {
    return { verdict: 'denied', operation: op, actions: seed, outcome: `rejected by the API server (HTTP ${attempt.code}); nothing changed${seedNote}`, reason: `${actorText(actor)} attempted ${attempt.verb}` };
  }
  if (op === 'DELETE' && attempt.via === 'audit' && actor.username && NAMESPACE_CONTROLLER_USERS.includes(actor.username)) {
    // The namespace controller empties a namespace someone deleted: the namespace delete is what is judged (admission
    // refuses it to all but the allowed actors); re-creating into a terminating namespace would fail anyway.
    return { verdict: 'ignored', operation: null, actions: [], outcome: 'deleted with its namespace; snapshot kept', reason: `${actorText(actor)} is the namespace controller` };
  }
  if (op === 'DELETE' && current && attempt.via === 'audit') {
    // The object is still there: this request did not delete it (a collection delete that matched nothing else, a
    // dry run); a deletion followed by a re-create has the create's own record.
    return { verdict: 'ignored', operation: null, actions: seed, outcome: `still present: not deleted by this request${seedNote}`, reason: `${actorText(actor)} ${attempt.verb}` };
  }
  if (op !== 'CREATE' && !policy.protect.operations.includes(op)) {
    const a = snapshotAction(current, snapshot);
    return { verdict: 'allowed', operation: op, actions: a ? [a] : [], outcome: a ? ALLOWED_OUTCOME[a.do] : current ? 'snapshot already current' : 'object absent; snapshot already says so', reason: `${op} is not in protect.operations` };
  }
  const by = allowedBy(policy.protect.allow, actor);
  if (by) {
    if (writtenAfter(current, attempt)) return { verdict: 'allowed', operation: op, actions: seed, outcome: `${LATER}; snapshot not taken from it${seedNote}`, reason: by };
    const a = snapshotAction(current, snapshot);
    return { verdict: 'allowed', operation: op, actions: a ? [a] : [], outcome: a ? ALLOWED_OUTCOME[a.do] : current ? 'snapshot already current' : 'object absent; snapshot already says so', reason: by };
  }
  if (!actor.username && !nobodyAllowed(policy.protect.allow) && input.auditRecords === false) {
    const a = snapshotAction(current, snapshot);
    const moved = a ? ALLOWED_OUTCOME[a.do] : 'snapshot already current';
    if (policy.protect.mode === 'enforce') {
      return { verdict: 'allowed', operation: op, actions: a ? [a] : [], outcome: moved, reason: `${actorText(actor)}; no audit records in this deployment: admission (enforce) refuses every actor protect.allow does not name, so a change that landed came from one of them` };
    }
    return { verdict: 'unattributed', operation: op, actions: a ? [a] : [], outcome: `${moved}: audit mode without audit records cannot tell a violation from an allowed change, so copies follow the object`, reason: `${actorText(actor)}; no audit records in this deployment` };
  }
  if (!actor.username && !nobodyAllowed(policy.protect.allow)) {
    return { verdict: 'unattributed', operation: op, actions: seed, outcome: `awaiting the audit record to name the actor${seedNote}`, reason: `${actorText(actor)}; protect.allow names actors, so only an audit record can decide` };
  }
  const reason = actor.username ? `${actorText(actor)} is not in protect.allow` : `${actorText(actor)}; protect.allow is empty, so any change not made by ripple is a violation`;
  if (!snapshot) {
    return { verdict: 'violation', operation: op, actions: seed, outcome: current ? 'no last-known-good snapshot to restore from; seeded from the current state' : 'no last-known-good snapshot; cannot restore', reason };
  }
  const restore = restoreAction(current, snapshot);
  if (restore && writtenAfter(current, attempt)) {
    return { verdict: 'violation', operation: op, actions: [], outcome: policy.protect.mode === 'audit' ? 'reported only (audit mode)' : `${LATER}; not restored on this record`, reason };
  }
  if (policy.protect.mode === 'audit') {
    return { verdict: 'violation', operation: op, actions: [], outcome: restore ? 'reported only (audit mode)' : 'reported only (audit mode); content matches last-known-good', reason };
  }
  if (!restore) return { verdict: 'violation', operation: op, actions: [], outcome: snapshot.absent ? 'already absent, as last-known-good; nothing to restore' : 'content already matches last-known-good; nothing to restore', reason };
  const texts = {
    recreate: 're-created from last-known-good',
    rewrite: 'data restored from last-known-good',
    replace: 'replaced (delete + create) from last-known-good',
    remove: 'deleted: absent is last-known-good (the last allowed change deleted it)',
    'recreate-namespace': 'namespace and object re-created from last-known-good',
  } as const;
  const how = restore.do === 'restore' ? texts[restore.how] : 'restored';
  return { verdict: 'violation', operation: op, actions: [restore], outcome: how, reason };
}

/**
 * Several attempts on one object (one batch of audit records, or an event plus records): every attempt is
 * reported, but only the latest successful change may act on state (level-based — the current state is what
 * that change left). Earlier decisions keep their verdict and lose their state actions.
 */
export function settle<T extends { attempt: Attempt; decision: ProtectDecision }>(items: T[]): T[] {
  const changes = items.filter((i) => i.decision.operation !== null && i.decision.verdict !== 'denied');
  const last = [...changes].sort((a, b) => (a.attempt.at < b.attempt.at ? -1 : a.attempt.at > b.attempt.at ? 1 : 0)).at(-1);
  let seeded = last?.decision.actions.some((a) => a.do === 'seed-snapshot') ?? false;
  return items.map((i) => {
    if (i === last || i.decision.actions.length === 0) return i;
    const hadState = i.decision.actions.some((a) => a.do !== 'seed-snapshot');
    const actions: Action[] = !seeded && i.decision.actions.some((a) => a.do === 'seed-snapshot') ? [{ do: 'seed-snapshot' }] : [];
    if (actions.length) seeded = true;
    const outcome = hadState ? `superseded by a later change to the same object (${last?.attempt.id ?? 'unknown'}); reported only` : i.decision.outcome;
    return { ...i, decision: { ...i.decision, actions, outcome } };
  });
}
