/**
 * Reading the state a clone plan is computed from: the source, the namespaces in scope and the same-named
 * objects in them. Level-based: whatever the event said, this is read fresh.
 *
 * A protected source (the policy has a `protect` part) is copied from protect's last-known-good snapshot
 * (core/snapshot.ts), not from the live object: the snapshot moves only on changes protect judged allowed, so a
 * violation (an edit, a create after an allowed delete, the base deleted with its namespace) never reaches a copy,
 * whatever the mode or whether admission is installed. Until protect has seeded the snapshot (first sight) the live
 * object is used, as protect itself trusts it then.
 */
import type { V1Namespace, V1Secret } from '@kubernetes/client-node';
import { RIPPLE_NAMESPACE } from '../../core/constants.ts';
import { objectFromSnapshot, snapshotName, snapshotOf } from '../../core/snapshot.ts';
import type { Kube } from '../runtime/kube.ts';
import { listAll, orNull, PAGE, pageAfter } from '../runtime/kube.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { baseName, memberSkipReason, setOf, targetName, type NamespaceLike } from '../../core/policy/select.ts';
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

/** Where a run's source content came from: the object itself, or protect's last-known-good snapshot of it. */
export type SourceOrigin = 'object' | 'last-known-good';

export type CurrentState = Omit<CloneInput, 'fingerprintKey'> & { origin: SourceOrigin };

/**
 * The source to copy from, read once per run (readCurrent, and reconcileAll for all namespaces page by page): the
 * live object, or for a protected source its last-known-good snapshot once there is one naming it (a snapshot of
 * another object is left to protect, which reports it; the live object is used).
 */
export async function readSource(kube: Pick<Kube, 'core'>, policy: RipplePolicy, named: readonly RipplePolicy[] = []): Promise<{ source: ClonedObject | null; origin: SourceOrigin }> {
  const { kind, namespace } = policy.spec.source;
  const name = baseName(policy);
  const set = setOf(policy);
  // a member of a set whose base has left it (labels, or now a copy or another policy's base) reads as absent
  const live = async (): Promise<ClonedObject | null> => {
    const obj = await orNull(CLONE_KINDS[kind].read(kube.core, namespace, name));
    return obj && set && memberSkipReason(set, obj, kind, named) !== null ? null : obj;
  };
  if (!policy.spec.protect) return { source: await live(), origin: 'object' };
  const snap: V1Secret | null = await orNull(kube.core.readNamespacedSecret({ name: snapshotName(policy.metadata.name), namespace: RIPPLE_NAMESPACE }));
  if (!snap || !snapshotOf(snap, kind, namespace, name)) return { source: await live(), origin: 'object' };
  return { source: objectFromSnapshot(snap) as ClonedObject | null, origin: 'last-known-good' };
}

/**
 * The state of `scope` in the cluster `kube` reaches. The source (and protect's snapshot of it, which lives beside
 * it) is read in its own cluster: `source`, a read already under way (a fleet run reads a source once for all its
 * target clusters, so every cluster gets the same content), else `sourceKube`, else `kube` (the same cluster).
 */
export async function readCurrent(
  kube: Pick<Kube, 'core'>,
  policy: RipplePolicy,
  scope: Scope,
  cache: ReadCache = newReadCache(),
  from: { sourceKube?: Pick<Kube, 'core'>; source?: ReturnType<typeof readSource> } = {},
): Promise<CurrentState> {
  const { kind } = policy.spec.source;
  const ops = CLONE_KINDS[kind];
  const target = targetName(policy);
  const source = from.source ?? readSource(from.sourceKube ?? kube, policy);
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
  return { policy, source: s.source, origin: s.origin, namespaces: n, copies: c };
}

/** The state of one page of namespaces: the namespaces (in name order) and the policy's copies in them. */
export type PageSnapshot = Omit<CloneInput, 'fingerprintKey' | 'source'>;

/**
 * Copies named `name` of a kind in all namespaces, read page by page (limit/continue) as the namespace pages
 * ask for them: the API server lists in key order (namespace, then name), so the copies of the namespaces up to
 * a page's last one are the list's next items. Holds at most one page beyond the one asked for.
 */
export class CopyStream {
  private buffered: ClonedObject[] = [];
  private token: string | undefined;
  private done = false;
  private last: { upTo: string; copies: Promise<ClonedObject[]> } | null = null;

  private readonly kube: Pick<Kube, 'core'>;
  private readonly kind: keyof typeof CLONE_KINDS;
  private readonly name: string;
  private readonly size: number;

  constructor(kube: Pick<Kube, 'core'>, kind: keyof typeof CLONE_KINDS, name: string, size = PAGE) {
    this.kube = kube;
    this.kind = kind;
    this.name = name;
    this.size = size;
  }

  /**
   * The copies in namespaces after the previous call's and up to `upTo` (inclusive). Policies sharing the stream
   * ask for the same page in turn: a repeated `upTo` answers the same copies.
   */
  upTo(upTo: string): Promise<ClonedObject[]> {
    if (this.last?.upTo === upTo) return this.last.copies;
    this.last = { upTo, copies: this.take(upTo) };
    return this.last.copies;
  }

  private async take(upTo: string): Promise<ClonedObject[]> {
    const nsOf = (c: ClonedObject) => c.metadata?.namespace ?? '';
    while (!this.done && (this.buffered.length === 0 || nsOf(this.buffered[this.buffered.length - 1]!) <= upTo)) {
      // an expired token (the list outlived the server's snapshot) goes on after the last key, as things are now
      const page = await pageAfter(this.token, (t) => CLONE_KINDS[this.kind].pageNamed(this.kube.core, this.name, { limit: this.size, ...(t ? { _continue: t } : {}) }));
      this.buffered.push(...page.items);
      this.token = page.next;
      this.done = !page.next;
    }
    // A server listing out of key order could leave a copy behind its namespace's page: its namespace is then
    // planned without it (a create answered 409, which the apply re-plans from a fresh read), never lost.
    const mine = this.buffered.filter((c) => nsOf(c) <= upTo);
    this.buffered = this.buffered.filter((c) => nsOf(c) > upTo);
    return mine;
  }
}

/** Namespaces page by page (limit/continue), in name order: the clone of all namespaces never holds them all. */
export async function* namespacePages(kube: Pick<Kube, 'core'>, size = PAGE): AsyncGenerator<V1Namespace[]> {
  let token: string | undefined;
  do {
    // an expired token (the list outlived the server's snapshot) goes on after the last namespace, as things are now
    const res = await pageAfter(token, (t) => kube.core.listNamespace({ limit: size, ...(t ? { _continue: t } : {}) }));
    token = res.metadata?._continue || undefined;
    if (res.items.length) yield res.items;
  } while (token);
}
