/**
 * Clone, for the work items of one cluster: per (policy, scope) read the current state (read.ts), plan
 * (plan.ts, pure), apply (apply.ts), and sum it up; a summary with failures becomes one Retryable/Permanent error.
 * All namespaces are read and written one page of namespaces at a time (reconcileAll): memory stays bounded
 * at any cluster size.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PermanentError, RetryableError } from '../../core/errors.ts';
import type { RuntimeConfig } from '../runtime/config.ts';
import type { Kube, KubeFor } from '../runtime/kube.ts';
import { errorReason, type Observability } from '../runtime/middleware.ts';
import { targetName, type NamespaceLike } from '../../core/policy/select.ts';
import { PAGE } from '../runtime/kube.ts';
import { applyClonePlan, DEFERRED, type ApplySummary, type CloneReporter } from './apply.ts';
import { noActions, planClone, type ActionType, type ClonedObject, type CloneAction } from './plan.ts';
import { CopyStream, namespacePages, readCurrent, readSource, scopeLabel, type SourceOrigin } from './read.ts';
import type { WorkItem } from './triggers.ts';

export interface CloneSummary {
  trigger: string;
  cluster: string;
  policies: number;
  namespaces: number;
  actions: Record<ActionType, number>;
  writes: number;
  conflicts: number;
  failures: ApplySummary['failures'];
}

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
}

export async function reconcile(deps: ReconcileDeps, cluster: string, items: readonly WorkItem[], trigger = 'manual'): Promise<CloneSummary> {
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
  const ctx: Ctx = { deps, kube, key, reporter, summary };
  // All namespaces: page by page, never the whole cluster in memory (reconcileAll); one namespace: as it is.
  await reconcileAll(ctx, items.filter((i) => i.scope.kind === 'all'), deps.pageSize ?? PAGE);
  for (const item of items) {
    if (item.scope.kind === 'all') continue;
    let snapshot;
    try {
      snapshot = await readCurrent(kube, item.policy, item.scope);
    } catch (err) {
      summary.failures.push(readFailure(item, err));
      continue;
    }
    const actions = planClone({ ...snapshot, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate });
    const done = await applyPage(ctx, item, actions);
    deps.observability?.logger.info('policy reconciled', { policy: item.policy.metadata.name, scope: scopeLabel(item.scope), source: snapshot.origin, actions: done.actions, writes: done.writes });
  }
  return summary;
}

interface Ctx {
  deps: ReconcileDeps;
  kube: Kube;
  key: Buffer;
  reporter: CloneReporter | undefined;
  summary: CloneSummary;
}

function readFailure(item: WorkItem, err: unknown, what = `reading ${scopeLabel(item.scope)}`): CloneSummary['failures'][number] {
  const src = item.policy.spec.source;
  return { kind: src.kind, namespace: item.scope.kind === 'all' ? '*' : item.scope.namespace, name: src.name, action: 'skip', retryable: !(err instanceof PermanentError), message: `policy ${item.policy.metadata.name}: ${what}: ${errorReason(err)}` };
}

/** Apply one plan (a page of namespaces, or one namespace) and add it to the summary. */
async function applyPage(ctx: Ctx, item: WorkItem, actions: CloneAction[]): Promise<{ actions: Record<ActionType, number>; writes: number }> {
  const { deps, kube, key, reporter, summary } = ctx;
  summary.namespaces += actions.length;
  const replan = async (a: CloneAction): Promise<CloneAction> => {
    const fresh = await readCurrent(kube, item.policy, { kind: 'namespace', namespace: a.namespace });
    return planClone({ ...fresh, fingerprintKey: key, ownWrite: item.ownWrite, mayCreate: item.mayCreate })[0] ?? { kind: a.kind, namespace: a.namespace, name: a.name, action: 'skip', reason: `namespace ${a.namespace} is gone` };
  };
  const applied = await applyClonePlan(actions, { kube, concurrency: deps.config.writeConcurrency, replan, reporter, outOfTime: deps.outOfTime });
  for (const [k, v] of Object.entries(applied.done) as [ActionType, number][]) summary.actions[k] += v;
  summary.writes += applied.writes;
  summary.conflicts += applied.conflicts;
  summary.failures.push(...applied.failures);
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
      read = await readSource(kube, item.policy);
    } catch (err) {
      summary.failures.push(readFailure(item, err));
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
    summary.failures.push(readFailure(run.item, err));
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
        for (const run of runs) if (!run.failed) summary.failures.push(readFailure(run.item, new RetryableError(`${DEFERRED} (namespaces after ${after})`), 'all namespaces'));
      }
      break;
    }
  }
  for (const run of runs) {
    deps.observability?.logger.info('policy reconciled', { policy: run.item.policy.metadata.name, scope: scopeLabel(run.item.scope), source: run.origin, actions: run.done, writes: run.writes });
  }
}

/** A summary with failures as one error: Retryable if any failure is, else Permanent. */
export function failIfFailed(summary: CloneSummary): void {
  if (summary.failures.length === 0) return;
  const first = summary.failures.slice(0, 3).map((f) => `${f.action} ${f.kind} ${f.namespace}/${f.name}: ${f.message}`).join('; ');
  const text = `${summary.failures.length} cop${summary.failures.length === 1 ? 'y' : 'ies'} not reconciled: ${first}`;
  if (summary.failures.some((f) => f.retryable)) throw new RetryableError(text);
  throw new PermanentError(text);
}

