/**
 * What a clone invocation must look at, from what triggered it (pure). Events are hints: they only say where
 * to look; the handler re-reads the current state there.
 *
 * - RippleEvent for a source (created/updated/deleted): every namespace of every policy with that source.
 * - RippleEvent for a copy (a Secret/ConfigMap named like a policy's target, outside the source namespace):
 *   that one namespace for those policies (drift and deletions are reverted there).
 * - Namespace created/updated: that namespace, for every sync policy. Namespace deleted: nothing.
 * - A set of bases (source.selector): an event for any object of its kind in its namespace is that member's (the
 *   handler re-reads it: it may have joined, changed or left the set); an event for one of its copies (marked with
 *   the set's name, or any delete of its kind) is that member in that namespace; namespace events and resyncs
 *   cover every member (reconcile.ts expands a set into its members).
 * - protect's last-known-good snapshot of a protected source (`ripple-system/ripple-snapshot-<policy>`) created,
 *   updated or deleted: every namespace of that policy (its copies follow the snapshot: read.ts).
 * - `Ripple Resync Requested`, an EventBridge Scheduled Event (or the serverless schedule input
 *   `{ reason: "schedule" }`), a CloudFormation custom-resource Create/Update: everything.
 */
import { ANN_POLICY, DETAIL_TYPES, FIELD_MANAGER, LABEL_MANAGED_BY, LABEL_SET, MANAGED_BY_VALUE, RIPPLE_NAMESPACE, SNAPSHOT_PREFIX } from '../../core/constants.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { isSet, policiesForCopy, policiesForSource, setsInNamespace } from '../../core/policy/select.ts';
import { isFleetPolicy, placements, type Placement } from '../../core/policy/fleet.ts';
import { parseRippleEvent, type RippleEvent } from '../../events/schema.ts';
import type { Scope } from './read.ts';

export interface WorkItem {
  policy: RipplePolicy;
  scope: Scope;
  /** The cluster the source is read in (core/policy/fleet.ts). */
  source: string;
  /** The cluster whose namespaces (in `scope`) hold the copies written. */
  target: string;
  /**
   * The trigger is an Updated of this copy whose last field manager is ripple: it reached the clone rule only
   * because the forwarder said `drifted`. Labels or annotations found *added* on such a copy were added to
   * ripple's own write (a mutating admission webhook: its changes count as the requester's), so rewriting
   * them away would only be mutated again; see plan.ts `CloneInput.ownWrite`.
   */
  ownWrite?: boolean;
  /** `sync.mode: once` policies: this run may make missing copies (plan.ts `CloneInput.mayCreate`). */
  mayCreate?: boolean;
  /**
   * A set of bases (source.selector): the one member (base name) the trigger concerns; absent = every member, and
   * every copy of the set whose base has left it (reconcile.ts expandSets).
   */
  member?: string;
}

export interface CloudFormationEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType?: string;
  ResourceProperties?: Record<string, unknown>;
}

export type Trigger =
  | { type: 'ripple'; event: RippleEvent; cluster: string; why: string }
  /** `every`: the input named no cluster, so every cluster of the stage is reconciled (`cluster` is the primary). */
  | { type: 'schedule'; cluster: string; every: boolean; why: string }
  | { type: 'cloudformation'; event: CloudFormationEvent; cluster: string; clusters: string[]; why: string };

export function isCloudFormationEvent(e: unknown): e is CloudFormationEvent {
  const o = e as Record<string, unknown> | null;
  return !!o && typeof o === 'object' && typeof o.RequestType === 'string' && typeof o.ResponseURL === 'string';
}

function isSchedule(e: Record<string, unknown>): boolean {
  return (e.source === 'aws.events' && e['detail-type'] === 'Scheduled Event') || (e.reason === 'schedule' && !('detail-type' in e));
}

