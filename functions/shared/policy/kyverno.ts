/**
 * `ripple import kyverno`: the supported subset of Kyverno ClusterPolicies, turned into RipplePolicies.
 *
 * Supported, rule by rule (anything else is an error naming the policy, the rule and the construct; nothing is
 * silently dropped):
 * - validate: match Secret/ConfigMap by literal names + namespaces; `deny: {}`; the operations from a
 *   precondition on `{{request.operation}}` (AnyIn/In/Equals) or from `match…resources.operations`, UPDATE and/or
 *   DELETE only; `exclude` clusterRoles (only cluster-admin -> group system:masters) and subjects (ServiceAccount,
 *   User, Group); failure action enforce/audit -> protect.
 * - generate: match Namespace (optionally names/globs and a label selector; exclude Namespace names), `clone`
 *   with `synchronize: true` into `{{request.object.metadata.name}}` -> sync.
 * - mutate (existing): match Secret/ConfigMap by name on UPDATE; `targets` Deployment/StatefulSet/DaemonSet in
 *   `{{request.namespace}}`; `patchStrategicMerge` annotating `spec.template.metadata.annotations`; the
 *   conditional anchors under `(spec)` say which references count (env, envFrom, volume, projected) -> reload.
 * The rules are merged by source object into one RipplePolicy per source.
 */
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { ValidationError } from '../errors.ts';
import { HANDLER_GROUPS, RIPPLE_NAMESPACE } from '../constants.ts';
import { PolicyError, pathString, readYamlDocuments, type PolicyProblem, type Seg, type YamlDocument } from './load.ts';
import { API_VERSION, KIND, RipplePolicy, type LabelSelector, type RipplePolicyInput } from './schema.ts';

type Obj = Record<string, any>;
type RefForm = 'env' | 'envFrom' | 'volume' | 'projected';
type SourceKind = 'Secret' | 'ConfigMap';
type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** The group the built-in `cluster-admin` ClusterRoleBinding grants the cluster-admin ClusterRole to. */
export const CLUSTER_ADMIN_GROUP = 'system:masters';
/** Kyverno's own ServiceAccounts (default install namespace `kyverno`); they map to ripple's own handlers. */
export const KYVERNO_ENGINE_SERVICE_ACCOUNTS = [
  'kyverno/kyverno',
  'kyverno/kyverno-admission-controller',
  'kyverno/kyverno-background-controller',
  'kyverno/kyverno-cleanup-controller',
  'kyverno/kyverno-reports-controller',
];

export interface KyvernoInput {
  /** Shown in messages. */
  file: string;
  text: string;
}

export interface ImportResult {
  /** One per source object, sorted by kind, namespace, name. */
  policies: RipplePolicy[];
  /** The RipplePolicy YAML (documents separated by `---`), with comments saying where each part came from. */
  yaml: string;
}

/** Everything one rule contributes to the policy of one source object. */
interface Contribution {
  origin: string; // "ClusterPolicy validate-secrets, rule protect-blogsecret"
  notes: string[];
}
interface ProtectPart extends Contribution {
  operations: ('UPDATE' | 'DELETE')[];
  groups: string[];
  users: string[];
  serviceAccounts: string[];
  mode: 'enforce' | 'audit';
  message?: string;
}
interface SyncPart extends Contribution {
  include: string[];
  exclude: string[];
  selector?: LabelSelector;
  targetName: string;
}
interface ReloadPart extends Contribution {
  kinds: WorkloadKind[];
  references: RefForm[];
  /** The copy/source name the rule matches, and its namespaces when listed. */
  name: string;
  namespaces?: string[];
}
interface SourceParts {
  kind: SourceKind;
  namespace: string;
  name: string;
  protect?: ProtectPart;
  sync?: SyncPart;
  reload?: ReloadPart;
}

