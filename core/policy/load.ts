/**
 * Loading RipplePolicy YAML with errors that name file:line:column, the field path and what is allowed:
 *   policies/blogsecret.yaml:14:21: spec.sync.onSourceDelete: must be one of keep, delete
 *
 * Several documents per file (`---`). A set of policies is also checked as a whole: one policy per source
 * object, unique names, and no two policies writing the same copy into the same namespace.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import type * as z from '../zod.ts';
import { ValidationError } from '../errors.ts';
import { RipplePolicy } from './schema.ts';
import { checkPolicySet } from './policy-set.ts';
import { PolicyError, setPolicyOrigin, type PolicyOrigin, type PolicyProblem } from './problems.ts';

export { checkPolicySet } from './policy-set.ts';
export { formatProblem, PolicyError, policyOrigin, type PolicyOrigin, type PolicyProblem } from './problems.ts';

// ---------------------------------------------------------------------------------------------------------
// Mapping zod issue paths to YAML node positions

export type Seg = string | number;

export function pathString(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

interface Located {
  /** Deepest existing value node along the path. */
  node: YamlNode | null;
  /** Key node of the last pair walked (for unknown-key and missing-value reports). */
  key: YamlNode | null;
  /** True when the whole path exists. */
  complete: boolean;
}

function locate(doc: Document, path: readonly Seg[]): Located {
  let node = doc.contents as YamlNode | null;
  let key: YamlNode | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === seg);
      if (!pair) return { node, key, complete: false };
      key = pair.key as YamlNode;
      const v = pair.value as YamlNode | null;
      if (v == null) return { node: key, key, complete: false };
      node = v;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YamlNode | undefined;
      if (!item) return { node, key, complete: false };
      node = item;
      key = null;
    } else {
      return { node, key, complete: false };
    }
  }
  return { node, key, complete: true };
}

function keyNode(doc: Document, mapPath: readonly Seg[], k: string): YamlNode | null {
  const { node } = locate(doc, mapPath);
  if (!isMap(node)) return null;
  const pair = node.items.find((it) => (isScalar(it.key) ? it.key.value : it.key) === k);
  return (pair?.key as YamlNode | undefined) ?? null;
}

function startOf(node: YamlNode | null | undefined, fallback: number): number {
  return node?.range?.[0] ?? fallback;
}

// ---------------------------------------------------------------------------------------------------------
// Walking the zod schema (to list allowed keys for unknown-field errors)

function unwrap(s: z.ZodMiniType): z.ZodMiniType {
  let cur: any = s;
  for (let i = 0; i < 10; i++) {
    const def = cur?._zod?.def;
    if (!def) break;
    if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault' || def.type === 'readonly') cur = def.innerType;
    else if (def.type === 'pipe') cur = def.in;
    else break;
  }
  return cur;
}

function schemaAt(root: z.ZodMiniType, path: readonly Seg[]): z.ZodMiniType | undefined {
  let cur: any = unwrap(root);
  for (const seg of path) {
    const def = cur?._zod?.def;
    if (!def) return undefined;
    if (def.type === 'object') cur = def.shape[seg as string];
    else if (def.type === 'array') cur = def.element;
    else if (def.type === 'record') cur = def.valueType;
    else return undefined;
    if (!cur) return undefined;
    cur = unwrap(cur);
  }
  return cur;
}

export function allowedKeys(root: z.ZodMiniType, path: readonly Seg[]): string[] {
  const s: any = schemaAt(root, path);
  return s?._zod?.def?.type === 'object' ? Object.keys(s._zod.def.shape) : [];
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? `string "${v}"` : `${typeof v} ${String(v)}`;
}

function valueAt(data: unknown, path: readonly Seg[]): unknown {
  let cur: any = data;
  for (const seg of path) {
    if (cur == null || typeof cur !== 'object') return undefined;
    cur = cur[seg as any];
  }
  return cur;
}

