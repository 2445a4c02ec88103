/**
 * Fleet placement: which cluster holds a policy's source and which clusters receive its copies. Pure.
 *
 * The stage's clusters are an ordered list, the first the primary (RIPPLE_CLUSTER_NAME, the `cluster` param).
 *
 * - Neither `spec.source.cluster` nor `spec.sync.clusters`: a cluster-local policy, as before fleets: every
 *   cluster of the stage has its own source (same kind/namespace/name) copied within that cluster.
 * - Otherwise the source is in `spec.source.cluster` (default: the primary cluster) and the copies go to every
 *   cluster of `spec.sync.clusters` (`"*"`: every cluster of the stage; default: the source's cluster only).
 *   The namespace rules (include/exclude/selector) apply in each target cluster; the source's namespace never
 *   holds a copy, in any cluster (its name is reserved for the base, which protect and admission guard).
 */
import type { RipplePolicy } from './schema.ts';

/** One (source cluster, target cluster) pair: read the source in `source`, write copies in `target`. */
export interface Placement {
  source: string;
  target: string;
}

/** The stage's clusters, primary first, from the handlers' configuration (RIPPLE_CLUSTER_NAME, RIPPLE_CLUSTERS). */
export function stageClusters(config: { defaultCluster: string; clusters: Record<string, unknown> }): string[] {
  return [...new Set([config.defaultCluster, ...Object.keys(config.clusters)])];
}

/** True when the policy names a cluster (source or targets): it is placed across the fleet, not per cluster. */
export function isFleetPolicy(p: RipplePolicy): boolean {
  return p.spec.source.cluster !== undefined || p.spec.sync?.clusters !== undefined;
}

/** The cluster holding the source, or null for a cluster-local policy (each cluster's own). */
export function sourceClusterOf(p: RipplePolicy, stage: readonly string[]): string | null {
  if (!isFleetPolicy(p)) return null;
  return p.spec.source.cluster ?? stage[0] ?? null;
}

/** The clusters receiving copies of a fleet policy (empty for a cluster-local one: see `placements`). */
export function targetClustersOf(p: RipplePolicy, stage: readonly string[]): string[] {
  const source = sourceClusterOf(p, stage);
  if (source === null) return [];
  const listed = p.spec.sync?.clusters;
  if (!listed) return [source];
  return listed.includes('*') ? [...stage] : [...listed];
}

/**
 * Every (source, target) pair of a policy in this stage. A cluster the stage does not have is never placed (`ripple
 * validate` refuses it when it knows the stage; the handlers log it): a source outside the stage places nothing, a
 * target outside it is left out.
 */
export function placements(p: RipplePolicy, stage: readonly string[]): Placement[] {
  const source = sourceClusterOf(p, stage);
  if (source === null) return stage.map((c) => ({ source: c, target: c }));
  if (!stage.includes(source)) return [];
  return targetClustersOf(p, stage)
    .filter((target) => stage.includes(target))
    .map((target) => ({ source, target }));
}

/** True when cluster `c` holds the policy's source (for a cluster-local policy: every cluster does). */
export function isSourceCluster(p: RipplePolicy, stage: readonly string[], c: string): boolean {
  const source = sourceClusterOf(p, stage);
  return source === null || source === c;
}

/** Cluster names a policy gives that are not clusters of the stage, with the field path naming each. */
export function unknownClusters(p: RipplePolicy, stage: readonly string[]): { path: (string | number)[]; cluster: string }[] {
  const known = new Set(stage);
  const out: { path: (string | number)[]; cluster: string }[] = [];
  const src = p.spec.source.cluster;
  if (src !== undefined && !known.has(src)) out.push({ path: ['spec', 'source', 'cluster'], cluster: src });
  (p.spec.sync?.clusters ?? []).forEach((c, i) => {
    if (c !== '*' && !known.has(c)) out.push({ path: ['spec', 'sync', 'clusters', i], cluster: c });
  });
  return out;
}