class RuleContext {
  readonly problems: PolicyProblem[];
  readonly doc: YamlDocument;
  readonly file: string;
  readonly policyName: string;
  readonly ruleName: string;
  readonly base: Seg[];
  constructor(problems: PolicyProblem[], doc: YamlDocument, file: string, policyName: string, ruleName: string, base: Seg[]) {
    this.problems = problems;
    this.doc = doc;
    this.file = file;
    this.policyName = policyName;
    this.ruleName = ruleName;
    this.base = base;
  }
  get origin(): string {
    return `ClusterPolicy ${this.policyName}, rule ${this.ruleName}`;
  }
  /** Report an unsupported or invalid construct at `rel` (relative to the rule). Returns undefined for chaining. */
  fail(rel: Seg[], message: string): undefined {
    const path = [...this.base, ...rel];
    const { line, col } = this.doc.position(path);
    this.problems.push({ file: this.file, line, col, path: pathString(path), message: `${this.origin}: ${message}` });
    return undefined;
  }
}

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const strList = (v: unknown): string[] | null => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null);
const hasWildcard = (s: string) => /[*?]/.test(s);

function kindName(k: string): string {
  // Kyverno accepts "Secret", "v1/Secret", "*/Secret" and "Group/Version/Kind".
  const parts = k.split('/');
  return parts[parts.length - 1];
}

function checkKeys(ctx: RuleContext, rel: Seg[], obj: Obj, allowed: string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) ctx.fail([...rel, k], `${what} "${k}" is not supported by ripple import (supported here: ${allowed.join(', ')})`);
  }
}

interface ResourceFilter {
  kinds: string[];
  names?: string[];
  namespaces?: string[];
  operations?: string[];
  selector?: LabelSelector;
  rel: Seg[];
}

/** match/exclude blocks: `any: [...]`, `all: [one]`, or the legacy direct form. Returns the resource filters. */
function resourceFilters(ctx: RuleContext, rel: Seg[], block: unknown, what: 'match' | 'exclude'): { resources: ResourceFilter[]; actors: { rel: Seg[]; value: Obj }[] } {
  const out = { resources: [] as ResourceFilter[], actors: [] as { rel: Seg[]; value: Obj }[] };
  if (!isObj(block)) {
    ctx.fail(rel, `${what} must be a mapping`);
    return out;
  }
  checkKeys(ctx, rel, block, ['any', 'all', 'resources', 'subjects', 'clusterRoles', 'roles'], `${what} field`);
  let clauses: { rel: Seg[]; value: unknown }[] = [];
  if (block.any !== undefined) {
    if (!Array.isArray(block.any)) ctx.fail([...rel, 'any'], `${what}.any must be a list`);
    else clauses = block.any.map((value, i) => ({ rel: [...rel, 'any', i], value }));
  }
  if (block.all !== undefined) {
    if (!Array.isArray(block.all)) ctx.fail([...rel, 'all'], `${what}.all must be a list`);
    else if (block.all.length > 1) ctx.fail([...rel, 'all'], `${what}.all with ${block.all.length} clauses (all must hold at once) is not supported; use ${what}.any or one clause`);
    else clauses.push(...block.all.map((value, i) => ({ rel: [...rel, 'all', i], value })));
  }
  const legacy = Object.fromEntries(Object.entries(block).filter(([k]) => k !== 'any' && k !== 'all'));
  if (Object.keys(legacy).length > 0) clauses.push({ rel, value: legacy });
  for (const c of clauses) {
    if (!isObj(c.value)) {
      ctx.fail(c.rel, `each ${what} clause must be a mapping`);
      continue;
    }
    const filled = ['resources', 'subjects', 'clusterRoles', 'roles'].filter((k) => c.value && (c.value as Obj)[k] !== undefined);
    checkKeys(ctx, c.rel, c.value, ['resources', 'subjects', 'clusterRoles', 'roles'], `${what} clause field`);
    if (filled.length > 1) {
      ctx.fail(c.rel, `a ${what} clause combining ${filled.join(' and ')} (all must hold at once) is not supported; put each in its own ${what}.any clause`);
      continue;
    }
    if (c.value.resources !== undefined) {
      const r = c.value.resources;
      const rrel = [...c.rel, 'resources'];
      if (!isObj(r)) {
        ctx.fail(rrel, 'resources must be a mapping');
        continue;
      }
      checkKeys(ctx, rrel, r, ['kinds', 'names', 'namespaces', 'operations', 'selector'], 'resources field');
      const kinds = strList(r.kinds);
      if (!kinds || kinds.length === 0) {
        ctx.fail([...rrel, 'kinds'], 'resources.kinds must list at least one kind');
        continue;
      }
      const f: ResourceFilter = { kinds: kinds.map(kindName), rel: rrel };
      for (const k of ['names', 'namespaces', 'operations'] as const) {
        if (r[k] === undefined) continue;
        const l = strList(r[k]);
        if (!l) ctx.fail([...rrel, k], `resources.${k} must be a list of strings`);
        else f[k] = l;
      }
      if (r.selector !== undefined) f.selector = r.selector as LabelSelector;
      out.resources.push(f);
    } else {
      out.actors.push({ rel: c.rel, value: c.value });
    }
  }
  return out;
}

