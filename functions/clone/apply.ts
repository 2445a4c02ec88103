/**
 * Apply a clone plan: bounded-parallel writes through the kind table, exactly one write per out-of-date copy
 * (create, or a replace at the copy's resourceVersion; delete + create only for replace-immutable).
 * - 409 (someone changed or created the object meanwhile) and 404 on update: that namespace is re-read and
 *   re-planned (`replan`), up to 3 times; the new plan may well be "up to date" or "unmanaged".
 * - Terminating or vanished namespaces: skipped, not failed.
 * - report-unmanaged / report-immutable: a Warning Kubernetes Event on the object (once per object and
 *   reason: the Event name is derived from its uid, so a later run's create answers 409 AlreadyExists and is
 *   left at that — no `get events` permission needed; a warm container remembers and does not ask again), a
 *   log line and a metric on every run; never a write to the object.
 * Failures are collected per copy; the handler decides (retryable ones are rethrown so the event is retried).
 */
import { createHash } from 'node:crypto';
import { ConflictError, PermanentError, RetryableError } from '../../core/errors.ts';
import { buildEvent } from '../runtime/k8s-events.ts';
import { ForbiddenError, NotFoundError, type Kube } from '../runtime/kube.ts';
import { pool } from '../runtime/pool.ts';
import { CLONE_KINDS } from './kinds.ts';
import { isWrite, noActions, type ActionType, type CloneAction } from './plan.ts';

export interface CloneReporter {
  /** A same-named object left alone, or an immutable copy not replaced (log + metric). */
  report(a: CloneAction, message: string): void;
  /** A write was made. */
  wrote?(a: CloneAction): void;
  /** Nothing to do in a namespace, and why (the planner's reason, verbatim). */
  skipped?(a: CloneAction): void;
  /** An event could not be recorded (RBAC, API): names only. */
  eventFailed?(a: CloneAction, message: string): void;
}

export interface ApplyOptions {
  kube: Pick<Kube, 'core' | 'raw'>;
  concurrency: number;
  /** Re-read one namespace and plan it again (after a conflict). */
  replan: (a: CloneAction) => Promise<CloneAction>;
  reporter?: CloneReporter;
  /** Record Kubernetes Events for reports (default true). */
  events?: boolean;
  /**
   * True once the invocation's time budget is spent: no new write starts (those in flight finish). The copies
   * not written are retryable failures, so the handler ends well before its timeout and the retry, level-based,
   * writes exactly the copies still out of date (none twice, none lost).
   */
  outOfTime?: () => boolean;
}

/** The message of a copy left for the next invocation (no write was sent for it). */
export const DEFERRED = 'not written in this invocation: its time budget is spent; the retry (level-based) writes it';

export interface Failure {
  kind: string;
  namespace: string;
  name: string;
  action: ActionType;
  retryable: boolean;
  message: string;
}

export interface ApplySummary {
  /** Final action taken per namespace (after any re-plans). */
  done: Record<ActionType, number>;
  /** Write requests sent (creates, replaces, deletes; including conflict retries). */
  writes: number;
  conflicts: number;
  failures: Failure[];
}

const TERMINATING = /being terminated|is terminating/i;

/** Event name stable per object and reason, so repeated runs report once. */
export function reportEventName(a: CloneAction, uid: string | undefined): string {
  const h = createHash('sha256').update(`${a.action}/${a.kind}/${a.namespace}/${a.name}/${uid ?? ''}`).digest('hex').slice(0, 12);
  return `${a.name.slice(0, 200)}.ripple-${h}`;
}

/** Event names this container already recorded (or found recorded): a warm Lambda does not even ask again. */
const recorded = new Set<string>();
const RECORDED_MAX = 10_000;

/** Forget what this container recorded (a cold start); for tests. */
export function forgetRecordedReports(): void {
  recorded.clear();
}

