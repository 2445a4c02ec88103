/**
 * `ripple import kyverno`: a mutate-existing rule -> the reload part of the objects it watches.
 */
import { ANN_RELOAD_OPT_OUT, type ObjectKind } from '../../core/constants.ts';
import {
  checkKeys,
  conditionOperations,
  hasWildcard,
  intersectOperations,
  isObj,
  matchOperations,
  resourceFilters,
  RuleContext,
  selectorOf,
  type Obj,
  type Operation,
  type RefForm,
  type ReloadPart,
  type ResourceFilter,
  type WorkloadKind,
} from './kyverno-context.ts';
import type { Seg } from '../../core/policy/load.ts';

/** Kinds one might expect ripple to restart, but it does not (a different message from "mutating a Secret"). */
const WORKLOAD_LIKE = ['CronJob', 'Job', 'Pod', 'ReplicaSet', 'Rollout'];

export const RESTART_NS = /^\{\{\s*request\.namespace\s*\}\}$/;
export const anchor = (k: string): string | null => {
  const m = /^\(([^()]+)\)$/.exec(k);
  return m ? m[1] : null;
};

/** Walk the conditional anchors below `(spec)` of the pod template; returns the reference forms they select. */
export function anchorReferences(ctx: RuleContext, rel: Seg[], spec: unknown, kind: ObjectKind, names: string[]): RefForm[] {
  const forms = new Set<RefForm>();
  const bad = (r: Seg[], what: string) => ctx.fail(r, `conditional anchor ${what} is not supported; ripple understands (containers)/(initContainers) with (env)(valueFrom)(secretKeyRef|configMapKeyRef)(name), (envFrom)(secretRef|configMapRef)(name), and (volumes) with (secret)(secretName), (configMap)(name) or (projected)(sources)(secret|configMap)(name)`);
  const nameMatches = (r: Seg[], v: unknown) => {
    if (typeof v !== 'string' || !names.includes(v)) {
      ctx.fail(r, `the anchor names ${JSON.stringify(v)}, but the rule matches ${kind} ${names.join(', ')}; ripple restarts consumers of the matched object only`);
      return false;
    }
    return true;
  };
  const single = (r: Seg[], o: unknown, allowed: string[]): [string, unknown] | undefined => {
    if (!isObj(o) || Object.keys(o).length !== 1) return bad(r, 'here (expected exactly one anchored key)');
    const [k, v] = Object.entries(o)[0];
    const a = anchor(k);
    if (!a || !allowed.includes(a)) return bad([...r, k], `"${k}"`);
    return [a, v];
  };
  const listItems = (r: Seg[], v: unknown): { r: Seg[]; v: unknown }[] => {
    if (!Array.isArray(v) || v.length === 0) {
      bad(r, 'here (expected a list with one pattern)');
      return [];
    }
    return v.map((x, i) => ({ r: [...r, i], v: x }));
  };
  const refKey = kind === 'Secret' ? { key: 'secretKeyRef', from: 'secretRef', vol: 'secret', volName: 'secretName' } : { key: 'configMapKeyRef', from: 'configMapRef', vol: 'configMap', volName: 'name' };
  const nameLeaf = (r: Seg[], o: unknown, leaf: string) => {
    const s = single(r, o, [leaf]);
    if (s) return nameMatches([...r, `(${leaf})`], s[1]);
    return false;
  };
  if (!isObj(spec)) {
    bad(rel, '(spec) must be a mapping');
    return [];
  }
  for (const [k, v] of Object.entries(spec)) {
    const a = anchor(k);
    const r = [...rel, k];
    if (a === 'containers' || a === 'initContainers') {
      for (const item of listItems(r, v)) {
        const s = single(item.r, item.v, ['env', 'envFrom']);
        if (!s) continue;
        const [which, val] = s;
        for (const e of listItems([...item.r, `(${which})`], val)) {
          if (which === 'env') {
            const vf = single(e.r, e.v, ['valueFrom']);
            if (!vf) continue;
            const ref = single([...e.r, '(valueFrom)'], vf[1], [refKey.key]);
            if (ref && nameLeaf([...e.r, '(valueFrom)', `(${refKey.key})`], ref[1], 'name')) forms.add('env');
          } else {
            const ref = single(e.r, e.v, [refKey.from]);
            if (ref && nameLeaf([...e.r, `(${refKey.from})`], ref[1], 'name')) forms.add('envFrom');
          }
        }
      }
    } else if (a === 'volumes') {
      for (const item of listItems(r, v)) {
        const s = single(item.r, item.v, [refKey.vol, 'projected']);
        if (!s) continue;
        if (s[0] === 'projected') {
          const src = single([...item.r, '(projected)'], s[1], ['sources']);
          if (!src) continue;
          for (const e of listItems([...item.r, '(projected)', '(sources)'], src[1])) {
            const ref = single(e.r, e.v, [refKey.vol]);
            if (ref && nameLeaf([...e.r, `(${refKey.vol})`], ref[1], 'name')) forms.add('projected');
          }
        } else if (nameLeaf([...item.r, `(${refKey.vol})`], s[1], refKey.volName)) forms.add('volume');
      }
    } else {
      bad(r, `"${k}"`);
    }
  }
  return [...forms];
}

