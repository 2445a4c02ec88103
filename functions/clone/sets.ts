/**
 * Sets of bases (`source.selector`): a set is expanded, per run, into its members (core/policy/select.ts
 * `memberPolicy`: the set's policy naming one base), which the reader, planner and applier then handle as any
 * one-base policy. Level-based, like everything else: the members are whatever the selector picks now.
 *
 * Which members a run looks at:
 * - the trigger named one (`WorkItem.member`: an event for an object of the set's kind in its namespace, or for a
 *   copy): that one, when it is a member now. Over all namespaces also when the set still has a copy of it (a base
 *   that left the set: its copies follow sync.onSourceDelete); an unrelated object of the namespace costs one read
 *   and one list of at most one item, never a walk over the namespaces; an unrelated delete elsewhere, one read.
 * - none (namespace events, resyncs): every object the selector picks in the source namespace (one paged list),
 *   and every base of a copy the set still has in the namespaces in scope (paged list by the ripple.dev/set label,
 *   names kept, never the objects) whose base has left the set.
 * Whether a member's base is (still) in the set is decided when it is read (read.ts readSource: a base that left the
 * set reads as absent).
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { LABEL_SET, type ObjectKind } from '../../core/constants.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { memberPolicy, memberSkipReason, selectorString } from '../../core/policy/select.ts';
import { orNull, PAGE, pageAfter, type CoreApi } from '../runtime/kube.ts';
import { CLONE_KINDS } from './kinds.ts';
import type { Scope } from './read.ts';

type Page = { items: (V1Secret | V1ConfigMap)[]; metadata?: { _continue?: string } };
type ListOpts = { labelSelector: string; fieldSelector?: string; limit: number; _continue?: string };

/** A list of the kind, in one namespace or all of them. */
function lister(core: CoreApi, kind: ObjectKind, namespace?: string): (o: ListOpts) => Promise<Page> {
  if (kind === 'Secret') return namespace ? (o) => core.listNamespacedSecret({ namespace, ...o }) : (o) => core.listSecretForAllNamespaces(o);
  return namespace ? (o) => core.listNamespacedConfigMap({ namespace, ...o }) : (o) => core.listConfigMapForAllNamespaces(o);
}

/** The names of every object a paged list returns (the objects are not kept). */
async function namesOf(list: (o: ListOpts) => Promise<Page>, opts: Omit<ListOpts, 'limit' | '_continue'>, keep: (o: V1Secret | V1ConfigMap) => boolean = () => true, size = PAGE): Promise<Set<string>> {
  const out = new Set<string>();
  let token: string | undefined;
  do {
    const res = await pageAfter(token, (t) => list({ ...opts, limit: size, ...(t ? { _continue: t } : {}) }));
    for (const o of res.items) if (o.metadata?.name && keep(o)) out.add(o.metadata.name);
    token = res.metadata?._continue || undefined;
  } while (token);
  return out;
}

const setLabel = (set: RipplePolicy) => `${LABEL_SET}=${set.metadata.name}`;

/** The objects the set's selector picks now, by name (copies ripple made and other policies' bases left out). */
export async function selectedBases(sourceCore: CoreApi, set: RipplePolicy, named: readonly RipplePolicy[] = []): Promise<Set<string>> {
  const { kind, namespace, selector } = set.spec.source;
  return namesOf(lister(sourceCore, kind, namespace), { labelSelector: selectorString(selector!) }, (o) => memberSkipReason(set, o, kind, named) === null);
}

export interface ExpandInput {
  set: RipplePolicy;
  scope: Scope;
  member?: string;
  /** The source's cluster (the bases). */
  sourceCore: CoreApi;
  /** The target cluster (the copies). */
  targetCore: CoreApi;
  /** Every policy: an object that is another policy's named base is not a member. */
  named?: readonly RipplePolicy[];
  pageSize?: number;
}

/** The member policies a run of the set looks at (see the header). */
export async function setMembers(x: ExpandInput): Promise<RipplePolicy[]> {
  const { set, scope, member } = x;
  const { kind, namespace } = set.spec.source;
  if (member !== undefined) {
    const obj = await orNull(CLONE_KINDS[kind].read(x.sourceCore, namespace, member));
    if (obj && memberSkipReason(set, obj, kind, x.named) === null) return [memberPolicy(set, member)];
    // one namespace (a copy's event: any delete of the kind, or an update of a marked copy): nothing to re-make when
    // the base is not a member; a copy whose base left is deleted by the base's own event or the next full run
    if (scope.kind === 'namespace') return [];
    // not (or no longer) a member: only if the set still has a copy of it somewhere (to delete or keep)
    const copies = await lister(x.targetCore, kind)({ labelSelector: setLabel(set), fieldSelector: `metadata.name=${member}`, limit: 1 });
    return copies.items.some((c) => c.metadata?.name === member) ? [memberPolicy(set, member)] : [];
  }
  const names = await selectedBases(x.sourceCore, set, x.named);
  const copies = await namesOf(lister(x.targetCore, kind, scope.kind === 'namespace' ? scope.namespace : undefined), { labelSelector: setLabel(set) }, () => true, x.pageSize);
  for (const c of copies) names.add(c);
  return [...names].sort().map((n) => memberPolicy(set, n));
}
