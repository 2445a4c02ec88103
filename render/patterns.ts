/**
 * EventBridge event patterns for the three handlers, rendered from the policies: as narrow as the policies allow
 * (the protect handler's audit-log filter: audit-filter.ts).
 *
 * - clone:   the sources (kind + namespace + name) created/updated/deleted; objects of the synced kinds under a
 *            copy's target name deleted, marked or not (see copyDeletedClause); copies (by kind, target name and
 *            either of ripple's marks: the managed-by label or the ripple.dev/source annotation) updated unless
 *            the update is one of ripple's own copy writes (see notRipplesOwnWrite); Namespaces created, and
 *            updated with label changes when a policy selects namespaces by label; resync requests.
 * - rollout: sources and ripple-managed copies of reloading policies, Updated with data/type changes or
 *            Created (a re-created copy: `changes` is empty on Created). ripple's own copy writes are exactly
 *            what must roll workloads, so there is no writer filter here.
 * - protect: the protected objects created (first sight: snapshot), updated and deleted; resync requests.
 * Events are matched on detail fields of events/schema.ts ObjectChangeDetail.
 *
 * Size: EventBridge rejects a rule whose pattern is longer than its "Event pattern size" quota (2048 characters
 * by default, adjustable). Each handler has a ladder of forms, narrowest first (patternForms); the first that
 * fits the limit is rendered. Every wider form matches everything the narrower ones match (never narrower than
 * correct); the handlers decide per object from the policies, so a wider form only costs invocations that change
 * nothing. If even the widest form is too long, rendering fails naming the handler, the size and what to do.
 */
import { ANN_SOURCE, DETAIL_TYPES, EVENT_SOURCE, FIELD_MANAGER, HANDLERS, LABEL_MANAGED_BY, MANAGED_BY_VALUE, RIPPLE_NAMESPACE, SNAPSHOT_PREFIX, type HandlerName } from '../core/constants.ts';
import { ValidationError } from '../core/errors.ts';
import { durationMs, Reload, type RipplePolicy } from '../core/policy/schema.ts';
import { baseName, isSet, targetNames } from '../core/policy/select.ts';

type Pattern = Record<string, unknown>;
const { created, updated, deleted, resync } = DETAIL_TYPES;

/** EventBridge's default limit on a rule's event pattern, in characters (a quota increase raises it to 4096). */
export const EVENT_PATTERN_MAX = 2048;

/** A detail-type no event ever carries: the pattern of a handler no policy needs (EventBridge rejects empty patterns). */
export const NO_EVENTS_DETAIL_TYPE = 'Ripple No Policy Needs This Handler';

interface SourceGroup {
  kind: string;
  namespace: string;
  names: string[];
}
interface KindGroup {
  kind: string;
  namespaces: string[];
  names: string[];
}

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

function groupSources(policies: RipplePolicy[]): SourceGroup[] {
  const m = new Map<string, SourceGroup>();
  for (const p of policies.filter((x) => !isSet(x))) {
    const s = p.spec.source;
    const key = `${s.kind}/${s.namespace}`;
    const g = m.get(key) ?? { kind: s.kind, namespace: s.namespace, names: [] };
    if (!g.names.includes(baseName(p))) g.names.push(baseName(p));
    m.set(key, g);
  }
  return [...m.values()].sort((a, b) => `${a.kind}/${a.namespace}`.localeCompare(`${b.kind}/${b.namespace}`)).map((g) => ({ ...g, names: g.names.sort() }));
}

/** The sources per kind: their namespaces and names as two lists (namespaces x names: a superset of the sources). */
function groupSourcesByKind(policies: RipplePolicy[]): KindGroup[] {
  const m = new Map<string, { namespaces: string[]; names: string[] }>();
  for (const p of policies.filter((x) => !isSet(x))) {
    const s = p.spec.source;
    const g = m.get(s.kind) ?? { namespaces: [], names: [] };
    g.namespaces.push(s.namespace);
    g.names.push(baseName(p));
    m.set(s.kind, g);
  }
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, g]) => ({ kind, namespaces: sorted(g.namespaces), names: sorted(g.names) }));
}

/**
 * Sets of bases (source.selector) per kind: the namespaces their bases live in. A set's bases and copies are
 * matched by kind and namespace (bases) or kind alone (copies), never by name, so the patterns do not grow with the
 * objects a selector picks; the clone handler filters (memberSkipReason).
 */
