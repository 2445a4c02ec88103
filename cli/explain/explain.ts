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
import { placements, sourceClusterOf } from '../../core/policy/fleet.ts';

export interface ExplainRow {
  /** The target cluster (a fleet: `ripple explain --clusters`); absent for one cluster. */
  cluster?: string;
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
  /** A fleet: per policy, where its source is read and which clusters receive its copies. */
  placements?: { policy: string; source: string | null; targets: string[] }[];
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

type ExplainKube = Pick<Kube, 'core' | 'apps' | 'raw'>;

/** The fingerprint key of one cluster (its copies carry fingerprints under it), or a throw-away one with a note. */
async function keyOf(kube: ExplainKube, notes: string[], cluster?: string): Promise<Buffer | string> {
  const keySecret = await orNull(kube.core.readNamespacedSecret({ name: FINGERPRINT_KEY_SECRET, namespace: RIPPLE_NAMESPACE }));
  if (keySecret) return readFingerprintKey(kube.core);
  notes.push(`${cluster ? `cluster ${cluster}: ` : ''}${RIPPLE_NAMESPACE}/${FINGERPRINT_KEY_SECRET} is absent (ripple not installed yet): fingerprints are computed with a throw-away key`);
  return newFingerprintKey();
}

/** One policy's copies in one cluster (`kube`), its source read in `sourceKube`: rows pushed to `rows`. */
async function explainIn(
  ctx: { rollout: RolloutModules | string; concurrency: number; rows: ExplainRow[]; notes: string[] },
  kube: ExplainKube,
  sourceKube: ExplainKube,
  key: Buffer | string,
  policy: RipplePolicy,
  policies: readonly RipplePolicy[],
  cache: ReturnType<typeof newReadCache>,
  cluster?: string,
): Promise<void> {
  const { rollout } = ctx;
  const snapshot = await readCurrent(kube, policy, { kind: 'all' }, cache, { source: readSource(sourceKube, policy, policies) });
  if (!snapshot.source) ctx.notes.push(`policy ${policy.metadata.name}: source ${policy.spec.source.kind} ${policy.spec.source.namespace}/${policy.spec.source.name} is ${setOf(policy) ? 'absent or no longer selected' : 'absent'}`);
  const actions = planClone({ ...snapshot, fingerprintKey: key });
  const settings = typeof rollout === 'string' ? null : rollout.reloadSettings([policy]);
  await pool(actions, ctx.concurrency, async (a) => {
    let restarts: string[] | null = typeof rollout === 'string' ? null : [];
    if (typeof rollout !== 'string' && settings && contentChange(a) && 'object' in a) {
      const workloads = await rollout.listWorkloads(kube.raw, a.namespace, settings.kinds);
      const fp = a.object.metadata?.annotations?.[ANN_SOURCE_FINGERPRINT] ?? '';
      const plan = rollout.planRollouts([{ kind: a.kind, namespace: a.namespace, name: a.name, fingerprint: fp, settings }], workloads, new Date());
      restarts = plan.patches.map((p) => `${p.workload.kind}/${p.workload.name}`);
    }
    ctx.rows.push({ ...(cluster ? { cluster } : {}), policy: policy.metadata.name, kind: a.kind, namespace: a.namespace, name: a.name, action: a.action, differs: 'differs' in a ? a.differs : [], restarts, reason: a.reason });
  });
}

/**
 * The one-base policies a syncing policy stands for: one per target name (sync.targetNames); a set (source.selector)
 * is its members, the bases its selector picks now and those that left it with copies (read in the source's cluster).
 */
async function concreteOf(which: readonly RipplePolicy[], policies: readonly RipplePolicy[], kube: ExplainKube, sourceKube: ExplainKube, notes: string[]): Promise<RipplePolicy[]> {
  const concrete: RipplePolicy[] = [];
  for (const p of which.filter((x) => x.spec.sync)) {
    if (!isSet(p)) concrete.push(...variantsOf(p));
    else {
      const members = await setMembers({ set: p, scope: { kind: 'all' }, sourceCore: sourceKube.core, targetCore: kube.core, named: [...policies] });
      if (members.length === 0) notes.push(`policy ${p.metadata.name}: no ${p.spec.source.kind} in namespace ${p.spec.source.namespace} matches source.selector`);
      concrete.push(...members);
    }
  }
  return concrete;
}

const byPlace = (x: ExplainRow, y: ExplainRow) => {
  const a = `${x.policy}\0${x.cluster ?? ''}\0${x.namespace}`;
  const b = `${y.policy}\0${y.cluster ?? ''}\0${y.namespace}`;
  return a < b ? -1 : a > b ? 1 : 0;
};

export async function explainClone(kube: ExplainKube, policies: readonly RipplePolicy[], opts: { concurrency?: number } = {}): Promise<ExplainResult> {
  const notes: string[] = [];
  const key = await keyOf(kube, notes);
  const rollout = await loadRollout();
  const restartsUnavailable = typeof rollout === 'string' ? rollout : null;
  const cache = newReadCache();
  const rows: ExplainRow[] = [];
  const ctx = { rollout, concurrency: opts.concurrency ?? 16, rows, notes };
  for (const policy of await concreteOf(policies, policies, kube, kube, notes)) await explainIn(ctx, kube, kube, key, policy, policies, cache);
  rows.sort(byPlace);
  return { rows, restartsUnavailable, notes: [...new Set(notes)] }; // a base's several names note its absence once
}

/**
 * The dry run across a fleet: `stage` the stage's clusters (primary first), `kubeFor(cluster)` a client for each
 * (null: not reachable from this kubeconfig, noted). Per policy, its placement (core/policy/fleet.ts: where the
 * source is read, which clusters receive copies), then per target cluster the same rows as explainClone, each
 * naming its cluster; the source is read in its own cluster, the copies compared under the target's key.
 */
export async function explainFleet(kubeFor: (cluster: string) => ExplainKube | null, stage: readonly string[], policies: readonly RipplePolicy[], opts: { concurrency?: number } = {}): Promise<ExplainResult> {
  const notes: string[] = [];
  const rollout = await loadRollout();
  const rows: ExplainRow[] = [];
  const ctx = { rollout, concurrency: opts.concurrency ?? 16, rows, notes };
  const keys = new Map<string, Buffer | string>();
  const caches = new Map<string, ReturnType<typeof newReadCache>>();
  const unreachable = new Set<string>();
  const reach = (c: string): ExplainKube | null => {
    const k = kubeFor(c);
    if (!k && !unreachable.has(c)) {
      unreachable.add(c);
      notes.push(`cluster ${c}: no kubeconfig context named ${c} (aws eks update-kubeconfig --name ${c} --alias ${c}); not explained`);
    }
    return k;
  };
  const placementsOut: NonNullable<ExplainResult['placements']> = [];
  for (const policy of policies.filter((p) => p.spec.sync)) {
    const placed = placements(policy, stage);
    placementsOut.push({ policy: policy.metadata.name, source: sourceClusterOf(policy, stage), targets: placed.map((p) => p.target) });
    if (!placed.length) notes.push(`policy ${policy.metadata.name}: places nothing in this stage (its source cluster ${policy.spec.source.cluster ?? '?'} is not one of ${stage.join(', ')})`);
    for (const { source, target } of placed) {
      const kube = reach(target);
      const sourceKube = reach(source);
      if (!kube || !sourceKube) continue;
      if (!keys.has(target)) keys.set(target, await keyOf(kube, notes, target));
      if (!caches.has(target)) caches.set(target, newReadCache());
      for (const one of await concreteOf([policy], policies, kube, sourceKube, notes)) await explainIn(ctx, kube, sourceKube, keys.get(target)!, one, policies, caches.get(target)!, target);
    }
  }
  rows.sort(byPlace);
  return { placements: placementsOut, rows, restartsUnavailable: typeof rollout === 'string' ? rollout : null, notes: [...new Set(notes)] };
}

/** Plain-text table: POLICY NAMESPACE ACTION DIFFERS RESTARTS REASON. */
export function formatExplain(result: ExplainResult, opts: { changesOnly?: boolean } = {}): string {
  const rows = opts.changesOnly ? result.rows.filter((r) => r.action !== 'skip') : result.rows;
  const fleet = result.placements !== undefined;
  const header = [...(fleet ? ['CLUSTER'] : []), 'POLICY', 'KIND', 'NAMESPACE', 'NAME', 'ACTION', 'DIFFERS', 'RESTARTS', 'REASON'];
  const cells = rows.map((r) => [
    ...(fleet ? [r.cluster ?? '-'] : []),
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
  const out = [
    ...(result.placements ?? []).map((p) => `policy ${p.policy}: source in ${p.source ?? 'each cluster (cluster-local)'}, copies in ${p.targets.length ? p.targets.join(', ') : 'no cluster'}`),
    ...(fleet ? [''] : []),
    line(header),
    ...cells.map(line),
  ];
  const count = (t: string) => result.rows.filter((r) => r.action === t).length;
  out.push('', `${count('create')} to create, ${count('update') + count('replace-immutable')} to update, ${count('delete')} to delete, ${count('report-unmanaged')} unmanaged, ${count('report-immutable')} immutable not replaced; nothing was written.`);
  if (result.restartsUnavailable) out.push(`RESTARTS column unavailable: ${result.restartsUnavailable}.`);
  for (const n of result.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
