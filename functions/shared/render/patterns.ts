/**
 * EventBridge event patterns for the three handlers, and the CloudWatch Logs filter for the protect handler's
 * audit-log subscription, rendered from the policies: as narrow as the policies allow.
 *
 * - clone:   the sources (kind + namespace + name) created/updated/deleted; objects of the synced kinds under a
 *            copy's target name deleted, marked or not (see copyDeletedClause); copies (by kind, target name and
 *            either of ripple's marks: the managed-by label or the ripple.dev/source annotation) updated unless
 *            the update is one of ripple's own copy writes (see copyUpdatedClause); Namespaces created, and
 *            updated with label changes when a policy selects namespaces by label; resync requests.
 * - rollout: sources and ripple-managed copies of reloading policies, Updated with data/type changes or
 *            Created (a re-created copy: `changes` is empty on Created). ripple's own copy writes are exactly
 *            what must roll workloads, so there is no writer filter here.
 * - protect: the protected objects created (first sight: snapshot), updated and deleted; resync requests.
 * Events are matched on detail fields of events/schema.ts ObjectChangeDetail.
 */
import { ANN_SOURCE, DETAIL_TYPES, EVENT_SOURCE, FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../constants.ts';
import { ValidationError } from '../errors.ts';
import { durationMs, Reload, type RipplePolicy } from '../policy/schema.ts';
import { targetName } from '../policy/select.ts';

type Pattern = Record<string, unknown>;
const { created, updated, deleted, resync } = DETAIL_TYPES;

/** EventBridge's default limit on a rule's event pattern, in characters (a quota increase raises it to 4096). */
export const EVENT_PATTERN_MAX = 2048;

/** A detail-type no event ever carries: the pattern of a handler no policy needs (EventBridge rejects empty patterns). */
export const NO_EVENTS_DETAIL_TYPE = 'Ripple No Policy Needs This Handler';

function groupSources(policies: RipplePolicy[]): { kind: string; namespace: string; names: string[] }[] {
  const m = new Map<string, { kind: string; namespace: string; names: string[] }>();
  for (const p of policies) {
    const s = p.spec.source;
    const key = `${s.kind}/${s.namespace}`;
    const g = m.get(key) ?? { kind: s.kind, namespace: s.namespace, names: [] };
    if (!g.names.includes(s.name)) g.names.push(s.name);
    m.set(key, g);
  }
  return [...m.values()].sort((a, b) => `${a.kind}/${a.namespace}`.localeCompare(`${b.kind}/${b.namespace}`)).map((g) => ({ ...g, names: g.names.sort() }));
}

function groupCopies(policies: RipplePolicy[]): { kind: string; names: string[] }[] {
  const m = new Map<string, Set<string>>();
  for (const p of policies) {
    if (!p.spec.sync) continue;
    const set = m.get(p.spec.source.kind) ?? new Set<string>();
    set.add(targetName(p));
    m.set(p.spec.source.kind, set);
  }
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, names]) => ({ kind, names: [...names].sort() }));
}

const nothing = (): Pattern => ({ source: [EVENT_SOURCE], 'detail-type': [NO_EVENTS_DETAIL_TYPE] });
const managed = { [LABEL_MANAGED_BY]: [MANAGED_BY_VALUE] };

/** Either of the marks ripple puts on every copy (the clone handler recognises a copy by either). */
const copyMarks: Pattern[] = [{ labels: managed }, { annotations: { [ANN_SOURCE]: [{ exists: true }] } }];

/**
 * An update that is not one of ripple's own copy writes. Those carry `manager: ripple` (the forwarder reports
 * the last field manager from managedFields) and both marks; after each fan-out they would come back as N no-op
 * clone invocations. In EventBridge `anything-but` does not match an absent field, so an event without a
 * `manager` is listed explicitly. A removed mark routes the event whoever `manager` names: managedFields does
 * not record who removed a field (a manager left owning nothing loses its entry), so removing the label from a
 * copy ripple wrote still reports `manager: ripple`. (A mark changed to another value is owned by its writer,
 * whose name `manager` then carries.)
 */
const notRipplesOwnWrite: Pattern[] = [
  { detail: { manager: [{ 'anything-but': FIELD_MANAGER }] } },
  { detail: { manager: [{ exists: false }] } },
  { detail: { labels: { [LABEL_MANAGED_BY]: [{ exists: false }] } } },
  { detail: { annotations: { [ANN_SOURCE]: [{ exists: false }] } } },
];

