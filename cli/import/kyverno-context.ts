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
  /** Further names the base is copied under (another generate rule cloning it under another name, same namespaces). */
  moreNames?: string[];
  /** synchronize: true -> sync; false or unset (Kyverno's default) -> once. */
  mode: 'sync' | 'once';
}
export interface ReloadPart extends Contribution {
  kinds: WorkloadKind[];
  /** Named restart targets (mutate.targets with a name): restarted whether or not their pods read the object. */
  targets?: { kind: WorkloadKind; name?: string; selector?: LabelSelector; namespace?: string }[];
  references: RefForm[];
  /** The copy/source name the rule matches, and its namespaces when listed. */
  name: string;
  namespaces?: string[];
}
export interface SourceParts {
  kind: ObjectKind;
  namespace: string;
  /** The base's name; '' for a set of bases (`selector`). */
  name: string;
  /** A set of bases (generate.cloneList): every object of the kind in the namespace matching this selector. */
  selector?: LabelSelector;
  /** The RipplePolicy's name, for a set (it names no object to take a name from). */
  policyName?: string;
  protect?: ProtectPart;
  sync?: SyncPart;
  reload?: ReloadPart;
}

/** The parts of a set of bases (generate.cloneList, one kind), created on first use. */
export function setParts(sources: Map<string, SourceParts>, kind: ObjectKind, namespace: string, selector: LabelSelector, policyName: string): SourceParts {
  const key = `${kind}/${namespace}/?${JSON.stringify(selector)}`;
  let p = sources.get(key);
  if (!p) {
    p = { kind, namespace, name: '', selector, policyName };
    sources.set(key, p);
  }
  return p;
}

/** The parts collected for one source object, created on first use. */
export function sourceParts(sources: Map<string, SourceParts>, kind: ObjectKind, namespace: string, name: string): SourceParts {
  const key = `${kind}/${namespace}/${name}`;
  let p = sources.get(key);
  if (!p) {
    p = { kind, namespace, name };
    sources.set(key, p);
  }
  return p;
}

/** Where a rule sits: its policy (kind, namespace for a namespaced Policy, name), its file and document. */
export interface RuleOrigin {
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
  doc: YamlDocument;
  file: string;
  policyKind: 'ClusterPolicy' | 'Policy';
  /** The namespace of a namespaced Policy (it sees and generates only there). */
  policyNamespace?: string;
  policyName: string;
  ruleName: string;
  base: Seg[];
}

export class RuleContext {
  readonly problems: PolicyProblem[];
  readonly warnings: PolicyProblem[];
  readonly doc: YamlDocument;
  readonly file: string;
  readonly policyKind: 'ClusterPolicy' | 'Policy';
  readonly policyNamespace?: string;
  readonly policyName: string;
  readonly ruleName: string;
  readonly base: Seg[];
  /** Mapping notes that concern the whole rule (e.g. inlined context variables); each part carries them. */
  readonly notes: string[] = [];
  constructor(o: RuleOrigin) {
    this.problems = o.problems;
    this.warnings = o.warnings;
    this.doc = o.doc;
    this.file = o.file;
    this.policyKind = o.policyKind;
    this.policyNamespace = o.policyNamespace;
    this.policyName = o.policyName;
    this.ruleName = o.ruleName;
    this.base = o.base;
  }
  get origin(): string {
    return `${this.policyKind} ${this.policyNamespace ? `${this.policyNamespace}/` : ''}${this.policyName}, rule ${this.ruleName}`;
  }
  private at(rel: Seg[], message: string): PolicyProblem {
    const path = [...this.base, ...rel];
    const { line, col } = this.doc.position(path);
    return { file: this.file, line, col, path: pathString(path), message: `${this.origin}: ${message}` };
  }
  /** Report an unsupported or invalid construct at `rel` (relative to the rule). Returns undefined for chaining. */
  fail(rel: Seg[], message: string): undefined {
    this.problems.push(this.at(rel, message));
    return undefined;
  }
  /** Report something noted and ignored (the import goes on). */
  warn(rel: Seg[], message: string): void {
    this.warnings.push(this.at(rel, message));
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
  /** Kinds (without group/version); empty in an exclude clause that names none (every kind the rule matched). */
  kinds: string[];
  names?: string[];
  namespaces?: string[];
  operations?: string[];
  selector?: LabelSelector;
  /** `resources.annotations` (match by the object's annotations) and `resources.namespaceSelector`, refused where used. */
  annotations?: unknown;
  namespaceSelector?: unknown;
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
      checkKeys(ctx, rrel, r, ['kinds', 'names', 'namespaces', 'operations', 'selector', 'annotations', 'namespaceSelector'], 'resources field');
      // In an exclude clause, kinds may be left out: the clause then applies to every kind the rule matched.
      const kinds = r.kinds === undefined && what === 'exclude' ? [] : strList(r.kinds);
      if (!kinds || (kinds.length === 0 && what === 'match')) {
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
      if (r.annotations !== undefined) f.annotations = r.annotations;
      if (r.namespaceSelector !== undefined) f.namespaceSelector = r.namespaceSelector;
      out.resources.push(f);
    } else {
      out.actors.push({ rel: c.rel, value: c.value });
    }
  }
  return out;
}

export const OPERATION_KEY = /^\{\{\s*request\.operation(\s*\|\|\s*'BACKGROUND')?\s*\}\}$/;
/** The operations an admission request can carry (Kyverno's `{{request.operation}}`). */
export const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Kyverno condition operators on a scalar key, as a membership test of the operation in the condition's values. */
const MEMBERSHIP: Record<string, 'in' | 'notIn'> = {
  Equals: 'in',
  Equal: 'in',
  In: 'in',
  AnyIn: 'in',
  AllIn: 'in',
  NotEquals: 'notIn',
  NotEqual: 'notIn',
  NotIn: 'notIn',
  AnyNotIn: 'notIn',
  AllNotIn: 'notIn',
};

