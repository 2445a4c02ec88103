/**
 * Clone, for the work items of one target cluster: per (policy, scope) read the current state (read.ts: the
 * source in its own cluster, the namespaces and copies in the target), plan (plan.ts, pure), apply (apply.ts),
 * and sum it up. All namespaces are read and written one page of namespaces at a time (reconcileAll): memory stays
 * bounded at any cluster size. `reconcileFleet` runs every target cluster of a trigger side by side, each on its
 * own (one unreachable or denying cluster does not stop the others); a summary with failures becomes one
 * Retryable/Permanent error, so the invocation is retried and the failed clusters converge then.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PermanentError, RetryableError } from '../../core/errors.ts';
import type { RuntimeConfig } from '../runtime/config.ts';
import type { Kube, KubeFor } from '../runtime/kube.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';
import { baseName, isSet, setOf, targetName, variantsOf, type NamespaceLike } from '../../core/policy/select.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { setMembers } from './sets.ts';
import { PAGE } from '../runtime/kube.ts';
import { buildEvent } from '../runtime/k8s-events.ts';
import { applyClonePlan, DEFERRED, type CloneReporter, type Failure } from './apply.ts';
import { noActions, planClone, type ActionType, type ClonedObject, type CloneAction } from './plan.ts';
import { CopyStream, namespacePages, readCurrent, readSource, scopeLabel, type SourceOrigin } from './read.ts';
import type { WorkItem } from './triggers.ts';

/** A failure, with the target cluster it happened in. */
export type ClusterFailure = Failure & { cluster?: string };

export interface CloneSummary {
  trigger: string;
  /** The trigger's cluster (a fleet run's summary adds up every target cluster: see `clusters`). */
  cluster: string;
  policies: number;
  namespaces: number;
  actions: Record<ActionType, number>;
  writes: number;
  conflicts: number;
  failures: ClusterFailure[];
  /** Per target cluster (reconcileFleet). */
  clusters?: Record<string, { policies: number; writes: number; actions: Record<ActionType, number>; failures: number }>;
}

/** Source reads shared by the target clusters of one run, by `<source cluster>/<policy>`. */
export type SourceReads = Map<string, ReturnType<typeof readSource>>;


function reporterFor(obs: Observability): CloneReporter {
  return {
    report: (a, message) => {
      obs.logger.warn(a.action === 'report-unmanaged' ? 'same-named object not managed by ripple: left alone' : 'immutable copy differs: not replaced', { kind: a.kind, namespace: a.namespace, name: a.name, reason: message });
      obs.metrics.addMetric(a.action === 'report-unmanaged' ? 'UnmanagedObjects' : 'ImmutableCopiesNotReplaced', MetricUnit.Count, 1);
    },
    wrote: (a) => obs.logger.debug('copy written', { action: a.action, kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason }),
    skipped: (a) => obs.logger.debug('nothing to do', { kind: a.kind, namespace: a.namespace, name: a.name, reason: a.reason }),
    eventFailed: (a, message) => obs.logger.warn('could not record Kubernetes Event', { kind: a.kind, namespace: a.namespace, name: a.name, reason: message }),
  };
}

/** Reconcile the given work items on one cluster (one policy failing to read does not stop the others). */
export interface ReconcileDeps {
  kubeFor: KubeFor;
  fingerprintKey: (cluster: string, core: Kube['core']) => Promise<Buffer>;
  config: RuntimeConfig;
  observability?: Observability;
  outOfTime?: () => boolean;
  /** Namespaces per page when all namespaces are reconciled (default PAGE). */
  pageSize?: number;
  /** Every policy (a set leaves out the objects other policies name as their base). */
  policies?: () => RipplePolicy[];
}

/**
 * Reconcile the work items whose copies are in `cluster` (one policy failing to read does not stop the others).
 * Items of another target cluster are ignored. The source of each is read in its own cluster (`item.source`),
 * once per run for all target clusters (`sources`). The copies' fingerprints use this cluster's key (its forwarder
 * compares them).
 */
