/**
 * Checks across a set of policies: one policy per source object, unique names, and no two policies writing the
 * same copy into the same namespace, each within a cluster: policies placed in different clusters of a fleet
 * (source.cluster, sync.clusters) do not conflict.
 */
import type { RipplePolicy } from './schema.ts';
import { policyOrigin, type PolicyProblem } from './problems.ts';
import type { LabelSelector } from './schema.ts';
import { isGlob, isSet, namespaceNameSkipReason, variantsOf, targetName } from './select.ts';
import { isFleetPolicy } from './fleet.ts';


/**
 * The clusters a policy's source (or its copies) may be in: ALL, or a set of names. A cluster-local policy has its
 * source and copies in every cluster; a fleet policy's source is `source.cluster` (default: the stage's primary,
 * ALL when the stage is not known: reported rather than missed), its copies in `sync.clusters` (`"*"`: ALL;
 * default: the source's cluster).
 */
type Clusters = 'ALL' | Set<string>;

function sourceClusters(p: RipplePolicy, stage?: readonly string[]): Clusters {
  if (!isFleetPolicy(p)) return 'ALL';
  const c = p.spec.source.cluster ?? stage?.[0];
  return c === undefined ? 'ALL' : new Set([c]);
}

function copyClusters(p: RipplePolicy, stage?: readonly string[]): Clusters {
  if (!isFleetPolicy(p)) return 'ALL';
  const listed = p.spec.sync?.clusters;
  if (!listed) return sourceClusters(p, stage);
  return listed.includes('*') ? 'ALL' : new Set(listed);
}

/** A cluster both sets may hold, or null when disjoint. */
function sharedCluster(a: Clusters, b: Clusters): string | null {
  if (a === 'ALL') return b === 'ALL' ? 'every cluster' : b.size ? `cluster ${[...b][0]}` : null;
  if (b === 'ALL') return a.size ? `cluster ${[...a][0]}` : null;
  const c = [...a].find((x) => b.has(x));
  return c === undefined ? null : `cluster ${c}`;
}

function srcKey(p: RipplePolicy): string {
  const s = p.spec.source;
  return s.selector ? `${s.kind} ${s.namespace} selector ${JSON.stringify(s.selector)}` : `${s.kind} ${s.namespace}/${s.name}`;
}

/** A literal prefix/suffix check: two globs whose fixed prefixes (or suffixes) differ can never match one name. */
function globsDisjoint(a: string, b: string): boolean {
  const pre = (g: string) => g.slice(0, g.search(/[*?]|$/));
  const suf = (g: string) => {
    const i = Math.max(g.lastIndexOf('*'), g.lastIndexOf('?'));
    return i < 0 ? g : g.slice(i + 1);
  };
  const [pa, pb] = [pre(a), pre(b)];
  if (!pa.startsWith(pb) && !pb.startsWith(pa)) return true;
  const [sa, sb] = [suf(a), suf(b)];
  if (!sa.endsWith(sb) && !sb.endsWith(sa)) return true;
  return false;
}

/** Label selectors that can never both match one namespace (conservative: only the obvious cases). */
function selectorsDisjoint(a: RipplePolicy, b: RipplePolicy): boolean {
  return labelSelectorsDisjoint(a.spec.sync?.namespaces.selector, b.spec.sync?.namespaces.selector);
}

/** Two label selectors that can never both match one object's labels (conservative: only the obvious cases). */
function labelSelectorsDisjoint(sa: LabelSelector | undefined, sb: LabelSelector | undefined): boolean {
  const req = (sel: LabelSelector | undefined): Map<string, Set<string>> => {
    const out = new Map<string, Set<string>>();
    for (const [k, v] of Object.entries(sel?.matchLabels ?? {})) out.set(k, new Set([v]));
    for (const e of sel?.matchExpressions ?? []) {
      if (e.operator !== 'In') continue;
      const vals = new Set(e.values ?? []);
      const prev = out.get(e.key);
      out.set(e.key, prev ? new Set([...prev].filter((x) => vals.has(x))) : vals);
    }
    return out;
  };
  const ra = req(sa);
  const rb = req(sb);
  for (const [k, va] of ra) {
    const vb = rb.get(k);
    if (vb && ![...va].some((x) => vb.has(x))) return true;
  }
  const absent = (sel: LabelSelector | undefined) => new Set((sel?.matchExpressions ?? []).filter((e) => e.operator === 'DoesNotExist').map((e) => e.key));
  for (const k of absent(sa)) if (rb.has(k)) return true;
  for (const k of absent(sb)) if (ra.has(k)) return true;
  return false;
}

/** Can two syncing policies ever select the same namespace? */
function mayShareNamespace(a: RipplePolicy, b: RipplePolicy): string | null {
  if (selectorsDisjoint(a, b)) return null;
  const ia = a.spec.sync!.namespaces.include;
  const ib = b.spec.sync!.namespaces.include;
  const literalA = ia.every((g) => !isGlob(g));
  const literalB = ib.every((g) => !isGlob(g));
  if (literalA || literalB) {
    const [names, other, self] = literalA ? [ia, b, a] : [ib, a, b];
    const shared = names.find((n) => namespaceNameSkipReason(self, n) === null && namespaceNameSkipReason(other, n) === null);
    return shared ?? null;
  }
  for (const ga of ia) {
    for (const gb of ib) {
      if (!globsDisjoint(ga, gb)) return `matching both "${ga}" and "${gb}"`;
    }
  }
  return null;
}

