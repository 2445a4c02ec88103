/**
 * `ripple import kyverno`: a generate rule -> the sync part of its base object.
 */
import { createHash } from 'node:crypto';
import { checkKeys, hasWildcard, isObj, kindName, resourceFilters, RuleContext, selectorOf, setParts, sourceParts, strList, type Obj, type SourceParts } from './kyverno-context.ts';
import type { ObjectKind } from '../../core/constants.ts';
import type { LabelSelector } from '../../core/policy/schema.ts';

export const NS_TARGET = /^\{\{\s*request\.object\.metadata\.name\s*\}\}$/;

const NEAREST_CLONE = 'match kinds [Namespace] and generate.namespace "{{request.object.metadata.name}}", choosing the namespaces with match names or a selector';

type Match = ReturnType<typeof resourceFilters>;

export function importGenerate(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>): void {
  const g = rule.generate;
  if (!isObj(g)) return void ctx.fail(['generate'], 'generate must be a mapping');
  if (ctx.policyNamespace) return importNamespacedGenerate(ctx, rule, spec, sources, g, ctx.policyNamespace);
  const match = generateMatch(ctx, rule, g);
  if (!match) return;
  if (g.cloneList !== undefined) return importCloneList(ctx, rule, spec, sources, g, match);
  checkKeys(ctx, ['generate'], g, ['kind', 'apiVersion', 'name', 'namespace', 'synchronize', 'clone', 'generateExisting', 'orphanDownstreamOnPolicyDelete'], 'generate field');
  if (rule.preconditions !== undefined) ctx.fail(['preconditions'], 'preconditions on a generate rule are not supported; select namespaces with match names/selector and exclude names');
  const notes: string[] = [...ctx.notes];
  const base = generateBase(ctx, g);
  if (!base) return;
  const { kind, clone } = base;
  const mode = syncOptionNotes(ctx, g, spec, notes);

  const { include, selector, everything } = includedNamespaces(ctx, match, notes);
  const exclude = excludedNamespaces(ctx, rule.exclude);
  const parts = sourceParts(sources, kind, clone.namespace, clone.name);
  const sync = {
    origin: ctx.origin,
    notes,
    include: everything || include.length === 0 ? ['*'] : [...new Set(include)],
    exclude: [...new Set(exclude)],
    selector,
    targetName: g.name,
    mode,
  };
  if (parts.sync) {
    const prev = parts.sync;
    const names = [prev.targetName, ...(prev.moreNames ?? [])];
    if (names.includes(g.name)) return void ctx.fail(['generate'], `${kind} ${clone.namespace}/${clone.name} is already cloned as "${g.name}" by ${prev.origin}; merge the two rules (one rule per base and name, its namespaces in one match)`);
    // the same base under another name: sync.targetNames, when both rules copy into the same namespaces the same way
    const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
    const differs = (['include', 'exclude', 'selector', 'mode'] as const).filter((k) => !same(k === 'include' || k === 'exclude' ? [...prev[k]].sort() : prev[k], k === 'include' || k === 'exclude' ? [...sync[k]].sort() : sync[k]));
    if (differs.length > 0) {
      return void ctx.fail(
        ['generate', 'name'],
        `${kind} ${clone.namespace}/${clone.name} is already copied as "${prev.targetName}" by ${prev.origin}, into other namespaces or another way (${differs.map((k) => (k === 'mode' ? 'synchronize' : `namespaces ${k}`)).join(', ')}); a base copied under several names (sync.targetNames) has one set of namespaces and one mode; nearest supported form: the same match, exclude and synchronize in both rules`,
      );
    }
    prev.moreNames = [...(prev.moreNames ?? []), g.name];
    prev.origin = `${prev.origin}; ${ctx.origin}`;
    prev.notes = [...new Set([...prev.notes, ...notes, `copied under several names (${[...names, g.name].join(', ')}) by several rules -> sync.targetNames`])];
    return;
  }
  parts.sync = sync;
}