export async function reconcile(deps: ReconcileDeps, cluster: string, allItems: readonly WorkItem[], trigger = 'manual', sources: SourceReads = new Map()): Promise<CloneSummary> {
  const items = allItems.filter((i) => (i.target ?? cluster) === cluster);
  const summary: CloneSummary = {
    trigger,
    cluster,
    policies: items.length,
    namespaces: 0,
    actions: noActions(),
    writes: 0,
    conflicts: 0,
    failures: [],
  };
  if (items.length === 0) return summary;
  const kube = await deps.kubeFor(cluster);
  const key = await deps.fingerprintKey(cluster, kube.core);
  const reporter = deps.observability ? reporterFor(deps.observability) : undefined;
  const ctx: Ctx = { deps, kube, key, reporter, summary, cluster, sources };
  const expanded = await expandSets(ctx, items);
  summary.policies = expanded.length;
  // All namespaces: page by page, never the whole cluster in memory (reconcileAll); one namespace: as it is.
  await reconcileAll(ctx, expanded.filter((i) => i.scope.kind === 'all'), deps.pageSize ?? PAGE);
  for (const item of expanded) {
    if (item.scope.kind === 'all') continue;
    let snapshot;
    try {
      snapshot = await readCurrent(kube, item.policy, item.scope, undefined, { source: sourceOf(ctx, item) });
    } catch (err) {
      summary.failures.push(readFailure(ctx, item, err));
      continue;
    }
    const actions = planClone({ ...snapshot, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate });
    const done = await applyPage(ctx, item, actions);
    deps.observability?.logger.info('policy reconciled', { policy: item.policy.metadata.name, ...copyOf(item.policy), cluster, sourceCluster: item.source ?? cluster, scope: scopeLabel(item.scope), source: snapshot.origin, actions: done.actions, writes: done.writes });
  }
  return summary;
}

/**
 * Sets (source.selector) expanded into their members (sets.ts), a policy with several target names (sync.targetNames)
 * into one variant per name: each a work item of its own; other items as they are. A set whose bases or copies cannot
 * be listed is one failure (retried), the others go on.
 */
async function expandSets(ctx: Ctx, items: readonly WorkItem[]): Promise<WorkItem[]> {
  const out: WorkItem[] = [];
  for (const item of items) {
    if (!isSet(item.policy)) {
      out.push(...variantsOf(item.policy).map((policy) => (policy === item.policy ? item : { ...item, policy })));
      continue;
    }
    try {
      const srcCluster = item.source ?? ctx.cluster;
      const sourceCore = srcCluster === ctx.cluster ? ctx.kube.core : (await ctx.deps.kubeFor(srcCluster)).core;
      const members = await setMembers({ set: item.policy, scope: item.scope, member: item.member, sourceCore, targetCore: ctx.kube.core, named: ctx.deps.policies?.() ?? [], pageSize: ctx.deps.pageSize });
      for (const policy of members) out.push({ ...item, policy, member: policy.spec.source.name });
      ctx.deps.observability?.logger.debug('set expanded', { policy: item.policy.metadata.name, cluster: ctx.cluster, scope: scopeLabel(item.scope), members: members.length });
    } catch (err) {
      ctx.summary.failures.push(readFailure(ctx, item, err, "listing the set's bases and copies"));
    }
  }
  return out;
}

/** For the log: which base and copy name a member of a set or a variant of several names stands for. */
function copyOf(policy: RipplePolicy): { base?: string; copyName?: string } {
  const out: { base?: string; copyName?: string } = {};
  if (setOf(policy)) out.base = baseName(policy);
  if (policy.spec.sync?.targetName && policy.spec.sync.targetName !== policy.spec.source.name) out.copyName = policy.spec.sync.targetName;
  return out;
}

