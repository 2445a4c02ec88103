/**
 * Rollout handler: an SQS batch whose record bodies are EventBridge events (RippleEvent) about Secrets and
 * ConfigMaps. Level-based: the event only says where to look. Per cluster + namespace: re-read each changed
 * object, fingerprint it with the cluster key, find the policies that make it a reload trigger (a copy ripple
 * manages, or the source of a policy with a reload section), list the workloads, plan one patch per
 * consuming workload, apply. Returns `{ batchItemFailures }`: the records of a group that failed with a
 * retryable error; malformed or permanently failing records are logged and not retried.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { ANN_POLICY, DETAIL_TYPES, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../core/constants.ts';
import { isRetryable, PermanentError } from '../../core/errors.ts';
import { fingerprint } from '../../core/fingerprint.ts';
import { handlerDeps, lazyHandler, type HandlerDeps, type InvocationContext } from '../runtime/handler-deps.ts';
import { orNull, type Kube } from '../runtime/kube.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { policiesForCopy, policiesForSource } from '../../core/policy/select.ts';
import { parseRippleEvent, type ObjectChangeEvent } from '../../events/schema.ts';
import { limiter, pool, type Limiter } from '../runtime/pool.ts';
import { applyRollouts, type ApplyResult } from './apply.ts';
import { holdUntil, planRollouts, reloadSettings, type ChangedObject, type RolloutPlan, type WorkloadKind, type WorkloadView } from './plan.ts';
import { listWorkloads } from './workloads.ts';

export interface Deps extends HandlerDeps {
  now: () => Date;
  /** Requests in flight (reads, lists, patches, Events) across the whole batch. */
  concurrency: number;
  /** Namespace groups processed in parallel. */
  groupConcurrency: number;
  /** Waits (the coalescing hold); tests pass a recording or instant one. */
  sleep: (ms: number) => Promise<void>;
  /**
   * Time an invocation keeps for the work after a coalescing hold. A hold that would leave less than this before
   * the Lambda timeout is not waited out: the held records go back to the queue (batchItemFailures) instead.
   */
  holdReserveMs: number;
}

/** Changes that alter what pods read. Created counts too (a re-created Secret may differ from what pods loaded). */
const CONTENT_CHANGES = new Set(['data', 'type']);

interface Item {
  messageId: string;
  event: ObjectChangeEvent;
  /** When the change happened: the earliest of the event's observedAt, its time and the SQS SentTimestamp (never later than now). */
  changedAt: number;
}