const OPERATION_KEY = /^\{\{\s*request\.operation(\s*\|\|\s*'BACKGROUND')?\s*\}\}$/;

/** Operations selected by `preconditions` on request.operation; null when there is none. */
function preconditionOperations(ctx: RuleContext, pre: unknown): string[] | null {
  if (pre === undefined) return null;
  const rel: Seg[] = ['preconditions'];
  let conds: { rel: Seg[]; value: unknown }[] = [];
  if (Array.isArray(pre)) conds = pre.map((value, i) => ({ rel: [...rel, i], value }));
  else if (isObj(pre)) {
    checkKeys(ctx, rel, pre, ['all', 'any'], 'preconditions field');
    if (pre.any !== undefined) {
      if (!Array.isArray(pre.any) || pre.any.length !== 1) {
        ctx.fail([...rel, 'any'], 'preconditions.any with several conditions is not supported; use one condition on {{request.operation}}');
        return [];
      }
      conds.push({ rel: [...rel, 'any', 0], value: pre.any[0] });
    }
    if (pre.all !== undefined) {
      if (!Array.isArray(pre.all)) {
        ctx.fail([...rel, 'all'], 'preconditions.all must be a list');
        return [];
      }
      conds.push(...pre.all.map((value, i) => ({ rel: [...rel, 'all', i], value })));
    }
  } else {
    ctx.fail(rel, 'preconditions must be a mapping with all/any');
    return [];
  }
  let ops: string[] | null = null;
  for (const c of conds) {
    if (!isObj(c.value)) {
      ctx.fail(c.rel, 'a precondition must be a mapping with key, operator and value');
      continue;
    }
    checkKeys(ctx, c.rel, c.value, ['key', 'operator', 'value', 'message'], 'precondition field');
    if (typeof c.value.key !== 'string' || !OPERATION_KEY.test(c.value.key.trim())) {
      ctx.fail([...c.rel, 'key'], `precondition on ${JSON.stringify(c.value.key)} is not supported; ripple imports only conditions on "{{request.operation}}"`);
      continue;
    }
    const op = c.value.operator;
    let values: string[] | null = null;
    if (op === 'Equals' && typeof c.value.value === 'string') values = [c.value.value];
    else if ((op === 'AnyIn' || op === 'In') && strList(c.value.value)) values = strList(c.value.value);
    else if (op === 'AnyIn' || op === 'In' || op === 'Equals') ctx.fail([...c.rel, 'value'], `operator ${op} needs ${op === 'Equals' ? 'one operation' : 'a list of operations'}`);
    else ctx.fail([...c.rel, 'operator'], `operator ${JSON.stringify(op)} on request.operation is not supported; use AnyIn, In or Equals`);
    if (!values) continue;
    ops = ops === null ? values : ops.filter((o) => values.includes(o)); // all: intersection
  }
  return ops ?? [];
}

/** The operations a rule applies to: from match resources.operations and/or preconditions. null = all. */
function ruleOperations(ctx: RuleContext, match: ResourceFilter[], pre: unknown): string[] | null {
  const fromPre = preconditionOperations(ctx, pre);
  const fromMatch = match.some((f) => f.operations) ? [...new Set(match.flatMap((f) => f.operations ?? []))] : null;
  if (fromPre && fromMatch) return fromPre.filter((o) => fromMatch.includes(o));
  return fromPre ?? fromMatch;
}

function selectorOf(ctx: RuleContext, rel: Seg[], sel: unknown): LabelSelector | undefined {
  if (!isObj(sel)) {
    ctx.fail(rel, 'selector must be a mapping with matchLabels/matchExpressions');
    return undefined;
  }
  checkKeys(ctx, rel, sel, ['matchLabels', 'matchExpressions'], 'selector field');
  return sel as LabelSelector;
}

// ---------------------------------------------------------------------------------------------------------
// validate -> protect