async function reportOnObject(opts: ApplyOptions, a: Extract<CloneAction, { action: 'report-unmanaged' | 'report-immutable' }>): Promise<void> {
  opts.reporter?.report(a, a.reason);
  if (opts.events === false) return;
  const name = reportEventName(a, a.uid);
  const key = `${a.namespace}/${name}`;
  if (recorded.has(key)) return;
  if (recorded.size >= RECORDED_MAX) recorded.clear();
  try {
    const body = buildEvent(
      { apiVersion: 'v1', kind: a.kind, namespace: a.namespace, name: a.name, uid: a.uid },
      {
        reason: a.action === 'report-unmanaged' ? 'UnmanagedObject' : 'ImmutableCopyDiffers',
        message: a.action === 'report-unmanaged' ? `ripple did not write ${a.kind} ${a.namespace}/${a.name}: ${a.reason}` : `ripple did not replace ${a.kind} ${a.namespace}/${a.name}: ${a.reason}`,
        type: 'Warning',
        component: 'clone',
      },
    );
    body.metadata = { name, namespace: a.namespace };
    await opts.kube.core.createNamespacedEvent({ namespace: a.namespace, body });
    recorded.add(key);
  } catch (err) {
    if (err instanceof ConflictError) {
      recorded.add(key); // AlreadyExists: reported before (same object, same reason)
      return;
    }
    opts.reporter?.eventFailed?.(a, err instanceof Error ? err.message : String(err));
  }
}

/** One action, one attempt: the write(s) it stands for (counted in summary.writes), or its report. */
async function applyAction(a: CloneAction, opts: ApplyOptions, summary: ApplySummary): Promise<'done'> {
  const { raw } = opts.kube;
  const ops = CLONE_KINDS[a.kind];
  switch (a.action) {
    case 'skip':
      return 'done';
    case 'report-unmanaged':
    case 'report-immutable':
      await reportOnObject(opts, a);
      return 'done';
    case 'create':
      summary.writes++;
      await ops.create(raw, a.namespace, a.object);
      return 'done';
    case 'update':
      summary.writes++;
      await ops.replace(raw, a.namespace, a.name, a.object);
      return 'done';
    case 'delete':
      summary.writes++;
      try {
        await ops.remove(raw, a.namespace, a.name, { uid: a.uid, resourceVersion: a.resourceVersion });
      } catch (err) {
        if (err instanceof NotFoundError) return 'done';
        throw err;
      }
      return 'done';
    case 'replace-immutable':
      summary.writes++;
      try {
        await ops.remove(raw, a.namespace, a.name, { uid: a.uid });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
      summary.writes++;
      await ops.create(raw, a.namespace, { ...a.object, metadata: { ...a.object.metadata, resourceVersion: undefined } });
      return 'done';
  }
}

export async function applyClonePlan(actions: readonly CloneAction[], opts: ApplyOptions): Promise<ApplySummary> {
  const summary: ApplySummary = {
    done: noActions(),
    writes: 0,
    conflicts: 0,
    failures: [],
  };

  await pool(actions, opts.concurrency, async (first) => {
    let a = first;
    for (let attempt = 1; ; attempt++) {
      if (isWrite(a) && opts.outOfTime?.()) {
        summary.failures.push({ kind: a.kind, namespace: a.namespace, name: a.name, action: a.action, retryable: true, message: DEFERRED });
        return;
      }
      try {
        const r = await applyAction(a, opts, summary);
        if (r === 'done') {
          summary.done[a.action]++;
          if (isWrite(a)) opts.reporter?.wrote?.(a);
          else if (a.action === 'skip') opts.reporter?.skipped?.(a);
          return;
        }
      } catch (err) {
        const replannable = err instanceof ConflictError || (err instanceof NotFoundError && (a.action === 'update' || a.action === 'replace-immutable'));
        if (replannable && attempt < 4) {
          summary.conflicts++;
          try {
            a = await opts.replan(a);
          } catch (e) {
            summary.failures.push(failure(a, e));
            return;
          }
          continue;
        }
        if ((a.action === 'create' || a.action === 'replace-immutable') && ((err instanceof ForbiddenError && TERMINATING.test(err.message)) || err instanceof NotFoundError)) {
          summary.done.skip++;
          return; // namespace terminating or gone
        }
        summary.failures.push(failure(a, err));
        return;
      }
    }
  });
  return summary;
}

function failure(a: CloneAction, err: unknown): Failure {
  return {
    kind: a.kind,
    namespace: a.namespace,
    name: a.name,
    action: a.action,
    retryable: err instanceof RetryableError || !(err instanceof PermanentError),
    message: err instanceof Error ? err.message : String(err),
  };
}
