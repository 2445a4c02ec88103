/**
 * Dry run of the clone handler (`ripple explain`): the same snapshot and planner, nothing written. For every
 * copy whose content would change, the rollout planner (functions/rollout, when present) says which workloads
 * in that namespace would restart.
 */
import { newFingerprintKey } from '../../core/fingerprint.ts';
import { orNull, type Kube } from '../../functions/runtime/kube.ts';
import { pool } from '../../functions/runtime/pool.ts';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE, ANN_SOURCE_FINGERPRINT } from '../../core/constants.ts';
import { readFingerprintKey } from '../../kube/fingerprint-key.ts';
import type { RipplePolicy } from '../../core/policy/schema.ts';
import { planClone, type CloneAction, type Part } from '../../functions/clone/plan.ts';
import { newReadCache, readCurrent, readSource } from '../../functions/clone/read.ts';
import { setMembers } from '../../functions/clone/sets.ts';
import { isSet, setOf, variantsOf } from '../../core/policy/select.ts';

export interface ExplainRow {
  policy: string;
  kind: string;
  namespace: string;
  name: string;
  action: CloneAction['action'];
  differs: Part[];
  /** `Deployment/web` …; null when restarts could not be computed (see ExplainResult.restartsUnavailable). */
  restarts: string[] | null;
  reason: string;
}

export interface ExplainResult {
  rows: ExplainRow[];
  /** Why the restarts column is empty for every row, if it is. */
  restartsUnavailable: string | null;
  notes: string[];
}

interface RolloutModules {
  planRollouts: typeof import('../../functions/rollout/plan.ts').planRollouts;
  reloadSettings: typeof import('../../functions/rollout/plan.ts').reloadSettings;
  listWorkloads: typeof import('../../functions/rollout/workloads.ts').listWorkloads;
}

async function loadRollout(): Promise<RolloutModules | string> {
  try {
    const plan = await import('../../functions/rollout/plan.ts');
    const workloads = await import('../../functions/rollout/workloads.ts');
    if (typeof plan.planRollouts !== 'function' || typeof workloads.listWorkloads !== 'function') return 'the rollout planner is not available in this build';
    return { planRollouts: plan.planRollouts, reloadSettings: plan.reloadSettings, listWorkloads: workloads.listWorkloads };
  } catch (err) {
    return `the rollout planner is not available (${(err as Error).message.split('\n')[0]})`;
  }
}

const contentChange = (a: CloneAction): boolean =>
  a.action === 'create' || ((a.action === 'update' || a.action === 'replace-immutable') && (a.differs.includes('data') || a.differs.includes('type')));

export async function explainClone(kube: Pick<Kube, 'core' | 'apps' | 'raw'>, policies: readonly RipplePolicy[], opts: { concurrency?: number } = {}): Promise<ExplainResult> {
  const notes: string[] = [];
  const keySecret = await orNull(kube.core.readNamespacedSecret({ name: FINGERPRINT_KEY_SECRET, namespace: RIPPLE_NAMESPACE }));
  let key: Buffer | string;
  if (keySecret) key = await readFingerprintKey(kube.core);
  else {
    key = newFingerprintKey();
    notes.push(`${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET} is absent (ripple not installed yet): fingerprints are computed with a throw-away key`);
  }
  const rollout = await loadRollout();
  const restartsUnavailable = typeof rollout === 'string' ? rollout : null;
  const cache = newReadCache();
  const rows: ExplainRow[] = [];
  // a set (source.selector) is its members: the bases its selector picks now, and those that left it with copies
  const concrete: RipplePolicy[] = [];
  for (const p of policies.filter((x) => x.spec.sync)) {
    if (!isSet(p)) concrete.push(...variantsOf(p));
    else {
      const members = await setMembers({ set: p, scope: { kind: 'all' }, sourceCore: kube.core, targetCore: kube.core, named: policies });
      if (members.length === 0) notes.push(`policy ${p.metadata.name}: no ${p.spec.source.kind} in namespace ${p.spec.source.namespace} matches source.selector`);
      concrete.push(...members);
    }
  }
  for (const policy of concrete) {
    const snapshot = await readCurrent(kube, policy, { kind: 'all' }, cache, { source: readSource(kube, policy, policies) });
    if (!snapshot.source) notes.push(`policy ${policy.metadata.name}: source ${policy.spec.source.kind} ${policy.spec.source.namespace}/${policy.spec.source.name} is ${setOf(policy) ? 'absent or no longer selected' : 'absent'}`);
    const actions = planClone({ ...snapshot, fingerprintKey: key });
    const settings = typeof rollout === 'string' ? null : rollout.reloadSettings([policy]);
    await pool(actions, opts.concurrency ?? 16, async (a) => {
      let restarts: string[] | null = typeof rollout === 'string' ? null : [];
      if (typeof rollout !== 'string' && settings && contentChange(a) && 'object' in a) {
        const workloads = await rollout.listWorkloads(kube.raw, a.namespace, settings.kinds);
        const fp = a.object.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT] ?? '';
        const plan = rollout.planRollouts([{ kind: a.kind, namespace: a.namespace, name: a.name, fingerprint: fp, settings }], workloads, new Date());
        restarts = plan.patches.map((p) => `${p.workload.kind}/${p.workload.name}`);
      }
      rows.push({ policy: policy.metadata.name, kind: a.kind, namespace: a.namespace, name: a.name, action: a.action, differs: 'differs' in a ? a.differs : [], restarts, reason: a.reason });
    });
  }
  rows.sort((x, y) => (x.policy + '\0' + x.namespace < y.policy + '\0' + y.namespace ? -1 : 1));
  return { rows, restartsUnavailable, notes: [...new Set(notes)] }; // a base's several names note its absence once
}

/** Plain-text table: POLICY NAMESPACE ACTION DIFFERS RESTARTS REASON. */
export function formatExplain(result: ExplainResult, opts: { changesOnly?: boolean } = {}): string {
  const rows = opts.changesOnly ? result.rows.filter((r) => r.action !== 'skip') : result.rows;
  const header = ['POLICY', 'KIND', 'NAMESPACE', 'NAME', 'ACTION', 'DIFFERS', 'RESTARTS', 'REASON'];
  const cells = rows.map((r) => [
    r.policy,
    r.kind,
    r.namespace,
    r.name,
    r.action,
    r.differs.length ? r.differs.join(',') : '-',
    r.restarts === null ? 'n/a' : r.restarts.length ? r.restarts.join(',') : '-',
    r.reason,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  const out = [line(header), ...cells.map(line)];
  const count = (t: string) => result.rows.filter((r) => r.action === t).length;
  out.push('', `${count('create')} to create, ${count('update') + count('replace-immutable')} to update, ${count('delete')} to delete, ${count('report-unmanaged')} unmanaged, ${count('report-immutable')} immutable not replaced; nothing was written.`);
  if (result.restartsUnavailable) out.push(`RESTARTS column unavailable: ${result.restartsUnavailable}.`);
  for (const n of result.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