export function importMutate(ctx: RuleContext, rule: Obj, spec: Obj, reloads: { part: ReloadPart; kind: ObjectKind; rel: Seg[] }[]): void {
  const m = rule.mutate;
  if (!isObj(m)) return void ctx.fail(['mutate'], 'mutate must be a mapping');
  checkKeys(ctx, ['mutate'], m, ['targets', 'patchStrategicMerge', 'mutateExistingOnPolicyUpdate'], 'mutate field');
  // The rule's own setting (Kyverno's current place for it) wins over the deprecated spec-level one.
  const onPolicyUpdate = m.mutateExistingOnPolicyUpdate ?? spec.mutateExistingOnPolicyUpdate;
  if (onPolicyUpdate === true) {
    ctx.fail(
      m.mutateExistingOnPolicyUpdate !== undefined ? ['mutate', 'mutateExistingOnPolicyUpdate'] : ['mutate'],
      'mutateExistingOnPolicyUpdate: true (restart every matching workload whenever the policy is created or changed) is not supported: ripple restarts consumers only when the object they read changes; set it to false',
    );
  }
  if (!Array.isArray(m.targets) || m.targets.length === 0) {
    return void ctx.fail(['mutate'], 'only mutate-existing rules (mutate.targets) are supported; admission-time mutation has no ripple equivalent');
  }
  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  const matchedNs = [...new Set(match.resources.flatMap((f) => f.namespaces ?? []))];
  const restart = restartTargets(ctx, m.targets, matchedNs);
  if (!restart) return;
  const { kinds, named } = restart;
  const patch = restartPatch(ctx, m);
  if (!patch) return;
  const { prel, tpl, ann } = patch;
  const notes: string[] = [
    `pod-template annotation ${Object.keys(ann).join(', ')} -> ripple's own restart annotations (ripple.dev/restarted-for, ripple.dev/restarted-at), written only when the content the pods were started with differs`,
  ];

  if (match.actors.length > 0) ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported on a restart rule');
  if (rule.exclude !== undefined) {
    ctx.fail(['exclude'], `exclude on a restart rule is not supported: ripple restarts the consumers wherever the object and its copies live; to keep a workload from restarting, annotate it ${ANN_RELOAD_OPT_OUT}: "false"`);
  }
  notes.unshift(...ctx.notes);
  const preOps = conditionOperations(ctx, ['preconditions'], rule.preconditions, { what: 'preconditions', otherKeyHint: 'ripple restarts when the object\'s content changes' });
  if (preOps === undefined) return;
  restartOperations(ctx, match, preOps, notes);
  if (named.length) {
    notes.push(
      `${named.every((t) => t.name !== undefined) ? 'named ' : ''}restart target${named.length === 1 ? '' : 's'} ${named.map((t) => `${t.kind} ${t.namespace ? `${t.namespace}/` : ''}${t.name ?? `chosen by label ${JSON.stringify(t.selector)}`}`).join(', ')} -> reload.targets (restarted whether or not its pods read the object, as Kyverno does); ripple also restarts the workloads whose pods reference the object`,
    );
  }
  for (const f of match.resources) reloadsOf(ctx, f, tpl, prel, kinds, notes, reloads, named);
}

type NamedTarget = NonNullable<ReloadPart['targets']>[number];

/**
 * mutate.targets: the workload kinds restarted in the changed object's namespace, and the targets named; undefined
 * when a root refusal decides.
 */
