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
import { formatProblem, PolicyError, pathString, readYamlDocuments, type PolicyProblem, type Seg, type YamlDocument } from '../../core/policy/load.ts';
import { API_VERSION, KIND, RipplePolicy, type RipplePolicyInput } from '../../core/policy/schema.ts';
import { checkKeys, hasWildcard, isObj, RuleContext, sourceParts, type RefForm, type ReloadPart, type SourceParts, type WorkloadKind } from './kyverno-context.ts';
import { importGenerate } from './kyverno-generate.ts';
import { importMutate } from './kyverno-mutate.ts';
import { importValidate } from './kyverno-validate.ts';
import { inlineContext } from './kyverno-variables.ts';

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
  /** What was noted and skipped (file:line:col: …): objects that are not policies, spec fields with no ripple meaning. */
  warnings: string[];
}

/** The constructs that could not be imported (one problem each), and the warnings gathered on the way. */
export class KyvernoImportError extends PolicyError {
  readonly warnings: string[];
  constructor(problems: PolicyProblem[], warnings: PolicyProblem[], message?: string) {
    super(problems);
    if (message) this.message = message;
    this.name = 'KyvernoImportError';
    this.warnings = warnings.map(formatProblem);
  }
}

const SPEC_KEYS = ['rules', 'validationFailureAction', 'background', 'generateExisting', 'generateExistingOnPolicyUpdate', 'mutateExistingOnPolicyUpdate', 'admission'];
/** Spec fields that change how Kyverno itself validates or writes, with no ripple meaning: noted and ignored. */
const IGNORED_SPEC_KEYS: Record<string, string> = {
  schemaValidation: 'Kyverno\'s check of its own patches against the OpenAPI schema; ripple validates RipplePolicies with `ripple validate`',
  useServerSideApply: 'how Kyverno writes the objects it generates; ripple writes its copies itself, as field manager "ripple"',
};
const RULE_KEYS = ['name', 'match', 'exclude', 'preconditions', 'validate', 'generate', 'mutate', 'skipBackgroundRequests', 'context'];

function policyNameFor(p: SourceParts, all: SourceParts[]): string {
  if (p.policyName) return p.policyName;
  const sameName = all.filter((o) => o.name === p.name);
  if (sameName.length === 1) return p.name;
  const sameNsName = sameName.filter((o) => o.namespace === p.namespace);
  if (sameNsName.length === 1) return `${p.namespace}-${p.name}`;
  return `${p.kind.toLowerCase()}-${p.namespace}-${p.name}`;
}

function toPolicyInput(p: SourceParts, name: string): RipplePolicyInput {
  const spec: RipplePolicyInput['spec'] = { source: p.selector ? { kind: p.kind, namespace: p.namespace, selector: p.selector } : { kind: p.kind, namespace: p.namespace, name: p.name } };
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
      ...(p.sync.moreNames?.length
        ? { targetNames: [p.sync.targetName, ...p.sync.moreNames] }
        : !p.selector && p.sync.targetName !== p.name
          ? { targetName: p.sync.targetName }
          : {}),
      // synchronize: true deletes the copies with the source (Kyverno's downstream cleanup); false leaves them
      onSourceDelete: p.sync.mode === 'once' ? 'keep' : 'delete',
      ...(p.sync.mode === 'once' ? { mode: 'once' } : {}),
    };
  }
  if (p.reload) spec.reload = { kinds: p.reload.kinds, references: p.reload.references, ...(p.reload.targets?.length ? { targets: p.reload.targets } : {}) };
  return { apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec };
}

