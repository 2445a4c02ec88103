/**
 * Which SQS records are rollout triggers (pure): parsed and schema-checked, deletions, metadata-only changes and
 * unchanged fingerprints left out before any API call, grouped by cluster + namespace; and which policies make a
 * re-read object a trigger.
 */
import type { SQSRecord } from 'aws-lambda';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANN_POLICY, DETAIL_TYPES, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../core/constants.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { policiesForCopy, policiesForSource } from '../../core/policy/select.ts';
import { parseRippleEvent, type ObjectChangeEvent } from '../../events/schema.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';

/** Changes that alter what pods read. Created counts too (a re-created Secret may differ from what pods loaded). */
export const CONTENT_CHANGES = new Set(['data', 'type']);

export interface Item {
  messageId: string;
  event: ObjectChangeEvent;
  /** When the change happened: the earliest of the event's observedAt, its time and the SQS SentTimestamp (never later than now). */
  changedAt: number;
}

/** Why an event is not a rollout trigger (before any API call), or null. */
export function eventSkipReason(e: ObjectChangeEvent, opts: { deletes?: boolean } = {}): string | null {
  const d = e.detail;
  if (d.kind !== 'Secret' && d.kind !== 'ConfigMap') return `${d.kind} is not a Secret or ConfigMap`;
  if (!d.namespace) return `${d.kind} ${d.name} has no namespace`;
  // deletions count only in the Reloader mode with reloadOnDelete (functions/rollout/reloader-mode.ts)
  if (e['detail-type'] === DETAIL_TYPES.deleted && !opts.deletes) return `${d.kind} ${d.namespace}/${d.name} was deleted; deletions do not restart workloads`;
  if (e['detail-type'] === DETAIL_TYPES.updated && !d.changes.some((c) => CONTENT_CHANGES.has(c))) {
    return `${d.kind} ${d.namespace}/${d.name}: no content change (changes: ${d.changes.join(', ') || 'none'})`;
  }
  if (d.previousFingerprint !== undefined && d.previousFingerprint === d.fingerprint) return `${d.kind} ${d.namespace}/${d.name}: fingerprint unchanged`;
  return null;
}

/** The policies that make this (re-read) object a reload trigger. */
export function triggeringPolicies(policies: RipplePolicy[], kind: string, obj: V1Secret | V1ConfigMap): RipplePolicy[] {
  const md = obj.metadata ?? {};
  if (md.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE) {
    const byName = md.annotations?.[ANN_POLICY];
    const copies = policiesForCopy(policies, kind, md.name ?? '');
    const owned = byName ? copies.filter((p) => p.metadata.name === byName) : copies;
    if (owned.length) return owned;
  }
  return policiesForSource(policies, kind, md.namespace ?? '', md.name ?? '');
}

/** The earliest valid time among the event's observedAt, its EventBridge time and the SQS SentTimestamp; never later than now. */
function changeTime(record: SQSRecord, event: ObjectChangeEvent, now: number): number {
  const times = [Date.parse(event.detail.observedAt), Date.parse(event.time), Number(record.attributes?.SentTimestamp)].filter((t) => Number.isFinite(t) && t > 0);
  return Math.min(now, ...times);
}

/** One SQS record as an object-change event; null (logged, not retried) for malformed records and resyncs. */
export function parseRecord(record: SQSRecord, logger: Observability['logger'], now: number): Item | null {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    logger.error('record rejected: body is not JSON; not retried', { messageId: record.messageId });
    return null;
  }
  try {
    const event = parseRippleEvent(body);
    if (event['detail-type'] === DETAIL_TYPES.resync) {
      logger.info('resync requests do not restart workloads', { messageId: record.messageId });
      return null;
    }
    return { messageId: record.messageId, event: event as ObjectChangeEvent, changedAt: changeTime(record, event as ObjectChangeEvent, now) };
  } catch (err) {
    logger.error('record rejected by schema; not retried', { messageId: record.messageId, reason: errorReason(err) });
    return null;
  }
}


export type Group = { cluster: string; namespace: string; items: Item[] };

/** The batch's trigger records grouped by cluster and namespace (one read/plan/apply per group). */
export function groupRecords(records: SQSRecord[], logger: Observability['logger'], now: number, opts: { deletes?: boolean } = {}): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const record of records) {
    const item = parseRecord(record, logger, now);
    if (!item) continue;
    const skip = eventSkipReason(item.event, opts);
    if (skip) {
      logger.info('not a rollout trigger', { messageId: record.messageId, reason: skip });
      continue;
    }
    const d = item.event.detail;
    const k = `${d.cluster}\u0000${d.namespace}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { cluster: d.cluster, namespace: d.namespace!, items: [] }));
    g.items.push(item);
  }
  return groups;
}
