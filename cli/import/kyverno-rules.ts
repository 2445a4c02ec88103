/**
 * `ripple import kyverno`: one Kyverno rule at a time — validate -> protect, generate -> sync, mutate -> reload.
 */
import { HANDLER_GROUPS, type ObjectKind } from '../../core/constants.ts';
import { checkKeys, hasWildcard, isObj, resourceFilters, ruleOperations, RuleContext, selectorOf, strList, type Obj, type RefForm, type ReloadPart, type SourceParts, type WorkloadKind } from './kyverno-context.ts';
import { CLUSTER_ADMIN_GROUP, KYVERNO_ENGINE_SERVICE_ACCOUNTS } from './kyverno-names.ts';
import type { Seg } from '../../core/policy/load.ts';
import type { LabelSelector } from '../../core/policy/schema.ts';
// ---------------------------------------------------------------------------------------------------------
// validate -> protect

export function importValidate(ctx: RuleContext, rule: Obj, action: 'enforce' | 'audit', sources: Map<string, SourceParts>): void {
  const v = rule.validate;
  if (!isObj(v)) return void ctx.fail(['validate'], 'validate must be a mapping');
  checkKeys(ctx, ['validate'], v, ['message', 'deny', 'failureAction', 'validationFailureAction'], 'validate field');
  if (!isObj(v.deny) || Object.keys(v.deny).length > 0) {
    ctx.fail(['validate', 'deny'], 'only an unconditional `deny: {}` is supported (put the operation condition in preconditions); patterns, deny conditions and CEL are not');
  }
  let mode = action;
  const ruleAction = v.failureAction ?? v.validationFailureAction;
  if (ruleAction !== undefined) {
    const m = String(ruleAction).toLowerCase();
    if (m !== 'enforce' && m !== 'audit') ctx.fail(['validate', 'failureAction'], `failure action ${JSON.stringify(ruleAction)} must be Enforce or Audit`);
    else mode = m;
  }
  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  if (match.actors.length > 0) ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported; ripple protects objects from everyone except the allowed actors (use exclude)');
  const ops = ruleOperations(ctx, match.resources, rule.preconditions);
  const notes: string[] = [];
  let operations: ('UPDATE' | 'DELETE')[] = [];
  if (ops === null) {
    ctx.fail(['validate', 'deny'], 'deny without a condition on the operation would also block CREATE; ripple protects against UPDATE and DELETE only: add a precondition {{request.operation}} AnyIn [UPDATE, DELETE]');
  } else {
    const bad = ops.filter((o) => o !== 'UPDATE' && o !== 'DELETE');
    if (bad.length > 0) ctx.fail(['preconditions'], `operation(s) ${bad.join(', ')} cannot be denied by ripple (allowed: UPDATE, DELETE)`);
    operations = (['UPDATE', 'DELETE'] as const).filter((o) => ops.includes(o));
    if (operations.length === 0 && bad.length === 0) ctx.fail(['preconditions'], 'the rule applies to no operation (the conditions exclude each other)');
  }
  const allow = allowedActors(ctx, rule.exclude, notes);
  const message = typeof v.message === 'string' ? v.message : undefined;
  if (v.message !== undefined && typeof v.message !== 'string') ctx.fail(['validate', 'message'], 'message must be a string');
  else if (message && /\{\{/.test(message)) ctx.fail(['validate', 'message'], 'a message with {{variables}} is not supported; write a literal message');

  protectTargets(ctx, match.resources, sources, () => ({ origin: ctx.origin, notes, operations, ...dedupAllow(allow), mode, message }));
}

/** `exclude` of a validate rule: the users, groups and ServiceAccounts allowed to change the protected objects. */
function allowedActors(ctx: RuleContext, exclude: unknown, notes: string[]): { groups: string[]; users: string[]; serviceAccounts: string[] } {
  const allow = { groups: [] as string[], users: [] as string[], serviceAccounts: [] as string[] };
  if (exclude !== undefined) {
    const ex = resourceFilters(ctx, ['exclude'], exclude, 'exclude');
    for (const r of ex.resources) ctx.fail(r.rel, 'excluding resources from a validate rule is not supported; name exactly the protected objects in match');
    for (const a of ex.actors) {
      if (a.value.roles !== undefined) ctx.fail([...a.rel, 'roles'], 'exclude roles is not supported: admission sees the user name and groups, not RoleBindings; allow the users or groups bound to the Role instead');
      const crs = a.value.clusterRoles;
      if (crs !== undefined) {
        const l = strList(crs);
        if (!l) ctx.fail([...a.rel, 'clusterRoles'], 'clusterRoles must be a list of names');
        else
          l.forEach((cr, i) => {
            if (cr === 'cluster-admin') {
              allow.groups.push(CLUSTER_ADMIN_GROUP);
              notes.push(
                `exclude clusterRoles cluster-admin -> allow group ${CLUSTER_ADMIN_GROUP}, the group the built-in cluster-admin ClusterRoleBinding grants (admission sees groups, not RBAC bindings: other subjects bound to cluster-admin are not exempt)`,
              );
            } else {
              ctx.fail(
                [...a.rel, 'clusterRoles', i],
                `exclude clusterRoles "${cr}" is not supported: admission sees the user name and groups, not ClusterRoleBindings, so only cluster-admin (group ${CLUSTER_ADMIN_GROUP}) has a faithful mapping; list the users, groups or ServiceAccounts bound to ${cr} under exclude subjects instead`,
              );
            }
          });
      }
      const subs = a.value.subjects;
      if (subs !== undefined) {
        if (!Array.isArray(subs)) {
          ctx.fail([...a.rel, 'subjects'], 'subjects must be a list');
          continue;
        }
        subs.forEach((s: unknown, i: number) => {
          const srel = [...a.rel, 'subjects', i];
          if (!isObj(s) || typeof s.name !== 'string' || typeof s.kind !== 'string') return void ctx.fail(srel, 'a subject needs kind and name');
          checkKeys(ctx, srel, s, ['kind', 'name', 'namespace', 'apiGroup'], 'subject field');
          if (hasWildcard(s.name)) return void ctx.fail([...srel, 'name'], `subject name "${s.name}" with a wildcard is not supported; list exact names`);
          if (s.kind === 'ServiceAccount') {
            if (typeof s.namespace !== 'string' || s.namespace === '') return void ctx.fail(srel, 'a ServiceAccount subject needs its namespace');
            const sa = `${s.namespace}/${s.name}`;
            if (KYVERNO_ENGINE_SERVICE_ACCOUNTS.includes(sa)) {
              notes.push(`exclude ServiceAccount ${sa} (Kyverno itself) -> ripple's own handlers, which are always allowed (group ${HANDLER_GROUPS.protect}); no allow entry needed`);
            } else allow.serviceAccounts.push(sa);
          } else if (s.kind === 'User') allow.users.push(s.name);
          else if (s.kind === 'Group') allow.groups.push(s.name);
          else ctx.fail([...srel, 'kind'], `subject kind "${s.kind}" is not supported (ServiceAccount, User, Group)`);
        });
      }
    }
  }
  return allow;
}

/** The protect part on every Secret/ConfigMap a validate rule names (exact names in exact namespaces). */
function protectTargets(ctx: RuleContext, resources: ReturnType<typeof resourceFilters>['resources'], sources: Map<string, SourceParts>, part: () => NonNullable<SourceParts['protect']>): void {
  for (const f of resources) {
    for (const [i, k] of f.kinds.entries()) {
      if (k !== 'Secret' && k !== 'ConfigMap') {
        ctx.fail([...f.rel, 'kinds', i], `kind "${k}" cannot be protected by ripple (Secret, ConfigMap)`);
        continue;
      }
      if (!f.names || f.names.length === 0) {
        ctx.fail([...f.rel], `protecting every ${k} is not supported; list the protected objects under names (and namespaces)`);
        continue;
      }
      if (!f.namespaces || f.namespaces.length === 0) {
        ctx.fail([...f.rel], `${k} ${f.names.join(', ')} in every namespace: ripple protects base objects; list their namespaces under namespaces`);
        continue;
      }
      if (f.selector) ctx.fail([...f.rel, 'selector'], 'protecting by label selector is not supported; list the objects by name');
      for (const name of f.names) {
        if (hasWildcard(name)) {
          ctx.fail([...f.rel, 'names'], `name "${name}" with a wildcard is not supported; list exact names`);
          continue;
        }
        for (const ns of f.namespaces) {
          if (hasWildcard(ns)) {
            ctx.fail([...f.rel, 'namespaces'], `namespace "${ns}" with a wildcard is not supported; list exact namespaces`);
            continue;
          }
          const parts = sourceParts(sources, k, ns, name);
          if (parts.protect) {
            ctx.fail(f.rel, `${k} ${ns}/${name} is already protected by ${parts.protect.origin}; merge the two rules`);
            continue;
          }
          parts.protect = part();
        }
      }
    }
  }
}

export function dedupAllow(a: { groups: string[]; users: string[]; serviceAccounts: string[] }) {
  return { groups: [...new Set(a.groups)], users: [...new Set(a.users)], serviceAccounts: [...new Set(a.serviceAccounts)] };
}

export function sourceParts(sources: Map<string, SourceParts>, kind: ObjectKind, namespace: string, name: string): SourceParts {
  const key = `${kind}/${namespace}/${name}`;
  let p = sources.get(key);
  if (!p) {
    p = { kind, namespace, name };
    sources.set(key, p);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// generate -> sync

export const NS_TARGET = /^\{\{\s*request\.object\.metadata\.name\s*\}\}$/;

export function importGenerate(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>): void {
  const g = rule.generate;
  if (!isObj(g)) return void ctx.fail(['generate'], 'generate must be a mapping');
  checkKeys(ctx, ['generate'], g, ['kind', 'apiVersion', 'name', 'namespace', 'synchronize', 'clone', 'generateExisting', 'orphanDownstreamOnPolicyDelete'], 'generate field');
  if (rule.preconditions !== undefined) ctx.fail(['preconditions'], 'preconditions on a generate rule are not supported; select namespaces with match names/selector and exclude names');
  const notes: string[] = [];
  const kind = g.kind;
  if (kind !== 'Secret' && kind !== 'ConfigMap') return void ctx.fail(['generate', 'kind'], `generating kind ${JSON.stringify(kind)} is not supported (Secret, ConfigMap)`);
  if (g.apiVersion !== undefined && g.apiVersion !== 'v1') ctx.fail(['generate', 'apiVersion'], `apiVersion ${JSON.stringify(g.apiVersion)} must be v1 for ${kind}`);
  if (g.data !== undefined) ctx.fail(['generate', 'data'], 'generate.data is not supported: ripple copies an existing base object; use clone');
  if (typeof g.name !== 'string' || hasWildcard(g.name) || /\{\{/.test(g.name)) return void ctx.fail(['generate', 'name'], 'generate.name must be a literal name');
  if (typeof g.namespace !== 'string' || !NS_TARGET.test(g.namespace.trim())) {
    return void ctx.fail(['generate', 'namespace'], 'generate.namespace must be "{{request.object.metadata.name}}" (one copy per matched Namespace); other targets are not supported');
  }
  if (g.synchronize !== true) {
    ctx.fail(['generate', 'synchronize'], 'only synchronize: true is supported: ripple always keeps copies in sync with the base (one-off copies are not offered)');
  }
  if (g.orphanDownstreamOnPolicyDelete !== undefined && g.orphanDownstreamOnPolicyDelete !== false) {
    ctx.fail(['generate', 'orphanDownstreamOnPolicyDelete'], 'orphanDownstreamOnPolicyDelete: true is not supported');
  }
  const clone = g.clone;
  if (!isObj(clone) || typeof clone.name !== 'string' || typeof clone.namespace !== 'string') {
    return void ctx.fail(['generate', 'clone'], 'generate.clone with name and namespace of the base object is required (cloneList and data are not supported)');
  }
  checkKeys(ctx, ['generate', 'clone'], clone, ['name', 'namespace'], 'clone field');
  const existing = g.generateExisting ?? spec.generateExisting ?? spec.generateExistingOnPolicyUpdate;
  if (existing === true) notes.push('generateExisting -> copies are also made in namespaces that already exist (ripple always does this)');
  else notes.push('copies are also made in namespaces that already exist (ripple always backfills; the Kyverno policy did not ask for generateExisting)');

  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  if (match.actors.length > 0) ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported on a generate rule');
  const include: string[] = [];
  let selector: LabelSelector | undefined;
  let everything = false;
  for (const f of match.resources) {
    if (f.kinds.length !== 1 || f.kinds[0] !== 'Namespace') {
      ctx.fail([...f.rel, 'kinds'], `generate rules must be triggered by Namespace only (got ${f.kinds.join(', ')})`);
      continue;
    }
    if (f.namespaces) ctx.fail([...f.rel, 'namespaces'], 'resources.namespaces has no meaning for Namespace triggers; use names');
    if (f.operations) ctx.fail([...f.rel, 'operations'], 'resources.operations on a generate rule is not supported');
    if (f.selector) {
      if (selector) ctx.fail([...f.rel, 'selector'], 'several namespace selectors in one rule are not supported');
      else selector = selectorOf(ctx, [...f.rel, 'selector'], f.selector);
    }
    if (f.names) include.push(...f.names);
    else everything = true;
  }
  if (match.resources.length > 1 && selector) ctx.fail(['match'], 'a namespace selector combined with other match clauses is not supported; use one clause');
  const exclude: string[] = [];
  if (rule.exclude !== undefined) {
    const ex = resourceFilters(ctx, ['exclude'], rule.exclude, 'exclude');
    for (const a of ex.actors) ctx.fail(a.rel, 'excluding subjects/roles from a generate rule is not supported');
    for (const f of ex.resources) {
      if (f.kinds.length !== 1 || f.kinds[0] !== 'Namespace' || !f.names || f.selector || f.namespaces || f.operations) {
        ctx.fail(f.rel, 'exclude on a generate rule supports only Namespace names (globs allowed)');
        continue;
      }
      exclude.push(...f.names);
    }
  }
  const parts = sourceParts(sources, kind, clone.namespace, clone.name);
  if (parts.sync) return void ctx.fail(['generate'], `${kind} ${clone.namespace}/${clone.name} is already cloned by ${parts.sync.origin}; merge the two rules`);
  parts.sync = {
    origin: ctx.origin,
    notes,
    include: everything || include.length === 0 ? ['*'] : [...new Set(include)],
    exclude: [...new Set(exclude)],
    selector,
    targetName: g.name,
  };
}

// ---------------------------------------------------------------------------------------------------------
// mutate (existing) -> reload

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
  checkKeys(ctx, ['mutate'], m, ['targets', 'patchStrategicMerge'], 'mutate field');
  if (spec.mutateExistingOnPolicyUpdate === true) {
    ctx.fail(['mutate'], 'mutateExistingOnPolicyUpdate: true (restart every consumer whenever the policy changes) is not supported; ripple restarts consumers when the object changes');
  }
  if (!Array.isArray(m.targets) || m.targets.length === 0) {
    return void ctx.fail(['mutate'], 'only mutate-existing rules (mutate.targets) are supported; admission-time mutation has no ripple equivalent');
  }
  const kinds: WorkloadKind[] = [];
  m.targets.forEach((t: unknown, i: number) => {
    const r: Seg[] = ['mutate', 'targets', i];
    if (!isObj(t)) return void ctx.fail(r, 'a target must be a mapping');
    checkKeys(ctx, r, t, ['apiVersion', 'kind', 'namespace'], 'target field');
    if (t.apiVersion !== 'apps/v1') ctx.fail([...r, 'apiVersion'], 'targets must be apps/v1 workloads');
    if (t.kind !== 'Deployment' && t.kind !== 'StatefulSet' && t.kind !== 'DaemonSet') return void ctx.fail([...r, 'kind'], `target kind ${JSON.stringify(t.kind)} is not supported (Deployment, StatefulSet, DaemonSet)`);
    if (typeof t.namespace !== 'string' || !RESTART_NS.test(t.namespace.trim())) {
      ctx.fail([...r, 'namespace'], 'target namespace must be "{{request.namespace}}": ripple restarts consumers in the namespace of the changed object');
    }
    kinds.push(t.kind);
  });
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
  const notes = [
    `pod-template annotation ${Object.keys(ann).join(', ')} -> ripple's own restart annotations (ripple.dev/restarted-for, ripple.dev/restarted-at), written only when the content the pods were started with differs`,
  ];

  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  if (match.actors.length > 0) ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported on a restart rule');
  const ops = ruleOperations(ctx, match.resources, rule.preconditions);
  if (ops === null) {
    notes.push('no operation condition: Kyverno would also annotate on CREATE and DELETE of the object; ripple restarts when its content changes or a copy is re-created with different content');
  }
  if (ops !== null && !ops.includes('UPDATE')) ctx.fail(['preconditions'], 'a restart rule must apply to UPDATE of the object');
  else if (ops !== null && ops.some((o) => o !== 'UPDATE')) ctx.fail(['preconditions'], `operations ${ops.filter((o) => o !== 'UPDATE').join(', ')} are not supported on a restart rule (UPDATE only)`);
  for (const f of match.resources) {
    if (f.selector) ctx.fail([...f.rel, 'selector'], 'matching the changed object by label selector is not supported; list it under names');
    if (!f.names || f.names.length === 0) {
      ctx.fail(f.rel, 'a restart rule must name the Secret or ConfigMap it watches (names)');
      continue;
    }
    for (const [ki, k] of f.kinds.entries()) {
      if (k !== 'Secret' && k !== 'ConfigMap') {
        ctx.fail([...f.rel, 'kinds', ki], `restarting on changes of kind "${k}" is not supported (Secret, ConfigMap)`);
        continue;
      }
      let references: RefForm[];
      if (tpl['(spec)'] === undefined) {
        references = ['env', 'envFrom', 'volume', 'projected'];
        notes.push('no conditional anchor: Kyverno would annotate every matching workload in the namespace; ripple restarts only the workloads that reference the object (all reference forms)');
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
        reloads.push({ part: { origin: ctx.origin, notes, kinds, references, name, namespaces: f.namespaces }, kind: k, rel: f.rel });
      }
    }
  }
}