/**
 * The synced kinds and every copy's target name, as one list each (kinds x names: an object of one synced kind
 * under another kind's target name is a no-op for the handler, and one list keeps the pattern small).
 */
function copyTargets(policies: RipplePolicy[]): { kind: string[]; name: string[] } | null {
  const groups = groupCopies(policies);
  if (groups.length === 0) return null;
  return { kind: groups.map((g) => g.kind), name: [...new Set(groups.flatMap((g) => g.names))].sort() };
}

/**
 * Copies deleted, by anyone, with or without marks. A delete the forwarder finds on a relist (after 410 Gone)
 * is synthesized from its memory, which keeps no labels or annotations, so it carries neither mark: requiring
 * one would leave that copy missing until the scheduled resync. The clone handler re-reads the namespace and
 * re-creates only where a copy belongs, so the deletion of an unrelated object of a synced kind under a target
 * name costs one invocation that changes nothing.
 */
function copyDeletedClause(targets: { kind: string[]; name: string[] }): Pattern {
  return { 'detail-type': [deleted], detail: { ...targets } };
}

/** Copies (either mark) updated by anyone but ripple, or with a mark removed. */
function copyUpdatedClause(targets: { kind: string[]; name: string[] }): Pattern {
  return { 'detail-type': [updated], detail: { ...targets, $or: copyMarks }, $or: notRipplesOwnWrite };
}

export function clonePattern(policies: RipplePolicy[]): Pattern {
  const syncing = policies.filter((p) => p.spec.sync);
  if (syncing.length === 0) return nothing();
  const or: Pattern[] = [];
  for (const g of groupSources(syncing)) {
    or.push({ 'detail-type': [created, updated, deleted], detail: { kind: [g.kind], namespace: [g.namespace], name: g.names } });
  }
  const targets = copyTargets(syncing);
  if (targets) or.push(copyDeletedClause(targets), copyUpdatedClause(targets));
  const bySelector = syncing.some((p) => p.spec.sync?.namespaces.selector);
  if (bySelector) {
    or.push({ 'detail-type': [created], detail: { kind: ['Namespace'] } });
    or.push({ 'detail-type': [updated], detail: { kind: ['Namespace'], changes: ['labels'] } });
  } else {
    or.push({ 'detail-type': [created], detail: { kind: ['Namespace'] } });
  }
  or.push({ 'detail-type': [resync] });
  return { source: [EVENT_SOURCE], $or: or };
}

export function rolloutPattern(policies: RipplePolicy[]): Pattern {
  const reloading = policies.filter((p) => p.spec.reload);
  if (reloading.length === 0) return nothing();
  const or: Pattern[] = [];
  for (const g of groupSources(reloading)) {
    or.push({ 'detail-type': [updated], detail: { kind: [g.kind], namespace: [g.namespace], name: g.names, changes: ['data', 'type'] } });
    or.push({ 'detail-type': [created], detail: { kind: [g.kind], namespace: [g.namespace], name: g.names } });
  }
  for (const g of groupCopies(reloading)) {
    or.push({ 'detail-type': [updated], detail: { kind: [g.kind], name: g.names, labels: managed, changes: ['data', 'type'] } });
    or.push({ 'detail-type': [created], detail: { kind: [g.kind], name: g.names, labels: managed } });
  }
  return { source: [EVENT_SOURCE], $or: or };
}

export function protectPattern(policies: RipplePolicy[]): Pattern {
  const protecting = policies.filter((p) => p.spec.protect);
  if (protecting.length === 0) return nothing();
  const or: Pattern[] = groupSources(protecting).map((g) => ({
    'detail-type': [created, updated, deleted],
    detail: { kind: [g.kind], namespace: [g.namespace], name: g.names },
  }));
  or.push({ 'detail-type': [resync] });
  return { source: [EVENT_SOURCE], $or: or };
}

/**
 * SQS event-source settings of the rollout function: the longest coalescing window (whole seconds, SQS allows
 * 0-300) and the smallest concurrency cap of the reloading policies (schema defaults when none reloads).
 */
export function rolloutSettings(policies: RipplePolicy[]): { maximumBatchingWindow: number; maximumConcurrency: number } {
  const reloads = policies.map((p) => p.spec.reload).filter((r) => r !== undefined);
  const defaults = Reload.parse({});
  const list = reloads.length > 0 ? reloads : [defaults];
  const window = Math.max(...list.map((r) => Math.ceil(durationMs(r.coalesce) / 1000)));
  if (window > 300) throw new ValidationError(`reload.coalesce: ${window}s exceeds the SQS batching window limit of 300s`);
  return { maximumBatchingWindow: window, maximumConcurrency: Math.min(...list.map((r) => r.maxConcurrency)) };
}