function header(p: SourceParts): string {
  const what = p.selector ? `Every ${p.kind} in ${p.namespace} matching ${JSON.stringify(p.selector)} (a set of bases)` : `${p.kind} ${p.namespace}/${p.name}`;
  const lines = [`${what}, imported from Kyverno by \`ripple import kyverno\`.`];
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

/** Where one document's problems and warnings go, and what the rules of all documents build. */
interface ImportState {
  problems: PolicyProblem[];
  warnings: PolicyProblem[];
  sources: Map<string, SourceParts>;
  reloads: PendingReload[];
}

/** apiVersion of a Kyverno document: kyverno.io/v1, kyverno.io/v2beta1, policies.kyverno.io/v1alpha1, … */
const KYVERNO_API = /^([a-z0-9-]+\.)?kyverno\.io\//;

/**
 * One YAML document: a ClusterPolicy's (or a namespaced Policy's) rules into `sources` (validate, generate) and
 * `reloads` (mutate). Any other Kubernetes object (the base Secret shipped with the policy, its Namespace) is
 * reported as a warning and skipped. Returns whether the document is a Kyverno policy ripple reads.
 */
function importDocument(doc: YamlDocument, file: string, st: ImportState): boolean {
  const d = doc.data;
  const at = (path: Seg[], message: string): PolicyProblem => ({ file, ...doc.position(path), path: pathString(path), message });
  const docFail = (path: Seg[], message: string) => void st.problems.push(at(path, message));
  if (!isObj(d)) {
    docFail([], 'each document must be a Kyverno ClusterPolicy or Policy (a mapping)');
    return false;
  }
  const meta = isObj(d.metadata) ? d.metadata : {};
  const pname = typeof meta.name === 'string' ? meta.name : '<unnamed>';
  const apiVersion = typeof d.apiVersion === 'string' ? d.apiVersion : '';
  if (!KYVERNO_API.test(apiVersion)) {
    if (typeof d.kind === 'string' && apiVersion) {
      const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
      const role = d.kind === 'Secret' || d.kind === 'ConfigMap' ? ' (ripple copies an existing base; it does not create one)' : '';
      st.warnings.push(at(['kind'], `${d.kind} ${ns}${pname} is not a Kyverno policy, so it is not imported${role}: apply it with kubectl`));
      return false;
    }
    docFail([], 'each document must be a Kyverno ClusterPolicy or Policy (apiVersion kyverno.io/…, kind ClusterPolicy or Policy)');
    return false;
  }
  if (d.kind !== 'ClusterPolicy' && d.kind !== 'Policy') {
    docFail(['kind'], `${String(d.kind)} ${pname}: only Kyverno ClusterPolicy and Policy documents can be imported (${apiVersion} ${String(d.kind)} is not supported)`);
    return false;
  }
  const policyKind = d.kind;
  let policyNamespace: string | undefined;
  if (policyKind === 'Policy') {
    if (typeof meta.namespace !== 'string' || meta.namespace === '') {
      docFail(['metadata'], `Policy ${pname}: a namespaced Policy needs metadata.namespace (the one namespace it applies to)`);
      return true;
    }
    policyNamespace = meta.namespace;
  }
  const label = `${policyKind} ${policyNamespace ? `${policyNamespace}/` : ''}${pname}`;
  const spec = d.spec;
  if (!isObj(spec) || !Array.isArray(spec.rules) || spec.rules.length === 0) {
    docFail(['spec'], `${label}: spec.rules must list at least one rule`);
    return true;
  }
  for (const k of Object.keys(spec)) {
    if (IGNORED_SPEC_KEYS[k]) st.warnings.push(at(['spec', k], `${label}: spec.${k} noted and ignored (${IGNORED_SPEC_KEYS[k]})`));
    else if (!SPEC_KEYS.includes(k)) docFail(['spec', k], `${label}: spec.${k} is not supported by ripple import (supported: ${SPEC_KEYS.join(', ')}; noted and ignored: ${Object.keys(IGNORED_SPEC_KEYS).join(', ')})`);
  }
  if (spec.admission === false) docFail(['spec', 'admission'], `${label}: admission: false is not supported`);
  let action: 'enforce' | 'audit' = 'audit'; // Kyverno's default failure action is Audit
  if (spec.validationFailureAction !== undefined) {
    const a = String(spec.validationFailureAction).toLowerCase();
    if (a !== 'enforce' && a !== 'audit') docFail(['spec', 'validationFailureAction'], `${label}: validationFailureAction must be Enforce or Audit`);
    else action = a;
  }
  spec.rules.forEach((raw: unknown, i: number) => {
    const base: Seg[] = ['spec', 'rules', i];
    const rname = isObj(raw) && typeof raw.name === 'string' ? raw.name : `#${i}`;
    const ctx = new RuleContext({ problems: st.problems, warnings: st.warnings, doc, file, policyKind, policyNamespace, policyName: pname, ruleName: rname, base });
    if (!isObj(raw)) return void ctx.fail([], 'a rule must be a mapping');
    checkKeys(ctx, [], raw, RULE_KEYS, 'rule field');
    const types = ['validate', 'generate', 'mutate'].filter((t) => raw[t] !== undefined);
    if (types.length !== 1) return void ctx.fail([], `a rule needs exactly one of validate, generate, mutate (verifyImages and cleanup rules are not supported); found ${types.join(', ') || 'none'}`);
    if (raw.match === undefined) return void ctx.fail([], 'a rule needs match');
    const rule = inlineContext(ctx, raw);
    if (!rule) return; // the context entry that could not be inlined is reported; the rest depends on it
    // spec.background only governs Kyverno's background reports; a deny on request.operation is admission-only
    // either way, so it needs no mapping.
    if (types[0] === 'validate') importValidate(ctx, rule, action, st.sources);
    else if (types[0] === 'generate') importGenerate(ctx, rule, spec, st.sources);
    else {
      const local: { part: ReloadPart; kind: ObjectKind; rel: Seg[] }[] = [];
      importMutate(ctx, rule, spec, local);
      st.reloads.push(...local.map((l) => ({ ...l, ctx })));
    }
  });
  return true;
}

/** Attach restart rules to the source whose copies (or itself) they watch. */
function attachReloads(reloads: PendingReload[], sources: Map<string, SourceParts>): void {
  for (const r of reloads) {
    const candidates = [...sources.values()].filter(
      (s) => s.kind === r.kind && ((s.sync && (s.sync.targetName === r.part.name || (s.sync.moreNames ?? []).includes(r.part.name))) || (s.name === r.part.name && (!r.part.namespaces || r.part.namespaces.includes(s.namespace)))),
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
      const targets = [...(prev.targets ?? []), ...(r.part.targets ?? [])];
      if (targets.length) prev.targets = [...new Map(targets.map((t) => [`${t.kind}/${t.namespace ?? ''}/${t.name ?? JSON.stringify(t.selector)}`, t])).values()];
    } else target.reload = { ...r.part, kinds: [...r.part.kinds], references: [...r.part.references], notes: [...r.part.notes], ...(r.part.targets ? { targets: [...r.part.targets] } : {}) };
  }
}

/** The merged sources as RipplePolicies, sorted, and their YAML with comments saying where each part came from. */
function output(sources: Map<string, SourceParts>): Omit<ImportResult, 'warnings'> {
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

/** Import Kyverno ClusterPolicies and Policies (several files, several documents each). Throws KyvernoImportError listing every unsupported construct. */
export function importKyverno(inputs: KyvernoInput[]): ImportResult {
  const st: ImportState = { problems: [], warnings: [], sources: new Map(), reloads: [] };
  let policyCount = 0;
  for (const input of inputs) {
    const { docs, problems: yp } = readYamlDocuments(input.text, input.file);
    st.problems.push(...yp);
    for (const doc of docs) if (importDocument(doc, input.file, st)) policyCount++;
  }
  if (st.problems.length === 0 && policyCount === 0) {
    throw new KyvernoImportError([], st.warnings, `no Kyverno ClusterPolicy or Policy found in ${inputs.map((i) => i.file).join(', ') || '(no files)'}`);
  }
  attachReloads(st.reloads, st.sources);
  if (st.problems.length > 0) throw new KyvernoImportError(st.problems, st.warnings);
  return { ...output(st.sources), warnings: st.warnings.map(formatProblem) };
}

/** importKyverno over files on disk. */
export function importKyvernoFiles(files: string[]): ImportResult {
  return importKyverno(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}