function groupSets(policies: RipplePolicy[]): { kind: string; namespaces: string[] }[] {
  const m = new Map<string, string[]>();
  for (const p of policies.filter((x) => isSet(x) && x.spec.sync)) m.set(p.spec.source.kind, [...(m.get(p.spec.source.kind) ?? []), p.spec.source.namespace]);
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([kind, ns]) => ({ kind, namespaces: sorted(ns) }));
}

function groupCopies(policies: RipplePolicy[]): { kind: string; names: string[] }[] {
  const m = new Map<string, Set<string>>();
  for (const p of policies) {
    if (!p.spec.sync || isSet(p)) continue;
    const set = m.get(p.spec.source.kind) ?? new Set<string>();
    for (const n of targetNames(p)) set.add(n);
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
 * the last field manager from managedFields), both marks and `drifted: false`; after each fan-out they would
 * come back as N no-op clone invocations. In EventBridge `anything-but` does not match an absent field, so an
 * event without a `manager` is listed explicitly. managedFields does not record who removed a field (a manager
 * left owning nothing loses its entry), so an edit that only removes something from a copy ripple wrote still
 * reports `manager: ripple`. Such an update is routed whoever `manager` names when it removed a mark, or when
 * the copy no longer is what ripple wrote (`drifted: true`, computed by the forwarder: its content against the
 * recorded `ripple.dev/source-fingerprint`, e.g. a data key removed; its labels and annotations against the
 * recorded `ripple.dev/metadata-fingerprint`, e.g. a propagated label or annotation or `ripple.dev/policy`
 * removed). (A mark changed to another value is owned by its writer, whose name `manager` then carries.)
 */
const notRipplesOwnWrite: Pattern[] = [
  { detail: { manager: [{ 'anything-but': FIELD_MANAGER }] } },
  { detail: { manager: [{ exists: false }] } },
  { detail: { labels: { [LABEL_MANAGED_BY]: [{ exists: false }] } } },
  { detail: { annotations: { [ANN_SOURCE]: [{ exists: false }] } } },
  { detail: { drifted: [true] } },
];

/**
 * The synced kinds and every copy's target name, as one list each (kinds x names: an object of one synced kind
 * under another kind's target name is a no-op for the handler, and one list keeps the pattern small); with
 * `names` false, the synced kinds only.
 */
function copyTargets(policies: RipplePolicy[], names = true): { kind: string[]; name?: string[] } | null {
  const groups = groupCopies(policies);
  if (groups.length === 0) return null;
  const kind = groups.map((g) => g.kind);
  return names ? { kind, name: sorted(groups.flatMap((g) => g.names)) } : { kind };
}

/**
 * Copies deleted, by anyone, with or without marks. A delete the forwarder finds on a relist (after 410 Gone)
 * is synthesized from its memory, which keeps no labels or annotations, so it carries neither mark: requiring
 * one would leave that copy missing until the scheduled resync. The clone handler re-reads the namespace and
 * re-creates only where a copy belongs, so the deletion of an unrelated object of a synced kind under a target
 * name costs one invocation that changes nothing.
 */
function copyDeletedClause(targets: { kind: string[]; name?: string[] }): Pattern {
  return { 'detail-type': [deleted], detail: { ...targets } };
}

/** Copies (either mark) updated by anyone but ripple, or with a mark removed, or drifted from what ripple wrote. */
function copyUpdatedClause(targets: { kind: string[]; name?: string[] }): Pattern {
  return { 'detail-type': [updated], detail: { ...targets, $or: copyMarks }, $or: notRipplesOwnWrite };
}

/** How the sources are listed: per kind + namespace; per kind (namespaces x names); per kind, namespaces only. */
type SourceForm = 'exact' | 'by-kind' | 'no-names';

function sourceDetails(policies: RipplePolicy[], form: SourceForm): Pattern[] {
  if (form === 'exact') return groupSources(policies).map((g) => ({ kind: [g.kind], namespace: [g.namespace], name: g.names }));
  return groupSourcesByKind(policies).map((g) => (form === 'by-kind' ? { kind: [g.kind], namespace: g.namespaces, name: g.names } : { kind: [g.kind], namespace: g.namespaces }));
}

/** A rendered form of a handler's pattern: `id` is printed by `ripple render`, `widening` says what it adds. */
export interface PatternForm {
  id: string;
  widening: string;
  pattern: Pattern;
}

export type PatternHandler = HandlerName;
export const PATTERN_HANDLERS: readonly PatternHandler[] = HANDLERS;

function cloneForm(syncing: RipplePolicy[], sources: SourceForm, copyNames: boolean): Pattern {
  const or: Pattern[] = sourceDetails(syncing, sources).map((detail) => ({ 'detail-type': [created, updated, deleted], detail }));
  const targets = copyTargets(syncing, copyNames);
  if (targets) or.push(copyDeletedClause(targets), copyUpdatedClause(targets));
  or.push(...setClauses(syncing));
  or.push(...namespaceAndResync(syncing));
  return { source: [EVENT_SOURCE], $or: or };
}

/**
 * Sets of bases (source.selector): every object of a set's kind in its namespace created, updated or deleted (a
 * base joining, changing or leaving the set: labels are re-read by the handler); and their copies, which have any
 * name, by kind alone: deleted by anyone, updated (marked) by anyone but ripple. The size grows with the sets'
 * kinds and namespaces, never with the objects they select.
 */
function setClauses(syncing: RipplePolicy[]): Pattern[] {
  const sets = groupSets(syncing);
  if (sets.length === 0) return [];
  const kind = sets.map((g) => g.kind);
  return [...sets.map((g) => ({ 'detail-type': [created, updated, deleted], detail: { kind: [g.kind], namespace: g.namespaces } })), copyDeletedClause({ kind }), copyUpdatedClause({ kind })];
}

/**
 * Namespaces created (and relabelled, when a policy selects namespaces by label); the last-known-good snapshots of
 * protected sources (clone copies those from the snapshot: functions/clone/read.ts); resync requests.
 */
function namespaceAndResync(syncing: RipplePolicy[]): Pattern[] {
  const or: Pattern[] = [{ 'detail-type': [created], detail: { kind: ['Namespace'] } }];
  const snapshots = sorted(syncing.filter((p) => p.spec.protect).map((p) => `${SNAPSHOT_PREFIX}${p.metadata.name}`));
  // by prefix, so the pattern does not grow with the policies (the handler keeps its own policies' snapshots)
  if (snapshots.length) or.push({ 'detail-type': [created, updated, deleted], detail: { kind: ['Secret'], namespace: [RIPPLE_NAMESPACE], name: [{ prefix: SNAPSHOT_PREFIX }] } });
  if (syncing.some((p) => p.spec.sync?.namespaces.selector)) or.push({ 'detail-type': [updated], detail: { kind: ['Namespace'], changes: ['labels'] } });
  or.push({ 'detail-type': [resync] });
  return or;
}

/**
 * The clone handler acts only on objects a policy names (policiesForSource/policiesForCopy) and reads nothing
 * for any other, so every widening below costs an invocation per unrelated event and nothing else.
 */
function cloneForms(policies: RipplePolicy[]): PatternForm[] {
  const syncing = policies.filter((p) => p.spec.sync);
  if (syncing.length === 0) return [{ id: 'nothing', widening: 'no policy syncs: matches no event', pattern: nothing() }];
  return [
    { id: 'exact', widening: 'as narrow as the policies allow', pattern: cloneForm(syncing, 'exact', true) },
    { id: 'sources-by-kind', widening: 'sources listed per kind: any of their names in any of their namespaces', pattern: cloneForm(syncing, 'by-kind', true) },
    { id: 'source-namespaces', widening: 'every object of a source kind in a source namespace', pattern: cloneForm(syncing, 'no-names', true) },
    {
      id: 'copy-kinds',
      widening: 'every object of a source kind in a source namespace; every delete of a synced kind, and every update of a marked object of a synced kind (still not ripple\'s own writes), in any namespace',
      pattern: cloneForm(syncing, 'no-names', false),
    },
    {
      id: 'kinds',
      widening: 'every object of a synced kind created, updated or deleted in any namespace (ripple\'s own copy writes too)',
      pattern: { source: [EVENT_SOURCE], $or: [{ 'detail-type': [created, updated, deleted], detail: { kind: sorted(syncing.map((p) => p.spec.source.kind)) } }, ...namespaceAndResync(syncing)] },
    },
  ];
}

/** The pattern matching any of the clauses (EventBridge requires at least two objects in an `$or`). */
const matchAny = (or: Pattern[]): Pattern => (or.length === 1 ? { source: [EVENT_SOURCE], ...or[0] } : { source: [EVENT_SOURCE], $or: or });

/** Updated with data/type changes, or Created, for one detail filter. */
const rolloutClauses = (detail: Pattern): Pattern[] => [
  { 'detail-type': [updated], detail: { ...detail, changes: ['data', 'type'] } },
  { 'detail-type': [created], detail },
];

/**
 * The rollout handler reads the changed object (its ClusterRole allows `get` only on the source and target
 * names of the reloading policies, per kind), then decides from its labels and the policies
 * (triggeringPolicies) and from fingerprints (a workload already restarted for this content is up to date). So
 * the forms keep every kind with its own names: an event for another name would be a read the role forbids.
 */
function rolloutForms(policies: RipplePolicy[]): PatternForm[] {
  const reloading = policies.filter((p) => p.spec.reload);
  if (reloading.length === 0) return [{ id: 'nothing', widening: 'no policy reloads: matches no event', pattern: nothing() }];
  const copies = groupCopies(reloading);
  const withCopies = (sources: Pattern[]): Pattern => ({
    source: [EVENT_SOURCE],
    $or: [...sources.flatMap(rolloutClauses), ...copies.flatMap((g) => rolloutClauses({ kind: [g.kind], name: g.names, labels: managed }))],
  });
  const namesByKind = new Map<string, string[]>();
  for (const g of groupSourcesByKind(reloading)) namesByKind.set(g.kind, g.names);
  for (const g of copies) namesByKind.set(g.kind, sorted([...(namesByKind.get(g.kind) ?? []), ...g.names]));
  const byKind = [...namesByKind.entries()].sort(([a], [b]) => a.localeCompare(b));
  return [
    { id: 'exact', widening: 'as narrow as the policies allow', pattern: withCopies(sourceDetails(reloading, 'exact')) },
    { id: 'sources-by-kind', widening: 'sources listed per kind: any of their names in any of their namespaces', pattern: withCopies(sourceDetails(reloading, 'by-kind')) },
    {
      id: 'names-by-kind',
      widening: 'any object of a reloaded kind under a source or target name of that kind, in any namespace, marked or not',
      pattern: { source: [EVENT_SOURCE], $or: byKind.flatMap(([kind, name]) => rolloutClauses({ kind: [kind], name })) },
    },
    {
      id: 'any-change',
      widening: 'as names-by-kind, and Updated whatever changed (label/annotation-only updates too: up to date by fingerprint)',
      pattern: matchAny(byKind.map(([kind, name]) => ({ 'detail-type': [created, updated], detail: { kind: [kind], name } }))),
    },
    {
      id: 'kinds',
      widening: 'every object of a reloaded kind created or updated in any namespace, whatever its name (a size that does not grow with the policies); the handler drops, before reading anything, the objects no policy names',
      pattern: { source: [EVENT_SOURCE], 'detail-type': [created, updated], detail: { kind: byKind.map(([kind]) => kind) } },
    },
  ];
}

/** The protect handler acts only on the source of a policy with a protect section (policyFor) and reads nothing else. */
function protectForms(policies: RipplePolicy[]): PatternForm[] {
  const protecting = policies.filter((p) => p.spec.protect);
  if (protecting.length === 0) return [{ id: 'nothing', widening: 'no policy protects: matches no event', pattern: nothing() }];
  const form = (sources: SourceForm | 'kinds'): Pattern => ({
    source: [EVENT_SOURCE],
    $or: [
      ...(sources === 'kinds' ? [{ kind: sorted(protecting.map((p) => p.spec.source.kind)) }] : sourceDetails(protecting, sources)).map((detail) => ({ 'detail-type': [created, updated, deleted], detail })),
      { 'detail-type': [resync] },
    ],
  });
  return [
    { id: 'exact', widening: 'as narrow as the policies allow', pattern: form('exact') },
    { id: 'sources-by-kind', widening: 'sources listed per kind: any of their names in any of their namespaces', pattern: form('by-kind') },
    { id: 'source-namespaces', widening: 'every object of a protected kind in a protected object\'s namespace', pattern: form('no-names') },
    { id: 'kinds', widening: 'every object of a protected kind, in any namespace', pattern: form('kinds') },
  ];
}

/** The size EventBridge counts: the pattern's characters as compact JSON (how CloudFormation passes it to PutRule). */
export const patternSize = (p: unknown): number => JSON.stringify(p).length;

/**
 * A handler's pattern forms, narrowest first, each matching a superset of the one before. A form identical to
 * a narrower one (e.g. one namespace per kind: nothing to merge) is left out.
 */
export function patternForms(handler: PatternHandler, policies: RipplePolicy[]): PatternForm[] {
  const all = handler === 'clone' ? cloneForms(policies) : handler === 'rollout' ? rolloutForms(policies) : protectForms(policies);
  const seen = new Set<string>();
  return all.filter((f) => {
    const k = JSON.stringify(f.pattern);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export interface PatternOptions {
  /** The account's "Event pattern size" quota, in characters (default EVENT_PATTERN_MAX). */
  limit?: number;
}

export interface RenderedPattern {
  handler: PatternHandler;
  pattern: Pattern;
  size: number;
  limit: number;
  /** The form rendered (`exact` unless widened). */
  form: PatternForm;
  /** The narrowest form's size, when a wider one was rendered. */
  exactSize: number;
}

/** A pattern limit: a positive integer (characters). */
export function parsePatternLimit(raw: string | number | undefined, what = '--pattern-limit'): number {
  if (raw === undefined || raw === '') return EVENT_PATTERN_MAX;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ValidationError(`${what}: "${raw}" is not a positive whole number of characters (EventBridge's default "Event pattern size" quota is ${EVENT_PATTERN_MAX})`);
  return n;
}

/** The narrowest form of the handler's pattern that fits the limit; a clear error when even the widest does not. */
export function renderPattern(handler: PatternHandler, policies: RipplePolicy[], opts: PatternOptions = {}): RenderedPattern {
  const limit = parsePatternLimit(opts.limit, 'pattern limit');
  const forms = patternForms(handler, policies);
  const exactSize = patternSize(forms[0].pattern);
  for (const form of forms) {
    const size = patternSize(form.pattern);
    if (size <= limit) return { handler, pattern: form.pattern, size, limit, form, exactSize };
  }
  const widest = forms[forms.length - 1];
  const pairs = groupSources(policies).length;
  throw new ValidationError(
    `the ${handler} event pattern is ${patternSize(widest.pattern)} characters even in its widest form "${widest.id}" (${exactSize} exact; ${policies.length} policies, ${pairs} source kind+namespace pairs); ` +
      `EventBridge's "Event pattern size" quota is ${limit}. Raise the quota (Service Quotas, Amazon EventBridge) and render with --pattern-limit <N> ` +
      `(or RIPPLE_PATTERN_LIMIT=<N> for \`npm run package\`), or split the policies over several deployments, or use fewer source namespaces or shorter names`,
  );
}

/** Every handler's pattern (the same ladder and limit for each). */
export function renderPatterns(policies: RipplePolicy[], opts: PatternOptions = {}): Record<PatternHandler, RenderedPattern> {
  return { clone: renderPattern('clone', policies, opts), rollout: renderPattern('rollout', policies, opts), protect: renderPattern('protect', policies, opts) };
}

/** One line for `ripple render`: the form rendered and its size, and what a widening adds. */
export function describeRenderedPattern(r: RenderedPattern): string {
  const head = `${r.handler} pattern: ${r.size} of ${r.limit} characters`;
  if (r.form.id === 'exact' || r.form.id === 'nothing') return `${head} (${r.form.id})`;
  return `${head}, widened to "${r.form.id}" (the exact form is ${r.exactSize}): ${r.form.widening}`;
}

export function clonePattern(policies: RipplePolicy[], opts: PatternOptions = {}): Pattern {
  return renderPattern('clone', policies, opts).pattern;
}

export function rolloutPattern(policies: RipplePolicy[], opts: PatternOptions = {}): Pattern {
  return renderPattern('rollout', policies, opts).pattern;
}

export function protectPattern(policies: RipplePolicy[], opts: PatternOptions = {}): Pattern {
  return renderPattern('protect', policies, opts).pattern;
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