function restartTargets(ctx: RuleContext, targets: unknown[], matchedNs: string[]): { kinds: WorkloadKind[]; named: NamedTarget[] } | undefined {
  const kinds: WorkloadKind[] = [];
  const named: NamedTarget[] = [];
  let rootRefused = false;
  targets.forEach((t: unknown, i: number) => {
    const r: Seg[] = ['mutate', 'targets', i];
    if (!isObj(t)) return void ctx.fail(r, 'a target must be a mapping');
    if (t.kind !== 'Deployment' && t.kind !== 'StatefulSet' && t.kind !== 'DaemonSet') {
      rootRefused = true;
      const k = typeof t.kind === 'string' ? t.kind : JSON.stringify(t.kind);
      return void ctx.fail(
        [...r, 'kind'],
        WORKLOAD_LIKE.includes(k)
          ? `restarting a ${k} (mutate.targets kind ${k}) is not supported: ripple rolls out Deployments, StatefulSets and DaemonSets whose pods read the changed object`
          : `mutating a ${k} (mutate.targets kind ${k}) is not something ripple does: it restarts the Deployments, StatefulSets and DaemonSets that consume a changed Secret or ConfigMap, and edits nothing else`,
      );
    }
    checkKeys(ctx, r, t, ['apiVersion', 'kind', 'namespace', 'name', 'selector'], 'target field');
    if (t.name !== undefined && t.selector !== undefined) {
      rootRefused = true;
      return void ctx.fail([...r, 'selector'], 'a restart target with both a name and a selector is not supported; name one workload, or select them by label');
    }
    if (t.name !== undefined && (typeof t.name !== 'string' || /\{\{/.test(t.name) || hasWildcard(t.name))) {
      rootRefused = true;
      return void ctx.fail([...r, 'name'], `a restart target's name ${JSON.stringify(t.name)} must be a literal workload name (or leave it out: the workloads that reference the object)`);
    }
    if (t.apiVersion !== 'apps/v1') ctx.fail([...r, 'apiVersion'], 'targets must be apps/v1 workloads');
    const ns = typeof t.namespace === 'string' ? t.namespace.trim() : t.namespace;
    const sameNs = typeof ns === 'string' && (RESTART_NS.test(ns) || (matchedNs.length === 1 && ns === matchedNs[0]) || (ctx.policyNamespace !== undefined && ns === ctx.policyNamespace));
    if (!sameNs) {
      ctx.fail([...r, 'namespace'], `target namespace ${JSON.stringify(t.namespace)}: ripple restarts consumers in the namespace of the changed object; use "{{request.namespace}}"`);
    }
    kinds.push(t.kind);
    const inNs = typeof ns === 'string' && !RESTART_NS.test(ns) ? { namespace: ns } : {};
    if (typeof t.name === 'string') named.push({ kind: t.kind, name: t.name, ...inNs });
    else if (t.selector !== undefined) {
      const selector = selectorOf(ctx, [...r, 'selector'], t.selector);
      if (selector && Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) ctx.fail([...r, 'selector'], 'an empty target selector is not supported (it would restart every workload of the kind); leave it out to restart the workloads that reference the object');
      else if (selector) named.push({ kind: t.kind, selector, ...inNs });
    }
  });
  return rootRefused ? undefined : { kinds, named };
}

/** mutate.patchStrategicMerge: it must annotate the pod template; undefined when refused. */
function restartPatch(ctx: RuleContext, m: Obj): { prel: Seg[]; tpl: Obj; ann: Obj } | undefined {
  const psm = m.patchStrategicMerge;
  const prel: Seg[] = ['mutate', 'patchStrategicMerge'];
  if (!isObj(psm)) return void ctx.fail(prel, 'patchStrategicMerge annotating spec.template.metadata.annotations is required (patchesJson6902 and foreach are not supported)');
  checkKeys(ctx, prel, psm, ['spec'], 'patch field');
  const tpl = psm.spec?.template;
  if (!isObj(psm.spec) || !isObj(tpl)) return void ctx.fail([...prel, 'spec'], 'the patch must set spec.template.metadata.annotations');
  checkKeys(ctx, [...prel, 'spec'], psm.spec, ['template'], 'patch field');
  checkKeys(ctx, [...prel, 'spec', 'template'], tpl, ['metadata', '(spec)'], 'patch field');
  const ann = tpl.metadata?.annotations;
  if (!isObj(tpl.metadata) || !isObj(ann) || Object.keys(ann).length === 0) {
    return void ctx.fail([...prel, 'spec', 'template', 'metadata'], 'the patch must set at least one pod-template annotation (that is what triggers the rollout)');
  }
  checkKeys(ctx, [...prel, 'spec', 'template', 'metadata'], tpl.metadata, ['annotations'], 'patch field');
  return { prel, tpl, ann };
}

/** The operations a restart rule applies to (match and preconditions): UPDATE only. */
function restartOperations(ctx: RuleContext, match: { resources: ResourceFilter[] }, preOps: Operation[] | null, notes: string[]): void {
  const ops = intersectOperations(matchOperations(match.resources), preOps)?.filter((o) => o !== 'CONNECT') ?? null; // a Secret or ConfigMap is never connected to
  if (ops === null) {
    notes.push('no operation condition: Kyverno would also annotate on CREATE and DELETE of the object; ripple restarts when its content changes or a copy is re-created with different content');
  }
  if (ops !== null && !ops.includes('UPDATE')) ctx.fail(['preconditions'], 'a restart rule must apply to UPDATE of the object');
  else if (ops !== null && ops.some((o) => o !== 'UPDATE')) ctx.fail(['preconditions'], `operations ${ops.filter((o) => o !== 'UPDATE').join(', ')} are not supported on a restart rule (UPDATE only)`);
}

/** The reload parts of one match clause: each named Secret/ConfigMap, with the reference forms that count. */
function reloadsOf(ctx: RuleContext, f: ResourceFilter, tpl: Obj, prel: Seg[], kinds: WorkloadKind[], notes: string[], reloads: { part: ReloadPart; kind: ObjectKind; rel: Seg[] }[], named: NamedTarget[] = []): void {
  if (f.selector) ctx.fail([...f.rel, 'selector'], 'matching the changed object by label selector is not supported; list it under names');
  if (!f.names || f.names.length === 0) {
    ctx.fail(f.rel, 'a restart rule must name the Secret or ConfigMap it watches (names)');
    return;
  }
  for (const [ki, k] of f.kinds.entries()) {
    if (k !== 'Secret' && k !== 'ConfigMap') {
      ctx.fail([...f.rel, 'kinds', ki], `restarting on changes of kind "${k}" is not supported (Secret, ConfigMap)`);
      continue;
    }
    let references: RefForm[];
    if (tpl['(spec)'] === undefined) {
      references = ['env', 'envFrom', 'volume', 'projected'];
      if (named.length === 0) notes.push('no conditional anchor: Kyverno would annotate every matching workload in the namespace; ripple restarts only the workloads that reference the object (all reference forms)');
    } else {
      references = anchorReferences(ctx, [...prel, 'spec', 'template', '(spec)'], tpl['(spec)'], k, f.names);
      if (references.length > 0) {
        const forms = references.map((r) =>
          k === 'Secret'
            ? { env: 'env[].valueFrom.secretKeyRef', envFrom: 'envFrom[].secretRef', volume: 'volumes[].secret', projected: 'volumes[].projected.sources[].secret' }[r]
            : { env: 'env[].valueFrom.configMapKeyRef', envFrom: 'envFrom[].configMapRef', volume: 'volumes[].configMap', projected: 'volumes[].projected.sources[].configMap' }[r],
        );
        notes.push(`conditional anchors on ${forms.join(', ')} -> references: [${references.join(', ')}] (containers and init containers)`);
      }
    }
    for (const name of f.names) {
      if (hasWildcard(name)) {
        ctx.fail([...f.rel, 'names'], `name "${name}" with a wildcard is not supported; list exact names`);
        continue;
      }
      const namespaces = ctx.policyNamespace ? [ctx.policyNamespace] : f.namespaces;
      if (ctx.policyNamespace && f.namespaces?.some((n) => n !== ctx.policyNamespace)) {
        ctx.fail([...f.rel, 'namespaces'], `a namespaced Policy sees only its own namespace ${ctx.policyNamespace}; list only that namespace (or none)`);
        continue;
      }
      reloads.push({ part: { origin: ctx.origin, notes, kinds, references, name, namespaces, ...(named.length ? { targets: named } : {}) }, kind: k as ObjectKind, rel: f.rel });
    }
  }
}