/** The policy's source, read in its own cluster once per run (shared by every target cluster). */
function sourceOf(ctx: Ctx, item: WorkItem): ReturnType<typeof readSource> {
  const srcCluster = item.source ?? ctx.cluster;
  const memo = `${srcCluster}/${item.policy.metadata.name}/${baseName(item.policy)}`;
  let read = ctx.sources.get(memo);
  if (!read) {
    const named = ctx.deps.policies?.() ?? [];
    read = srcCluster === ctx.cluster ? readSource(ctx.kube, item.policy, named) : ctx.deps.kubeFor(srcCluster).then((k) => readSource(k, item.policy, named));
    ctx.sources.set(memo, read);
    read.catch(() => undefined);
  }
  return read;
}

interface Ctx {
  deps: ReconcileDeps;
  kube: Kube;
  key: Buffer;
  reporter: CloneReporter | undefined;
  summary: CloneSummary;
  /** The target cluster. */
  cluster: string;
  sources: SourceReads;
}

function readFailure(ctx: Ctx, item: WorkItem, err: unknown, what = `reading ${scopeLabel(item.scope)}`): ClusterFailure {
  const src = item.policy.spec.source;
  const srcCluster = item.source ?? ctx.cluster;
  const fromWhere = srcCluster === ctx.cluster ? '' : ` (source in cluster ${srcCluster})`;
  return { cluster: ctx.cluster, kind: src.kind, namespace: item.scope.kind === 'all' ? '*' : item.scope.namespace, name: src.name ?? '*', action: 'skip', retryable: !(err instanceof PermanentError), message: `policy ${item.policy.metadata.name}: ${what}${fromWhere}: ${errorReason(err)}` };
}

/** Apply one plan (a page of namespaces, or one namespace) and add it to the summary. */
async function applyPage(ctx: Ctx, item: WorkItem, actions: CloneAction[]): Promise<{ actions: Record<ActionType, number>; writes: number }> {
  const { deps, kube, key, reporter, summary } = ctx;
  summary.namespaces += actions.length;
  const replan = async (a: CloneAction): Promise<CloneAction> => {
    const fresh = await readCurrent(kube, item.policy, { kind: 'namespace', namespace: a.namespace }, undefined, { source: sourceOf(ctx, item) });
    return planClone({ ...fresh, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate })[0] ?? { kind: a.kind, namespace: a.namespace, name: a.name, action: 'skip', reason: `namespace ${a.namespace} is gone` };
  };
  const applied = await applyClonePlan(actions, { kube, concurrency: deps.config.writeConcurrency, replan, reporter, outOfTime: deps.outOfTime });
  for (const [k, v] of Object.entries(applied.done) as [ActionType, number][]) summary.actions[k] += v;
  summary.writes += applied.writes;
  summary.conflicts += applied.conflicts;
  summary.failures.push(...applied.failures.map((f) => ({ ...f, cluster: ctx.cluster })));
  return { actions: applied.done, writes: applied.writes };
}

/**
 * Every policy of `items` over all namespaces, one page of namespaces (PAGE, limit/continue) at a time: the
 * page's namespaces, each policy's copies in them (a CopyStream per kind and name, shared by the policies
 * writing the same copies), plan, apply; the next page is read while this one is applied. Memory holds two pages,
 * whatever the cluster's size. When the invocation's time budget is spent the pages left are not read: one
 * retryable failure per policy says so, and the retry (level-based) writes the copies still out of date.
 */