/** Why an event is not a rollout trigger (before any API call), or null. */
export function eventSkipReason(e: ObjectChangeEvent): string | null {
  const d = e.detail;
  if (d.kind !== 'Secret' && d.kind !== 'ConfigMap') return `${d.kind} is not a Secret or ConfigMap`;
  if (!d.namespace) return `${d.kind} ${d.name} has no namespace`;
  if (e['detail-type'] === DETAIL_TYPES.deleted) return `${d.kind} ${d.namespace}/${d.name} was deleted; deletions do not restart workloads`;
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

function resolveDeps(partial: Partial<Deps>): Deps {
  return {
    ...handlerDeps('rollout', partial),
    now: partial.now ?? (() => new Date()),
    concurrency: partial.concurrency ?? 16,
    groupConcurrency: partial.groupConcurrency ?? 16,
    sleep: partial.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    holdReserveMs: partial.holdReserveMs ?? 20_000,
  };
}

interface GroupSummary {
  /** Set when the group needs patches but its coalescing window is still open: nothing was written. */
  heldUntil?: number;
  plan: RolloutPlan;
  applied: ApplyResult;
  changed: ChangedObject[];
  notTriggers: string[];
}

/** Lists the workloads of one namespace (plain JSON, paged): one request per kind and namespace, never all namespaces. */
type WorkloadLister = (kube: Kube, namespace: string, kinds: WorkloadKind[]) => Promise<WorkloadView[]>;

const perNamespace: WorkloadLister = (kube, namespace, kinds) => listWorkloads(kube.raw, namespace, kinds);

/** Reads one changed object with a GET in its namespace (level-based: the current content, not the event's). */
type ObjectReader = (kube: Kube, kind: 'Secret' | 'ConfigMap', namespace: string, name: string) => Promise<V1Secret | V1ConfigMap | null>;

const getOne: ObjectReader = (kube, kind, namespace, name) => {
  const resource = kind === 'Secret' ? 'secrets' : 'configmaps';
  // Plain JSON over the rate-limited request path (only metadata, type and data are read).
  return orNull(kube.raw.request<V1Secret | V1ConfigMap>('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`, { describe: { verb: 'get', resource, namespace, name } }));
};

interface Readers {
  read: ObjectReader;
  list: WorkloadLister;
  /** Shared by every group of the batch: bounds requests in flight. */
  limit?: Limiter;
}

const limited = <T>(r: Readers, fn: () => Promise<T>): Promise<T> => (r.limit ? r.limit(fn) : fn());

async function processGroup(deps: Deps, cluster: string, namespace: string, items: Item[], readers: Readers, opts: { hold: boolean }): Promise<GroupSummary> {
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const policies = deps.policies();
  const notTriggers: string[] = [];
  const unique = new Map<string, { kind: 'Secret' | 'ConfigMap'; name: string }>();
  for (const { event } of items) unique.set(`${event.detail.kind}/${event.detail.name}`, { kind: event.detail.kind as 'Secret' | 'ConfigMap', name: event.detail.name });
  const changed: ChangedObject[] = [];
  for (const { kind, name } of unique.values()) {
    const obj = await limited(readers, () => readers.read(kube, kind, namespace, name));
    if (!obj) {
      notTriggers.push(`${kind} ${namespace}/${name}: gone`);
      continue;
    }
    const settings = reloadSettings(triggeringPolicies(policies, kind, obj));
    if (!settings) {
      notTriggers.push(`${kind} ${namespace}/${name}: no policy with a reload section concerns it`);
      continue;
    }
    changed.push({ kind, namespace, name, fingerprint: fingerprint(key, { kind, type: (obj as V1Secret).type, data: obj.data, binaryData: (obj as V1ConfigMap).binaryData }), settings });
  }
  const empty: RolloutPlan = { patches: [], skipped: [], upToDate: [], reported: [] };
  if (changed.length === 0) return { plan: empty, applied: { patched: [], gone: [], eventErrors: [] }, changed, notTriggers };
  const kinds = [...new Set(changed.flatMap((c) => c.settings.kinds))];
  const workloads = await limited(readers, () => readers.list(kube, namespace, kinds));
  const plan = planRollouts(changed, workloads, deps.now());
  if (opts.hold) {
    const until = holdUntil(plan, changed, firstChangeAt(items));
    if (until > deps.now().getTime()) return { heldUntil: until, plan, applied: { patched: [], gone: [], eventErrors: [] }, changed, notTriggers };
  }
  const applied = await applyRollouts(kube, plan, { concurrency: deps.concurrency, limit: readers.limit });
  return { plan, applied, changed, notTriggers };
}

/** Earliest change time per `Kind/name` among the records of one namespace group. */
function firstChangeAt(items: readonly Item[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { event, changedAt } of items) {
    const k = `${event.detail.kind}/${event.detail.name}`;
    out.set(k, Math.min(out.get(k) ?? Infinity, changedAt));
  }
  return out;
}

type Group = { cluster: string; namespace: string; items: Item[] };

/**
 * One SQS batch. Coalescing (ADR 0004): SQS hands over a batch when its window ends OR as soon as 100 records
 * are there, so a fan-out over many namespaces arrives in full batches long before `reload.coalesce` has passed.
 * Each group is therefore planned first; a group whose plan restarts something while the window of the change
 * (its first record's time + `reload.coalesce`) is still open is held: the batch waits until the latest window
 * ends, then re-reads and re-plans those groups (level-based: the content that is current then) and applies.
 * Later batches carrying the same or newer changes find the workloads already recording the current fingerprint
 * and write nothing. A hold that would not fit in the invocation's remaining time (minus `holdReserveMs`) is
 * not waited out: the held records return to the queue.
 */
export async function processBatch(deps: Deps, event: SQSEvent, context?: InvocationContext): Promise<SQSBatchResponse> {
  const { logger, metrics } = deps.observability();
  const failures: string[] = [];
  const groups = new Map<string, Group>();
  const now = deps.now().getTime();
  for (const record of event.Records ?? []) {
    const item = parseRecord(record, logger, now);
    if (!item) continue;
    const skip = eventSkipReason(item.event);
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
  const totals = { triggered: 0, skipped: 0, upToDate: 0, retryable: 0, permanent: 0, held: 0, returned: 0 };
  // Every read, list and write of the batch goes through one limiter. Reads are per namespace (a GET per changed
  // object, one list per workload kind): an all-namespaces list per batch would cost O(cluster) per batch, i.e.
  // O(N^2) for a fan-out of N namespaces over N/100 batches.
  const readers: Readers = { read: getOne, list: perNamespace, limit: limiter(deps.concurrency) };
  const report = (g: Group, s: GroupSummary) => {
    for (const reason of s.notTriggers) logger.info('not a rollout trigger', { cluster: g.cluster, namespace: g.namespace, reason });
    const wl = (w: { kind: string; namespace: string; name: string }) => ({ workload: `${w.kind}/${w.namespace}/${w.name}`, kind: w.kind, namespace: w.namespace, name: w.name });
    for (const p of s.applied.gone) logger.info('workload gone before its restart', { action: 'skip', cluster: g.cluster, ...wl(p.workload), reason: 'deleted between list and patch' });
    for (const e of s.applied.eventErrors) logger.warn('could not record the Kubernetes Event', { cluster: g.cluster, reason: e });
    for (const p of s.applied.patched) {
      logger.info('restart triggered', { action: 'restart', cluster: g.cluster, ...wl(p.workload), objects: p.changed.map((c) => `${c.kind}/${g.namespace}/${c.name}`), restartedFor: p.restartedFor, references: p.references.map((r) => r.where) });
    }
    for (const sk of s.plan.skipped) logger.info('restart skipped', { action: 'skip', cluster: g.cluster, ...wl(sk.workload), objects: [`${sk.object.kind}/${g.namespace}/${sk.object.name}`], reason: sk.reason });
    for (const r of s.plan.reported) logger.info('reference reported, not restarted', { action: 'report', cluster: g.cluster, ...wl(r.workload), objects: [`${r.object.kind}/${g.namespace}/${r.object.name}`], reason: r.reason });
    totals.triggered += s.applied.patched.length;
    totals.skipped += s.plan.skipped.length;
    totals.upToDate += s.plan.upToDate.length;
    logger.info('namespace processed', { cluster: g.cluster, namespace: g.namespace, records: g.items.length, changedObjects: s.changed.length, patches: s.applied.patched.length, skipped: s.plan.skipped.length, upToDate: s.plan.upToDate.length });
  };
  const failed = (g: Group, err: unknown) => {
    const retry = isRetryable(err) || !(err instanceof PermanentError);
    logger[retry ? 'warn' : 'error'](retry ? 'namespace failed; records returned for retry' : 'namespace failed permanently; records not retried', {
      cluster: g.cluster,
      namespace: g.namespace,
      reason: errorReason(err),
    });
    totals[retry ? 'retryable' : 'permanent'] += 1;
    if (retry) failures.push(...g.items.map((i) => i.messageId));
  };
  const held: { g: Group; until: number }[] = [];
  await pool([...groups.values()], deps.groupConcurrency, async (g) => {
    try {
      const s = await processGroup(deps, g.cluster, g.namespace, g.items, readers, { hold: true });
      if (s.heldUntil !== undefined) held.push({ g, until: s.heldUntil });
      else report(g, s);
    } catch (err) {
      failed(g, err);
    }
  });
  if (held.length > 0) {
    const until = Math.max(...held.map((h) => h.until));
    const wait = Math.max(0, until - deps.now().getTime());
    const remaining = context?.getRemainingTimeInMillis?.() ?? Infinity;
    if (remaining - wait < deps.holdReserveMs) {
      totals.returned += held.length;
      for (const { g } of held) failures.push(...g.items.map((i) => i.messageId));
      logger.info('coalescing window open past the invocation time left; records returned to the queue', { namespaces: held.length, waitMs: wait, remainingMs: remaining });
    } else {
      totals.held += held.length;
      logger.info('coalescing: waiting for the window of the changes to end before restarting', { namespaces: held.length, waitMs: wait });
      await deps.sleep(wait);
      await pool(held, deps.groupConcurrency, async ({ g }) => {
        try {
          report(g, await processGroup(deps, g.cluster, g.namespace, g.items, readers, { hold: false }));
        } catch (err) {
          failed(g, err);
        }
      });
    }
  }
  metrics.addMetric('RolloutsTriggered', MetricUnit.Count, totals.triggered);
  metrics.addMetric('RolloutsSkipped', MetricUnit.Count, totals.skipped);
  metrics.addMetric('RolloutsUpToDate', MetricUnit.Count, totals.upToDate);
  if (totals.held) metrics.addMetric('RolloutsHeldForCoalescing', MetricUnit.Count, totals.held);
  if (totals.returned) metrics.addMetric('RolloutsReturnedForCoalescing', MetricUnit.Count, totals.returned);
  if (totals.retryable) metrics.addMetric('RetryableErrors', MetricUnit.Count, totals.retryable);
  if (totals.permanent) metrics.addMetric('PermanentErrors', MetricUnit.Count, totals.permanent);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** The earliest valid time among the event's observedAt, its EventBridge time and the SQS SentTimestamp; never later than now. */
function changeTime(record: SQSRecord, event: ObjectChangeEvent, now: number): number {
  const times = [Date.parse(event.detail.observedAt), Date.parse(event.time), Number(record.attributes?.SentTimestamp)].filter((t) => Number.isFinite(t) && t > 0);
  return Math.min(now, ...times);
}

function parseRecord(record: SQSRecord, logger: Observability['logger'], now: number): Item | null {
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

export function makeHandler(partial: Partial<Deps> = {}) {
  return lazyHandler('rollout', () => resolveDeps(partial), (deps, event: SQSEvent, context): Promise<SQSBatchResponse> => processBatch(deps, event, context));
}

export const handler = makeHandler();