/**
 * A namespaced Policy's generate rule: it sees and writes only its own namespace, so it clones a base of that
 * namespace into a second object next to it, under another name -> a policy whose only copy is in the source's own
 * namespace (sync.namespaces.include lists it by exact name; sync.targetName is the copy's name). Kyverno makes the
 * copy when the rule's trigger (any object of the matched kinds in that namespace) appears; ripple makes it whenever
 * the base exists (noted).
 */
function importNamespacedGenerate(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>, g: Obj, ns: string): void {
  checkKeys(ctx, ['generate'], g, ['kind', 'apiVersion', 'name', 'namespace', 'synchronize', 'clone', 'generateExisting', 'orphanDownstreamOnPolicyDelete'], 'generate field');
  if (g.foreach !== undefined || g.cloneList !== undefined || g.data !== undefined) {
    const k = g.foreach !== undefined ? 'foreach' : g.cloneList !== undefined ? 'cloneList' : 'data';
    return void ctx.fail(['generate', k], `generate.${k} in a namespaced Policy is not supported; nearest supported form: generate.clone of one base of namespace ${ns}`);
  }
  if (rule.preconditions !== undefined) ctx.fail(['preconditions'], 'preconditions on a generate rule are not supported');
  const kind = g.kind;
  if (kind !== 'Secret' && kind !== 'ConfigMap') return void ctx.fail(['generate', 'kind'], `generating kind ${JSON.stringify(kind)} is not supported (Secret, ConfigMap)`);
  const clone = g.clone;
  if (!isObj(clone) || typeof clone.name !== 'string' || typeof clone.namespace !== 'string') return void ctx.fail(['generate', 'clone'], 'generate.clone with the name and namespace of the base object is required');
  checkKeys(ctx, ['generate', 'clone'], clone, ['name', 'namespace'], 'clone field');
  if (clone.namespace !== ns) return void ctx.fail(['generate', 'clone', 'namespace'], `a namespaced Policy reads only its own namespace ${ns}; clone.namespace is ${JSON.stringify(clone.namespace)}`);
  if (g.namespace !== ns) return void ctx.fail(['generate', 'namespace'], `a namespaced Policy writes only into its own namespace ${ns}; generate.namespace is ${JSON.stringify(g.namespace)}`);
  for (const [k, v] of [['clone', 'name'], ['name', g.name]] as const) {
    const value = k === 'clone' ? clone.name : v;
    if (typeof value !== 'string' || /\{\{/.test(value) || hasWildcard(value)) return void ctx.fail(k === 'clone' ? ['generate', 'clone', 'name'] : ['generate', 'name'], `${k === 'clone' ? 'clone.name' : 'generate.name'} ${JSON.stringify(value)} must be a literal name`);
  }
  if (g.name === clone.name) return void ctx.fail(['generate', 'name'], `generate.name ${JSON.stringify(g.name)} is the base itself (same namespace, same name): nothing to copy`);
  const notes: string[] = [...ctx.notes];
  const mode = syncOptionNotes(ctx, g, spec, notes);
  const match = resourceFilters(ctx, ['match'], rule.match, 'match');
  const triggers = [...new Set(match.resources.flatMap((f) => f.kinds))];
  notes.push(
    `namespaced Policy ${ns}: the copy "${g.name}" is made next to the base in ${ns}${triggers.length ? `; Kyverno waited for a ${triggers.join('/')} to appear there, ripple makes it whenever the base exists` : ''}`,
  );
  const parts = sourceParts(sources, kind, ns, clone.name);
  if (parts.sync) return void ctx.fail(['generate'], `${kind} ${ns}/${clone.name} is already cloned by ${parts.sync.origin}; one target name per base`);
  parts.sync = { origin: ctx.origin, notes, include: [ns], exclude: [], selector: undefined, targetName: g.name as string, mode };
}

/** The rule's match, after the root refusals (each names the one construct that decides); undefined when refused. */
function generateMatch(ctx: RuleContext, rule: Obj, g: Obj): Match | undefined {
  // Root refusals first: each names the one construct that decides, rather than everything that follows from it.
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
  return match;
}

/** A set's policy name: the Kyverno policy's (and its kind's, when the rule clones several), within 63 characters (a label value). */
function setPolicyName(ctx: RuleContext, kind: ObjectKind, kinds: number): string {
  const base = kinds > 1 ? `${ctx.policyName}-${kind.toLowerCase()}s` : ctx.policyName;
  if (base.length <= 63) return base;
  const h = createHash('sha256').update(base).digest('hex').slice(0, 8);
  return `${base.slice(0, 54).replace(/[-.]+$/, '')}-${h}`;
}

/**
 * generate.cloneList -> one RipplePolicy per kind with `source.selector`: every object of that kind in
 * cloneList.namespace whose labels match, each copied under its own name into the matched namespaces, joining and
 * leaving the set as its labels change (a base that leaves it is treated as deleted: copies go with synchronize:
 * true, stay with false).
 */
function importCloneList(ctx: RuleContext, rule: Obj, spec: Obj, sources: Map<string, SourceParts>, g: Obj, match: Match): void {
  checkKeys(ctx, ['generate'], g, ['namespace', 'synchronize', 'cloneList', 'generateExisting', 'orphanDownstreamOnPolicyDelete'], 'generate field (with cloneList)');
  if (rule.preconditions !== undefined) ctx.fail(['preconditions'], 'preconditions on a generate rule are not supported; select namespaces with match names/selector and exclude names');
  const cl = g.cloneList;
  if (!isObj(cl)) return void ctx.fail(['generate', 'cloneList'], 'cloneList must be a mapping with namespace, kinds and selector');
  checkKeys(ctx, ['generate', 'cloneList'], cl, ['namespace', 'kinds', 'selector'], 'cloneList field');
  if (typeof cl.namespace !== 'string' || /\{\{/.test(cl.namespace) || hasWildcard(cl.namespace)) {
    return void ctx.fail(['generate', 'cloneList', 'namespace'], `cloneList.namespace ${JSON.stringify(cl.namespace)} must be a literal namespace (a variable from context with variable.value is inlined; others are resolved per request)`);
  }
  const kindList = strList(cl.kinds);
  if (!kindList || kindList.length === 0) return void ctx.fail(['generate', 'cloneList', 'kinds'], 'cloneList.kinds must list v1/Secret and/or v1/ConfigMap');
  const kinds: ObjectKind[] = [];
  kindList.forEach((k, i) => {
    const name = kindName(k);
    if ((name !== 'Secret' && name !== 'ConfigMap') || ![name, `v1/${name}`, `*/${name}`].includes(k)) ctx.fail(['generate', 'cloneList', 'kinds', i], `cloning kind ${JSON.stringify(k)} is not supported (v1/Secret, v1/ConfigMap)`);
    else if (!kinds.includes(name)) kinds.push(name);
  });
  if (cl.selector === undefined) {
    return void ctx.fail(
      ['generate', 'cloneList'],
      `cloneList without a selector (every ${kinds.join('/')} of namespace ${cl.namespace}, service-account tokens and Helm releases included) is not supported; label the objects to copy and select them (cloneList.selector.matchLabels)`,
    );
  }
  const selector = selectorOf(ctx, ['generate', 'cloneList', 'selector'], cl.selector);
  if (!selector) return;
  if (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0) return void ctx.fail(['generate', 'cloneList', 'selector'], 'an empty cloneList.selector is not supported; select the objects to copy by label');
  if (typeof g.namespace !== 'string' || !NS_TARGET.test(g.namespace.trim())) {
    return void ctx.fail(
      ['generate', 'namespace'],
      `generate.namespace ${JSON.stringify(g.namespace)}: only "{{request.object.metadata.name}}" (one copy in each matched Namespace) is supported; to copy into one namespace, match that Namespace by name (${NEAREST_CLONE})`,
    );
  }
  const notes: string[] = [...ctx.notes];
  const mode = syncOptionNotes(ctx, g, spec, notes);
  notes.push(
    `cloneList -> source.selector: every ${kinds.join('/')} of ${cl.namespace} whose labels match is a base, copied under its own name; one that loses the label leaves the set and is treated as deleted (${mode === 'sync' ? 'its copies are deleted' : 'its copies stay'}); a copy ripple made is never a base`,
  );
  if (kinds.length > 1) notes.push(`cloneList.kinds ${kinds.join(', ')} -> one RipplePolicy per kind`);
  const { include, selector: nsSelector, everything } = includedNamespaces(ctx, match, notes);
  const exclude = excludedNamespaces(ctx, rule.exclude);
  for (const kind of kinds) {
    const parts = setParts(sources, kind, cl.namespace, selector, setPolicyName(ctx, kind, kinds.length));
    if (parts.sync) {
      ctx.fail(['generate', 'cloneList'], `every ${kind} of ${cl.namespace} matching ${JSON.stringify(selector)} is already cloned by ${parts.sync.origin}; merge the two rules`);
      continue;
    }
    parts.sync = {
      origin: ctx.origin,
      notes,
      include: everything || include.length === 0 ? ['*'] : [...new Set(include)],
      exclude: [...new Set(exclude)],
      selector: nsSelector,
      targetName: '',
      mode,
    };
  }
}

/** The base's kind and clone block, checked with the copies' name and namespace; undefined when refused. */
function generateBase(ctx: RuleContext, g: Obj): { kind: ObjectKind; clone: Obj } | undefined {
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
  return { kind, clone };
}

/** synchronize (-> the sync mode), orphanDownstreamOnPolicyDelete and generateExisting: mapped and noted. */
function syncOptionNotes(ctx: RuleContext, g: Obj, spec: Obj, notes: string[]): 'sync' | 'once' {
  if (g.synchronize !== undefined && typeof g.synchronize !== 'boolean') ctx.fail(['generate', 'synchronize'], 'synchronize must be true or false');
  const mode = g.synchronize === true ? 'sync' : 'once';
  if (mode === 'once') {
    notes.push(
      `${g.synchronize === undefined ? 'synchronize unset (Kyverno\'s default: false)' : 'synchronize: false'} -> sync.mode: once: a copy is made when a namespace is created or selected, when the base appears, and when the policy is deployed; then it is the namespace's: edits kept, a deleted copy not re-created, source changes and deletion not propagated`,
    );
  }
  if (mode === 'once') {
    notes.push('copies of a synchronize: false rule stay when the policy is deleted, in Kyverno and in ripple');
    if (g.orphanDownstreamOnPolicyDelete !== undefined && typeof g.orphanDownstreamOnPolicyDelete !== 'boolean') ctx.fail(['generate', 'orphanDownstreamOnPolicyDelete'], 'orphanDownstreamOnPolicyDelete must be true or false');
  } else if (g.orphanDownstreamOnPolicyDelete === true) {
    notes.push('orphanDownstreamOnPolicyDelete: true -> removing the RipplePolicy leaves its copies in place (ripple never deletes copies because a policy was removed)');
  } else if (g.orphanDownstreamOnPolicyDelete === false || g.orphanDownstreamOnPolicyDelete === undefined) {
    notes.push('Kyverno deletes the copies when this rule or policy is deleted (orphanDownstreamOnPolicyDelete: false, its default); removing the RipplePolicy leaves them in place: delete them with kubectl if you remove the policy');
  } else ctx.fail(['generate', 'orphanDownstreamOnPolicyDelete'], 'orphanDownstreamOnPolicyDelete must be true or false');
  const existing = g.generateExisting ?? spec.generateExisting ?? spec.generateExistingOnPolicyUpdate;
  if (existing === true) notes.push('generateExisting -> copies are also made in namespaces that already exist (ripple always does this)');
  else notes.push('copies are also made in namespaces that already exist (ripple always backfills, at deploy; the Kyverno policy did not ask for generateExisting)');
  return mode;
}

/** The namespaces the rule's match selects: names (globs), a label selector, or every namespace. */
function includedNamespaces(ctx: RuleContext, match: Match, notes: string[]): { include: string[]; selector: LabelSelector | undefined; everything: boolean } {
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
  return { include, selector, everything };
}

/** The namespace names a generate rule's exclude leaves out. */
function excludedNamespaces(ctx: RuleContext, ruleExclude: unknown): string[] {
  const exclude: string[] = [];
  if (ruleExclude !== undefined) {
    const ex = resourceFilters(ctx, ['exclude'], ruleExclude, 'exclude');
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
  return exclude;
}