async function reconcileAll(ctx: Ctx, items: readonly WorkItem[], pageSize = PAGE): Promise<void> {
  const { deps, kube, summary } = ctx;
  interface Run {
    item: WorkItem;
    source: ClonedObject | null;
    origin: SourceOrigin;
    copies: CopyStream;
    failed: boolean;
    done: Record<ActionType, number>;
    writes: number;
  }
  const streams = new Map<string, CopyStream>();
  const runs: Run[] = [];
  for (const item of items) {
    const { kind } = item.policy.spec.source;
    let read: Awaited<ReturnType<typeof readSource>>;
    try {
      read = await sourceOf(ctx, item);
    } catch (err) {
      summary.failures.push(readFailure(ctx, item, err));
      continue;
    }
    const target = targetName(item.policy);
    let copies = streams.get(`${kind}/${target}`);
    if (!copies) streams.set(`${kind}/${target}`, (copies = new CopyStream(kube, kind, target, pageSize)));
    runs.push({ item, source: read.source, origin: read.origin, copies, failed: false, done: noActions(), writes: 0 });
  }
  if (runs.length === 0) return;
  const fail = (run: Run, err: unknown) => {
    run.failed = true;
    summary.failures.push(readFailure(ctx, run.item, err));
  };
  const pages = namespacePages(kube, pageSize);
  /** The next page's namespaces and, per policy, its copies in them (null: that policy failed to read). */
  const readPage = async (): Promise<{ namespaces: NamespaceLike[]; copies: (ClonedObject[] | null)[] } | null> => {
    const r = await pages.next();
    if (r.done) return null;
    const upTo = r.value[r.value.length - 1]!.metadata?.name ?? '';
    const copies = await Promise.all(runs.map((run) => (run.failed ? null : run.copies.upTo(upTo).catch((err: unknown) => (fail(run, err), null)))));
    return { namespaces: r.value, copies };
  };
  const guarded = (p: Promise<Awaited<ReturnType<typeof readPage>>>) => p.catch((err: unknown) => ({ err }));
  let next = guarded(readPage());
  for (;;) {
    const page = await next;
    if (page === null) break;
    if ('err' in page) {
      for (const run of runs) if (!run.failed) fail(run, page.err);
      break;
    }
    next = guarded(readPage());
    for (const [i, run] of runs.entries()) {
      const copies = page.copies[i];
      if (run.failed || !copies) continue;
      const actions = planClone({ policy: run.item.policy, source: run.source, namespaces: page.namespaces, copies, fingerprintKey: ctx.key, ownWrite: run.item.ownWrite, mayCreate: run.item.mayCreate });
      const done = await applyPage(ctx, run.item, actions);
      for (const [k, v] of Object.entries(done.actions) as [ActionType, number][]) run.done[k] += v;
      run.writes += done.writes;
    }
    if (deps.outOfTime?.()) {
      const more = await next;
      if (more !== null) {
        const after = page.namespaces[page.namespaces.length - 1]?.metadata?.name ?? '';
        for (const run of runs) if (!run.failed) summary.failures.push(readFailure(ctx, run.item, new RetryableError(`${DEFERRED} (namespaces after ${after})`), 'all namespaces'));
      }
      break;
    }
  }
  for (const run of runs) {
    deps.observability?.logger.info('policy reconciled', { policy: run.item.policy.metadata.name, ...copyOf(run.item.policy), cluster: ctx.cluster, sourceCluster: run.item.source ?? ctx.cluster, scope: scopeLabel(run.item.scope), source: run.origin, actions: run.done, writes: run.writes });
  }
}

/**
 * Every target cluster of the work items, side by side and each on its own: a cluster that cannot be reached (or
 * denies ripple) becomes one retryable failure naming it, logged and counted (metric ClusterFailures), while the
 * others converge; the retry (or the next resync) converges it when it is back. The source of a policy is read
 * once for all its target clusters.
 */
