/**
 * `ripple import kyverno`: one Kyverno rule at a time — validate -> protect, generate -> sync, mutate -> reload.
 */
import { ANN_RELOAD_OPT_OUT, HANDLER_GROUPS, type ObjectKind } from '../../core/constants.ts';
import {
  checkKeys,
  conditionOperations,
  hasWildcard,
  intersectOperations,
  isObj,
  matchOperations,
  resourceFilters,
  RuleContext,
  kindName,
  selectorOf,
  strList,
  type Obj,
  type Operation,
  type RefForm,
  type ReloadPart,
  type SourceParts,
  type WorkloadKind,
} from './kyverno-context.ts';
import { CLUSTER_ADMIN_GROUP, KYVERNO_ENGINE_SERVICE_ACCOUNTS } from './kyverno-names.ts';
import type { Seg } from '../../core/policy/load.ts';
import type { LabelSelector } from '../../core/policy/schema.ts';
// ---------------------------------------------------------------------------------------------------------
// validate -> protect

const PRE_HINT = 'say which operations with a condition on {{request.operation}} (AnyIn [UPDATE, DELETE])';
const DENY_HINT = 'ripple decides by the operation and the allowed actors only: to let an actor through, list it under exclude (subjects: User, Group, ServiceAccount; clusterRoles: cluster-admin)';