/** What a condition block is for, in messages, and what to write instead of a condition on something else. */
export interface ConditionUse {
  what: 'preconditions' | 'validate.deny.conditions';
  /** The nearest supported form for a condition on another key. */
  otherKeyHint: string;
}

/**
 * The operations for which a Kyverno condition block holds: `{ any: [...], all: [...] }` (any: one holds; all: every
 * one holds; both: both parts) or a list (legacy: all). Only conditions on `{{request.operation}}` are understood;
 * anything else is reported. Returns null for no block, `undefined` when a condition could not be read.
 */
export function conditionOperations(ctx: RuleContext, rel: Seg[], block: unknown, use: ConditionUse): Operation[] | null | undefined {
  if (block === undefined || block === null) return null;
  let any: { rel: Seg[]; value: unknown }[] | null = null;
  let all: { rel: Seg[]; value: unknown }[] = [];
  if (Array.isArray(block)) all = block.map((value, i) => ({ rel: [...rel, i], value }));
  else if (isObj(block)) {
    checkKeys(ctx, rel, block, ['all', 'any'], `${use.what} field`);
    for (const k of ['any', 'all'] as const) {
      if (block[k] === undefined) continue;
      if (!Array.isArray(block[k])) {
        ctx.fail([...rel, k], `${use.what}.${k} must be a list of conditions`);
        return undefined;
      }
      const conds = (block[k] as unknown[]).map((value, i) => ({ rel: [...rel, k, i], value }));
      if (k === 'any') any = conds;
      else all = conds;
    }
  } else {
    ctx.fail(rel, `${use.what} must be a mapping with all/any (or a list of conditions)`);
    return undefined;
  }
  let ok = true;
  const holds = (c: { rel: Seg[]; value: unknown }): Set<Operation> => {
    const none = new Set<Operation>();
    if (!isObj(c.value)) {
      ok = false;
      ctx.fail(c.rel, 'a condition must be a mapping with key, operator and value');
      return none;
    }
    checkKeys(ctx, c.rel, c.value, ['key', 'operator', 'value', 'message'], 'condition field');
    const key = c.value.key;
    if (typeof key !== 'string' || !OPERATION_KEY.test(key.trim())) {
      ok = false;
      ctx.fail([...c.rel, 'key'], `a condition on ${JSON.stringify(key)} in ${use.what} is not supported: ripple imports only conditions on "{{request.operation}}"; ${use.otherKeyHint}`);
      return none;
    }
    const op = c.value.operator;
    const kind = typeof op === 'string' ? MEMBERSHIP[op] : undefined;
    if (!kind) {
      ok = false;
      ctx.fail([...c.rel, 'operator'], `operator ${JSON.stringify(op)} on request.operation is not supported; use AnyIn, AnyNotIn, Equals or NotEquals`);
      return none;
    }
    const raw = c.value.value;
    const values = typeof raw === 'string' ? [raw] : strList(raw);
    if (!values) {
      ok = false;
      ctx.fail([...c.rel, 'value'], `operator ${op} needs an operation or a list of operations (${OPERATIONS.join(', ')})`);
      return none;
    }
    const unknown = values.filter((v) => v !== 'BACKGROUND' && !(OPERATIONS as readonly string[]).includes(v));
    if (unknown.length > 0) {
      ok = false;
      ctx.fail([...c.rel, 'value'], `${unknown.map((v) => JSON.stringify(v)).join(', ')} ${unknown.length === 1 ? 'is not an operation' : 'are not operations'} (${OPERATIONS.join(', ')}; upper case, no wildcards)`);
      return none;
    }
    return new Set(OPERATIONS.filter((o) => values.includes(o) === (kind === 'in')));
  };
  let result = new Set<Operation>(OPERATIONS);
  if (any !== null && (any as unknown[]).length > 0) {
    const union = new Set<Operation>();
    for (const c of any as { rel: Seg[]; value: unknown }[]) for (const o of holds(c)) union.add(o);
    result = union;
  }
  for (const c of all) {
    const h = holds(c);
    result = new Set([...result].filter((o) => h.has(o)));
  }
  if (!ok) return undefined;
  if (any === null && all.length === 0) return null;
  return OPERATIONS.filter((o) => result.has(o));
}

/** The operations a rule's match applies to (`resources.operations`); null when no clause names any. */
export function matchOperations(match: ResourceFilter[]): string[] | null {
  return match.some((f) => f.operations) ? [...new Set(match.flatMap((f) => f.operations ?? [...OPERATIONS]))] : null;
}

/** Intersect operation sets; null = unconstrained. */
export function intersectOperations(...sets: (readonly string[] | null)[]): string[] | null {
  let out: string[] | null = null;
  for (const s of sets) {
    if (s === null) continue;
    out = out === null ? [...s] : out.filter((o) => s.includes(o));
  }
  return out;
}

export function selectorOf(ctx: RuleContext, rel: Seg[], sel: unknown): LabelSelector | undefined {
  if (!isObj(sel)) {
    ctx.fail(rel, 'selector must be a mapping with matchLabels/matchExpressions');
    return undefined;
  }
  checkKeys(ctx, rel, sel, ['matchLabels', 'matchExpressions'], 'selector field');
  return sel as LabelSelector;
}
