/**
 * Which namespaces hold a copy, and which policies concern an object. Pure functions over plain objects, so the
 * clone planner, `ripple explain` and the renderers agree on one answer.
 *
 * `namespaceSkipReason` walks named checks and returns the first reason a namespace gets NO copy (null = it
 * should hold one); the reason is logged verbatim by the handlers.
 */
import { DEFAULT_EXCLUDED_NAMESPACES } from '../constants.ts';
import type { LabelSelector, RipplePolicy } from './schema.ts';

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

/** Name of the copies a policy writes (the source's name unless `sync.targetName` is set). */
export function targetName(policy: RipplePolicy): string {
  return policy.spec.sync?.targetName ?? policy.spec.source.name;
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
    if (targetName(policy) === src.name) return `namespace ${name} holds the source ${src.kind} ${src.namespace}/${src.name}`;
    // a copy next to the base under another name: only where asked for by exact name (a glob never meant it)
    if (!include.includes(name)) return `namespace ${name} holds the source ${src.kind} ${src.namespace}/${src.name}; a copy under "${targetName(policy)}" goes there only when sync.namespaces.include lists it by exact name`;
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

/** Policies that sync copies of this kind under this name (by targetName), in any namespace. */
export function policiesForCopy(policies: RipplePolicy[], kind: string, name: string): RipplePolicy[] {
  return policies.filter((p) => p.spec.sync !== undefined && p.spec.source.kind === kind && targetName(p) === name);
}