/** CloudWatch Logs limits a subscription filter pattern to 1024 characters. */
export const LOGS_FILTER_MAX = 1024;
/** A filter that matches no audit record (no policy protects anything); an empty pattern would match everything. */
export const NO_AUDIT_FILTER = '{ $.objectRef.resource = "ripple-nothing-protected" }';

const RESOURCE: Record<string, string> = { Secret: 'secrets', ConfigMap: 'configmaps' };

/**
 * The CloudWatch Logs JSON filter pattern selecting EKS audit records (ResponseComplete) of writes to the
 * protected objects, as narrow as fits CloudWatch's 1024 characters:
 * 1. per object: update/patch for UPDATE, delete for DELETE, and deletecollection in their namespaces (it names
 *    no object); objects sharing resource, namespace and operations are grouped;
 * 2. if that is too long, per namespace: every write verb on that resource in the namespaces holding protected
 *    objects (a superset; the protect handler decides per record);
 * 3. if even that is too long, a clear error.
 */
export function protectAuditFilter(policies: RipplePolicy[]): string {
  const protecting = policies.filter((p) => p.spec.protect);
  if (protecting.length === 0) return NO_AUDIT_FILTER;
  const precise = preciseAuditFilter(protecting);
  if (precise.length <= LOGS_FILTER_MAX) return precise;
  const coarse = namespaceAuditFilter(protecting);
  if (coarse.length <= LOGS_FILTER_MAX) return coarse;
  const namespaces = new Set(protecting.map((p) => p.spec.source.namespace)).size;
  throw new ValidationError(
    `the audit-log filter for ${protecting.length} protected objects in ${namespaces} namespaces is ${coarse.length} characters even per namespace (${precise.length} per object); CloudWatch Logs allows ${LOGS_FILTER_MAX}. Keep protected objects in fewer namespaces, or protect fewer objects`,
  );
}

const anyOf = (field: string, values: string[]) => (values.length === 1 ? `$.${field} = "${values[0]}"` : `(${values.map((v) => `$.${field} = "${v}"`).join(' || ')})`);

function preciseAuditFilter(protecting: RipplePolicy[]): string {
  const groups = new Map<string, { resource: string; namespace: string; verbs: string[]; names: string[] }>();
  for (const p of protecting) {
    const ops = p.spec.protect!.operations;
    const verbs = [...(ops.includes('UPDATE') ? ['update', 'patch'] : []), ...(ops.includes('DELETE') ? ['delete'] : [])];
    const s = p.spec.source;
    const key = `${s.kind}/${s.namespace}/${verbs.join(',')}`;
    const g = groups.get(key) ?? { resource: RESOURCE[s.kind], namespace: s.namespace, verbs, names: [] };
    g.names.push(s.name);
    groups.set(key, g);
  }
  const clauses: string[] = [];
  const collections = new Set<string>();
  for (const g of [...groups.values()].sort((a, b) => `${a.resource}/${a.namespace}`.localeCompare(`${b.resource}/${b.namespace}`))) {
    clauses.push(`($.objectRef.resource = "${g.resource}" && $.objectRef.namespace = "${g.namespace}" && ${anyOf('objectRef.name', g.names.sort())} && ${anyOf('verb', g.verbs)})`);
    if (g.verbs.includes('delete')) collections.add(`${g.resource}\n${g.namespace}`);
  }
  for (const c of [...collections].sort()) {
    const [resource, namespace] = c.split('\n');
    clauses.push(`($.objectRef.resource = "${resource}" && $.objectRef.namespace = "${namespace}" && $.verb = "deletecollection")`);
  }
  return `{ $.stage = "ResponseComplete" && (${clauses.join(' || ')}) }`;
}

function namespaceAuditFilter(protecting: RipplePolicy[]): string {
  const byResource = new Map<string, Set<string>>();
  for (const p of protecting) {
    const r = RESOURCE[p.spec.source.kind];
    const set = byResource.get(r) ?? new Set<string>();
    set.add(p.spec.source.namespace);
    byResource.set(r, set);
  }
  const clauses = [...byResource.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([r, ns]) => `($.objectRef.resource = "${r}" && ${anyOf('objectRef.namespace', [...ns].sort())})`);
  const resources = clauses.length === 1 ? clauses[0] : `(${clauses.join(' || ')})`;
  return `{ $.stage = "ResponseComplete" && ${anyOf('verb', ['update', 'patch', 'delete', 'deletecollection'])} && ${resources} }`;
}
