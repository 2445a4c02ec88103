/**
 * Reading the state a clone plan is computed from: the source, the namespaces in scope and the same-named
 * objects in them. Level-based: whatever the event said, this is read fresh.
 */
import type { V1Namespace } from '@kubernetes/client-node';
import type { Kube } from '../runtime/kube.ts';
import { listAll, orNull } from '../runtime/kube.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { targetName, type NamespaceLike } from '../../core/policy/select.ts';
import { CLONE_KINDS } from './kinds.ts';
import type { ClonedObject, CloneInput } from './plan.ts';

/** Which namespaces a run looks at: all of them, or one (a namespace or copy event). */
export type Scope = { kind: 'all' } | { kind: 'namespace'; namespace: string };

export function scopeLabel(s: Scope): string {
  return s.kind === 'all' ? 'all namespaces' : `namespace ${s.namespace}`;
}

/** Per-run memo so N policies cost one namespace list and one list per (kind, name). */
export interface ReadCache {
  namespaces?: Promise<V1Namespace[]>;
  named: Map<string, Promise<ClonedObject[]>>;
}

export function newReadCache(): ReadCache {
  return { named: new Map() };
}

export async function readCurrent(kube: Pick<Kube, 'core'>, policy: RipplePolicy, scope: Scope, cache: ReadCache = newReadCache()): Promise<Omit<CloneInput, 'fingerprintKey'>> {
  const { kind, namespace, name } = policy.spec.source;
  const ops = CLONE_KINDS[kind];
  const target = targetName(policy);
  const source = orNull(ops.read(kube.core, namespace, name));
  let namespaces: Promise<NamespaceLike[]>;
  let copies: Promise<ClonedObject[]>;
  if (scope.kind === 'all') {
    cache.namespaces ??= listAll((p) => kube.core.listNamespace(p));
    namespaces = cache.namespaces;
    const key = `${kind}/${target}`;
    let named = cache.named.get(key);
    if (!named) {
      named = ops.listNamed(kube.core, target);
      cache.named.set(key, named);
    }
    copies = named;
  } else {
    namespaces = orNull(kube.core.readNamespace({ name: scope.namespace })).then((n) => (n ? [n] : []));
    copies = orNull(ops.read(kube.core, scope.namespace, target)).then((c) => (c ? [c] : []));
  }
  const [s, n, c] = await Promise.all([source, namespaces, copies]);
  return { policy, source: s, namespaces: n, copies: c };
}