function importValidate(ctx: RuleContext, rule: Obj, action: 'enforce' | 'audit', sources: Map<string, SourceParts>): void {
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
  const allow = { groups: [] as string[], users: [] as string[], serviceAccounts: [] as string[] };
  if (rule.exclude !== undefined) {
    const ex = resourceFilters(ctx, ['exclude'], rule.exclude, 'exclude');
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
  const message = typeof v.message === 'string' ? v.message : undefined;
  if (v.message !== undefined && typeof v.message !== 'string') ctx.fail(['validate', 'message'], 'message must be a string');
  else if (message && /\{\{/.test(message)) ctx.fail(['validate', 'message'], 'a message with {{variables}} is not supported; write a literal message');

  for (const f of match.resources) {
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
          parts.protect = { origin: ctx.origin, notes, operations, ...dedupAllow(allow), mode, message };
        }
      }
    }
  }
}

function dedupAllow(a: { groups: string[]; users: string[]; serviceAccounts: string[] }) {
  return { groups: [...new Set(a.groups)], users: [...new Set(a.users)], serviceAccounts: [...new Set(a.serviceAccounts)] };
}

function sourceParts(sources: Map<string, SourceParts>, kind: SourceKind, namespace: string, name: string): SourceParts {
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

const NS_TARGET = /^\{\{\s*request\.object\.metadata\.name\s*\}\}$/;

function importGenerate(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>): void {
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

const RESTART_NS = /^\{\{\s*request\.namespace\s*\}\}$/;
const anchor = (k: string): string | null => {
  const m = /^\(([^()]+)\)$/.exec(k);
  return m ? m[1] : null;
};

/** Walk the conditional anchors below `(spec)` of the pod template; returns the reference forms they select. */
function anchorReferences(ctx: RuleContext, rel: Seg[], spec: unknown, kind: SourceKind, names: string[]): RefForm[] {
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

function importMutate(ctx: RuleContext, rule: Obj, spec: Obj, reloads: { part: ReloadPart; kind: SourceKind; rel: Seg[] }[]): void {
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

// ---------------------------------------------------------------------------------------------------------

const SPEC_KEYS = ['rules', 'validationFailureAction', 'background', 'generateExisting', 'generateExistingOnPolicyUpdate', 'mutateExistingOnPolicyUpdate', 'admission'];
const RULE_KEYS = ['name', 'match', 'exclude', 'preconditions', 'validate', 'generate', 'mutate', 'skipBackgroundRequests'];

function policyNameFor(p: SourceParts, all: SourceParts[]): string {
  const sameName = all.filter((o) => o.name === p.name);
  if (sameName.length === 1) return p.name;
  const sameNsName = sameName.filter((o) => o.namespace === p.namespace);
  if (sameNsName.length === 1) return `${p.namespace}-${p.name}`;
  return `${p.kind.toLowerCase()}-${p.namespace}-${p.name}`;
}

function toPolicyInput(p: SourceParts, name: string): RipplePolicyInput {
  const spec: RipplePolicyInput['spec'] = { source: { kind: p.kind, namespace: p.namespace, name: p.name } };
  if (p.protect) {
    const allow: Record<string, string[]> = {};
    if (p.protect.groups.length) allow.groups = p.protect.groups;
    if (p.protect.users.length) allow.users = p.protect.users;
    if (p.protect.serviceAccounts.length) allow.serviceAccounts = p.protect.serviceAccounts;
    spec.protect = {
      operations: p.protect.operations,
      ...(Object.keys(allow).length ? { allow } : {}),
      mode: p.protect.mode,
      ...(p.protect.message ? { message: p.protect.message } : {}),
    };
  }
  if (p.sync) {
    const ns: Record<string, unknown> = {};
    if (!(p.sync.include.length === 1 && p.sync.include[0] === '*')) ns.include = p.sync.include;
    if (p.sync.exclude.length) ns.exclude = p.sync.exclude;
    if (p.sync.selector) ns.selector = p.sync.selector;
    spec.sync = {
      ...(Object.keys(ns).length ? { namespaces: ns } : {}),
      ...(p.sync.targetName !== p.name ? { targetName: p.sync.targetName } : {}),
      onSourceDelete: 'delete',
    };
  }
  if (p.reload) spec.reload = { kinds: p.reload.kinds, references: p.reload.references };
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec };
}

function header(p: SourceParts): string {
  const lines = [`${p.kind} ${p.namespace}/${p.name}, imported from Kyverno by \`ripple import kyverno\`.`];
  if (p.protect) lines.push(`  protect <- ${p.protect.origin}`);
  if (p.sync) lines.push(`  sync    <- ${p.sync.origin}`);
  if (p.reload) lines.push(`  reload  <- ${p.reload.origin}`);
  const notes = [...(p.protect?.notes ?? []), ...(p.sync?.notes ?? []), ...(p.reload?.notes ?? [])];
  if (p.sync) notes.push(`Kyverno skips its own namespace; ripple excludes kube-* and its own namespace ${RIPPLE_NAMESPACE} by default`);
  if (notes.length) {
    lines.push('Mapping notes:');
    lines.push(...[...new Set(notes)].map((n) => `  - ${n}`));
  }
  return lines.map((l) => `# ${l}`.trimEnd()).join('\n') + '\n';
}

/** Import Kyverno ClusterPolicies (several files, several documents each). Throws PolicyError listing every unsupported construct. */
export function importKyverno(inputs: KyvernoInput[]): ImportResult {
  const problems: PolicyProblem[] = [];
  const sources = new Map<string, SourceParts>();
  const reloads: { part: ReloadPart; kind: SourceKind; rel: Seg[]; ctx: RuleContext }[] = [];
  let policyCount = 0;
  for (const input of inputs) {
    const { docs, problems: yp } = readYamlDocuments(input.text, input.file);
    problems.push(...yp);
    for (const doc of docs) {
      const d = doc.data;
      const docFail = (path: Seg[], message: string) => {
        const { line, col } = doc.position(path);
        problems.push({ file: input.file, line, col, path: pathString(path), message });
      };
      if (!isObj(d)) {
        docFail([], 'each document must be a Kyverno ClusterPolicy');
        continue;
      }
      const pname = isObj(d.metadata) && typeof d.metadata.name === 'string' ? d.metadata.name : '<unnamed>';
      if (d.kind !== 'ClusterPolicy' || typeof d.apiVersion !== 'string' || !d.apiVersion.startsWith('kyverno.io/')) {
        docFail(['kind'], `${d.kind ?? 'document'} ${pname}: only kyverno.io ClusterPolicy documents can be imported (namespaced Policy, ValidatingPolicy and others are not supported)`);
        continue;
      }
      policyCount++;
      const spec = d.spec;
      if (!isObj(spec) || !Array.isArray(spec.rules) || spec.rules.length === 0) {
        docFail(['spec'], `ClusterPolicy ${pname}: spec.rules must list at least one rule`);
        continue;
      }
      for (const k of Object.keys(spec)) {
        if (!SPEC_KEYS.includes(k)) docFail(['spec', k], `ClusterPolicy ${pname}: spec.${k} is not supported by ripple import (supported: ${SPEC_KEYS.join(', ')})`);
      }
      if (spec.admission === false) docFail(['spec', 'admission'], `ClusterPolicy ${pname}: admission: false is not supported`);
      let action: 'enforce' | 'audit' = 'audit'; // Kyverno's default failure action is Audit
      if (spec.validationFailureAction !== undefined) {
        const a = String(spec.validationFailureAction).toLowerCase();
        if (a !== 'enforce' && a !== 'audit') docFail(['spec', 'validationFailureAction'], `ClusterPolicy ${pname}: validationFailureAction must be Enforce or Audit`);
        else action = a;
      }
      spec.rules.forEach((rule: unknown, i: number) => {
        const base: Seg[] = ['spec', 'rules', i];
        const rname = isObj(rule) && typeof rule.name === 'string' ? rule.name : `#${i}`;
        const ctx = new RuleContext(problems, doc, input.file, pname, rname, base);
        if (!isObj(rule)) return void ctx.fail([], 'a rule must be a mapping');
        checkKeys(ctx, [], rule, RULE_KEYS, 'rule field');
        const types = ['validate', 'generate', 'mutate'].filter((t) => rule[t] !== undefined);
        if (types.length !== 1) return void ctx.fail([], `a rule needs exactly one of validate, generate, mutate (verifyImages and cleanup rules are not supported); found ${types.join(', ') || 'none'}`);
        if (rule.match === undefined) return void ctx.fail([], 'a rule needs match');
        // spec.background only governs Kyverno's background reports; a deny on request.operation is admission-only
        // either way, so it needs no mapping.
        if (types[0] === 'validate') importValidate(ctx, rule, action, sources);
        else if (types[0] === 'generate') importGenerate(ctx, rule, spec, sources);
        else {
          const before = reloads.length;
          const local: { part: ReloadPart; kind: SourceKind; rel: Seg[] }[] = [];
          importMutate(ctx, rule, spec, local);
          reloads.splice(before, 0, ...local.map((l) => ({ ...l, ctx })));
        }
      });
    }
  }
  if (problems.length === 0 && policyCount === 0) {
    throw new ValidationError(`no Kyverno ClusterPolicy found in ${inputs.map((i) => i.file).join(', ') || '(no files)'}`);
  }

  // Attach restart rules to the source whose copies (or itself) they watch.
  for (const r of reloads) {
    const candidates = [...sources.values()].filter(
      (s) => s.kind === r.kind && ((s.sync && s.sync.targetName === r.part.name) || (s.name === r.part.name && (!r.part.namespaces || r.part.namespaces.includes(s.namespace)))),
    );
    let target: SourceParts | undefined;
    if (candidates.length === 1) target = candidates[0];
    else if (candidates.length > 1) {
      r.ctx.fail(r.rel, `${r.kind} "${r.part.name}" is the copy or base of several imported objects (${candidates.map((c) => `${c.namespace}/${c.name}`).join(', ')}); list the namespace under match namespaces`);
      continue;
    } else if (r.part.namespaces && r.part.namespaces.length === 1 && !hasWildcard(r.part.namespaces[0])) {
      target = sourceParts(sources, r.kind, r.part.namespaces[0], r.part.name);
    } else {
      r.ctx.fail(
        r.rel,
        `no validate or generate rule names the base of ${r.kind} "${r.part.name}", so its namespace is unknown; import it together with its generate rule, or list exactly one namespace under match namespaces`,
      );
      continue;
    }
    const ns = r.part.namespaces;
    if (ns && target.sync) {
      r.ctx.fail(
        [...r.rel, 'namespaces'],
        `restarting only in namespaces ${ns.join(', ')} is not supported: ripple restarts the consumers wherever ${r.kind} "${r.part.name}" and its copies live (imported from ${target.sync.origin}); remove match namespaces`,
      );
      continue;
    }
    if (ns && (ns.length !== 1 || ns[0] !== target.namespace)) {
      r.ctx.fail([...r.rel, 'namespaces'], `restarting in namespaces ${ns.join(', ')} is not supported: ${r.kind} "${r.part.name}" has no copies, so ripple restarts consumers in ${target.namespace} only`);
      continue;
    }
    if (target.reload) {
      const prev = target.reload;
      prev.kinds = [...new Set([...prev.kinds, ...r.part.kinds])];
      prev.references = [...new Set([...prev.references, ...r.part.references])];
      prev.origin = `${prev.origin}; ${r.part.origin}`;
      prev.notes = [...new Set([...prev.notes, ...r.part.notes])];
    } else target.reload = { ...r.part, kinds: [...r.part.kinds], references: [...r.part.references], notes: [...r.part.notes] };
  }
  if (problems.length > 0) throw new PolicyError(problems);

  const all = [...sources.values()].sort((a, b) => `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`));
  const REF_ORDER: RefForm[] = ['env', 'envFrom', 'volume', 'projected'];
  const KIND_ORDER: WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet'];
  for (const s of all) {
    if (s.reload) {
      s.reload.references = REF_ORDER.filter((f) => s.reload!.references.includes(f));
      s.reload.kinds = KIND_ORDER.filter((k) => s.reload!.kinds.includes(k));
      if (s.reload.references.length === 0) {
        throw new ValidationError(`${s.reload.origin}: the conditional anchors select no reference to ${s.kind} ${s.name}`);
      }
    }
  }
  const inputsOut = all.map((s) => toPolicyInput(s, policyNameFor(s, all)));
  const policies = inputsOut.map((p) => RipplePolicy.parse(p));
  const yaml = all.map((s, i) => header(s) + stringify(inputsOut[i], { lineWidth: 0 })).join('---\n');
  return { policies, yaml };
}

/** importKyverno over files on disk. */
export function importKyvernoFiles(files: string[]): ImportResult {
  return importKyverno(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