function originText(p: RipplePolicy): string {
  const o = policyOrigin(p);
  return o ? `${o.file}:${o.line}:${o.col}` : '<unknown>';
}

/**
 * Problems across a set of policies: duplicate names, two policies for one source object, two policies
 * writing the same copy (kind + name) into one namespace, a copy that would overwrite another policy's source.
 */
export function checkPolicySet(policies: RipplePolicy[], stage?: readonly string[]): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const report = (p: RipplePolicy, path: string, message: string) => {
    const o = policyOrigin(p) ?? { file: '<unknown>', line: 0, col: 0 };
    problems.push({ ...o, path, message });
  };
  const byName = new Map<string, RipplePolicy>();
  const bySource = new Map<string, RipplePolicy[]>();
  for (const p of policies) {
    const prevName = byName.get(p.metadata.name);
    if (prevName) report(p, 'metadata.name', `duplicate policy name "${p.metadata.name}" (also at ${originText(prevName)}); policy names must be unique`);
    else byName.set(p.metadata.name, p);
    // one policy per source object per cluster: same-named bases in different clusters are different objects
    const same = bySource.get(srcKey(p)) ?? [];
    const prevSrc = same.find((q) => sharedCluster(sourceClusters(q, stage), sourceClusters(p, stage)) !== null);
    if (prevSrc) {
      const where = isFleetPolicy(p) || isFleetPolicy(prevSrc) ? ` in ${sharedCluster(sourceClusters(prevSrc, stage), sourceClusters(p, stage))}` : '';
      report(p, 'spec.source', `${srcKey(p)}${where} is already the source of policy "${prevSrc.metadata.name}" (${originText(prevSrc)}); write one RipplePolicy per source object and merge protect/sync/reload into it${where ? ' (or give each its own source.cluster)' : ''}`);
    }
    bySource.set(srcKey(p), [...same, p]);
  }
  const syncing = policies.filter((p) => p.spec.sync);
  const sets = syncing.filter(isSet);
  for (let i = 0; i < sets.length; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      const [a, b] = [sets[i], sets[j]];
      const [sa, sb] = [a.spec.source, b.spec.source];
      if (sa.kind !== sb.kind || sa.namespace !== sb.namespace || labelSelectorsDisjoint(sa.selector, sb.selector)) continue;
      if (sharedCluster(sourceClusters(a, stage), sourceClusters(b, stage)) === null) continue;
      if (sharedCluster(copyClusters(a, stage), copyClusters(b, stage)) === null) continue;
      const shared = mayShareNamespace(a, b);
      if (shared) {
        report(
          b,
          'spec.source.selector',
          `policies "${a.metadata.name}" (${originText(a)}) and "${b.metadata.name}" may both select the same ${sa.kind} in namespace ${sa.namespace} and copy it into the same namespaces (e.g. a namespace ${shared.startsWith('matching') ? shared : `"${shared}"`}); make their source.selector disjoint (one label with different values) or their sync.namespaces disjoint`,
        );
      }
    }
  }
  // one variant per target name (sync.targetNames): a name is what two policies can collide on
  const named = syncing.filter((p) => !isSet(p)).flatMap(variantsOf);
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [a, b] = [named[i], named[j]];
      if (a.metadata.name === b.metadata.name) continue; // two names of one policy never collide (schema: distinct)
      if (a.spec.source.kind !== b.spec.source.kind || targetName(a) !== targetName(b)) continue;
      // copies in different clusters never meet
      const cluster = sharedCluster(copyClusters(a, stage), copyClusters(b, stage));
      if (cluster === null) continue;
      const shared = mayShareNamespace(a, b);
      if (shared) {
        const where = isFleetPolicy(a) || isFleetPolicy(b) ? ` of ${cluster}` : '';
        report(
          b,
          'spec.sync',
          `policies "${a.metadata.name}" (${originText(a)}) and "${b.metadata.name}" both write ${a.spec.source.kind} "${targetName(a)}" into the same namespaces${where} (e.g. a namespace ${shared.startsWith('matching') ? shared : `"${shared}"`}); give one a different sync.targetName or make their sync.namespaces disjoint (exact names, distinct prefixes, or conflicting selector labels)${where ? ', or their sync.clusters' : ''}`,
        );
      }
    }
  }
  // a set's copies have its bases' names, known only at run time: a same-named object they would meet is never ripple's
  // copy of that base, and the clone handler leaves it alone (report-unmanaged)
  for (const a of named) {
    for (const b of policies) {
      if (a === b || isSet(b)) continue;
      const s = b.spec.source;
      if (s.kind !== a.spec.source.kind || s.name !== targetName(a)) continue;
      if (sharedCluster(copyClusters(a, stage), sourceClusters(b, stage)) === null) continue;
      if (namespaceNameSkipReason(a, s.namespace) === null) {
        report(
          a,
          'spec.sync.namespaces',
          `would copy ${s.kind} "${s.name}" into namespace ${s.namespace}, overwriting the source of policy "${b.metadata.name}" (${originText(b)}); add "${s.namespace}" to sync.namespaces.exclude`,
        );
      }
    }
  }
  return problems;
}
