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
import { ValidationError } from '../../core/errors.ts';
import { RIPPLE_NAMESPACE, type ObjectKind } from '../../core/constants.ts';
import { PolicyError, pathString, readYamlDocuments, type PolicyProblem, type Seg, type YamlDocument } from '../../core/policy/load.ts';
import { API_VERSION, KIND, RipplePolicy, type RipplePolicyInput } from '../../core/policy/schema.ts';
import { checkKeys, hasWildcard, isObj, RuleContext, type RefForm, type ReloadPart, type SourceParts, type WorkloadKind } from './kyverno-context.ts';
import { importGenerate, importMutate, importValidate, sourceParts } from './kyverno-rules.ts';

export { CLUSTER_ADMIN_GROUP, KYVERNO_ENGINE_SERVICE_ACCOUNTS } from './kyverno-names.ts';

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

type PendingReload = { part: ReloadPart; kind: ObjectKind; rel: Seg[]; ctx: RuleContext };

/**
 * One YAML document: a ClusterPolicy's rules into `sources` (validate, generate) and `reloads` (mutate), problems
 * into `problems`. Returns whether the document is a kyverno.io ClusterPolicy.
 */
function importDocument(doc: YamlDocument, file: string, problems: PolicyProblem[], sources: Map<string, SourceParts>, reloads: PendingReload[]): boolean {
  const d = doc.data;
  const docFail = (path: Seg[], message: string) => {
    const { line, col } = doc.position(path);
    problems.push({ file: file, line, col, path: pathString(path), message });
  };
  if (!isObj(d)) {
    docFail([], 'each document must be a Kyverno ClusterPolicy');
    return false;
  }
  const pname = isObj(d.metadata) && typeof d.metadata.name === 'string' ? d.metadata.name : '<unnamed>';
  if (d.kind !== 'ClusterPolicy' || typeof d.apiVersion !== 'string' || !d.apiVersion.startsWith('kyverno.io/')) {
    docFail(['kind'], `${d.kind ?? 'document'} ${pname}: only kyverno.io ClusterPolicy documents can be imported (namespaced Policy, ValidatingPolicy and others are not supported)`);
    return false;
  }
  const spec = d.spec;
  if (!isObj(spec) || !Array.isArray(spec.rules) || spec.rules.length === 0) {
    docFail(['spec'], `ClusterPolicy ${pname}: spec.rules must list at least one rule`);
    return true;
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
    const ctx = new RuleContext(problems, doc, file, pname, rname, base);
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
      const local: { part: ReloadPart; kind: ObjectKind; rel: Seg[] }[] = [];
      importMutate(ctx, rule, spec, local);
      reloads.splice(before, 0, ...local.map((l) => ({ ...l, ctx })));
    }
  });
  return true;
}

/** Attach restart rules to the source whose copies (or itself) they watch. */
function attachReloads(reloads: PendingReload[], sources: Map<string, SourceParts>): void {
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
}

/** The merged sources as RipplePolicies, sorted, and their YAML with comments saying where each part came from. */
function output(sources: Map<string, SourceParts>): ImportResult {
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

/** Import Kyverno ClusterPolicies (several files, several documents each). Throws PolicyError listing every unsupported construct. */
export function importKyverno(inputs: KyvernoInput[]): ImportResult {
  const problems: PolicyProblem[] = [];
  const sources = new Map<string, SourceParts>();
  const reloads: PendingReload[] = [];
  let policyCount = 0;
  for (const input of inputs) {
    const { docs, problems: yp } = readYamlDocuments(input.text, input.file);
    problems.push(...yp);
    for (const doc of docs) if (importDocument(doc, input.file, problems, sources, reloads)) policyCount++;
  }
  if (problems.length === 0 && policyCount === 0) {
    throw new ValidationError(`no Kyverno ClusterPolicy found in ${inputs.map((i) => i.file).join(', ') || '(no files)'}`);
  }
  attachReloads(reloads, sources);
  if (problems.length > 0) throw new PolicyError(problems);
  return output(sources);
}

/** importKyverno over files on disk. */
export function importKyvernoFiles(files: string[]): ImportResult {
  return importKyverno(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