const TYPE_WORDS: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'true or false', object: 'a mapping', array: 'a list', int: 'an integer' };

/** One readable sentence for a zod issue: what is wrong and what is allowed. */
export function issueMessage(issue: z.core.$ZodIssue, data: unknown): string {
  const path = issue.path as Seg[];
  // A message written in the schema (regex hints, refinements) already says what is allowed.
  if (!/^(Too small|Too big|Invalid)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_value': {
      const vals = issue.values.map((v) => String(v));
      return vals.length === 1 ? `must be "${vals[0]}"` : `must be one of ${vals.join(', ')}`;
    }
    case 'invalid_type': {
      const got = valueAt(data, path);
      const want = TYPE_WORDS[issue.expected] ?? issue.expected;
      if (got === undefined) return `is required (${want})`;
      return `must be ${want}, not ${describe(got)}`;
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return min === 1 ? 'must list at least one item' : `must list at least ${min} items`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      return `must be ${issue.inclusive ? '>=' : '>'} ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return `must list at most ${max} items`;
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      return `must be ${issue.inclusive ? '<=' : '<'} ${max}`;
    }
    default:
      return issue.message;
  }
}

// ---------------------------------------------------------------------------------------------------------

interface Parsed {
  policy: RipplePolicy;
  origin: PolicyOrigin;
}

/** One YAML document with position lookup by field path (for messages that name file:line:column). */
export interface YamlDocument {
  data: unknown;
  /** Position of the value at `path`; for a missing value, of the deepest existing key or node on the way. */
  position(path: readonly Seg[]): { line: number; col: number };
  /** Position of the key `key` in the mapping at `mapPath` (falls back to the mapping). */
  keyPosition(mapPath: readonly Seg[], key: string): { line: number; col: number };
}

/** Every non-empty document of a YAML text; syntax errors come back as problems with their positions. */
export function readYamlDocuments(text: string, file: string): { docs: YamlDocument[]; problems: PolicyProblem[] } {
  const lc = new LineCounter();
  const parsedDocs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lc.linePos(offset);
    return { line, col };
  };
  const problems: PolicyProblem[] = [];
  const docs: YamlDocument[] = [];
  const list = Array.isArray(parsedDocs) ? parsedDocs : [parsedDocs];
  for (const doc of list as Document[]) {
    const docStart = doc.range?.[0] ?? 0;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0] ?? at(e.pos[0]);
        problems.push({ file, line: pos.line, col: pos.col, path: '', message: `invalid YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    if (doc.contents == null || (isScalar(doc.contents) && doc.contents.value == null)) continue; // empty document (e.g. a trailing ---)
    docs.push({
      data: doc.toJS({ maxAliasCount: 100 }),
      position(path) {
        const loc = locate(doc, path);
        return at(startOf(loc.complete ? loc.node : (loc.key ?? loc.node), docStart));
      },
      keyPosition(mapPath, key) {
        return at(startOf(keyNode(doc, mapPath, key) ?? locate(doc, mapPath).node, docStart));
      },
    });
  }
  return { docs, problems };
}

/**
 * The problems of a document `schema` refused, each at its file:line:col: an unknown key at the key, naming the
 * keys allowed there; anything else at the value, in one sentence (issueMessage).
 */
export function schemaProblems(schema: z.ZodMiniType, issues: readonly z.core.$ZodIssue[], doc: YamlDocument, file: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  for (const issue of issues) {
    const path = issue.path as Seg[];
    if (issue.code === 'unrecognized_keys') {
      const allowed = allowedKeys(schema, path);
      for (const k of issue.keys) {
        const { line, col } = doc.keyPosition(path, k);
        problems.push({ file, line, col, path: pathString([...path, k]), message: `unknown field; allowed here: ${allowed.join(', ')}` });
      }
      continue;
    }
    const { line, col } = doc.position(path);
    problems.push({ file, line, col, path: pathString(path), message: issueMessage(issue, doc.data) });
  }
  return problems;
}

