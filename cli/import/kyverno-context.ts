/**
 * `ripple import kyverno`, the shared parts: what one rule contributes to a source object's policy, the rule
 * context that reports unsupported constructs at file:line:col, and the match/exclude/precondition readers.
 */
import { pathString, type PolicyProblem, type Seg, type YamlDocument } from '../../core/policy/load.ts';
import type { LabelSelector } from '../../core/policy/schema.ts';
import type { ObjectKind } from '../../core/constants.ts';

export type Obj = Record<string, any>;
export type RefForm = 'env' | 'envFrom' | 'volume' | 'projected';
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

/** Everything one rule contributes to the policy of one source object. */
export interface Contribution {
  origin: string; // "ClusterPolicy validate-secrets, rule protect-blogsecret"
  notes: string[];
}
export interface ProtectPart extends Contribution {
  operations: ('UPDATE' | 'DELETE')[];
  groups: string[];
  users: string[];
  serviceAccounts: string[];
  mode: 'enforce' | 'audit';
  message?: string;
}
export interface SyncPart extends Contribution {
  include: string[];
  exclude: string[];
  selector?: LabelSelector;
  targetName: string;
}
export interface ReloadPart extends Contribution {
  kinds: WorkloadKind[];
  references: RefForm[];
  /** The copy/source name the rule matches, and its namespaces when listed. */
  name: string;
  namespaces?: string[];
}
export interface SourceParts {
  kind: ObjectKind;
  namespace: string;
  name: string;
  protect?: ProtectPart;
  sync?: SyncPart;
  reload?: ReloadPart;
}

export class RuleContext {
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

export const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
export const strList = (v: unknown): string[] | null => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : null);
export const hasWildcard = (s: string) => /[*?]/.test(s);

export function kindName(k: string): string {
  // Kyverno accepts "Secret", "v1/Secret", "*/Secret" and "Group/Version/Kind".
  const parts = k.split('/');
  return parts[parts.length - 1];
}

export function checkKeys(ctx: RuleContext, rel: Seg[], obj: Obj, allowed: string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) ctx.fail([...rel, k], `${what} "${k}" is not supported by ripple import (supported here: ${allowed.join(', ')})`);
  }
}

export interface ResourceFilter {
  kinds: string[];
  names?: string[];
  namespaces?: string[];
  operations?: string[];
  selector?: LabelSelector;
  rel: Seg[];
}

/** match/exclude blocks: `any: [...]`, `all: [one]`, or the legacy direct form. Returns the resource filters. */
export function resourceFilters(ctx: RuleContext, rel: Seg[], block: unknown, what: 'match' | 'exclude'): { resources: ResourceFilter[]; actors: { rel: Seg[]; value: Obj }[] } {
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

export const OPERATION_KEY = /^\{\{\s*request\.operation(\s*\|\|\s*'BACKGROUND')?\s*\}\}$/;

/** Operations selected by `preconditions` on request.operation; null when there is none. */
export function preconditionOperations(ctx: RuleContext, pre: unknown): string[] | null {
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
export function ruleOperations(ctx: RuleContext, match: ResourceFilter[], pre: unknown): string[] | null {
  const fromPre = preconditionOperations(ctx, pre);
  const fromMatch = match.some((f) => f.operations) ? [...new Set(match.flatMap((f) => f.operations ?? []))] : null;
  if (fromPre && fromMatch) return fromPre.filter((o) => fromMatch.includes(o));
  return fromPre ?? fromMatch;
}

export function selectorOf(ctx: RuleContext, rel: Seg[], sel: unknown): LabelSelector | undefined {
  if (!isObj(sel)) {
    ctx.fail(rel, 'selector must be a mapping with matchLabels/matchExpressions');
    return undefined;
  }
  checkKeys(ctx, rel, sel, ['matchLabels', 'matchExpressions'], 'selector field');
  return sel as LabelSelector;
}
