/**
 * `ripple import kyverno`: a validate rule -> the protect part of its source objects.
 */
import { HANDLER_GROUPS, type ObjectKind } from '../../core/constants.ts';
import {
  checkKeys,
  conditionOperations,
  hasWildcard,
  intersectOperations,
  isObj,
  matchOperations,
  resourceFilters,
  RuleContext,
  sourceParts,
  strList,
  type Obj,
  type Operation,
  type SourceParts,
} from './kyverno-context.ts';
import { CLUSTER_ADMIN_GROUP, KYVERNO_ENGINE_SERVICE_ACCOUNTS } from './kyverno-names.ts';
import type { Seg } from '../../core/policy/load.ts';

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
