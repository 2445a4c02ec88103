/**
 * Which namespaces hold a copy, and which policies concern an object. Pure functions over plain objects, so the
 * clone planner, `ripple explain` and the renderers agree on one answer.
 *
 * `namespaceSkipReason` walks named checks and returns the first reason a namespace gets NO copy (null = it
 * should hold one); the reason is logged verbatim by the handlers.
 */
import { DEFAULT_EXCLUDED_NAMESPACES, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../constants.ts';
import type { LabelSelector, RipplePolicy } from './schema.ts';
import { policyOrigin, setPolicyOrigin } from './problems.ts';

export interface NamespaceLike {
  metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: unknown };
  status?: { phase?: string };
}

/** True when the pattern contains a glob character (`*`, `?`). */
export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

const globCache = new Map<string, RegExp>();
/** Shell-style glob over a whole name: `*` = any run of characters, `?` = exactly one. */
export function globMatch(pattern: string, name: string): boolean {
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(pattern, re);
  }
  return re.test(name);
}

/** Kubernetes label-selector semantics: absent or empty selector matches everything; NotIn/DoesNotExist match absent keys. */
export function matchesSelector(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) {
    if (l[k] !== v) return false;
  }
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(l[e.key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(l[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
    }
  }
  return true;
}

/** A policy whose bases are chosen by label (`source.selector`) rather than named. */
export function isSet(policy: RipplePolicy): boolean {
  return policy.spec.source.selector !== undefined;
}

/**
 * The base's name, for a policy that names one (every policy but a set; a set's members, memberPolicy, name theirs).
 * Throws for a set: a path that reaches here with one has not expanded it into its members.
 */
export function baseName(policy: RipplePolicy): string {
  const n = policy.spec.source.name;
  if (n === undefined) throw new Error(`policy ${policy.metadata.name} selects a set of bases (source.selector): expand it into its members (memberPolicy) first`);
  return n;
}

/**
 * Name of the copies a policy writes (the source's name unless `sync.targetName` is set). Throws for a set, and for
 * a policy with several names (`sync.targetNames`): expand it (variantsOf) first.
 */
export function targetName(policy: RipplePolicy): string {
  if (policy.spec.sync?.targetNames) throw new Error(`policy ${policy.metadata.name} copies its base under several names (sync.targetNames): expand it into one variant per name (variantsOf) first`);
  return policy.spec.sync?.targetName ?? baseName(policy);
}

/** Every name a policy's copies have (sync.targetNames, or the one targetName). Throws for a set. */
export function targetNames(policy: RipplePolicy): string[] {
  return policy.spec.sync?.targetNames ?? [targetName(policy)];
}

const variantCache = new WeakMap<RipplePolicy, RipplePolicy[]>();
/**
 * A policy with several target names (sync.targetNames) as one policy per name (sync.targetName that name): what the
 * clone reader, planner and applier handle. The same policy name (so the same ripple.dev/policy mark and, for a
 * protected base, the same last-known-good snapshot); every other policy as it is. Memoised.
 */
export function variantsOf(policy: RipplePolicy): RipplePolicy[] {
  const names = policy.spec.sync?.targetNames;
  if (!names) return [policy];
  let v = variantCache.get(policy);
  if (!v) {
    const { targetNames: _names, ...sync } = policy.spec.sync!;
    v = names.map((n) => ({ ...policy, spec: { ...policy.spec, sync: { ...sync, targetName: n } } }));
    const origin = policyOrigin(policy);
    if (origin) for (const x of v) setPolicyOrigin(x, origin);
    variantCache.set(policy, v);
  }
  return v;
}

/** The set each member policy was made from (memberPolicy). */
const setOfMember = new WeakMap<RipplePolicy, RipplePolicy>();

/** The set a member policy stands for, or undefined for a policy written as such. */
export function setOf(policy: RipplePolicy): RipplePolicy | undefined {
  return setOfMember.get(policy);
}

const memberCache = new WeakMap<RipplePolicy, Map<string, RipplePolicy>>();
/**
 * One member of a set: the set's policy with `source.name` the member's and no selector, so the clone planner,
 * reader and applier treat it as the one-base policy it stands for (copies under the member's own name, marked
 * with the set's policy name, ripple.dev/set). The same object for the same set and name (memoised).
 */
export function memberPolicy(set: RipplePolicy, name: string): RipplePolicy {
  let byName = memberCache.get(set);
  if (!byName) memberCache.set(set, (byName = new Map()));
  let m = byName.get(name);
  if (!m) {
    const { selector: _selector, ...source } = set.spec.source;
    m = { ...set, spec: { ...set.spec, source: { ...source, name } } };
    setOfMember.set(m, set);
    const origin = policyOrigin(set);
    if (origin) setPolicyOrigin(m, origin);
    byName.set(name, m);
  }
  return m;
}

export interface ObjectLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

/**
 * Why an object is NOT a member of a set, or null when it is: of the set's kind, in its namespace, its labels
 * matching the selector, not a copy ripple made (a copy is never a base: copies of copies would chain), not the
 * named base of another policy that syncs it (that policy owns its copies) or protects it (its copies must follow
 * that policy's last-known-good snapshot: add sync to it). A reload-only policy's base stays a member.
 */
export function memberSkipReason(set: RipplePolicy, obj: ObjectLike, kind: string, named: readonly RipplePolicy[] = []): string | null {
  const s = set.spec.source;
  const name = obj.metadata?.name ?? '';
  if (kind !== s.kind) return `${kind} is not the set's kind ${s.kind}`;
  if (obj.metadata?.namespace !== s.namespace) return `not in the set's namespace ${s.namespace}`;
  if (obj.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_VALUE) return `${kind} ${s.namespace}/${name} is a copy ripple made (${LABEL_MANAGED_BY}: ${MANAGED_BY_VALUE}), never a base`;
  if (!matchesSelector(s.selector, obj.metadata?.labels)) return `${kind} ${s.namespace}/${name}: labels do not match source.selector`;
  const other = named.find((p) => p !== set && !isSet(p) && (p.spec.sync || p.spec.protect) && p.spec.source.kind === kind && p.spec.source.namespace === s.namespace && p.spec.source.name === name);
  if (other) return `${kind} ${s.namespace}/${name} is the base of policy ${other.metadata.name}${other.spec.sync ? '' : ', which protects it (add sync to that policy to copy it from its last-known-good snapshot)'}`;
  return null;
}

/** A label selector as the API's `labelSelector` query parameter (Kubernetes selector syntax). */
export function selectorString(sel: LabelSelector): string {
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const values = `(${(e.values ?? []).join(',')})`;
    if (e.operator === 'In') parts.push(`${e.key} in ${values}`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin ${values}`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

/**
 * The name-only part of the decision (no labels, no phase): why a namespace with this name can never hold a
 * copy, or null. Used by load-time conflict checks, where labels are unknown.
 */
export function namespaceNameSkipReason(policy: RipplePolicy, name: string): string | null {
  const sync = policy.spec.sync;
  if (!sync) return `policy ${policy.metadata.name} has no sync section`;
  const src = policy.spec.source;
  const { include, exclude } = sync.namespaces;
  if (name === src.namespace) {
    // a set's bases are copied under their own names: never next to themselves
    if (isSet(policy)) return `namespace ${name} holds the set's bases (${src.kind}s selected in ${src.namespace})`;
    const names = targetNames(policy);
    if (names.includes(src.name!)) return `namespace ${name} holds the source ${src.kind} ${src.namespace}/${src.name}`;
    // a copy next to the base under another name: only where asked for by exact name (a glob never meant it)
    if (!include.includes(name)) return `namespace ${name} holds the source ${src.kind} ${src.namespace}/${src.name}; a copy under "${names.join('", "')}" goes there only when sync.namespaces.include lists it by exact name`;
  }
  const excluded = exclude.find((g) => globMatch(g, name));
  if (excluded !== undefined) return `namespace ${name} is excluded by sync.namespaces.exclude "${excluded}"`;
  const includedByName = include.includes(name);
  if (!includedByName) {
    const byDefault = DEFAULT_EXCLUDED_NAMESPACES.find((g) => globMatch(g, name));
    if (byDefault !== undefined) {
      return `namespace ${name} is excluded by default ("${byDefault}"); list it by exact name in sync.namespaces.include to copy there`;
    }
    if (!include.some((g) => globMatch(g, name))) {
      return `namespace ${name} matches no sync.namespaces.include pattern (${include.map((g) => `"${g}"`).join(', ')})`;
    }
  }
  return null;
}

/** Why `ns` should NOT hold a copy of the policy's source, or null when it should. */
export function namespaceSkipReason(policy: RipplePolicy, ns: NamespaceLike): string | null {
  const name = ns.metadata?.name;
  if (!name) return 'namespace has no metadata.name';
  if (ns.metadata?.deletionTimestamp != null || ns.status?.phase === 'Terminating') {
    return `namespace ${name} is terminating`;
  }
  const byName = namespaceNameSkipReason(policy, name);
  if (byName) return byName;
  const sel = policy.spec.sync?.namespaces.selector;
  if (!matchesSelector(sel, ns.metadata?.labels)) {
    return `namespace ${name} labels do not match sync.namespaces.selector`;
  }
  return null;
}

/** Policies whose source is exactly this object. */
export function policiesForSource<P extends RipplePolicy>(policies: P[], kind: string, namespace: string, name: string): P[] {
  return policies.filter((p) => p.spec.source.kind === kind && p.spec.source.namespace === namespace && p.spec.source.name === name);
}

/** Policies (not sets) that sync copies of this kind under this name (by targetName), in any namespace. */
export function policiesForCopy(policies: RipplePolicy[], kind: string, name: string): RipplePolicy[] {
  return policies.filter((p) => p.spec.sync !== undefined && !isSet(p) && p.spec.source.kind === kind && targetNames(p).includes(name));
}

/** Sets (source.selector) of this kind whose bases live in this namespace. */
export function setsInNamespace<P extends RipplePolicy>(policies: P[], kind: string, namespace: string): P[] {
  return policies.filter((p) => isSet(p) && p.spec.source.kind === kind && p.spec.source.namespace === namespace);
}