/** Classify an invocation's input. Throws ZodError (a permanent, not-retried rejection) for malformed RippleEvents. */
export function classify(input: unknown, defaultCluster: string): Trigger {
  const e = (input ?? {}) as Record<string, unknown>;
  if (isCloudFormationEvent(input)) {
    // `Clusters` (infra/aws/bus.yml: a list, or a comma separated string) or `Cluster`; default: the configured one.
    const props = input.ResourceProperties ?? {};
    const raw = props.Clusters ?? props.Cluster;
    const list = (Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/[\s,]+/) : []).filter(Boolean);
    const clusters = list.length ? [...new Set(list)] : [defaultCluster];
    return { type: 'cloudformation', event: input, cluster: clusters[0], clusters, why: `CloudFormation ${input.RequestType} ${input.LogicalResourceId}` };
  }
  if (isSchedule(e)) {
    const named = typeof e.cluster === 'string' && e.cluster ? e.cluster : null;
    return { type: 'schedule', cluster: named ?? defaultCluster, every: named === null, why: 'schedule' };
  }
  const event = parseRippleEvent(input);
  const d = event.detail;
  const why = event['detail-type'] === DETAIL_TYPES.resync ? `resync (${(d as { reason: string }).reason})` : `${event['detail-type']} ${'kind' in d ? `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name}` : ''}`;
  return { type: 'ripple', event, cluster: d.cluster, why };
}

const once = (p: RipplePolicy) => p.spec.sync?.mode === 'once';

/**
 * The (policy, scope, source cluster, target cluster) work a trigger asks for. Only policies with a `sync` part
 * are considered. `stage`: the stage's clusters, primary first (core/policy/fleet.ts); default: the trigger's.
 *
 * Fan-out: a change of a source seen in its cluster (or of its last-known-good snapshot there) reconciles every
 * target cluster; a copy or namespace event from cluster X reconciles that namespace in X for the policies with
 * copies in X; a resync from X covers the policies with copies in X and those whose source is in X; the schedule
 * and the deploy-time resync cover every (policy, target cluster). A cluster-local policy (no cluster named) is
 * placed in every cluster of the stage and in the event's own cluster, as before fleets.
 *
 * `sync.mode: once` policies are in a run only where it may make missing copies (`mayCreate`): a namespace created
 * or relabelled, the source created, a deploy (the CloudFormation custom resource, a `deploy` resync); never for
 * source updates or deletes, copy events, snapshots or other resyncs.
 */