export async function reconcileFleet(deps: ReconcileDeps, triggerCluster: string, items: readonly WorkItem[], trigger = 'manual'): Promise<CloneSummary> {
  const targets = [...new Set(items.map((i) => i.target))];
  const sources: SourceReads = new Map();
  const results = await Promise.all(
    targets.map(async (target): Promise<CloneSummary> => {
      try {
        return await reconcile(deps, target, items, trigger, sources);
      } catch (err) {
        const message = `cluster ${target}: not reconciled: ${errorReason(err)}`;
        deps.observability?.logger.error('target cluster not reconciled', { cluster: target, reason: errorReason(err) });
        const mine = items.filter((i) => i.target === target);
        return { trigger, cluster: target, policies: mine.length, namespaces: 0, actions: noActions(), writes: 0, conflicts: 0, failures: [{ cluster: target, kind: 'Cluster', namespace: '*', name: target, action: 'skip', retryable: true, message }] };
      }
    }),
  );
  const total: CloneSummary = { trigger, cluster: triggerCluster, policies: 0, namespaces: 0, actions: noActions(), writes: 0, conflicts: 0, failures: [], clusters: {} };
  for (const r of results) {
    total.policies += r.policies;
    total.namespaces += r.namespaces;
    for (const [k, v] of Object.entries(r.actions) as [ActionType, number][]) total.actions[k] += v;
    total.writes += r.writes;
    total.conflicts += r.conflicts;
    total.failures.push(...r.failures);
    total.clusters![r.cluster] = { policies: r.policies, writes: r.writes, actions: r.actions, failures: r.failures.length };
  }
  const failed = results.filter((r) => r.failures.length > 0).length;
  if (failed > 0) {
    deps.observability?.metrics.addMetric('ClusterFailures', MetricUnit.Count, failed);
    await reportToSources(deps, items, results);
  }
  return total;
}

/**
 * A Warning Event (reason TargetClusterNotReconciled) on the base, in its own cluster, per policy whose copies in
 * another cluster were not all reconciled: who owns the base sees it with `kubectl describe`. Best effort.
 */
async function reportToSources(deps: ReconcileDeps, items: readonly WorkItem[], results: CloneSummary[]): Promise<void> {
  const failures = new Map(results.filter((r) => r.failures.length > 0).map((r) => [r.cluster, r.failures]));
  const seen = new Set<string>();
  // a set names no one base to report on (its members' failures are in the log and the summary)
  const todo = items.filter((i) => !isSet(i.policy) && i.source !== i.target && failures.has(i.target) && !seen.has(`${i.policy.metadata.name}/${i.target}`) && seen.add(`${i.policy.metadata.name}/${i.target}`));
  await Promise.all(
    todo.map(async (i) => {
      const f = failures.get(i.target)!;
      const src = i.policy.spec.source;
      try {
        const kube = await deps.kubeFor(i.source);
        const message = `ripple did not reconcile the copies of policy ${i.policy.metadata.name} in cluster ${i.target} (${f.length} failure${f.length === 1 ? '' : 's'}; retried): ${f[0]!.message}`;
        const body = buildEvent({ apiVersion: 'v1', kind: src.kind, namespace: src.namespace, name: baseName(i.policy) }, { reason: 'TargetClusterNotReconciled', type: 'Warning', component: 'clone', message });
        await kube.core.createNamespacedEvent({ namespace: src.namespace, body });
      } catch (err) {
        deps.observability?.logger.warn('could not record Kubernetes Event', { policy: i.policy.metadata.name, cluster: i.source, reason: errorReason(err) });
      }
    }),
  );
}

/** A summary with failures as one error: Retryable if any failure is, else Permanent. */
export function failIfFailed(summary: CloneSummary): void {
  if (summary.failures.length === 0) return;
  const first = summary.failures
    .slice(0, 3)
    .map((f) => (f.kind === 'Cluster' ? f.message : `${f.cluster ? `${f.cluster}: ` : ''}${f.action} ${f.kind} ${f.namespace}/${f.name}: ${f.message}`))
    .join('; ');
  const text = `${summary.failures.length} cop${summary.failures.length === 1 ? 'y' : 'ies'} not reconciled: ${first}`;
  if (summary.failures.some((f) => f.retryable)) throw new RetryableError(text);
  throw new PermanentError(text);
}

