/**
 * The one event schema: what the forwarder sends, what the local bus delivers and what the handlers accept.
 * `npm run ripple -- render events` writes events/ripple-events.schema.json from these definitions.
 *
 * Events are hints, never payloads: they say which object changed and how (a keyed fingerprint of its
 * content, the list of changed parts), never the content itself. Secret/ConfigMap data, `stringData` and
 * `kubectl.kubernetes.io/last-applied-configuration` never appear here.
 */
import * as z from '../core/zod.ts';
import { DETAIL_TYPES, EVENT_SOURCE } from '../core/constants.ts';

/** Parts of an object a change can touch; rules match on these (`"changes": ["data"]`). */
export const CHANGE_PARTS = ['data', 'type', 'labels', 'annotations', 'ownerReferences', 'immutable', 'spec', 'status'] as const;
export const ChangePart = z.enum(CHANGE_PARTS);
export type ChangePart = z.infer<typeof ChangePart>;

const StringMap = z.record(z.string(), z.string());

export const OwnerReference = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  name: z.string(),
  uid: z.string(),
  controller: z.optional(z.boolean()),
});

/** detail of `Kubernetes Object Created|Updated|Deleted`. */
export const ObjectChangeDetail = z.strictObject({
  /** The cluster's name as configured in the forwarder (the EKS cluster name in AWS). */
  cluster: z.string().check(z.minLength(1)),
  apiVersion: z.string().check(z.minLength(1)),
  kind: z.string().check(z.minLength(1)),
  /** Absent for cluster-scoped objects (Namespace). */
  namespace: z.optional(z.string().check(z.minLength(1))),
  name: z.string().check(z.minLength(1)),
  uid: z.string().check(z.minLength(1)),
  resourceVersion: z.string().check(z.minLength(1)),
  labels: StringMap,
  /** Only allow-listed annotations (ripple.dev/*, reloader.stakater.com/* and configured keys). */
  annotations: StringMap,
  ownerReferences: z.array(OwnerReference),
  /** `hmac-sha256:<hex>` of the object's content, keyed per cluster; never a plain hash of the data. */
  fingerprint: z.string().check(z.regex(/^hmac-sha256:[0-9a-f]{32,64}$/)),
  previousFingerprint: z.optional(z.string().check(z.regex(/^hmac-sha256:[0-9a-f]{32,64}$/))),
  /** What changed compared with the previous state the forwarder knew; empty on Created/Deleted. */
  changes: z.array(ChangePart),
  /** Secret `type`, when kind is Secret. */
  type: z.optional(z.string()),
  /** Last field manager from managedFields, e.g. `kubectl-edit`, `ripple`. */
  manager: z.optional(z.string()),
  /**
   * On Created/Updated of a copy ripple wrote (it carries `ripple.dev/source`, `ripple.dev/source-fingerprint`
   * or `ripple.dev/metadata-fingerprint`): true when the copy no longer is what ripple wrote — its content
   * fingerprint differs from `ripple.dev/source-fingerprint`, or the metadata fingerprint of its labels and
   * annotations differs from `ripple.dev/metadata-fingerprint` (a label or annotation removed, added or
   * changed), or a copy (`ripple.dev/source`) lacks either annotation; false when both match (ripple's own
   * writes always do). Absent otherwise (not a copy, protect's snapshots, Namespaces, Deleted). Set whoever
   * `manager` names: a user's edit that only removes fields leaves ripple as the last manager.
   */
  drifted: z.optional(z.boolean()),
  /** When the forwarder saw the change (ISO 8601). */
  observedAt: z.string(),
});
export type ObjectChangeDetail = z.infer<typeof ObjectChangeDetail>;

export const RESYNC_REASONS = ['startup', 'leader-elected', 'relist', 'schedule', 'deploy', 'manual'] as const;

/** detail of `Ripple Resync Requested`: handlers reconcile everything they own. */
export const ResyncDetail = z.strictObject({
  cluster: z.string().check(z.minLength(1)),
  reason: z.enum(RESYNC_REASONS),
  /** Kinds whose state may have changed unseen; absent = all. */
  kinds: z.optional(z.array(z.string())),
  observedAt: z.string(),
});
export type ResyncDetail = z.infer<typeof ResyncDetail>;

const envelopeBase = {
  version: z.literal('0'),
  id: z.string(),
  source: z.literal(EVENT_SOURCE),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
};

export const ObjectChangeEvent = z.object({
  ...envelopeBase,
  'detail-type': z.enum([DETAIL_TYPES.created, DETAIL_TYPES.updated, DETAIL_TYPES.deleted]),
  detail: ObjectChangeDetail,
});
export type ObjectChangeEvent = z.infer<typeof ObjectChangeEvent>;

export const ResyncEvent = z.object({
  ...envelopeBase,
  'detail-type': z.literal(DETAIL_TYPES.resync),
  detail: ResyncDetail,
});
export type ResyncEvent = z.infer<typeof ResyncEvent>;

/** Any event ripple's forwarder emits, as EventBridge delivers it to a target. */
export const RippleEvent = z.discriminatedUnion('detail-type', [ObjectChangeEvent, ResyncEvent]);
export type RippleEvent = z.infer<typeof RippleEvent>;

/** One PutEvents entry as the forwarder builds it (Detail is the JSON string of a detail above). */
export interface PutEntry {
  Source: typeof EVENT_SOURCE;
  DetailType: string;
  Detail: string;
  Resources?: string[];
  EventBusName?: string;
  Time?: Date;
}

/** `arn`-like resource string EventBridge carries in `resources`: `k8s://<cluster>/<kind>/<namespace>/<name>`. */
export function objectResource(d: Pick<ObjectChangeDetail, 'cluster' | 'kind' | 'namespace' | 'name'>): string {
  return `k8s://${d.cluster}/${d.kind}/${d.namespace ?? '_'}/${d.name}`;
}

export function objectChangeEntry(detailType: ObjectChangeEvent['detail-type'], detail: ObjectChangeDetail, busName?: string): PutEntry {
  ObjectChangeDetail.parse(detail);
  return { Source: EVENT_SOURCE, DetailType: detailType, Detail: JSON.stringify(detail), Resources: [objectResource(detail)], ...(busName ? { EventBusName: busName } : {}) };
}

export function resyncEntry(detail: ResyncDetail, busName?: string): PutEntry {
  ResyncDetail.parse(detail);
  return { Source: EVENT_SOURCE, DetailType: DETAIL_TYPES.resync, Detail: JSON.stringify(detail), Resources: [], ...(busName ? { EventBusName: busName } : {}) };
}

/**
 * Parse an event a target received; throws a `z.ZodError` whose message names the failing field. Handlers
 * turn it into a permanent (not retried) error.
 */
export function parseRippleEvent(input: unknown): RippleEvent {
  return RippleEvent.parse(input);
}

/** JSON Schema of a delivered event (for editors, docs and the EventBridge schema registry). */
export function eventJsonSchema(): object {
  return z.toJSONSchema(RippleEvent, { target: 'draft-2020-12' });
}
