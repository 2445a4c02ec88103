/**
 * The table `npm run bench -- fanout` ends with: every run's base update side by side, the rate-limited runs'
 * verdicts, and the cost ratio per namespace (largest / smallest) against the goal.
 */
import { cpus } from 'node:os';
import { FUNCTIONS, s1, type Mode } from './_fanout-harness.ts';

const GOAL_MS = 20_000;
const GOAL_N = 10_000;
const GOAL_RATIO = 11;

/** One run's base update, as the table shows it. */
export interface Summary {
  label: string;
  mode: Mode;
  n: number;
  cloneMs: number;
  totalMs: number;
  handlersCpu: number;
  clusterCpu: number | null;
  load: number;
  cloneWrites: number;
  rollouts: number;
  advancedOnce: number;
  deployments: number;
  dupRollouts: number;
  failedRecords: number;
  cloneFailures: number;
  /** Longest invocation of each function (against its timeout). */
  maxInvocationMs: { clone: number; rollout: number };
  /** Clone invocations that failed (retryable) and were retried, as Lambda's asynchronous retry would. */
  cloneRetries: number;
  peakHeapMb: number;
  /** Heap growth above the baseline (after a full GC, before the phase): clone invocation, then rollouts. */
  cloneHeapMb: number;
  rolloutHeapMb: number;
  peakRssMb: number;
  throttled: number;
  exact: boolean;
}

/** All sizes side by side, the rate-limited runs' verdicts, and the cost ratio per namespace (largest / smallest). */
export function printTable(results: Summary[], modes: readonly Mode[]): void {
  console.log(`\nbase update, whole chain (N copies, 2N Deployments), ${cpus().length} CPUs; machine shared with other work, see load:`);
  console.log('  run           cluster            N  wall (clone)     CPU handlers + cluster  ms/ns  writes   rollouts  once        dup  failed  longest clone/rollout (timeouts)  heap +clone/+rollout  429s  load');
  for (const r of results) {
    console.log(
      `  ${r.label.padEnd(12)}  ${r.mode.padEnd(16)} ${String(r.n).padStart(6)}  ${`${s1(r.totalMs)} s (${s1(r.cloneMs)} s)`.padEnd(15)}  ${`${s1(r.handlersCpu)} + ${r.clusterCpu === null ? '-' : s1(r.clusterCpu)} s`.padEnd(22)}  ${(r.totalMs / r.n).toFixed(2).padStart(5)}  ${r.cloneWrites === r.n ? '= min' : `${r.cloneWrites}/${r.n}`}   ${r.rollouts === 2 * r.n ? '= min   ' : `${r.rollouts}/${2 * r.n}`}  ${`${r.advancedOnce}/${r.deployments}`.padEnd(11)} ${String(r.dupRollouts).padStart(3)}  ${String(r.failedRecords + r.cloneFailures + r.cloneRetries).padStart(6)}  ${`${s1(r.maxInvocationMs.clone)}/${s1(r.maxInvocationMs.rollout)} s`.padStart(11)} (<= ${s1(FUNCTIONS.clone.timeoutMs)}/${s1(FUNCTIONS.rollout.timeoutMs)} s)  ${`+${r.cloneHeapMb}/+${r.rolloutHeapMb} MB`.padStart(20)}  ${String(r.throttled).padStart(4)}  ${r.load.toFixed(1)}`,
    );
  }
  for (const r of results.filter((x) => x.label !== 'unlimited')) {
    const failed = r.failedRecords + r.cloneFailures + r.cloneRetries;
    const inTime = r.maxInvocationMs.clone <= FUNCTIONS.clone.timeoutMs && r.maxInvocationMs.rollout <= FUNCTIONS.rollout.timeoutMs;
    console.log(`  ${r.label}, ${r.n} namespaces: converged with writes = minimum and every Deployment rolled out once: ${r.exact ? 'yes' : 'NO'}; failed invocations/records: ${failed}; no invocation over its timeout: ${inTime ? 'yes' : 'NO'}; ${r.throttled} requests answered 429: ${r.exact && failed === 0 && inTime ? 'MET' : 'NOT MET'}`);
  }
  for (const mode of modes) {
    const runs = results.filter((r) => r.mode === mode && r.label === 'unlimited').sort((a, b) => a.n - b.n);
    if (runs.length < 2) continue;
    const [small, large] = [runs[0], runs[runs.length - 1]];
    const ratio = large.totalMs / small.totalMs;
    const cpuRatio = (large.handlersCpu + (large.clusterCpu ?? 0)) / (small.handlersCpu + (small.clusterCpu ?? 0));
    const goal = runs.find((r) => r.n === GOAL_N);
    console.log(`  ${mode}: cost ratio ${large.n}/${small.n} (x${large.n / small.n} the work): wall x${ratio.toFixed(1)}, CPU x${cpuRatio.toFixed(1)} (goal <= ${GOAL_RATIO}): ${ratio <= GOAL_RATIO ? 'MET' : 'NOT MET'}${goal ? `; ${GOAL_N} namespaces in ${s1(goal.totalMs)} s (goal <= ${s1(GOAL_MS)} s): ${goal.totalMs <= GOAL_MS && goal.exact ? 'MET' : 'NOT MET'}` : ''}`);
  }
}