export function importValidate(ctx: RuleContext, rule: Obj, action: 'enforce' | 'audit', sources: Map<string, SourceParts>): void {
  const v = rule.validate;
  if (!isObj(v)) return void ctx.fail(['validate'], 'validate must be a mapping');
  checkKeys(ctx, ['validate'], v, ['message', 'deny', 'failureAction', 'validationFailureAction'], 'validate field');
  if (!isObj(v.deny)) {
    if (v.deny === undefined && Object.keys(v).some((k) => !['message', 'failureAction', 'validationFailureAction'].includes(k))) return; // pattern, anyPattern, foreach, cel… reported above
    return void ctx.fail(['validate', 'deny'], 'validate needs deny (`deny: {}` or `deny.conditions` on {{request.operation}}); patterns and CEL describe what an object must look like, which ripple does not check');
  }
  checkKeys(ctx, ['validate', 'deny'], v.deny, ['conditions'], 'deny field');
  const denyOps: Operation[] | null | undefined = conditionOperations(ctx, ['validate', 'deny', 'conditions'], v.deny.conditions, { what: 'validate.deny.conditions', otherKeyHint: DENY_HINT });
  let mode = action;
  const ruleAction = v.failureAction ?? v.validationFailureAction;
  if (ruleAction !== undefined) {
    const m = String(ruleAction).toLowerCase();
    if (m !== 'enforce' && m !== 'audit') ctx.fail(['validate', 'failureAction'], `failure action ${JSON.stringify(ruleAction)} must be Enforce or Audit`);
    else mode = m;
  }
  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  if (match.actors.length > 0) ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported; ripple protects objects from everyone except the allowed actors (use exclude)');
  const preOps = conditionOperations(ctx, ['preconditions'], rule.preconditions, { what: 'preconditions', otherKeyHint: PRE_HINT });
  const notes = [...ctx.notes];
  let operations: ('UPDATE' | 'DELETE')[] = [];
  if (denyOps !== undefined && preOps !== undefined) {
    const ops = intersectOperations(matchOperations(match.resources), preOps, denyOps);
    // Where the operations were named, for the messages: the deny conditions, else the preconditions, else match.
    const where: Seg[] = denyOps ? ['validate', 'deny', 'conditions'] : preOps ? ['preconditions'] : ['match'];
    if (ops === null) {
      ctx.fail(
        ['validate', 'deny'],
        'this deny has no condition on the operation, so Kyverno denies every request for these objects, creating them included; protect.operations lists UPDATE and/or DELETE: name them with validate.deny.conditions (key "{{request.operation}}", operator AnyIn, value [UPDATE, DELETE]) or match resources.operations',
      );
    } else {
      if (ops.includes('CONNECT')) notes.push('CONNECT left out: a Secret or ConfigMap has no connect subresource');
      const bad = ops.filter((o) => o === 'CREATE');
      if (bad.length > 0) {
        ctx.fail(where, `the conditions deny CREATE (making a new object under a protected name) as well as ${ops.filter((o) => o === 'UPDATE' || o === 'DELETE').join(' and ') || 'nothing else'}: protect.operations lists UPDATE and DELETE only; narrow the condition to [UPDATE, DELETE]`);
      }
      operations = (['UPDATE', 'DELETE'] as const).filter((o) => ops.includes(o));
      if (operations.length === 0 && bad.length === 0) ctx.fail(where, `the rule denies no operation protect.operations can list (${ops.length ? ops.join(', ') : 'the conditions exclude each other'}); it lists UPDATE and DELETE`);
    }
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
    const kinds = f.kinds.filter((k, i) => {
      if (k === 'Secret' || k === 'ConfigMap') return true;
      ctx.fail([...f.rel, 'kinds', i], `kind "${k}" cannot be protected by ripple: it protects the Secrets and ConfigMaps it copies (the bases)`);
      return false;
    });
    if (kinds.length === 0) continue;
    for (const k of ['annotations', 'namespaceSelector'] as const) {
      if (f[k] !== undefined) ctx.fail([...f.rel, k], `choosing the protected objects by resources.${k} is not supported; list them under names (and namespaces)`);
    }
    if (!f.names || f.names.length === 0) {
      ctx.fail(f.selector ? [...f.rel, 'selector'] : f.rel, `protecting every ${kinds.join('/')}${f.selector ? ' that matches a label selector' : ''} is not supported; list the protected objects under names (and namespaces)`);
      continue;
    }
    if (f.selector) ctx.fail([...f.rel, 'selector'], 'protecting by label selector is not supported; list the objects by name');
    let namespaces = f.namespaces;
    if (ctx.policyNamespace) {
      if (namespaces && namespaces.some((n) => n !== ctx.policyNamespace)) {
        ctx.fail([...f.rel, 'namespaces'], `a namespaced Policy sees only its own namespace ${ctx.policyNamespace}; list only that namespace (or none)`);
        continue;
      }
      namespaces = [ctx.policyNamespace];
    }
    if (!namespaces || namespaces.length === 0) {
      ctx.fail(f.rel, `${kinds.join('/')} ${f.names.join(', ')} in every namespace: ripple protects base objects; list their namespaces under namespaces`);
      continue;
    }
    for (const k of kinds) {
      for (const name of f.names) {
        if (hasWildcard(name)) {
          ctx.fail([...f.rel, 'names'], `name "${name}" with a wildcard is not supported; list exact names`);
          continue;
        }
        for (const ns of namespaces) {
          if (hasWildcard(ns)) {
            ctx.fail([...f.rel, 'namespaces'], `namespace "${ns}" with a wildcard is not supported; list exact namespaces`);
            continue;
          }
          const parts = sourceParts(sources, k as ObjectKind, ns, name);
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

const NEAREST_CLONE = 'match kinds [Namespace] and generate.namespace "{{request.object.metadata.name}}", choosing the namespaces with match names or a selector';

/** "Secret default/regcred" for messages, from a clone block (or "the base" when it is unreadable). */
function cloneSource(g: Obj): string {
  const c = g.clone;
  return isObj(c) && typeof c.namespace === 'string' && typeof c.name === 'string' ? `${typeof g.kind === 'string' ? `${g.kind} ` : ''}${c.namespace}/${c.name}` : 'the base';
}

export function importGenerate(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>): void {
  const g = rule.generate;
  if (!isObj(g)) return void ctx.fail(['generate'], 'generate must be a mapping');
  // Root refusals first: each names the one construct that decides, rather than everything that follows from it.
  if (ctx.policyNamespace) {
    return void ctx.fail(
      ['generate'],
      `a namespaced Policy generates only inside its own namespace ${ctx.policyNamespace}: a copy of ${cloneSource(g)} next to the base, as ${JSON.stringify(g.name)}, is not supported yet (ripple copies a base into other namespaces; a second object in the base's own namespace under another name is one of the policy model's coming target names); nearest supported form: a ClusterPolicy cloning ${cloneSource(g)} into the namespaces that need it (${NEAREST_CLONE})`,
    );
  }
  if (g.foreach !== undefined) {
    return void ctx.fail(['generate', 'foreach'], `generate.foreach (objects named from a list computed per request) is not supported: a ripple policy is resolved when it is imported; write one generate.clone rule per base (${NEAREST_CLONE})`);
  }
  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  if (match.actors.length > 0) return void ctx.fail(match.actors[0].rel, 'matching by subjects/roles/clusterRoles is not supported on a generate rule');
  const triggers = [...new Set(match.resources.flatMap((f) => f.kinds))].filter((k) => k !== 'Namespace');
  if (triggers.length > 0) {
    const f = match.resources.find((r) => r.kinds.some((k) => k !== 'Namespace'))!;
    return void ctx.fail(
      [...f.rel, 'kinds'],
      `a copy made when a ${triggers.join(' or ')} appears (generate triggered by ${triggers.join(', ')}, into ${JSON.stringify(g.namespace)}) is not supported: ripple copies a base into namespaces chosen by name or label, whenever they exist, not on the arrival of another object; nearest supported form: ${NEAREST_CLONE}`,
    );
  }
  if (g.data !== undefined) {
    return void ctx.fail(['generate', 'data'], 'generate.data (an object written from the policy itself) is not supported: ripple copies an existing base; create the base with kubectl and clone it (generate.clone)');
  }
  if (g.cloneList !== undefined) {
    const cl = isObj(g.cloneList) ? g.cloneList : {};
    const what = `${strList(cl.kinds)?.map(kindName).join('/') ?? 'objects'} in namespace ${String(cl.namespace)}${cl.selector ? ` matching ${JSON.stringify(cl.selector)}` : ''}`;
    return void ctx.fail(
      ['generate', 'cloneList'],
      `generate.cloneList (every ${what}, each copied under its own name, added and removed as labels change) is not supported yet: a RipplePolicy names one base object (bases chosen by a label selector are coming with the policy model); nearest supported form: one generate.clone rule per object`,
    );
  }
  checkKeys(ctx, ['generate'], g, ['kind', 'apiVersion', 'name', 'namespace', 'synchronize', 'clone', 'generateExisting', 'orphanDownstreamOnPolicyDelete'], 'generate field');
  if (rule.preconditions !== undefined) ctx.fail(['preconditions'], 'preconditions on a generate rule are not supported; select namespaces with match names/selector and exclude names');
  const notes: string[] = [...ctx.notes];
  const kind = g.kind;
  if (kind !== 'Secret' && kind !== 'ConfigMap') return void ctx.fail(['generate', 'kind'], `generating kind ${JSON.stringify(kind)} is not supported (Secret, ConfigMap)`);
  if (g.apiVersion !== undefined && g.apiVersion !== 'v1') ctx.fail(['generate', 'apiVersion'], `apiVersion ${JSON.stringify(g.apiVersion)} must be v1 for ${kind}`);
  const clone = g.clone;
  if (!isObj(clone) || typeof clone.name !== 'string' || typeof clone.namespace !== 'string') {
    return void ctx.fail(['generate', 'clone'], 'generate.clone with the name and namespace of the base object is required');
  }
  checkKeys(ctx, ['generate', 'clone'], clone, ['name', 'namespace'], 'clone field');
  for (const k of ['name', 'namespace'] as const) {
    if (/\{\{/.test(clone[k]) || hasWildcard(clone[k])) return void ctx.fail(['generate', 'clone', k], `clone.${k} ${JSON.stringify(clone[k])} must be literal (a variable from context with variable.value is inlined; others are resolved per request)`);
  }
  if (typeof g.name !== 'string' || hasWildcard(g.name) || /\{\{/.test(g.name)) {
    return void ctx.fail(['generate', 'name'], `generate.name ${JSON.stringify(g.name)} must be a literal name (a variable from context with variable.value is inlined; others are resolved per request)`);
  }
  if (typeof g.namespace !== 'string' || !NS_TARGET.test(g.namespace.trim())) {
    return void ctx.fail(
      ['generate', 'namespace'],
      `generate.namespace ${JSON.stringify(g.namespace)}: only "{{request.object.metadata.name}}" (one copy in each matched Namespace) is supported; to copy into one namespace, match that Namespace by name (${NEAREST_CLONE})`,
    );
  }
  if (g.synchronize !== true) {
    ctx.fail(
      ['generate', g.synchronize === undefined ? 'clone' : 'synchronize'],
      `${g.synchronize === undefined ? 'synchronize is not set, so false (Kyverno\'s default)' : 'synchronize: false'} (copies made once, then left to each namespace: edits kept, source changes not propagated) is not supported yet (sync.mode once is coming with the policy model); nearest supported form: synchronize: true, where ripple keeps every copy equal to the base and reverts edits to it`,
    );
  }
  if (g.orphanDownstreamOnPolicyDelete === true) {
    notes.push('orphanDownstreamOnPolicyDelete: true -> removing the RipplePolicy leaves its copies in place (ripple never deletes copies because a policy was removed)');
  } else if (g.orphanDownstreamOnPolicyDelete === false || g.orphanDownstreamOnPolicyDelete === undefined) {
    notes.push('Kyverno deletes the copies when this rule or policy is deleted (orphanDownstreamOnPolicyDelete: false, its default); removing the RipplePolicy leaves them in place: delete them with kubectl if you remove the policy');
  } else ctx.fail(['generate', 'orphanDownstreamOnPolicyDelete'], 'orphanDownstreamOnPolicyDelete must be true or false');
  const existing = g.generateExisting ?? spec.generateExisting ?? spec.generateExistingOnPolicyUpdate;
  if (existing === true) notes.push('generateExisting -> copies are also made in namespaces that already exist (ripple always does this)');
  else notes.push('copies are also made in namespaces that already exist (ripple always backfills; the Kyverno policy did not ask for generateExisting)');

  const include: string[] = [];
  let selector: LabelSelector | undefined;
  let everything = false;
  for (const f of match.resources) {
    for (const k of ['annotations', 'namespaceSelector'] as const) {
      if (f[k] !== undefined) ctx.fail([...f.rel, k], `choosing namespaces by resources.${k} is not supported; use names or selector (the Namespace's labels)`);
    }
    if (f.operations) {
      const other = f.operations.filter((o) => o !== 'CREATE' && o !== 'UPDATE');
      if (other.length > 0) ctx.fail([...f.rel, 'operations'], `operations ${other.join(', ')} on a Namespace trigger are not supported (a copy is made when a namespace is created or relabelled)`);
      else notes.push(`match operations [${f.operations.join(', ')}] -> ripple copies into every selected namespace that exists, whenever it is created, relabelled or resynced`);
    }
    if (f.selector) {
      if (selector) ctx.fail([...f.rel, 'selector'], 'several namespace selectors in one rule are not supported');
      else selector = selectorOf(ctx, [...f.rel, 'selector'], f.selector);
    }
    // A Namespace's own name is what Kyverno compares with both names and namespaces.
    const names = [...(f.names ?? []), ...(f.namespaces ?? [])];
    if (f.names && f.namespaces) ctx.fail(f.rel, 'names and namespaces in one Namespace clause must both hold (the namespace name must be in both lists); use one of them');
    if (names.length) include.push(...names);
    else everything = true;
  }
  if (match.resources.length > 1 && selector) ctx.fail(['match'], 'a namespace selector combined with other match clauses is not supported; use one clause');
  const exclude: string[] = [];
  if (rule.exclude !== undefined) {
    const ex = resourceFilters(ctx, ['exclude'], rule.exclude, 'exclude');
    for (const a of ex.actors) ctx.fail(a.rel, 'excluding subjects/roles from a generate rule is not supported');
    for (const f of ex.resources) {
      const names = [...(f.names ?? []), ...(f.namespaces ?? [])];
      if (f.kinds.some((k) => k !== 'Namespace') || names.length === 0 || f.selector || f.operations || f.annotations !== undefined || f.namespaceSelector !== undefined) {
        ctx.fail(f.rel, 'exclude on a generate rule supports only namespace names (resources.names or resources.namespaces, globs allowed; kinds [Namespace] or none)');
        continue;
      }
      if (f.names && f.namespaces) ctx.fail(f.rel, 'names and namespaces in one exclude clause must both hold; use one of them');
      exclude.push(...names);
    }
  }
  const parts = sourceParts(sources, kind, clone.namespace, clone.name);
  if (parts.sync) {
    if (parts.sync.targetName !== g.name) {
      return void ctx.fail(
        ['generate', 'name'],
        `${kind} ${clone.namespace}/${clone.name} is already copied as "${parts.sync.targetName}" by ${parts.sync.origin}; copying it under a second name ("${g.name}") is not supported yet (one target name per base; several are coming with the policy model); nearest supported form: one name for every copy`,
      );
    }
    return void ctx.fail(['generate'], `${kind} ${clone.namespace}/${clone.name} is already cloned by ${parts.sync.origin}; merge the two rules (one rule per base, its namespaces in one match)`);
  }
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
  const kinds: WorkloadKind[] = [];
  let rootRefused = false;
  m.targets.forEach((t: unknown, i: number) => {
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
    checkKeys(ctx, r, t, ['apiVersion', 'kind', 'namespace', 'name'], 'target field');
    if (t.name !== undefined) {
      rootRefused = true;
      return void ctx.fail(
        [...r, 'name'],
        `a named restart target (${t.kind} ${typeof t.namespace === 'string' && !/\{\{/.test(t.namespace) ? `${t.namespace}/` : ''}${String(t.name)}, restarted whether or not its pods read the object) is not supported yet (explicit reload targets are coming with the policy model); nearest supported form: leave out the name and use namespace "{{request.namespace}}" — ripple then restarts the ${t.kind}s whose pod template references the object (env, envFrom, volumes)`,
      );
    }
    if (t.apiVersion !== 'apps/v1') ctx.fail([...r, 'apiVersion'], 'targets must be apps/v1 workloads');
    const ns = typeof t.namespace === 'string' ? t.namespace.trim() : t.namespace;
    const sameNs = typeof ns === 'string' && (RESTART_NS.test(ns) || (matchedNs.length === 1 && ns === matchedNs[0]) || (ctx.policyNamespace !== undefined && ns === ctx.policyNamespace));
    if (!sameNs) {
      ctx.fail([...r, 'namespace'], `target namespace ${JSON.stringify(t.namespace)}: ripple restarts consumers in the namespace of the changed object; use "{{request.namespace}}"`);
    }
    kinds.push(t.kind);
  });
  if (rootRefused) return;
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
  const ops = intersectOperations(matchOperations(match.resources), preOps)?.filter((o) => o !== 'CONNECT') ?? null; // a Secret or ConfigMap is never connected to
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
        const namespaces = ctx.policyNamespace ? [ctx.policyNamespace] : f.namespaces;
        if (ctx.policyNamespace && f.namespaces?.some((n) => n !== ctx.policyNamespace)) {
          ctx.fail([...f.rel, 'namespaces'], `a namespaced Policy sees only its own namespace ${ctx.policyNamespace}; list only that namespace (or none)`);
          continue;
        }
        reloads.push({ part: { origin: ctx.origin, notes, kinds, references, name, namespaces }, kind: k as ObjectKind, rel: f.rel });
      }
    }
  }
}