function parseWithOrigins(text: string, file: string): { parsed: Parsed[]; problems: PolicyProblem[] } {
  const { docs, problems } = readYamlDocuments(text, file);
  const parsed: Parsed[] = [];
  for (const doc of docs) {
    const data = doc.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      const { line, col } = doc.position([]);
      problems.push({ file, line, col, path: '', message: `each document must be a RipplePolicy mapping (apiVersion, kind, metadata, spec), not ${describe(data)}` });
      continue;
    }
    const d = data as Record<string, unknown>;
    if (typeof d.apiVersion === 'string' && d.apiVersion.startsWith('kyverno.io/')) {
      const { line, col } = doc.position(['kind']);
      problems.push({ file, line, col, path: 'kind', message: `must be "RipplePolicy" (this is a Kyverno ${String(d.kind)}: convert it with \`ripple import kyverno ${file}\`)` });
      continue;
    }
    if (d.kind === 'RippleConfig') {
      const { line, col } = doc.position(['kind']);
      problems.push({ file, line, col, path: 'kind', message: 'must be "RipplePolicy" (a RippleConfig belongs in ripple.config.yaml in the policy directory)' });
      continue;
    }
    const res = RipplePolicy.safeParse(data);
    if (!res.success) {
      problems.push(...schemaProblems(RipplePolicy, res.error.issues, doc, file));
      continue;
    }
    const { line, col } = doc.position(['metadata', 'name']);
    parsed.push({ policy: res.data, origin: { file, line, col } });
  }
  return { parsed, problems };
}

// ---------------------------------------------------------------------------------------------------------

/** Parse every RipplePolicy document of one file; throws PolicyError listing every problem with file:line:col. */
export function parsePolicies(text: string, file: string): RipplePolicy[] {
  const { parsed, problems } = parseWithOrigins(text, file);
  for (const p of parsed) setPolicyOrigin(p.policy, p.origin);
  const policies = parsed.map((p) => p.policy);
  if (problems.length === 0) problems.push(...checkPolicySet(policies));
  if (problems.length > 0) throw new PolicyError(problems);
  return policies;
}

function isPolicyFile(name: string): boolean {
  // ripple.config.yaml holds the cluster-wide RippleConfig (core/config/load.ts), not policies
  if (name === 'ripple.config.yaml' || name === 'ripple.config.yml') return false;
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

/** Files named by the arguments: a directory contributes its *.yaml / *.yml files (not subdirectories), sorted. */
export function policyFiles(dirOrFiles: string | string[]): string[] {
  const out: string[] = [];
  for (const p of Array.isArray(dirOrFiles) ? dirOrFiles : [dirOrFiles]) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new ValidationError(`${p}: no such file or directory (give policy files or a directory of *.yaml)`);
    }
    if (st.isDirectory()) {
      const names = readdirSync(p, { withFileTypes: true })
        .filter((d) => d.isFile() && isPolicyFile(d.name))
        .map((d) => d.name)
        .sort();
      out.push(...names.map((n) => join(p, n)));
    } else {
      out.push(p);
    }
  }
  return out;
}

/**
 * Load every policy from the given files/directories (a directory: its *.yaml / *.yml, not subdirectories such as
 * policies/kyverno/). Throws PolicyError with every problem of every file, then the cross-policy checks.
 */
export function loadPolicies(dirOrFiles: string | string[]): RipplePolicy[] {
  const problems: PolicyProblem[] = [];
  const policies: RipplePolicy[] = [];
  for (const file of policyFiles(dirOrFiles)) {
    const { parsed, problems: fp } = parseWithOrigins(readFileSync(file, 'utf8'), file);
    problems.push(...fp);
    for (const p of parsed) {
      setPolicyOrigin(p.policy, p.origin);
      policies.push(p.policy);
    }
  }
  if (problems.length === 0) problems.push(...checkPolicySet(policies));
  if (problems.length > 0) throw new PolicyError(problems);
  return policies;
}