export function workFor(trigger: Trigger, policies: readonly RipplePolicy[], stage: readonly string[] = [trigger.cluster]): WorkItem[] {
  const syncing = policies.filter((p) => p.spec.sync !== undefined);
  const kept = syncing.filter((p) => !once(p)); // once-mode copies are never synced again
  const here = trigger.cluster;
  const localStage = stage.includes(here) ? stage : [...stage, here];
  const placed = (p: RipplePolicy): Placement[] => placements(p, isFleetPolicy(p) ? stage : localStage);
  const ALL: Scope = { kind: 'all' };
  const where = (ps: readonly RipplePolicy[], keep: (pl: Placement) => boolean, scope: Scope = ALL, extra: Partial<WorkItem> = {}): WorkItem[] =>
    ps.flatMap((policy) =>
      placed(policy)
        .filter(keep)
        .map((pl) => ({ policy, scope, ...pl, ...extra, ...(once(policy) ? { mayCreate: true } : {}) })),
    );
  if (trigger.type === 'cloudformation') return trigger.event.RequestType === 'Delete' ? [] : where(syncing, (pl) => trigger.clusters.includes(pl.target));
  if (trigger.type === 'schedule') return where(kept, (pl) => trigger.every || pl.target === here);
  const { event } = trigger;
  if (event['detail-type'] === DETAIL_TYPES.resync) {
    const deploy = (event.detail as { reason?: string }).reason === 'deploy';
    return where(deploy ? syncing : kept, (pl) => pl.target === here || pl.source === here);
  }
  const d = event.detail;
  if (d.kind === 'Namespace') {
    if (event['detail-type'] === DETAIL_TYPES.deleted) return [];
    return where(syncing, (pl) => pl.target === here, { kind: 'namespace', namespace: d.name });
  }
  if (!d.namespace) return [];
  if (d.kind === 'Secret' && d.namespace === RIPPLE_NAMESPACE && d.name.startsWith(SNAPSHOT_PREFIX)) {
    const owners = kept.filter((p) => p.spec.protect && `${SNAPSHOT_PREFIX}${p.metadata.name}` === d.name);
    return where(owners, (pl) => pl.source === here);
  }
  const items: WorkItem[] = where(policiesForSource(kept, d.kind, d.namespace, d.name), (pl) => pl.source === here);
  items.push(...setWork(event['detail-type'], d, syncing, placed, here));
  // a once-mode source that appears is copied where no copy is yet (a deleted copy stays deleted otherwise)
  if (event['detail-type'] === DETAIL_TYPES.created) items.push(...where(policiesForSource(syncing.filter(once), d.kind, d.namespace, d.name), (pl) => pl.source === here));
  for (const policy of policiesForCopy(kept, d.kind, d.name)) {
    // the source itself (a copy next to it has another name: core/policy/select.ts), handled above
    if (policy.spec.source.namespace === d.namespace && policy.spec.source.name === d.name) continue;
    const ownWrite = event['detail-type'] === DETAIL_TYPES.updated && d.manager === FIELD_MANAGER;
    for (const pl of placed(policy)) {
      if (pl.target !== here || items.some((i) => i.policy === policy && i.target === here)) continue;
      items.push({ policy, scope: { kind: 'namespace', namespace: d.namespace }, ...pl, ...(ownWrite ? { ownWrite } : {}) });
    }
  }
  return items;
}

type ObjectDetail = { kind: string; namespace?: string; name: string; labels: Record<string, string>; annotations: Record<string, string>; changes: readonly string[]; manager?: string };

/**
 * The work an object event asks of the sets (source.selector). In a set's namespace, any object of its kind is a
 * member to look at (it may have joined, changed or left: the handler re-reads its labels), but never a copy
 * ripple made (never a base) — once-mode sets only when the object appears or its labels change (a copy is made when
 * a base joins, never re-made). Elsewhere, an object of its kind deleted (a relisted delete carries no labels) or
 * marked with the set's name is a copy: that member in that namespace.
 */
function setWork(type: string, d: ObjectDetail, syncing: readonly RipplePolicy[], placed: (p: RipplePolicy) => Placement[], here: string): WorkItem[] {
  const out: WorkItem[] = [];
  const sets = syncing.filter(isSet);
  if (sets.length === 0 || !d.namespace) return out;
  const ripplesCopy = d.labels[LABEL_MANAGED_BY] === MANAGED_BY_VALUE;
  for (const policy of setsInNamespace(sets, d.kind, d.namespace)) {
    if (ripplesCopy) continue;
    const joins = type === DETAIL_TYPES.created || (type === DETAIL_TYPES.updated && d.changes.includes('labels'));
    if (once(policy) && !joins) continue;
    for (const pl of placed(policy)) {
      if (pl.source === here) out.push({ policy, scope: { kind: 'all' }, ...pl, member: d.name, ...(once(policy) ? { mayCreate: true } : {}) });
    }
  }
  for (const policy of sets) {
    if (once(policy) || policy.spec.source.kind !== d.kind || policy.spec.source.namespace === d.namespace) continue;
    const marked = d.labels[LABEL_SET] === policy.metadata.name || d.annotations[ANN_POLICY] === policy.metadata.name;
    if (type !== DETAIL_TYPES.deleted && !marked) continue;
    const ownWrite = type === DETAIL_TYPES.updated && d.manager === FIELD_MANAGER;
    for (const pl of placed(policy)) {
      if (pl.target === here) out.push({ policy, scope: { kind: 'namespace', namespace: d.namespace }, ...pl, member: d.name, ...(ownWrite ? { ownWrite } : {}) });
    }
  }
  return out;
}
